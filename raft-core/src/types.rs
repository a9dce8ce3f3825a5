//! The protocol's data: log entries, hard state, and messages between nodes.

use bytes::Bytes;

/// A node's identity. Ids are non-zero and unique within a cluster.
pub type NodeId = u64;
/// A Raft term: a logical clock that only moves forward.
pub type Term = u64;
/// A position in the log; the first entry has index 1, index 0 is "before the log".
pub type Index = u64;

/// What an entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An application command, opaque to Raft. A leader's no-op is a `Normal` entry with empty data.
    Normal,
    /// A configuration change: the data is a [`crate::ConfChangeEntry`]. Raft
    /// switches configuration when the host has applied it; the host's state
    /// machine does nothing with it.
    ConfChange,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that created the entry.
    pub term: Term,
    /// The entry's position in the log.
    pub index: Index,
    /// What kind of entry this is.
    pub kind: EntryKind,
    /// The opaque command (empty for a leader's no-op).
    pub data: Bytes,
}

/// A cluster configuration as data (etcd's `ConfState`): who votes, who only
/// listens, and, during a joint configuration C_old,new, the outgoing voters.
/// Snapshots carry it; [`crate::RawNode::conf_state`] shows a node's current one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfState {
    /// Voters of the configuration (of C_new while joint). Sorted, unique.
    pub voters: Vec<NodeId>,
    /// Voters of C_old while joint; empty otherwise. Sorted, unique.
    pub outgoing_voters: Vec<NodeId>,
    /// Members that receive and apply the log but never vote. Sorted, unique.
    pub learners: Vec<NodeId>,
}

impl ConfState {
    /// Whether this is a joint configuration (C_old,new).
    pub fn is_joint(&self) -> bool {
        !self.outgoing_voters.is_empty()
    }

    /// Whether `id` votes in either half of the configuration.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.outgoing_voters.contains(&id)
    }
}

/// The state that must be durable before any message that depends on it leaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// The candidate this node voted for in `term`, if any.
    pub vote: Option<NodeId>,
    /// The highest index known to be committed.
    pub commit: Index,
}

/// What a snapshot stands for: the log up to and including `index`, whose
/// last entry has `term`, and the configuration in force at that index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SnapshotMeta {
    /// The index of the last entry the snapshot covers.
    pub index: Index,
    /// The term of that entry.
    pub term: Term,
    /// The configuration in force once the entry at `index` is applied.
    pub conf_state: ConfState,
}

/// A snapshot: the host's state machine after applying every entry up to
/// `meta.index`, as opaque bytes (raft-core never looks inside `data`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The host's serialized state machine.
    pub data: Bytes,
}

/// One chunk of a snapshot on its way to a follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// What the snapshot covers; with the sender's term, it names the transfer.
    pub meta: SnapshotMeta,
    /// Where `data` starts in the snapshot's data.
    pub offset: u64,
    /// One chunk of the snapshot's data (at most `Config::snapshot_chunk_bytes`).
    pub data: Bytes,
    /// Whether this is the last chunk.
    pub done: bool,
}

/// What a host reads back from its disk to restart a node.
/// `RestoredState::default()` is a fresh node: no snapshot, no entries.
#[derive(Clone, Debug, Default)]
pub struct RestoredState {
    /// The last durable hard state.
    pub hard_state: HardState,
    /// The durable snapshot, if the log was ever compacted or a snapshot
    /// installed. The host restores its state machine from `data` itself; the
    /// node keeps the snapshot to send it to followers that lag behind it, and
    /// starts with applied and commit at least `meta.index` and the membership
    /// of `meta.conf_state`.
    pub snapshot: Option<Snapshot>,
    /// The durable log: contiguous from `snapshot.meta.index + 1` (from index
    /// 1 without a snapshot).
    pub entries: Vec<Entry>,
}

/// A message between two nodes. The envelope carries the sender's term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The sender's current term when it sent the message.
    pub term: Term,
    /// What the message says.
    pub body: MessageBody,
}

/// The kinds of messages of the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    /// RequestVote: a candidate asks for a vote.
    RequestVote {
        /// Index of the candidate's last log entry.
        last_log_index: Index,
        /// Term of the candidate's last log entry.
        last_log_term: Term,
        /// The campaign was started by a leadership transfer (the leader's
        /// TimeoutNow; etcd's `campaignTransfer`): CheckQuorum's vote lease does
        /// not hold it off, since the leader itself asked for it.
        leadership_transfer: bool,
    },
    /// The answer to RequestVote.
    RequestVoteResponse {
        /// Whether the vote was granted.
        granted: bool,
    },
    /// AppendEntries: the leader replicates entries (possibly none) after
    /// `(prev_log_index, prev_log_term)`.
    AppendEntries {
        /// Index of the entry just before `entries`.
        prev_log_index: Index,
        /// Term of that entry.
        prev_log_term: Term,
        /// The entries to append, consecutive from `prev_log_index + 1`.
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: Index,
    },
    /// The answer to AppendEntries.
    AppendEntriesResponse {
        /// Whether the consistency check failed.
        reject: bool,
        /// On success: the index of the last entry now matching the leader's log.
        /// On rejection: the `prev_log_index` that was rejected.
        index: Index,
        /// On rejection, the fast-backtracking hint: a candidate index to probe next
        /// (the follower's last index, or the first index of the conflicting term).
        reject_hint_index: Index,
        /// On rejection, the term of the follower's entry at `reject_hint_index` (0 if none).
        reject_hint_term: Term,
    },
    /// A leader's heartbeat: the paper's AppendEntries with no entries. It asserts
    /// leadership and carries the leader's commit index; its implicit consistency
    /// point is the last entry the follower already confirmed with this leader, so
    /// the follower commits `min(commit, that entry)` (the "index of last new entry").
    Heartbeat {
        /// The leader's commit index.
        commit: Index,
        /// The ReadIndex round this heartbeat belongs to (unique within the
        /// leader's term, increasing); 0 for a heartbeat of no round.
        context: u64,
    },
    /// The answer to a heartbeat.
    HeartbeatResponse {
        /// The heartbeat's round, echoed (0 for none).
        context: u64,
    },
    /// PreVote (§9.6 of Ongaro's thesis): a node whose election timer fired asks
    /// whether it could win an election before it raises its term. The envelope
    /// carries the term it would campaign in (its term + 1); neither side changes
    /// its term or vote for it.
    PreVote {
        /// Index of the pre-candidate's last log entry.
        last_log_index: Index,
        /// Term of the pre-candidate's last log entry.
        last_log_term: Term,
    },
    /// The answer to PreVote. A grant carries the request's term in the
    /// envelope, a refusal the voter's own term.
    PreVoteResponse {
        /// Whether the pre-vote was granted.
        granted: bool,
    },
    /// A follower forwards its host's read to the leader (ReadIndex, §6.4 of
    /// Ongaro's thesis).
    ReadIndex {
        /// The host's context for the read, handed back in the read state.
        context: u64,
    },
    /// The leader's answer to a forwarded read: once the follower has applied
    /// `index`, its state machine may answer the read.
    ReadIndexResponse {
        /// The read index: the leader's commit index when the read arrived.
        index: Index,
        /// The context the follower's host gave the read.
        context: u64,
        /// How the leader confirmed the read.
        via: ReadVia,
    },
    /// Leadership transfer: the leader tells its up-to-date transferee to
    /// campaign at once, without waiting for its election timer or PreVote.
    TimeoutNow,
    /// InstallSnapshot (§7 of the Raft paper): the leader sends a follower
    /// whose next entry it no longer holds its snapshot, one chunk at a time.
    ///
    /// Boxed: every message is as large as its largest kind, and the
    /// simulator moves millions of them; a chunk is rare and large.
    InstallSnapshot(Box<SnapshotChunk>),
    /// The answer to an InstallSnapshot chunk.
    InstallSnapshotResponse {
        /// While `done` is false: the index of the snapshot being received.
        /// Once `done`: the index up to which the follower's log now matches
        /// the leader's (the snapshot's index if it installed it; its commit
        /// index if that was already as far, and the snapshot was not needed).
        index: Index,
        /// How many bytes of the snapshot's data the follower holds,
        /// contiguous from 0: where the next chunk must start.
        next_offset: u64,
        /// The transfer is over: the follower installed the snapshot (and it
        /// is durable), or did not need it.
        done: bool,
    },
}

/// How a leader confirmed that a read index is safe to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadVia {
    /// A majority acknowledged a heartbeat round sent after the read arrived
    /// (ReadIndex, `ReadOnlyOption::Safe`).
    Quorum,
    /// At once, within the leader's lease (`ReadOnlyOption::LeaseBased`).
    Lease,
    /// `ReadOnlyOption::LeaseBased`, but the lease had expired (or was not yet
    /// won, or a leadership transfer suspended it): a heartbeat round confirmed
    /// the read as with `Quorum`.
    QuorumLeaseExpired,
}

impl ReadVia {
    /// A short stable name, for traces and counters.
    pub fn name(self) -> &'static str {
        match self {
            ReadVia::Quorum => "quorum",
            ReadVia::Lease => "lease",
            ReadVia::QuorumLeaseExpired => "quorum-lease-expired",
        }
    }
}

impl MessageBody {
    /// Whether only the leader of the message's term sends this: an
    /// AppendEntries, a heartbeat or a snapshot chunk.
    pub fn is_from_leader(&self) -> bool {
        matches!(
            self,
            MessageBody::AppendEntries { .. }
                | MessageBody::Heartbeat { .. }
                | MessageBody::InstallSnapshot(_)
        )
    }

    /// A vote or pre-vote request's candidate log: its last entry's (term,
    /// index), the order in which logs compare (§5.4.1); `None` for other messages.
    pub fn candidate_last_log(&self) -> Option<(Term, Index)> {
        match *self {
            MessageBody::RequestVote {
                last_log_index,
                last_log_term,
                ..
            }
            | MessageBody::PreVote {
                last_log_index,
                last_log_term,
            } => Some((last_log_term, last_log_index)),
            _ => None,
        }
    }

    /// A short stable name of the message kind, for traces and scenario filters.
    pub fn kind_name(&self) -> &'static str {
        match self {
            MessageBody::RequestVote { .. } => "vote",
            MessageBody::RequestVoteResponse { .. } => "vote-resp",
            MessageBody::AppendEntries { .. } => "app",
            MessageBody::AppendEntriesResponse { .. } => "app-resp",
            MessageBody::Heartbeat { .. } => "heartbeat",
            MessageBody::HeartbeatResponse { .. } => "heartbeat-resp",
            MessageBody::PreVote { .. } => "pre-vote",
            MessageBody::PreVoteResponse { .. } => "pre-vote-resp",
            MessageBody::ReadIndex { .. } => "read-index",
            MessageBody::ReadIndexResponse { .. } => "read-index-resp",
            MessageBody::TimeoutNow => "timeout-now",
            MessageBody::InstallSnapshot(_) => "install-snapshot",
            MessageBody::InstallSnapshotResponse { .. } => "install-snapshot-resp",
        }
    }
}
