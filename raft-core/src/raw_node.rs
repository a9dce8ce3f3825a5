//! The host-facing interface: drive the node, collect its `Ready`, acknowledge it.
//!
//! The contract with the host (etcd's): after any input, if [`RawNode::has_ready`],
//! take [`RawNode::ready`], then
//! 1. send `ready.messages` at once (they depend on nothing unsynced);
//! 2. if `ready.snapshot` is set (a snapshot received from the leader): write
//!    it durably, discard the whole stored log (the entries it covers are in
//!    it, the others were replaced), and restore the state machine from its
//!    data; then write `ready.hard_state` and `ready.entries` (truncating the
//!    stored log from the first entry's index) and make them durable;
//! 3. only then send `ready.persisted_messages`;
//! 4. apply `ready.committed_entries` in order (after the snapshot, if any:
//!    they start at its index + 1; an entry of kind `EntryKind::ConfChange` is
//!    a no-op for the state machine: the node switches to the configuration it
//!    carries at step 6, see `conf_change`);
//! 5. answer each of `ready.read_states` once the applied index reaches its
//!    `index` (keep it until then);
//! 6. call [`RawNode::advance`] with the ready's number.
//!
//! The host may keep calling `tick`/`step`/`propose` between taking a `Ready` and
//! advancing it (while its fsync is in flight); it takes no second `Ready` before
//! advancing the first.
//!
//! What this implementation puts where:
//! - `messages`: AppendEntries, Heartbeat, HeartbeatResponse, PreVote and
//!   PreVoteResponse (a pre-vote changes no durable state), ReadIndex and
//!   ReadIndexResponse, TimeoutNow, InstallSnapshot, and the answer to a
//!   snapshot chunk while the transfer goes on (the chunks are held in memory).
//!   `persisted_messages`: RequestVote (the candidate's term and self-vote are
//!   in this ready's hard state), RequestVoteResponse, AppendEntriesResponse
//!   (acks, rejections, and the answer to a stale leader), and the
//!   InstallSnapshotResponse that ends a transfer (it vouches for the
//!   installed snapshot, or for the entries up to the commit index). A message produced while a ready is outstanding goes into the
//!   next ready, whose writes cover the state it depends on.
//! - `entries`: every entry not yet handed out; after a truncation below what was
//!   handed out, from the truncation point.
//! - `hard_state`: `Some` iff term, vote or commit differ from the last ready's.
//! - `committed_entries`: `(applied, min(commit, last index)]`; every such entry is
//!   durable once this ready's entries are written.
//! - `advance`: the ready's entries count as durable up to its last entry if the
//!   log still holds it with the same term; if the log was truncated meanwhile,
//!   only up to the truncation point. A leader then counts its own durable log
//!   towards the commit index (so a leader commits nothing before its own fsync),
//!   and sends AppendEntries carrying a new commit index if it moved. The
//!   configurations of the ready's committed conf entries take effect first,
//!   in order (a leader may then append the entry leaving a joint configuration).
//! - `snapshot`: a snapshot installed from the leader since the last ready. After
//!   `advance`, applied is at least its index.
//! - A single-voter cluster wins its election as soon as it campaigns.
//!
//! Compaction (see the `snapshot` module): the host snapshots its state machine
//! at the applied index, writes that snapshot durably, then calls
//! [`RawNode::compact`]; afterwards it may drop its durable entries up to that
//! index. On restart it passes its latest durable snapshot in
//! [`RestoredState::snapshot`] (and restores its state machine from it) with
//! the durable entries after it.

use bytes::Bytes;
use rand_core::RngCore;

use crate::conf_change::{self, ConfChange, ProposeConfChangeError};
use crate::config::{Bug, Config, ConfigError};
use crate::raft::{Raft, RoleState};
use crate::snapshot::CompactError;
use crate::types::{
    ConfState, Entry, HardState, Index, Message, NodeId, ReadVia, RestoredState, Snapshot,
    SnapshotMeta, Term,
};

/// What a node is, as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for pre-votes for the next term without having raised its own (PreVote).
    PreCandidate,
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
            Role::PreCandidate => "pre-candidate",
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
    /// The leader's transferee while a leadership transfer is under way (etcd's
    /// `LeadTransferee`); `None` otherwise, and on every node but the leader.
    pub lead_transferee: Option<NodeId>,
    /// Index of the first entry held in memory (1 until the log is compacted
    /// or a snapshot installed).
    pub first_index: Index,
    /// Index of the last entry the node's snapshot covers (0 without one).
    pub snapshot_index: Index,
}

/// Why a proposal was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// Only the leader accepts proposals; the hint is the leader this node
    /// believes in. A leader whose log holds the unapplied configuration
    /// change that removes it (or demotes it) refuses them too, with no hint:
    /// it is leaving office.
    #[error("not the leader ({})", describe_hint(*.leader_hint))]
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
    /// The leader is handing its leadership to `to` and takes no proposals
    /// until the transfer completes or is abandoned (after an election timeout).
    #[error("leadership is being transferred to node {to}")]
    TransferInProgress {
        /// The transferee, likely the next leader.
        to: NodeId,
    },
}

/// Why a leadership transfer was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferLeaderError {
    /// Only the leader transfers its leadership.
    #[error("not the leader ({})", describe_hint(*.leader_hint))]
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
    /// The transferee must be a voter.
    #[error("node {0} is not a voter")]
    NotAVoter(NodeId),
    /// The transferee is this node, which already leads.
    #[error("the transferee already leads")]
    AlreadyLeader,
}

/// Why a read was not taken up. The host retries later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadIndexError {
    /// This node knows no leader to serve or forward the read (an election is
    /// under way, or it has not heard from one since it started).
    #[error("no leader known to serve the read")]
    NoLeader,
    /// The leader already holds `MAX_PENDING_READS` (4096) reads waiting to be
    /// confirmed.
    #[error("too many reads waiting at the leader")]
    TooManyPendingReads,
}

/// A read the node confirmed: the host answers it from its state machine once
/// it has applied up to `index` (ReadIndex, §6.4 of Ongaro's thesis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// The read index: the leader's commit index when the read arrived.
    pub index: Index,
    /// The context the host gave [`RawNode::read_index`].
    pub context: u64,
    /// How the leader confirmed it.
    pub via: ReadVia,
}

/// BUG(ForgetVote): votedFor never reaches the disk, so a restarted node
/// may vote a second time in a term it already voted in. (A `planted_`
/// function: left out of the mutation measure, whose campaign plants none.)
fn planted_forget_vote(hard_state: HardState) -> HardState {
    HardState {
        vote: None,
        ..hard_state
    }
}

/// The leader hint of [`ProposeError::NotLeader`] in words.
fn describe_hint(leader_hint: Option<NodeId>) -> String {
    match leader_hint {
        Some(leader) => format!("the leader is node {leader}"),
        None => "no leader known".to_owned(),
    }
}

/// Everything the host must do for the node, in the order of the module doc.
#[derive(Debug, Default)]
pub struct Ready {
    /// Identifies this ready (each ready's number is above the one before
    /// it); `advance` must be given the same number.
    pub number: u64,
    /// A snapshot installed from the leader: persist it and restore the state
    /// machine from it before writing `entries` (which follow it). It replaces
    /// the whole stored log.
    pub snapshot: Option<Snapshot>,
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
    /// Reads confirmed since the last ready: answer each once the applied index
    /// reaches its `index` (they depend on nothing this ready writes).
    pub read_states: Vec<ReadState>,
}

impl Ready {
    /// Whether the host has anything to write to disk for this ready.
    pub fn must_persist(&self) -> bool {
        self.hard_state.is_some() || !self.entries.is_empty() || self.snapshot.is_some()
    }
}

/// The lowest log index rewritten since the observer last asked: entries from
/// here on are new, and anything the observer knew at or past it is gone.
pub type LogChanges = Option<Index>;

/// What the host still owes for the `Ready` it took: set by `ready`, cleared by `advance`.
#[derive(Clone, Debug)]
struct OutstandingReady {
    /// The ready's number.
    number: u64,
    /// `(index, term)` of the last entry it asked the host to persist, if any.
    last_entry: Option<(Index, Term)>,
    /// The last index of its committed entries (the applied index once advanced).
    applied_to: Index,
    /// The index of the snapshot it handed the host, if any.
    snapshot_index: Option<Index>,
    /// The configurations its committed conf entries carry, with their
    /// indexes, in log order: they take effect when it is advanced (empty:
    /// no conf entry).
    conf_states: Vec<(Index, ConfState)>,
}

/// A Raft node driven by its host. See the module doc for the contract.
pub struct RawNode {
    /// The protocol state.
    raft: Raft,
    /// The ready handed out and not yet advanced.
    // Invariant: at most one; `ready` asserts there is none, `advance` that its number matches.
    outstanding: Option<OutstandingReady>,
    /// The hard state as of the last ready (what the host holds or is writing).
    last_ready_hard_state: HardState,
    /// The number of the next ready.
    next_ready_number: u64,
    /// The highest index the host applied and acknowledged.
    // Invariant: applied only moves forward, by `advance`.
    applied: Index,
}

impl RawNode {
    /// Builds a node from a valid configuration and the state its host restored
    /// from disk (empty for a new node). `rng` draws the election timeouts.
    ///
    /// Every restored entry counts as durable; the node starts as a follower with
    /// nothing applied but the restored snapshot (the host restored its state
    /// machine from it), so the first ready's committed entries start at the
    /// snapshot's index + 1 (at 1 without one). Its membership is the
    /// snapshot's configuration. A restored commit index beyond the restored log
    /// is lowered to its last index.
    pub fn new(
        config: Config,
        restored: RestoredState,
        rng: Box<dyn RngCore + Send>,
    ) -> Result<RawNode, ConfigError> {
        config.validate()?;
        let applied = restored.snapshot.as_ref().map_or(0, |s| s.meta.index);
        let raft = Raft::new(config, restored, rng);
        let last_ready_hard_state = raft.hard_state();
        Ok(RawNode {
            raft,
            outstanding: None,
            last_ready_hard_state,
            next_ready_number: 1,
            applied,
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.raft.id()
    }

    /// Advances the node's logical clock by one tick.
    pub fn tick(&mut self) {
        self.raft.tick();
    }

    /// Handles one message from the network. Messages of stale terms, from unknown
    /// nodes or about indexes this node does not have are handled by the protocol's
    /// rules (ignored or answered), never a panic.
    pub fn step(&mut self, message: Message) {
        self.raft.step(message);
    }

    /// Proposes a command; returns the index it was appended at.
    ///
    /// Refused unless this node leads and no leadership transfer is under
    /// way; refused too ([`ProposeError::NotLeader`], no leader hint) while
    /// it is leaving office: the configuration it applied, or the latest
    /// conf entry in its log not yet applied, makes it no voter.
    pub fn propose(&mut self, data: Bytes) -> Result<Index, ProposeError> {
        self.raft.propose(data)
    }

    /// Proposes a configuration change; returns the index of its conf entry.
    ///
    /// Refused (and nothing appended) unless this node leads, no leadership
    /// transfer is under way, an entry of its term has committed, no conf
    /// entry it appended is unapplied and the configuration is not joint, and
    /// the change is valid against its configuration. A change that alters
    /// more than one voter enters the joint configuration C_old,new, which the
    /// leader leaves by itself once it has applied it. The new configuration
    /// takes effect on each node at the `advance` of the ready that applies
    /// its entry. See the `conf_change` module doc.
    pub fn propose_conf_change(
        &mut self,
        change: ConfChange,
    ) -> Result<Index, ProposeConfChangeError> {
        self.raft.propose_conf_change(change)
    }

    /// Whether this node leads and would refuse a configuration change as
    /// [`ProposeConfChangeError::ChangePending`]: a conf entry it appended is
    /// not applied yet, or the configuration is joint (its leave is under
    /// way). False on every node but the leader.
    pub fn conf_change_pending(&self) -> bool {
        self.raft.conf_change_pending()
    }

    /// Asks for a linearizable read without writing to the log (ReadIndex).
    /// `context` identifies it (the host picks it; nothing here needs it unique,
    /// but the host needs it to tell its reads apart).
    ///
    /// The read comes back in a later [`Ready::read_states`] with its read index:
    /// answer it from the state machine once the applied index reaches it. A
    /// leader confirms it with a heartbeat round that a majority acknowledges
    /// (several reads share a round); a follower forwards it to the leader. A
    /// leader takes up no read before an entry of its own term commits: until
    /// then reads are queued, and served once the no-op it appended on election
    /// commits.
    ///
    /// A read may never come back: the forward, the round or the answer can be
    /// lost, and a leader that loses its office drops its waiting reads. The host
    /// must time out and retry (with the same or a new context). Errors (no
    /// leader known, the leader's queue full) are for the host to retry later.
    pub fn read_index(&mut self, context: u64) -> Result<(), ReadIndexError> {
        self.raft.read_index(context)
    }

    /// Hands leadership to the voter `to` (leadership transfer, etcd's
    /// `TransferLeader`). The leader refuses proposals from now on
    /// ([`ProposeError::TransferInProgress`]), brings `to` up to date, then sends
    /// it `TimeoutNow`, on which `to` campaigns at once. The transfer ends when
    /// this node stops leading (normally: `to` won a higher term), or is
    /// abandoned after an election timeout, and proposals resume. A transfer to
    /// the same node while one is under way changes nothing; to another node,
    /// it replaces it. [`Status::lead_transferee`] shows it.
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<(), TransferLeaderError> {
        self.raft.transfer_leader(to)
    }

    /// Whether a `Ready` with anything in it is waiting (and none is outstanding).
    pub fn has_ready(&self) -> bool {
        if self.outstanding.is_some() {
            return false;
        }
        let raft = &self.raft;
        !raft.messages.is_empty()
            || !raft.persisted_messages.is_empty()
            || raft.hard_state() != self.last_ready_hard_state
            || raft.log.has_unstable()
            || self.applied < self.applicable_index()
            || !raft.read_states.is_empty()
            || raft.snapshots.has_for_host()
    }

    /// The last index that may be applied once the next ready's writes are durable.
    fn applicable_index(&self) -> Index {
        self.raft
            .commit
            .min(self.raft.log.last_index())
            .max(self.applied)
    }

    /// Takes the pending work. Panics if the previous ready was not advanced.
    ///
    /// `entries` are every entry not yet handed out (from the truncation point if
    /// the log was truncated below what was handed out); `committed_entries` run
    /// from the applied index to `min(commit, last index)`, which is durable once
    /// this ready's entries are written.
    pub fn ready(&mut self) -> Ready {
        assert!(
            self.outstanding.is_none(),
            "ready() called before advance() of ready {:?}",
            self.outstanding
        );
        let number = self.next_ready_number;
        self.next_ready_number += 1;
        let hard_state = self.raft.hard_state();
        let changed_hard_state = (hard_state != self.last_ready_hard_state).then(|| {
            self.last_ready_hard_state = hard_state;
            if self.raft.config.bugs.has(Bug::ForgetVote) {
                planted_forget_vote(hard_state)
            } else {
                hard_state
            }
        });
        let (entries, last_entry) = self.raft.log.take_unstable();
        let snapshot = self.raft.snapshots.take_for_host();
        let snapshot_index = snapshot.as_ref().map(|s| s.meta.index);
        // A snapshot restores the state machine to its index: apply from there.
        let (applied_from, applied_to) = match snapshot_index {
            Some(index) => (
                index,
                self.raft.commit.min(self.raft.log.last_index()).max(index),
            ),
            None => (self.applied, self.applicable_index()),
        };
        let committed_entries = self
            .raft
            .log
            .slice(applied_from + 1, applied_to, usize::MAX)
            .to_vec();
        assert!(
            committed_entries
                .first()
                .is_none_or(|e| e.index == applied_from + 1),
            "committed entries follow the applied index (never compacted away)"
        );
        self.outstanding = Some(OutstandingReady {
            number,
            last_entry,
            applied_to,
            snapshot_index,
            conf_states: conf_change::conf_states_of(&committed_entries),
        });
        Ready {
            number,
            snapshot,
            hard_state: changed_hard_state,
            entries,
            messages: std::mem::take(&mut self.raft.messages),
            persisted_messages: std::mem::take(&mut self.raft.persisted_messages),
            committed_entries,
            read_states: std::mem::take(&mut self.raft.read_states),
        }
    }

    /// Acknowledges that the ready numbered `number` was carried out: its writes are
    /// durable and its committed entries applied. Panics on a wrong number.
    ///
    /// Its entries count as durable only if the log still holds its last entry with
    /// the same term (entries truncated meanwhile are not). A leader then counts its
    /// own durable log towards the commit index.
    pub fn advance(&mut self, number: u64) {
        let outstanding = self
            .outstanding
            .take()
            .expect("advance() without an outstanding ready");
        assert_eq!(
            outstanding.number, number,
            "advance() given the number of another ready"
        );
        if let Some((index, term)) = outstanding.last_entry {
            self.raft.log.stable_to(index, term);
        }
        match outstanding.snapshot_index {
            // A snapshot newer than the commit index only moves applied forward;
            // a stale one (only a planted bug installs it) moves it back.
            Some(index) => assert!(outstanding.applied_to >= index),
            None => assert!(
                outstanding.applied_to >= self.applied,
                "applied never goes backwards"
            ),
        }
        self.applied = outstanding.applied_to;
        // Conf entries take effect once applied; a leader may then leave a
        // joint configuration. A snapshot installed while the ready was out
        // covers its entries: the configuration it carries is newer, and
        // applying theirs after it would take the node back to one the
        // cluster left (two leaders follow).
        let covered = self.raft.log.snapshot_index();
        let conf_states = outstanding
            .conf_states
            .into_iter()
            .filter(|&(index, _)| index > covered)
            .map(|(_, conf_state)| conf_state)
            .collect();
        self.raft.on_applied(self.applied, conf_states);
        self.raft.on_persisted();
    }

    /// The node's state, cheap to call after every step.
    pub fn status(&self) -> Status {
        let raft = &self.raft;
        Status {
            id: raft.id(),
            role: match raft.role {
                RoleState::Follower => Role::Follower,
                RoleState::PreCandidate { .. } => Role::PreCandidate,
                RoleState::Candidate { .. } => Role::Candidate,
                RoleState::Leader { .. } => Role::Leader,
            },
            term: raft.term,
            vote: raft.vote,
            leader: raft.leader,
            commit: raft.commit,
            applied: self.applied,
            last_index: raft.log.last_index(),
            last_term: raft.log.last_term(),
            persisted_index: raft.log.persisted(),
            lead_transferee: raft.lead_transferee(),
            first_index: raft.log.first_index(),
            snapshot_index: raft.log.snapshot_index(),
        }
    }

    /// The configuration this node currently acts on.
    pub fn conf_state(&self) -> ConfState {
        self.raft.conf_state()
    }

    /// The lowest log index rewritten since the last call, for observers.
    ///
    /// A restarted node reports its first index first (`Some(1)` without a
    /// snapshot) if it restored any entry. Compaction rewrites nothing and is
    /// not reported here: entries below [`RawNode::first_index`] are only
    /// forgotten. An installed snapshot is reported as a change from the index
    /// just after it (the entries after it, if any, are new), and by
    /// [`RawNode::take_installed_snapshot`], which says that everything up to
    /// its index is now the snapshot's.
    pub fn take_log_changes(&mut self) -> LogChanges {
        self.raft.log.take_changes()
    }

    /// The in-memory log entries from `max(from, first_index)` to the last:
    /// an observer asking below [`RawNode::first_index`] gets none of the
    /// compacted entries.
    pub fn log_entries_from(&self, from: Index) -> &[Entry] {
        self.raft.log.entries_from(from)
    }

    /// Index of the first entry held in memory: the snapshot's index + 1 (1
    /// for a log never compacted).
    pub fn first_index(&self) -> Index {
        self.raft.log.first_index()
    }

    /// The node's latest snapshot: the one it compacted to, installed from a
    /// leader, or restored at start (`None` if none).
    pub fn snapshot_meta(&self) -> Option<&SnapshotMeta> {
        self.raft.snapshots.current_meta()
    }

    /// The snapshot that replaced this node's log and state machine since the
    /// last call, taken: installed from a leader (also handed to the host in
    /// [`Ready::snapshot`]), or restored at start. Compaction is not reported
    /// here: it replaces nothing.
    pub fn take_installed_snapshot(&mut self) -> Option<SnapshotMeta> {
        self.raft.snapshots.take_for_observer()
    }

    /// The host snapshotted its state machine at `index`, its applied index,
    /// as `data`, and made that snapshot durable: the node records it (with
    /// the term of the entry at `index` and the current configuration, in
    /// force at the applied index) and drops the entries up to `index` from
    /// memory. It sends this snapshot to followers that need an entry it
    /// dropped. The host may drop its durable entries up to `index` once this
    /// returns `Ok`. Refused (and nothing changes) if `index` is not the
    /// applied index or the log is already compacted that far.
    pub fn compact(&mut self, index: Index, data: Bytes) -> Result<(), CompactError> {
        self.raft.compact(index, self.applied, data)
    }
}
