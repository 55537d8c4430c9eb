//! The single error type of the domain core.

/// A parse or rule violation in domain input.
///
/// `field` is the API field name the problem belongs to (e.g. `"taxpayer_id"`,
/// `"code"`, `"number"`, `"amount"`, `"period"`, `"type"`, `"status"`,
/// `"region"`); `message` is a user-facing explanation in Simplified Chinese
/// that names the field and says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub field: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message() {
        let e = DomainError::new("period", "税款所属期格式应为YYYYMM");
        assert_eq!(e.to_string(), "税款所属期格式应为YYYYMM");
        assert_eq!(e.field, "period");
        assert_eq!(e.clone(), e);
    }
}
