//! fapiao: the VAT invoice selection and confirmation platform (增值税发票选择确认平台) and
//! its taxpayer-service channel (征纳互动), in one binary.
//!
//! The modules, from the bottom up: `domain` (types and rules), `store` (redb, the truth),
//! `index` (tantivy, derived), `formats` (import files, spreadsheets, PDF), `pki`
//! (certificates), `service` (the use cases, by audience), `http` (the request layer),
//! `api` and `web` (JSON and pages), `server` (start-up and background jobs), `demo` and
//! `cli`. Which may use which is written once, as a test: `tests/layering.rs`.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod formats;
pub mod http;
pub mod index;
pub mod pki;
pub mod server;
pub mod service;
#[cfg(feature = "smartcard")]
pub mod smartcard;
pub mod store;
pub mod web;

/// The allocator of every binary built on this library (the server, the benches, the tests).
/// Under concurrent requests glibc's malloc took about a fifth of the server's CPU (its arena
/// locks and `malloc_consolidate` after the index's large per-query buffers); mimalloc's
/// thread-local free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
