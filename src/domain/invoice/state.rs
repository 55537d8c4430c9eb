//! Invoice kinds and states: type, status, certification method, and where the invoice stands
//! in the selection/confirmation workflow.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::KeyShape;
use crate::domain::error::DomainError;
use crate::domain::period::TaxPeriod;

/// Invoice type (发票类型): the kind of document. The API names are fixed; the numeric type
/// codes that invoicing systems and vendors use differ between lists, so they are data
/// ([`super::TypeCodes`]), not these variants.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceType {
    /// 增值税专用发票
    Special,
    /// 货物运输业增值税专用发票
    Freight,
    /// 机动车销售统一发票
    MotorVehicle,
    /// 增值税电子专用发票 (12-digit code, digits 11–12 `13`)
    ESpecial,
    /// 电子发票（增值税专用发票）: 数电专票, a 20-digit number and no code
    DigitalSpecial,
    /// 电子发票（普通发票）: 数电普票, a 20-digit number and no code
    DigitalOrdinary,
    /// 收费公路通行费增值税电子普通发票 (12-digit code, digits 11–12 `12`)
    Toll,
    /// 农产品收购发票或销售发票: the deduction is computed from the amount
    Agricultural,
    /// 海关进口增值税专用缴款书: a 缴款书号码 and no code; deductible after 稽核比对 相符
    Customs,
}

impl InvoiceType {
    pub const ALL: [Self; 9] = [
        Self::Special,
        Self::Freight,
        Self::MotorVehicle,
        Self::ESpecial,
        Self::DigitalSpecial,
        Self::DigitalOrdinary,
        Self::Toll,
        Self::Agricultural,
        Self::Customs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Special => "special",
            Self::Freight => "freight",
            Self::MotorVehicle => "motor_vehicle",
            Self::ESpecial => "e_special",
            Self::DigitalSpecial => "digital_special",
            Self::DigitalOrdinary => "digital_ordinary",
            Self::Toll => "toll",
            Self::Agricultural => "agricultural",
            Self::Customs => "customs",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Special => "增值税专用发票",
            Self::Freight => "货物运输业增值税专用发票",
            Self::MotorVehicle => "机动车销售统一发票",
            Self::ESpecial => "增值税电子专用发票",
            Self::DigitalSpecial => "电子发票（增值税专用发票）",
            Self::DigitalOrdinary => "电子发票（普通发票）",
            Self::Toll => "收费公路通行费增值税电子普通发票",
            Self::Agricultural => "农产品收购发票或销售发票",
            Self::Customs => "海关进口增值税专用缴款书",
        }
    }

    pub fn short_label_zh(self) -> &'static str {
        match self {
            Self::Special => "专用发票",
            Self::Freight => "货运专用发票",
            Self::MotorVehicle => "机动车发票",
            Self::ESpecial => "电子专票",
            Self::DigitalSpecial => "数电专票",
            Self::DigitalOrdinary => "数电普票",
            Self::Toll => "通行费电子普票",
            Self::Agricultural => "农产品发票",
            Self::Customs => "海关缴款书",
        }
    }

    /// Accepts the snake_case name, the full or the short Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s || t.short_label_zh() == s)
            .ok_or_else(|| {
                let names = Self::ALL
                    .iter()
                    .map(|t| format!("{}（{}）", t.as_str(), t.short_label_zh()))
                    .collect::<Vec<_>>()
                    .join("、");
                DomainError::new("type", format!("发票类型不正确：应为{names}之一"))
            })
    }

    /// Compact storage code (1..=9). Stored in every invoice row: never renumber.
    pub fn code(self) -> u8 {
        match self {
            Self::Special => 1,
            Self::Freight => 2,
            Self::MotorVehicle => 3,
            Self::ESpecial => 4,
            Self::DigitalSpecial => 5,
            Self::DigitalOrdinary => 6,
            Self::Toll => 7,
            Self::Agricultural => 8,
            Self::Customs => 9,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The shape of this kind's identity.
    pub fn key_shape(self) -> KeyShape {
        match self {
            Self::DigitalSpecial | Self::DigitalOrdinary => KeyShape::Digital,
            Self::Customs => KeyShape::Customs,
            Self::Special
            | Self::Freight
            | Self::MotorVehicle
            | Self::ESpecial
            | Self::Toll
            | Self::Agricultural => KeyShape::Coded,
        }
    }

    /// 数电票 (fully digital invoices).
    pub fn is_digital(self) -> bool {
        self.key_shape() == KeyShape::Digital
    }
}

display_as_str!(InvoiceType);

/// Invoice status (发票状态) as reported by the issuing system.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// 正常
    Normal,
    /// 作废
    Voided,
    /// 红冲
    RedReversed,
    /// 失控
    OutOfControl,
    /// 异常
    Abnormal,
}

impl InvoiceStatus {
    pub const ALL: [Self; 5] = [
        Self::Normal,
        Self::Voided,
        Self::RedReversed,
        Self::OutOfControl,
        Self::Abnormal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Voided => "voided",
            Self::RedReversed => "red_reversed",
            Self::OutOfControl => "out_of_control",
            Self::Abnormal => "abnormal",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Normal => "正常",
            Self::Voided => "作废",
            Self::RedReversed => "红冲",
            Self::OutOfControl => "失控",
            Self::Abnormal => "异常",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "status",
                    "发票状态不正确：应为 normal（正常）、voided（作废）、red_reversed（红冲）、out_of_control（失控）或 abnormal（异常）",
                )
            })
    }

    /// Every status but `Normal` is an exception (异常发票) that may not be
    /// selected for deduction.
    pub fn is_exception(self) -> bool {
        self != Self::Normal
    }

    /// Compact storage code (1..=5).
    pub fn code(self) -> u8 {
        match self {
            Self::Normal => 1,
            Self::Voided => 2,
            Self::RedReversed => 3,
            Self::OutOfControl => 4,
            Self::Abnormal => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

display_as_str!(InvoiceStatus);

/// How an invoice was certified (认证方式).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertMethod {
    /// 勾选认证
    Selection,
    /// 扫描认证
    Scan,
}

impl CertMethod {
    pub const ALL: [Self; 2] = [Self::Selection, Self::Scan];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Selection => "selection",
            Self::Scan => "scan",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Selection => "勾选认证",
            Self::Scan => "扫描认证",
        }
    }

    /// Accepts the snake_case name or the Chinese label.
    pub fn parse_api(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label_zh() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "cert_method",
                    "认证方式不正确：应为 selection（勾选认证）或 scan（扫描认证）",
                )
            })
    }
}

display_as_str!(CertMethod);

/// Where an invoice stands in the selection/confirmation workflow.
///
/// JSON: `{"state":"confirmed","period":"202611","batch":1,"on":"2026-12-03"}`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SelectionState {
    /// 未勾选
    #[default]
    Unselected,
    /// 已勾选 for `period`, not yet confirmed.
    Selected { period: TaxPeriod },
    /// 已确认: selected and confirmed in confirmation `batch` on date `on`.
    Confirmed {
        period: TaxPeriod,
        batch: u32,
        on: NaiveDate,
    },
    /// 扫描认证: certified by scanning the paper invoice on date `on`.
    Scanned { period: TaxPeriod, on: NaiveDate },
}

impl SelectionState {
    pub fn api_name(&self) -> &'static str {
        match self {
            Self::Unselected => "unselected",
            Self::Selected { .. } => "selected",
            Self::Confirmed { .. } => "confirmed",
            Self::Scanned { .. } => "scanned",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Unselected => "未勾选",
            Self::Selected { .. } => "已勾选",
            Self::Confirmed { .. } => "已确认",
            Self::Scanned { .. } => "扫描认证",
        }
    }

    pub fn period(&self) -> Option<TaxPeriod> {
        match *self {
            Self::Unselected => None,
            Self::Selected { period }
            | Self::Confirmed { period, .. }
            | Self::Scanned { period, .. } => Some(period),
        }
    }

    /// Certified = confirmed after selection, or scan-certified.
    pub fn is_certified(&self) -> bool {
        matches!(self, Self::Confirmed { .. } | Self::Scanned { .. })
    }

    pub fn cert_method(&self) -> Option<CertMethod> {
        match self {
            Self::Confirmed { .. } => Some(CertMethod::Selection),
            Self::Scanned { .. } => Some(CertMethod::Scan),
            Self::Unselected | Self::Selected { .. } => None,
        }
    }

    pub fn certified_on(&self) -> Option<NaiveDate> {
        match *self {
            Self::Confirmed { on, .. } | Self::Scanned { on, .. } => Some(on),
            Self::Unselected | Self::Selected { .. } => None,
        }
    }

    pub fn batch(&self) -> Option<u32> {
        match *self {
            Self::Confirmed { batch, .. } => Some(batch),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn tp(s: &str) -> TaxPeriod {
        TaxPeriod::parse(s).unwrap()
    }

    #[test]
    fn invoice_type() {
        assert_eq!(InvoiceType::ALL.len(), 9);
        for t in InvoiceType::ALL {
            assert_eq!(InvoiceType::parse_api(t.as_str()).unwrap(), t);
            assert_eq!(InvoiceType::parse_api(t.label_zh()).unwrap(), t);
            assert_eq!(InvoiceType::parse_api(t.short_label_zh()).unwrap(), t);
            assert_eq!(InvoiceType::from_code(t.code()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(InvoiceType::MotorVehicle.label_zh(), "机动车销售统一发票");
        assert_eq!(InvoiceType::Freight.short_label_zh(), "货运专用发票");
        assert_eq!(
            serde_json::to_string(&InvoiceType::MotorVehicle).unwrap(),
            "\"motor_vehicle\""
        );
        assert_eq!(InvoiceType::from_code(0), None);
        assert_eq!(InvoiceType::from_code(10), None);
        assert_eq!(InvoiceType::from_code(4), Some(InvoiceType::ESpecial));
        let e = InvoiceType::parse_api("MotorVehicle").unwrap_err();
        assert_eq!(e.field, "type");
        assert!(e.message.contains("发票类型"));
        assert!(InvoiceType::parse_api("").is_err());
        assert!(serde_json::from_str::<InvoiceType>("\"Special\"").is_err());
    }

    #[test]
    fn invoice_status() {
        assert_eq!(InvoiceStatus::ALL.len(), 5);
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse_api(s.as_str()).unwrap(), s);
            assert_eq!(InvoiceStatus::parse_api(s.label_zh()).unwrap(), s);
            assert_eq!(InvoiceStatus::from_code(s.code()), Some(s));
            assert_eq!(s.is_exception(), s != InvoiceStatus::Normal);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&InvoiceStatus::OutOfControl).unwrap(),
            "\"out_of_control\""
        );
        assert_eq!(InvoiceStatus::RedReversed.label_zh(), "红冲");
        assert_eq!(
            InvoiceStatus::parse_api(" 失控 ").unwrap(),
            InvoiceStatus::OutOfControl
        );
        assert!(!InvoiceStatus::Normal.is_exception());
        assert_eq!(InvoiceStatus::from_code(6), None);
        let e = InvoiceStatus::parse_api("ok").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("发票状态"));
    }

    #[test]
    fn cert_method() {
        assert_eq!(CertMethod::Selection.label_zh(), "勾选认证");
        assert_eq!(CertMethod::Scan.label_zh(), "扫描认证");
        for m in CertMethod::ALL {
            assert_eq!(CertMethod::parse_api(m.as_str()).unwrap(), m);
            assert_eq!(CertMethod::parse_api(m.label_zh()).unwrap(), m);
        }
        assert_eq!(
            serde_json::to_string(&CertMethod::Scan).unwrap(),
            "\"scan\""
        );
        assert_eq!(
            serde_json::to_string(&CertMethod::Selection).unwrap(),
            "\"selection\""
        );
        assert_eq!(CertMethod::parse_api("x").unwrap_err().field, "cert_method");
    }

    #[test]
    fn selection_state_accessors() {
        let p = tp("202611");
        let on = d(2026, 12, 3);
        let states = [
            SelectionState::Unselected,
            SelectionState::Selected { period: p },
            SelectionState::Confirmed {
                period: p,
                batch: 2,
                on,
            },
            SelectionState::Scanned { period: p, on },
        ];
        let names: Vec<_> = states.iter().map(SelectionState::api_name).collect();
        assert_eq!(names, ["unselected", "selected", "confirmed", "scanned"]);
        let labels: Vec<_> = states.iter().map(SelectionState::label_zh).collect();
        assert_eq!(labels, ["未勾选", "已勾选", "已确认", "扫描认证"]);
        let periods: Vec<_> = states.iter().map(SelectionState::period).collect();
        assert_eq!(periods, [None, Some(p), Some(p), Some(p)]);
        let certified: Vec<_> = states.iter().map(SelectionState::is_certified).collect();
        assert_eq!(certified, [false, false, true, true]);
        let methods: Vec<_> = states.iter().map(SelectionState::cert_method).collect();
        assert_eq!(
            methods,
            [
                None,
                None,
                Some(CertMethod::Selection),
                Some(CertMethod::Scan)
            ]
        );
        let dates: Vec<_> = states.iter().map(SelectionState::certified_on).collect();
        assert_eq!(dates, [None, None, Some(on), Some(on)]);
        let batches: Vec<_> = states.iter().map(SelectionState::batch).collect();
        assert_eq!(batches, [None, None, Some(2), None]);
        assert_eq!(SelectionState::default(), SelectionState::Unselected);
    }

    #[test]
    fn selection_state_serde() {
        let p = tp("202611");
        let on = d(2026, 12, 3);
        let cases = [
            (SelectionState::Unselected, json!({"state": "unselected"})),
            (
                SelectionState::Selected { period: p },
                json!({"state": "selected", "period": "202611"}),
            ),
            (
                SelectionState::Confirmed {
                    period: p,
                    batch: 1,
                    on,
                },
                json!({"state": "confirmed", "period": "202611", "batch": 1, "on": "2026-12-03"}),
            ),
            (
                SelectionState::Scanned { period: p, on },
                json!({"state": "scanned", "period": "202611", "on": "2026-12-03"}),
            ),
        ];
        for (state, expected) in cases {
            assert_eq!(serde_json::to_value(state).unwrap(), expected);
            assert_eq!(
                serde_json::from_value::<SelectionState>(expected).unwrap(),
                state
            );
        }
        assert!(serde_json::from_value::<SelectionState>(
            json!({"state": "selected", "period": "202613"})
        )
        .is_err());
        assert!(serde_json::from_value::<SelectionState>(json!({"state": "unknown"})).is_err());
    }
}
