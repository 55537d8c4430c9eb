//! Index: a tantivy index of invoices, derived from redb and always rebuildable from it.
//!
//! Every field the 发票勾选 conditions filter or sort on is indexed and a fast field; the
//! seller name is also indexed as n-grams for the office search. The index records, as its
//! commit payload, the store's invoice change counter it reflects. The store tells the index
//! of every committed invoice change (see `store::ChangeSink`); on start-up, before requests
//! are served, an index a few commits behind is caught up from the store's index journal and
//! one missing, corrupt or further off is rebuilt (see [`journal`]).
//! May depend on: the domain core, the store, error.

mod cells;
mod collect;
mod days;
mod journal;
mod keys;
mod merge;
mod overlay;
mod packed;
pub mod query;
mod staging;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tantivy::directory::MmapDirectory;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STRING,
};
use tantivy::tokenizer::{LowerCaser, NgramTokenizer, TextAnalyzer};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexSortByField, IndexWriter, ReloadPolicy,
    TantivyDocument, Term,
};

use crate::domain::statistics::Entry;
use crate::domain::{Invoice, InvoiceKey, SelectionState};
use crate::error::{AppError, AppResult};
use crate::store::prelude::*;
use crate::store::Store;

pub use journal::{CatchUp, RebuildWhy};
pub use query::{InvoiceFilter, SearchPage};
pub use staging::COMMIT_EVERY;
use staging::{Kick, Pending};

const NGRAM: &str = "bigram";
/// Writer memory budget (shared by its indexing threads, one per core up to 8).
const WRITER_HEAP: usize = 128 * 1024 * 1024;

/// The fields of an invoice document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub buyer: Field,
    pub seller: Field,
    pub seller_name: Field,
    /// Code as a base-11 number that sorts like the string (see [`code_ord`]).
    pub code: Field,
    pub number: Field,
    /// Period of selection/certification (YYYYMM), 0 when none.
    pub period: Field,
    /// Issue date, days from CE.
    pub issued: Field,
    /// Certification date, days from CE, 0 when none.
    pub cert_on: Field,
    pub amount: Field,
    pub tax: Field,
    /// 勾选用途 of a certified invoice ([`InvoiceUse::code`](crate::domain::InvoiceUse::code)),
    /// 0 when not certified.
    pub use_: Field,
    /// The tax the statistics count for a certified invoice: 有效税额 (抵扣, 退税, 代办退税),
    /// 0 when not certified.
    pub effective_tax: Field,
    /// Narrow driving terms of a buyer's documents (see [`scope_issued`] and
    /// [`scope_certified`]): a 发票勾选 query visits only the months (and selection states)
    /// it can match instead of every document of the buyer.
    pub scope: Field,
    /// Selection state (0 unselected, 1 selected, 2 confirmed, 3 scanned), status, kind and
    /// both dates in one value (see [`packed`]); the only column of the first three.
    pub packed: Field,
    /// The order of documents in a segment (see [`cluster`]).
    pub cluster: Field,
}

/// The sort key of a document within its segment: a hash of the buyer in the high 40 bits,
/// then the issue date newest first. A buyer's documents sit together, newest first, in
/// every segment, so a query reads its columns from a few neighbouring blocks whatever the
/// size of the store (two buyers whose hashes meet are merely interleaved).
pub(crate) fn cluster(buyer: &str, issued_days: i64) -> u64 {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in buyer.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const DAY: u64 = (1 << 24) - 1;
    // Clamped into 0..=DAY: the cast cannot wrap.
    let newest_first = DAY - issued_days.clamp(0, DAY as i64) as u64;
    (h >> 24) << 24 | newest_first
}

/// `invoices` in the order of [`cluster`], as a segment keeps its documents: documents added
/// in this order reach each indexing thread (and so each new segment) nearly sorted, and the
/// segment's sort when it is written has less to move (6–18 % less CPU in a 1M-invoice
/// bulk load).
fn in_segment_order(invoices: &[Invoice]) -> impl Iterator<Item = &Invoice> {
    let mut order: Vec<(u64, &Invoice)> = invoices
        .iter()
        .map(|inv| (cluster(inv.buyer_id.as_str(), days(inv.issued_on)), inv))
        .collect();
    order.sort_unstable_by_key(|(c, _)| *c);
    order.into_iter().map(|(_, inv)| inv)
}

/// How many times [`InvoiceIndex::compact`] plans its merges at most.
const COMPACT_ROUNDS: usize = 50;

/// Segments keep their documents sorted by [`cluster`].
fn settings() -> IndexSettings {
    IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: "cluster".into(),
            order: tantivy::Order::Asc,
        }),
        ..IndexSettings::default()
    }
}

/// The scope term of a buyer's documents issued in month `yyyymm` in selection state `sel`.
pub(crate) fn scope_issued(buyer: &str, yyyymm: u32, sel: u64) -> String {
    format!("{buyer}|i{yyyymm}|{sel}")
}

/// The scope term of a buyer's documents certified in month `yyyymm`.
pub(crate) fn scope_certified(buyer: &str, yyyymm: u32) -> String {
    format!("{buyer}|c{yyyymm}")
}

/// The scope term of `buyer`'s documents issued on day `days` (days from CE, as in the
/// columns) in selection state `sel`; empty for a day that is no date.
pub(crate) fn scope_issued_on(buyer: &str, days: i64, sel: u64) -> String {
    i32::try_from(days)
        .ok()
        .and_then(|d| crate::store::codec::days_to_date(d).ok())
        .map(|d| scope_issued(buyer, yyyymm(d), sel))
        .unwrap_or_default()
}

/// The month of a date as YYYYMM.
pub(crate) fn yyyymm(d: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    u32::try_from(d.year()).unwrap_or(0) * 100 + d.month()
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Numbers are fast fields only: every query is scoped by the buyer's posting list and
    // tantivy filters the rest on the columns, which is cheaper to build and to query than
    // intersecting long posting lists of low-cardinality values.
    let fast = || NumericOptions::default().set_fast();
    let f = Fields {
        buyer: b.add_text_field("buyer", STRING),
        seller: b.add_text_field("seller", STRING),
        seller_name: b.add_text_field(
            "seller_name",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(NGRAM)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        code: b.add_u64_field("code", fast()),
        number: b.add_u64_field("number", fast()),
        period: b.add_u64_field("period", fast()),
        issued: b.add_i64_field("issued", fast()),
        cert_on: b.add_i64_field("cert_on", fast()),
        amount: b.add_i64_field("amount", FAST),
        tax: b.add_i64_field("tax", FAST),
        // Added with 勾选用途: an index without them has another schema and is rebuilt (see
        // `InvoiceIndex::open`).
        use_: b.add_u64_field("use", FAST),
        effective_tax: b.add_i64_field("effective_tax", FAST),
        // Added with the scope terms: an older index is re-created and rebuilt likewise.
        scope: b.add_text_field("scope", STRING),
        packed: b.add_u64_field("packed", FAST),
        cluster: b.add_u64_field("cluster", FAST),
    };
    (b.build(), f)
}

/// A code as a number that orders like the string: each digit d becomes d+1 in base 11,
/// right-padded with 0 to 12 places (so "35002611" < "350026111234").
pub fn code_ord(code: &str) -> u64 {
    let mut v = 0u64;
    let bytes = code.as_bytes();
    for i in 0..12 {
        let d = bytes
            .get(i)
            .map(|b| u64::from(b.saturating_sub(b'0')) + 1)
            .unwrap_or(0);
        v = v * 11 + d;
    }
    v
}

/// The code string back from [`code_ord`].
pub fn code_from_ord(mut v: u64) -> String {
    let mut digits = [0u8; 12];
    for d in digits.iter_mut().rev() {
        *d = (v % 11) as u8;
        v /= 11;
    }
    digits
        .iter()
        .take_while(|d| **d != 0)
        .map(|d| char::from(b'0' + d - 1))
        .collect()
}

/// The smallest [`code_ord`] of a 10- or 12-digit code (its first digit is at least `0`,
/// i.e. 1 in base 11, in the highest of 12 places).
const MIN_CODE_ORD: u64 = 285_311_670_611; // 11^11

/// The `code` and `number` fast fields of a key. Coded keys: [`code_ord`] of the code and
/// the number's value. Keys without a code (数电票, 缴款书): the high and low 64 bits of
/// [`InvoiceKey::to_u128`] — the high half is below every code ordinal for a 数电票 and
/// above all of them for a 缴款书, so the pair stays unique and decodable, and 发票勾选's order
/// (code, then number) puts 数电票 first and 缴款书 last among invoices of one day.
pub fn key_pair(key: &InvoiceKey) -> (u64, u64) {
    match key {
        InvoiceKey::Coded { code, number } => (
            code_ord(code.as_str()),
            number.as_str().parse().unwrap_or(0),
        ),
        _ => {
            let v = key.to_u128();
            ((v >> 64) as u64, v as u64)
        }
    }
}

/// The key back from its [`key_pair`].
pub fn key_from_pair(code: u64, number: u64) -> Option<InvoiceKey> {
    if (MIN_CODE_ORD..1 << 63).contains(&code) {
        InvoiceKey::parse(&code_from_ord(code), &format!("{number:08}")).ok()
    } else {
        InvoiceKey::from_u128((u128::from(code) << 64) | u128::from(number))
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

fn days(d: chrono::NaiveDate) -> i64 {
    i64::from(crate::store::codec::date_to_days(d))
}

/// Where an invoice's documents are found (see [`keys`]): its cluster and key columns.
fn at_of(inv: &Invoice) -> keys::At {
    let (code, number) = key_pair(&inv.key);
    keys::At {
        cluster: cluster(inv.buyer_id.as_str(), days(inv.issued_on)),
        code,
        number,
    }
}

fn tantivy_err(e: tantivy::TantivyError) -> AppError {
    AppError::internal(e)
}

/// What queries search: a searcher and the overlay of changes made since its commit.
struct View {
    searcher: tantivy::Searcher,
    overlay: Arc<overlay::Overlay>,
}

/// Why an index did not open: its writer's lock is taken (`Busy`), or anything else.
enum Opening {
    Busy(AppError),
    Bad(AppError),
}

impl Opening {
    fn into_error(self) -> AppError {
        match self {
            Opening::Busy(e) | Opening::Bad(e) => e,
        }
    }
}

impl From<AppError> for Opening {
    fn from(e: AppError) -> Opening {
        Opening::Bad(e)
    }
}

impl From<std::io::Error> for Opening {
    fn from(e: std::io::Error) -> Opening {
        Opening::Bad(e.into())
    }
}

/// How long [`InvoiceIndex::open`] waits at most for an index another holder has open.
const BUSY_WAIT: Duration = Duration::from_secs(5);

pub struct InvoiceIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: PathBuf,
    /// The change counter of the last commit (read from disk once, at open) or of the last
    /// staged change.
    applied: AtomicU64,
    /// Staged changes: their index operations and the change counter of the newest, handed
    /// to the writer as one batch when the group commits (see [`InvoiceIndex::stage`]).
    pending: Mutex<Pending>,
    /// The searcher queries use, with the changes not committed yet (see [`overlay`]).
    view: RwLock<View>,
    /// The change counter of the last index commit.
    committed: AtomicU64,
    /// A bulk load's documents are in the writer, not committed yet (see
    /// [`InvoiceIndex::load`]): queries do not see them until [`InvoiceIndex::finish_load`].
    loading: AtomicBool,
    /// Whether durable group-committed changes wait for the committer thread instead of
    /// being committed by the group ([`InvoiceIndex::start_committer`]).
    deferred: AtomicBool,
    kick: Arc<Kick>,
    /// The page columns of live segments, opened once (see [`collect::ColumnCache`]).
    columns: collect::ColumnCache,
    /// Totals by day and state of the scope terms queries used (see [`cells`]).
    cells: cells::CellCache,
    /// The newest days of the scope terms pages were read from, in the page order (see
    /// [`days`]).
    days: days::DayCache,
    /// Whether queries the cells can answer are answered from them (tests compare both ways).
    totals_from_cells: AtomicBool,
    /// The most live documents [`InvoiceIndex::compact`] puts in one segment
    /// ([`merge::MAX_PACKED_DOCS`]; tests set less).
    packing_cap: AtomicU32,
    /// The data file's lineage the documents come from (recorded with the change counter;
    /// `None` for an index written before lineages were).
    lineage: Mutex<Option<u64>>,
    /// How the index was last brought in step when it was not (see [`journal`]).
    last_catch_up: Mutex<Option<CatchUp>>,
}

impl std::fmt::Debug for InvoiceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoiceIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

impl InvoiceIndex {
    /// Opens the index in `dir`, creating it (or re-creating it when unreadable or of another
    /// schema — an index written before a field was added: the re-created index is empty, its
    /// change counter 0, so the next [`catch_up`](InvoiceIndex::catch_up) rebuilds it from the
    /// store).
    ///
    /// An index another holder in this process still has open (its writer's lock is taken:
    /// say the committer thread finishing a commit of an index just closed) is waited for, up
    /// to [`BUSY_WAIT`], and never re-created.
    pub fn open(dir: &Path) -> AppResult<InvoiceIndex> {
        let waiting = std::time::Instant::now();
        loop {
            match Self::try_open(dir) {
                Ok(i) => return Ok(i),
                Err(Opening::Busy(e)) => {
                    if waiting.elapsed() >= BUSY_WAIT {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(Opening::Bad(e)) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "index unreadable, re-creating");
                    let _ = std::fs::remove_dir_all(dir);
                    return Self::try_open(dir).map_err(Opening::into_error);
                }
            }
        }
    }

    fn try_open(dir: &Path) -> Result<InvoiceIndex, Opening> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let mmap = MmapDirectory::open(dir).map_err(|e| AppError::internal(e.to_string()))?;
        let index = Index::builder()
            .schema(schema.clone())
            .settings(settings())
            .open_or_create(mmap)
            .map_err(tantivy_err)?;
        if index.schema() != schema {
            return Err(AppError::internal("index schema differs").into());
        }
        // An index written before its segments were sorted is re-created (and rebuilt).
        if index.settings().sort_by_field != settings().sort_by_field {
            return Err(AppError::internal("index sort order differs").into());
        }
        index.tokenizers().register(
            NGRAM,
            TextAnalyzer::builder(NgramTokenizer::new(2, 2, false).map_err(tantivy_err)?)
                .filter(LowerCaser)
                .build(),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_err)?;
        let writer = index.writer(WRITER_HEAP).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => Opening::Busy(tantivy_err(e)),
            e => Opening::Bad(tantivy_err(e)),
        })?;
        writer.set_merge_policy(Box::new(merge::CappedMerges::new(merge::MAX_MERGED_DOCS)));
        let (applied, lineage) = index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .map(|p| journal::parse_payload(&p))
            .unwrap_or((0, None));
        Ok(InvoiceIndex {
            view: RwLock::new(View {
                searcher: reader.searcher(),
                overlay: Arc::default(),
            }),
            committed: AtomicU64::new(applied),
            loading: AtomicBool::new(false),
            deferred: AtomicBool::new(false),
            kick: Arc::default(),
            applied: AtomicU64::new(applied),
            lineage: Mutex::new(lineage),
            last_catch_up: Mutex::new(None),
            pending: Mutex::new(Pending::default()),
            columns: collect::ColumnCache::default(),
            cells: cells::CellCache::default(),
            days: days::DayCache::default(),
            totals_from_cells: AtomicBool::new(true),
            packing_cap: AtomicU32::new(merge::MAX_PACKED_DOCS),
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            dir: dir.to_path_buf(),
        })
    }

    /// The store's invoice change counter this index reflects.
    pub fn applied_seq(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// The live documents of the index's last commit (one per invoice when in step).
    pub fn doc_count(&self) -> u64 {
        self.view().map_or(0, |(s, _)| s.num_docs())
    }

    /// The segments a query visits now (the files of segments merged away may linger on disk
    /// until the next commit collects them: counting files overstates this).
    pub fn segment_count(&self) -> usize {
        self.view().map_or(0, |(s, _)| s.segment_readers().len())
    }

    fn doc(&self, inv: &Invoice) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.buyer, inv.buyer_id.as_str());
        d.add_text(f.seller, inv.seller_id.as_str());
        d.add_text(f.seller_name, &inv.seller_name);
        let (code, number) = key_pair(&inv.key);
        d.add_u64(f.code, code);
        d.add_u64(f.number, number);
        d.add_u64(
            f.period,
            inv.selection
                .period()
                .map(|p| u64::from(p.as_u32()))
                .unwrap_or(0),
        );
        d.add_i64(f.issued, days(inv.issued_on));
        d.add_i64(
            f.cert_on,
            inv.selection.certified_on().map(days).unwrap_or(0),
        );
        d.add_i64(f.amount, inv.amount.value());
        d.add_i64(f.tax, inv.tax.value());
        let certified = Entry::of(inv).map(|(_, e)| e);
        d.add_u64(f.use_, certified.map_or(0, |e| u64::from(e.use_.code())));
        d.add_i64(
            f.effective_tax,
            certified.map_or(0, |e| e.effective_tax.value()),
        );
        d.add_u64(
            f.packed,
            packed::pack(
                sel_code(&inv.selection),
                u64::from(inv.status.code()),
                u64::from(inv.kind.code()),
                inv.selection.certified_on().map(days).unwrap_or(0),
                days(inv.issued_on),
            ),
        );
        let buyer = inv.buyer_id.as_str();
        d.add_u64(f.cluster, cluster(buyer, days(inv.issued_on)));
        d.add_text(
            f.scope,
            scope_issued(buyer, yyyymm(inv.issued_on), sel_code(&inv.selection)),
        );
        if let Some(on) = inv.selection.certified_on() {
            d.add_text(f.scope, scope_certified(buyer, yyyymm(on)));
        }
        d
    }

    /// Adds `new` invoices, replaces the documents of `updated` ones, and commits, recording
    /// `seq`. (New invoices need no delete: the index was in step before this change, or the
    /// counter check rebuilds it.)
    pub fn apply(&self, new: &[Invoice], updated: &[Invoice], seq: u64) -> AppResult<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        self.add_changes(&w, new, updated)?;
        self.applied.store(seq, Ordering::Release);
        self.commit_and_publish(&mut w, seq, self.lineage())
    }

    /// Hands the writer `w` the staged operations — older than this change (and durable now:
    /// its commit was), so they go first — then the replacement of `updated` and the addition
    /// of `new`.
    fn add_changes(&self, w: &IndexWriter, new: &[Invoice], updated: &[Invoice]) -> AppResult<()> {
        let (ops, _) = self.take_pending()?.into_ops();
        ops.run(w).map_err(tantivy_err)?;
        if !updated.is_empty() {
            w.delete_query(Box::new(keys::KeysQuery::new(
                updated.iter().map(at_of).collect(),
            )))
            .map_err(tantivy_err)?;
        }
        for inv in updated {
            w.add_document(self.doc(inv)).map_err(tantivy_err)?;
        }
        for inv in in_segment_order(new) {
            w.add_document(self.doc(inv)).map_err(tantivy_err)?;
        }
        Ok(())
    }

    /// Adds a bulk load's `new` invoices and replaces the documents of `updated` ones without
    /// committing: the writer flushes segments as large as its memory allows instead of two
    /// per chunk, and the loader goes on with its next chunk without waiting for them (a
    /// commit per chunk made many more small segments to merge: at 10,000,000 invoices the
    /// load took 5–15 % longer, its final packing two to four times as long).
    /// Until [`InvoiceIndex::finish_load`] (or any other commit) the index is not
    /// [`in_step`](InvoiceIndex::in_step): a query that waits commits the load first.
    pub fn load(&self, new: &[Invoice], updated: &[Invoice], seq: u64) -> AppResult<()> {
        let w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        self.add_changes(&w, new, updated)?;
        self.loading.store(true, Ordering::Release);
        self.applied.store(seq, Ordering::Release);
        Ok(())
    }

    /// Commits a bulk load's documents ([`InvoiceIndex::load`]); nothing to do when none wait.
    pub fn finish_load(&self) -> AppResult<()> {
        if !self.loading.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        if !self.loading.load(Ordering::Acquire) {
            return Ok(());
        }
        self.commit_and_publish(&mut w, self.applied_seq(), self.lineage())
    }

    /// Whether a bulk load's documents wait for their commit.
    pub(crate) fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Acquire)
    }

    /// Commits what the writer holds, recording `seq` and `lineage`, and moves the searcher
    /// queries use (and its overlay) onto the commit; with the writer `w` locked, so that no
    /// other commit comes between.
    fn commit_and_publish(
        &self,
        w: &mut IndexWriter,
        seq: u64,
        lineage: Option<u64>,
    ) -> AppResult<()> {
        let mut prepared = w.prepare_commit().map_err(tantivy_err)?;
        prepared.set_payload(&journal::payload(seq, lineage));
        prepared.commit().map_err(tantivy_err)?;
        self.committed.store(seq, Ordering::Release);
        // Whatever the writer held is committed, a bulk load's documents too.
        self.loading.store(false, Ordering::Release);
        self.publish()
    }

    /// Reloads the reader and moves the view onto its searcher: overlay entries the commit
    /// holds go, the others' documents are found again.
    fn publish(&self) -> AppResult<()> {
        self.reader.reload().map_err(tantivy_err)?;
        let searcher = self.reader.searcher();
        let through = self.committed.load(Ordering::Acquire);
        let mut v = self
            .view
            .write()
            .map_err(|_| AppError::internal("index view lock poisoned"))?;
        let mut o = (*v.overlay).clone();
        o.settle(&searcher, through, at_of);
        *v = View {
            searcher,
            overlay: Arc::new(o),
        };
        Ok(())
    }

    /// Rebuilds the whole index from the store.
    pub fn rebuild(&self, store: &Store) -> AppResult<u64> {
        self.rebuild_counted(store, |_| {})
    }

    /// [`InvoiceIndex::rebuild`], telling `progress` how many invoices are in so far.
    pub fn rebuild_counted(&self, store: &Store, progress: impl Fn(u64)) -> AppResult<u64> {
        let r = store.read()?;
        let seq = r.invoice_seq()?;
        let lineage = r.lineage()?;
        let mut w = self
            .writer
            .lock()
            .map_err(|_| AppError::internal("index writer lock poisoned"))?;
        // Staged changes are in the store too: drop them, not to add them twice.
        self.roll_back(&mut w)?;
        w.delete_all_documents().map_err(tantivy_err)?;
        let mut n = 0u64;
        r.for_each_invoice_batch(50_000, |batch| {
            for inv in in_segment_order(&batch) {
                w.add_document(self.doc(inv)).map_err(tantivy_err)?;
            }
            n += batch.len() as u64;
            progress(n);
            Ok(())
        })?;
        self.applied.store(seq, Ordering::Release);
        self.set_lineage(lineage);
        self.commit_and_publish(&mut w, seq, lineage)?;
        drop(w);
        self.compact()?;
        Ok(n)
    }

    /// Ends a bulk load (a rebuild, `fapiao import`, the demo's data): merges the segments
    /// below the packing cap ([`merge::MAX_PACKED_DOCS`], above the writer's own merge cap)
    /// into as few as fit under it ([`merge::tail_merges`]), waits for those merges and moves
    /// queries onto the result. Returns the segments merged away.
    ///
    /// The background merger may be merging some of the same segments meanwhile: tantivy keeps
    /// whichever merge ends first and drops the other (its `wait` is then an error); this
    /// waits a little and plans again, a bounded number of times.
    pub fn compact(&self) -> AppResult<usize> {
        self.finish_load()?;
        let mut merged = 0;
        {
            let mut w = self
                .writer
                .lock()
                .map_err(|_| AppError::internal("index writer lock poisoned"))?;
            for _ in 0..COMPACT_ROUNDS {
                let sizes: Vec<_> = self
                    .index
                    .searchable_segment_metas()
                    .map_err(tantivy_err)?
                    .iter()
                    .map(|m| (m.id(), m.num_docs()))
                    .collect();
                let cap = self.packing_cap.load(Ordering::Relaxed);
                let groups = merge::tail_merges(&sizes, cap);
                if groups.is_empty() {
                    break;
                }
                let mut busy = false;
                // Started together, waited for together: the merges run side by side (a 10M
                // demo's resident memory peaked at 965 MB so while documents carried a term
                // each, at 907 MB without; see `docs/benchmarks.md`, thirteenth round).
                let running: Vec<_> = groups.iter().map(|g| (g.len(), w.merge(g))).collect();
                for (n, merge) in running {
                    match merge.wait() {
                        Ok(_) => merged += n - 1,
                        Err(e) => {
                            tracing::debug!(error = %e, "index compaction: a merge waits");
                            busy = true;
                        }
                    }
                }
                if busy {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        // Also when this merged nothing itself: a merge the writer's policy was running may
        // have ended meanwhile (the loop above waits for it), and the searcher moves onto
        // its segments only when reloaded — unreloaded, queries went on visiting the eight
        // small segments of a 1,000,000-invoice load instead of the one they became.
        self.publish()?;
        Ok(merged)
    }

    /// Brings the index in step with the store; true when it was not. A commit whose changes
    /// are being applied right now is not a reason to act: on a mismatch this waits for the
    /// store's commit lock (held from commit to the end of the apply) and looks again; only a
    /// counter still different then (a crash, a failed apply, a deleted index) is acted on —
    /// by replaying the store's index journal when the index is a few commits behind, by a
    /// rebuild otherwise ([`InvoiceIndex::catch_up_how`] says which).
    pub fn catch_up(&self, store: &Store) -> AppResult<bool> {
        Ok(self.catch_up_how(store)? != CatchUp::InStep)
    }

    /// The bigram terms of a seller-name search text.
    pub(crate) fn name_terms(&self, text: &str) -> Vec<Term> {
        let mut terms = Vec::new();
        if let Some(mut analyzer) = self.index.tokenizers().get(NGRAM) {
            let mut stream = analyzer.token_stream(text);
            while let Some(tok) = stream.next() {
                terms.push(Term::from_field_text(self.fields.seller_name, &tok.text));
            }
        }
        terms
    }

    /// Whether queries the per-day totals can answer are answered from them (the default)
    /// or by visiting every matching document: tests and benches compare the two.
    pub fn set_totals_from_cells(&self, on: bool) {
        self.totals_from_cells.store(on, Ordering::Relaxed);
    }

    /// Caps the writer's merges at `merged` live documents and [`InvoiceIndex::compact`]'s
    /// at `packed` (tests, with a few documents).
    #[cfg(test)]
    pub(crate) fn set_merge_caps(&self, merged: u32, packed: u32) {
        if let Ok(w) = self.writer.lock() {
            w.set_merge_policy(Box::new(merge::CappedMerges::new(merged)));
        }
        self.packing_cap.store(packed, Ordering::Relaxed);
    }

    /// Stops merging segments (tests that follow one segment's deletions).
    #[cfg(test)]
    pub(crate) fn no_merges(&self) {
        if let Ok(w) = self.writer.lock() {
            w.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        }
    }

    pub(crate) fn fields(&self) -> Fields {
        self.fields
    }

    /// The searcher of the last index commit, with the changes it does not hold yet (see
    /// [`overlay`]).
    fn view(&self) -> AppResult<(tantivy::Searcher, Arc<overlay::Overlay>)> {
        let v = self
            .view
            .read()
            .map_err(|_| AppError::internal("index view lock poisoned"))?;
        Ok((v.searcher.clone(), v.overlay.clone()))
    }

    /// A searcher that holds every change queries can see: the ready changes are committed
    /// first (for readers that do not apply the overlay, the statistics).
    pub(crate) fn settled_searcher(&self) -> AppResult<tantivy::Searcher> {
        self.commit_ready()?;
        Ok(self.view()?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index written before the `use` and `effective_tax` fields existed is re-created
    /// empty with the counter at 0, so the next catch-up rebuilds it from the store (the
    /// statistics never read a missing column as zeros).
    #[test]
    fn an_index_of_an_older_schema_is_recreated_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = todays_fields_but(&["use", "effective_tax"]);
            commit_payload_42(&Index::create_in_dir(dir.path(), b.build()).unwrap());
        }
        let i = InvoiceIndex::open(dir.path()).unwrap();
        assert_eq!(i.applied_seq(), 0);
        assert_eq!(i.index.schema(), schema().0);
        assert!(i.index.schema().get_field("effective_tax").is_ok());
        // (A store with any invoice has a counter above 0: `catch_up` rebuilds.) Reopened, the current schema is kept (no endless re-creation).
        drop(i);
        let again = InvoiceIndex::open(dir.path()).unwrap();
        assert_eq!(again.index.schema(), schema().0);
    }

    /// An index written when there were more columns (say `batch`, dropped since) is
    /// re-created and rebuilt too: the schema must be equal, not merely include today's.
    #[test]
    fn an_index_with_a_dropped_field_is_recreated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut b = todays_fields_but(&[]);
            b.add_u64_field("batch", FAST);
            let index = Index::builder()
                .schema(b.build())
                .settings(settings())
                .create_in_dir(dir.path())
                .unwrap();
            commit_payload_42(&index);
        }
        let i = InvoiceIndex::open(dir.path()).unwrap();
        assert_eq!(i.applied_seq(), 0);
        assert_eq!(i.index.schema(), schema().0);
        assert!(i.index.schema().get_field("batch").is_err());
    }

    /// A schema builder holding today's fields except `left_out`, for an earlier version's.
    fn todays_fields_but(left_out: &[&str]) -> tantivy::schema::SchemaBuilder {
        let mut b = Schema::builder();
        for (_, entry) in schema().0.fields() {
            if !left_out.contains(&entry.name()) {
                b.add_field(entry.clone());
            }
        }
        b
    }

    /// An empty commit with the counter 42, as an index of an earlier version left it.
    fn commit_payload_42(index: &Index) {
        let mut w: IndexWriter = index.writer(15_000_000).unwrap();
        let mut p = w.prepare_commit().unwrap();
        p.set_payload("42");
        p.commit().unwrap();
    }

    /// An index whose segments are not sorted by `cluster` (written before they were) is
    /// re-created empty, its counter at 0, and rebuilt by the next catch-up.
    #[test]
    fn an_unsorted_index_is_recreated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = Index::create_in_dir(dir.path(), schema().0).unwrap();
            assert!(index.settings().sort_by_field.is_none());
            commit_payload_42(&index);
        }
        let i = InvoiceIndex::open(dir.path()).unwrap();
        assert_eq!(i.applied_seq(), 0);
        assert_eq!(i.index.settings().sort_by_field, settings().sort_by_field);
    }

    #[test]
    fn cluster_groups_a_buyer_newest_first() {
        let (a, b) = ("91350100M000100Y43", "914403001922038216");
        assert!(cluster(a, 739_500) < cluster(a, 739_000));
        assert_eq!(cluster(a, 739_000) >> 24, cluster(a, 1) >> 24);
        assert_ne!(cluster(a, 739_000) >> 24, cluster(b, 739_000) >> 24);
        // Every date of one buyer lies between those of any other buyer (no interleaving).
        let (lo, hi) = (cluster(a, i64::MAX), cluster(a, i64::MIN));
        assert!(lo <= cluster(a, 739_000) && cluster(a, 739_000) <= hi);
        assert!(!(lo..=hi).contains(&cluster(b, 739_000)));
    }

    #[test]
    fn key_pairs_round_trip_for_every_shape() {
        let keys = [
            InvoiceKey::parse("0000000000", "00000000").unwrap(),
            InvoiceKey::parse("999999999999", "99999999").unwrap(),
            InvoiceKey::parse("044031900113", "00000001").unwrap(),
            InvoiceKey::parse_any(None, "21110000000000000000").unwrap(),
            InvoiceKey::parse_any(None, "99659999999999999999").unwrap(),
            InvoiceKey::parse_any(None, "-").unwrap(),
            InvoiceKey::parse_any(None, "ZZZZZZZZZZZZZZZZZZZZZZ").unwrap(),
            InvoiceKey::parse_any(None, "530120261000123456-L01").unwrap(),
        ];
        let mut pairs = std::collections::HashSet::new();
        for k in &keys {
            let (c, n) = key_pair(k);
            assert_eq!(key_from_pair(c, n).as_ref(), Some(k), "{k}");
            assert!(pairs.insert((c, n)));
        }
        assert!(code_ord("0000000000") >= MIN_CODE_ORD);
        assert!(code_ord("000000000000") >= MIN_CODE_ORD);
    }

    #[test]
    fn code_ord_orders_like_strings_and_round_trips() {
        let codes = [
            "0123456789",
            "1440302610",
            "144030261012",
            "3500261130",
            "350026113099",
        ];
        let mut sorted = codes.to_vec();
        sorted.sort();
        let mut by_ord = codes.to_vec();
        by_ord.sort_by_key(|c| code_ord(c));
        assert_eq!(sorted, by_ord);
        for c in codes {
            assert_eq!(code_from_ord(code_ord(c)), c);
        }
    }
}
