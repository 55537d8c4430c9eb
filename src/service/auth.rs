//! Logins and sessions: staff password login with throttling, taxpayer login (training mode
//! without a certificate for now), bearer/cookie session tokens with idle and absolute expiry,
//! logout. Tokens are 256-bit random values; only their SHA-256 is stored.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::App;
use crate::domain::login::{self, LoginRefusal};
use crate::domain::Taxpayer;
use crate::domain::{Actor, Role, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::store::prelude::*;
use crate::store::{SessionRecord, Subject, Throttle};
use crate::store::{Tx, Who};

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(e.to_string()))
}

/// Verifies a password against a PHC string; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hash used to spend the same time on unknown users as on known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1Jd0yq0cJ6DLq4tF1m8I4vXJ3xV9u4Y2oSg0m3s4Q3E";

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a session is stored under (the SHA-256 of its token): how the 征纳互动 hub tells a
/// session's sockets apart without holding the token.
pub fn session_key(token: &str) -> crate::service::interact::SessionKey {
    token_hash(token)
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Opens a session inside a write transaction and returns its token.
fn open_session(tx: &mut Tx, who: &Who, subject: Subject) -> AppResult<String> {
    let token = new_token();
    let now = who.wall.timestamp();
    tx.put_session(
        &token_hash(&token),
        &SessionRecord {
            subject,
            created_at: now,
            last_seen: now,
            address: who.address.clone(),
        },
    )?;
    Ok(token)
}

/// A staff login result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffLogin {
    pub token: String,
    pub username: String,
    #[schema(value_type = String, example = "operator")]
    pub role: Role,
    /// An administrator reset the password: every staff route but
    /// `PUT /api/v1/office/me/password` (and logging out) answers 403
    /// `password_change_required` until the user sets a new one.
    pub must_change_password: bool,
}

fn bounded_password(password: &str) -> AppResult<()> {
    if password.chars().count() > login::MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("密码长度不能超过{}位", login::MAX_PASSWORD_CHARS),
        ));
    }
    Ok(())
}

/// Staff login with username and password (S-O1). More than `staff_max_failures` wrong
/// passwords within the throttle window refuse further tries until the window passes.
///
/// Before anything is hashed or written: the username must be one the office could have
/// created (else 422), the password at most [`login::MAX_PASSWORD_CHARS`], and the address within
/// its login rate. The counter is then read, the password verified and the new count written
/// with the account's lock held, so parallel guesses cannot verify more than the limit.
pub fn staff_login(app: &App, who: &Who, username: &str, password: &str) -> AppResult<StaffLogin> {
    if username.trim().is_empty() || password.is_empty() {
        return Err(AppError::invalid("username", "请输入用户名和密码"));
    }
    let username = crate::domain::staff::parse_username(username)?;
    bounded_password(password)?;
    app.logins.admit(who.address.as_deref())?;
    let key = format!("staff:{username}");
    app.logins.one_at_a_time(&key, || {
        staff_login_locked(app, who, &key, &username, password)
    })
}

/// The staff password throttle of `key` (`staff:<username>`) at wall time `now`: 429 when the
/// window's wrong passwords reached `session.staff_max_failures`; else the counter to write
/// should this try fail. Call it with the account's login lock held (see `login_guard`).
pub(crate) fn staff_throttle(app: &App, key: &str, now: i64) -> AppResult<Throttle> {
    let cfg = &app.settings.session;
    let window = i64::try_from(cfg.throttle_window_secs).unwrap_or(i64::MAX);
    let throttle = app.store.read()?.throttle(key)?.unwrap_or_default();
    let in_window = now.saturating_sub(throttle.window_start) < window;
    if in_window && throttle.failures >= cfg.staff_max_failures {
        let wait = (throttle.window_start + window - now).max(1);
        return Err(AppError::new(Code::TooManyAttempts)
            .with_message(format!(
                "密码错误次数过多，请{}分钟后再试",
                (wait + 59) / 60
            ))
            .with_extra("retry_after_secs", wait));
    }
    Ok(if in_window {
        Throttle {
            window_start: throttle.window_start,
            failures: throttle.failures + 1,
        }
    } else {
        Throttle {
            window_start: now,
            failures: 1,
        }
    })
}

fn staff_login_locked(
    app: &App,
    who: &Who,
    key: &str,
    username: &str,
    password: &str,
) -> AppResult<StaffLogin> {
    let failed = staff_throttle(app, key, who.wall.timestamp())?;
    let staff = app.store.read()?.staff(username)?;
    let hash = staff
        .as_ref()
        .filter(|s| !s.disabled)
        .map(|s| s.password_hash.as_str())
        .unwrap_or(DUMMY_HASH);
    let ok = verify_password(hash, password) && staff.as_ref().is_some_and(|s| !s.disabled);
    let staff = match (ok, staff) {
        (true, Some(s)) => s,
        (_, known) => {
            app.store.write_session(who, |tx| {
                // Only accounts that exist are counted: an invented name leaves no row
                // behind but its audit entry (the address limit bounds those).
                let detail = if known.is_some() {
                    tx.put_throttle(key, &failed)?;
                    format!("failures={}", failed.failures)
                } else {
                    "unknown_user".to_string()
                };
                tx.audit("staff.login_failed", username, detail);
                Ok(())
            })?;
            return Err(AppError::new(Code::StaffLoginFailed));
        }
    };
    let who = Who {
        actor: Actor::Staff {
            username: staff.username.clone(),
        },
        ..who.clone()
    };
    let (token, must_change_password) = app.store.write_session(&who, |tx| {
        tx.clear_throttle(key)?;
        let token = open_session(
            tx,
            &who,
            Subject::Staff {
                username: staff.username.clone(),
            },
        )?;
        let mut meta = tx.staff_meta(&staff.username)?;
        meta.last_login_at = Some(who.wall);
        tx.put_staff_meta(&staff.username, &meta)?;
        tx.audit("staff.login", &staff.username, staff.role.as_str());
        Ok((token, meta.must_change_password))
    })?;
    Ok(StaffLogin {
        token,
        username: staff.username,
        role: staff.role,
        must_change_password,
    })
}

/// A taxpayer login result, as `POST /api/v1/session` returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaxpayerLogin {
    pub token: String,
    #[schema(value_type = String, example = "91350100M000100Y43")]
    pub taxpayer_id: TaxpayerId,
    pub first_login: bool,
}

fn refusal_error(r: LoginRefusal) -> AppError {
    match r {
        LoginRefusal::UnknownTaxpayer => AppError::new(Code::UnknownTaxpayer),
        LoginRefusal::NotEligible => AppError::new(Code::NotEligible),
        LoginRefusal::CreditRatingUnset => AppError::new(Code::CreditRatingUnset),
        LoginRefusal::PasswordRequired => AppError::new(Code::PasswordRequired),
        LoginRefusal::PasswordWrong { attempts_left } => AppError::new(Code::PasswordWrong)
            .with_message(format!("平台密码错误，您还可以尝试{attempts_left}次"))
            .with_extra("attempts_left", attempts_left),
        LoginRefusal::Locked => AppError::new(Code::Locked),
    }
}

/// Taxpayer login once the taxpayer is identified (by certificate, or in training mode by
/// the ID given): the S-T1 checks, then the platform password when one is set. The address
/// limit comes first; the password is verified with the account's lock held, on the record
/// read under it, so parallel wrong passwords are each counted before the next is verified.
pub fn taxpayer_login(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    password: Option<&str>,
) -> AppResult<TaxpayerLogin> {
    login_with(app, who, id, password, None)
}

/// [`taxpayer_login`] with the client certificate of SHA-256 `fingerprint` (hex): the
/// session remembers it, so that revoking the certificate ends the session.
pub fn certificate_login(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    password: Option<&str>,
    fingerprint: &str,
) -> AppResult<TaxpayerLogin> {
    login_with(app, who, id, password, Some(fingerprint))
}

fn login_with(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    password: Option<&str>,
    fingerprint: Option<&str>,
) -> AppResult<TaxpayerLogin> {
    if let Some(p) = password {
        bounded_password(p)?;
    }
    app.logins.admit(who.address.as_deref())?;
    app.logins.one_at_a_time(&format!("taxpayer:{id}"), || {
        taxpayer_login_locked(app, who, id, password, fingerprint)
    })
}

fn taxpayer_login_locked(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    password: Option<&str>,
    fingerprint: Option<&str>,
) -> AppResult<TaxpayerLogin> {
    let record = app.store.read()?.taxpayer(id)?;
    let taxpayer = login::admission(record.as_ref()).map_err(refusal_error)?;
    let today = who.now.date_naive();
    if let Some(pp) = &taxpayer.platform_password {
        if login::is_locked(&taxpayer.password_failures, today) {
            return Err(refusal_error(LoginRefusal::Locked));
        }
        let given = password.filter(|p| !p.is_empty());
        let Some(given) = given else {
            return Err(refusal_error(LoginRefusal::PasswordRequired));
        };
        if !verify_password(&pp.hash, given) {
            let refusal = app.store.write_session(who, |tx| {
                let mut t = tx
                    .taxpayer(id)?
                    .ok_or_else(|| AppError::new(Code::UnknownTaxpayer))?;
                let (failures, refusal) = login::after_wrong_password(&t.password_failures, today);
                t.password_failures = failures;
                tx.put_taxpayer(&t)?;
                tx.audit(
                    "taxpayer.password_failed",
                    id,
                    format!("count={}", t.password_failures.count),
                );
                Ok(refusal)
            })?;
            return Err(refusal_error(refusal));
        }
    }
    let first_login = !taxpayer.first_login_done;
    let who = Who {
        actor: Actor::Taxpayer { id: id.clone() },
        ..who.clone()
    };
    let token = app.store.write_session(&who, |tx| {
        if let Some(mut t) = tx.taxpayer(id)? {
            if t.password_failures.count != 0 {
                t.password_failures = Default::default();
                tx.put_taxpayer(&t)?;
            }
        }
        let token = open_session(tx, &who, Subject::Taxpayer { id: id.clone() })?;
        if let Some(fp) = fingerprint {
            tx.put_session_certificate(&token_hash(&token), fp)?;
        }
        // The alerts' "since the last visit" (business time, like the invoices' histories).
        tx.note_visit(id, who.now)?;
        tx.audit("taxpayer.login", id, "");
        Ok(token)
    })?;
    Ok(TaxpayerLogin {
        token,
        taxpayer_id: id.clone(),
        first_login,
    })
}

/// Training-mode login without a certificate: refused outside training mode.
pub fn training_login(
    app: &App,
    who: &Who,
    id: &TaxpayerId,
    password: Option<&str>,
) -> AppResult<TaxpayerLogin> {
    if !app.training() {
        return Err(AppError::new(Code::CertificateRequired));
    }
    taxpayer_login(app, who, id, password)
}

/// Whether a session has passed its idle or absolute limit at wall time `wall_secs`.
fn expired(app: &App, s: &SessionRecord, wall_secs: i64) -> bool {
    let cfg = &app.settings.session;
    let idle = i64::try_from(cfg.idle_secs).unwrap_or(i64::MAX);
    let max = i64::try_from(cfg.max_secs).unwrap_or(i64::MAX);
    wall_secs.saturating_sub(s.last_seen) > idle || wall_secs.saturating_sub(s.created_at) > max
}

/// Resolves a session token at wall time `who.wall`. Expired sessions are removed.
pub fn authenticate(app: &App, token: &str, wall_secs: i64) -> AppResult<Subject> {
    let hash = token_hash(token);
    let Some(s) = app.store.read()?.session(&hash)? else {
        return Err(AppError::new(Code::NotLoggedIn));
    };
    if expired(app, &s, wall_secs) {
        app.store.housekeeping(|tx| tx.delete_session(&hash))?;
        return Err(AppError::new(Code::SessionExpired));
    }
    // Refresh the idle timer at most once a minute, and at least twice per idle limit (an
    // idle limit under a minute would otherwise end sessions in use).
    let idle = i64::try_from(app.settings.session.idle_secs).unwrap_or(i64::MAX);
    if wall_secs - s.last_seen >= (idle / 2).clamp(1, 60) {
        let mut touched = s.clone();
        touched.last_seen = wall_secs;
        app.store
            .housekeeping(|tx| tx.put_session(&hash, &touched))?;
    }
    Ok(s.subject)
}

/// Ends the session of `token`.
pub fn logout(app: &App, who: &Who, token: &str) -> AppResult<()> {
    let hash = token_hash(token);
    app.store.write_session(who, |tx| {
        let existed = tx.delete_session(&hash)?;
        tx.audit(
            "session.logout",
            who.actor.to_string(),
            if existed { "" } else { "unknown" },
        );
        Ok(())
    })
}

/// Removes every expired session (run at start-up and periodically).
pub fn purge_expired_sessions(app: &App, wall_secs: i64) -> AppResult<usize> {
    app.store
        .housekeeping(|tx| tx.purge_sessions(|s| expired(app, s, wall_secs)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_dummy_is_well_formed() {
        let h = hash_password("Secret123").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "Secret123"));
        assert!(!verify_password(&h, "secret123"));
        assert!(!verify_password("not a hash", "x"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
