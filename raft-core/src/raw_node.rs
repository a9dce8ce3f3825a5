//! The host-facing interface: drive the node, collect its `Ready`, acknowledge it.
//!
//! The contract with the host (etcd's): after any input, if [`RawNode::has_ready`],
//! take [`RawNode::ready`], then
//! 1. send `ready.messages` at once (they depend on nothing unsynced);
//! 2. write `ready.hard_state` and `ready.entries` (truncating the stored log from
//!    the first entry's index) and make them durable;
//! 3. only then send `ready.persisted_messages`;
//! 4. apply `ready.committed_entries` in order;
//! 5. call [`RawNode::advance`] with the ready's number.
//!
//! The host may keep calling `tick`/`step`/`propose` between taking a `Ready` and
//! advancing it (while its fsync is in flight); it takes no second `Ready` before
//! advancing the first.

use bytes::Bytes;
use rand_core::RngCore;

use crate::config::{Config, ConfigError};
use crate::types::{Entry, HardState, Index, Message, NodeId, RestoredState, Term};

/// What a node is, as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for votes in its own term.
    Candidate,
    /// Leads its term.
    Leader,
}

impl Role {
    /// Lower-case name for output.
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// A snapshot of a node's state for observers and humans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// Whom it voted for in `term`.
    pub vote: Option<NodeId>,
    /// The leader it believes in for `term`, if any.
    pub leader: Option<NodeId>,
    /// Its commit index.
    pub commit: Index,
    /// The highest index handed to the host to apply and acknowledged by `advance`.
    pub applied: Index,
    /// Index of its last log entry (in memory, durable or not).
    pub last_index: Index,
    /// Term of its last log entry (0 for an empty log).
    pub last_term: Term,
    /// Index of the last entry known to be durable.
    pub persisted_index: Index,
}

/// Why a proposal was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// Only the leader accepts proposals; the hint is the leader this node believes in.
    #[error("not the leader (leader hint: {leader_hint:?})")]
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
}

/// Everything the host must do for the node, in the order of the module doc.
#[derive(Debug, Default)]
pub struct Ready {
    /// Identifies this ready; `advance` must be given the same number.
    pub number: u64,
    /// The hard state to persist, if it changed.
    pub hard_state: Option<HardState>,
    /// Entries to persist. The stored log is truncated from `entries[0].index` first.
    pub entries: Vec<Entry>,
    /// Messages that may leave at once.
    pub messages: Vec<Message>,
    /// Messages that may leave only after `hard_state` and `entries` are durable.
    pub persisted_messages: Vec<Message>,
    /// Committed entries to apply, in order.
    pub committed_entries: Vec<Entry>,
}

impl Ready {
    /// Whether the host has anything to write to disk for this ready.
    pub fn must_persist(&self) -> bool {
        self.hard_state.is_some() || !self.entries.is_empty()
    }
}

/// The lowest log index rewritten since the observer last asked: entries from
/// here on are new, and anything the observer knew at or past it is gone.
pub type LogChanges = Option<Index>;

/// A Raft node driven by its host. See the module doc for the contract.
pub struct RawNode {
    #[allow(dead_code)]
    config: Config,
    #[allow(dead_code)]
    rng: Box<dyn RngCore + Send>,
}

impl RawNode {
    /// Builds a node from a valid configuration and the state its host restored
    /// from disk (empty for a new node). `rng` draws the election timeouts.
    pub fn new(config: Config, restored: RestoredState, rng: Box<dyn RngCore + Send>) -> Result<RawNode, ConfigError> {
        config.validate()?;
        let _ = restored;
        Ok(RawNode { config, rng })
    }

    /// Advances the node's logical clock by one tick.
    pub fn tick(&mut self) {
        todo!()
    }

    /// Handles one message from the network. Messages of stale terms, from unknown
    /// nodes or about indexes this node does not have are handled by the protocol's
    /// rules (ignored or answered), never a panic.
    pub fn step(&mut self, message: Message) {
        let _ = message;
        todo!()
    }

    /// Proposes a command; returns the index it was appended at.
    pub fn propose(&mut self, data: Bytes) -> Result<Index, ProposeError> {
        let _ = data;
        todo!()
    }

    /// Whether a `Ready` with anything in it is waiting (and none is outstanding).
    pub fn has_ready(&self) -> bool {
        todo!()
    }

    /// Takes the pending work. Panics if the previous ready was not advanced.
    pub fn ready(&mut self) -> Ready {
        todo!()
    }

    /// Acknowledges that the ready numbered `number` was carried out: its writes are
    /// durable and its committed entries applied. Panics on a wrong number.
    pub fn advance(&mut self, number: u64) {
        let _ = number;
        todo!()
    }

    /// The node's state, cheap to call after every step.
    pub fn status(&self) -> Status {
        todo!()
    }

    /// The lowest log index rewritten since the last call, for observers.
    pub fn take_log_changes(&mut self) -> LogChanges {
        todo!()
    }

    /// The in-memory log entries from index `from` (1-based) to the last.
    pub fn log_entries_from(&self, from: Index) -> &[Entry] {
        let _ = from;
        todo!()
    }
}
