//! 首页 (S-T3): the current period and its selection deadline, the workbench of 12 month cards
//! for a chosen year (orange: past, query only; green: current; grey: future) with the
//! certified count and tax of each, and 回退税款所属期 (S-T8) when, and only when, allowed:
//! its confirmation page and the automatic logout after it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Datelike;
use maud::{html, Markup};
use serde::Deserialize;

use super::{html, see_other};
use crate::domain::Fen;
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{self, Acting, TaxpayerUser};
use crate::service::portal::alerts::Alert;
use crate::service::portal::profile::Profile;
use crate::service::portal::statistics::{Card, CardState};
use crate::service::{self};
use crate::web::components::{alerts_panel, help_panel, with_error, Flash};
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/rollback", web::get().to(rollback_confirm))
        .route("/rollback", web::post().to(rollback))
        .route("/rollback/done", web::get().to(rollback_done));
}

#[derive(Debug, Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

/// The 关注要点 of 回退税款所属期 (manual §1.9).
const ROLLBACK_HELP: &[&str] = &[
    "在征期内确认勾选时误选择“已完成申报”（实际当期尚未申报），平台将税款所属期跳转为下期；符合以下全部条件的，可点击“回退税款所属期”回退至原税款所属期，重新勾选确认。",
    "条件一：跳转到下期后，没有在“确认勾选”模块进行过确认已勾选发票的操作。",
    "条件二：系统获取到的当期申报结果为“未申报”。",
    "条件三：在本平台确认勾选时，手工误点击了“已完成申报”选项。",
    "条件四：回退功能在征期内有效。只有符合全部条件时，“回退税款所属期”按钮才会出现。",
    "回退前请检查“当前税款所属期”和“回退后税款所属期”是否正确；回退成功后将自动退出系统，需要重新登录；回退前月份中已勾选未确认的发票会自动取消勾选。",
];

fn ymd(d: chrono::NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

fn card_view(c: &Card, current: bool) -> Markup {
    let (class, label) = match c.state {
        CardState::Past => ("past", "已过期（只可查询）"),
        CardState::Current => ("current", "当前税款所属期（可勾选、确认）"),
        CardState::Future => ("future", "未到期"),
    };
    html! {
        li class={"month " (class)} aria-current=[current.then_some("true")] title=(label) {
            span.m { (c.period.month()) "月" }
            span.count { "发票 " strong { (c.count) } " 份" }
            span.tax { "税额 " strong { (c.tax) } }
            @if c.transfer_out_tax.value() != 0 {
                span.tax.transfer-out { "转出 " strong { (c.transfer_out_tax) } }
            }
        }
    }
}

struct HomeData {
    alerts: Vec<Alert>,
    /// The current period's recorded 进项税额转出: count and tax.
    transferred: (u64, Fen),
}

fn home_view(
    name: &str,
    p: &Profile,
    year: i32,
    cards: &[Card],
    flash: Option<&str>,
    whats_new: Option<Markup>,
    extra: &HomeData,
) -> Markup {
    let body = html! {
        @if let Some(f) = flash { (notice("success", f)) }
        @if let Some(w) = whats_new { (w) }
        @if p.first_login {
            div.notice.info role="status" {
                "首次登录：请到" a href="/profile" { "档案信息维护" } "确认企业基本信息和办税人员信息，并选择是否设置平台密码。"
            }
        }
        section.card {
            h1 { "首页" }
            p.period {
                "当前税款所属期：" strong { (p.current_period.label_zh()) }
                "（可勾选、确认的截止日期为：" strong { (ymd(p.window_closes)) } "）"
            }
            p.transfer {
                "本期已记录进项税额转出：" strong { (extra.transferred.0) } " 份，转出税额 " strong { (extra.transferred.1) } " 元"
                " · " a href="/transfers-out" { "进项税额转出" }
            }
            @if p.in_filing_period {
                p.hint {
                    "目前处于" (p.current_period.label_zh()) "的征期（" (ymd(p.filing_period.from)) "至"
                    (ymd(p.filing_period.to)) "），确认时平台将获取您当期的申报结果。"
                }
            }
        }
        (alerts_panel(&extra.alerts, true))
        section.card.workbench aria-labelledby="wb" {
            div.wb-head {
                h2 #wb { (year) "年进项发票认证情况" }
                nav.years aria-label="选择年份" {
                    a href={"/?year=" (year - 1)} { "‹ " (year - 1) "年" }
                    " "
                    a href={"/?year=" (year + 1)} { (year + 1) "年 ›" }
                }
            }
            ul.months {
                @for c in cards { (card_view(c, c.period == p.current_period)) }
            }
            p.legend {
                span.dot.past {} "已过期，只可查询  "
                span.dot.current {} "当前税款所属期，可进行勾选和确认  "
                span.dot.future {} "未到期，不能操作"
            }
            p.hint { "月份卡片上的发票数量及税额包含勾选认证和扫描认证的数据；勾选认证为准实时统计，扫描认证为次日更新。" }
            p.hint { a href="/help" { "流程指引" } " · " a href="/help/faq" { "常见问题" } " · " a href="/help/check" { "检测环境" } " · " a href="/help/manual" { "操作手册" } }
            div.actions {
                @if p.rollback_allowed {
                    a.button href="/rollback" { "回退税款所属期" }
                }
                (help_panel("回退税款所属期", ROLLBACK_HELP))
            }
        }
    };
    page(
        Page {
            title: "首页",
            viewer: Viewer::Taxpayer {
                name: name.to_string(),
            },
            active: "/",
        },
        body,
    )
}

async fn home(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
    q: web::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let year = q
        .year
        .filter(|y| (2000..=2099).contains(y))
        .unwrap_or_else(|| who.now.year());
    let (t, p, cards, extra) = blocking(move || {
        let p = service::portal::profile::profile(&app, &who, &user.id)?;
        let (t, cards) = service::portal::statistics::workbench(&app, &who, &user.id, year)?;
        let extra = HomeData {
            alerts: service::portal::alerts::alerts(&app, &who, &user.id)?,
            transferred: service::portal::transfers::period_total(
                &app,
                &user.id,
                p.current_period,
            )?,
        };
        Ok((t, p, cards, extra))
    })
    .await?;
    let flash = match Flash::of(&req).done.as_deref() {
        Some("password_on") => Some("平台密码已设置，下次登录时需输入平台密码。"),
        Some("password_off") => Some("已保存：平台密码未启用。"),
        _ => None,
    };
    Ok(html(
        StatusCode::OK,
        home_view(
            &t.name,
            &p,
            year,
            &cards,
            flash,
            super::help::whats_new(&req),
            &extra,
        ),
    ))
}

async fn rollback_confirm(
    req: HttpRequest,
    Acting { app, who, user }: Acting<TaxpayerUser>,
) -> AppResult<HttpResponse> {
    let id = user.id.clone();
    let p = blocking(move || service::portal::profile::profile(&app, &who, &id)).await?;
    let refused = Flash::of(&req).error;
    let body = html! {
        @if let Some(e) = &refused { (notice("error", e)) }
        section.card {
            div.card-head {
                h1 { "回退税款所属期" }
                (help_panel("回退税款所属期", ROLLBACK_HELP))
            }
            @if p.rollback_allowed {
                dl.facts {
                    dt { "当前税款所属期" } dd { (p.current_period.label_zh()) }
                    dt { "回退后税款所属期" } dd { (p.current_period.prev().label_zh()) }
                }
                p.hint { "回退后，当前税款所属期中已勾选未确认的发票将自动取消勾选；回退成功后将自动退出系统，需要重新登录。" }
                @if writes_allowed() {
                    form method="post" action="/rollback" {
                        button type="submit" { "提交申请" }
                        " "
                        a.button.secondary href="/" { "取消" }
                    }
                }
            } @else {
                (notice("error", "您当前不符合回退税款所属期的条件。"))
                p.hint { "回退条件：跳转到下期后没有进行过确认操作；系统获取到的上期申报结果为“未申报”；在确认勾选时误选择“已完成申报”；在征期内。" }
                p { a href="/" { "返回首页" } }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "回退税款所属期",
                viewer: Viewer::Taxpayer {
                    name: p.name.clone(),
                },
                active: "/",
            },
            body,
        ),
    ))
}

/// 提交申请: on success the session ends and the browser goes to the result page (Post/
/// Redirect/Get); a refusal goes back to the confirmation page with the reason.
async fn rollback(Acting { app, who, user }: Acting<TaxpayerUser>) -> AppResult<HttpResponse> {
    let https = !app.settings.http;
    let id = user.id.clone();
    let result = blocking(move || service::portal::profile::rollback(&app, &who, &id)).await;
    match result {
        Ok(back) => {
            let mut res = see_other(&format!("/rollback/done?period={back}"));
            res.add_cookie(&extract::clear_session_cookie(https))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(e) => Ok(see_other(&with_error("/rollback", &e.message))),
    }
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    period: Option<String>,
}

/// The result of 回退 (the session has ended): 确定 goes to the login page.
async fn rollback_done(q: web::Query<DoneQuery>) -> HttpResponse {
    let back = q
        .period
        .as_deref()
        .and_then(|p| crate::domain::TaxPeriod::parse(p).ok());
    let body = html! {
        section.card {
            h1 { "回退税款所属期" }
            @match back {
                Some(b) => (notice("success", &format!("回退成功，当前税款所属期已回退至{}。点击确定后将退出系统，请重新登录。", b.label_zh()))),
                None => (notice("success", "回退成功。点击确定后将退出系统，请重新登录。")),
            }
            p { a.button href="/login" { "确定" } }
        }
    };
    html(
        StatusCode::OK,
        page(
            Page {
                title: "回退税款所属期",
                viewer: Viewer::Anonymous,
                active: "",
            },
            body,
        ),
    )
}
