//! Who did something, and the append-only audit log (S-O6).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{DomainError, TaxpayerId};

/// Who did something. Serialised as its display form (`staff:admin`, `taxpayer:<ID>`,
/// `system:<what>`, `anonymous`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Actor {
    Staff { username: String },
    Taxpayer { id: TaxpayerId },
    System { what: String },
    Anonymous,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Staff { username } => write!(f, "staff:{username}"),
            Actor::Taxpayer { id } => write!(f, "taxpayer:{id}"),
            Actor::System { what } => write!(f, "system:{what}"),
            Actor::Anonymous => write!(f, "anonymous"),
        }
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Actor {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Actor, Self::Error> {
        let bad = || DomainError::new("actor", "操作人格式不正确");
        if s == "anonymous" {
            return Ok(Actor::Anonymous);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "staff" => Ok(Actor::Staff {
                username: rest.to_string(),
            }),
            "taxpayer" => Ok(Actor::Taxpayer {
                id: TaxpayerId::parse(rest)?,
            }),
            "system" => Ok(Actor::System {
                what: rest.to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

/// One entry of the append-only audit log (S-O6): who, when, what, from which address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// Wall-clock time of the change.
    pub at: DateTime<FixedOffset>,
    /// Business time when it differs from `at` (training clock).
    pub business_at: Option<DateTime<FixedOffset>>,
    pub actor: Actor,
    pub address: Option<String>,
    /// Dotted action name, e.g. `staff.login`, `taxpayer.create`.
    pub action: String,
    /// What was acted on, e.g. a taxpayer ID or `code number`.
    pub target: String,
    /// Free-form detail (often JSON text).
    pub detail: String,
}

/// The hash chain over the audit log: each entry's hash covers the previous entry's hash,
/// its sequence number and its stored bytes, so changing, removing or reordering any entry
/// changes every hash after it. The first entry's previous hash is all zeros.
pub mod chain {
    use sha2::{Digest, Sha256};

    /// A SHA-256 value of the chain.
    pub type Hash = [u8; 32];

    /// The previous hash of the first entry.
    pub const GENESIS: Hash = [0u8; 32];

    /// The hash of entry `seq` whose stored bytes are `entry`, after `prev`.
    pub fn link(prev: &Hash, seq: u64, entry: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update(b"fapiao-audit-chain-v1");
        h.update(prev);
        h.update(seq.to_le_bytes());
        h.update((entry.len() as u64).to_le_bytes());
        h.update(entry);
        h.finalize().into()
    }

    /// Lower-case hex of a hash.
    pub fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Where a walk of the chain first found it broken.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Break {
        /// Entry `seq` is missing (the log should run without gaps from 1).
        Missing { seq: u64 },
        /// Entry `seq` has no stored hash.
        Unhashed { seq: u64 },
        /// Entry `seq`'s content does not give its stored hash.
        Altered { seq: u64 },
        /// A hash is stored for `seq`, which is not (or no longer) an entry.
        Orphan { seq: u64 },
    }

    impl Break {
        pub fn seq(&self) -> u64 {
            match self {
                Break::Missing { seq }
                | Break::Unhashed { seq }
                | Break::Altered { seq }
                | Break::Orphan { seq } => *seq,
            }
        }
    }

    impl std::fmt::Display for Break {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Break::Missing { seq } => write!(f, "审计日志第 {seq} 条缺失（已被删除）"),
                Break::Unhashed { seq } => write!(f, "审计日志第 {seq} 条没有哈希值"),
                Break::Altered { seq } => {
                    write!(f, "审计日志第 {seq} 条的内容与其哈希值不符（已被篡改）")
                }
                Break::Orphan { seq } => write!(f, "审计日志第 {seq} 条的哈希值没有对应的记录"),
            }
        }
    }

    /// Walks entries (`seq`, stored bytes) in order with their stored hashes (`seq`, hash),
    /// both sorted by `seq`, from `start` (the first entry expected). Returns the head (last
    /// seq and hash; `(0, GENESIS)` for an empty log) or the first break.
    pub fn walk(
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
        hashes: impl IntoIterator<Item = (u64, Hash)>,
    ) -> Result<(u64, Hash), Break> {
        let mut hashes = hashes.into_iter().peekable();
        let mut prev = GENESIS;
        let mut expect = 1u64;
        for (seq, bytes) in entries {
            if seq != expect {
                return Err(Break::Missing { seq: expect });
            }
            // Hashes stored for entries that are gone.
            if let Some((s, _)) = hashes.peek() {
                if *s < seq {
                    return Err(Break::Orphan { seq: *s });
                }
            }
            let stored = match hashes.next() {
                Some((s, h)) if s == seq => h,
                _ => return Err(Break::Unhashed { seq }),
            };
            let h = link(&prev, seq, &bytes);
            if h != stored {
                return Err(Break::Altered { seq });
            }
            prev = h;
            expect = seq + 1;
        }
        if let Some((s, _)) = hashes.next() {
            return Err(if s == expect {
                Break::Missing { seq: s }
            } else {
                Break::Orphan { seq: s }
            });
        }
        Ok((expect - 1, prev))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        type Log = (Vec<(u64, Vec<u8>)>, Vec<(u64, Hash)>);

        fn log(n: u64) -> Log {
            let mut prev = GENESIS;
            let mut entries = Vec::new();
            let mut hashes = Vec::new();
            for seq in 1..=n {
                let bytes = format!("entry {seq}").into_bytes();
                prev = link(&prev, seq, &bytes);
                entries.push((seq, bytes));
                hashes.push((seq, prev));
            }
            (entries, hashes)
        }

        #[test]
        fn an_intact_log_gives_its_head() {
            let (e, h) = log(5);
            let head = h[4].1;
            assert_eq!(walk(e, h), Ok((5, head)));
            assert_eq!(walk(Vec::new(), Vec::new()), Ok((0, GENESIS)));
        }

        #[test]
        fn one_changed_byte_is_named() {
            let (mut e, h) = log(5);
            e[2].1[0] ^= 1;
            assert_eq!(walk(e, h), Err(Break::Altered { seq: 3 }));
        }

        #[test]
        fn a_deleted_entry_is_named_even_with_its_hash() {
            let (mut e, mut h) = log(5);
            e.remove(1);
            assert_eq!(walk(e.clone(), h.clone()), Err(Break::Missing { seq: 2 }));
            h.remove(1);
            assert_eq!(walk(e, h), Err(Break::Missing { seq: 2 }));
            // The newest entry removed with its hash is not a break of the chain: the head
            // moves back, which a comparison with the published head shows.
            let (mut e, mut h) = log(5);
            e.pop();
            h.pop();
            assert_eq!(walk(e, h).map(|(s, _)| s), Ok(4));
        }

        #[test]
        fn a_deleted_newest_entry_with_its_hash_kept_is_named() {
            let (mut e, h) = log(5);
            e.pop();
            assert_eq!(walk(e, h), Err(Break::Missing { seq: 5 }));
        }

        #[test]
        fn a_rehashed_entry_breaks_the_next_link() {
            // An attacker who rewrites entry 3 and its hash still breaks entry 4.
            let (mut e, mut h) = log(5);
            e[2].1 = b"forged".to_vec();
            h[2].1 = link(&h[1].1, 3, &e[2].1);
            assert_eq!(walk(e, h), Err(Break::Altered { seq: 4 }));
        }

        #[test]
        fn reordered_entries_are_named() {
            let (mut e, h) = log(4);
            e.swap(1, 2);
            assert_eq!(walk(e, h), Err(Break::Missing { seq: 2 }));
        }
    }
}
