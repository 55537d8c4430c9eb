//! 征纳互动: the interactions, the index of those still open, and their chat transcripts.

use redb::ReadableTable;

use super::{dec, enc, Tables, CHAT, INTERACTIONS, OPEN_INTERACTIONS};
use crate::domain::interaction::{ChatMessage, InteractionRecord};
use crate::error::AppResult;
use crate::store::Tx;

/// Getters of the 征纳互动 tables, on a [`Reader`](crate::store::Reader) or a [`Tx`].
pub trait InteractionReads: Tables {
    /// One interaction.
    fn interaction(&self, id: u64) -> AppResult<Option<InteractionRecord>> {
        let t = self.table(INTERACTIONS)?;
        let v = t.get(id)?;
        v.map(|v| dec(v.value())).transpose()
    }

    /// The interactions not yet closed, oldest first.
    fn open_interactions(&self) -> AppResult<Vec<InteractionRecord>> {
        let open = self.table(OPEN_INTERACTIONS)?;
        let all = self.table(INTERACTIONS)?;
        let mut out = Vec::new();
        for row in open.iter()? {
            let (k, _) = row?;
            if let Some(v) = all.get(k.value())? {
                out.push(dec(v.value())?);
            }
        }
        Ok(out)
    }

    /// The largest interaction id used so far (0 when none).
    fn last_interaction_id(&self) -> AppResult<u64> {
        let t = self.table(INTERACTIONS)?;
        let last = t.last()?;
        Ok(last.map(|(k, _)| k.value()).unwrap_or(0))
    }

    /// Interactions newest first, those with an id below `before` (all when `None`),
    /// kept by `keep`, at most `limit`.
    fn interactions(
        &self,
        before: Option<u64>,
        limit: usize,
        keep: &dyn Fn(&InteractionRecord) -> bool,
    ) -> AppResult<Vec<InteractionRecord>> {
        let t = self.table(INTERACTIONS)?;
        let mut out = Vec::new();
        for row in t.range(..before.unwrap_or(u64::MAX))?.rev() {
            let (_, v) = row?;
            let r: InteractionRecord = dec(v.value())?;
            if keep(&r) {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The messages of an interaction after `after_seq`, in order.
    fn chat_messages(&self, interaction: u64, after_seq: u64) -> AppResult<Vec<ChatMessage>> {
        let t = self.table(CHAT)?;
        let mut out = Vec::new();
        for row in t.range((interaction, after_seq.saturating_add(1))..=(interaction, u64::MAX))? {
            let (_, v) = row?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }
}

impl<T: Tables> InteractionReads for T {}

impl Tx {
    /// Stores an interaction and keeps the open-interactions table in step with its stage.
    pub fn put_interaction(&mut self, r: &InteractionRecord) -> AppResult<()> {
        let bytes = enc(r)?;
        self.open(INTERACTIONS)?.insert(r.id, bytes.as_slice())?;
        let mut open = self.open(OPEN_INTERACTIONS)?;
        if r.state.stage.is_closed() {
            open.remove(r.id)?;
        } else {
            open.insert(r.id, r.taxpayer.as_str())?;
        }
        Ok(())
    }

    /// Appends a message to an interaction's transcript (the caller assigns the seq).
    pub fn put_chat_message(&mut self, interaction: u64, m: &ChatMessage) -> AppResult<()> {
        let bytes = enc(m)?;
        self.open(CHAT)?
            .insert((interaction, m.seq), bytes.as_slice())?;
        Ok(())
    }
}
