//! Under load (issue 22): the real server on loopback, a `fapiao demo` dataset of `--invoices`
//! invoices, and `--connections` concurrent keep-alive connections (default 50) for `--secs`
//! seconds (default 10). Each connection is one taxpayer's browser: it runs the 发票勾选 query
//! (GET /api/v1/invoices, three condition sets, several pages), every `--save-every`-th request
//! saves a selection (POST /api/v1/selections: ticks up to three unselected invoices of the
//! page it last saw and unticks what it ticked before), and every `--confirm-every`-th request
//! is 确定 (POST /api/v1/confirmations). `--save-every 1` is saves only: a connection queries
//! its 未勾选 page only when it has ticked every invoice of the page it saw (about one query
//! per sixteen saves), as a clerk ticking down a page does. `--save-every 0` and
//! `--confirm-every 0` leave saves or 确定 out (`0 0` is queries only).
//!
//! The connections are a load generator's, not a browser's: each is one keep-alive socket
//! with the request written in one buffer and the answer read by its `Content-Length` (see
//! [`Conn`]), so the client takes little of the two cores it shares with the server.
//!
//! `cargo bench --bench load -- --invoices 1000000 --secs 10`
//!
//! The last line printed is one JSON object: requests per second, p50/p99 (ms) per operation,
//! errors (transport failures and answers other than the expected ones) and the process's RSS
//! after the run (server and client share the process; the client's share is small).
//! After the run, for every taxpayer the API's count of 已勾选 invoices (the index) must equal
//! the store's (the truth): checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Days;
use fapiao::config::{SessionSettings, Settings};
use fapiao::service::App;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::flags;

/// The part of a 发票勾选 page the client reads (a browser reads more, but parsing every
/// member into a `serde_json::Value` took a tenth of the machine the server shares).
#[derive(serde::Deserialize)]
struct Page {
    items: Vec<PageItem>,
}

#[derive(serde::Deserialize)]
struct PageItem {
    #[serde(default)]
    code: Option<String>,
    number: String,
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    query_us: Vec<u32>,
    save_us: Vec<u32>,
    confirm_us: Vec<u32>,
    errors: u64,
    first_errors: Vec<String>,
    /// 确定 with nothing selected (422 `nothing_selected`): an expected answer.
    nothing_selected: u64,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_errors.len() < 3 {
            self.first_errors.push(what);
        }
    }
}

struct Plan {
    addr: std::net::SocketAddr,
    token: String,
    from: String,
    to: String,
    save_every: u64,
    confirm_every: u64,
    until: Instant,
}

/// One keep-alive HTTP/1.1 connection, as a load generator holds it (wrk's way): the request
/// written out in one buffer, the answer's head parsed with `httparse` and its body read by
/// its `Content-Length`. A full client (reqwest over hyper, with its pool and its tasks)
/// spent about as much of the two cores the server shares as the server did: the bench then
/// measured the client. Opened on first use and after any failure or `Connection: close`.
struct Conn {
    addr: std::net::SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    request: Vec<u8>,
}

/// An answer: its status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: std::net::SocketAddr) -> Self {
        Conn {
            addr,
            stream: None,
            buf: Vec::with_capacity(32 * 1024),
            request: Vec::with_capacity(1024),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        json: Option<&[u8]>,
    ) -> Result<Answer, String> {
        let r = self.exchange(method, path, auth, json).await;
        if r.is_err() {
            self.stream = None;
            self.buf.clear();
        }
        r
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        auth: &str,
        json: Option<&[u8]>,
    ) -> Result<Answer, String> {
        use std::io::Write as _;
        self.request.clear();
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n",
            self.addr
        )
        .map_err(|e| e.to_string())?;
        if let Some(body) = json {
            write!(
                self.request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
            .map_err(|e| e.to_string())?;
        }
        self.request.extend_from_slice(b"\r\n");
        if let Some(body) = json {
            self.request.extend_from_slice(body);
        }
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().ok_or("no connection")?;
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        // The head, then the body of its length.
        let (head_len, status, length, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Response::new(&mut headers);
            match head
                .parse(&self.buf)
                .map_err(|e| format!("answer head: {e}"))?
            {
                httparse::Status::Complete(n) => {
                    let header = |name: &str| {
                        head.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
                    };
                    if header("transfer-encoding").is_some() {
                        return Err("a chunked answer (the bench reads sized ones)".into());
                    }
                    let length: usize = header("content-length")
                        .ok_or("an answer without Content-Length")?
                        .trim()
                        .parse()
                        .map_err(|_| "a bad Content-Length")?;
                    let close = header("connection").is_some_and(|v| v.contains("close"));
                    break (n, head.code.unwrap_or(0), length, close);
                }
                httparse::Status::Partial => read_more(stream, &mut self.buf).await?,
            }
        };
        while self.buf.len() < head_len + length {
            read_more(stream, &mut self.buf).await?;
        }
        let body = self.buf[head_len..head_len + length].to_vec();
        self.buf.drain(..head_len + length);
        if close {
            self.stream = None;
            self.buf.clear();
        }
        Ok(Answer { status, body })
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("the server closed the connection".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

async fn connection(plan: Arc<Plan>, n: u64) -> Tally {
    let mut conn = Conn::new(plan.addr);
    let auth = format!("Bearer {}", plan.token);
    let mut t = Tally::default();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut ticked: Vec<(String, String)> = Vec::new();
    let mut i = n; // connections start at different points of the mix
    let every = |i: u64, k: u64| k > 0 && i.is_multiple_of(k);
    while Instant::now() < plan.until {
        i += 1;
        let started = Instant::now();
        if every(i, plan.confirm_every) {
            match conn
                .send("POST", "/api/v1/confirmations", &auth, Some(b"{}"))
                .await
            {
                Ok(r) if (200..300).contains(&r.status) => {
                    t.confirm_us.push(started.elapsed().as_micros() as u32);
                }
                Ok(r) if r.status == 422 => {
                    let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                    if body["code"] == "nothing_selected" {
                        t.nothing_selected += 1;
                        t.confirm_us.push(started.elapsed().as_micros() as u32);
                    } else {
                        t.error(format!("confirm 422 {body}"));
                    }
                }
                Ok(r) => t.error(format!("confirm {}", r.status)),
                Err(e) => t.error(format!("confirm {e}")),
            }
        } else if every(i, plan.save_every) && (plan.save_every > 1 || !seen.is_empty()) {
            let select: Vec<Value> = seen
                .iter()
                .take(3)
                .map(|(c, n)| json!({"code": c, "number": n}))
                .collect();
            let unselect: Vec<Value> = ticked
                .iter()
                .map(|(c, n)| json!({"code": c, "number": n}))
                .collect();
            let body = json!({"select": select, "unselect": unselect}).to_string();
            match conn
                .send("POST", "/api/v1/selections", &auth, Some(body.as_bytes()))
                .await
            {
                Ok(r) if (200..300).contains(&r.status) => {
                    t.save_us.push(started.elapsed().as_micros() as u32);
                    ticked = seen.drain(..seen.len().min(3)).collect();
                }
                Ok(r) => t.error(format!("save {}", r.status)),
                Err(e) => t.error(format!("save {e}")),
            }
        } else {
            // The three condition sets of the page: 未勾选 (the default), all uncertified
            // paged, and the certified ones.
            let (extra, page) = match i % 4 {
                _ if plan.save_every == 1 => ("", 1),
                0 | 1 => ("", 1),
                2 => ("&selected=all", 1 + (i / 4) % 5),
                _ => ("&certified=true&method=all", 1 + (i / 4) % 3),
            };
            let path = format!(
                "/api/v1/invoices?issued_from={}&issued_to={}{extra}&page={page}&per_page=50",
                plan.from, plan.to
            );
            match conn.send("GET", &path, &auth, None).await {
                Ok(r) if r.status == 200 => {
                    // Every page is parsed as the page it must be; the 未勾选 one is kept
                    // for the next save.
                    match serde_json::from_slice::<Page>(&r.body) {
                        Ok(body) => {
                            t.query_us.push(started.elapsed().as_micros() as u32);
                            if extra.is_empty() && plan.save_every > 0 {
                                seen = body
                                    .items
                                    .into_iter()
                                    .skip((i % 16) as usize * 3)
                                    .map(|x| (x.code.unwrap_or_default(), x.number))
                                    .collect();
                            }
                        }
                        Err(e) => t.error(format!("query body {e}")),
                    }
                }
                Ok(r) => t.error(format!("query {}", r.status)),
                Err(e) => t.error(format!("query {e}")),
            }
        }
    }
    t
}

fn percentile_ms(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    (f64::from(v[i.min(v.len() - 1)]) / 10.0).round() / 100.0
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let f = flags(&[
        ("invoices", 200_000),
        ("connections", 50),
        ("secs", 10),
        ("save-every", 10),
        ("confirm-every", 200),
        ("seed", 2026),
    ]);
    // `LOAD_DATA=DIR`: serve an existing data directory (say one `fapiao demo --invoices
    // 10000000 --no-serve` made) instead of generating one; the run's saves and 确定 change it.
    let existing = std::env::var_os("LOAD_DATA").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        http: true,
        data_dir: existing
            .clone()
            .unwrap_or_else(|| dir.path().join("fapiao")),
        log_format: "pretty".into(),
        training: true,
        session: SessionSettings {
            login_attempts_per_minute: 10_000,
            ..SessionSettings::default()
        },
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let who = app.system("bench");
    // The taxpayers that can log in (a credit rating set).
    let mut invoices = f["invoices"];
    let taxpayers: Vec<String> = if existing.is_some() {
        use fapiao::store::prelude::*;
        let r = app.store.read().unwrap();
        let all = r.taxpayers().unwrap();
        invoices = r.invoice_count().unwrap();
        eprintln!("serving {invoices} invoices");
        all.into_iter()
            .filter(|t| t.credit_rating.is_some())
            .map(|t| t.id.as_str().to_string())
            .collect()
    } else {
        let started = Instant::now();
        let summary = fapiao::demo::generate(&app, &who, f["invoices"], f["seed"], false).unwrap();
        eprintln!(
            "generated {} invoices in {:.1}s",
            summary.invoices,
            started.elapsed().as_secs_f64()
        );
        summary
            .taxpayers
            .iter()
            .filter(|t| t.2.is_some())
            .map(|t| t.0.as_str().to_string())
            .collect()
    };
    let rss_before_mb = status_kb("VmRSS:") / 1024;

    let (tx, rx) = std::sync::mpsc::channel();
    let server_app = app.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let running = fapiao::server::start(server_app).unwrap();
            tx.send(running.addr).unwrap();
            let _ = running.server.await;
        });
    });
    let addr = rx.recv().unwrap();
    let base = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let today = who.now.date_naive();
    let from = (today - Days::new(360)).to_string();
    let to = today.to_string();
    let secs = f["secs"];
    let connections = f["connections"];
    let report = rt.block_on(async {
        let c = reqwest::Client::new();
        let mut tokens = Vec::new();
        for id in &taxpayers {
            let r: Value = c
                .post(format!("{base}/api/v1/session"))
                .json(&json!({ "taxpayer_id": id }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens.push(r["token"].as_str().expect("login").to_string());
        }
        let until = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for n in 0..connections {
            let plan = Arc::new(Plan {
                addr,
                token: tokens[n as usize % tokens.len()].clone(),
                from: from.clone(),
                to: to.clone(),
                save_every: f["save-every"],
                confirm_every: f["confirm-every"],
                until,
            });
            tasks.push(tokio::spawn(connection(plan, n * 7)));
        }
        let began = Instant::now();
        let mut all = Tally::default();
        for t in tasks {
            let t = t.await.unwrap();
            all.query_us.extend(t.query_us);
            all.save_us.extend(t.save_us);
            all.confirm_us.extend(t.confirm_us);
            all.errors += t.errors;
            all.nothing_selected += t.nothing_selected;
            for e in t.first_errors {
                if all.first_errors.len() < 5 {
                    all.first_errors.push(e);
                }
            }
        }
        let elapsed = began.elapsed().as_secs_f64();
        // Index and store agree on what is selected, for every taxpayer.
        for (id, token) in taxpayers.iter().zip(&tokens) {
            let api: Value = c
                .get(format!(
                    "{base}/api/v1/invoices?issued_from=2000-01-01&issued_to={to}&selected=true&status=all&per_page=1"
                ))
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let tid = fapiao::domain::TaxpayerId::parse(id).unwrap();
            let truth = fapiao::service::portal::confirmation::selected_invoices(
                &app,
                &app.system("bench"),
                &tid,
            )
            .unwrap()
            .len() as u64;
            assert_eq!(
                api["total"].as_u64(),
                Some(truth),
                "{id}: the API's 已勾选 count differs from the store's"
            );
        }
        (all, elapsed)
    });
    let (mut all, elapsed) = report;
    let g = app.store.group_stats();
    let mean_ms = |us: u64| ((us as f64 / g.groups.max(1) as f64) / 100.0).round() / 10.0;
    let n = |v: &Vec<u32>| v.len() as f64 / elapsed;
    let rss_mb = status_kb("VmRSS:") / 1024;
    let hwm_mb = status_kb("VmHWM:") / 1024;
    // Page rows found in memory (`store::rows`) among those asked for: how much of the page
    // reads the cache served (the few checking reads after the run included).
    let (hits, misses) = app.store.row_cache_counts();
    let row_hit_ratio = hits as f64 / (hits + misses).max(1) as f64;
    for e in &all.first_errors {
        eprintln!("error: {e}");
    }
    println!(
        "{}",
        json!({
            "invoices": invoices,
            "connections": connections,
            "secs": (elapsed * 10.0).round() / 10.0,
            "query_per_s": n(&all.query_us).round(),
            "query_p50_ms": percentile_ms(&mut all.query_us, 0.5),
            "query_p99_ms": percentile_ms(&mut all.query_us, 0.99),
            "save_per_s": n(&all.save_us).round(),
            "save_p50_ms": percentile_ms(&mut all.save_us, 0.5),
            "save_p99_ms": percentile_ms(&mut all.save_us, 0.99),
            "confirm_per_s": (n(&all.confirm_us) * 10.0).round() / 10.0,
            "confirm_p50_ms": percentile_ms(&mut all.confirm_us, 0.5),
            "confirm_p99_ms": percentile_ms(&mut all.confirm_us, 0.99),
            "nothing_selected": all.nothing_selected,
            "errors": all.errors,
            "groups": g.groups,
            "writes_per_group": ((g.writes as f64 / g.groups.max(1) as f64) * 10.0).round() / 10.0,
            "group_flush_ms": mean_ms(g.flush_us),
            "group_index_ms": mean_ms(g.sync_us),
            "rss_before_mb": rss_before_mb,
            "rss_mb": rss_mb,
            "peak_rss_mb": hwm_mb,
            // What the RSS is at the end: the heap, and the files mapped (the index's).
            "rss_anon_mb": status_kb("RssAnon:") / 1024,
            "rss_file_mb": status_kb("RssFile:") / 1024,
            "row_cache_hit_ratio": (row_hit_ratio * 1000.0).round() / 1000.0,
        })
    );
}
