//! 申报期限 (`/office/deadlines`): a province's 申报截止日 for the twelve periods of a year —
//! the one it recorded or the national rule's — each editable in its row.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::{error_report, link, may_change, read_only_note, staff_page};
use crate::domain::{Region, TaxPeriod};
use crate::error::{AppError, AppResult};
use crate::http::blocking;
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::declarations;
use crate::service::App;
use crate::web::layout::notice;
use crate::web::pages::{html, see_other};

const PATH: &str = "/office/deadlines";
const TITLE: &str = "申报期限";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(show))
        .route(PATH, web::post().to(set));
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Query {
    #[serde(default)]
    region: String,
    #[serde(default)]
    year: String,
    saved: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SetForm {
    #[serde(default)]
    region: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    deadline: String,
}

/// The region and year shown: as asked, else the first province and the business year.
fn chosen(app: &App, q: &Query) -> AppResult<(Region, i32)> {
    let region = match q.region.trim() {
        "" => Region::all()
            .next()
            .ok_or_else(|| AppError::internal("no regions"))?,
        r => Region::parse(r)?,
    };
    let year = match q.year.trim() {
        "" => app.clock.now().year(),
        y => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| AppError::invalid("year", "年份应为2000至2100之间的数字"))?,
    };
    Ok((region, year))
}

type Calendar = Vec<(TaxPeriod, NaiveDate, bool)>;

fn view(
    staff: &StaffUser,
    q: &Query,
    shown: Option<(Region, i32, &Calendar)>,
    message: Option<Markup>,
) -> Markup {
    let writer = may_change(staff);
    let region_code = shown.map_or_else(|| q.region.clone(), |(r, _, _)| r.code().to_string());
    let year_text = shown.map_or_else(|| q.year.clone(), |(_, y, _)| y.to_string());
    let body = html! {
        section.card.office-data {
            h1 { (TITLE) }
            @if let Some(m) = message { div #message { (m) } }
            form.search method="get" action=(PATH) {
                label { "地区"
                    select name="region" {
                        @for r in Region::all() {
                            option value=(r.code()) selected[r.code() == region_code] { (r.name()) "（" (r.code()) "）" }
                        }
                    }
                }
                label { "年份" input name="year" value=(year_text) maxlength="4" pattern="[0-9]{4}" inputmode="numeric"; }
                button type="submit" { "查询" }
            }
            @if let Some((region, year, items)) = shown {
                h2 { (region.name()) " " (year) "年各税款所属期的申报截止日" }
                p.hint { "申报截止日须在所属期的下一个月内；未设定的月份按全国规则（次月15日）。修改后，已过截止日的勾选窗口在下一次请求或定时任务时关闭。" }
                table.grid.deadlines {
                    thead { tr {
                        th { "税款所属期" } th { "申报截止日" } th { "来源" }
                        @if writer { th { "修改" } }
                    } }
                    tbody {
                        @for (period, deadline, recorded) in items.iter() {
                            tr id={ "p" (period) } class=[(q.saved.as_deref() == Some(period.to_string().as_str())).then_some("latest")] {
                                td { (period.label_zh()) }
                                td { (deadline) }
                                td { @if *recorded { "本省设定" } @else { span.hint { "全国规则" } } }
                                @if writer {
                                    td {
                                        form.inline method="post" action=(PATH) {
                                            input type="hidden" name="region" value=(region.code());
                                            input type="hidden" name="period" value=(period.to_string());
                                            input type="date" name="deadline" required value=(deadline)
                                                min=(period.next().first_day()) max=(period.next().last_day())
                                                aria-label={ (period.label_zh()) "申报截止日" };
                                            button type="submit" { "保存" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !writer { (read_only_note()) }
        }
    };
    staff_page(staff, TITLE, PATH, body)
}

async fn render(
    app: std::sync::Arc<App>,
    staff: &StaffUser,
    q: Query,
    status: StatusCode,
    message: Option<Markup>,
) -> AppResult<HttpResponse> {
    let q2 = q.clone();
    let found = blocking(move || {
        Ok(chosen(&app, &q2).and_then(|(region, year)| {
            declarations::deadlines(&app, region, year).map(|c| (region, year, c))
        }))
    })
    .await?;
    let (shown, message, status) = match found {
        Ok(s) => (Some(s), message, status),
        Err(e) if e.status().is_server_error() => return Err(e),
        Err(e) => (
            None,
            Some(message.unwrap_or_else(|| notice("error", &e.message))),
            if status == StatusCode::OK {
                e.status()
            } else {
                status
            },
        ),
    };
    let shown = shown.as_ref().map(|(r, y, c)| (*r, *y, c));
    Ok(html(status, view(staff, &q, shown, message)))
}

async fn show(
    app: web::Data<App>,
    staff: StaffUser,
    q: web::Query<Query>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let message = q
        .saved
        .as_deref()
        .and_then(|p| TaxPeriod::parse(p).ok())
        .map(|p| notice("success", &format!("已保存{}的申报截止日。", p.label_zh())));
    render(app.into_inner(), &staff, q, StatusCode::OK, message).await
}

async fn set(
    Acting { app, who, user }: Acting<StaffUser>,
    form: web::Form<SetForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let parsed = (|| {
        Ok::<_, AppError>((
            Region::parse(f.region.trim())?,
            TaxPeriod::parse(f.period.trim())?,
            crate::domain::query::parse_date("deadline", "申报截止日", f.deadline.trim())?,
        ))
    })();
    let result = match parsed {
        Ok((region, period, deadline)) => {
            let a2 = app.clone();
            blocking(move || declarations::set_deadline(&a2, &who, region, period, deadline))
                .await
                .map(|()| (region, period))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((region, period)) => {
            let p = period.to_string();
            let to = link(
                PATH,
                &[
                    ("region", region.code()),
                    ("year", &period.year().to_string()),
                    ("saved", &p),
                ],
            );
            Ok(see_other(&format!("{to}#p{p}")))
        }
        Err(e) if e.status().is_server_error() => Err(e),
        Err(e) => {
            let q = Query {
                region: f.region.clone(),
                year: f.period.trim().get(..4).unwrap_or_default().to_string(),
                saved: None,
            };
            let status = e.status();
            render(app, &user, q, status, Some(error_report(&e))).await
        }
    }
}
