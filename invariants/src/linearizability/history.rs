//! Histories: what clients invoked, and how each call ended.
//!
//! A history is recorded in real-time order: each `invoke` and `complete` gets
//! the next position in one sequence, and that sequence (not the timestamps) is
//! the real-time order the checker respects. Timestamps are only shown to people.
//! This matters in the simulator, where two events can share a virtual
//! microsecond and still happen one after the other.

use std::fmt;

/// Names one operation of a [`OpHistory`]: its index in invocation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u32);

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<R> {
    /// It took effect once, between its invocation and its completion, and
    /// returned this.
    Ok(R),
    /// It definitely did not take effect (the server refused it before doing
    /// anything). The checker drops it.
    Fail,
    /// Indeterminate (a timeout): it may have taken effect at any time after its
    /// invocation, even after the client gave up, or never.
    Unknown,
}

/// One call of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client (process) that made the call.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// How it ended; `None` while it is still pending (the checker treats a
    /// call still pending at the end as [`Outcome::Unknown`]).
    pub outcome: Option<Outcome<O>>,
    /// When it was invoked (shown only; order comes from `invoke_position`).
    pub invoke_us: u64,
    /// When it completed, if it did.
    pub complete_us: Option<u64>,
    /// Position of the invocation in the history's event sequence.
    pub invoke_position: u32,
    /// Position of the completion in the history's event sequence.
    pub complete_position: Option<u32>,
}

/// A history of calls with inputs `I` and results `O`, in real-time order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpHistory<I, O> {
    // Invariant: ops[i].invoke_position increases with i.
    ops: Vec<Operation<I, O>>,
    // The events in real-time order: an operation's index, shifted left by
    // one, with the low bit set for its completion. Invariant: its length is
    // the next position. Kept so that the checker walks the history in
    // real-time order without sorting.
    log: Vec<u32>,
    pending: usize,
}

/// The key-value history the simulator records.
pub type History = OpHistory<KvOp, KvResult>;

/// The compare-and-set register history of Jepsen's etcd tests.
pub type RegisterHistory = OpHistory<RegisterOp, RegisterResult>;

impl<I, O> Default for OpHistory<I, O> {
    fn default() -> Self {
        Self {
            ops: Vec::new(),
            log: Vec::new(),
            pending: 0,
        }
    }
}

impl<I, O> OpHistory<I, O> {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `client` invoked `input` at `time_us`.
    ///
    /// # Panics
    /// If the history holds 2^31 events (a limit no run comes near).
    pub fn invoke(&mut self, client: u64, input: I, time_us: u64) -> OpId {
        let id = OpId(u32::try_from(self.ops.len()).expect("history too long"));
        let position = self.take_position(id, false);
        self.ops.push(Operation {
            client,
            input,
            outcome: None,
            invoke_us: time_us,
            complete_us: None,
            invoke_position: position,
            complete_position: None,
        });
        self.pending += 1;
        id
    }

    /// Records how the call `id` ended.
    ///
    /// # Panics
    /// If `id` was never invoked or already completed: the recorder is broken.
    pub fn complete(&mut self, id: OpId, outcome: Outcome<O>, time_us: u64) {
        let op = &self.ops[id.0 as usize];
        assert!(op.outcome.is_none(), "operation {id:?} completed twice");
        assert!(
            op.invoke_us <= time_us,
            "operation {id:?} completed before it was invoked"
        );
        let position = self.take_position(id, true);
        let op = &mut self.ops[id.0 as usize];
        op.outcome = Some(outcome);
        op.complete_us = Some(time_us);
        op.complete_position = Some(position);
        self.pending -= 1;
    }

    fn take_position(&mut self, id: OpId, is_completion: bool) -> u32 {
        let position = u32::try_from(self.log.len())
            .ok()
            .filter(|&position| position < 1 << 31)
            .expect("history too long");
        self.log.push(id.0 << 1 | u32::from(is_completion));
        position
    }

    /// Number of operations invoked.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if nothing was invoked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of operations invoked and not yet completed.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The operations, in invocation order.
    pub fn operations(&self) -> &[Operation<I, O>] {
        &self.ops
    }

    /// One operation.
    pub fn get(&self, id: OpId) -> Option<&Operation<I, O>> {
        self.ops.get(id.0 as usize)
    }

    /// Replaces the input of operation `id` (a rewrite that keeps the
    /// history's shape: see `Model::reduce`).
    pub(crate) fn set_input(&mut self, id: OpId, input: I) {
        self.ops[id.0 as usize].input = input;
    }

    /// Number of events (invocations plus completions) recorded.
    pub fn events(&self) -> u32 {
        u32::try_from(self.log.len()).expect("fewer than 2^31 events")
    }

    /// The events in real-time order: (operation, true for its completion).
    pub fn event_order(&self) -> impl ExactSizeIterator<Item = (OpId, bool)> + '_ {
        self.log
            .iter()
            .map(|&event| (OpId(event >> 1), event & 1 == 1))
    }
}

/// A call on the simulator's key-value store. Serialized as in scenario files'
/// JSON form: `{"op": "cas", "key": .., "expected": .., "new": ..}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum KvOp {
    /// Read a key.
    Get {
        /// The key read.
        key: String,
    },
    /// Overwrite a key.
    Put {
        /// The key written.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to a key's value (an absent key counts as empty).
    Append {
        /// The key written.
        key: String,
        /// What is appended.
        value: String,
    },
    /// Set `key` to `new` if its value is `expected` (`None`: absent).
    Cas {
        /// The key compared and written.
        key: String,
        /// The value it must have.
        expected: Option<String>,
        /// The value it gets if it had `expected`.
        new: String,
    },
}

impl KvOp {
    /// The key this call touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. } => key,
        }
    }
}

/// What a key-value call returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvResult {
    /// The value a `get` read (`None`: absent).
    Value(Option<String>),
    /// A `put` or `append` was applied.
    Done,
    /// A `cas` found the expected value and wrote.
    CasOk,
    /// A `cas` found another value and did nothing.
    CasFailed,
}

/// A call on a single compare-and-set register (Jepsen's etcd test).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// Read the register.
    Read,
    /// Overwrite it.
    Write(i64),
    /// Set it to `.1` if it holds `.0`.
    Cas(i64, i64),
}

/// What a register call returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterResult {
    /// The value read (`None`: nil, never written).
    Value(Option<i64>),
    /// A write was applied.
    Done,
    /// A compare-and-set found the expected value and wrote.
    CasOk,
    /// A compare-and-set found another value and did nothing.
    CasFailed,
}

fn show_value(f: &mut fmt::Formatter<'_>, value: Option<&str>) -> fmt::Result {
    match value {
        Some(text) => write!(f, "{text:?}"),
        None => f.write_str("nil"),
    }
}

impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Get { key } => write!(f, "get {key:?}"),
            KvOp::Put { key, value } => write!(f, "put {key:?} {value:?}"),
            KvOp::Append { key, value } => write!(f, "append {key:?} {value:?}"),
            KvOp::Cas { key, expected, new } => {
                write!(f, "cas {key:?} ")?;
                show_value(f, expected.as_deref())?;
                write!(f, " -> {new:?}")
            }
        }
    }
}

impl fmt::Display for KvResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvResult::Value(value) => show_value(f, value.as_deref()),
            KvResult::Done => f.write_str("ok"),
            KvResult::CasOk => f.write_str("cas ok"),
            KvResult::CasFailed => f.write_str("cas failed"),
        }
    }
}

impl fmt::Display for RegisterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterOp::Read => f.write_str("read"),
            RegisterOp::Write(value) => write!(f, "write {value}"),
            RegisterOp::Cas(from, to) => write!(f, "cas {from} -> {to}"),
        }
    }
}

impl fmt::Display for RegisterResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterResult::Value(Some(value)) => write!(f, "{value}"),
            RegisterResult::Value(None) => f.write_str("nil"),
            RegisterResult::Done => f.write_str("ok"),
            RegisterResult::CasOk => f.write_str("cas ok"),
            RegisterResult::CasFailed => f.write_str("cas failed"),
        }
    }
}

impl<R: fmt::Display> fmt::Display for Outcome<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok(result) => result.fmt(f),
            Outcome::Fail => f.write_str("failed (did not happen)"),
            Outcome::Unknown => f.write_str("unknown"),
        }
    }
}
