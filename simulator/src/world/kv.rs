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

const RESULT_ABSENT: u8 = 1;
const RESULT_VALUE: u8 = 2;
const RESULT_DONE: u8 = 3;
const RESULT_CAS_OK: u8 = 4;
const RESULT_CAS_FAILED: u8 = 5;

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
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn string(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
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
///
/// It keeps a digest of its whole state up to date as it changes (O(1) per
/// command beyond the bytes the command writes), so that a node that installs
/// a snapshot can be held against the state the same applied prefix gave
/// elsewhere, and encodes itself as a snapshot's data.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    values: BTreeMap<String, Value>,
    // Invariant: for each client, the highest seq executed and its result.
    sessions: BTreeMap<u64, (u64, KvResult)>,
    // Invariant: the xor of `key_part` over `values` and `session_part` over `sessions`.
    state_digest: u64,
}

/// A stored value with its rolling hash, so an append updates the digest
/// without reading the whole value again.
#[derive(Clone, Debug)]
struct Value {
    text: String,
    // Invariant: rolling_hash(text).
    hash: u64,
}

/// The base of the rolling hash: odd, so powers of it never vanish mod 2^64.
const ROLLING_BASE: u64 = 0x100_0000_01b3;

/// A polynomial hash of `bytes`, composable: `h(a ++ b) = h(a) * B^|b| + h(b)`.
fn rolling_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(ROLLING_BASE).wrapping_add(u64::from(b) + 1)
    })
}

/// The rolling hash of `a ++ b`, given the hash of `a`.
fn rolling_extend(hash: u64, b: &[u8]) -> u64 {
    let power = ROLLING_BASE.wrapping_pow(b.len() as u32);
    hash.wrapping_mul(power).wrapping_add(rolling_hash(b))
}

fn key_part(key: &str, value: &Value) -> u64 {
    mix_into(
        mix_into(digest(key.as_bytes()), value.hash),
        value.text.len() as u64,
    )
}

fn session_part(client: u64, seq: u64, result: &KvResult) -> u64 {
    let result = match result {
        KvResult::Value(None) => 1,
        KvResult::Value(Some(value)) => mix_into(2, digest(value.as_bytes())),
        KvResult::Done => 3,
        KvResult::CasOk => 4,
        KvResult::CasFailed => 5,
    };
    mix_into(mix_into(mix_into(7, client), seq), result)
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
        let part = session_part(command.client, command.seq, &result);
        if let Some((seq, old)) = self
            .sessions
            .insert(command.client, (command.seq, result.clone()))
        {
            self.state_digest ^= session_part(command.client, seq, &old);
        }
        self.state_digest ^= part;
        Applied::Executed(result)
    }

    /// Reads a key without going through the log (what a stale read does).
    pub fn read(&self, key: &str) -> Option<String> {
        self.values.get(key).map(|v| v.text.clone())
    }

    /// A digest of the whole state (values and sessions): equal states have
    /// equal digests, whatever order built them.
    pub fn state_digest(&self) -> u64 {
        self.state_digest
    }

    fn set(&mut self, key: &str, text: String) {
        let hash = rolling_hash(text.as_bytes());
        let value = Value { text, hash };
        self.state_digest ^= key_part(key, &value);
        if let Some(old) = self.values.insert(key.to_owned(), value) {
            self.state_digest ^= key_part(key, &old);
        }
    }

    /// The whole state as a snapshot's data.
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::new();
        buffer.put_u32_le(self.values.len() as u32);
        for (key, value) in &self.values {
            put_str(&mut buffer, key);
            put_str(&mut buffer, &value.text);
        }
        buffer.put_u32_le(self.sessions.len() as u32);
        for (client, (seq, result)) in &self.sessions {
            buffer.put_u64_le(*client);
            buffer.put_u64_le(*seq);
            match result {
                KvResult::Value(None) => buffer.put_u8(RESULT_ABSENT),
                KvResult::Value(Some(value)) => {
                    buffer.put_u8(RESULT_VALUE);
                    put_str(&mut buffer, value);
                }
                KvResult::Done => buffer.put_u8(RESULT_DONE),
                KvResult::CasOk => buffer.put_u8(RESULT_CAS_OK),
                KvResult::CasFailed => buffer.put_u8(RESULT_CAS_FAILED),
            }
        }
        buffer.freeze()
    }

    /// The state a snapshot's data holds; `None` if the bytes are not one.
    pub fn decode(data: &[u8]) -> Option<KvStore> {
        let mut reader = Reader { data, at: 0 };
        let mut store = KvStore::default();
        for _ in 0..reader.u32()? {
            let key = reader.string()?;
            let text = reader.string()?;
            store.set(&key, text);
        }
        for _ in 0..reader.u32()? {
            let client = reader.u64()?;
            let seq = reader.u64()?;
            let result = match reader.u8()? {
                RESULT_ABSENT => KvResult::Value(None),
                RESULT_VALUE => KvResult::Value(Some(reader.string()?)),
                RESULT_DONE => KvResult::Done,
                RESULT_CAS_OK => KvResult::CasOk,
                RESULT_CAS_FAILED => KvResult::CasFailed,
                _ => return None,
            };
            store.state_digest ^= session_part(client, seq, &result);
            store.sessions.insert(client, (seq, result));
        }
        (reader.at == data.len()).then_some(store)
    }

    fn execute(&mut self, op: &KvOp) -> KvResult {
        match op {
            KvOp::Get { key } => KvResult::Value(self.read(key)),
            KvOp::Put { key, value } => {
                self.set(key, value.clone());
                KvResult::Done
            }
            KvOp::Append { key, value } => {
                match self.values.get_mut(key) {
                    Some(old) => {
                        self.state_digest ^= key_part(key, old);
                        old.hash = rolling_extend(old.hash, value.as_bytes());
                        old.text.push_str(value);
                        self.state_digest ^= key_part(key, old);
                    }
                    None => self.set(key, value.clone()),
                }
                KvResult::Done
            }
            KvOp::Cas { key, expected, new } => {
                if self.read(key).as_ref() == expected.as_ref() {
                    self.set(key, new.clone());
                    KvResult::CasOk
                } else {
                    KvResult::CasFailed
                }
            }
        }
    }

    /// Every key and value, in key order (for status output).
    pub fn entries(&self) -> impl Iterator<Item = (&String, &str)> {
        self.values.iter().map(|(k, v)| (k, v.text.as_str()))
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

    fn command(client: u64, seq: u64, op: KvOp) -> Command {
        Command { client, seq, op }
    }

    fn append(key: &str, value: &str) -> KvOp {
        KvOp::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_state_digest_depends_on_the_state_not_on_how_it_was_reached() {
        let mut one = KvStore::default();
        one.apply(&command(1, 1, append("k", "ab")));
        one.apply(&command(1, 2, append("k", "c")));
        let mut other = KvStore::default();
        other.apply(&command(1, 1, append("k", "a")));
        other.apply(&command(1, 2, append("k", "bc")));
        assert_eq!(one.read("k"), other.read("k"));
        assert_eq!(one.state_digest(), other.state_digest());
        other.apply(&command(2, 1, append("j", "")));
        assert_ne!(
            one.state_digest(),
            other.state_digest(),
            "an empty value is not an absent key"
        );
        let mut absent_then_put = KvStore::default();
        absent_then_put.apply(&command(
            1,
            2,
            KvOp::Put {
                key: "k".into(),
                value: "abc".into(),
            },
        ));
        assert_eq!(
            one.state_digest(),
            absent_then_put.state_digest(),
            "a put of the whole value reaches the state two appends reached"
        );
    }

    #[test]
    fn a_store_survives_its_snapshot_encoding_sessions_included() {
        let mut store = KvStore::default();
        store.apply(&command(1, 1, append("k", "x")));
        store.apply(&command(2, 4, KvOp::Get { key: "k".into() }));
        store.apply(&command(
            3,
            1,
            KvOp::Cas {
                key: "j".into(),
                expected: Some("no".into()),
                new: "y".into(),
            },
        ));
        let restored = KvStore::decode(&store.encode()).expect("decodes");
        assert_eq!(restored.state_digest(), store.state_digest());
        assert_eq!(
            restored.entries().collect::<Vec<_>>(),
            store.entries().collect::<Vec<_>>()
        );
        let mut restored = restored;
        assert_eq!(
            restored.apply(&command(1, 1, append("k", "x"))),
            Applied::Duplicate(KvResult::Done),
            "a retried command stays applied once across a snapshot"
        );
        assert!(KvStore::decode(&[1, 0, 0]).is_none());
        assert!(KvStore::decode(&store.encode()[..5]).is_none());
    }
}
