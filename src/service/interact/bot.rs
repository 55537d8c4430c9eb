//! The 征纳互动 bot (S-I2): Chinese full-text search over the FAQ knowledge base with tantivy
//! (jieba word segmentation, BM25). A confident match answers directly; otherwise the closest
//! questions are offered as 您是否要咨询以下问题.
//!
//! Each entry is one document: its question and aliases (weighted up) and its answer. The
//! index lives in memory and is rebuilt from the entries (the knowledge base is small).

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, StopWordFilter, TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use super::faq::FaqEntry;

const TOKENIZER: &str = "zh";

/// Words that say nothing about what is asked (question words, particles, pronouns).
const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "么",
    "是",
    "我",
    "我们",
    "你",
    "您",
    "他",
    "它",
    "在",
    "有",
    "和",
    "与",
    "及",
    "或",
    "就",
    "都",
    "也",
    "还",
    "要",
    "想",
    "能",
    "会",
    "可以",
    "怎么",
    "怎样",
    "怎么办",
    "如何",
    "什么",
    "为什么",
    "为何",
    "哪里",
    "哪",
    "哪个",
    "多少",
    "请问",
    "一下",
    "这个",
    "那个",
    "这",
    "那",
    "时",
    "时候",
    "后",
    "中",
    "个",
    "把",
    "被",
    "让",
    "给",
    "对",
    "从",
    "到",
    "上",
    "下",
    "不",
    "没",
    "没有",
    "不能",
    "能不能",
    "有没有",
    "里面",
    "里",
    "之后",
    "以后",
    "还",
    "还能",
    "点",
    "太",
    "多",
    "几个",
    "好几个",
    "好几",
];

/// The bot's reply to one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A confident match: its answer.
    Answer(FaqEntry),
    /// 您是否要咨询以下问题: the closest questions, best first.
    Suggest(Vec<FaqEntry>),
    /// Nothing related at all.
    NoMatch,
}

/// The wording of a suggestion list (the article's).
pub const SUGGEST_PROMPT: &str = "您是否要咨询以下问题：";

pub struct FaqBot {
    entries: Vec<FaqEntry>,
    reader: IndexReader,
    question: Field,
    aliases: Field,
    answer: Field,
    pos: Field,
}

impl std::fmt::Debug for FaqBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaqBot")
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// How far the best match must score above the next to be answered directly.
const CLEAR_LEAD: f32 = 1.35;

/// Suggestions offered when nothing is confident.
const SUGGESTIONS: usize = 5;

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
        .build()
}

impl FaqBot {
    pub fn new(entries: Vec<FaqEntry>) -> tantivy::Result<FaqBot> {
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let question = schema.add_text_field("question", text.clone());
        let aliases = schema.add_text_field("aliases", text.clone());
        let answer = schema.add_text_field("answer", text);
        let pos = schema.add_u64_field("pos", STORED);
        let _id = schema.add_text_field("id", STRING);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(TOKENIZER, analyzer());
        let mut w = index.writer_with_num_threads(1, 15_000_000)?;
        for (i, e) in entries.iter().enumerate() {
            let mut d = TantivyDocument::default();
            d.add_text(question, &e.question);
            for a in &e.aliases {
                d.add_text(aliases, a);
            }
            d.add_text(answer, &e.answer);
            d.add_u64(pos, i as u64);
            w.add_document(d)?;
        }
        w.commit()?;
        let reader = index.reader()?;
        Ok(FaqBot {
            entries,
            reader,
            question,
            aliases,
            answer,
            pos,
        })
    }

    pub fn entries(&self) -> &[FaqEntry] {
        &self.entries
    }

    /// The words of `text` as the index sees them.
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            // Punctuation and spaces are tokens too; they say nothing.
            let t = &s.token().text;
            if t.chars().any(char::is_alphanumeric) {
                out.push(t.clone());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Entries ranked for `text` with their BM25 scores, best first.
    pub fn rank(&self, text: &str, limit: usize) -> tantivy::Result<Vec<(f32, &FaqEntry)>> {
        let words = self.words(text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &words {
            for (field, boost) in [
                (self.question, 3.0),
                (self.aliases, 2.0),
                (self.answer, 0.5),
            ] {
                let q = TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let i = d.get_first(self.pos).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
            if let Some(e) = self.entries.get(i) {
                out.push((score, e));
            }
        }
        Ok(out)
    }

    /// Whether `word` occurs anywhere in the knowledge base.
    fn known(&self, word: &str) -> tantivy::Result<bool> {
        let searcher = self.reader.searcher();
        for f in [self.question, self.aliases, self.answer] {
            if searcher.doc_freq(&Term::from_field_text(f, word))? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// What the bot says to `text`. A question or alias of the knowledge base asked as it is
    /// (e.g. picked from a suggestion list) is answered. Otherwise: nothing when most of the
    /// asked words occur nowhere in the knowledge base; an answer when the best match covers
    /// most of the asked words and scores clearly above the next one; else suggestions.
    pub fn reply(&self, text: &str) -> tantivy::Result<Reply> {
        let key = plain(text);
        if !key.is_empty() {
            if let Some(e) = self
                .entries
                .iter()
                .find(|e| plain(&e.question) == key || e.aliases.iter().any(|a| plain(a) == key))
            {
                return Ok(Reply::Answer(e.clone()));
            }
        }
        let asked = self.words(text);
        // Search-mode segmentation also yields the parts of a long word (想不起来 → 起来):
        // judge what is known by the longest words only.
        let longest: Vec<&String> = asked
            .iter()
            .filter(|w| {
                !asked
                    .iter()
                    .any(|o| o.len() > w.len() && o.contains(String::as_str(w)))
            })
            .collect();
        let mut unknown = 0;
        for w in &longest {
            if !self.known(w)? {
                unknown += 1;
            }
        }
        if longest.is_empty() || unknown * 2 > longest.len() {
            return Ok(Reply::NoMatch);
        }
        let ranked = self.rank(text, SUGGESTIONS)?;
        let Some(&(best, top)) = ranked.first() else {
            return Ok(Reply::NoMatch);
        };
        let known: std::collections::HashSet<String> = self
            .words(&format!("{} {}", top.question, top.aliases.join(" ")))
            .into_iter()
            .collect();
        let covered = asked.iter().filter(|w| known.contains(*w)).count();
        let coverage = covered as f32 / asked.len().max(1) as f32;
        let second = ranked.get(1).map_or(0.0, |(s, _)| *s);
        if coverage >= 0.6 && best >= second * CLEAR_LEAD {
            return Ok(Reply::Answer(top.clone()));
        }
        Ok(Reply::Suggest(
            ranked.into_iter().map(|(_, e)| e.clone()).collect(),
        ))
    }
}

/// Text compared for an exact question: letters and digits only, full-width folded.
fn plain(s: &str) -> String {
    crate::formats::sheet::selection::normalize(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> FaqBot {
        FaqBot::new(super::super::faq::seed().unwrap()).unwrap()
    }

    #[test]
    fn words_are_segmented_and_stop_words_dropped() {
        let b = bot();
        let w = b.words("平台密码忘记了怎么办？");
        assert!(w.contains(&"密码".to_string()), "{w:?}");
        assert!(w.contains(&"忘记".to_string()), "{w:?}");
        assert!(
            !w.iter().any(|x| x == "怎么办" || x == "了" || x == "？"),
            "{w:?}"
        );
    }

    /// Questions as a taxpayer might type them, worded unlike any question or alias of the
    /// knowledge base: the right entry is the answer or among the suggestions (a wrong direct
    /// answer fails), and a share of them are answered directly.
    #[test]
    fn paraphrased_questions_find_their_entry() {
        let b = bot();
        let cases = [
            ("我的平台密码想不起来了", "password-forgot"),
            ("密码输错太多次被锁住了", "password-locked"),
            ("怎样把平台密码改掉", "password-change"),
            ("确认提交之后还能撤回吗", "confirm-immutable"),
            ("批量勾选的表格能上传xls格式吗", "bulk-file-format"),
            ("下载的zip里面有好几个excel", "bulk-2000-per-file"),
            (
                "征期里面点提交让我选有没有申报",
                "confirm-declaration-prompt",
            ),
            ("回退属期要符合什么条件", "rollback-conditions"),
            ("扫描认证的票今天统计表里没有", "stats-scan-delay"),
            ("失控的发票还能不能抵扣", "stats-exception-list"),
            ("单张发票的状态在哪查", "query-single"),
            ("人工客服几点上班", "chat-working-hours"),
            ("能不能和税务人员视频", "chat-video"),
            ("作废的发票可以勾选吗", "select-status-not-normal"),
            ("截止到哪天可以勾选确认", "period-deadline"),
            ("提示档案信息没有同步", "login-archive-not-synced"),
        ];
        let (mut direct, mut missed) = (0, Vec::new());
        for (q, id) in cases {
            match b.reply(q).unwrap() {
                Reply::Answer(e) if e.id == id => direct += 1,
                Reply::Suggest(list) if list.iter().any(|e| e.id == id) => {}
                other => missed.push((
                    q,
                    id,
                    format!("{other:?}").chars().take(60).collect::<String>(),
                )),
            }
        }
        // Never a wrong direct answer; the right entry always offered; a good share direct.
        assert!(missed.is_empty(), "{missed:#?}");
        assert!(
            direct * 4 >= cases.len(),
            "only {direct} of {} answered directly",
            cases.len()
        );
    }

    #[test]
    fn picking_a_suggested_question_or_alias_answers_it() {
        let b = bot();
        for e in b.entries() {
            for text in std::iter::once(&e.question).chain(&e.aliases) {
                assert_eq!(b.reply(text).unwrap(), Reply::Answer(e.clone()), "{text}");
            }
        }
    }

    #[test]
    fn unrelated_or_vague_messages_get_no_answer_or_suggestions() {
        let b = bot();
        assert_eq!(b.reply("").unwrap(), Reply::NoMatch);
        assert_eq!(b.reply("？？？").unwrap(), Reply::NoMatch);
        assert_eq!(b.reply("今天天气怎么样").unwrap(), Reply::NoMatch);
        match b.reply("发票").unwrap() {
            Reply::Suggest(list) => assert!(!list.is_empty() && list.len() <= SUGGESTIONS),
            other => panic!("a vague word should give suggestions: {other:?}"),
        }
    }
}
