//! 培训 (training mode): the business clock — a date and time, or a quick jump to the next
//! filing period, the next 人工服务 hour, or back to real time — and the named snapshots of
//! the whole dataset (administrators save and restore; restoring asks for confirmation, is
//! refused outside training mode and ends every session). 备份 (administrators, auditors):
//! the backups in the backup directory, downloadable, and 立即备份 for administrators.
//! Plain forms, Post/Redirect/Get.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{html, see_other};
use crate::domain::{Area, TaxPeriod};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Acting, StaffUser};
use crate::service::office::{backups, snapshots};
use crate::service::settle;
use crate::web::components::url_part;
use crate::web::layout::{notice, page, writes_allowed, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/training", web::get().to(training))
        .route("/office/training/clock", web::post().to(set_clock))
        .route("/office/training/snapshots", web::post().to(save_snapshot))
        .route(
            "/office/training/snapshots/{name}/restore",
            web::get().to(confirm_restore),
        )
        .route(
            "/office/training/snapshots/{name}/restore",
            web::post().to(restore),
        )
        .route("/office/backups", web::get().to(backups_page))
        .route("/office/backups", web::post().to(backup_now));
}

fn staff_page(staff: &StaffUser, title: &str, active: &str, body: Markup) -> Markup {
    page(
        Page {
            title,
            viewer: Viewer::staff(&staff.display_name, staff.role),
            active,
        },
        body,
    )
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
    error: Option<String>,
}

fn done_notice(q: &Done) -> Markup {
    let text = match q.done.as_deref() {
        Some("clock") => Some("培训时钟已设置。"),
        Some("real") => Some("已恢复为实际时间。"),
        Some("saved") => Some("快照已保存。"),
        Some("backup") => Some("备份已完成。"),
        _ => None,
    };
    html! {
        @if let Some(t) = text { (notice("success", t)) }
        @if let Some(e) = &q.error { (notice("error", e)) }
    }
}

async fn training(a: Acting<StaffUser>, q: web::Query<Done>) -> AppResult<HttpResponse> {
    let staff = a.user.clone();
    let (list, app) = (
        a.run(|app, _, _| snapshots::list(app)).await?,
        a.app.clone(),
    );
    let now = app.clock.now();
    let set = app.clock.setting().is_some();
    let change = writes_allowed() && staff.role.may(Area::ChangeOffice);
    let operate = writes_allowed() && staff.role.may(Area::Operate);
    let hours = app.interact.hours().describe_zh();
    let body = html! {
        section.card {
            h1 { "培训" }
            (done_notice(&q))
            @if !app.training() {
                (notice("info", "本系统未处于培训模式：培训时钟不可设置，快照不能恢复。"))
            }
            h2 { "业务时钟" }
            dl.facts {
                dt { "当前业务时间" } dd #business-now { (now.format("%Y-%m-%d %H:%M:%S")) }
                dt { "时钟" } dd { (if set { "培训时钟（由培训人员设置）" } else { "实际时间" }) }
                dt { "人工服务时间" } dd { (hours) }
            }
            @if change && app.training() {
                form.stack method="post" action="/office/training/clock" {
                    div.row {
                        label { "日期" input type="date" name="date" value=(now.format("%Y-%m-%d")) required; }
                        label { "时间" input type="time" name="time" step="1" value=(now.format("%H:%M:%S")) required; }
                        button type="submit" name="jump" value="set" { "设置时钟" }
                    }
                }
                form.row method="post" action="/office/training/clock" {
                    button type="submit" name="jump" value="filing" { "跳到下一个征期" }
                    button type="submit" name="jump" value="hours" { "跳到下一个人工服务时间" }
                    button type="submit" name="jump" value="real" { "恢复实际时间" }
                }
            }
        }
        section.card {
            h2 { "数据快照" }
            p.aside { "课前保存整个数据集的状态，课后恢复。恢复会替换全部数据，所有人需重新登录。" }
            @if operate {
                form.row method="post" action="/office/training/snapshots" {
                    label { "快照名称" input name="name" maxlength="40" required placeholder="如：第一课开始前"; }
                    button type="submit" { "保存快照" }
                }
            }
            @if list.is_empty() {
                p { "尚无快照。" }
            } @else {
                table.grid {
                    thead { tr { th { "名称" } th { "保存时间" } th { "审计记录" } @if operate && app.training() { th { "操作" } } } }
                    tbody {
                        @for s in &list {
                            tr {
                                td.name { (s.name) }
                                td { (s.created_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { "第 " (s.audit_head.seq) " 条" }
                                @if operate && app.training() {
                                    td { a href={ "/office/training/snapshots/" (url_part(&s.name)) "/restore" } { "恢复" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        staff_page(&staff, "培训", "/office/training", body),
    ))
}

#[derive(Debug, Deserialize)]
struct ClockForm {
    jump: String,
    date: Option<String>,
    time: Option<String>,
}

fn back_with(path: &str, error: &str) -> HttpResponse {
    see_other(&format!("{path}?error={}", url_part(error)))
}

/// 设置时钟 and the quick jumps; windows the new time closes close now.
async fn set_clock(a: Acting<StaffUser>, form: web::Form<ClockForm>) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let tz = a.app.clock.tz();
    let now = a.app.clock.now();
    let to = match form.jump.as_str() {
        "real" => None,
        "filing" => {
            // The filing period of this month's tax period opens on the 1st of the next.
            let day = TaxPeriod::of_date(now.date_naive())
                .next()
                .first_day()
                .and_hms_opt(9, 0, 0)
                .and_then(|t| tz.from_local_datetime(&t).single());
            match day {
                Some(d) => Some(d),
                None => return Ok(back_with("/office/training", "无法计算下一个征期")),
            }
        }
        "hours" => match a.app.interact.hours().next_open(now) {
            Some(t) => Some(t),
            None => return Ok(back_with("/office/training", "未设置人工服务时间")),
        },
        _ => {
            let date = form
                .date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
            let time = form.time.as_deref().and_then(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M:%S")
                    .or_else(|_| NaiveTime::parse_from_str(t.trim(), "%H:%M"))
                    .ok()
            });
            let at = date
                .zip(time)
                .and_then(|(d, t)| tz.from_local_datetime(&d.and_time(t)).single());
            match at {
                Some(t) => Some(t),
                None => {
                    return Ok(back_with(
                        "/office/training",
                        "请填写正确的日期（如 2026-12-15）和时间（如 09:30）",
                    ))
                }
            }
        }
    };
    let real = to.is_none();
    let result = a
        .run(move |app, who, _| {
            app.clock.set(&app.store, who, to)?;
            let sys = app.system("period");
            settle::settle_all(app, &sys).map(|_| ())
        })
        .await;
    match result {
        Ok(()) if real => Ok(see_other("/office/training?done=real")),
        Ok(()) => Ok(see_other("/office/training?done=clock")),
        Err(e) => Ok(back_with("/office/training", &e.message)),
    }
}

#[derive(Debug, Deserialize)]
struct SnapshotForm {
    name: String,
}

async fn save_snapshot(
    a: Acting<StaffUser>,
    form: web::Form<SnapshotForm>,
) -> AppResult<HttpResponse> {
    let name = form.into_inner().name;
    match a
        .run(move |app, who, _| snapshots::create(app, who, &name))
        .await
    {
        Ok(_) => Ok(see_other("/office/training?done=saved")),
        Err(e) => Ok(back_with("/office/training", &e.message)),
    }
}

/// The confirmation step of a restore (a plain page; the restore itself is its POST).
async fn confirm_restore(a: Acting<StaffUser>, name: web::Path<String>) -> AppResult<HttpResponse> {
    let name = snapshots::parse_name(&name)?;
    let list = a.run(|app, _, _| snapshots::list(app)).await?;
    let Some(s) = list.into_iter().find(|s| s.name == name) else {
        return Err(AppError::new(crate::error::Code::NotFound).with_message("快照不存在"));
    };
    let body = html! {
        section.card.login {
            h1 { "恢复快照" }
            (notice("error", "恢复后，当前全部数据将被快照替换，所有人（包括您）需要重新登录。此操作会记入审计日志。"))
            dl.facts {
                dt { "快照" } dd { (s.name) }
                dt { "保存时间" } dd { (s.created_at.format("%Y-%m-%d %H:%M:%S")) }
                dt { "审计记录" } dd { "第 " (s.audit_head.seq) " 条" }
            }
            form.stack method="post" action={ "/office/training/snapshots/" (url_part(&s.name)) "/restore" } {
                label.check { input type="checkbox" name="confirm" value="yes" required; " 我确认要恢复此快照" }
                button type="submit" { "确定恢复" }
            }
            p.aside { a href="/office/training" { "取消" } }
        }
    };
    Ok(html(
        StatusCode::OK,
        staff_page(&a.user, "恢复快照", "/office/training", body),
    ))
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    confirm: Option<String>,
}

async fn restore(
    a: Acting<StaffUser>,
    name: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> AppResult<HttpResponse> {
    let name = name.into_inner();
    if form.confirm.as_deref() != Some("yes") {
        return Ok(back_with("/office/training", "请勾选确认后再恢复快照"));
    }
    match a
        .run(move |app, who, _| snapshots::restore(app, who, &name))
        .await
    {
        // Every session ended with the restore: log in again.
        Ok(s) => Ok(see_other(&format!(
            "/office/login?restored={}",
            url_part(&s.name)
        ))),
        Err(e) => Ok(back_with("/office/training", &e.message)),
    }
}

async fn backups_page(a: Acting<StaffUser>, q: web::Query<Done>) -> AppResult<HttpResponse> {
    let list = a.run(|app, _, _| backups::list(app)).await?;
    let operate = writes_allowed() && a.user.role.may(Area::Operate);
    let every = a.app.settings.backup.every.trim().to_string();
    let body = html! {
        section.card {
            h1 { "备份" }
            (done_notice(&q))
            p.aside {
                "备份在服务运行时从同一时刻的数据快照复制，写入备份目录；"
                @if every.is_empty() { "未设置定时备份。" } @else { "定时备份：每 " (every) "，保留最近 " (a.app.settings.backup.keep) " 份。" }
            }
            @if operate {
                form method="post" action="/office/backups" { button type="submit" { "立即备份" } }
            }
            @if list.is_empty() {
                p { "尚无备份。" }
            } @else {
                table.grid {
                    thead { tr { th { "文件" } th { "时间" } th { "大小" } th { "审计链头" } th { "SHA-256" } } }
                    tbody {
                        @for b in &list {
                            tr {
                                td { a href={ "/api/v1/office/backups/" (b.file) } download { (b.file) } }
                                td { (b.created_at.format("%Y-%m-%d %H:%M:%S")) }
                                td.num { (format!("{:.1} MB", b.bytes as f64 / 1_048_576.0)) }
                                td { "第 " (b.audit_head.seq) " 条 " code { (&b.audit_head.hash[..16]) "…" } }
                                td { code { (&b.sha256[..16]) "…" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        staff_page(&a.user, "备份", "/office/backups", body),
    ))
}

async fn backup_now(a: Acting<StaffUser>) -> AppResult<HttpResponse> {
    match a.run(|app, who, _| backups::create(app, who)).await {
        Ok(_) => Ok(see_other("/office/backups?done=backup")),
        Err(e) => Ok(back_with("/office/backups", &e.message)),
    }
}
