//! raft-core: the Raft consensus protocol as a pure, deterministic state machine.
//!
//! Shaped like etcd's raft: the library never does I/O. The host drives it with
//! [`RawNode::tick`], [`RawNode::step`] and [`RawNode::propose`], then collects a
//! [`Ready`] describing what to persist, send and apply, and acknowledges it with
//! [`RawNode::advance`]. Time enters only as ticks and randomness only through an
//! RNG the host seeds, so the same inputs always give the same outputs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conf_change;
pub mod config;
pub mod raw_node;
pub mod types;

mod election;
mod log;
mod membership;
mod progress;
mod quorum;
mod raft;
mod read_only;
mod replication;
mod snapshot;
mod transfer;

pub use conf_change::{
    ConfChange, ConfChangeEntry, ConfChangeKind, ConfChangeSingle, DecodeError, InvalidConfChange,
    ProposeConfChangeError, MAX_CHANGES_PER_CONF_CHANGE, MAX_MEMBERS,
};
pub use config::{Bug, Bugs, Config, ConfigError, ReadOnlyOption};
pub use raw_node::{
    LogChanges, ProposeError, RawNode, ReadIndexError, ReadState, Ready, Role, Status,
    TransferLeaderError,
};
pub use snapshot::CompactError;
pub use types::{
    ConfState, Entry, EntryKind, HardState, Index, Message, MessageBody, NodeId, ReadVia,
    RestoredState, Snapshot, SnapshotChunk, SnapshotMeta, Term,
};
