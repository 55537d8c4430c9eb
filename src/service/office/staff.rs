//! Tax office staff accounts (S-O1): create, list, change name, role or disabled, reset a
//! password (the user must then change it), change one's own password. Every change is
//! audited in its write transaction; a refusal changes nothing. At least one active (not
//! disabled) administrator always remains.

use chrono::{DateTime, FixedOffset};

use crate::domain::{DomainError, Role, Staff};
use crate::error::{AppError, AppResult, Code};
use crate::service::auth::{hash_password, verify_password};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::{Subject, Tx, Who};

/// A new account's data as given by an administrator or the command line.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

pub use crate::domain::staff::parse_username;

/// Passwords: at least 8 characters, not letters only, not digits only (as API.md asks of
/// platform passwords; staff passwords follow the same rule).
pub fn check_password_strength(field: &'static str, p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if n < 8 {
        return Err(DomainError::new(field, "密码长度不能少于8位"));
    }
    if n > crate::domain::login::MAX_PASSWORD_CHARS {
        return Err(DomainError::new(field, "密码长度不能超过128位"));
    }
    if p.chars().all(|c| c.is_alphabetic()) {
        return Err(DomainError::new(field, "密码不能全部为字母"));
    }
    if p.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::new(field, "密码不能全部为数字"));
    }
    Ok(())
}

/// The strength rule as a request refusal: 422 `weak_password` on `field`.
fn strong(field: &'static str, p: &str) -> AppResult<()> {
    check_password_strength(field, p).map_err(|e| {
        AppError::new(Code::WeakPassword)
            .with_message(e.message)
            .with_field(field)
    })
}

/// The longest display name accepted.
const MAX_NAME_CHARS: usize = 50;

fn display_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("姓名不能超过{MAX_NAME_CHARS}个字符"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "姓名不能包含控制字符"));
    }
    Ok(name.to_string())
}

pub fn create(app: &App, who: &Who, new: NewStaff) -> AppResult<Staff> {
    let username = parse_username(&new.username)?;
    let name = display_name(&new.display_name)?;
    strong("password", &new.password)?;
    let hash = hash_password(&new.password)?;
    let staff = Staff {
        display_name: if name.is_empty() {
            username.clone()
        } else {
            name
        },
        username,
        role: new.role,
        password_hash: hash,
        disabled: false,
        created_at: who.wall,
    };
    app.store.write(who, |tx| {
        if tx.staff(&staff.username)?.is_some() {
            return Err(AppError::new(Code::Duplicate)
                .with_message(format!("用户名 {} 已存在", staff.username))
                .with_field("username"));
        }
        tx.put_staff(&staff)?;
        tx.audit("staff.create", &staff.username, staff.role.as_str());
        Ok(())
    })?;
    Ok(staff)
}

/// Sets a new password for an existing account (the command line; the user is not asked to
/// change it).
pub fn set_password(app: &App, who: &Who, username: &str, password: &str) -> AppResult<()> {
    strong("password", password)?;
    let hash = hash_password(password)?;
    app.store.write(who, |tx| {
        let mut s = tx
            .staff(username)?
            .ok_or_else(|| AppError::new(Code::NotFound).with_message("用户不存在"))?;
        s.password_hash = hash;
        tx.put_staff(&s)?;
        tx.audit("staff.password", username, "");
        Ok(())
    })
}

/// Creates the administrator `admin` with `password`, or resets its password if it exists.
pub fn ensure_admin(app: &App, who: &Who, password: &str) -> AppResult<()> {
    if app.store.read()?.staff("admin")?.is_some() {
        return set_password(app, who, "admin", password);
    }
    create(
        app,
        who,
        NewStaff {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            role: Role::Admin,
            password: password.into(),
        },
    )
    .map(|_| ())
}

/// A staff account with what is kept besides its record.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub staff: Staff,
    pub must_change_password: bool,
    pub last_login_at: Option<DateTime<FixedOffset>>,
    /// The regions served in 征纳互动 (none: every region).
    pub regions: Vec<crate::domain::Region>,
}

fn account(r: &impl StaffReads, staff: Staff) -> AppResult<StaffAccount> {
    let meta = r.staff_meta(&staff.username)?;
    let regions = r.staff_regions(&staff.username)?;
    Ok(StaffAccount {
        staff,
        must_change_password: meta.must_change_password,
        last_login_at: meta.last_login_at,
        regions,
    })
}

fn not_found(username: &str) -> AppError {
    AppError::new(Code::NotFound).with_message(format!("用户 {username} 不存在"))
}

/// Every staff account, by username.
pub fn list(app: &App) -> AppResult<Vec<StaffAccount>> {
    let r = app.store.read()?;
    let mut all = r.staff_list()?;
    all.sort_by(|a, b| a.username.cmp(&b.username));
    all.into_iter().map(|s| account(&r, s)).collect()
}

/// One staff account.
pub fn get(app: &App, username: &str) -> AppResult<StaffAccount> {
    let r = app.store.read()?;
    let s = r.staff(username)?.ok_or_else(|| not_found(username))?;
    account(&r, s)
}

/// What an administrator changes of an account (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct StaffUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// The regions served in 征纳互动, parsed by `domain::interaction::routing::parse_regions`
    /// (empty: every region).
    pub regions: Option<Vec<crate::domain::Region>>,
}

/// Ends every session of `username` (its account was disabled or its password reset).
fn end_sessions(tx: &mut Tx, username: &str) -> AppResult<usize> {
    tx.purge_sessions(|s| matches!(&s.subject, Subject::Staff { username: u } if u == username))
}

/// Changes the name, role or disabled flag of an account. Refused with 409 `last_admin` when
/// no active administrator would remain. Disabling an account ends its sessions.
pub fn update(app: &App, who: &Who, username: &str, u: StaffUpdate) -> AppResult<StaffAccount> {
    let name = u.name.as_deref().map(display_name).transpose()?;
    if name.as_deref() == Some("") {
        return Err(AppError::invalid("name", "姓名不能为空"));
    }
    let staff = app.store.write(who, |tx| {
        let before = tx.staff(username)?.ok_or_else(|| not_found(username))?;
        let mut s = before.clone();
        if let Some(n) = name {
            s.display_name = n;
        }
        if let Some(r) = u.role {
            s.role = r;
        }
        if let Some(d) = u.disabled {
            s.disabled = d;
        }
        let was_active_admin = before.role == Role::Admin && !before.disabled;
        let is_active_admin = s.role == Role::Admin && !s.disabled;
        if was_active_admin && !is_active_admin {
            let others = tx
                .staff_list()?
                .iter()
                .filter(|o| o.username != s.username && o.role == Role::Admin && !o.disabled)
                .count();
            if others == 0 {
                return Err(AppError::new(Code::LastAdmin).with_field(if s.disabled {
                    "disabled"
                } else {
                    "role"
                }));
            }
        }
        let mut changes = Vec::new();
        if s.display_name != before.display_name {
            changes.push(format!("name={}", s.display_name));
        }
        if s.role != before.role {
            changes.push(format!("role={}", s.role.as_str()));
        }
        if s.disabled != before.disabled {
            changes.push(format!("disabled={}", s.disabled));
        }
        if s.disabled && !before.disabled {
            end_sessions(tx, username)?;
        }
        if let Some(regions) = &u.regions {
            if *regions != tx.staff_regions(username)? {
                let codes: Vec<&str> = regions.iter().map(|r| r.code()).collect();
                changes.push(format!("regions={}", codes.join(",")));
                tx.put_staff_regions(username, regions)?;
            }
        }
        tx.put_staff(&s)?;
        let detail = if changes.is_empty() {
            "unchanged".to_string()
        } else {
            changes.join(" ")
        };
        tx.audit("staff.update", username, detail);
        Ok(s)
    })?;
    account(&app.store.read()?, staff)
}

/// An administrator sets a new password for an account: the user must change it at the next
/// login, and the account's sessions end.
pub fn reset_password(
    app: &App,
    who: &Who,
    username: &str,
    password: &str,
) -> AppResult<StaffAccount> {
    strong("password", password)?;
    let hash = hash_password(password)?;
    let staff = app.store.write(who, |tx| {
        let mut s = tx.staff(username)?.ok_or_else(|| not_found(username))?;
        s.password_hash = hash;
        tx.put_staff(&s)?;
        let mut meta = tx.staff_meta(username)?;
        meta.must_change_password = true;
        tx.put_staff_meta(username, &meta)?;
        let ended = end_sessions(tx, username)?;
        tx.audit(
            "staff.password_reset",
            username,
            format!("sessions_ended={ended}"),
        );
        Ok(s)
    })?;
    account(&app.store.read()?, staff)
}

/// A staff member changes their own password: `old` must verify, `new` must pass the
/// strength rule and differ from `old`. Clears the must-change flag.
pub fn change_own_password(
    app: &App,
    who: &Who,
    username: &str,
    old: &str,
    new: &str,
) -> AppResult<()> {
    if old.is_empty() {
        return Err(AppError::invalid("old", "请输入原密码"));
    }
    if old.chars().count() > crate::domain::login::MAX_PASSWORD_CHARS {
        return Err(AppError::invalid("old", "原密码不正确"));
    }
    // Wrong old passwords count with wrong login passwords (one try of an account at a time):
    // a session left open cannot be used to guess the password without limit.
    let key = format!("staff:{username}");
    app.logins.one_at_a_time(&key, || {
        change_own_locked(app, who, &key, username, old, new)
    })
}

fn change_own_locked(
    app: &App,
    who: &Who,
    key: &str,
    username: &str,
    old: &str,
    new: &str,
) -> AppResult<()> {
    let failed = crate::service::auth::staff_throttle(app, key, who.wall.timestamp())?;
    let current = app
        .store
        .read()?
        .staff(username)?
        .filter(|s| !s.disabled)
        .ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
    if !verify_password(&current.password_hash, old) {
        app.store.write(who, |tx| {
            tx.put_throttle(key, &failed)?;
            tx.audit(
                "staff.password_change_failed",
                username,
                format!("failures={}", failed.failures),
            );
            Ok(())
        })?;
        return Err(AppError::invalid("old", "原密码不正确"));
    }
    strong("new", new)?;
    if new == old {
        return Err(AppError::new(Code::WeakPassword)
            .with_message("新密码不能与原密码相同")
            .with_field("new"));
    }
    let hash = hash_password(new)?;
    app.store.write(who, |tx| {
        let mut s = tx
            .staff(username)?
            .ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
        if s.password_hash != current.password_hash {
            return Err(AppError::new(Code::Conflict).with_message("密码已被修改，请重新操作"));
        }
        s.password_hash = hash;
        tx.put_staff(&s)?;
        let mut meta = tx.staff_meta(username)?;
        meta.must_change_password = false;
        tx.put_staff_meta(username, &meta)?;
        tx.clear_throttle(key)?;
        tx.audit("staff.password_change", username, "");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_and_password_rules() {
        assert!(parse_username("admin").is_ok());
        assert!(parse_username("ab").is_err());
        assert!(parse_username("张三").is_err());
        assert!(check_password_strength("password", "abc12345").is_ok());
        assert!(check_password_strength("password", "abc1234").is_err());
        assert!(check_password_strength("password", "abcdefgh").is_err());
        assert!(check_password_strength("password", "12345678").is_err());
        assert!(check_password_strength("password", "密码密码密码密码").is_err());
    }
}
