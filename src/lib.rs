//! fapiao: the VAT invoice selection and confirmation platform (增值税发票选择确认平台) and
//! its taxpayer-service channel (征纳互动), in one binary.
//!
//! Layers, each depending only on those listed after it:
//! `cli` → `server` → `web`, `api` → `service` → `index` → `store` → `domain`.
//! `pdf` (A4 reports with an embedded CJK font) and `sheet` (spreadsheet files) are leaves that
//! the services call; they know nothing of the store.
//! `config` and `error` are shared.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod index;
pub mod pdf;
pub mod server;
pub mod service;
pub mod sheet;
pub mod store;
pub mod web;
