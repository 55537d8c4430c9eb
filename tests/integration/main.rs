//! One integration-test binary (fast linking): the real server on a random port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod bulk;
mod certificates;
mod certificates_issue;
mod cli;
mod console_data;
mod console_people;
mod crash;
mod documents;
mod engine;
mod faq;
mod hardening;
mod helpers;
mod http;
mod import_cli;
mod index_model;
mod interact;
mod interact_soak;
mod invoices;
mod layering;
mod openapi;
mod operations;
mod pages;
mod pdf;
mod services;
mod sessions;
#[cfg(feature = "smartcard")]
mod smartcard;
mod staff;
mod statistics;
mod statistics_model;
mod training_pages;
mod uses;
mod uses_statistics;
