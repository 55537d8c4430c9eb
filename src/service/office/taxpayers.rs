//! Taxpayer records as the office keeps them (S-D8, S-O2): create, read, update (with the
//! change history), search and unlock.

use crate::domain::engine;
use crate::domain::{
    Contact, CreditRating, Enterprise, Paging, PasswordFailures, RefundRegistration, Region,
    TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// What the office gives when registering a taxpayer.
#[derive(Debug, Clone)]
pub struct NewTaxpayer {
    pub id: TaxpayerId,
    pub name: String,
    pub region: Region,
    pub authority: String,
    pub eligible: bool,
    pub credit_rating: Option<CreditRating>,
    pub contact: Contact,
    pub enterprise: Enterprise,
    /// Defaults to the month of the business clock.
    pub current_period: Option<TaxPeriod>,
    pub training: bool,
}

/// Builds the record for a new taxpayer (no storage).
pub fn new_record(who: &Who, n: NewTaxpayer) -> AppResult<Taxpayer> {
    let name = n.name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("name", "纳税人名称不能为空"));
    }
    let rating_history = match n.credit_rating {
        Some(r) => vec![crate::domain::RatingChange {
            at: who.now,
            from: None,
            to: Some(r),
            by: who.actor.to_string(),
        }],
        None => Vec::new(),
    };
    Ok(Taxpayer {
        id: n.id,
        name,
        region: n.region,
        authority: n.authority,
        eligible: n.eligible,
        credit_rating: n.credit_rating,
        rating_history,
        contact: n.contact,
        enterprise: n.enterprise,
        platform_password: None,
        password_failures: PasswordFailures::default(),
        certificates: Vec::new(),
        current_period: n
            .current_period
            .unwrap_or_else(|| TaxPeriod::of_date(who.now.date_naive())),
        manual_advance_from: None,
        first_login_done: false,
        training: n.training,
        created_at: who.now,
    })
}

/// Registers a taxpayer; a duplicate ID is 409.
pub fn create(app: &App, who: &Who, n: NewTaxpayer) -> AppResult<Taxpayer> {
    let t = new_record(who, n)?;
    app.store.write(who, |tx| {
        if tx.taxpayer(&t.id)?.is_some() {
            return Err(AppError::new(Code::Duplicate)
                .with_message(format!("纳税人识别号 {} 已存在", t.id))
                .with_field("taxpayer_id"));
        }
        tx.put_taxpayer(&t)?;
        tx.audit("taxpayer.create", &t.id, &t.name);
        Ok(())
    })?;
    Ok(t)
}

pub fn get(app: &App, id: &TaxpayerId) -> AppResult<Taxpayer> {
    app.store
        .read()?
        .taxpayer(id)?
        .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))
}

/// What the office may change on a taxpayer's record (`None` leaves a field as it is).
#[derive(Debug, Clone, Default)]
pub struct TaxpayerUpdate {
    pub name: Option<String>,
    pub region: Option<Region>,
    pub authority: Option<String>,
    pub eligible: Option<bool>,
    /// `Some(None)` clears the rating.
    pub credit_rating: Option<Option<CreditRating>>,
    pub contact: Option<Contact>,
}

fn rating_str(r: Option<CreditRating>) -> String {
    r.map_or_else(|| "未设置".to_string(), |r| r.as_str().to_string())
}

/// Updates a taxpayer (S-O2); every changed field is kept as a change record, and a rating
/// change also in the rating history the taxpayer sees (S-T11).
pub fn update(app: &App, who: &Who, id: &TaxpayerId, u: TaxpayerUpdate) -> AppResult<Taxpayer> {
    if let Some(n) = &u.name {
        if n.trim().is_empty() {
            return Err(AppError::invalid("name", "纳税人名称不能为空"));
        }
    }
    app.store.write(who, |tx| {
        let mut t = tx
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        let mut changes: Vec<(&str, String, String)> = Vec::new();
        if let Some(n) = u.name.as_ref().map(|n| n.trim().to_string()) {
            if n != t.name {
                changes.push(("name", t.name.clone(), n.clone()));
                t.name = n;
            }
        }
        if let Some(r) = u.region {
            if r != t.region {
                changes.push(("region", t.region.code().into(), r.code().into()));
                t.region = r;
            }
        }
        if let Some(a) = u.authority.as_ref().map(|a| a.trim().to_string()) {
            if a != t.authority {
                changes.push(("authority", t.authority.clone(), a.clone()));
                t.authority = a;
            }
        }
        if let Some(e) = u.eligible {
            if e != t.eligible {
                changes.push(("eligible", t.eligible.to_string(), e.to_string()));
                t.eligible = e;
            }
        }
        if let Some(r) = u.credit_rating {
            if r != t.credit_rating {
                changes.push(("credit_rating", rating_str(t.credit_rating), rating_str(r)));
                t.rating_history.push(crate::domain::RatingChange {
                    at: who.now,
                    from: t.credit_rating,
                    to: r,
                    by: who.actor.to_string(),
                });
                t.credit_rating = r;
            }
        }
        if let Some(c) = u.contact {
            if c != t.contact {
                changes.push((
                    "contact",
                    format!("{} {}", t.contact.name, t.contact.phone),
                    format!("{} {}", c.name, c.phone),
                ));
                t.contact = c;
            }
        }
        for (field, from, to) in &changes {
            tx.add_taxpayer_change(
                id,
                &crate::domain::ProfileChange {
                    at: who.now,
                    by: who.actor.to_string(),
                    field: (*field).to_string(),
                    from: from.clone(),
                    to: to.clone(),
                },
            )?;
        }
        tx.put_taxpayer(&t)?;
        let fields: Vec<&str> = changes.iter().map(|c| c.0).collect();
        tx.audit(
            "taxpayer.update",
            id,
            format!("changed={}", fields.join(",")),
        );
        Ok(t)
    })
}

/// Office search by ID or name (substring, case-insensitive for the ID), ordered by ID.
pub fn search(app: &App, q: &str, paging: Paging) -> AppResult<(usize, Vec<Taxpayer>)> {
    let q = q.trim().to_uppercase();
    let mut all: Vec<Taxpayer> = app
        .store
        .read()?
        .taxpayers()?
        .into_iter()
        .filter(|t| {
            q.is_empty() || t.id.as_str().contains(&q) || t.name.to_uppercase().contains(&q)
        })
        .collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let total = all.len();
    paging.within(total as u64)?;
    let items = all
        .into_iter()
        .skip(paging.offset())
        .take(paging.per_page())
        .collect();
    Ok((total, items))
}

/// Staff unlock of a platform password locked after too many wrong tries (S-T1, S-O2).
pub fn unlock(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Taxpayer> {
    app.store.write(who, |tx| {
        let mut t = tx
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        let before = t.password_failures.count;
        t.password_failures = PasswordFailures::default();
        tx.put_taxpayer(&t)?;
        tx.audit("taxpayer.unlock", id, format!("failures={before}"));
        Ok(t)
    })
}

/// The office's change records of a taxpayer.
pub fn changes(app: &App, id: &TaxpayerId) -> AppResult<Vec<crate::domain::ProfileChange>> {
    app.store.read()?.taxpayer_changes(id)
}

/// The taxpayer's 退税 registration (出口退税企业, 外贸综合服务企业); none when never set.
pub fn refund_registration(app: &App, id: &TaxpayerId) -> AppResult<RefundRegistration> {
    let r = app.store.read()?;
    if r.taxpayer(id)?.is_none() {
        return Err(AppError::new(Code::NotFound).with_message("纳税人不存在"));
    }
    r.refund_registration(id)
}

/// Records the taxpayer's 退税 registration (audited when it changes).
pub fn set_refund_registration(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    registration: RefundRegistration,
) -> AppResult<RefundRegistration> {
    let c = crate::service::settle::ctx(app, who);
    // Setting what is already recorded changes nothing (and needs no audit entry).
    app.store
        .write_if_changed(who, |tx| engine::set_registration(tx, &c, id, registration))
}
