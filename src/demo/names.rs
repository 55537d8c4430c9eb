//! Deterministic, realistic-looking Chinese company and person names for
//! demo / training data.
//!
//! The word lists live as plain UTF-8 text files in `fixtures/names/` (one
//! entry per line, fields separated by a tab or other whitespace, full-line
//! `#` comments and blank lines ignored) and are embedded at compile time.
//! All generation goes through a caller-supplied [`rand::Rng`], so the same
//! seed always yields the same output.

use std::collections::HashSet;

use rand::Rng;

const CITIES_FILE: &str = "cities.txt";
const ROOTS_FILE: &str = "roots.txt";
const INDUSTRIES_FILE: &str = "industries.txt";
const SUFFIXES_FILE: &str = "suffixes.txt";
const SURNAMES_FILE: &str = "surnames.txt";
const GIVEN_FILE: &str = "given.txt";

/// VAT rates (in permille) an industry line may carry: 13%, 9%, 6% and the
/// 3% small-scale taxpayer levy rate.
pub const ALLOWED_RATES_PERMILLE: [u32; 4] = [130, 90, 60, 30];

/// Share of company names written in the "root（city）industry" style.
const PAREN_STYLE_PROBABILITY: f64 = 0.1;

/// How many fresh draws [`NameBook::unique_companies`] makes on a name
/// collision before falling back to a branch-office name.
const MAX_REDRAWS: usize = 16;

/// Mobile number prefixes (13x, 15x, 17x, 18x, 19x segments in real use).
const MOBILE_PREFIXES: [&str; 37] = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", // 13x
    "150", "151", "152", "153", "155", "156", "157", "158", "159", // 15x
    "173", "175", "176", "177", "178", // 17x
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", // 18x
    "191", "198", "199", // 19x
];

/// The embedded list files, in one place so tests can parse other text.
struct Sources<'a> {
    cities: &'a str,
    roots: &'a str,
    industries: &'a str,
    suffixes: &'a str,
    surnames: &'a str,
    given: &'a str,
}

const EMBEDDED: Sources<'static> = Sources {
    cities: include_str!("../../fixtures/names/cities.txt"),
    roots: include_str!("../../fixtures/names/roots.txt"),
    industries: include_str!("../../fixtures/names/industries.txt"),
    suffixes: include_str!("../../fixtures/names/suffixes.txt"),
    surnames: include_str!("../../fixtures/names/surnames.txt"),
    given: include_str!("../../fixtures/names/given.txt"),
};

/// Error raised when an embedded word list is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// A line could not be parsed or failed validation.
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: &'static str,
        line: usize,
        reason: String,
    },
    /// The same entry appears twice in one list.
    #[error("{file}:{line}: duplicate entry `{entry}`")]
    Duplicate {
        file: &'static str,
        line: usize,
        entry: String,
    },
    /// A list has no entries at all.
    #[error("{file}: list has no entries")]
    Empty { file: &'static str },
}

/// A city as it appears in company names, with its administrative code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    pub name: String,
    /// 6-digit administrative division code (GB/T 2260).
    pub code: String,
}

/// An industry word with its typical VAT rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Industry {
    pub name: String,
    pub rate_permille: u32,
}

/// A word with a relative weight (suffixes, surnames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedWord {
    pub word: String,
    pub weight: u32,
}

/// A generated company.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Company {
    pub name: String,
    pub city: String,
    /// 6 digits.
    pub city_code: String,
    /// Typical VAT rate of the company's industry, in permille.
    pub rate_permille: u32,
}

/// The parsed word lists. Every list is guaranteed non-empty.
#[derive(Debug, Clone)]
pub struct NameBook {
    cities: Vec<City>,
    roots: Vec<String>,
    industries: Vec<Industry>,
    suffixes: Vec<WeightedWord>,
    surnames: Vec<WeightedWord>,
    surname_weights: Vec<u32>,
    given: Vec<String>,
}

impl NameBook {
    /// Parses the embedded word lists.
    pub fn load() -> Result<NameBook, NameError> {
        Self::parse(&EMBEDDED)
    }

    fn parse(src: &Sources<'_>) -> Result<NameBook, NameError> {
        let surnames = parse_weighted(SURNAMES_FILE, src.surnames, |w| {
            (1..=2).contains(&w.chars().count())
        })?;
        let surname_weights = surnames.iter().map(|s| s.weight).collect();
        Ok(NameBook {
            cities: parse_cities(src.cities)?,
            roots: parse_words(ROOTS_FILE, src.roots, 2)?,
            industries: parse_industries(src.industries)?,
            suffixes: parse_weighted(SUFFIXES_FILE, src.suffixes, |w| w.ends_with("公司"))?,
            surnames,
            surname_weights,
            given: parse_words(GIVEN_FILE, src.given, 1)?,
        })
    }

    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    pub fn industries(&self) -> &[Industry] {
        &self.industries
    }

    pub fn suffixes(&self) -> &[WeightedWord] {
        &self.suffixes
    }

    pub fn surnames(&self) -> &[WeightedWord] {
        &self.surnames
    }

    pub fn given(&self) -> &[String] {
        &self.given
    }

    /// A random company, e.g. `深圳鑫达电子科技有限公司`; about 10% of the
    /// names put the city in parentheses after the root, e.g.
    /// `鑫达（深圳）电子科技有限公司`.
    pub fn company<R: Rng + ?Sized>(&self, rng: &mut R) -> Company {
        let city = pick(rng, &self.cities);
        let root = pick(rng, &self.roots);
        let industry = pick(rng, &self.industries);
        let suffix = self.suffix_for(rng, industry);
        let name = if rng.gen_bool(PAREN_STYLE_PROBABILITY) {
            format!("{root}（{}）{}{suffix}", city.name, industry.name)
        } else {
            format!("{}{root}{}{suffix}", city.name, industry.name)
        };
        Company {
            name,
            city: city.name.clone(),
            city_code: city.code.clone(),
            rate_permille: industry.rate_permille,
        }
    }

    /// Picks a suffix that reads naturally after `industry`: no `贸易` suffix
    /// after a trade word or a non-goods industry, and no group / joint-stock
    /// form for small-scale (3%) businesses.
    fn suffix_for<'a, R: Rng + ?Sized>(&'a self, rng: &mut R, industry: &Industry) -> &'a str {
        let weights: Vec<u32> = self
            .suffixes
            .iter()
            .map(|s| {
                let trade_clash = s.word.contains('贸')
                    && (industry.name.contains('贸') || industry.rate_permille != 130);
                let too_big = industry.rate_permille == 30
                    && (s.word.contains("集团") || s.word.contains("股份"));
                if trade_clash || too_big {
                    0
                } else {
                    s.weight
                }
            })
            .collect();
        match weighted_index(rng, &weights).and_then(|i| self.suffixes.get(i)) {
            Some(s) => &s.word,
            None => "有限公司",
        }
    }

    /// A random person name of 2–3 characters, surnames drawn by frequency.
    pub fn person<R: Rng + ?Sized>(&self, rng: &mut R) -> String {
        let surname = weighted_index(rng, &self.surname_weights)
            .and_then(|i| self.surnames.get(i))
            .map_or("王", |s| s.word.as_str());
        let given_len = if surname.chars().count() >= 2 || rng.gen_bool(0.3) {
            1
        } else {
            2
        };
        let mut name = String::from(surname);
        for _ in 0..given_len {
            let given: &String = pick(rng, &self.given);
            name.push_str(given);
        }
        name
    }

    /// A plausible 11-digit mainland mobile number.
    pub fn phone<R: Rng + ?Sized>(&self, rng: &mut R) -> String {
        let prefix = pick(rng, &MOBILE_PREFIXES);
        format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32))
    }

    /// `n` companies with pairwise distinct names. On a collision a few fresh
    /// names are drawn; if those collide too, the name becomes a branch office
    /// (`…有限公司第二分公司`, `第三分公司`, …), so this always terminates.
    pub fn unique_companies<R: Rng + ?Sized>(&self, rng: &mut R, n: usize) -> Vec<Company> {
        let mut seen: HashSet<String> = HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let mut company = self.company(rng);
            let mut draws = 1;
            while seen.contains(&company.name) && draws < MAX_REDRAWS {
                company = self.company(rng);
                draws += 1;
            }
            if seen.contains(&company.name) {
                // Each branch number yields a different name and `seen` is
                // finite, so this loop ends.
                for k in 2u64.. {
                    let candidate = format!("{}第{}分公司", company.name, chinese_numeral(k));
                    if !seen.contains(&candidate) {
                        company.name = candidate;
                        break;
                    }
                }
            }
            seen.insert(company.name.clone());
            out.push(company);
        }
        out
    }
}

/// Uniform pick from a slice that is known to be non-empty.
fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    // `NameBook` lists and `MOBILE_PREFIXES` are never empty.
    &items[rng.gen_range(0..items.len())]
}

/// Index drawn proportionally to `weights`; `None` if all weights are zero.
fn weighted_index<R: Rng + ?Sized>(rng: &mut R, weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut ticket = rng.gen_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if ticket < w {
            return Some(i);
        }
        ticket -= w;
    }
    None
}

/// Chinese numeral for `n`, e.g. 2 → 二, 11 → 十一, 105 → 一百零五.
/// Distinct numbers give distinct strings.
fn chinese_numeral(n: u64) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    const PLACES: [&str; 4] = ["千", "百", "十", ""];
    const GROUPS: [&str; 5] = ["亿亿", "万亿", "亿", "万", ""];
    if n == 0 {
        return String::from("零");
    }
    let mut out = String::new();
    let mut zero_pending = false;
    for (g, group_unit) in GROUPS.iter().enumerate() {
        let exp = 4 * (GROUPS.len() - 1 - g) as u32;
        let group = (n / 10u64.pow(exp)) % 10_000;
        if group == 0 {
            zero_pending |= !out.is_empty();
            continue;
        }
        for (p, place) in PLACES.iter().enumerate() {
            let digit = (group / 10u64.pow(3 - p as u32)) % 10;
            if digit == 0 {
                zero_pending |= !out.is_empty();
                continue;
            }
            if zero_pending {
                out.push('零');
                zero_pending = false;
            }
            out.push(DIGITS[digit as usize]);
            out.push_str(place);
        }
        out.push_str(group_unit);
    }
    if (10..20).contains(&n) {
        out.remove(0); // 一十一 → 十一
    }
    out
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

fn malformed(file: &'static str, line: usize, reason: impl Into<String>) -> NameError {
    NameError::Malformed {
        file,
        line,
        reason: reason.into(),
    }
}

/// Non-comment, non-blank lines as (1-based line number, fields).
fn entries(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            None
        } else {
            Some((i + 1, line.split_whitespace().collect()))
        }
    })
}

fn check_fields(
    file: &'static str,
    line: usize,
    fields: &[&str],
    allowed: std::ops::RangeInclusive<usize>,
) -> Result<(), NameError> {
    if allowed.contains(&fields.len()) {
        Ok(())
    } else {
        Err(malformed(
            file,
            line,
            format!(
                "expected {} to {} field(s), found {}",
                allowed.start(),
                allowed.end(),
                fields.len()
            ),
        ))
    }
}

fn check_cjk(file: &'static str, line: usize, word: &str) -> Result<(), NameError> {
    if !word.is_empty() && word.chars().all(is_cjk) {
        Ok(())
    } else {
        Err(malformed(
            file,
            line,
            format!("`{word}` must consist of CJK characters only"),
        ))
    }
}

fn check_unique(
    file: &'static str,
    line: usize,
    seen: &mut HashSet<String>,
    word: &str,
) -> Result<(), NameError> {
    if seen.insert(word.to_owned()) {
        Ok(())
    } else {
        Err(NameError::Duplicate {
            file,
            line,
            entry: word.to_owned(),
        })
    }
}

fn non_empty<T>(file: &'static str, items: Vec<T>) -> Result<Vec<T>, NameError> {
    if items.is_empty() {
        Err(NameError::Empty { file })
    } else {
        Ok(items)
    }
}

fn parse_cities(text: &str) -> Result<Vec<City>, NameError> {
    let file = CITIES_FILE;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, fields) in entries(text) {
        check_fields(file, line, &fields, 2..=2)?;
        let (name, code) = (fields[0], fields[1]);
        check_cjk(file, line, name)?;
        let valid_code =
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0');
        if !valid_code {
            return Err(malformed(
                file,
                line,
                format!("`{code}` is not a 6-digit division code"),
            ));
        }
        check_unique(file, line, &mut seen, name)?;
        out.push(City {
            name: name.to_owned(),
            code: code.to_owned(),
        });
    }
    non_empty(file, out)
}

/// A list of single words of exactly `chars` CJK characters.
fn parse_words(file: &'static str, text: &str, chars: usize) -> Result<Vec<String>, NameError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, fields) in entries(text) {
        check_fields(file, line, &fields, 1..=1)?;
        let word = fields[0];
        check_cjk(file, line, word)?;
        if word.chars().count() != chars {
            return Err(malformed(
                file,
                line,
                format!("`{word}` must have exactly {chars} character(s)"),
            ));
        }
        check_unique(file, line, &mut seen, word)?;
        out.push(word.to_owned());
    }
    non_empty(file, out)
}

fn parse_industries(text: &str) -> Result<Vec<Industry>, NameError> {
    let file = INDUSTRIES_FILE;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, fields) in entries(text) {
        check_fields(file, line, &fields, 2..=2)?;
        let (name, rate) = (fields[0], fields[1]);
        check_cjk(file, line, name)?;
        let rate_permille = rate
            .parse::<u32>()
            .ok()
            .filter(|r| ALLOWED_RATES_PERMILLE.contains(r))
            .ok_or_else(|| {
                malformed(
                    file,
                    line,
                    format!("`{rate}` is not a VAT rate in permille (130, 90, 60 or 30)"),
                )
            })?;
        check_unique(file, line, &mut seen, name)?;
        out.push(Industry {
            name: name.to_owned(),
            rate_permille,
        });
    }
    non_empty(file, out)
}

/// `word<TAB>weight` lines (weight optional, default 1, must be positive);
/// `valid` is an extra shape check on the word.
fn parse_weighted(
    file: &'static str,
    text: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Vec<WeightedWord>, NameError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, fields) in entries(text) {
        check_fields(file, line, &fields, 1..=2)?;
        let word = fields[0];
        check_cjk(file, line, word)?;
        if !valid(word) {
            return Err(malformed(
                file,
                line,
                format!("`{word}` is not a valid entry here"),
            ));
        }
        let weight =
            match fields.get(1) {
                None => 1,
                Some(w) => w.parse::<u32>().ok().filter(|&w| w > 0).ok_or_else(|| {
                    malformed(file, line, format!("`{w}` is not a positive weight"))
                })?,
            };
        check_unique(file, line, &mut seen, word)?;
        out.push(WeightedWord {
            word: word.to_owned(),
            weight,
        });
    }
    non_empty(file, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn book() -> NameBook {
        NameBook::load().unwrap()
    }

    fn is_name_char(c: char) -> bool {
        is_cjk(c) || c == '（' || c == '）'
    }

    #[test]
    fn lists_load_with_minimum_sizes() {
        let b = book();
        assert!(b.cities().len() >= 120, "cities: {}", b.cities().len());
        assert!(b.roots().len() >= 300, "roots: {}", b.roots().len());
        assert!(
            b.industries().len() >= 80,
            "industries: {}",
            b.industries().len()
        );
        assert!(b.suffixes().len() >= 5, "suffixes: {}", b.suffixes().len());
        assert!(
            b.surnames().len() >= 100,
            "surnames: {}",
            b.surnames().len()
        );
        assert!(b.given().len() >= 200, "given: {}", b.given().len());
    }

    #[test]
    fn city_codes_are_six_digits_and_cover_many_provinces() {
        let b = book();
        for c in b.cities() {
            assert_eq!(c.code.len(), 6, "{c:?}");
            assert!(c.code.bytes().all(|d| d.is_ascii_digit()), "{c:?}");
        }
        let code = |name: &str| {
            b.cities()
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.code.clone())
        };
        assert_eq!(code("深圳").as_deref(), Some("440300"));
        assert_eq!(code("广州").as_deref(), Some("440100"));
        assert_eq!(code("杭州").as_deref(), Some("330100"));
        let provinces: HashSet<&str> = b.cities().iter().map(|c| &c.code[..2]).collect();
        assert!(provinces.len() >= 25, "provinces: {}", provinces.len());
    }

    #[test]
    fn rates_are_allowed_and_all_used() {
        let b = book();
        for i in b.industries() {
            assert!(ALLOWED_RATES_PERMILLE.contains(&i.rate_permille), "{i:?}");
        }
        for rate in ALLOWED_RATES_PERMILLE {
            assert!(b.industries().iter().any(|i| i.rate_permille == rate));
        }
    }

    #[test]
    fn same_seed_same_output() {
        let b = book();
        let run = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let companies: Vec<Company> = (0..50).map(|_| b.company(&mut rng)).collect();
            let people: Vec<String> = (0..50).map(|_| b.person(&mut rng)).collect();
            let phones: Vec<String> = (0..50).map(|_| b.phone(&mut rng)).collect();
            let unique = b.unique_companies(&mut rng, 100);
            (companies, people, phones, unique)
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn unique_companies_are_distinct() {
        let b = book();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let companies = b.unique_companies(&mut rng, 3000);
        assert_eq!(companies.len(), 3000);
        let names: HashSet<&str> = companies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 3000);
    }

    #[test]
    fn unique_companies_falls_back_to_branch_names() {
        let src = Sources {
            cities: "深圳\t440300\n",
            roots: "鑫达\n",
            industries: "电子科技\t130\n",
            suffixes: "有限公司\n",
            surnames: "王\n",
            given: "伟\n",
        };
        let b = NameBook::parse(&src).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let companies = b.unique_companies(&mut rng, 20);
        let names: HashSet<&str> = companies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 20);
        assert!(names.contains("深圳鑫达电子科技有限公司"));
        assert!(names.contains("深圳鑫达电子科技有限公司第二分公司"));
        for name in names {
            assert!(name.chars().all(is_name_char), "{name}");
        }
    }

    #[test]
    fn companies_look_right() {
        let b = book();
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let n = 5000;
        let mut paren = 0;
        for _ in 0..n {
            let c = b.company(&mut rng);
            assert!(!c.name.is_empty());
            assert!(c.name.chars().all(is_name_char), "{}", c.name);
            assert!(c.name.ends_with("公司"), "{}", c.name);
            assert!(c.name.contains(&c.city), "{c:?}");
            assert_eq!(c.city_code.len(), 6);
            assert!(c.city_code.bytes().all(|d| d.is_ascii_digit()));
            assert!(ALLOWED_RATES_PERMILLE.contains(&c.rate_permille));
            assert!(!c.name.contains("贸贸易") && !c.name.contains("商贸贸易"));
            if c.name.contains('（') {
                assert!(c.name.contains(&format!("（{}）", c.city)), "{}", c.name);
                paren += 1;
            } else {
                assert!(c.name.starts_with(&c.city), "{}", c.name);
            }
        }
        let share = f64::from(paren) / f64::from(n);
        assert!((0.06..0.14).contains(&share), "paren share {share}");
    }

    #[test]
    fn persons_have_two_or_three_cjk_chars() {
        let b = book();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let p = b.person(&mut rng);
            let len = p.chars().count();
            assert!((2..=3).contains(&len), "{p}");
            assert!(p.chars().all(is_cjk), "{p}");
        }
    }

    #[test]
    fn phones_are_plausible_mobiles() {
        let b = book();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let p = b.phone(&mut rng);
            assert_eq!(p.len(), 11, "{p}");
            assert!(p.bytes().all(|d| d.is_ascii_digit()), "{p}");
            assert!(MOBILE_PREFIXES.contains(&&p[..3]), "{p}");
            assert!(["13", "15", "17", "18", "19"].contains(&&p[..2]), "{p}");
        }
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = parse_cities("# c\n深圳\t440300\n\n广州\t44010\n").unwrap_err();
        assert!(matches!(
            err,
            NameError::Malformed {
                file: "cities.txt",
                line: 4,
                ..
            }
        ));
        assert!(err.to_string().starts_with("cities.txt:4:"), "{err}");

        let err = parse_industries("物流\t90\n咨询\t6\n").unwrap_err();
        assert!(matches!(
            err,
            NameError::Malformed {
                file: "industries.txt",
                line: 2,
                ..
            }
        ));

        let err = parse_words(ROOTS_FILE, "鑫达\n鑫\n", 2).unwrap_err();
        assert!(matches!(err, NameError::Malformed { line: 2, .. }));

        let err = parse_words(ROOTS_FILE, "鑫达\nabc\n", 2).unwrap_err();
        assert!(matches!(err, NameError::Malformed { line: 2, .. }));

        let err = parse_words(ROOTS_FILE, "鑫达\n# x\n鑫达\n", 2).unwrap_err();
        assert_eq!(
            err,
            NameError::Duplicate {
                file: "roots.txt",
                line: 3,
                entry: "鑫达".into()
            }
        );

        let err = parse_weighted(SUFFIXES_FILE, "有限公司\t0\n", |_| true).unwrap_err();
        assert!(matches!(err, NameError::Malformed { line: 1, .. }));

        let err = parse_words(GIVEN_FILE, "# only a comment\n\n", 1).unwrap_err();
        assert_eq!(err, NameError::Empty { file: "given.txt" });
    }

    #[test]
    fn chinese_numerals() {
        let cases = [
            (1, "一"),
            (2, "二"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (101, "一百零一"),
            (110, "一百一十"),
            (1001, "一千零一"),
            (10010, "一万零一十"),
            (20000, "二万"),
        ];
        for (n, s) in cases {
            assert_eq!(chinese_numeral(n), s, "{n}");
        }
        let all: HashSet<String> = (1..30_000).map(chinese_numeral).collect();
        assert_eq!(all.len(), 29_999);
        assert!(!chinese_numeral(u64::MAX).is_empty());
    }
}
