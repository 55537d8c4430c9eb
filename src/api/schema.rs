//! Schemas of the OpenAPI document that no handler type carries: the error answer, bytes
//! (downloads and uploads), and the shapes of domain records that answers embed as they are
//! serialised (the domain stays free of the documentation crate; the tests below check each
//! shape against the record's real JSON).

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::error::Code;

/// The error answer of every endpoint: `{"error": {"code", "message", "field"?}}`; some codes
/// add members beside `error`.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // Schema only: `AppError::body` writes the answer.
pub struct ErrorBody {
    error: ErrorDetail,
    /// The refused lines of an all-or-nothing import (`invalid_value`).
    rejected: Option<Vec<serde_json::Value>>,
    /// Platform password tries left today (`password_wrong`).
    attempts_left: Option<u32>,
    /// Why a certificate was refused (`certificate_invalid`).
    reason: Option<String>,
    /// Seconds to wait before the next login (`too_many_attempts`).
    retry_after_secs: Option<u64>,
    /// The period a declaration answer is asked for (`declaration_answer_required`).
    period: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)] // Schema only.
pub struct ErrorDetail {
    code: ErrorCode,
    /// 中文说明
    message: String,
    /// The offending request field, when there is one.
    field: Option<String>,
}

/// The stable error codes (`src/error.rs`).
pub struct ErrorCode;

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("snake_case reason"))
            .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// Bytes: a downloaded file, or an uploaded one.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Binary")
    }
}

/// A `multipart/form-data` upload.
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: `http::files::read_upload` reads the form.
pub struct UploadForm {
    /// The file (`.xlsx` or `.xls`).
    file: Binary,
}

/// A change of credit rating (`domain::RatingChange`).
#[derive(ToSchema)]
#[schema(as = RatingChange)]
#[allow(dead_code)] // Schema only.
pub struct RatingChangeShape {
    at: DateTime<FixedOffset>,
    /// A、B、C、D、M, or null when unset.
    from: Option<String>,
    to: Option<String>,
    by: String,
}

/// A change of a taxpayer's record (`domain::ProfileChange`).
#[derive(ToSchema)]
#[schema(as = ProfileChange)]
#[allow(dead_code)] // Schema only.
pub struct ProfileChangeShape {
    at: DateTime<FixedOffset>,
    by: String,
    field: String,
    from: String,
    to: String,
}

/// An audit log entry (`domain::AuditEntry`).
#[derive(ToSchema)]
#[schema(as = AuditEntry)]
#[allow(dead_code)] // Schema only.
pub struct AuditEntryShape {
    seq: u64,
    /// Wall-clock time of the change.
    at: DateTime<FixedOffset>,
    /// Business time when it differs from `at` (training clock).
    business_at: Option<DateTime<FixedOffset>>,
    /// `staff:<username>`, `taxpayer:<ID>`, `system:<what>` or `anonymous`.
    actor: String,
    address: Option<String>,
    /// Dotted action name, e.g. `staff.login`.
    action: String,
    target: String,
    detail: String,
}

/// 征期: the filing period of a tax period (`domain::FilingPeriod`).
#[derive(ToSchema)]
#[schema(as = FilingPeriod)]
#[allow(dead_code)] // Schema only.
pub struct FilingPeriodShape {
    from: NaiveDate,
    to: NaiveDate,
}

/// A refused row of a 批量勾选 upload (`domain::BulkRejection`).
#[derive(ToSchema)]
#[schema(as = BulkRejection)]
#[allow(dead_code)] // Schema only.
pub struct BulkRejectionShape {
    /// The sheet row as a spreadsheet program numbers it.
    row: u64,
    code: String,
    number: String,
    reason: String,
    message: String,
}

/// A message of a 征纳互动 transcript, as the socket sends it (`docs/interaction.md`).
#[derive(ToSchema)]
#[schema(as = ChatMessage)]
#[allow(dead_code)] // Schema only: `interact::protocol::message` writes it.
pub struct ChatMessageShape {
    /// Always `msg`.
    t: String,
    /// The interaction.
    i: u64,
    seq: u64,
    at: String,
    /// `taxpayer`, `agent`, `bot` or `system`.
    from: String,
    name: String,
    text: String,
    cid: Option<String>,
    suggest: Vec<SuggestionShape>,
    faq: Option<String>,
}

/// A question the bot suggests.
#[derive(ToSchema)]
#[schema(as = Suggestion)]
#[allow(dead_code)] // Schema only.
pub struct SuggestionShape {
    id: String,
    question: String,
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use super::*;
    use crate::domain::interaction::{ChatMessage, Party, Suggestion};
    use crate::domain::{
        Actor, AuditEntry, BulkRejection, CreditRating, FilingPeriod, ProfileChange, RatingChange,
    };

    fn at() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap()
    }

    /// The members a schema names, and those of a real value's JSON.
    fn same_members<T: PartialSchema>(value: Value) {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let named: BTreeSet<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let real: BTreeSet<String> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(named, real, "{schema}");
    }

    #[test]
    fn the_shapes_of_domain_records_name_their_members() {
        same_members::<RatingChangeShape>(
            serde_json::to_value(RatingChange {
                at: at(),
                from: None,
                to: Some(CreditRating::A),
                by: "staff:admin".into(),
            })
            .unwrap(),
        );
        same_members::<ProfileChangeShape>(
            serde_json::to_value(ProfileChange {
                at: at(),
                by: "staff:admin".into(),
                field: "name".into(),
                from: "a".into(),
                to: "b".into(),
            })
            .unwrap(),
        );
        same_members::<AuditEntryShape>(
            serde_json::to_value(AuditEntry {
                seq: 1,
                at: at(),
                business_at: None,
                actor: Actor::Anonymous,
                address: None,
                action: "staff.login".into(),
                target: String::new(),
                detail: String::new(),
            })
            .unwrap(),
        );
        let day = at().date_naive();
        same_members::<FilingPeriodShape>(
            serde_json::to_value(FilingPeriod { from: day, to: day }).unwrap(),
        );
        same_members::<BulkRejectionShape>(
            serde_json::to_value(BulkRejection {
                row: 2,
                code: "3500261130".into(),
                number: "00000001".into(),
                reason: "r".into(),
                message: "m".into(),
            })
            .unwrap(),
        );
        let m = ChatMessage {
            seq: 1,
            at: at(),
            from: Party::Bot,
            text: "您好".into(),
            cid: None,
            suggest: vec![Suggestion {
                id: "q".into(),
                question: "?".into(),
            }],
            faq: None,
        };
        let msg = crate::service::interact::protocol::message(7, &m, "纳税人");
        same_members::<ChatMessageShape>(msg.clone());
        same_members::<SuggestionShape>(msg["suggest"][0].clone());
    }

    #[test]
    fn the_error_shape_is_the_rendered_error() {
        let e = crate::error::AppError::invalid("period", "x");
        let body = e.body();
        same_members::<ErrorDetail>(body["error"].clone());
        let codes = serde_json::to_value(ErrorCode::schema()).unwrap();
        assert!(codes["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("invalid_value")));
    }
}
