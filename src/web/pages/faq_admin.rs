//! 知识库维护 (tax office staff): the questions of the 常见问题 knowledge base — the one the
//! 常见问题 page shows and the 征纳互动 bot answers from — listed by category, added, edited,
//! deleted, and the default knowledge base restored. Plain forms, no scripts; the rules and
//! the store are in `service::faq`. Any staff member may look; 管理员 and 征纳互动坐席 edit.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::error::{AppError, AppResult, Code};
use crate::http::blocking;
use crate::http::extract::{Acting, StaffUser};
use crate::service::interact::faq::{self, FaqEntry, CATEGORIES};
use crate::service::App;
use crate::web::layout::{notice, page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/faq", web::get().to(list))
        .route("/office/faq", web::post().to(create))
        .route("/office/faq/new", web::get().to(new_form))
        // Not under `/office/faq/`: every single segment there is an entry id.
        .route("/office/faq-reset", web::post().to(reset))
        .route("/office/faq/{id}/edit", web::get().to(edit_form))
        .route("/office/faq/{id}/delete", web::post().to(delete))
        .route("/office/faq/{id}", web::post().to(update));
}

const TITLE: &str = "知识库维护";

fn staff_page(staff: &StaffUser, title: &str, body: Markup) -> Markup {
    page(
        Page {
            title,
            viewer: Viewer::Staff {
                display_name: staff.display_name.clone(),
                role: staff.role,
            },
            active: "/office/faq",
        },
        body,
    )
}

async fn load(app: web::Data<App>) -> AppResult<Vec<FaqEntry>> {
    let app = app.into_inner();
    blocking(move || faq::current(&app.store)).await
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    saved: Option<String>,
    deleted: Option<String>,
    reset: Option<String>,
}

/// The knowledge base by category, with what the last change did.
async fn list(
    app: web::Data<App>,
    staff: StaffUser,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let entries = load(app).await?;
    let editor = faq::may_edit(staff.role) && crate::web::layout::writes_allowed();
    // Only ids that are (or were) entries are echoed back.
    let saved = q
        .saved
        .as_deref()
        .and_then(|id| entries.iter().find(|e| e.id == id));
    let deleted = q
        .deleted
        .as_deref()
        .filter(|id| faq::is_kebab_case(id) && !entries.iter().any(|e| e.id == *id));
    let body = html! {
        section.card.faq-admin {
            h1 { (TITLE) }
            @if let Some(e) = saved {
                (notice("success", &format!("已保存问题“{}”（编号 {}）。", e.question, e.id)))
            }
            @if let Some(id) = deleted {
                (notice("success", &format!("已删除问题（编号 {id}）。")))
            }
            @if q.reset.as_deref() == Some("1") {
                (notice("success", &format!("已恢复默认知识库，共{}条问题。", entries.len())))
            }
            p.hint {
                "这里维护的问题显示在" a href="/help/faq" { "常见问题" } "页面，征纳互动的智能客服也据此回答；保存后立即生效。共"
                (entries.len()) "条问题。"
            }
            @if editor {
                div.actions {
                    a.button href="/office/faq/new" { "新增问题" }
                    form.inline method="post" action="/office/faq-reset" {
                        label {
                            input type="checkbox" name="confirm" value="1" required;
                            " 放弃所有修改"
                        }
                        button.secondary type="submit" { "恢复默认知识库" }
                    }
                }
            } @else {
                p.hint { "您的角色只能查看知识库；如需修改，请联系管理员或征纳互动坐席。" }
            }
            @for category in CATEGORIES {
                @let group: Vec<&FaqEntry> = entries.iter().filter(|e| e.category == *category).collect();
                @if !group.is_empty() {
                    h2 { (category) "（" (group.len()) "条）" }
                    table.grid {
                        thead {
                            tr {
                                th { "问题" }
                                th { "编号" }
                                @if editor { th { "操作" } }
                            }
                        }
                        tbody {
                            @for e in group {
                                tr id=(e.id) {
                                    td { a href={ "/help/faq#" (e.id) } { (e.question) } }
                                    td { code { (e.id) } }
                                    @if editor {
                                        td {
                                            div.actions {
                                                a href={ "/office/faq/" (e.id) "/edit" } { "编辑" }
                                                form method="post" action={ "/office/faq/" (e.id) "/delete" } {
                                                    button.secondary type="submit" aria-label={ "删除 " (e.id) } { "删除" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(StatusCode::OK, staff_page(&staff, TITLE, body)))
}

/// The fields of the question form, as typed.
#[derive(Debug, Default, Deserialize)]
struct FaqForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    /// One per line.
    #[serde(default)]
    aliases: String,
}

impl FaqForm {
    fn of(e: &FaqEntry) -> FaqForm {
        FaqForm {
            id: e.id.clone(),
            category: e.category.clone(),
            question: e.question.clone(),
            answer: e.answer.clone(),
            aliases: e.aliases.join("\n"),
        }
    }

    fn entry(&self) -> FaqEntry {
        FaqEntry {
            id: self.id.clone(),
            category: self.category.clone(),
            question: self.question.clone(),
            answer: self.answer.clone(),
            aliases: self.aliases.lines().map(str::to_string).collect(),
        }
    }
}

/// 新增问题, or editing the entry with this id.
#[derive(Debug, Clone, Copy)]
enum Mode<'a> {
    New,
    Edit(&'a str),
}

fn form_view(staff: &StaffUser, mode: Mode<'_>, f: &FaqForm, error: Option<&str>) -> Markup {
    let (title, action) = match mode {
        Mode::New => ("新增问题", "/office/faq".to_string()),
        Mode::Edit(id) => ("编辑问题", format!("/office/faq/{id}")),
    };
    let editing = matches!(mode, Mode::Edit(_));
    let body = html! {
        section.card.faq-edit {
            h1 { (title) }
            @if let Some(e) = error { (notice("error", e)) }
            form.stack.faq method="post" action=(action) {
                label {
                    "编号"
                    input name="id" value=(f.id) required maxlength=(faq::MAX_ID)
                        pattern="[a-z0-9]+(-[a-z0-9]+)*" autocomplete="off" readonly[editing];
                }
                p.hint {
                    @if editing { "编号不能修改。" }
                    @else { "小写英文字母和数字，用连字符“-”连接，如 password-forgot；常见问题页面以“/help/faq#编号”链接到该问题。" }
                }
                label {
                    "分类"
                    select name="category" required {
                        option value="" { "请选择分类" }
                        @for c in CATEGORIES {
                            option value=(c) selected[f.category.trim() == *c] { (c) }
                        }
                    }
                }
                label {
                    "问题"
                    input name="question" value=(f.question) required maxlength=(faq::MAX_QUESTION);
                }
                label {
                    "答案"
                    textarea name="answer" rows="10" required maxlength=(faq::MAX_ANSWER) { (f.answer) }
                }
                label {
                    "其他问法（每行一条，最多" (faq::MAX_ALIASES) "条）"
                    textarea name="aliases" rows="6" { (f.aliases) }
                }
                p.hint { "其他问法是纳税人可能的提问方式，征纳互动的智能客服据此识别问题。" }
                div.actions {
                    button type="submit" { "保存" }
                    a.button.secondary href="/office/faq" { "返回" }
                }
            }
        }
    };
    staff_page(staff, title, body)
}

async fn new_form(staff: StaffUser) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    Ok(html(
        StatusCode::OK,
        form_view(&staff, Mode::New, &FaqForm::default(), None),
    ))
}

async fn edit_form(
    app: web::Data<App>,
    staff: StaffUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let id = path.into_inner();
    let entries = load(app).await?;
    let e = entries
        .iter()
        .find(|e| e.id == id)
        .ok_or_else(|| AppError::new(Code::NotFound).with_message("该问题不存在"))?;
    Ok(html(
        StatusCode::OK,
        form_view(&staff, Mode::Edit(&id), &FaqForm::of(e), None),
    ))
}

/// Saves the form; a refusal shows the form again with the input and the reason.
async fn save(
    Acting {
        app,
        who,
        user: staff,
    }: Acting<StaffUser>,
    mode: Mode<'_>,
    f: FaqForm,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let entry = f.entry();
    let new = matches!(mode, Mode::New);
    let result = blocking(move || {
        if new {
            faq::create(&app, &who, entry)
        } else {
            faq::upsert(&app, &who, entry)
        }
    })
    .await;
    match result {
        Ok(()) => {
            // Valid, hence kebab-case: safe in a URL as it is.
            let id = f.id.trim();
            Ok(see_other(&format!("/office/faq?saved={id}#{id}")))
        }
        Err(e) if e.status().is_server_error() => Err(e),
        Err(e) => Ok(html(
            e.status(),
            form_view(&staff, mode, &f, Some(&e.message)),
        )),
    }
}

async fn create(a: Acting<StaffUser>, form: web::Form<FaqForm>) -> AppResult<HttpResponse> {
    save(a, Mode::New, form.into_inner()).await
}

async fn update(
    a: Acting<StaffUser>,
    path: web::Path<String>,
    form: web::Form<FaqForm>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let mut f = form.into_inner();
    // The id is the one of the address (the field is read-only).
    f.id = id.clone();
    save(a, Mode::Edit(&id), f).await
}

async fn delete(
    Acting {
        app,
        who,
        user: staff,
    }: Acting<StaffUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    let id = path.into_inner();
    let id2 = id.clone();
    blocking(move || faq::delete(&app, &who, &id2)).await?;
    // It existed, hence kebab-case.
    Ok(see_other(&format!("/office/faq?deleted={id}")))
}

async fn reset(
    Acting {
        app,
        who,
        user: staff,
    }: Acting<StaffUser>,
) -> AppResult<HttpResponse> {
    faq::require_editor(staff.role)?;
    blocking(move || faq::reset(&app, &who)).await?;
    Ok(see_other("/office/faq?reset=1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn staff() -> StaffUser {
        StaffUser {
            username: "agent".into(),
            display_name: "坐席".into(),
            role: Role::Agent,
            token: String::new(),
        }
    }

    #[test]
    fn the_form_keeps_the_input_escaped_and_marks_the_category() {
        let f = FaqForm {
            id: "x-1".into(),
            category: "平台密码".into(),
            question: "<script>alert(1)</script>".into(),
            answer: "答".into(),
            aliases: "甲\n乙".into(),
        };
        let page = form_view(&staff(), Mode::Edit("x-1"), &f, Some("请填写答案")).into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains(r#"<option value="平台密码" selected>平台密码</option>"#));
        assert!(page.contains("readonly"));
        assert!(page.contains(r#"action="/office/faq/x-1""#));
        assert!(page.contains("请填写答案"));
        assert!(page.contains("甲\n乙"));
    }

    #[test]
    fn aliases_are_one_per_line() {
        let f = FaqForm {
            aliases: "甲\r\n乙\n".into(),
            ..Default::default()
        };
        assert_eq!(f.entry().aliases, vec!["甲", "乙"]);
        let e = FaqEntry {
            aliases: vec!["甲".into(), "乙".into()],
            ..f.entry()
        };
        assert_eq!(FaqForm::of(&e).aliases, "甲\n乙");
    }
}
