//! Province-level tax regions: the 36 provincial-level tax bureaus (31
//! provinces, autonomous regions and municipalities, plus the 5
//! separately-planned cities 计划单列市).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::taxpayer_id::{TaxpayerId, TaxpayerIdKind};
use crate::domain::error::DomainError;

const FIELD: &str = "region";

/// (administrative division code, full name, short name), sorted by code.
const REGIONS: [(&str, &str, &str); 36] = [
    ("110000", "北京市", "北京"),
    ("120000", "天津市", "天津"),
    ("130000", "河北省", "河北"),
    ("140000", "山西省", "山西"),
    ("150000", "内蒙古自治区", "内蒙古"),
    ("210000", "辽宁省", "辽宁"),
    ("210200", "大连市", "大连"),
    ("220000", "吉林省", "吉林"),
    ("230000", "黑龙江省", "黑龙江"),
    ("310000", "上海市", "上海"),
    ("320000", "江苏省", "江苏"),
    ("330000", "浙江省", "浙江"),
    ("330200", "宁波市", "宁波"),
    ("340000", "安徽省", "安徽"),
    ("350000", "福建省", "福建"),
    ("350200", "厦门市", "厦门"),
    ("360000", "江西省", "江西"),
    ("370000", "山东省", "山东"),
    ("370200", "青岛市", "青岛"),
    ("410000", "河南省", "河南"),
    ("420000", "湖北省", "湖北"),
    ("430000", "湖南省", "湖南"),
    ("440000", "广东省", "广东"),
    ("440300", "深圳市", "深圳"),
    ("450000", "广西壮族自治区", "广西"),
    ("460000", "海南省", "海南"),
    ("500000", "重庆市", "重庆"),
    ("510000", "四川省", "四川"),
    ("520000", "贵州省", "贵州"),
    ("530000", "云南省", "云南"),
    ("540000", "西藏自治区", "西藏"),
    ("610000", "陕西省", "陕西"),
    ("620000", "甘肃省", "甘肃"),
    ("630000", "青海省", "青海"),
    ("640000", "宁夏回族自治区", "宁夏"),
    ("650000", "新疆维吾尔自治区", "新疆"),
];

/// Separately-planned cities: 4-digit prefix of the division code → code.
const PLANNED_CITIES: [(&str, &str); 5] = [
    ("2102", "210200"),
    ("3302", "330200"),
    ("3502", "350200"),
    ("3702", "370200"),
    ("4403", "440300"),
];

/// A provincial-level tax region. Ordered by division code; serialized as
/// the 6-digit code string.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(u8); // index into REGIONS (sorted by code, so Ord follows code)

impl Region {
    fn entry(self) -> (&'static str, &'static str, &'static str) {
        // The index is only ever produced from REGIONS itself.
        REGIONS
            .get(usize::from(self.0))
            .copied()
            .unwrap_or(("", "", ""))
    }

    fn from_index(i: usize) -> Option<Self> {
        if i < REGIONS.len() {
            u8::try_from(i).ok().map(Region)
        } else {
            None
        }
    }

    fn by_code(code: &str) -> Option<Self> {
        REGIONS
            .iter()
            .position(|(c, _, _)| *c == code)
            .and_then(Self::from_index)
    }

    /// Accepts the 6-digit division code (`"440000"`), the full Chinese
    /// name (`"广东省"`) or the short name (`"广东"`); whitespace trimmed.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new(FIELD, "地区不能为空"));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            if s.len() != 6 {
                return Err(DomainError::new(FIELD, "地区代码应为6位数字"));
            }
            return Self::by_code(s).ok_or_else(|| {
                DomainError::new(FIELD, format!("地区代码“{s}”不是省级税务机关代码"))
            });
        }
        REGIONS
            .iter()
            .position(|(_, full, short)| *full == s || *short == s)
            .and_then(Self::from_index)
            .ok_or_else(|| DomainError::new(FIELD, format!("无法识别的地区“{s}”")))
    }

    /// The 6-digit division code, e.g. `"440300"`.
    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// The full Chinese name, e.g. `"深圳市"`.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// All 36 regions in code order.
    pub fn all() -> impl Iterator<Item = Region> {
        (0..REGIONS.len()).filter_map(Self::from_index)
    }

    /// The tax region of a unified social credit code, from its division
    /// code (characters 3–8): a separately-planned city if the first four
    /// digits match one, else the province. `None` for legacy IDs and for
    /// unknown province prefixes.
    pub fn of_taxpayer_id(id: &TaxpayerId) -> Option<Region> {
        if id.kind() != TaxpayerIdKind::CreditCode {
            return None;
        }
        let division = id.as_str().get(2..8)?;
        let prefix4 = division.get(..4)?;
        if let Some((_, code)) = PLANNED_CITIES.iter().find(|(p, _)| *p == prefix4) {
            return Self::by_code(code);
        }
        let province = format!("{}0000", division.get(..2)?);
        Self::by_code(&province)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Region {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Region {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Region> for String {
    fn from(r: Region) -> Self {
        r.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Region {
        Region::parse(s).unwrap()
    }

    #[test]
    fn table_is_well_formed() {
        assert_eq!(Region::all().count(), 36);
        let codes: Vec<&str> = Region::all().map(Region::code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted, "sorted and unique");
        let provinces = codes.iter().filter(|c| c.ends_with("0000")).count();
        assert_eq!(provinces, 31);
        for (_, city) in PLANNED_CITIES {
            assert!(codes.contains(&city));
        }
        for region in Region::all() {
            assert_eq!(region.code().len(), 6);
            assert_eq!(r(region.code()), region);
            assert_eq!(r(region.name()), region);
        }
    }

    #[test]
    fn parses_codes_and_names() {
        assert_eq!(r("110000").name(), "北京市");
        assert_eq!(r("440000").name(), "广东省");
        assert_eq!(r(" 440300 ").name(), "深圳市");
        assert_eq!(r("广东省").code(), "440000");
        assert_eq!(r("广东").code(), "440000");
        assert_eq!(r("宁波市").code(), "330200");
        assert_eq!(r("新疆维吾尔自治区").code(), "650000");
        assert_eq!("厦门".parse::<Region>().unwrap().code(), "350200");
    }

    #[test]
    fn parse_errors() {
        let e = Region::parse("").unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("region", "地区不能为空"));
        assert_eq!(
            Region::parse("4400").unwrap_err().message,
            "地区代码应为6位数字"
        );
        assert!(Region::parse("440100")
            .unwrap_err()
            .message
            .contains("不是省级"));
        assert!(Region::parse("990000")
            .unwrap_err()
            .message
            .contains("不是省级"));
        assert!(Region::parse("广州市")
            .unwrap_err()
            .message
            .contains("无法识别"));
        assert!(Region::parse("台湾省")
            .unwrap_err()
            .message
            .contains("无法识别"));
    }

    #[test]
    fn ordering_and_display() {
        assert!(r("110000") < r("440000"));
        assert!(r("440000") < r("440300"));
        assert_eq!(r("440300").to_string(), "440300");
    }

    #[test]
    fn serde_as_code() {
        assert_eq!(serde_json::to_string(&r("深圳")).unwrap(), "\"440300\"");
        let back: Region = serde_json::from_str("\"330200\"").unwrap();
        assert_eq!(back.name(), "宁波市");
        assert!(serde_json::from_str::<Region>("\"330100\"").is_err());
    }

    #[test]
    fn of_taxpayer_id() {
        let region = |s: &str| Region::of_taxpayer_id(&TaxpayerId::parse(s).unwrap());
        // Fuzhou (350100) → Fujian, not Xiamen.
        assert_eq!(region("91350100M000100Y43"), Some(r("350000")));
        assert_eq!(region("911100007109288314"), Some(r("110000")));
        assert_eq!(region("914403001922038216"), Some(r("440300")));
        assert_eq!(region("91330100716105852F"), Some(r("330000")));
        let built =
            |body: &str| Region::of_taxpayer_id(&TaxpayerId::from_credit_code_body(body).unwrap());
        assert_eq!(built("91210204MA0000000"), Some(r("210200")));
        assert_eq!(built("91330206MA0000000"), Some(r("330200")));
        assert_eq!(built("91350203MA0000000"), Some(r("350200")));
        assert_eq!(built("91370212MA0000000"), Some(r("370200")));
        assert_eq!(built("91440101MA0000000"), Some(r("440000")));
        assert_eq!(built("91650100MA0000000"), Some(r("650000")));
        assert_eq!(built("91990000MA0000000"), None);
        assert_eq!(built("91710000MA0000000"), None);
        assert_eq!(region("440301192203821"), None); // legacy
    }
}
