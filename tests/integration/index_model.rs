//! The invoice index against a naive model: random invoices (with some replaced by a second
//! batch), random filters and pages; totals, sums and the page's keys must agree.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use fapiao::domain::{
    Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, SelectionState, TaxPeriod, TaxpayerId,
};
use fapiao::index::{InvoiceFilter, InvoiceIndex, SearchPage};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

const BUYERS: [&str; 3] = [
    "91350100M000100Y43",
    "914403001922038216",
    "911100007109288314",
];
const SELLERS: [&str; 4] = [
    "91330100716105852F",
    "9144030071526726XG",
    "911100007109288314",
    "914403001922038216",
];
const NAMES: [&str; 3] = ["杭州宏远信息技术有限公司", "深圳恒通物流", "Acme 北京"];
/// Codes shared by many invoices (ties on code; prefixes; leading zeros).
const CODES: [&str; 6] = [
    "3500261130",
    "350026113099",
    "0350026113",
    "035002611300",
    "1440302610",
    "000000000001",
];

const FIRST_DAY: i64 = 0; // 2025-06-01
const LAST_DAY: i64 = 547; // 2026-11-30

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap() + chrono::Duration::days(n)
}

fn period() -> impl Strategy<Value = TaxPeriod> {
    (0i32..19).prop_map(|m| {
        // 202506 ..= 202612
        let m0 = 5 + m; // months since 2025-01, zero-based
        TaxPeriod::new(2025 + m0 / 12, (m0 % 12) as u32 + 1).unwrap()
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (FIRST_DAY..=LAST_DAY).prop_map(day)
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(CODES.to_vec()).prop_map(str::to_string),
        // 10 or 12 digits, often with leading zeros.
        (any::<bool>(), 0u32..4, 0u64..1_000_000_000_000).prop_map(|(twelve, zeros, v)| {
            let len = if twelve { 12 } else { 10 };
            let s = format!("{:0len$}", v % 10u64.pow(len as u32 - zeros));
            s[s.len() - len..].to_string()
        }),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..40).prop_map(|n| format!("{n:08}")),
        (0u32..100_000_000).prop_map(|n| format!("{n:08}")),
    ]
}

fn kind() -> impl Strategy<Value = InvoiceType> {
    prop::sample::select(InvoiceType::ALL.to_vec())
}

fn status() -> impl Strategy<Value = InvoiceStatus> {
    prop::sample::select(vec![
        InvoiceStatus::Normal,
        InvoiceStatus::Voided,
        InvoiceStatus::RedReversed,
        InvoiceStatus::OutOfControl,
        InvoiceStatus::Abnormal,
    ])
}

fn selection() -> impl Strategy<Value = SelectionState> {
    prop_oneof![
        Just(SelectionState::Unselected),
        period().prop_map(|period| SelectionState::Selected { period }),
        (period(), 1u32..6, date()).prop_map(|(period, batch, on)| SelectionState::Confirmed {
            period,
            batch,
            on
        }),
        (period(), date()).prop_map(|(period, on)| SelectionState::Scanned { period, on }),
    ]
}

prop_compose! {
    fn invoice()(
        code in code(),
        number in number(),
        kind in kind(),
        issued_on in date(),
        seller in 0usize..4,
        name in 0usize..3,
        buyer in 0usize..3,
        amount in 1i64..=1_000_000_000,
        tax_permille in 0i64..=1000,
        status in status(),
        selection in selection(),
    ) -> Invoice {
        Invoice {
            key: InvoiceKey::parse(&code, &number).unwrap(),
            kind,
            issued_on,
            seller_id: TaxpayerId::parse(SELLERS[seller]).unwrap(),
            seller_name: NAMES[name].to_string(),
            buyer_id: TaxpayerId::parse(BUYERS[buyer]).unwrap(),
            amount: Fen::new(amount),
            tax: Fen::new(amount * tax_permille / 1000),
            status,
            selection,
            audit: None,
            usage: None,
        }
    }
}

/// Unique keys (the first of duplicates kept).
fn invoices() -> impl Strategy<Value = Vec<Invoice>> {
    prop::collection::vec(invoice(), 50..=300).prop_map(|v| {
        let mut seen = HashSet::new();
        v.into_iter()
            .filter(|i| seen.insert(i.key.clone()))
            .collect()
    })
}

/// Changes of a second batch: (which invoice, new status, new selection).
fn changes() -> impl Strategy<Value = Vec<(Index, InvoiceStatus, SelectionState)>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec((any::<Index>(), status(), selection()), 1..60),
    ]
}

/// A filter before its code/number are picked from the invoices.
#[derive(Debug, Clone)]
struct RawFilter {
    buyer: usize,
    issued_from: Option<NaiveDate>,
    issued_to: Option<NaiveDate>,
    seller: Option<usize>,
    /// None; Some((true, i)) = the code of invoice i; Some((false, _)) = a random code.
    code: Option<(bool, Index, String)>,
    number: Option<(bool, Index, String)>,
    kind: Option<InvoiceType>,
    status: Option<InvoiceStatus>,
    sel: Vec<u64>,
    certified_from: Option<NaiveDate>,
    certified_to: Option<NaiveDate>,
    period: Option<u32>,
    page: usize,
    per_page: usize,
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.3, s)
}

/// A date bound: present half the time, so that both bounds of a range (which drive the
/// search by the buyer's month terms) are common.
fn bound() -> impl Strategy<Value = Option<NaiveDate>> {
    prop::option::weighted(0.5, date())
}

fn raw_filter() -> impl Strategy<Value = RawFilter> {
    (
        (
            0usize..3,
            bound(),
            bound(),
            opt(0usize..4),
            opt((prop::bool::weighted(0.8), any::<Index>(), code())),
            opt((prop::bool::weighted(0.8), any::<Index>(), number())),
            opt(kind()),
            opt(status()),
        ),
        (
            prop_oneof![
                Just(Vec::new()),
                prop::collection::btree_set(0u64..4, 1..=4)
                    .prop_map(|s| s.into_iter().collect::<Vec<_>>()),
            ],
            bound(),
            bound(),
            opt(period().prop_map(TaxPeriod::as_u32)),
            1usize..=4,
            1usize..=20,
        ),
    )
        .prop_map(
            |(
                (buyer, issued_from, issued_to, seller, code, number, kind, status),
                (sel, certified_from, certified_to, period, page, per_page),
            )| RawFilter {
                buyer,
                issued_from,
                issued_to,
                seller,
                code,
                number,
                kind,
                status,
                sel,
                certified_from,
                certified_to,
                period,
                page,
                per_page,
            },
        )
}

fn filter_of(raw: &RawFilter, invoices: &[Invoice]) -> InvoiceFilter {
    let pick = |(existing, i, random): &(bool, Index, String), f: fn(&Invoice) -> &str| {
        if *existing && !invoices.is_empty() {
            f(&invoices[i.index(invoices.len())]).to_string()
        } else {
            random.clone()
        }
    };
    InvoiceFilter {
        buyer: Some(TaxpayerId::parse(BUYERS[raw.buyer]).unwrap()),
        issued_from: raw.issued_from,
        issued_to: raw.issued_to,
        code: raw.code.as_ref().map(|c| pick(c, |i| i.key.code_or_dash())),
        number: raw.number.as_ref().map(|n| pick(n, |i| i.key.number())),
        seller: raw.seller.map(|s| TaxpayerId::parse(SELLERS[s]).unwrap()),
        sel: raw.sel.clone(),
        certified_from: raw.certified_from,
        certified_to: raw.certified_to,
        kind: raw.kind,
        status: raw.status,
        period: raw.period,
        // Seller-name search is tested over HTTP (invoices.rs).
        seller_name: None,
    }
}

fn sel_code(s: &SelectionState) -> u64 {
    match s {
        SelectionState::Unselected => 0,
        SelectionState::Selected { .. } => 1,
        SelectionState::Confirmed { .. } => 2,
        SelectionState::Scanned { .. } => 3,
    }
}

/// The filter's meaning, field by field (src/index/query.rs).
fn matches(f: &InvoiceFilter, i: &Invoice) -> bool {
    let within = |d: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>| {
        from.is_none_or(|x| x <= d) && to.is_none_or(|x| d <= x)
    };
    f.buyer.as_ref().is_none_or(|b| *b == i.buyer_id)
        && f.seller.as_ref().is_none_or(|s| *s == i.seller_id)
        && f.code.as_deref().is_none_or(|c| c == i.key.code_or_dash())
        && f.number.as_deref().is_none_or(|n| n == i.key.number())
        && f.kind.is_none_or(|k| k == i.kind)
        && f.status.is_none_or(|s| s == i.status)
        && f.period
            .is_none_or(|p| i.selection.period().map(TaxPeriod::as_u32) == Some(p))
        && (f.sel.is_empty() || f.sel.contains(&sel_code(&i.selection)))
        && within(i.issued_on, f.issued_from, f.issued_to)
        && (f.certified_from.is_none() && f.certified_to.is_none()
            || i.selection
                .certified_on()
                .is_some_and(|d| within(d, f.certified_from, f.certified_to)))
}

fn model_search(
    model: &BTreeMap<InvoiceKey, Invoice>,
    f: &InvoiceFilter,
    page: usize,
    per_page: usize,
) -> SearchPage {
    let mut hits: Vec<&Invoice> = model.values().filter(|i| matches(f, i)).collect();
    hits.sort_by(|a, b| {
        (Reverse(a.issued_on), a.key.code_or_dash(), a.key.number()).cmp(&(
            Reverse(b.issued_on),
            b.key.code_or_dash(),
            b.key.number(),
        ))
    });
    SearchPage {
        total: hits.len() as u64,
        amount: hits.iter().map(|i| i.amount.value()).sum(),
        tax: hits.iter().map(|i| i.tax.value()).sum(),
        keys: hits
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|i| i.key.clone())
            .collect(),
    }
}

proptest! {
    // No regression file (it would be written outside tests/integration/).
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn index_model_search_agrees_with_naive_filter(
        invoices in invoices(),
        changes in changes(),
        filters in prop::collection::vec(raw_filter(), 40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let index = InvoiceIndex::open(dir.path()).unwrap();
        index.apply(&invoices, &[], 1).unwrap();
        let mut model: BTreeMap<InvoiceKey, Invoice> =
            invoices.iter().map(|i| (i.key.clone(), i.clone())).collect();
        prop_assert_eq!(index.applied_seq(), 1);

        if !changes.is_empty() {
            // Replace some invoices by a changed copy (the last change of one wins).
            let mut batch: BTreeMap<InvoiceKey, Invoice> = BTreeMap::new();
            for (i, status, selection) in &changes {
                let mut inv = invoices[i.index(invoices.len())].clone();
                inv.status = *status;
                inv.selection = *selection;
                batch.insert(inv.key.clone(), inv);
            }
            let batch: Vec<Invoice> = batch.into_values().collect();
            index.apply(&[], &batch, 2).unwrap();
            for inv in batch {
                model.insert(inv.key.clone(), inv);
            }
            prop_assert_eq!(index.applied_seq(), 2);
        }

        // Each buyer's full list: no duplicates left behind by the replacement.
        for b in BUYERS {
            let f = InvoiceFilter {
                buyer: Some(TaxpayerId::parse(b).unwrap()),
                ..InvoiceFilter::default()
            };
            let n = model.values().filter(|i| i.buyer_id.as_str() == b).count();
            prop_assert_eq!(index.search(&f, 1, 1000).unwrap(), model_search(&model, &f, 1, 1000));
            prop_assert_eq!(index.search(&f, 1, 1000).unwrap().keys.len(), n);
        }

        for raw in &filters {
            let f = filter_of(raw, &invoices);
            let got = index.search(&f, raw.page, raw.per_page).unwrap();
            let want = model_search(&model, &f, raw.page, raw.per_page);
            prop_assert_eq!(
                &got, &want,
                "filter {:?} page {} per_page {}", f, raw.page, raw.per_page
            );
        }
    }
}

/// The case the model test finds first, on its own: an upper certification-date bound alone
/// must not match invoices that were never certified (their indexed `cert_on` is 0).
#[test]
fn index_model_certified_to_alone_excludes_uncertified() {
    let dir = tempfile::tempdir().unwrap();
    let index = InvoiceIndex::open(dir.path()).unwrap();
    let inv = |number: &str, selection| Invoice {
        key: InvoiceKey::parse("3500261130", number).unwrap(),
        kind: InvoiceType::Special,
        issued_on: day(100),
        seller_id: TaxpayerId::parse(SELLERS[0]).unwrap(),
        seller_name: NAMES[0].into(),
        buyer_id: TaxpayerId::parse(BUYERS[0]).unwrap(),
        amount: Fen::new(1_000),
        tax: Fen::new(130),
        status: InvoiceStatus::Normal,
        selection,
        audit: None,
        usage: None,
    };
    let p = TaxPeriod::new(2025, 9).unwrap();
    let certified = inv(
        "00000001",
        SelectionState::Confirmed {
            period: p,
            batch: 1,
            on: day(110),
        },
    );
    let invoices = vec![
        certified.clone(),
        inv("00000002", SelectionState::Unselected),
        inv("00000003", SelectionState::Selected { period: p }),
    ];
    index.apply(&invoices, &[], 1).unwrap();
    let f = InvoiceFilter {
        buyer: Some(certified.buyer_id.clone()),
        certified_to: Some(day(200)),
        ..InvoiceFilter::default()
    };
    let got = index.search(&f, 1, 10).unwrap();
    assert_eq!(got.keys, vec![certified.key], "{got:?}");
    assert_eq!(got.total, 1);
}

/// A search with both issue-date bounds is driven by the buyer's month terms, one per month
/// in the range (and selection state); the range's ends cut through their months, and a range
/// longer than the month terms cover falls back on the buyer's whole list. Every case against
/// the naive filter.
#[test]
fn index_model_month_terms_edges_and_long_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let index = InvoiceIndex::open(dir.path()).unwrap();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let inv = |n: u32, issued_on: NaiveDate, selection| Invoice {
        key: InvoiceKey::parse("3500261130", &format!("{n:08}")).unwrap(),
        kind: InvoiceType::Special,
        issued_on,
        seller_id: TaxpayerId::parse(SELLERS[0]).unwrap(),
        seller_name: NAMES[0].into(),
        buyer_id: TaxpayerId::parse(BUYERS[0]).unwrap(),
        amount: Fen::new(1_000 + i64::from(n)),
        tax: Fen::new(130),
        status: InvoiceStatus::Normal,
        selection,
        audit: None,
        usage: None,
    };
    let p = TaxPeriod::new(2026, 3).unwrap();
    let certified = |on| SelectionState::Confirmed {
        period: p,
        batch: 1,
        on,
    };
    let invoices = vec![
        inv(1, date(2019, 12, 31), SelectionState::Unselected),
        inv(2, date(2026, 1, 31), SelectionState::Unselected),
        inv(3, date(2026, 2, 1), SelectionState::Unselected),
        inv(4, date(2026, 2, 28), certified(date(2026, 3, 31))),
        inv(5, date(2026, 3, 1), certified(date(2026, 4, 1))),
        inv(6, date(2026, 3, 1), SelectionState::Selected { period: p }),
        // Beyond the dates the packed column holds: checked on the exact column.
        inv(7, date(6000, 1, 1), SelectionState::Unselected),
    ];
    index.apply(&invoices, &[], 1).unwrap();
    let model: BTreeMap<InvoiceKey, Invoice> = invoices
        .iter()
        .map(|i| (i.key.clone(), i.clone()))
        .collect();
    let buyer = Some(TaxpayerId::parse(BUYERS[0]).unwrap());
    let cases = [
        // Month ends: the first and last day of the range's months.
        (date(2026, 1, 31), date(2026, 2, 1), None, None, vec![]),
        (date(2026, 2, 1), date(2026, 2, 28), None, None, vec![0]),
        (
            date(2026, 2, 1),
            date(2026, 3, 1),
            None,
            None,
            vec![0, 1, 2],
        ),
        // Over four years: the buyer's whole list.
        (date(2019, 12, 1), date(2026, 12, 31), None, None, vec![]),
        (date(2019, 12, 1), date(6000, 1, 1), None, None, vec![]),
        (date(2019, 12, 31), date(2026, 3, 1), None, None, vec![0, 2]),
        // Far dates: the ends of the range and the document beyond the packed days.
        (date(2026, 3, 1), date(9999, 12, 31), None, None, vec![0]),
        (date(2026, 3, 2), date(5999, 12, 31), None, None, vec![]),
        (date(6000, 1, 1), date(6000, 1, 31), None, None, vec![]),
        // A reversed range matches nothing.
        (date(2026, 3, 1), date(2026, 2, 1), None, None, vec![]),
        // Certification months, with and without issue dates.
        (
            date(2026, 1, 1),
            date(2026, 3, 31),
            Some(date(2026, 3, 31)),
            Some(date(2026, 4, 1)),
            vec![],
        ),
        (
            date(2026, 2, 28),
            date(2026, 2, 28),
            Some(date(2026, 4, 1)),
            Some(date(2026, 4, 30)),
            vec![],
        ),
        (
            date(2010, 1, 1),
            date(2026, 12, 31),
            Some(date(2026, 3, 31)),
            Some(date(2026, 3, 31)),
            vec![2],
        ),
    ];
    let mut found = 0;
    for (from, to, cert_from, cert_to, sel) in cases {
        let f = InvoiceFilter {
            buyer: buyer.clone(),
            issued_from: Some(from),
            issued_to: Some(to),
            certified_from: cert_from,
            certified_to: cert_to,
            sel,
            ..InvoiceFilter::default()
        };
        let got = index.search(&f, 1, 10).unwrap();
        assert_eq!(got, model_search(&model, &f, 1, 10), "{f:?}");
        found += got.total;
    }
    // The cases are not all empty: 2 + 1 + 4 + 6 + 7 + 5 + 1 + 0 + 1 + 0 + 2 + 0 + 1 found.
    assert_eq!(found, 30);
}
