//! Taxpayer identification numbers (纳税人识别号).
//!
//! Two families are accepted:
//! * the 18-character unified social credit code (统一社会信用代码) of
//!   GB 32100-2015, fully checked (charset, division code, check character);
//! * legacy taxpayer IDs of 15, 17 or 20 characters of `[0-9A-Z]`, checked
//!   by format only (they carry no check character we can verify).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;

const FIELD: &str = "taxpayer_id";

/// The 31 characters of GB 32100-2015 (I, O, Z, S and V are not used).
const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Position weights 3^i mod 31 for the 17 body characters.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Value of a credit-code character (its index in [`CHARSET`]).
fn char_value(c: char) -> Option<u32> {
    let v = *VALUES.get(usize::try_from(u32::from(c)).ok()?)?;
    (v != NOT_IN_CHARSET).then_some(u32::from(v))
}

fn char_of_value(v: u32) -> Option<char> {
    CHARSET
        .as_bytes()
        .get(usize::try_from(v).ok()?)
        .map(|b| char::from(*b))
}

const NOT_IN_CHARSET: u8 = u8::MAX;

/// [`char_value`] by ASCII code ([`CHARSET`] is ASCII): every stored invoice's two IDs are
/// parsed when it is read, and a search through the charset cost a tenth of a 发票勾选 page.
const VALUES: [u8; 128] = {
    let mut t = [NOT_IN_CHARSET; 128];
    let b = CHARSET.as_bytes();
    let mut i = 0;
    while i < b.len() {
        t[b[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Computes the check character (18th character) of a unified social credit
/// code from its first 17 characters.
///
/// Returns `None` unless `first17` is exactly 17 characters of the GB 32100
/// charset (upper-case; no trimming is done here).
pub fn credit_code_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut count = 0usize;
    for (c, w) in first17.chars().zip(WEIGHTS.iter()) {
        sum += char_value(c)? * w;
        count += 1;
    }
    if count != 17 || first17.chars().count() != 17 {
        return None;
    }
    let check = 31 - sum % 31;
    char_of_value(if check == 31 { 0 } else { check })
}

/// Which family a [`TaxpayerId`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaxpayerIdKind {
    /// 18-character unified social credit code (统一社会信用代码).
    CreditCode,
    /// Legacy 15-character taxpayer ID.
    Legacy15,
    /// Legacy 17-character taxpayer ID.
    Legacy17,
    /// Legacy 20-character taxpayer ID.
    Legacy20,
}

/// A well-formed taxpayer identification number (纳税人识别号), stored
/// trimmed and with ASCII letters upper-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct TaxpayerId(String);

/// Written as its string, without the copy `#[serde(into = "String")]` would make (two IDs
/// on every row of a 发票勾选 page).
impl Serialize for TaxpayerId {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&self.0)
    }
}

fn normalize(input: &str) -> String {
    input.trim().to_ascii_uppercase()
}

/// Whether `s` is already what [`normalize`] makes of it: an ID read back from the store is,
/// and is then checked where it lies instead of copied.
fn is_normalized(s: &str) -> bool {
    s.trim().len() == s.len() && !s.bytes().any(|b| b.is_ascii_lowercase())
}

/// The checks of [`TaxpayerId::parse`] on an already normalized string.
fn check(s: &str) -> Result<(), DomainError> {
    let len = s.chars().count();
    if len == 0 {
        return Err(DomainError::new(FIELD, "纳税人识别号不能为空"));
    }
    match len {
        18 => {
            check_credit_body_chars(s)?;
            // Every character is in the (ASCII) charset now, so byte 17 is a boundary.
            let body = s.get(..17).unwrap_or_default();
            if s.chars().last() != credit_code_check_char(body) {
                return Err(DomainError::new(FIELD, "纳税人识别号校验位不正确"));
            }
            Ok(())
        }
        15 | 17 | 20 => {
            for (i, c) in s.chars().enumerate() {
                if !(c.is_ascii_digit() || c.is_ascii_uppercase()) {
                    return Err(DomainError::new(
                        FIELD,
                        format!(
                            "纳税人识别号第{}位字符“{}”不合法：只能包含数字和大写字母",
                            i + 1,
                            c
                        ),
                    ));
                }
            }
            Ok(())
        }
        n => Err(DomainError::new(
            FIELD,
            format!("纳税人识别号长度应为15、17、18或20位，实际为{n}位"),
        )),
    }
}

/// Checks that every character is in the credit-code charset and that the
/// division code (characters 3–8) is numeric.
fn check_credit_body_chars(s: &str) -> Result<(), DomainError> {
    for (i, c) in s.chars().enumerate() {
        if char_value(c).is_none() {
            return Err(DomainError::new(
                FIELD,
                format!(
                    "纳税人识别号第{}位字符“{}”不合法：统一社会信用代码只能包含数字和除I、O、Z、S、V以外的大写字母",
                    i + 1,
                    c
                ),
            ));
        }
    }
    if !s.chars().skip(2).take(6).all(|c| c.is_ascii_digit()) {
        return Err(DomainError::new(
            FIELD,
            "纳税人识别号第3至8位（登记管理机关行政区划码）应为数字",
        ));
    }
    Ok(())
}

impl TaxpayerId {
    /// Parses a taxpayer ID; see the module docs for the accepted forms.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = normalize(input);
        check(&s)?;
        Ok(Self(s))
    }

    /// Builds a credit code from its first 17 characters by appending the
    /// computed check character. Trims and upper-cases like [`Self::parse`].
    pub fn from_credit_code_body(first17: &str) -> Result<Self, DomainError> {
        let body = normalize(first17);
        let len = body.chars().count();
        if len != 17 {
            return Err(DomainError::new(
                FIELD,
                format!("统一社会信用代码主体（不含校验位）应为17位，实际为{len}位"),
            ));
        }
        check_credit_body_chars(&body)?;
        let check = credit_code_check_char(&body)
            .ok_or_else(|| DomainError::new(FIELD, "纳税人识别号格式不正确"))?;
        let mut full = body;
        full.push(check);
        Self::parse(&full)
    }

    /// An ID read back from the store, which holds only IDs [`Self::parse`] accepted: the
    /// shape is checked (normalized, one of the four lengths, digits and capitals), the
    /// string is kept without a copy, and the check character is not recomputed — a page of
    /// 50 invoices carries 100 IDs, and recomputing them was 4 % of serving it.
    pub fn from_stored(s: String) -> Option<Self> {
        let shaped = matches!(s.len(), 15 | 17 | 18 | 20)
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        shaped.then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> TaxpayerIdKind {
        // The stored string is all ASCII, so the byte length is the char count.
        match self.0.len() {
            18 => TaxpayerIdKind::CreditCode,
            15 => TaxpayerIdKind::Legacy15,
            17 => TaxpayerIdKind::Legacy17,
            _ => TaxpayerIdKind::Legacy20,
        }
    }
}

impl fmt::Display for TaxpayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TaxpayerId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TaxpayerId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if !is_normalized(&s) {
            return Self::parse(&s);
        }
        check(&s)?;
        Ok(Self(s))
    }
}

impl From<TaxpayerId> for String {
    fn from(id: TaxpayerId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn character_values_are_positions_in_the_charset() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let want = CHARSET.chars().position(|x| x == c).map(|p| p as u32);
            assert_eq!(char_value(c), want, "{c:?}");
        }
        for v in 0..40 {
            assert_eq!(char_of_value(v), CHARSET.chars().nth(v as usize));
        }
    }
    use super::*;
    use proptest::prelude::*;

    /// Real-world credit codes whose check characters verify under GB 32100.
    const REAL: [&str; 5] = [
        "91350100M000100Y43",
        "911100007109288314",
        "914403001922038216",
        "9144030071526726XG",
        "91330100716105852F",
    ];

    fn err(input: &str) -> DomainError {
        TaxpayerId::parse(input).unwrap_err()
    }

    #[test]
    fn charset_and_weights_are_consistent() {
        assert_eq!(CHARSET.chars().count(), 31);
        for c in ['I', 'O', 'Z', 'S', 'V'] {
            assert!(!CHARSET.contains(c));
        }
        let mut w = 1u32;
        for weight in WEIGHTS {
            assert_eq!(weight, w);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn real_world_credit_codes_parse() {
        for code in REAL {
            let id = TaxpayerId::parse(code).unwrap();
            assert_eq!(id.as_str(), code);
            assert_eq!(id.kind(), TaxpayerIdKind::CreditCode);
            assert_eq!(
                credit_code_check_char(&code[..17]),
                code.chars().last(),
                "{code}"
            );
        }
    }

    #[test]
    fn trims_and_uppercases() {
        let id = TaxpayerId::parse("  9144030071526726xg \n").unwrap();
        assert_eq!(id.as_str(), "9144030071526726XG");
        let id = TaxpayerId::parse("91350100m000100y43").unwrap();
        assert_eq!(id.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn check_value_31_maps_to_zero() {
        // Find a body whose raw check value is 31 (sum ≡ 0 mod 31): all zeros.
        assert_eq!(credit_code_check_char("00000000000000000"), Some('0'));
        let id = TaxpayerId::parse("000000000000000000").unwrap();
        assert_eq!(id.kind(), TaxpayerIdKind::CreditCode);
    }

    #[test]
    fn from_credit_code_body_appends_check_char() {
        let id = TaxpayerId::from_credit_code_body("91350100M000100Y4").unwrap();
        assert_eq!(id.as_str(), "91350100M000100Y43");
        let id = TaxpayerId::from_credit_code_body(" 9144030071526726x ").unwrap();
        assert_eq!(id.as_str(), "9144030071526726XG");
        assert_eq!(
            TaxpayerId::from_credit_code_body("9135010")
                .unwrap_err()
                .field,
            "taxpayer_id"
        );
        assert!(TaxpayerId::from_credit_code_body("91350100I000100Y4")
            .unwrap_err()
            .message
            .contains("第9位"));
        assert!(TaxpayerId::from_credit_code_body("91A50100M000100Y4")
            .unwrap_err()
            .message
            .contains("第3至8位"));
    }

    #[test]
    fn check_char_fn_rejects_bad_input() {
        assert_eq!(credit_code_check_char(""), None);
        assert_eq!(credit_code_check_char("91350100M000100Y"), None);
        assert_eq!(credit_code_check_char("91350100M000100Y43"), None);
        assert_eq!(credit_code_check_char("91350100I000100Y4"), None);
        assert_eq!(credit_code_check_char("91350100m000100Y4"), None);
        assert_eq!(credit_code_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn empty_is_rejected() {
        for s in ["", "   ", "\t\n"] {
            let e = err(s);
            assert_eq!(e.field, "taxpayer_id");
            assert_eq!(e.message, "纳税人识别号不能为空");
        }
    }

    #[test]
    fn wrong_length_is_rejected() {
        for s in [
            "1",
            "12345678901234",
            "1234567890123456",
            "1234567890123456789",
            "123456789012345678901",
        ] {
            let e = err(s);
            assert_eq!(e.field, "taxpayer_id");
            assert!(e.message.contains("长度"), "{s}: {}", e.message);
        }
        assert!(err("9135").message.contains("实际为4位"));
    }

    #[test]
    fn illegal_character_names_position() {
        let e = err("91350100M000100I43");
        assert!(e.message.contains("第16位"), "{}", e.message);
        assert!(e.message.contains('I'));
        let e = err("O1350100M000100Y43");
        assert!(e.message.contains("第1位"), "{}", e.message);
        let e = err("9135010０M000100Y43"); // full-width zero
        assert!(e.message.contains("第8位"), "{}", e.message);
        // Legacy IDs: letters I/O/Z/S/V are fine, punctuation is not.
        let e = err("44030019220382-");
        assert!(e.message.contains("第15位"), "{}", e.message);
        assert!(e.message.contains("只能包含数字和大写字母"));
    }

    #[test]
    fn region_part_must_be_digits() {
        let e = err("91A50100M000100Y43");
        assert_eq!(
            e.message,
            "纳税人识别号第3至8位（登记管理机关行政区划码）应为数字"
        );
        let e = err("9135010AM000100Y43");
        assert!(e.message.contains("第3至8位"));
    }

    #[test]
    fn wrong_check_char_is_rejected() {
        let e = err("91350100M000100Y44");
        assert_eq!(e.field, "taxpayer_id");
        assert_eq!(e.message, "纳税人识别号校验位不正确");
        // Two known-invalid codes (typos of real ones).
        assert!(err("91310000607302926F").message.contains("校验位"));
        assert!(err("911100001000013428").message.contains("校验位"));
    }

    #[test]
    fn legacy_ids_by_format() {
        let id = TaxpayerId::parse("440301192203821").unwrap();
        assert_eq!(id.kind(), TaxpayerIdKind::Legacy15);
        let id = TaxpayerId::parse("44030119220382ISZ").unwrap();
        assert_eq!(id.kind(), TaxpayerIdKind::Legacy17);
        let id = TaxpayerId::parse("44030119220382100001").unwrap();
        assert_eq!(id.kind(), TaxpayerIdKind::Legacy20);
        let id = TaxpayerId::parse("44030119220382o").unwrap();
        assert_eq!(id.as_str(), "44030119220382O");
    }

    #[test]
    fn display_fromstr_serde() {
        let id: TaxpayerId = "91350100M000100Y43".parse().unwrap();
        assert_eq!(id.to_string(), "91350100M000100Y43");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"91350100M000100Y43\""
        );
        let back: TaxpayerId = serde_json::from_str("\"91350100m000100y43\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<TaxpayerId>("\"91350100M000100Y44\"").is_err());
        assert_eq!(String::from(id), "91350100M000100Y43");
    }

    fn charset() -> Vec<char> {
        CHARSET.chars().collect()
    }

    prop_compose! {
        fn credit_body()(
            first in prop::sample::select(charset()),
            second in prop::sample::select(charset()),
            region in "[0-9]{6}",
            rest in prop::collection::vec(prop::sample::select(charset()), 9),
        ) -> String {
            let mut s = String::new();
            s.push(first);
            s.push(second);
            s.push_str(&region);
            s.extend(rest);
            s
        }
    }

    proptest! {
        #[test]
        fn generated_credit_codes_parse(body in credit_body()) {
            let check = credit_code_check_char(&body).unwrap();
            let full = format!("{body}{check}");
            let id = TaxpayerId::parse(&full).unwrap();
            prop_assert_eq!(id.as_str(), full.as_str());
            prop_assert_eq!(id.kind(), TaxpayerIdKind::CreditCode);
            prop_assert_eq!(TaxpayerId::from_credit_code_body(&body).unwrap(), id);
        }

        /// Reading back from the store (`TryFrom<String>`, which skips the copy when the
        /// string is already normalized) accepts and refuses exactly what `parse` does.
        #[test]
        fn reading_a_string_agrees_with_parse(
            body in credit_body(),
            pos in 0usize..20,
            c in prop::sample::select(vec!['a', 'y', 'Y', 'I', '0', ' ', '\t', '中', '-']),
            pad in prop::sample::select(vec!["", " ", "\t", "\u{3000}"]),
            cut in 0usize..20,
            case in any::<bool>(),
        ) {
            let check = credit_code_check_char(&body).unwrap();
            let mut chars: Vec<char> = format!("{body}{check}").chars().collect();
            if pos < chars.len() {
                chars[pos] = c;
            }
            chars.truncate(cut.max(15));
            let mut s: String = chars.into_iter().collect();
            if case {
                s = s.to_ascii_lowercase();
            }
            let s = format!("{pad}{s}{pad}");
            prop_assert_eq!(TaxpayerId::try_from(s.clone()), TaxpayerId::parse(&s), "{:?}", s);
            // What the store holds (a parsed ID's string) reads back as the same ID; what is
            // not normalized or not of a taxpayer ID's shape never does.
            if let Ok(id) = TaxpayerId::parse(&s) {
                prop_assert_eq!(TaxpayerId::from_stored(id.as_str().to_owned()), Some(id));
            }
            let shaped = matches!(s.len(), 15 | 17 | 18 | 20)
                && s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
            prop_assert_eq!(TaxpayerId::from_stored(s.clone()).is_some(), shaped, "{:?}", s);
        }

        #[test]
        fn single_substitutions_are_rejected(body in credit_body()) {
            let check = credit_code_check_char(&body).unwrap();
            let full: Vec<char> = format!("{body}{check}").chars().collect();
            // Outside the charset; lower-case letters other than those of
            // I/O/Z/S/V would be upper-cased into valid characters, and
            // whitespace at either end would be trimmed, so neither is used.
            let outside = ['I', 'O', 'Z', 'S', 'V', 'i', 'o', 'z', '-', '#', '０', '中'];
            for pos in 0..18 {
                for c in CHARSET.chars().chain(outside) {
                    if c == full[pos] {
                        continue;
                    }
                    let mut altered = full.clone();
                    altered[pos] = c;
                    let s: String = altered.into_iter().collect();
                    prop_assert!(TaxpayerId::parse(&s).is_err(), "accepted {}", s);
                }
            }
        }
    }
}
