//! Tax office staff accounts (S-O1): create, change password, list.

use crate::domain::{DomainError, Role, Staff};
use crate::error::{AppError, AppResult, Code};
use crate::service::auth::hash_password;
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

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

pub fn create(app: &App, who: &Who, new: NewStaff) -> AppResult<Staff> {
    let username = parse_username(&new.username)?;
    check_password_strength("password", &new.password)?;
    let hash = hash_password(&new.password)?;
    let staff = Staff {
        display_name: if new.display_name.trim().is_empty() {
            username.clone()
        } else {
            new.display_name.trim().to_string()
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

/// Sets a new password for an existing account.
pub fn set_password(app: &App, who: &Who, username: &str, password: &str) -> AppResult<()> {
    check_password_strength("password", password)?;
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
