//! The FAQ knowledge base (常见问题 and the 征纳互动 bot), seeded from `fixtures/faq.json`.
//!
//! The seed is compiled into the binary and validated when parsed: ids are unique kebab-case
//! ASCII (so an entry can be linked as `/help/faq#id`), questions and answers are not blank,
//! and every category is one of [`CATEGORIES`]. Pure data: no store, no actix, no maud.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// One question of the knowledge base.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaqEntry {
    /// Unique kebab-case ASCII id, e.g. `login-cert-missing`.
    pub id: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    pub question: String,
    pub answer: String,
    /// Other ways a taxpayer would phrase the question (for the bot's full-text search).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The categories, in the order the 常见问题 page shows them.
pub const CATEGORIES: &[&str] = &[
    "登录与证书",
    "平台密码",
    "税款所属期与申报期",
    "发票勾选",
    "批量勾选",
    "确认勾选",
    "回退税款所属期",
    "抵扣统计",
    "发票查询",
    "档案信息维护",
    "征纳互动",
];

/// The seed knowledge base as committed.
const SEED_JSON: &str = include_str!("../../fixtures/faq.json");

/// Why a knowledge base was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    #[error("FAQ knowledge base is not valid JSON (an array of entries): {0}")]
    Json(#[from] serde_json::Error),
    #[error("FAQ entry {id:?}: the id must be kebab-case ASCII (lowercase letters and digits joined by single hyphens)")]
    BadId { id: String },
    #[error("FAQ entry {id:?}: the id is used more than once")]
    DuplicateId { id: String },
    #[error("FAQ entry {id:?}: unknown category {category:?} (expected one of: {})", CATEGORIES.join("、"))]
    UnknownCategory { id: String, category: String },
    #[error("FAQ entry {id:?}: the {field} is empty")]
    EmptyField { id: String, field: &'static str },
}

/// The setting under which staff edits of the knowledge base are stored.
pub const SETTING: &str = "faq";

/// The knowledge base as it is now: the staff-edited one when there is one, else the seed.
pub fn current(store: &crate::store::Store) -> crate::error::AppResult<Vec<FaqEntry>> {
    match store.read()?.setting::<Vec<FaqEntry>>(SETTING)? {
        Some(v) => Ok(v),
        None => seed().map_err(|e| crate::error::AppError::internal(e.to_string())),
    }
}

/// The seed knowledge base compiled into the binary (`include_str!` of `fixtures/faq.json`).
pub fn seed() -> Result<Vec<FaqEntry>, FaqError> {
    parse(SEED_JSON)
}

/// Parses and validates a knowledge base: a JSON array of [`FaqEntry`].
pub fn parse(json: &str) -> Result<Vec<FaqEntry>, FaqError> {
    let entries: Vec<FaqEntry> = serde_json::from_str(json)?;
    let mut seen = HashSet::with_capacity(entries.len());
    for e in &entries {
        if !is_kebab_case(&e.id) {
            return Err(FaqError::BadId { id: e.id.clone() });
        }
        if !seen.insert(e.id.as_str()) {
            return Err(FaqError::DuplicateId { id: e.id.clone() });
        }
        if !CATEGORIES.contains(&e.category.as_str()) {
            return Err(FaqError::UnknownCategory {
                id: e.id.clone(),
                category: e.category.clone(),
            });
        }
        for (field, text) in [("question", &e.question), ("answer", &e.answer)] {
            if text.trim().is_empty() {
                return Err(FaqError::EmptyField {
                    id: e.id.clone(),
                    field,
                });
            }
        }
    }
    Ok(entries)
}

/// Lowercase ASCII letters and digits in non-empty runs joined by single hyphens.
fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn entry(id: &str, category: &str, answer: &str) -> String {
        serde_json::json!({
            "id": id,
            "category": category,
            "question": "平台密码忘记了怎么办？",
            "answer": answer,
            "aliases": ["密码忘了"],
        })
        .to_string()
    }

    fn kb(entries: &[String]) -> String {
        format!("[{}]", entries.join(","))
    }

    #[test]
    fn seed_parses_with_at_least_70_entries() {
        let faq = seed().unwrap();
        assert!(faq.len() >= 70, "only {} entries", faq.len());
    }

    #[test]
    fn seed_has_at_least_3_entries_in_every_category() {
        let faq = seed().unwrap();
        for c in CATEGORIES {
            let n = faq.iter().filter(|e| e.category == *c).count();
            assert!(n >= 3, "category {c} has only {n} entries");
        }
    }

    #[test]
    fn seed_ids_are_unique_kebab_case() {
        let faq = seed().unwrap();
        let ids: HashSet<&str> = faq.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), faq.len());
        assert!(faq.iter().all(|e| is_kebab_case(&e.id)));
    }

    #[test]
    fn seed_entries_have_one_to_four_non_blank_aliases() {
        for e in seed().unwrap() {
            assert!(
                (1..=4).contains(&e.aliases.len()),
                "{}: {} aliases",
                e.id,
                e.aliases.len()
            );
            assert!(e.aliases.iter().all(|a| !a.trim().is_empty()), "{}", e.id);
        }
    }

    #[test]
    fn seed_keeps_the_manual_wording_of_key_messages() {
        let all: String = seed()
            .unwrap()
            .iter()
            .map(|e| format!("{}{}", e.question, e.answer))
            .collect();
        for phrase in [
            "本次确认不成功，原因：您税款所属期XXXX年XX月的申报工作已完成，本批次发票请您在下期进行勾选认证操作！",
            "档案信息未同步",
            "发起人工导税",
            "您是否要咨询以下问题",
        ] {
            assert!(all.contains(phrase), "missing {phrase}");
        }
    }

    #[test]
    fn parse_accepts_a_valid_knowledge_base_and_defaults_aliases() {
        let json = r#"[{"id":"a-1","category":"征纳互动","question":"问？","answer":"答。"}]"#;
        let faq = parse(json).unwrap();
        assert_eq!(faq.len(), 1);
        assert!(faq[0].aliases.is_empty());
    }

    #[test]
    fn parse_rejects_a_duplicate_id() {
        let json = kb(&[
            entry("password-forgot", "平台密码", "回答密保问题。"),
            entry("password-forgot", "平台密码", "联系主管税务机关。"),
        ]);
        let err = parse(&json).unwrap_err();
        assert!(
            matches!(&err, FaqError::DuplicateId { id } if id == "password-forgot"),
            "{err:?}"
        );
        assert!(err.to_string().contains("password-forgot"));
    }

    #[test]
    fn parse_rejects_an_unknown_category() {
        let json = kb(&[entry("password-forgot", "密码问题", "回答密保问题。")]);
        let err = parse(&json).unwrap_err();
        assert!(
            matches!(&err, FaqError::UnknownCategory { id, category }
                if id == "password-forgot" && category == "密码问题"),
            "{err:?}"
        );
        assert!(err.to_string().contains("password-forgot"));
    }

    #[test]
    fn parse_rejects_an_empty_answer() {
        let json = kb(&[
            entry("password-forgot", "平台密码", "回答密保问题。"),
            entry("password-locked", "平台密码", "  "),
        ]);
        let err = parse(&json).unwrap_err();
        assert!(
            matches!(&err, FaqError::EmptyField { id, field: "answer" } if id == "password-locked"),
            "{err:?}"
        );
        assert!(err.to_string().contains("password-locked"));
    }

    #[test]
    fn parse_rejects_an_id_that_is_not_kebab_case() {
        for bad in [
            "Password-Forgot",
            "password_forgot",
            "password--forgot",
            "-x",
            "",
            "密码",
        ] {
            let json = kb(&[entry(bad, "平台密码", "回答密保问题。")]);
            assert!(
                matches!(parse(&json), Err(FaqError::BadId { id }) if id == bad),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn parse_rejects_malformed_json() {
        assert!(matches!(parse("{\"id\":1}"), Err(FaqError::Json(_))));
    }
}
