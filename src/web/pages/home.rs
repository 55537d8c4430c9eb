//! 首页 (placeholder until the workbench arrives): the current period behind login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;

use super::html;
use crate::api::blocking;
use crate::error::AppResult;
use crate::server::extract::TaxpayerUser;
use crate::service::{self, App};
use crate::web::layout::{page, Page, Viewer};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

async fn home(app: web::Data<App>, user: TaxpayerUser) -> AppResult<HttpResponse> {
    let app = app.into_inner();
    let t = blocking(move || service::taxpayers::get(&app, &user.id)).await?;
    let body = html! {
        section.card {
            h1 { "首页" }
            dl.facts {
                dt { "纳税人识别号" } dd.mono { (t.id) }
                dt { "纳税人名称" } dd { (t.name) }
                dt { "当前税款所属期" } dd { (t.current_period.label_zh()) }
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
