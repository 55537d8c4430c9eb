//! `GET /api/openapi.json`: an OpenAPI 3 description of the JSON API, built from the route
//! table below (kept next to the routes it describes; a test checks that every route in it
//! answers and that every path of API.md is in it).

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Public,
    Taxpayer,
    Staff,
    /// Staff with a role that may change data (admin, operator).
    StaffWriter,
    /// Staff who maintain the 常见问题 knowledge base (admin, agent).
    FaqEditor,
}

/// (method, path under `/api/v1` unless absolute, tag, summary, who).
pub const ROUTES: &[(&str, &str, &str, &str, Auth)] = &[
    ("get", "/healthz", "health", "健康检查", Auth::Public),
    (
        "post",
        "/session",
        "sessions",
        "纳税人登录（客户端证书；培训模式可选择培训纳税人）",
        Auth::Public,
    ),
    ("delete", "/session", "sessions", "退出", Auth::Taxpayer),
    (
        "get",
        "/session/recover",
        "sessions",
        "密保问题（找回平台密码）",
        Auth::Public,
    ),
    (
        "post",
        "/session/recover",
        "sessions",
        "回答密保问题，取消平台密码",
        Auth::Public,
    ),
    (
        "post",
        "/office/session",
        "sessions",
        "税务人员登录",
        Auth::Public,
    ),
    (
        "delete",
        "/office/session",
        "sessions",
        "税务人员退出",
        Auth::Staff,
    ),
    (
        "get",
        "/me",
        "taxpayer",
        "纳税人信息、当前税款所属期、勾选截止日期、征期、可否回退",
        Auth::Taxpayer,
    ),
    (
        "put",
        "/me/password",
        "taxpayer",
        "设置、修改或取消平台密码与密保问题",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/me/changes",
        "taxpayer",
        "信用等级变更记录",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/workbench/{year}",
        "taxpayer",
        "工作台：12个月份卡片",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/invoices",
        "taxpayer",
        "发票勾选查询（金额、税额为全部结果的合计）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/invoices/not-yet-due",
        "taxpayer",
        "未到期发票查询",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/invoices/{code}/{number}",
        "taxpayer",
        "单票查询（含状态变更历史）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/selections",
        "taxpayer",
        "勾选与撤销勾选（逐行结果）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/selections/export",
        "taxpayer",
        "批量勾选：下载发票文件（zip，每个Excel文件不超过2000份发票）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/selections/import",
        "taxpayer",
        "批量勾选：上传勾选文件（multipart 字段 file，.xlsx 或 .xls；逐行结果）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/confirmations",
        "taxpayer",
        "确定：生成待提交的确认批次",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/confirmations",
        "taxpayer",
        "确认历史（按税款所属期）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/confirmations/{period}/{batch}",
        "taxpayer",
        "确认批次明细",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/confirmations/{period}/{batch}/export.xlsx",
        "taxpayer",
        "导出明细：确认批次的发票（Excel）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/confirmations/{period}/{batch}/print.pdf",
        "taxpayer",
        "打印本页：确认批次汇总及明细（PDF）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/confirmations/{period}/{batch}/submit",
        "taxpayer",
        "提交确认批次（征期内需选择申报情况）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/period/rollback",
        "taxpayer",
        "回退税款所属期",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/statistics/{period}",
        "taxpayer",
        "抵扣统计（异常发票清单分页）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/statistics/{period}/export.xlsx",
        "taxpayer",
        "抵扣明细文件下载（统计表、发票明细、异常发票；Excel）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/statistics/{period}/print.pdf",
        "taxpayer",
        "打印抵扣统计表及异常发票清单（PDF）",
        Auth::Taxpayer,
    ),
    (
        "post",
        "/office/taxpayers",
        "office",
        "新增纳税人",
        Auth::StaffWriter,
    ),
    (
        "get",
        "/office/taxpayers",
        "office",
        "按纳税人识别号或名称查询纳税人",
        Auth::Staff,
    ),
    (
        "get",
        "/office/taxpayers/{id}",
        "office",
        "纳税人档案及变更记录",
        Auth::Staff,
    ),
    (
        "put",
        "/office/taxpayers/{id}",
        "office",
        "修改纳税人档案（名称、地区、登录资格、信用等级、办税人员）",
        Auth::StaffWriter,
    ),
    (
        "post",
        "/office/taxpayers/{id}/unlock",
        "office",
        "解锁平台密码",
        Auth::StaffWriter,
    ),
    (
        "post",
        "/office/invoices",
        "office",
        "导入发票（ndjson 或 CSV，全部成功或全部不导入）",
        Auth::StaffWriter,
    ),
    (
        "get",
        "/office/invoices",
        "office",
        "按购方、销方或销方名称查询发票",
        Auth::Staff,
    ),
    (
        "put",
        "/office/invoices/{code}/{number}/status",
        "office",
        "变更发票状态",
        Auth::StaffWriter,
    ),
    (
        "post",
        "/office/invoices/status",
        "office",
        "批量变更发票状态",
        Auth::StaffWriter,
    ),
    (
        "post",
        "/office/scans",
        "office",
        "导入扫描认证记录（由统计作业或刷新生效）",
        Auth::StaffWriter,
    ),
    (
        "post",
        "/office/statistics/refresh",
        "office",
        "立即应用扫描认证记录",
        Auth::StaffWriter,
    ),
    (
        "put",
        "/office/declarations/{taxpayer_id}/{period}",
        "office",
        "记录申报状态",
        Auth::StaffWriter,
    ),
    (
        "get",
        "/office/declarations/{taxpayer_id}/{period}",
        "office",
        "查询申报状态",
        Auth::Staff,
    ),
    (
        "post",
        "/office/declarations",
        "office",
        "批量导入申报状态",
        Auth::StaffWriter,
    ),
    (
        "put",
        "/office/deadlines/{region}/{period}",
        "office",
        "设置省级申报截止日",
        Auth::StaffWriter,
    ),
    (
        "get",
        "/office/deadlines/{region}",
        "office",
        "查询全年申报截止日",
        Auth::Staff,
    ),
    ("get", "/office/clock", "office", "培训时钟", Auth::Staff),
    (
        "put",
        "/office/clock",
        "office",
        "设置培训时钟（仅培训模式）",
        Auth::StaffWriter,
    ),
    ("get", "/office/audit", "office", "审计日志", Auth::Staff),
    (
        "get",
        "/office/audit/export.csv",
        "office",
        "导出审计日志（CSV）",
        Auth::Staff,
    ),
    (
        "get",
        "/faq",
        "help",
        "常见问题知识库（含税务人员的修改）",
        Auth::Public,
    ),
    (
        "put",
        "/office/faq/{id}",
        "office",
        "新增或修改常见问题",
        Auth::FaqEditor,
    ),
    (
        "delete",
        "/office/faq/{id}",
        "office",
        "删除常见问题",
        Auth::FaqEditor,
    ),
    (
        "post",
        "/office/faq/reset",
        "office",
        "恢复默认常见问题知识库",
        Auth::FaqEditor,
    ),
    (
        "get",
        "/interact/ws",
        "interaction",
        "征纳互动 WebSocket（纳税人，或征纳互动坐席/管理员；帧格式见 docs/interaction.md）",
        Auth::Taxpayer,
    ),
    (
        "get",
        "/interactions",
        "interaction",
        "征纳互动记录与统计（等待、首次响应、服务时长、满意度；坐席只看自己接待的）",
        Auth::Staff,
    ),
    (
        "get",
        "/interactions/{id}",
        "interaction",
        "一次征纳互动的完整记录（本人纳税人、接待坐席、管理员、审计员）",
        Auth::Staff,
    ),
];

/// The full URL path of a table entry.
pub fn full_path(path: &str) -> String {
    if path == "/healthz" {
        path.to_string()
    } else {
        format!("/api/v1{path}")
    }
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "snake_case reason"},
                    "message": {"type": "string", "description": "中文说明"},
                    "field": {"type": "string"}
                }
            }
        }
    })
}

/// The OpenAPI 3.0 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary, auth) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({"description": "OK", "content": {"application/json": {}}}),
        );
        responses.insert(
            "default".into(),
            json!({"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
        let mut op = Map::new();
        op.insert("tags".into(), json!([tag]));
        op.insert("summary".into(), json!(summary));
        op.insert("parameters".into(), Value::Array(params));
        op.insert("responses".into(), Value::Object(responses));
        match auth {
            Auth::Public => {
                op.insert("security".into(), json!([]));
            }
            Auth::StaffWriter => {
                op.insert(
                    "description".into(),
                    json!("需要可修改数据的税务人员角色（管理员、业务操作员）；审计员只读。"),
                );
            }
            Auth::FaqEditor => {
                op.insert(
                    "description".into(),
                    json!("需要管理员或征纳互动坐席角色。"),
                );
            }
            Auth::Taxpayer | Auth::Staff => {}
        }
        let entry = paths
            .entry(full_path(path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert((*method).to_string(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "fapiao — 增值税发票选择确认平台 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "金额以分为单位的整数；日期 YYYY-MM-DD；税款所属期 YYYYMM；时间 RFC 3339（+08:00）。列表以 page / per_page 分页。"
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/session 或 /api/v1/office/session 返回的 token"}
            },
            "schemas": {"Error": error_schema()}
        },
        "paths": Value::Object(paths),
    })
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi));
}
