//! `fapiao demo` (S-X1): a deterministic training dataset — taxpayers with real-looking names
//! and valid credit codes, hundreds of sellers, N invoices over the last 18 months with a
//! realistic mix of types, statuses, selections, confirmations, scans and declarations —
//! loaded through the same import service as the office's invoice import.
//! May depend on: service, domain, config, cli.

pub mod names;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{Datelike, Days, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Settings;
use crate::domain::{
    BatchStatus, ConfirmationBatch, Contact, CreditRating, CustomsAudit, DeclarationStatus,
    Enterprise, Fen, Invoice, InvoiceKey, InvoiceStatus, InvoiceType, Region, SelectionState,
    TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult};
use crate::service::office;
use crate::service::office::invoices::ImportMode;
use crate::service::Who;
use crate::service::{self, App, StartError};
use clap::Args;
use names::{Company, NameBook};

/// Months of history generated, the current one included.
pub const HISTORY_MONTHS: i32 = 18;
/// Invoices written per transaction: with redb's cache, the index writer's heap and the
/// merges, a 10M-invoice demo stays under 1 GiB (250,000 peaked just over it).
const CHUNK: usize = 100_000;
/// Share of invoices per training taxpayer (the first is the large one).
const BUYER_WEIGHTS: [f64; 5] = [0.40, 0.22, 0.16, 0.12, 0.10];
const RATINGS: [Option<CreditRating>; 5] = [
    Some(CreditRating::A),
    Some(CreditRating::B),
    Some(CreditRating::A),
    Some(CreditRating::M),
    None,
];

/// What was generated.
#[derive(Debug, Clone)]
pub struct Summary {
    pub taxpayers: Vec<(TaxpayerId, String, Option<CreditRating>)>,
    pub sellers: usize,
    pub invoices: u64,
    pub batches: u64,
    pub seconds: f64,
}

const CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn credit_code(rng: &mut impl Rng, city_code: &str) -> AppResult<TaxpayerId> {
    let mut body = String::from("91");
    body.push_str(city_code);
    for _ in 0..9 {
        let i = rng.gen_range(0..CODE_CHARS.len());
        body.push(char::from(CODE_CHARS[i]));
    }
    Ok(TaxpayerId::from_credit_code_body(&body)?)
}

struct Seller {
    id: TaxpayerId,
    name: String,
    rate: u32,
    code_prefix: String,
}

fn pick_weighted(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let mut x = rng.gen::<f64>() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// The kinds of document in proportions like today's input tax: mostly 数电票 since they
/// became the national norm (December 2024), the paper and electronic 专票 before, and the
/// 缴款书, 通行费 and 农产品 invoices a buyer also deducts.
fn pick_kind(rng: &mut impl Rng, issued_on: NaiveDate) -> InvoiceType {
    let digital_era = issued_on >= NaiveDate::from_ymd_opt(2024, 12, 1).unwrap_or(NaiveDate::MIN);
    let x = rng.gen_range(0..100);
    if digital_era {
        match x {
            0..=49 => InvoiceType::DigitalSpecial,
            50..=57 => InvoiceType::DigitalOrdinary,
            58..=69 => InvoiceType::Special,
            70..=73 => InvoiceType::ESpecial,
            74..=76 => InvoiceType::Freight,
            77..=80 => InvoiceType::MotorVehicle,
            81..=86 => InvoiceType::Toll,
            87..=91 => InvoiceType::Agricultural,
            _ => InvoiceType::Customs,
        }
    } else {
        match x {
            0..=64 => InvoiceType::Special,
            65..=72 => InvoiceType::ESpecial,
            73..=79 => InvoiceType::Freight,
            80..=84 => InvoiceType::MotorVehicle,
            85..=89 => InvoiceType::Toll,
            90..=94 => InvoiceType::Agricultural,
            _ => InvoiceType::Customs,
        }
    }
}

/// One document of `kind` from `seller`: its key (numbers counted per code, per 数电 year and
/// province, per customs port), amount, face tax and, for a 缴款书, its 稽核比对 result.
fn document(
    rng: &mut impl Rng,
    seller: &Seller,
    kind: InvoiceType,
    issued_on: NaiveDate,
    numbers: &mut HashMap<String, u32>,
) -> AppResult<(InvoiceKey, Fen, Fen, Option<CustomsAudit>)> {
    let (lo, hi, rate) = match kind {
        InvoiceType::Special | InvoiceType::ESpecial | InvoiceType::DigitalSpecial => {
            (100.0f64, 300_000.0f64, seller.rate)
        }
        InvoiceType::DigitalOrdinary => (20.0, 20_000.0, seller.rate),
        InvoiceType::Freight => (200.0, 50_000.0, 90),
        InvoiceType::MotorVehicle => (60_000.0, 400_000.0, 130),
        InvoiceType::Toll => (10.0, 3_000.0, 30),
        // Purchased from farmers: exempt, no tax on the face (the deduction is computed).
        InvoiceType::Agricultural => (500.0, 200_000.0, 0),
        InvoiceType::Customs => (5_000.0, 2_000_000.0, 130),
    };
    let yuan = (lo.ln() + rng.gen::<f64>() * (hi.ln() - lo.ln())).exp();
    let amount = Fen::new((yuan * 100.0).round() as i64);
    let tax = Fen::tax_at_rate(amount, rate);
    let yy = issued_on.year() % 100;
    fn next(
        rng: &mut impl Rng,
        numbers: &mut HashMap<String, u32>,
        series: String,
        start: u32,
    ) -> u32 {
        let counter = numbers
            .entry(series)
            .or_insert_with(|| rng.gen_range(1..start));
        *counter += 1;
        *counter
    }
    let province = &seller.code_prefix[..2];
    let key = match kind {
        InvoiceType::DigitalSpecial | InvoiceType::DigitalOrdinary => {
            let n = next(rng, numbers, format!("数电{yy}{province}"), 5_000_000);
            InvoiceKey::parse_any(None, &format!("{yy:02}{province}0{n:015}"))?
        }
        InvoiceType::Customs => {
            let port = &seller.code_prefix;
            let n = next(rng, numbers, format!("海关{port}{yy}"), 500_000);
            InvoiceKey::parse_any(None, &format!("{port}{:04}1{n:09}-L01", issued_on.year()))?
        }
        _ => {
            let code = match kind {
                InvoiceType::MotorVehicle => format!(
                    "1{}{:02}20{:03}",
                    seller.code_prefix,
                    yy,
                    rng.gen_range(1..40)
                ),
                InvoiceType::ESpecial | InvoiceType::Toll => format!(
                    "0{}{:02}{:03}{}",
                    seller.code_prefix,
                    yy,
                    rng.gen_range(1..200),
                    if kind == InvoiceType::ESpecial {
                        13
                    } else {
                        12
                    }
                ),
                _ => {
                    let t = if kind == InvoiceType::Freight { 2 } else { 1 };
                    let copies = if rng.gen_bool(0.7) { 3 } else { 6 };
                    format!(
                        "{}{:02}{}1{}{}",
                        seller.code_prefix,
                        yy,
                        rng.gen_range(1..10),
                        t,
                        copies
                    )
                }
            };
            let n = next(rng, numbers, code.clone(), 5_000_000);
            InvoiceKey::parse(&code, &format!("{n:08}"))?
        }
    };
    let audit = (kind == InvoiceType::Customs).then(|| match rng.gen_range(0..100) {
        0..=89 => CustomsAudit::Match,
        90..=95 => CustomsAudit::Pending,
        96..=97 => CustomsAudit::Mismatch,
        98 => CustomsAudit::Missing,
        _ => CustomsAudit::Duplicate,
    });
    Ok((key, amount, tax, audit))
}

fn date_between(rng: &mut impl Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    if to <= from {
        return from;
    }
    let span = (to - from).num_days();
    from + chrono::Duration::days(rng.gen_range(0..=span))
}

fn authority(city: &str) -> String {
    let city = city.trim_end_matches('市');
    format!("国家税务总局{city}市税务局")
}

/// The period a taxpayer is in today: before the default deadline of last month's period
/// some have not declared yet.
fn current_period_for(rng: &mut impl Rng, today: NaiveDate) -> TaxPeriod {
    let this = TaxPeriod::of_date(today);
    let prev = this.prev();
    if today <= prev.default_deadline() && rng.gen_bool(0.5) {
        prev
    } else {
        this
    }
}

/// Generates the dataset into `app`'s store. `who` carries the generation time.
pub fn generate(app: &App, who: &Who, n: u64, seed: u64, progress: bool) -> AppResult<Summary> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let book = NameBook::load().map_err(AppError::internal)?;
    let today = who.now.date_naive();
    let n_sellers = usize::try_from((n / 50).clamp(200, 800)).unwrap_or(200);
    let companies: Vec<Company> = book.unique_companies(&mut rng, BUYER_WEIGHTS.len() + n_sellers);

    // Training taxpayers (buyers).
    let mut buyers: Vec<Taxpayer> = Vec::new();
    for (i, c) in companies.iter().take(BUYER_WEIGHTS.len()).enumerate() {
        let id = credit_code(&mut rng, &c.city_code)?;
        let region = Region::of_taxpayer_id(&id)
            .or_else(|| Region::parse("440000").ok())
            .ok_or_else(|| AppError::internal("region table"))?;
        let current = current_period_for(&mut rng, today);
        let record = service::office::taxpayers::new_record(
            who,
            service::office::taxpayers::NewTaxpayer {
                id,
                name: c.name.clone(),
                region,
                authority: authority(&c.city),
                eligible: true,
                credit_rating: RATINGS[i],
                contact: Contact {
                    name: book.person(&mut rng),
                    phone: book.phone(&mut rng),
                    email: format!("caiwu{}@example.cn", i + 1),
                },
                enterprise: Enterprise {
                    address: format!(
                        "{}市高新区科技路{}号",
                        c.city.trim_end_matches('市'),
                        rng.gen_range(1..300)
                    ),
                    phone: book.phone(&mut rng),
                    legal_representative: book.person(&mut rng),
                },
                current_period: Some(current),
                training: true,
            },
        )?;
        buyers.push(Taxpayer {
            // The fourth taxpayer has not done its first login yet, to show S-T2.
            first_login_done: i != 3,
            ..record
        });
    }
    let sellers: Vec<Seller> = companies
        .iter()
        .skip(BUYER_WEIGHTS.len())
        .map(|c| {
            Ok(Seller {
                id: credit_code(&mut rng, &c.city_code)?,
                name: c.name.clone(),
                rate: c.rate_permille,
                code_prefix: c.city_code[..4].to_string(),
            })
        })
        .collect::<AppResult<_>>()?;

    // Confirmation batch dates per (buyer, period): 1–3 batches inside the period's window
    // (which opens around the 10th of the month and closes at the declaration next month).
    let first_period = TaxPeriod::of_date(today).add_months(-(HISTORY_MONTHS - 1));
    let mut batch_dates: HashMap<(usize, TaxPeriod), Vec<NaiveDate>> = HashMap::new();
    for (b, buyer) in buyers.iter().enumerate() {
        let mut p = first_period;
        while p <= buyer.current_period {
            let k = rng.gen_range(1..=3);
            let from = p.first_day() + Days::new(9);
            let to = p.next().first_day() + Days::new(11);
            let to = to.min(today);
            let mut dates: Vec<NaiveDate> = (0..k)
                .map(|_| date_between(&mut rng, from.min(to), to))
                .collect();
            dates.sort();
            batch_dates.insert((b, p), dates);
            p = p.next();
        }
    }

    // Invoices, in two passes over the same random sequence so that only one chunk is ever
    // held: the first finds which confirmation batches get invoices (empty ones are dropped
    // and the rest numbered 1.. in date order), the second generates again, numbers each
    // invoice's batch, and loads the invoices chunk by chunk.
    let mut gen = InvoiceGen {
        rng: rng.clone(),
        from: first_period.first_day(),
        today,
        numbers: HashMap::new(),
    };
    // Members per batch (the batches that get invoices), so that the second pass holds each
    // batch's keys in a vector of the exact size (a growing vector holds up to twice its
    // keys, three times while it moves).
    let mut sizes: HashMap<(usize, TaxPeriod, u32), usize> = HashMap::new();
    for _ in 0..n {
        let (b, inv) = gen.invoice(&buyers, &sellers, &batch_dates)?;
        if let SelectionState::Confirmed { period, batch, .. } = inv.selection {
            *sizes.entry((b, period, batch)).or_default() += 1;
        }
    }
    let mut groups: BTreeMap<(usize, TaxPeriod, u32), u32> =
        sizes.keys().map(|k| (*k, 0)).collect();
    let numbers = number_batches(&mut groups);

    // Write: taxpayers, declarations, then invoices in chunks through the import service.
    app.store.write(who, |tx| {
        for t in &buyers {
            tx.put_taxpayer(t)?;
            tx.audit("taxpayer.create", &t.id, &t.name);
            let mut p = first_period.prev();
            while p < t.current_period {
                tx.put_declaration(&t.id, p, DeclarationStatus::Declared)?;
                p = p.next();
            }
        }
        tx.audit("declaration.import", "demo", "past periods declared");
        Ok(())
    })?;
    let bar = if progress {
        indicatif::ProgressBar::new(n)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40.cyan/blue}] {pos}/{len} 张发票 ({per_sec}, 剩余 {eta})",
        )
        .map_err(AppError::internal)?,
    );
    bar.set_message("生成培训数据");
    let mut gen = InvoiceGen {
        rng: rng.clone(),
        from: first_period.first_day(),
        today,
        numbers: HashMap::new(),
    };
    // Per batch: its members (as compact keys, in generation order) and totals.
    let mut members: BTreeMap<(usize, TaxPeriod, u32), BatchMembers> = BTreeMap::new();
    let mut line = 0usize;
    let mut left = n;
    while left > 0 {
        let len = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut chunk = Vec::with_capacity(len);
        for _ in 0..len {
            let (b, mut inv) = gen.invoice(&buyers, &sellers, &batch_dates)?;
            if let SelectionState::Confirmed { period, batch, on } = inv.selection {
                let number = numbers.get(&(b, period, batch)).copied().unwrap_or(batch);
                inv.selection = SelectionState::Confirmed {
                    period,
                    batch: number,
                    on,
                };
                let m = members
                    .entry((b, period, batch))
                    .or_insert_with(|| BatchMembers {
                        keys: Vec::with_capacity(
                            sizes.get(&(b, period, batch)).copied().unwrap_or(0),
                        ),
                        ..BatchMembers::default()
                    });
                m.keys.push(inv.key.to_u128());
                m.amount += inv.amount;
                m.tax += inv.tax;
            }
            line += 1;
            chunk.push((line, inv));
        }
        office::invoices::import(app, who, chunk, ImportMode::Generated, true)?;
        bar.inc(len as u64);
        left -= len as u64;
    }
    // Each loaded batch gets the confirming entry a 提交 would have written (the integrity
    // check asks every confirmed invoice for one); one batch per transaction, made durable
    // by the flush below.
    let mut n_batches = 0u64;
    for b in batch_records(members, &numbers, &buyers, &batch_dates, who) {
        app.store.write_bulk(who, |tx| {
            tx.put_batch(&b)?;
            tx.audit(
                "confirmation.import",
                crate::service::office::verify::batch_target(&b.taxpayer, b.period, b.number),
                format!(
                    "count={}; amount={}; tax={}; source=demo",
                    b.count,
                    b.amount.value(),
                    b.tax.value()
                ),
            );
            Ok(())
        })?;
        n_batches += 1;
    }
    app.store.flush()?;
    // A bulk load ends with its index segments packed (see `InvoiceIndex::compact`).
    app.index.compact()?;
    bar.finish_and_clear();
    Ok(Summary {
        taxpayers: buyers
            .iter()
            .map(|t| (t.id.clone(), t.name.clone(), t.credit_rating))
            .collect(),
        sellers: sellers.len(),
        invoices: n,
        batches: n_batches,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn confirmed(
    rng: &mut impl Rng,
    batch_dates: &HashMap<(usize, TaxPeriod), Vec<NaiveDate>>,
    buyer: usize,
    period: TaxPeriod,
    issued_on: NaiveDate,
    today: NaiveDate,
) -> SelectionState {
    let dates = batch_dates
        .get(&(buyer, period))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let Some(j) = (0..dates.len()).collect::<Vec<_>>().choose(rng).copied() else {
        return SelectionState::Unselected;
    };
    let on = dates[j].max(issued_on).min(today);
    SelectionState::Confirmed {
        period,
        batch: u32::try_from(j + 1).unwrap_or(1),
        on,
    }
}

/// The state of the per-invoice generator: the random sequence and the last number used
/// per invoice code.
struct InvoiceGen {
    rng: ChaCha8Rng,
    from: NaiveDate,
    today: NaiveDate,
    numbers: HashMap<String, u32>,
}

impl InvoiceGen {
    /// The next invoice and the index of its buyer. A confirmed invoice carries the batch
    /// number it was drawn with (1–3); [`number_batches`] gives the final one.
    fn invoice(
        &mut self,
        buyers: &[Taxpayer],
        sellers: &[Seller],
        batch_dates: &HashMap<(usize, TaxPeriod), Vec<NaiveDate>>,
    ) -> AppResult<(usize, Invoice)> {
        let (rng, from, today) = (&mut self.rng, self.from, self.today);
        let b = pick_weighted(rng, &BUYER_WEIGHTS);
        let buyer = &buyers[b];
        let s_index = ((rng.gen::<f64>().powi(2)) * sellers.len() as f64) as usize;
        let seller = &sellers[s_index.min(sellers.len() - 1)];
        let issued_on = date_between(rng, from, today);
        let kind = pick_kind(rng, issued_on);
        let (key, amount, tax, audit) = document(rng, seller, kind, issued_on, &mut self.numbers)?;
        let status = match rng.gen_range(0..1000) {
            0..=949 => InvoiceStatus::Normal,
            950..=964 => InvoiceStatus::Voided,
            965..=974 => InvoiceStatus::RedReversed,
            975..=989 => InvoiceStatus::OutOfControl,
            _ => InvoiceStatus::Abnormal,
        };
        let pd = TaxPeriod::of_date(issued_on);
        let current = buyer.current_period;
        let selection = if pd > current || audit.is_some_and(|a| a != CustomsAudit::Match) {
            SelectionState::Unselected
        } else if pd == current {
            let x = rng.gen_range(0..100);
            match status {
                InvoiceStatus::Normal if x < 35 => SelectionState::Selected { period: current },
                _ if x >= 85 => confirmed(rng, batch_dates, b, current, issued_on, today),
                _ => SelectionState::Unselected,
            }
        } else {
            let pc = if pd.next() < current && rng.gen_bool(0.3) {
                pd.next()
            } else {
                pd
            };
            match rng.gen_range(0..100) {
                0..=81 => confirmed(rng, batch_dates, b, pc, issued_on, today),
                82..=86 => {
                    let on = date_between(rng, issued_on, (pc.last_day()).min(today));
                    SelectionState::Scanned { period: pc, on }
                }
                _ => SelectionState::Unselected,
            }
        };
        Ok((
            b,
            Invoice {
                key,
                kind,
                issued_on,
                seller_id: seller.id.clone(),
                seller_name: seller.name.clone(),
                buyer_id: buyer.id.clone(),
                amount,
                tax,
                status,
                selection,
                audit,
                usage: None,
            },
        ))
    }
}

/// Numbers the batches that got invoices 1.. per (buyer, period), in the order of their
/// drawn numbers (which is date order); empty ones get no number. Returns drawn → final.
fn number_batches(
    groups: &mut BTreeMap<(usize, TaxPeriod, u32), u32>,
) -> BTreeMap<(usize, TaxPeriod, u32), u32> {
    let mut next: HashMap<(usize, TaxPeriod), u32> = HashMap::new();
    for ((b, period, _), number) in groups.iter_mut() {
        let n = next.entry((*b, *period)).or_insert(0);
        *n += 1;
        *number = *n;
    }
    std::mem::take(groups)
}

/// A batch's members while they are generated: compact keys and totals.
#[derive(Default)]
struct BatchMembers {
    keys: Vec<u128>,
    amount: Fen,
    tax: Fen,
}

/// The submitted batch records, one at a time (a batch's keys are expanded only when its
/// record is built).
fn batch_records<'a>(
    members: BTreeMap<(usize, TaxPeriod, u32), BatchMembers>,
    numbers: &'a BTreeMap<(usize, TaxPeriod, u32), u32>,
    buyers: &'a [Taxpayer],
    batch_dates: &'a HashMap<(usize, TaxPeriod), Vec<NaiveDate>>,
    who: &'a Who,
) -> impl Iterator<Item = ConfirmationBatch> + 'a {
    members.into_iter().map(move |((b, period, old), m)| {
        let number = numbers.get(&(b, period, old)).copied().unwrap_or(old);
        let date = batch_dates
            .get(&(b, period))
            .and_then(|d| d.get(usize::try_from(old).unwrap_or(1).saturating_sub(1)))
            .copied()
            .unwrap_or(period.last_day());
        let made_at = date
            .and_hms_opt(10, 30, 0)
            .and_then(|dt| dt.and_local_timezone(*who.now.offset()).single())
            .unwrap_or(who.now);
        let keys: Vec<InvoiceKey> = m
            .keys
            .iter()
            .filter_map(|k| InvoiceKey::from_u128(*k))
            .collect();
        ConfirmationBatch {
            taxpayer: buyers[b].id.clone(),
            period,
            number,
            status: BatchStatus::Submitted,
            count: keys.len() as u64,
            invoices: keys,
            amount: m.amount,
            tax: m.tax,
            made_at,
            submitted_at: Some(made_at),
            void_reason: None,
            use_: crate::domain::InvoiceUse::Deduct,
        }
    })
}

fn random_password(rng: &mut impl Rng) -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let p: String = (0..14)
            .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
            .collect();
        if service::office::staff::check_password_strength("password", &p).is_ok() {
            return p;
        }
    }
}

/// Issues a client certificate under the local CA for every training taxpayer that has none
/// yet: `<certs>/<ID>.pem`, `.key`, `.p12` and `.p12.password`. Returns how many were issued.
pub fn issue_training_certificates(app: &App) -> Result<usize, AppError> {
    let dir = app.settings.certs_dir();
    let wall = app.clock.wall();
    let now = time::OffsetDateTime::from_unix_timestamp(wall.timestamp())
        .map_err(|e| AppError::internal(e.to_string()))?;
    crate::pki::tls::ensure_local_certs(&dir, now).map_err(AppError::internal)?;
    let mut n = 0;
    for t in service::auth::training_list(app)? {
        let base = dir.join(t.id.as_str());
        if base.with_extension("pem").exists() {
            continue;
        }
        let password: String = {
            use rand::Rng;
            const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
            let mut rng = rand::rngs::OsRng;
            (0..12)
                .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
                .collect()
        };
        let c = crate::pki::tls::issue_client_cert(
            &dir,
            t.id.as_str(),
            &t.name,
            now - time::Duration::days(1),
            now + time::Duration::days(730),
            &password,
        )
        .map_err(AppError::internal)?;
        let write = |ext: &str, bytes: &[u8], secret: bool| -> Result<(), AppError> {
            let path = dir.join(format!("{}.{ext}", t.id));
            std::fs::write(&path, bytes)?;
            #[cfg(unix)]
            if secret {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            #[cfg(not(unix))]
            let _ = secret;
            Ok(())
        };
        write("key", c.key_pem.as_bytes(), true)?;
        write("p12", &c.p12, true)?;
        write("p12.password", format!("{password}\n").as_bytes(), true)?;
        write("pem", c.cert_pem.as_bytes(), false)?;
        n += 1;
    }
    Ok(n)
}

/// `fapiao demo`: its flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory; the dataset is generated only when it holds no data yet.
    #[arg(long, default_value = "demo-data")]
    pub data: PathBuf,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub http: bool,
    /// Number of invoices to generate.
    #[arg(long, default_value_t = 20_000)]
    pub invoices: u64,
    /// Random seed: the same seed gives the same dataset (for the same day).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Password of the staff user `admin` (generated and printed once when not given).
    #[arg(long)]
    pub admin_password: Option<String>,
    /// Generate the dataset and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// `fapiao demo`: generate when empty, turn training on, ensure `admin`, serve.
pub fn run(a: DemoArgs) -> Result<(), StartError> {
    let settings = Settings {
        listen: a.listen.clone(),
        data_dir: a.data.clone(),
        http: a.http,
        training: true,
        log_format: "pretty".into(),
        ..Settings::load(None)?
    };
    settings.validate()?;
    crate::server::telemetry::init_logging(&settings.log_format);
    let fresh = !settings.db_path().exists();
    let app = App::open(settings)?;
    let who = app.system("demo");
    let fail = |e: AppError| StartError::Other(e.to_string());
    if fresh {
        println!(
            "正在生成培训数据：{} 张发票（随机种子 {}）…",
            a.invoices, a.seed
        );
        let s = generate(&app, &who, a.invoices, a.seed, true).map_err(fail)?;
        println!(
            "已生成 {} 户培训纳税人、{} 户销方、{} 张发票、{} 个确认批次，用时 {:.1} 秒。",
            s.taxpayers.len(),
            s.sellers,
            s.invoices,
            s.batches,
            s.seconds
        );
        let size = std::fs::metadata(app.settings.db_path())
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "数据文件：{}（{:.1} MB）",
            app.settings.db_path().display(),
            size as f64 / 1e6
        );
    } else {
        println!("数据目录 {} 已有数据，直接启动。", a.data.display());
    }
    let generated_password = match (&a.admin_password, fresh) {
        (Some(p), _) => {
            service::office::staff::ensure_admin(&app, &who, p).map_err(fail)?;
            None
        }
        (None, true) => {
            let p = random_password(&mut rand::rngs::OsRng);
            service::office::staff::ensure_admin(&app, &who, &p).map_err(fail)?;
            Some(p)
        }
        (None, false) => None,
    };
    let issued = issue_training_certificates(&app).map_err(fail)?;
    if issued > 0 {
        println!(
            "已为 {issued} 户培训纳税人签发税务数字证书：{}/<纳税人识别号>.pem、.key、.p12（.p12 的密码在 .p12.password）",
            app.settings.certs_dir().display()
        );
    }
    if a.no_serve {
        if let Some(p) = &generated_password {
            println!("税务人员：用户名 admin，密码 {p}（仅显示这一次）");
        }
        return Ok(());
    }
    let https = !app.settings.http;
    let ca = app.settings.certs_dir().join("ca.pem");
    let first_cert = service::auth::training_list(&app)
        .ok()
        .and_then(|l| {
            l.into_iter()
                .find(|t| t.credit_rating.is_some() && t.eligible)
        })
        .map(|t| app.settings.certs_dir().join(t.id.as_str()));
    let hours = app.interact.hours().describe_zh();
    crate::server::run_until_stopped(app, move |url| {
        println!();
        println!("fapiao 培训环境已启动：{url}");
        println!(
            "  纳税人：打开 {url}/login ，在“培训纳税人”列表中选择一户登录（培训模式免证书）。"
        );
        match &generated_password {
            Some(p) => {
                println!("  税务人员：{url}/office/login ，用户名 admin，密码 {p}（仅显示这一次）")
            }
            None => println!("  税务人员：{url}/office/login ，用户名 admin"),
        }
        if https {
            println!(
                "  HTTPS 证书由本地 CA 签发：{}（curl --cacert 该文件，或导入浏览器）",
                ca.display()
            );
        }
        if https {
            if let Some(first) = &first_cert {
                println!(
                    "  证书登录：curl --cacert {ca} --cert {c}.pem --key {c}.key -X POST -H 'Content-Type: application/json' -d '{{}}' {url}/api/v1/session",
                    ca = ca.display(),
                    c = first.display()
                );
                println!(
                    "  浏览器：导入 {}.p12（密码见 .p12.password）后打开 {url}/login",
                    first.display()
                );
            }
        }
        println!(
            "  征纳互动：纳税人页面右侧的“征纳互动”按钮；税务人员在 {url}/office/interact 接待（人工服务时间：{hours}，按业务时间计，培训模式下可调整系统时间）。"
        );
        println!("  健康检查：{url}/healthz ；按 Ctrl+C 停止。");
    })
}
