//! 风险纳税人 (`/office/risky-sellers`): the sellers the office flagged, with the reason the
//! taxpayers are shown (风险提醒 at login and on 发票勾选); a form to flag a seller and a 移除
//! button per row for the roles that may change data. Post/Redirect/Get; a refused form is
//! shown again with its message and values, and nothing is stored.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{link, may_change, read_only_note, staff_page};
use crate::domain::invoice::RISK_REASON_MAX;
use crate::domain::RiskySeller;
use crate::error::AppResult;
use crate::http::blocking;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::risky_sellers;
use crate::service::App;
use crate::web::components::{url_part, Flash};
use crate::web::layout::notice;
use crate::web::pages::{html, see_other};

const PATH: &str = "/office/risky-sellers";
const TITLE: &str = "风险纳税人";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(flag))
        .route(
            "/office/risky-sellers/{seller_id}/delete",
            web::post().to(remove),
        );
}

#[derive(Debug, Clone, Default, Deserialize)]
struct FlagForm {
    #[serde(default)]
    seller_id: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
struct Query {
    done: Option<String>,
    id: Option<String>,
    error: Option<String>,
}

fn when(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn view(
    staff: &StaffUser,
    items: &[(RiskySeller, Option<String>)],
    form: &FlagForm,
    message: Option<Markup>,
) -> Markup {
    let writer = may_change(staff);
    let body = html! {
        section.card.office-data {
            h1 { (TITLE) }
            p.hint { "被标记为风险纳税人的销方，其开具给纳税人的未确认发票会在纳税人登录后的“风险提醒”和发票勾选页面中提示，并显示标记原因。" }
            @if let Some(m) = message { div #message { (m) } }
            @if writer {
                form.search #flag-form method="post" action=(PATH) {
                    label { "销方税号"
                        input name="seller_id" value=(form.seller_id) required maxlength="20"
                            pattern="[0-9A-Za-z]{15,20}" autocomplete="off";
                    }
                    label { "标记原因"
                        input name="reason" value=(form.reason) required maxlength=(RISK_REASON_MAX) size="40";
                    }
                    button type="submit" { "标记为风险纳税人" }
                }
            }
            h2 { "已标记的风险纳税人（" (items.len()) "户）" }
            @if items.is_empty() {
                p.empty { "暂无风险纳税人。" }
            } @else {
                div.table-wrap { table.grid #risky-sellers {
                    thead { tr {
                        th { "销方税号" } th { "名称" } th { "标记原因" } th { "标记人" } th { "标记时间" }
                        @if writer { th { "操作" } }
                    } }
                    tbody {
                        @for (s, name) in items {
                            tr id={ "s" (s.seller_id) } {
                                td.mono { (s.seller_id) }
                                td { (name.as_deref().unwrap_or("—")) }
                                td { (s.reason) }
                                td { (s.by) }
                                td { (when(&s.at)) }
                                @if writer {
                                    td {
                                        form.inline method="post" action={ (PATH) "/" (url_part(s.seller_id.as_str())) "/delete" } {
                                            button.secondary type="submit" aria-label={ "移除" (s.seller_id) } { "移除" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if !writer { (read_only_note()) }
        }
    };
    staff_page(staff, TITLE, PATH, body)
}

async fn render(
    app: std::sync::Arc<App>,
    staff: &StaffUser,
    form: &FlagForm,
    status: StatusCode,
    message: Option<Markup>,
) -> AppResult<HttpResponse> {
    let items = blocking(move || risky_sellers::list(&app)).await?;
    Ok(html(status, view(staff, &items, form, message)))
}

async fn show(req: HttpRequest, app: web::Data<App>, staff: StaffUser) -> AppResult<HttpResponse> {
    let q: Query = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let id = q.id.as_deref().unwrap_or_default();
    let message = match (q.error.or(Flash::of(&req).error), q.done.as_deref()) {
        (Some(e), _) => Some(notice("error", &e)),
        (None, Some("flagged")) => Some(notice("success", &format!("已将{id}标记为风险纳税人。"))),
        (None, Some("removed")) => Some(notice("success", &format!("已移除风险纳税人{id}。"))),
        _ => None,
    };
    render(
        app.into_inner(),
        &staff,
        &FlagForm::default(),
        StatusCode::OK,
        message,
    )
    .await
}

async fn flag(
    Acting { app, who, user }: Acting<StaffUser>,
    form: web::Form<FlagForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let (a2, f2) = (app.clone(), f.clone());
    let result = blocking(move || risky_sellers::flag(&a2, &who, &f2.seller_id, &f2.reason)).await;
    match result {
        Ok(s) => Ok(see_other(&format!(
            "{}#s{}",
            link(PATH, &[("done", "flagged"), ("id", s.seller_id.as_str())]),
            s.seller_id
        ))),
        Err(e) if e.status().is_server_error() => Err(e),
        Err(e) => {
            let status = e.status();
            render(app, &user, &f, status, Some(notice("error", &e.message))).await
        }
    }
}

async fn remove(
    Acting { app, who, .. }: Acting<StaffUser>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let id2 = id.clone();
    let result = blocking(move || risky_sellers::unflag(&app, &who, &id2)).await;
    Ok(match result {
        Ok(_) => see_other(&link(PATH, &[("done", "removed"), ("id", &id)])),
        Err(e) if e.status().is_server_error() => return Err(e),
        Err(e) => see_other(&link(PATH, &[("error", &e.message)])),
    })
}
