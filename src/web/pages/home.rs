//! 首页 (placeholder until the workbench arrives): the current period behind login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use super::html;
use crate::api::blocking;
use crate::error::AppResult;
use crate::server::extract::{self, TaxpayerUser};
use crate::service::{self, App};
use crate::web::layout::{page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

async fn home(
    req: HttpRequest,
    app: web::Data<App>,
    user: TaxpayerUser,
) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let who = extract::who(&req, &app, user.actor());
    let (t, p) = blocking(move || {
        Ok((
            service::periods::settled(&app, &who, &user.id)?,
            service::periods::profile(&app, &who, &user.id)?,
        ))
    })
    .await?;
    let body = html! {
        section.card {
            h1 { "首页" }
            dl.facts {
                dt { "纳税人识别号" } dd.mono { (t.id) }
                dt { "纳税人名称" } dd { (t.name) }
                dt { "当前税款所属期" } dd { (t.current_period.label_zh()) }
                dt { "本期勾选确认截止日期" } dd { (p.window_closes.format("%Y年%m月%d日")) }
                dt { "征期" } dd { (p.filing_period.from) " 至 " (p.filing_period.to) }
                dt { "主管税务机关" } dd { (t.authority) }
            }
            p.hint { "请通过上方菜单进行发票勾选、确认勾选和抵扣统计查询。" }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            Page {
                title: "首页",
                viewer: Viewer::Taxpayer {
                    name: t.name.clone(),
                },
                active: "/",
            },
            body,
        ),
    ))
}
