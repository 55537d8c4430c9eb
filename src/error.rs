//! The one request error type, [`AppError`], and the table of error codes it can carry.
//!
//! Every code of API.md is defined once in [`codes!`] below with its HTTP status and default
//! Chinese message. The JSON API renders an `AppError` as
//! `{"error": {"code", "message", "field"?}}`; pages render the same error as an HTML page
//! (see `server::middleware`). Causes are logged, never shown.
//! May depend on: the domain core, redb's error types.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

use crate::domain::DomainError;

macro_rules! codes {
    ($( $variant:ident => ($status:ident, $code:literal, $msg:literal), )*) => {
        /// Stable error codes of the API, with their HTTP status and default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }
            pub fn status(self) -> StatusCode {
                match self { $( Code::$variant => StatusCode::$status, )* }
            }
            pub fn default_message(self) -> &'static str {
                match self { $( Code::$variant => $msg, )* }
            }
        }
    };
}

codes! {
    Malformed => (BAD_REQUEST, "malformed", "请求格式不正确"),
    NotLoggedIn => (UNAUTHORIZED, "not_logged_in", "您尚未登录或登录已失效，请重新登录"),
    SessionExpired => (UNAUTHORIZED, "session_expired", "登录已超时，请重新登录"),
    StaffLoginFailed => (UNAUTHORIZED, "login_failed", "用户名或密码错误"),
    PasswordRequired => (UNAUTHORIZED, "password_required", "请输入平台密码"),
    PasswordWrong => (UNAUTHORIZED, "password_wrong", "平台密码错误"),
    Forbidden => (FORBIDDEN, "forbidden", "您无权进行此操作"),
    WrongRole => (FORBIDDEN, "wrong_role", "您的角色无权进行此操作"),
    PasswordChangeRequired => (FORBIDDEN, "password_change_required", "请先修改密码"),
    ReadOnly => (FORBIDDEN, "read_only", "本系统为只读副本，不能修改数据"),
    TrainingOnly => (FORBIDDEN, "training_only", "该功能仅在培训模式下可用"),
    CertificateRequired => (FORBIDDEN, "certificate_required", "请插入税务数字证书（金税盘或税控盘）后登录"),
    CertificateInvalid => (FORBIDDEN, "certificate_invalid", "税务数字证书无效"),
    UnknownTaxpayer => (FORBIDDEN, "unknown_taxpayer", "您的档案信息未同步，请联系主管税务机关"),
    NotEligible => (FORBIDDEN, "not_eligible", "您不符合登录条件，请联系主管税务机关"),
    CreditRatingUnset => (FORBIDDEN, "credit_rating_unset", "您的纳税信用等级未设置，请联系主管税务机关"),
    NotFound => (NOT_FOUND, "not_found", "您访问的内容不存在"),
    Conflict => (CONFLICT, "conflict", "数据状态已变化，请刷新后重试"),
    Duplicate => (CONFLICT, "duplicate", "记录已存在"),
    LastAdmin => (CONFLICT, "last_admin", "至少需要保留一名启用的管理员"),
    NothingSelected => (UNPROCESSABLE_ENTITY, "nothing_selected", "当前没有已勾选未确认的发票，请先到“发票勾选”模块勾选发票"),
    SelectionChanged => (CONFLICT, "selection_changed", "确定后已勾选的发票发生了变化，请重新点击“确定”核对后再提交"),
    DeclarationAnswerRequired => (CONFLICT, "declaration_answer_required", "请选择是否已完成本期增值税申报工作"),
    NotManualAdvance => (CONFLICT, "not_manual_advance", "不符合回退条件：当前税款所属期不是因确认勾选时选择“已完成申报”而跳转的"),
    ConfirmedInNewPeriod => (CONFLICT, "confirmed_in_new_period", "不符合回退条件：跳转到下期后已进行过确认勾选操作"),
    PreviousPeriodDeclared => (CONFLICT, "previous_period_declared", "不符合回退条件：系统获取到的上期申报结果不是“未申报”"),
    OutsideFilingPeriod => (CONFLICT, "outside_filing_period", "不符合回退条件：回退功能仅在征期内有效"),
    WeakPassword => (UNPROCESSABLE_ENTITY, "weak_password", "平台密码至少8位，且不能为纯字母或纯数字"),
    AnswerWrong => (UNAUTHORIZED, "answer_wrong", "密保问题答案错误"),
    TooLarge => (PAYLOAD_TOO_LARGE, "too_large", "文件或请求过大"),
    UnsupportedType => (UNSUPPORTED_MEDIA_TYPE, "unsupported_type", "文件类型不正确"),
    InvalidValue => (UNPROCESSABLE_ENTITY, "invalid_value", "输入的内容不正确"),
    CsrInvalid => (UNPROCESSABLE_ENTITY, "csr_invalid", "证书请求（CSR）无效"),
    CaKeyMissing => (CONFLICT, "ca_key_missing", "本系统未配置证书签发机构的私钥，无法签发证书，请联系系统管理员"),
    Locked => (LOCKED, "locked", "平台密码错误次数超过十次，请联系当地税务机关解锁或明天再试"),
    TooManyAttempts => (TOO_MANY_REQUESTS, "too_many_attempts", "登录失败次数过多，请稍后再试"),
    Internal => (INTERNAL_SERVER_ERROR, "internal", "系统繁忙，请稍后再试"),
    Unavailable => (SERVICE_UNAVAILABLE, "unavailable", "系统正在维护，请稍后再试"),
}

/// A refusal or failure of a request: a code from the table, a user-safe Chinese message,
/// optionally the offending field and extra JSON members; the cause only goes to the log.
#[derive(Debug)]
pub struct AppError {
    pub code: Code,
    pub message: Cow<'static, str>,
    pub field: Option<Cow<'static, str>>,
    pub extra: Map<String, Value>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: Code) -> Self {
        AppError {
            code,
            message: Cow::Borrowed(code.default_message()),
            field: None,
            extra: Map::new(),
            source: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_extra(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// An internal failure; `cause` is logged, the user sees the generic message.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = AppError::new(Code::Internal);
        e.source = Some(cause.into());
        e
    }

    pub fn invalid(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        AppError::new(Code::InvalidValue)
            .with_field(field)
            .with_message(message)
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The API's JSON error body.
    pub fn body(&self) -> Value {
        let mut err = Map::new();
        err.insert("code".into(), json!(self.code.as_str()));
        err.insert("message".into(), json!(self.message));
        if let Some(f) = &self.field {
            err.insert("field".into(), json!(f));
        }
        let mut top = Map::new();
        top.insert("error".into(), Value::Object(err));
        for (k, v) in &self.extra {
            top.insert(k.clone(), v.clone());
        }
        Value::Object(top)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        let mut cause = self.source.as_deref().map(|e| e as &dyn std::error::Error);
        while let Some(c) = cause {
            write!(f, "\n  caused by: {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        HttpResponse::build(self.status()).json(self.body())
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<crate::domain::engine::Refusal> for AppError {
    fn from(r: crate::domain::engine::Refusal) -> Self {
        use crate::domain::engine::Refusal as R;
        use crate::domain::rules::RollbackRefusal as RR;
        match r {
            R::TaxpayerNotFound => AppError::new(Code::NotFound).with_message("纳税人不存在"),
            R::InvoiceNotFound => AppError::new(Code::NotFound).with_message("发票不存在"),
            R::BatchNotFound => AppError::new(Code::NotFound).with_message("确认批次不存在"),
            R::NothingSelected => AppError::new(Code::NothingSelected),
            R::SelectionChanged => AppError::new(Code::SelectionChanged),
            R::DeclarationAnswerRequired { period } => {
                let p = period.label_zh();
                AppError::new(Code::DeclarationAnswerRequired)
                    .with_message(format!(
                        "尊敬的纳税人：因获取您税款所属期{p}的申报结果信息有延迟，请您选择是否已完成税款所属期{p}的增值税申报工作！"
                    ))
                    .with_field("declaration")
                    .with_extra("period", period.to_string())
            }
            R::Rollback(rr) => AppError::new(match rr {
                RR::NotManualAdvance => Code::NotManualAdvance,
                RR::ConfirmedInNewPeriod => Code::ConfirmedInNewPeriod,
                RR::PreviousPeriodDeclared => Code::PreviousPeriodDeclared,
                RR::OutsideFilingPeriod => Code::OutsideFilingPeriod,
            })
            .with_message(rr.message()),
            R::Invalid(e) => e.into(),
        }
    }
}

macro_rules! internal_from {
    ($($t:ty),*) => {
        $(impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                AppError::internal(e)
            }
        })*
    };
}

internal_from!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(c
                .as_str()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_'));
            assert!(!c.default_message().is_empty());
        }
    }

    #[test]
    fn body_shape() {
        let e = AppError::new(Code::PasswordWrong).with_extra("attempts_left", 3);
        assert_eq!(
            e.body(),
            json!({"error": {"code": "password_wrong", "message": "平台密码错误"}, "attempts_left": 3})
        );
        let e: AppError = DomainError::new("period", "税款所属期格式应为YYYYMM").into();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body()["error"]["field"], "period");
    }
}
