//! Record encoding: one version byte, then postcard (a compact serde binary format).
//! Invoices, the bulk of the data, use a dedicated compact row with dates as day numbers
//! and enums as single bytes.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{
    CustomsAudit, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, InvoiceUse, NoDeductReason,
    SelectionState, TaxPeriod, TaxpayerId, Usage,
};

/// Version of the record encoding written by this binary.
pub const RECORD_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("record is empty")]
    Empty,
    #[error("record version {0} is not understood by this binary (expects {RECORD_VERSION})")]
    Version(u8),
    #[error("record is corrupt: {0}")]
    Postcard(#[from] postcard::Error),
    #[error("record is corrupt: {0}")]
    Field(&'static str),
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![RECORD_VERSION];
    out.extend(postcard::to_stdvec(value)?);
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&RECORD_VERSION, rest)) => Ok(postcard::from_bytes(rest)?),
        Some((&v, _)) => Err(CodecError::Version(v)),
    }
}

/// Like [`decode`], returning what follows the record.
pub fn decode_with_rest<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&RECORD_VERSION, rest)) => Ok(postcard::take_from_bytes(rest)?),
        Some((&v, _)) => Err(CodecError::Version(v)),
    }
}

/// Days since 0001-01-01 (CE), as chrono counts them.
pub fn date_to_days(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce()
}

pub fn days_to_date(days: i32) -> Result<NaiveDate, CodecError> {
    NaiveDate::from_num_days_from_ce_opt(days).ok_or(CodecError::Field("date"))
}

/// Version byte of invoice rows without a use. Version 1 rows (before the 缴款书's 稽核比对
/// result) are read as rows without one.
pub const INVOICE_ROW_VERSION: u8 = 2;

/// Version byte of invoice rows with a 勾选用途: version 2 followed by [`InvoiceRowUse`].
pub const INVOICE_ROW_USE_VERSION: u8 = 3;

#[derive(Serialize, Deserialize)]
struct InvoiceRow {
    kind: u8,
    issued_on: i32,
    seller_id: String,
    seller_name: String,
    buyer_id: String,
    amount: i64,
    tax: i64,
    status: u8,
    /// 0 unselected, 1 selected, 2 confirmed, 3 scanned
    sel: u8,
    sel_period: u32,
    sel_batch: u32,
    sel_on: i32,
}

/// What version 2 adds after the version 1 fields.
#[derive(Serialize, Deserialize)]
struct InvoiceRowExtra {
    /// [`CustomsAudit::code`], 0 for none.
    audit: u8,
}

/// What version 3 adds after the version 2 fields.
#[derive(Serialize, Deserialize)]
struct InvoiceRowUse {
    /// [`InvoiceUse::code`].
    use_code: u8,
    effective_tax: i64,
    /// [`NoDeductReason::code`], 0 for none.
    reason: u8,
    reason_text: String,
}

pub fn encode_invoice(inv: &Invoice) -> Result<Vec<u8>, CodecError> {
    let (sel, sel_period, sel_batch, sel_on) = match &inv.selection {
        SelectionState::Unselected => (0, 0, 0, 0),
        SelectionState::Selected { period } => (1, period.as_u32(), 0, 0),
        SelectionState::Confirmed { period, batch, on } => {
            (2, period.as_u32(), *batch, date_to_days(*on))
        }
        SelectionState::Scanned { period, on } => (3, period.as_u32(), 0, date_to_days(*on)),
    };
    let out = postcard::to_extend(
        &InvoiceRow {
            kind: inv.kind.code(),
            issued_on: date_to_days(inv.issued_on),
            seller_id: inv.seller_id.as_str().to_string(),
            seller_name: inv.seller_name.clone(),
            buyer_id: inv.buyer_id.as_str().to_string(),
            amount: inv.amount.value(),
            tax: inv.tax.value(),
            status: inv.status.code(),
            sel,
            sel_period,
            sel_batch,
            sel_on,
        },
        vec![if inv.usage.is_some() {
            INVOICE_ROW_USE_VERSION
        } else {
            INVOICE_ROW_VERSION
        }],
    )?;
    let mut out = postcard::to_extend(
        &InvoiceRowExtra {
            audit: inv.audit.map_or(0, CustomsAudit::code),
        },
        out,
    )?;
    if let Some(u) = &inv.usage {
        out = postcard::to_extend(
            &InvoiceRowUse {
                use_code: u.use_.code(),
                effective_tax: u.effective_tax.value(),
                reason: u.reason.map_or(0, NoDeductReason::code),
                reason_text: u.reason_text.clone().unwrap_or_default(),
            },
            out,
        )?;
    }
    Ok(out)
}

pub fn decode_invoice(key: InvoiceKey, bytes: &[u8]) -> Result<Invoice, CodecError> {
    let (row, extra, use_row): (InvoiceRow, InvoiceRowExtra, Option<InvoiceRowUse>) =
        match bytes.split_first() {
            None => return Err(CodecError::Empty),
            Some((&RECORD_VERSION, rest)) => (
                postcard::from_bytes(rest)?,
                InvoiceRowExtra { audit: 0 },
                None,
            ),
            Some((&INVOICE_ROW_VERSION, rest)) => {
                let (row, rest) = postcard::take_from_bytes(rest)?;
                (row, postcard::from_bytes(rest)?, None)
            }
            Some((&INVOICE_ROW_USE_VERSION, rest)) => {
                let (row, rest) = postcard::take_from_bytes(rest)?;
                let (extra, rest) = postcard::take_from_bytes(rest)?;
                (row, extra, Some(postcard::from_bytes(rest)?))
            }
            Some((&v, _)) => return Err(CodecError::Version(v)),
        };
    let usage = match use_row {
        None => None,
        Some(u) => Some(Usage {
            use_: InvoiceUse::from_code(u.use_code).ok_or(CodecError::Field("use"))?,
            effective_tax: Fen::new(u.effective_tax),
            reason: match u.reason {
                0 => None,
                c => Some(NoDeductReason::from_code(c).ok_or(CodecError::Field("reason"))?),
            },
            reason_text: Some(u.reason_text).filter(|t| !t.is_empty()),
        }),
    };
    let period = || TaxPeriod::from_u32(row.sel_period).ok_or(CodecError::Field("period"));
    let selection = match row.sel {
        0 => SelectionState::Unselected,
        1 => SelectionState::Selected { period: period()? },
        2 => SelectionState::Confirmed {
            period: period()?,
            batch: row.sel_batch,
            on: days_to_date(row.sel_on)?,
        },
        3 => SelectionState::Scanned {
            period: period()?,
            on: days_to_date(row.sel_on)?,
        },
        _ => return Err(CodecError::Field("selection")),
    };
    Ok(Invoice {
        key,
        kind: InvoiceType::from_code(row.kind).ok_or(CodecError::Field("type"))?,
        issued_on: days_to_date(row.issued_on)?,
        seller_id: TaxpayerId::from_stored(row.seller_id).ok_or(CodecError::Field("seller"))?,
        seller_name: row.seller_name,
        buyer_id: TaxpayerId::from_stored(row.buyer_id).ok_or(CodecError::Field("buyer"))?,
        amount: Fen::new(row.amount),
        tax: Fen::new(row.tax),
        status: InvoiceStatus::from_code(row.status).ok_or(CodecError::Field("status"))?,
        selection,
        audit: match extra.audit {
            0 => None,
            c => Some(CustomsAudit::from_code(c).ok_or(CodecError::Field("audit"))?),
        },
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(selection: SelectionState) -> Invoice {
        Invoice {
            key: InvoiceKey::parse("4403261130", "00012345").unwrap(),
            kind: InvoiceType::Special,
            issued_on: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            seller_id: TaxpayerId::parse("91350100M000100Y43").unwrap(),
            seller_name: "深圳鑫达电子科技有限公司".into(),
            buyer_id: TaxpayerId::parse("91350100M000100Y43").unwrap(),
            amount: Fen::new(299_500),
            tax: Fen::new(38_935),
            status: InvoiceStatus::Voided,
            selection,
            audit: None,
            usage: None,
        }
    }

    #[test]
    fn invoice_round_trips_in_every_selection_state() {
        let p = TaxPeriod::parse("202611").unwrap();
        let on = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        for sel in [
            SelectionState::Unselected,
            SelectionState::Selected { period: p },
            SelectionState::Confirmed {
                period: p,
                batch: 3,
                on,
            },
            SelectionState::Scanned { period: p, on },
        ] {
            let inv = sample(sel);
            let bytes = encode_invoice(&inv).unwrap();
            assert!(bytes.len() < 120, "row is {} bytes", bytes.len());
            assert_eq!(decode_invoice(inv.key.clone(), &bytes).unwrap(), inv);
        }
    }

    #[test]
    fn version_1_rows_still_read_and_customs_rows_keep_their_audit() {
        let inv = sample(SelectionState::Unselected);
        let v1 = encode(&InvoiceRow {
            kind: 1,
            issued_on: date_to_days(inv.issued_on),
            seller_id: inv.seller_id.as_str().into(),
            seller_name: inv.seller_name.clone(),
            buyer_id: inv.buyer_id.as_str().into(),
            amount: inv.amount.value(),
            tax: inv.tax.value(),
            status: inv.status.code(),
            sel: 0,
            sel_period: 0,
            sel_batch: 0,
            sel_on: 0,
        })
        .unwrap();
        assert_eq!(decode_invoice(inv.key.clone(), &v1).unwrap(), inv);
        let customs = Invoice {
            key: InvoiceKey::parse_any(None, "530120261000123456-L01").unwrap(),
            kind: InvoiceType::Customs,
            audit: Some(CustomsAudit::Match),
            ..inv
        };
        let bytes = encode_invoice(&customs).unwrap();
        assert_eq!(bytes[0], INVOICE_ROW_VERSION);
        assert_eq!(
            decode_invoice(customs.key.clone(), &bytes).unwrap(),
            customs
        );
    }

    #[test]
    fn rows_with_a_use_are_version_3_and_round_trip_every_use() {
        let p = TaxPeriod::parse("202611").unwrap();
        let plain = sample(SelectionState::Selected { period: p });
        assert_eq!(encode_invoice(&plain).unwrap()[0], INVOICE_ROW_VERSION);
        let usages = [
            Usage::deduct(Fen::new(30_000)),
            Usage {
                use_: InvoiceUse::NoDeduct,
                effective_tax: Fen::new(38_935),
                reason: Some(NoDeductReason::Other),
                reason_text: Some("用于职工食堂".into()),
            },
            Usage {
                use_: InvoiceUse::NoDeduct,
                effective_tax: Fen::new(38_935),
                reason: Some(NoDeductReason::Welfare),
                reason_text: None,
            },
            Usage {
                use_: InvoiceUse::AgentRefund,
                effective_tax: Fen::new(1),
                reason: None,
                reason_text: None,
            },
        ];
        for u in usages {
            let inv = Invoice {
                usage: Some(u),
                ..plain.clone()
            };
            let bytes = encode_invoice(&inv).unwrap();
            assert_eq!(bytes[0], INVOICE_ROW_USE_VERSION);
            assert_eq!(decode_invoice(inv.key.clone(), &bytes).unwrap(), inv);
        }
        // An unknown use code is an error, not a panic.
        let inv = Invoice {
            usage: Some(Usage::deduct(Fen::new(5))),
            ..plain
        };
        let mut bytes = encode_invoice(&inv).unwrap();
        let n = bytes.len();
        // use_code, effective_tax (varint 5 → 1 byte... zigzag 10), reason, empty text
        bytes[n - 4] = 4;
        assert!(decode_invoice(inv.key.clone(), &bytes).is_err());
    }

    #[test]
    fn unknown_version_and_garbage_are_errors_not_panics() {
        let inv = sample(SelectionState::Unselected);
        let mut bytes = encode_invoice(&inv).unwrap();
        bytes[0] = 9;
        assert!(matches!(
            decode_invoice(inv.key.clone(), &bytes),
            Err(CodecError::Version(9))
        ));
        bytes[0] = INVOICE_ROW_VERSION;
        let n = bytes.len();
        bytes[n - 1] = 77;
        assert!(
            decode_invoice(inv.key.clone(), &bytes).is_err(),
            "unknown audit code"
        );
        assert!(decode_invoice(inv.key.clone(), &[]).is_err());
        assert!(decode_invoice(inv.key.clone(), &[RECORD_VERSION, 0xff, 0xff]).is_err());
    }
}
