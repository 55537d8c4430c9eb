//! The FAQ knowledge base (常见问题 and the 征纳互动 bot), seeded from `fixtures/faq.json`.
//!
//! The seed is compiled into the binary and validated when parsed: ids are unique kebab-case
//! ASCII (so an entry can be linked as `/help/faq#id`), questions and answers are not blank,
//! and every category is one of [`CATEGORIES`].
//!
//! Staff (管理员, 征纳互动坐席) edit the knowledge base: [`upsert`], [`delete`] and [`reset`]
//! store the whole edited list as the setting [`SETTING`] in one audited write each, then
//! rebuild the 征纳互动 bot from it. Without that setting the seed is the knowledge base.
//! No actix, no maud.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::domain::Role;
use crate::error::{AppError, AppResult, Code};
use crate::service::App;
use crate::store::prelude::*;
use crate::store::Who;

/// One question of the knowledge base.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
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
const SEED_JSON: &str = include_str!("../../../fixtures/faq.json");

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
        None => seed_or_internal(),
    }
}

fn seed_or_internal() -> AppResult<Vec<FaqEntry>> {
    seed().map_err(|e| AppError::internal(e.to_string()))
}

/// Longest question, in characters.
pub const MAX_QUESTION: usize = 200;
/// Longest answer, in characters.
pub const MAX_ANSWER: usize = 4000;
/// Most other phrasings (aliases) of one question.
pub const MAX_ALIASES: usize = 20;
/// Longest alias, in characters.
pub const MAX_ALIAS: usize = 200;
/// Longest id, in characters (it is part of URLs).
pub const MAX_ID: usize = 64;

/// Whether staff with `role` may edit the knowledge base: 管理员 and 征纳互动坐席.
pub fn may_edit(role: Role) -> bool {
    role.serves_interactions()
}

/// Refuses roles that may not edit the knowledge base (403 `wrong_role`).
pub fn require_editor(role: Role) -> AppResult<()> {
    if may_edit(role) {
        Ok(())
    } else {
        Err(AppError::new(Code::WrongRole)
            .with_message("只有管理员和征纳互动坐席可以维护常见问题知识库"))
    }
}

/// Checks one entry by the rules of [`parse`] plus the length limits, and returns it tidied:
/// fields trimmed, blank aliases dropped (and repeated ones once). 422 `invalid_value` with
/// the field and a Chinese message for the first rule broken.
pub fn validate(entry: FaqEntry) -> AppResult<FaqEntry> {
    let id = entry.id.trim().to_string();
    if id.is_empty() {
        return Err(AppError::invalid("id", "请填写编号"));
    }
    if id.chars().count() > MAX_ID {
        return Err(AppError::invalid(
            "id",
            format!("编号不能超过{MAX_ID}个字符"),
        ));
    }
    if !is_kebab_case(&id) {
        return Err(AppError::invalid(
            "id",
            "编号只能由小写英文字母和数字组成，多个部分用单个连字符“-”连接，如 password-forgot",
        ));
    }
    let category = entry.category.trim().to_string();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(AppError::invalid(
            "category",
            format!("分类不正确，应为以下之一：{}", CATEGORIES.join("、")),
        ));
    }
    let question = entry.question.trim().to_string();
    if question.is_empty() {
        return Err(AppError::invalid("question", "请填写问题"));
    }
    if question.chars().count() > MAX_QUESTION {
        return Err(AppError::invalid(
            "question",
            format!("问题不能超过{MAX_QUESTION}个字"),
        ));
    }
    let answer = entry.answer.trim().to_string();
    if answer.is_empty() {
        return Err(AppError::invalid("answer", "请填写答案"));
    }
    if answer.chars().count() > MAX_ANSWER {
        return Err(AppError::invalid(
            "answer",
            format!("答案不能超过{MAX_ANSWER}个字"),
        ));
    }
    let mut aliases: Vec<String> = Vec::new();
    for a in entry.aliases.iter().flat_map(|a| a.lines()) {
        let a = a.trim();
        if a.is_empty() || aliases.iter().any(|x| x == a) {
            continue;
        }
        if a.chars().count() > MAX_ALIAS {
            return Err(AppError::invalid(
                "aliases",
                format!("每条其他问法不能超过{MAX_ALIAS}个字"),
            ));
        }
        aliases.push(a.to_string());
    }
    if aliases.len() > MAX_ALIASES {
        return Err(AppError::invalid(
            "aliases",
            format!("其他问法最多{MAX_ALIASES}条（每行一条）"),
        ));
    }
    Ok(FaqEntry {
        id,
        category,
        question,
        answer,
        aliases,
    })
}

/// The knowledge base as seen inside a write transaction.
fn current_in(tx: &crate::store::Tx) -> AppResult<Vec<FaqEntry>> {
    match tx.setting::<Vec<FaqEntry>>(SETTING)? {
        Some(v) => Ok(v),
        None => seed_or_internal(),
    }
}

/// Rebuilds the 征纳互动 bot from the knowledge base as committed. Runs while no write is in
/// progress, so that of two edits racing, the bot ends up with the later one.
fn refresh_bot(app: &App) -> AppResult<()> {
    app.store
        .serialized(|| app.interact.set_faq(current(&app.store)?))
}

/// Where [`save`] may put an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A new id only (the 新增问题 form): an id in use is refused.
    Create,
    /// Create or replace by id.
    Upsert,
}

fn save(app: &App, who: &Who, entry: FaqEntry, mode: Mode) -> AppResult<()> {
    let entry = validate(entry)?;
    app.store.write(who, |tx| {
        let mut entries = current_in(tx)?;
        let action = match entries.iter_mut().find(|e| e.id == entry.id) {
            Some(_) if mode == Mode::Create => {
                return Err(AppError::new(Code::Duplicate)
                    .with_field("id")
                    .with_message("该编号已被其他问题使用，请换一个编号"));
            }
            Some(old) => {
                *old = entry.clone();
                "faq.update"
            }
            None => {
                entries.push(entry.clone());
                "faq.create"
            }
        };
        tx.put_setting(SETTING, &entries)?;
        tx.audit(
            action,
            &entry.id,
            format!("{}：{}", entry.category, entry.question),
        );
        Ok(())
    })?;
    refresh_bot(app)
}

/// Adds `entry`, or replaces the entry with its id. Bad input changes nothing (422).
pub fn upsert(app: &App, who: &Who, entry: FaqEntry) -> AppResult<()> {
    save(app, who, entry, Mode::Upsert)
}

/// Adds `entry` under a new id; an id already in use is refused (409 `duplicate`).
pub fn create(app: &App, who: &Who, entry: FaqEntry) -> AppResult<()> {
    save(app, who, entry, Mode::Create)
}

/// Removes the entry `id` (404 该问题不存在 when there is none).
pub fn delete(app: &App, who: &Who, id: &str) -> AppResult<()> {
    app.store.write(who, |tx| {
        let mut entries = current_in(tx)?;
        let Some(at) = entries.iter().position(|e| e.id == id) else {
            return Err(AppError::new(Code::NotFound).with_message("该问题不存在"));
        };
        let gone = entries.remove(at);
        tx.put_setting(SETTING, &entries)?;
        tx.audit(
            "faq.delete",
            &gone.id,
            format!("{}：{}", gone.category, gone.question),
        );
        Ok(())
    })?;
    refresh_bot(app)
}

/// Back to the seed knowledge base: the staff edits are removed. Returns the number of
/// entries of the seed.
pub fn reset(app: &App, who: &Who) -> AppResult<usize> {
    let n = seed_or_internal()?.len();
    app.store.write(who, |tx| {
        tx.delete_setting(SETTING)?;
        tx.audit("faq.reset", SETTING, format!("恢复默认知识库（{n}条）"));
        Ok(())
    })?;
    refresh_bot(app)?;
    Ok(n)
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

/// Lowercase ASCII letters and digits in non-empty runs joined by single hyphens (what an
/// entry id must be).
pub fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
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

    fn good() -> FaqEntry {
        FaqEntry {
            id: "  invoice-red-letter  ".into(),
            category: " 发票勾选 ".into(),
            question: "  红字发票能勾选吗？ ".into(),
            answer: " 已开具红字发票的蓝字发票不能勾选。\n ".into(),
            aliases: vec![
                " 红冲发票 \n\n  红字发票勾选 ".into(),
                "".into(),
                "红冲发票".into(),
            ],
        }
    }

    fn field_of(e: FaqEntry) -> String {
        let err = validate(e).unwrap_err();
        assert_eq!(err.code, Code::InvalidValue, "{err}");
        assert!(!err.message.is_empty());
        err.field.unwrap().to_string()
    }

    #[test]
    fn validate_trims_and_keeps_one_alias_per_line() {
        let e = validate(good()).unwrap();
        assert_eq!(e.id, "invoice-red-letter");
        assert_eq!(e.category, "发票勾选");
        assert_eq!(e.question, "红字发票能勾选吗？");
        assert_eq!(e.answer, "已开具红字发票的蓝字发票不能勾选。");
        assert_eq!(e.aliases, vec!["红冲发票", "红字发票勾选"]);
    }

    #[test]
    fn validate_applies_the_rules_of_parse() {
        for bad in ["", "Bad-Id", "bad_id", "bad--id", "-bad", "密码"] {
            let mut e = good();
            e.id = bad.into();
            assert_eq!(field_of(e), "id", "{bad:?} accepted");
        }
        let mut e = good();
        e.category = "密码问题".into();
        assert_eq!(field_of(e), "category");
        let mut e = good();
        e.question = " \n ".into();
        assert_eq!(field_of(e), "question");
        let mut e = good();
        e.answer = "   ".into();
        let err = validate(e).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("answer"));
        assert_eq!(err.message, "请填写答案");
    }

    #[test]
    fn validate_enforces_the_length_limits() {
        let mut e = good();
        e.question = "问".repeat(MAX_QUESTION);
        assert!(validate(e.clone()).is_ok());
        e.question.push('？');
        assert_eq!(field_of(e), "question");

        let mut e = good();
        e.answer = "答".repeat(MAX_ANSWER);
        assert!(validate(e.clone()).is_ok());
        e.answer.push('。');
        assert_eq!(field_of(e), "answer");

        let mut e = good();
        e.aliases = (0..MAX_ALIASES).map(|i| format!("问法{i}")).collect();
        assert!(validate(e.clone()).is_ok());
        e.aliases.push("再多一条".into());
        assert_eq!(field_of(e), "aliases");

        let mut e = good();
        e.aliases = vec!["长".repeat(MAX_ALIAS + 1)];
        assert_eq!(field_of(e), "aliases");

        let mut e = good();
        e.id = "a".repeat(MAX_ID + 1);
        assert_eq!(field_of(e), "id");
    }

    #[test]
    fn validate_accepts_every_seed_entry_unchanged() {
        for e in seed().unwrap() {
            assert_eq!(validate(e.clone()).unwrap(), e);
        }
    }

    #[test]
    fn only_admins_and_agents_may_edit() {
        assert!(require_editor(Role::Admin).is_ok());
        assert!(require_editor(Role::Agent).is_ok());
        for r in [Role::Operator, Role::Auditor] {
            assert_eq!(require_editor(r).unwrap_err().code, Code::WrongRole);
        }
    }

    #[test]
    fn parse_rejects_malformed_json() {
        assert!(matches!(parse("{\"id\":1}"), Err(FaqError::Json(_))));
    }
}
