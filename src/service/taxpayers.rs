//! Taxpayer records (S-D8, S-O2): create and read. Updates, search and unlock come with the
//! office console.

use crate::domain::{
    Contact, CreditRating, Enterprise, PasswordFailures, Region, TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::store::Who;

use super::App;

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

/// The taxpayers offered on the training login page.
pub fn training_list(app: &App) -> AppResult<Vec<Taxpayer>> {
    let mut list: Vec<Taxpayer> = app
        .store
        .read()?
        .taxpayers()?
        .into_iter()
        .filter(|t| t.training)
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}
