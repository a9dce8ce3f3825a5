//! The replicated key-value store each host runs, and the command encoding.
//!
//! Commands carry a client session (client id, sequence number) so that a command
//! retried after a timeout takes effect once: the store remembers, per client, the
//! last sequence number it executed and its result.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use invariants::linearizability::{KvOp, KvResult};

/// A client command as it travels through the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The issuing client.
    pub client: u64,
    /// The client's sequence number for this operation (same on every retry).
    pub seq: u64,
    /// The operation.
    pub op: KvOp,
}

const TAG_GET: u8 = 1;
const TAG_PUT: u8 = 2;
const TAG_APPEND: u8 = 3;
const TAG_CAS_FROM_NONE: u8 = 4;
const TAG_CAS_FROM_SOME: u8 = 5;

fn put_str(buffer: &mut BytesMut, s: &str) {
    buffer.put_u32_le(s.len() as u32);
    buffer.put_slice(s.as_bytes());
}

impl Command {
    /// The bytes stored in a log entry.
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::with_capacity(48);
        buffer.put_u64_le(self.client);
        buffer.put_u64_le(self.seq);
        match &self.op {
            KvOp::Get { key } => {
                buffer.put_u8(TAG_GET);
                put_str(&mut buffer, key);
            }
            KvOp::Put { key, value } | KvOp::Append { key, value } => {
                let tag = if matches!(self.op, KvOp::Put { .. }) {
                    TAG_PUT
                } else {
                    TAG_APPEND
                };
                buffer.put_u8(tag);
                put_str(&mut buffer, key);
                put_str(&mut buffer, value);
            }
            KvOp::Cas { key, expected, new } => {
                buffer.put_u8(if expected.is_some() {
                    TAG_CAS_FROM_SOME
                } else {
                    TAG_CAS_FROM_NONE
                });
                put_str(&mut buffer, key);
                if let Some(expected) = expected {
                    put_str(&mut buffer, expected);
                }
                put_str(&mut buffer, new);
            }
        }
        buffer.freeze()
    }

    /// Decodes a log entry's data; `None` for anything that is not a command
    /// (a leader's empty no-op, or bytes this host does not understand).
    pub fn decode(data: &[u8]) -> Option<Command> {
        let mut reader = Reader { data, at: 0 };
        let client = reader.u64()?;
        let seq = reader.u64()?;
        let op = match reader.u8()? {
            TAG_GET => KvOp::Get {
                key: reader.string()?,
            },
            TAG_PUT => KvOp::Put {
                key: reader.string()?,
                value: reader.string()?,
            },
            TAG_APPEND => KvOp::Append {
                key: reader.string()?,
                value: reader.string()?,
            },
            TAG_CAS_FROM_NONE => KvOp::Cas {
                key: reader.string()?,
                expected: None,
                new: reader.string()?,
            },
            TAG_CAS_FROM_SOME => KvOp::Cas {
                key: reader.string()?,
                expected: Some(reader.string()?),
                new: reader.string()?,
            },
            _ => return None,
        };
        (reader.at == data.len()).then_some(Command { client, seq, op })
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.data.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn string(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Executed now, with this result.
    Executed(KvResult),
    /// A retry of the client's last executed command: its remembered result.
    Duplicate(KvResult),
    /// Older than the client's last executed command: not executed, no answer.
    Superseded,
}

/// The state machine: keys to values, plus client sessions.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    values: BTreeMap<String, String>,
    // Invariant: for each client, the highest seq executed and its result.
    sessions: BTreeMap<u64, (u64, KvResult)>,
}

impl KvStore {
    /// Applies one committed command.
    pub fn apply(&mut self, command: &Command) -> Applied {
        if let Some((last_seq, result)) = self.sessions.get(&command.client) {
            if command.seq == *last_seq {
                return Applied::Duplicate(result.clone());
            }
            if command.seq < *last_seq {
                return Applied::Superseded;
            }
        }
        let result = self.execute(&command.op);
        self.sessions
            .insert(command.client, (command.seq, result.clone()));
        Applied::Executed(result)
    }

    /// Reads a key without going through the log (what a stale read does).
    pub fn read(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }

    fn execute(&mut self, op: &KvOp) -> KvResult {
        match op {
            KvOp::Get { key } => KvResult::Value(self.values.get(key).cloned()),
            KvOp::Put { key, value } => {
                self.values.insert(key.clone(), value.clone());
                KvResult::Done
            }
            KvOp::Append { key, value } => {
                self.values.entry(key.clone()).or_default().push_str(value);
                KvResult::Done
            }
            KvOp::Cas { key, expected, new } => {
                if self.values.get(key) == expected.as_ref() {
                    self.values.insert(key.clone(), new.clone());
                    KvResult::CasOk
                } else {
                    KvResult::CasFailed
                }
            }
        }
    }

    /// Every key and value, in key order (for status output).
    pub fn entries(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }
}

/// A fast, deterministic 64-bit digest of a byte string (FNV-1a folded through a
/// final mix). Used for the invariant checkers' hash chains and the trace hash.
pub fn digest(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in data.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x0000_0100_0000_01b3);
        hash ^= hash >> 29;
    }
    mix(hash ^ data.len() as u64)
}

/// Folds `value` into `state` (splitmix64's finalizer on the xor).
pub fn mix_into(state: u64, value: u64) -> u64 {
    mix(state.rotate_left(23) ^ value)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(op: KvOp) {
        let command = Command {
            client: 3,
            seq: 9,
            op,
        };
        assert_eq!(Command::decode(&command.encode()), Some(command));
    }

    #[test]
    fn commands_survive_encoding() {
        roundtrip(KvOp::Get { key: "k".into() });
        roundtrip(KvOp::Put {
            key: "k".into(),
            value: "v".into(),
        });
        roundtrip(KvOp::Append {
            key: "k".into(),
            value: "".into(),
        });
        roundtrip(KvOp::Cas {
            key: "k".into(),
            expected: None,
            new: "n".into(),
        });
        roundtrip(KvOp::Cas {
            key: "k".into(),
            expected: Some("o".into()),
            new: "n".into(),
        });
        assert_eq!(Command::decode(&[]), None);
        assert_eq!(Command::decode(&[1, 2, 3]), None);
    }

    #[test]
    fn a_retried_command_takes_effect_once() {
        let mut store = KvStore::default();
        let append = Command {
            client: 1,
            seq: 1,
            op: KvOp::Append {
                key: "k".into(),
                value: "x".into(),
            },
        };
        assert_eq!(store.apply(&append), Applied::Executed(KvResult::Done));
        assert_eq!(store.apply(&append), Applied::Duplicate(KvResult::Done));
        assert_eq!(store.read("k").as_deref(), Some("x"));
        let next = Command {
            client: 1,
            seq: 2,
            op: KvOp::Get { key: "k".into() },
        };
        assert_eq!(
            store.apply(&next),
            Applied::Executed(KvResult::Value(Some("x".into())))
        );
        assert_eq!(store.apply(&append), Applied::Superseded);
        assert_eq!(store.read("k").as_deref(), Some("x"));
    }

    #[test]
    fn compare_and_set_compares_with_the_current_value() {
        let mut store = KvStore::default();
        let cas = |seq, expected: Option<&str>, new: &str| Command {
            client: 1,
            seq,
            op: KvOp::Cas {
                key: "k".into(),
                expected: expected.map(String::from),
                new: new.into(),
            },
        };
        assert_eq!(
            store.apply(&cas(1, Some("a"), "b")),
            Applied::Executed(KvResult::CasFailed)
        );
        assert_eq!(
            store.apply(&cas(2, None, "a")),
            Applied::Executed(KvResult::CasOk)
        );
        assert_eq!(
            store.apply(&cas(3, Some("a"), "b")),
            Applied::Executed(KvResult::CasOk)
        );
        assert_eq!(store.read("k").as_deref(), Some("b"));
    }
}
