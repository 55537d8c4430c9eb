//! The taxpayer's own record: the profile with the current period and its windows (S-P1),
//! 回退税款所属期 (S-P4), and 档案信息维护 with the platform password (S-T1, S-T2).

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::engine::{self};
use crate::domain::rules::{self};
use crate::domain::{
    Contact, CreditRating, DeclarationStatus, Enterprise, FilingPeriod, PasswordFailures,
    TaxPeriod, Taxpayer, TaxpayerId,
};
use crate::error::{AppError, AppResult, Code};
use crate::service::auth;
use crate::service::office::taxpayers::get;
use crate::service::settle::{ctx, settled};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Subject;
use crate::store::Who;

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub taxpayer_id: TaxpayerId,
    pub name: String,
    #[schema(value_type = Option<String>, example = "A")]
    pub credit_rating: Option<CreditRating>,
    #[schema(value_type = String, example = "202611")]
    pub current_period: TaxPeriod,
    /// The last day of the current period's window (unless its declaration comes first).
    pub window_closes: NaiveDate,
    #[schema(value_type = Object)]
    pub filing_period: FilingPeriod,
    pub in_filing_period: bool,
    pub rollback_allowed: bool,
    /// The recorded declaration status of the current period, if any.
    #[schema(value_type = Option<String>, example = "declared")]
    pub declaration: Option<DeclarationStatus>,
    pub platform_password: bool,
    pub first_login: bool,
    pub region: String,
    /// 退税登记 `{"exporter", "trade_service"}`: which 退税 uses 发票勾选 offers.
    #[schema(value_type = Object)]
    pub refund_registration: crate::domain::RefundRegistration,
}

pub fn profile(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<Profile> {
    let t = settled(app, who, id)?;
    let c = ctx(app, who);
    let r = app.store.read()?;
    let deadline = engine::deadline_of(&r, &t, t.current_period)?;
    let filing_period = t.current_period.filing_period(deadline);
    let facts = engine::rollback_facts(&r, &c, &t)?;
    Ok(Profile {
        taxpayer_id: t.id.clone(),
        name: t.name.clone(),
        credit_rating: t.credit_rating,
        current_period: t.current_period,
        window_closes: deadline,
        filing_period,
        in_filing_period: filing_period.contains(c.today()),
        rollback_allowed: rules::rollback_check(&facts).is_ok(),
        declaration: r.declaration(&t.id, t.current_period)?,
        refund_registration: r.refund_registration(&t.id)?,
        platform_password: t.platform_password.is_some(),
        first_login: !t.first_login_done,
        region: t.region.code().to_string(),
    })
}

/// 回退税款所属期: on success the taxpayer's sessions end ("点击确定后，会自动退出系统，
/// 需要重新登陆").
pub fn rollback(app: &App, who: &Who, id: &TaxpayerId) -> AppResult<TaxPeriod> {
    settled(app, who, id)?;
    let c = ctx(app, who);
    app.store.write(who, |tx| {
        let p = engine::rollback(tx, &c, id)?;
        let n =
            tx.purge_sessions(|s| matches!(&s.subject, Subject::Taxpayer { id: x } if x == id))?;
        tx.audit("session.logout_all", id, format!("sessions={n}"));
        Ok(p)
    })
}

//

/// `PUT /api/v1/me/password`.
#[derive(Debug, Clone)]
pub enum PasswordChange {
    Enable {
        password: String,
        question: String,
        answer: String,
    },
    Disable,
}

/// Sets, changes or removes the platform password and recovery question (S-T2, S-T11).
pub fn set_password(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    change: PasswordChange,
) -> AppResult<bool> {
    let new = match change {
        PasswordChange::Disable => None,
        PasswordChange::Enable {
            password,
            question,
            answer,
        } => {
            crate::domain::rules::password_strength(&password).map_err(|e| {
                AppError::new(Code::WeakPassword)
                    .with_field("password")
                    .with_message(e.message)
            })?;
            let question = question.trim().to_string();
            let answer = answer.trim().to_string();
            if question.is_empty() {
                return Err(AppError::invalid("question", "请输入密保问题"));
            }
            if answer.is_empty() {
                return Err(AppError::invalid("answer", "请输入密保问题答案"));
            }
            Some(crate::domain::PlatformPassword {
                hash: auth::hash_password(&password)?,
                question,
                answer_hash: auth::hash_password(&answer)?,
            })
        }
    };
    app.store.write(who, |tx| {
        let mut t = tx
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        let action = match (&t.platform_password, &new) {
            (None, Some(_)) => "taxpayer.password_enable",
            (Some(_), Some(_)) => "taxpayer.password_change",
            (_, None) => "taxpayer.password_disable",
        };
        let enabled = new.is_some();
        t.platform_password = new;
        t.password_failures = PasswordFailures::default();
        tx.put_taxpayer(&t)?;
        tx.audit(action, id, "");
        Ok(enabled)
    })
}

/// The recovery question of a taxpayer with a platform password (for the recovery form).
pub fn recovery_question(app: &App, id: &TaxpayerId) -> AppResult<String> {
    let t = get(app, id)?;
    t.platform_password
        .map(|p| p.question)
        .ok_or_else(|| AppError::new(Code::Conflict).with_message("您未设置平台密码，无需找回"))
}

/// Forgotten password (S-T1): the right answer to the recovery question cancels the platform
/// password. Wrong answers count like wrong passwords (more than ten a day lock). Like a
/// login, a try is first held to the per-address limit, and the answer is checked with the
/// account's login lock held, so parallel guesses are each counted before the next is checked.
pub fn recover(app: &App, who: &Who, id: &TaxpayerId, answer: &str) -> AppResult<()> {
    if answer.chars().count() > crate::domain::login::MAX_PASSWORD_CHARS {
        return Err(AppError::invalid("answer", "密保问题答案过长"));
    }
    app.logins.admit(who.address.as_deref())?;
    app.logins.one_at_a_time(&format!("taxpayer:{id}"), || {
        recover_locked(app, who, id, answer)
    })
}

fn recover_locked(app: &App, who: &Who, id: &TaxpayerId, answer: &str) -> AppResult<()> {
    use crate::domain::login;
    let t = app
        .store
        .read()?
        .taxpayer(id)?
        .ok_or_else(|| AppError::new(Code::UnknownTaxpayer))?;
    let Some(pp) = &t.platform_password else {
        return Err(AppError::new(Code::Conflict).with_message("您未设置平台密码，无需找回"));
    };
    let today = who.now.date_naive();
    if login::is_locked(&t.password_failures, today) {
        return Err(AppError::new(Code::Locked));
    }
    if !auth::verify_password(&pp.answer_hash, answer.trim()) {
        let left = app.store.write(who, |tx| {
            let mut t = tx
                .taxpayer(id)?
                .ok_or_else(|| AppError::new(Code::UnknownTaxpayer))?;
            let (f, refusal) = login::after_wrong_password(&t.password_failures, today);
            t.password_failures = f;
            tx.put_taxpayer(&t)?;
            tx.audit(
                "taxpayer.recover_failed",
                id,
                format!("count={}", t.password_failures.count),
            );
            Ok(refusal)
        })?;
        return Err(match left {
            login::LoginRefusal::PasswordWrong { attempts_left } => {
                AppError::new(Code::AnswerWrong)
                    .with_message(format!("密保问题答案错误，您还可以尝试{attempts_left}次"))
                    .with_extra("attempts_left", attempts_left)
            }
            _ => AppError::new(Code::Locked),
        });
    }
    app.store.write(who, |tx| {
        let mut t = tx
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::UnknownTaxpayer))?;
        t.platform_password = None;
        t.password_failures = PasswordFailures::default();
        tx.put_taxpayer(&t)?;
        tx.audit(
            "taxpayer.password_recovered",
            id,
            "platform password cancelled",
        );
        Ok(())
    })
}

/// The taxpayer's own update of its enterprise and 办税人员 information (S-T2, S-T11); saving
/// it completes the first-login confirmation.
pub fn update_own(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    enterprise: Enterprise,
    contact: Contact,
) -> AppResult<Taxpayer> {
    if contact.name.trim().is_empty() {
        return Err(AppError::invalid("contact_name", "请填写办税人员姓名"));
    }
    let phone_ok = |p: &str| {
        let p = p.trim();
        !p.is_empty()
            && p.len() <= 20
            && p.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == ' ')
    };
    if !phone_ok(&contact.phone) {
        return Err(AppError::invalid(
            "contact_phone",
            "请填写正确的办税人员联系电话",
        ));
    }
    if !contact.email.trim().is_empty() && !contact.email.contains('@') {
        return Err(AppError::invalid("contact_email", "电子邮箱格式不正确"));
    }
    app.store.write(who, |tx| {
        let mut t = tx
            .taxpayer(id)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("纳税人不存在"))?;
        t.enterprise = enterprise;
        t.contact = contact;
        let first = !t.first_login_done;
        t.first_login_done = true;
        tx.put_taxpayer(&t)?;
        tx.audit(
            "taxpayer.profile",
            id,
            if first {
                "first login confirmed"
            } else {
                "updated"
            },
        );
        Ok(t)
    })
}
