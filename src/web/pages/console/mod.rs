//! The tax office console (S-O1–S-O6): one module per group of pages, each backed by the
//! same services as `/api/v1/office`.

mod certificates;
mod data;
mod people;
mod training;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    people::routes(cfg);
    certificates::routes(cfg);
    data::routes(cfg);
    training::routes(cfg);
}
