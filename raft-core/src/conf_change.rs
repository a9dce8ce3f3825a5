//! Configuration changes: learners added and promoted, single-server changes,
//! joint consensus (C_old,new, §4.3 of Ongaro's thesis) for anything that
//! alters more than one voter, and removing the leader. Shaped like etcd's
//! raft (`ConfChangeV2`, `AutoLeave`, `StepDownOnRemoval`).
//!
//! # What a host does
//!
//! The leader's host calls [`crate::RawNode::propose_conf_change`] with a
//! [`ConfChange`]. The leader checks it against its configuration and appends
//! an entry of kind [`crate::EntryKind::ConfChange`] whose data is a
//! [`ConfChangeEntry`]: the change, and the configuration it produces. Hosts
//! and observers decode committed conf entries with [`ConfChangeEntry::decode`]
//! (or [`ConfChange::decode`] for the change alone). Applying a conf entry is a
//! no-op on the host's state machine: raft-core switches configuration itself.
//!
//! # When a configuration takes effect: on apply (etcd)
//!
//! A conf entry takes effect when the host has applied it: at
//! [`crate::RawNode::advance`] of the ready whose `committed_entries` held it,
//! every node (leader, follower, learner) switches to the configuration the
//! entry carries. Until then it acts on the previous one; in particular a
//! leader counts itself while the configuration removing it is not applied.
//!
//! Why this is safe. Nodes act on configurations of different log prefixes
//! (each applies at its own pace), so any two configurations in use at once
//! must have overlapping quorums. Three rules make sure of it:
//!
//! 1. At most one change is pending. A leader appends a conf entry only if it
//!    has applied every conf entry it appended (`pending_conf_index <=
//!    applied`), and a new leader sets `pending_conf_index` to its last index
//!    when it takes office, so it first applies whatever its predecessors may
//!    have appended. A conf entry is therefore appended only after the
//!    previous one committed, and the configurations in use anywhere are the
//!    latest committed one, its predecessor and (once appended) its successor.
//! 2. Each step changes at most one voter, or goes through a joint
//!    configuration: two configurations that differ by one voter have
//!    intersecting majorities (§4.1), and C_old,new needs a majority of both
//!    C_old and C_new for every election, commit, CheckQuorum check, lease and
//!    ReadIndex confirmation, so it overlaps both of its neighbours. The
//!    leader leaves the joint configuration on its own (etcd's `AutoLeave`):
//!    once it has applied C_old,new (or, a leader elected while joint, once
//!    it applied up to its last index at election) it appends the empty
//!    change that leaves it.
//! 3. A leader proposes no change before an entry of its own term committed
//!    (Ongaro's 2015 fix for the single-server change bug): until then its
//!    log may end with a conf entry of an earlier term that was never
//!    committed, and a change built on the configuration it applied would
//!    not be one step from the configurations other nodes may be using.
//!
//! A node also never campaigns while a committed conf entry waits to be
//! applied (etcd's `hasUnappliedConfChanges`): a node that just restarted, or
//! whose host lags, would otherwise count votes with a configuration more than
//! one step behind the latest committed one.
//!
//! # Restart, joining, snapshots
//!
//! The configuration is not part of the hard state. A restarted node starts
//! from `Config::voters` and `Config::learners` and re-applies its log: the
//! committed entries of its first ready bring its configuration back (and it
//! does not campaign before they are applied, see above). Its commit is at
//! least the last conf entry its log holds a later one after, which rule 1
//! says committed: a torn write may have kept both entries and lost the hard
//! state that covered the first. A node that joins a
//! running cluster is built with [`crate::Config::joining`]: an empty
//! configuration, in which it is no voter and so never campaigns. It accepts
//! AppendEntries and heartbeats from a leader it does not know, and learns the
//! whole configuration from the first conf entry it applies, since each entry
//! carries the configuration it produces (as the thesis's configuration
//! entries do): no replay of changes from a base it never saw. A snapshot
//! carries its [`ConfState`]; installing or restoring one sets the
//! configuration with `Raft::apply_conf_state`.
//!
//! # Removing the leader
//!
//! A leader that applies a configuration in which it is not a voter (removed,
//! or demoted to learner) hands over and steps down (etcd's
//! `StepDownOnRemoval`): it sends `TimeoutNow` to a voter of the new
//! configuration that holds its whole log, and becomes a follower of its term
//! knowing no leader. If no such voter exists yet, it leads on, counted in no
//! quorum (a learner of its own view if it was removed outright) and taking
//! no proposal, and hands over at the first acknowledgement that makes one;
//! losing its office otherwise (a higher term, CheckQuorum) ends it too. Not
//! a voter, it never campaigns again unless a later configuration makes it one.
//!
//! From the moment its log holds the conf entry removing it, the leader takes
//! no proposal (`ProposeError::NotLeader` with no hint), so that entry (or the
//! leave of the joint configuration it entered) is its last. When it commits,
//! a voter of the new configuration holds it (a majority of the old
//! configuration, or of both in a joint one, did, and it meets the new
//! voters), hence the whole log of the leader. Without this, the remaining
//! voters could be stuck: one that has not learned the change committed
//! still counts the old leader's vote, which the old leader refuses to a log
//! shorter than its own, and the old leader no longer campaigns.
//!
//! # Votes from outside the configuration are ignored, unless ahead
//!
//! A node ignores RequestVote and PreVote from a node that is in none of its
//! voter, outgoing voter or learner sets, unless the candidate's log is
//! strictly ahead of its own: it neither answers nor adopts its term. A
//! removed node that never learned of its removal keeps campaigning with
//! ever higher terms; without this rule it would depose every leader
//! (Ongaro's §4.2.3 "disruptive servers"). Its log is not ahead of the
//! voters' that hold the entry removing it, so they go on ignoring it.
//! Ignoring a vote request is always safe (a vote not cast elects no one),
//! but not always live: a node added by a configuration this node has not
//! applied yet may need this node's vote, when the voters that did apply it
//! are not a majority of it by themselves (seed 21532350: n6 added, the
//! only one able to win, n3 still on the configuration before). Such a
//! candidate holds entries this node lacks (the conf entry adding it at
//! least), so its log is ahead: it is answered as any member. A lagging
//! node answering a removed one with a longer log adopts its term once,
//! and the leader catches it up. A node that knows no configuration yet
//! (joining) answers every vote; a configuration that added it may need its
//! vote before any leader has reached it. This node learns a new term from
//! the next leader's AppendEntries, which is accepted from any node. A
//! leader sends nothing to a node no longer in its configuration and
//! ignores its answers.
//!
//! # Known liveness hole
//!
//! A leader removed while the no-op of its term is on no voter of the new
//! configuration, and deposed before it could hand over, no longer
//! campaigns; a remaining voter that never learned the removal committed
//! still counts its vote, which it refuses to a shorter log. The cluster is
//! then stuck (seed 19 of `tests/random_faults.rs`, with two voters). etcd's
//! `StepDownOnRemoval` has the same shape. Ways out, not built: transfer the
//! leadership before removing the leader (what operators do), or let a vote
//! refusal carry the voter's commit index and term, so the candidate learns
//! the removal committed and applies it.

use bytes::{BufMut, Bytes, BytesMut};

use crate::config::Bug;
use crate::membership::Membership;
use crate::progress::Progress;
use crate::raft::{Raft, RoleState};
use crate::types::{ConfState, Entry, EntryKind, Index, MessageBody, NodeId};

/// At most this many single changes in one [`ConfChange`].
pub const MAX_CHANGES_PER_CONF_CHANGE: usize = 64;

/// At most this many ids in each set of an encoded [`ConfState`].
pub const MAX_MEMBERS: usize = 1024;

/// The position of a node that is not a member of its own configuration (a
/// joining node, or one removed): no per-member vector has it.
pub(crate) const NOT_A_MEMBER: usize = usize::MAX;

/// What one change does to one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfChangeKind {
    /// Makes the node a voter: adds a new node, or promotes a learner.
    AddVoter,
    /// Makes the node a learner: adds a new node, or demotes a voter.
    AddLearner,
    /// Removes the node (a voter or a learner) from the configuration.
    RemoveNode,
}

/// One change to one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfChangeSingle {
    /// What happens to the node.
    pub kind: ConfChangeKind,
    /// The node.
    pub node: NodeId,
}

/// A configuration change, as a host proposes it (etcd's `ConfChangeV2`).
///
/// Changes that alter at most one voter (any number of learner changes
/// besides) are simple: the new configuration replaces the old one at once.
/// Changes that alter more than one voter enter the joint configuration
/// C_old,new; the leader leaves it by itself. An empty list of changes is
/// the change that leaves a joint configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfChange {
    /// The changes, each on a different node.
    pub changes: Vec<ConfChangeSingle>,
}

/// What a conf entry of the log carries: the change, and the configuration
/// it produces (which every node adopts when it applies the entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfChangeEntry {
    /// The change the leader accepted (empty: leave the joint configuration).
    pub change: ConfChange,
    /// The configuration once the entry is applied.
    pub conf_state: ConfState,
}

/// Why bytes are no encoded [`ConfChange`] or [`ConfChangeEntry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before what they announce.
    #[error("truncated")]
    Truncated,
    /// An encoding version this code does not know.
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    /// A change kind this code does not know.
    #[error("unknown change kind {0}")]
    UnknownKind(u8),
    /// A section tag this code does not know.
    #[error("unknown section {0}")]
    UnknownSection(u8),
    /// More changes or members than the limits allow.
    #[error("{count} items, more than the limit of {max}")]
    TooMany {
        /// How many were announced.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Node id 0, which is reserved.
    #[error("node id 0 is reserved")]
    ZeroNode,
    /// Bytes after the end of the encoding.
    #[error("trailing bytes")]
    TrailingBytes,
    /// The configuration is not one (no voter, unsorted or repeated ids, a
    /// learner that votes).
    #[error("not a valid configuration")]
    InvalidConfState,
    /// A conf entry without the configuration it produces.
    #[error("no configuration in the entry")]
    MissingConfState,
}

/// Why a configuration change was refused. The host may retry later (the
/// first three) or must fix the change (`Invalid`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeConfChangeError {
    /// Only the leader accepts changes; the hint is the leader this node believes in.
    #[error("not the leader ({})", match leader_hint { Some(l) => format!("the leader is node {l}"), None => "no leader known".to_owned() })]
    NotLeader {
        /// The leader of the current term, if this node knows it.
        leader_hint: Option<NodeId>,
    },
    /// The leader is handing its leadership to `to`.
    #[error("leadership is being transferred to node {to}")]
    TransferInProgress {
        /// The transferee.
        to: NodeId,
    },
    /// The leader has not committed an entry of its own term yet.
    #[error("the leader has not committed an entry of its term yet")]
    OwnTermNotCommitted,
    /// A conf entry is not applied yet (at `pending_index`), or the
    /// configuration is joint and its leave is under way.
    #[error("a configuration change is pending (index {pending_index})")]
    ChangePending {
        /// The index of the last conf entry the leader appended (or its last
        /// index when it took office).
        pending_index: Index,
    },
    /// The change is not valid against the leader's configuration.
    #[error("invalid configuration change: {0}")]
    Invalid(InvalidConfChange),
}

/// Why a change is invalid against the current configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidConfChange {
    /// An empty change leaves a joint configuration; this one is not joint.
    #[error("an empty change leaves a joint configuration, and there is none")]
    NothingToLeave,
    /// More than [`MAX_CHANGES_PER_CONF_CHANGE`] changes.
    #[error("{0} changes, more than the limit")]
    TooManyChanges(usize),
    /// Node id 0 is reserved.
    #[error("node id 0 is reserved")]
    ZeroNode,
    /// Several changes name one node.
    #[error("several changes on node {0}")]
    NodeRepeated(NodeId),
    /// AddVoter on a node that already votes.
    #[error("node {0} is already a voter")]
    AlreadyVoter(NodeId),
    /// AddLearner on a node that already is a learner.
    #[error("node {0} is already a learner")]
    AlreadyLearner(NodeId),
    /// RemoveNode on a node that is not a member.
    #[error("node {0} is not a member")]
    NotAMember(NodeId),
    /// The change would leave no voter.
    #[error("no voter would be left")]
    NoVoterLeft,
    /// A voter demoted to learner in a change that alters other voters too
    /// (it would have to vote in C_old and listen in C_new at once): demote
    /// it in a change of its own.
    #[error("node {0} is demoted in a joint change: demote it on its own")]
    DemotionInJointChange(NodeId),
    /// The configuration would hold more than [`MAX_MEMBERS`] ids in a set.
    #[error("more than the limit of members")]
    TooManyMembers,
}

/// The one encoding version.
const VERSION: u8 = 1;
/// The tag of the section that carries the configuration an entry produces.
const CONF_STATE_SECTION: u8 = 1;

impl ConfChangeKind {
    fn code(self) -> u8 {
        match self {
            ConfChangeKind::AddVoter => 0,
            ConfChangeKind::AddLearner => 1,
            ConfChangeKind::RemoveNode => 2,
        }
    }

    fn from_code(code: u8) -> Result<ConfChangeKind, DecodeError> {
        match code {
            0 => Ok(ConfChangeKind::AddVoter),
            1 => Ok(ConfChangeKind::AddLearner),
            2 => Ok(ConfChangeKind::RemoveNode),
            other => Err(DecodeError::UnknownKind(other)),
        }
    }
}

impl ConfChange {
    /// The empty change: leave the joint configuration.
    pub fn leave_joint() -> ConfChange {
        ConfChange::default()
    }

    /// A change of one node.
    pub fn single(kind: ConfChangeKind, node: NodeId) -> ConfChange {
        ConfChange {
            changes: vec![ConfChangeSingle { kind, node }],
        }
    }

    /// Whether this is the change that leaves a joint configuration.
    pub fn is_leave_joint(&self) -> bool {
        self.changes.is_empty()
    }

    /// A small stable binary encoding: version 1, the change count (u16 LE),
    /// then per change its kind (u8: 0 AddVoter, 1 AddLearner, 2
    /// RemoveNode) and node (u64 LE). A conf entry appends a section with
    /// the configuration it produces (see [`ConfChangeEntry::encode`]).
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::with_capacity(3 + 9 * self.changes.len());
        self.encode_into(&mut buffer);
        buffer.freeze()
    }

    fn encode_into(&self, buffer: &mut BytesMut) {
        assert!(self.changes.len() <= MAX_CHANGES_PER_CONF_CHANGE);
        buffer.put_u8(VERSION);
        buffer.put_u16_le(self.changes.len() as u16);
        for change in &self.changes {
            buffer.put_u8(change.kind.code());
            buffer.put_u64_le(change.node);
        }
    }

    /// Decodes [`ConfChange::encode`]'s bytes, or a conf entry's data (whose
    /// configuration section is checked, then dropped). Never panics.
    pub fn decode(data: &[u8]) -> Result<ConfChange, DecodeError> {
        let mut reader = Reader { data };
        let change = reader.conf_change()?;
        if !reader.data.is_empty() {
            reader.conf_state_section()?;
        }
        reader.finish()?;
        Ok(change)
    }
}

impl ConfChangeEntry {
    /// The change's encoding, then the section tag 1 and the configuration:
    /// voters, outgoing voters, learners, each a count (u16 LE) and ids (u64 LE).
    pub fn encode(&self) -> Bytes {
        let state = &self.conf_state;
        let ids = state.voters.len() + state.outgoing_voters.len() + state.learners.len();
        let mut buffer = BytesMut::with_capacity(10 + 9 * self.change.changes.len() + 8 * ids);
        self.change.encode_into(&mut buffer);
        buffer.put_u8(CONF_STATE_SECTION);
        for set in [&state.voters, &state.outgoing_voters, &state.learners] {
            assert!(set.len() <= MAX_MEMBERS);
            buffer.put_u16_le(set.len() as u16);
            for &id in set {
                buffer.put_u64_le(id);
            }
        }
        buffer.freeze()
    }

    /// Decodes a conf entry's data. Never panics; the configuration is
    /// checked to be one (voters, sorted unique ids, learners that do not vote).
    pub fn decode(data: &[u8]) -> Result<ConfChangeEntry, DecodeError> {
        let mut reader = Reader { data };
        let change = reader.conf_change()?;
        if reader.data.is_empty() {
            return Err(DecodeError::MissingConfState);
        }
        let conf_state = reader.conf_state_section()?;
        reader.finish()?;
        Ok(ConfChangeEntry { change, conf_state })
    }
}

/// Reads the encoding front to back.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .data
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.data = rest;
        Ok(*head)
    }

    fn count(&mut self, max: usize) -> Result<usize, DecodeError> {
        let count = u16::from_le_bytes(self.take::<2>()?) as usize;
        if count > max {
            return Err(DecodeError::TooMany { count, max });
        }
        Ok(count)
    }

    fn node(&mut self) -> Result<NodeId, DecodeError> {
        match u64::from_le_bytes(self.take::<8>()?) {
            0 => Err(DecodeError::ZeroNode),
            id => Ok(id),
        }
    }

    fn conf_change(&mut self) -> Result<ConfChange, DecodeError> {
        let [version] = self.take::<1>()?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let count = self.count(MAX_CHANGES_PER_CONF_CHANGE)?;
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            let [code] = self.take::<1>()?;
            let kind = ConfChangeKind::from_code(code)?;
            changes.push(ConfChangeSingle {
                kind,
                node: self.node()?,
            });
        }
        Ok(ConfChange { changes })
    }

    fn conf_state_section(&mut self) -> Result<ConfState, DecodeError> {
        let [tag] = self.take::<1>()?;
        if tag != CONF_STATE_SECTION {
            return Err(DecodeError::UnknownSection(tag));
        }
        let mut sets: [Vec<NodeId>; 3] = Default::default();
        for set in &mut sets {
            let count = self.count(MAX_MEMBERS)?;
            for _ in 0..count {
                set.push(self.node()?);
            }
        }
        let [voters, outgoing_voters, learners] = sets;
        let state = ConfState {
            voters,
            outgoing_voters,
            learners,
        };
        if !is_valid_conf_state(&state) {
            return Err(DecodeError::InvalidConfState);
        }
        Ok(state)
    }

    fn finish(&self) -> Result<(), DecodeError> {
        match self.data.is_empty() {
            true => Ok(()),
            false => Err(DecodeError::TrailingBytes),
        }
    }
}

/// Whether `state` is a configuration `Membership` accepts: at least one
/// voter, every set sorted and unique without id 0, learners vote nowhere.
pub(crate) fn is_valid_conf_state(state: &ConfState) -> bool {
    let sorted_unique = |ids: &[NodeId]| ids.windows(2).all(|w| w[0] < w[1]);
    let sets = [&state.voters, &state.outgoing_voters, &state.learners];
    !state.voters.is_empty()
        && sets.iter().all(|s| sorted_unique(s) && !s.contains(&0))
        && state
            .learners
            .iter()
            .all(|l| !state.voters.contains(l) && !state.outgoing_voters.contains(l))
}

/// The configuration `change` produces from the simple (not joint)
/// configuration `current`, or why it cannot. The empty change leaves a
/// joint `current`.
pub fn next_conf_state(
    current: &ConfState,
    change: &ConfChange,
) -> Result<ConfState, InvalidConfChange> {
    if change.is_leave_joint() {
        if !current.is_joint() {
            return Err(InvalidConfChange::NothingToLeave);
        }
        return Ok(ConfState {
            voters: current.voters.clone(),
            outgoing_voters: Vec::new(),
            learners: current.learners.clone(),
        });
    }
    assert!(
        !current.is_joint(),
        "a change starts from a simple configuration"
    );
    if change.changes.len() > MAX_CHANGES_PER_CONF_CHANGE {
        return Err(InvalidConfChange::TooManyChanges(change.changes.len()));
    }
    let mut voters = current.voters.clone();
    let mut learners = current.learners.clone();
    let mut demoted = None;
    for (k, single) in change.changes.iter().enumerate() {
        let node = single.node;
        if node == 0 {
            return Err(InvalidConfChange::ZeroNode);
        }
        if change.changes[..k].iter().any(|c| c.node == node) {
            return Err(InvalidConfChange::NodeRepeated(node));
        }
        let is_voter = voters.contains(&node);
        let is_learner = learners.contains(&node);
        match single.kind {
            ConfChangeKind::AddVoter if is_voter => {
                return Err(InvalidConfChange::AlreadyVoter(node))
            }
            ConfChangeKind::AddVoter => {
                learners.retain(|&l| l != node);
                voters.push(node);
            }
            ConfChangeKind::AddLearner if is_learner => {
                return Err(InvalidConfChange::AlreadyLearner(node))
            }
            ConfChangeKind::AddLearner => {
                if is_voter {
                    demoted = Some(node);
                    voters.retain(|&v| v != node);
                }
                learners.push(node);
            }
            ConfChangeKind::RemoveNode if !is_voter && !is_learner => {
                return Err(InvalidConfChange::NotAMember(node))
            }
            ConfChangeKind::RemoveNode => {
                voters.retain(|&v| v != node);
                learners.retain(|&l| l != node);
            }
        }
    }
    voters.sort_unstable();
    learners.sort_unstable();
    if voters.is_empty() {
        return Err(InvalidConfChange::NoVoterLeft);
    }
    if voters.len() > MAX_MEMBERS || learners.len() > MAX_MEMBERS {
        return Err(InvalidConfChange::TooManyMembers);
    }
    let voters_changed = voters_altered(&current.voters, &voters);
    let outgoing_voters = match voters_changed {
        0 | 1 => Vec::new(),
        _ => current.voters.clone(),
    };
    if let (Some(node), false) = (demoted, outgoing_voters.is_empty()) {
        return Err(InvalidConfChange::DemotionInJointChange(node));
    }
    let next = ConfState {
        voters,
        outgoing_voters,
        learners,
    };
    assert!(is_valid_conf_state(&next));
    Ok(next)
}

/// How many voters are in one of two sorted sets and not the other.
fn voters_altered(before: &[NodeId], after: &[NodeId]) -> usize {
    let removed = before.iter().filter(|v| !after.contains(v)).count();
    let added = after.iter().filter(|v| !before.contains(v)).count();
    removed + added
}

/// The configurations carried by the conf entries among `entries`, in order.
/// An entry that does not decode (no leader of this crate writes one) changes
/// nothing, on every node alike.
pub(crate) fn conf_states_of(entries: &[Entry]) -> Vec<(Index, ConfState)> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::ConfChange)
        .filter_map(|e| Some((e.index, ConfChangeEntry::decode(&e.data).ok()?.conf_state)))
        .collect()
}

/// `old` values keyed by `old_members`, moved to the positions of
/// `new_members`; a member new to the configuration gets `fresh(id)`.
fn remap<T>(
    old_members: &[NodeId],
    old: Vec<T>,
    new_members: &[NodeId],
    mut fresh: impl FnMut(NodeId) -> T,
) -> Vec<T> {
    assert_eq!(old.len(), old_members.len());
    let mut old: Vec<Option<T>> = old.into_iter().map(Some).collect();
    new_members
        .iter()
        .map(|&id| match old_members.binary_search(&id) {
            Ok(position) => old[position].take().expect("ids are unique"),
            Err(_) => fresh(id),
        })
        .collect()
}

impl Raft {
    /// Leader: checks `change` and appends it (see the module doc for the
    /// rules). Returns the index of the conf entry.
    pub(crate) fn propose_conf_change(
        &mut self,
        change: ConfChange,
    ) -> Result<Index, ProposeConfChangeError> {
        if !self.is_leader() {
            return Err(ProposeConfChangeError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(to) = self.transfer_blocks_proposals() {
            return Err(ProposeConfChangeError::TransferInProgress { to });
        }
        if self.removal_pending() {
            return Err(ProposeConfChangeError::NotLeader { leader_hint: None });
        }
        // BUG(ConfChangeBeforeTermCommit): no own-term commit check (Ongaro's
        // 2015 single-server bug): a new leader builds a change on a
        // configuration that may not be the latest one its log will commit.
        let own_term_committed = self.log.term(self.commit) == Some(self.term)
            || self.config.bugs.has(Bug::ConfChangeBeforeTermCommit);
        if !own_term_committed {
            return Err(ProposeConfChangeError::OwnTermNotCommitted);
        }
        // BUG(TwoChangesPending): a change is accepted while the previous one
        // is not applied: both are validated against the same configuration,
        // and nodes may then act on configurations two steps apart.
        let unapplied =
            self.pending_conf_index > self.applied && !self.config.bugs.has(Bug::TwoChangesPending);
        if unapplied || self.membership.is_joint() {
            return Err(ProposeConfChangeError::ChangePending {
                pending_index: self.pending_conf_index,
            });
        }
        let conf_state = next_conf_state(&self.membership.conf_state(), &change)
            .map_err(ProposeConfChangeError::Invalid)?;
        Ok(self.append_conf_entry(ConfChangeEntry { change, conf_state }))
    }

    /// Leader: appends a conf entry, which is now the pending one.
    fn append_conf_entry(&mut self, entry: ConfChangeEntry) -> Index {
        assert!(self.is_leader());
        let index = self.log.last_index() + 1;
        self.log.append_one(Entry {
            term: self.term,
            index,
            kind: EntryKind::ConfChange,
            data: entry.encode(),
        });
        self.pending_conf_index = index;
        self.broadcast_append(false);
        index
    }

    /// The host applied up to `applied`, including conf entries carrying
    /// `conf_states` (in log order): switch to each, then, a leader, leave a
    /// joint configuration once nothing it appended is unapplied (AutoLeave).
    pub(crate) fn on_applied(&mut self, applied: Index, conf_states: Vec<ConfState>) {
        // Only the planted snapshot-regresses-commit installs a stale snapshot.
        assert!(
            applied >= self.applied || self.config.bugs.has(Bug::SnapshotRegressesCommit),
            "applied never goes backwards"
        );
        self.applied = applied;
        for conf_state in &conf_states {
            self.apply_conf_state(conf_state);
        }
        if self.is_leader() && self.membership.is_joint() && self.pending_conf_index <= self.applied
        {
            let current = self.membership.conf_state();
            let conf_state = next_conf_state(&current, &ConfChange::leave_joint())
                .expect("a joint configuration can be left");
            self.append_conf_entry(ConfChangeEntry {
                change: ConfChange::leave_joint(),
                conf_state,
            });
        }
    }

    /// Whether this leader would refuse a change as pending: a conf entry it
    /// appended is not applied, or the configuration is joint. False on
    /// every node but the leader.
    pub(crate) fn conf_change_pending(&self) -> bool {
        self.is_leader() && (self.pending_conf_index > self.applied || self.membership.is_joint())
    }

    /// Sets the configuration to `conf_state` (a conf entry applied, or a
    /// snapshot installed or restored) and rebuilds every per-member vector
    /// from the new positions, keeping what is known of surviving members.
    pub(crate) fn apply_conf_state(&mut self, conf_state: &ConfState) {
        assert!(
            is_valid_conf_state(conf_state),
            "a configuration has a voter"
        );
        let mut membership = Membership::from_conf_state(conf_state);
        if self.config.bugs.has(Bug::JointSingleMajority) {
            // BUG(JointSingleMajority): the quorum configuration is built from
            // the incoming voters alone: the outgoing ones are still replicated
            // to and still campaign, but no decision waits for C_old's majority.
            membership = membership.without_outgoing_quorum();
        }
        if self.is_leader() && !membership.is_voter(self.id()) {
            if let Some(successor) = self.up_to_date_voter(&membership) {
                self.step_down_on_removal(membership, successor);
                return;
            }
            // No voter of the new configuration holds its whole log yet: it
            // leads on, counted nowhere, until one does (see the module doc).
            self.leaving_conf_state = Some(conf_state.clone());
            if membership.position_of(self.id()).is_none() {
                let mut with_self = conf_state.clone();
                with_self.learners.push(self.id());
                with_self.learners.sort_unstable();
                membership = Membership::from_conf_state(&with_self);
            }
        } else {
            self.leaving_conf_state = None;
        }
        let old_membership = std::mem::replace(&mut self.membership, membership);
        let id = self.id();
        self.self_position = self.position_of(id).unwrap_or(NOT_A_MEMBER);
        let old = old_membership.members();
        let new = self.membership.members().to_vec();
        match &mut self.role {
            RoleState::Follower => {}
            RoleState::PreCandidate { votes } | RoleState::Candidate { votes, .. } => {
                *votes = remap(old, std::mem::take(votes), &new, |_| None);
                if !self.is_promotable() {
                    // No longer a voter: its campaign is over.
                    self.become_follower(self.term, None);
                }
            }
            RoleState::Leader { .. } => self.rebuild_leader(&old_membership),
        }
    }

    /// Leader: rebuilds progress, CheckQuorum activity and read-round acks
    /// for the new members; new members start probing (and count as active,
    /// as in etcd, so they do not cost the leader its quorum at once).
    fn rebuild_leader(&mut self, old_membership: &Membership) {
        let next_index = self.log.last_index() + 1;
        let window = self.config.max_inflight_messages;
        let old = old_membership.members();
        let new = self.membership.members().to_vec();
        let RoleState::Leader {
            progress,
            recent_active,
            reads,
            transfer,
            ..
        } = &mut self.role
        else {
            unreachable!("called on a leader");
        };
        *progress = remap(old, std::mem::take(progress), &new, |_| {
            Progress::new(next_index, window)
        });
        *recent_active = remap(old, std::mem::take(recent_active), &new, |_| true);
        reads.rebuild_acked_rounds(|acked| remap(old, acked, &new, |_| 0));
        if transfer.is_some_and(|t| !self.membership.is_voter(t.to)) {
            *transfer = None; // The transferee was removed or demoted.
        }
        assert_eq!(progress.len(), new.len());
        for (position, id) in new.iter().enumerate() {
            if position != self.self_position && old.binary_search(id).is_err() {
                self.send_append(position, true);
            }
        }
        // Fewer or other voters may commit more; recount as after a write.
        self.on_persisted();
    }

    /// Leader: the first voter of `membership` (by id) that holds its whole
    /// log, by its progress.
    fn up_to_date_voter(&self, membership: &Membership) -> Option<NodeId> {
        let last_index = self.log.last_index();
        let RoleState::Leader { progress, .. } = &self.role else {
            unreachable!("called on a leader");
        };
        self.membership
            .members()
            .iter()
            .zip(progress)
            .find(|(&id, p)| {
                id != self.id() && membership.is_voter(id) && p.match_index == last_index
            })
            .map(|(&id, _)| id)
    }

    /// Leader no longer a voter in `membership`: hands leadership to
    /// `successor`, a voter of it that holds its whole log, and steps down
    /// to follower of its term, knowing no leader.
    fn step_down_on_removal(&mut self, membership: Membership, successor: NodeId) {
        self.membership = membership;
        self.self_position = self.position_of(self.id()).unwrap_or(NOT_A_MEMBER);
        self.leaving_conf_state = None;
        self.role = RoleState::Follower;
        self.leader = None;
        self.leader_contact_elapsed_ticks = None;
        self.reset_election_timer();
        self.send(successor, MessageBody::TimeoutNow);
        // Under the planted learner-votes a demoted leader still campaigns.
        assert!(
            !self.is_leader() && (!self.is_promotable() || self.config.bugs.has(Bug::LearnerVotes))
        );
    }

    /// Leader leading on outside its configuration: once a voter holds its
    /// whole log (an acknowledgement just came), hands over and steps down.
    pub(crate) fn maybe_hand_over_on_removal(&mut self) {
        let Some(conf_state) = &self.leaving_conf_state else {
            return;
        };
        assert!(
            self.is_leader(),
            "only a leader leads on outside its configuration"
        );
        let membership = Membership::from_conf_state(conf_state);
        if let Some(successor) = self.up_to_date_voter(&membership) {
            self.step_down_on_removal(membership, successor);
        }
    }

    /// A leader leading on outside its configuration lost its office (a
    /// higher term, CheckQuorum): it takes its configuration as it is.
    pub(crate) fn on_leaving_office(&mut self) {
        if let Some(conf_state) = self.leaving_conf_state.take() {
            self.membership = Membership::from_conf_state(&conf_state);
            self.self_position = self.position_of(self.id()).unwrap_or(NOT_A_MEMBER);
        }
    }

    /// The configuration this node applied (a leader leading on outside
    /// its configuration counts itself as a learner of it meanwhile).
    pub(crate) fn conf_state(&self) -> ConfState {
        match &self.leaving_conf_state {
            Some(conf_state) => conf_state.clone(),
            None => self.membership.conf_state(),
        }
    }

    /// Leader: whether its log holds a conf entry, not yet applied, in which
    /// it is no voter. It then takes no proposal, so that its last entry is
    /// that entry (or the leave of the joint configuration it entered) and
    /// some voter of the new configuration holds its whole log once it
    /// commits: cheap only while a conf entry may be unapplied.
    pub(crate) fn removal_pending(&self) -> bool {
        if self.leaving_conf_state.is_some() {
            return true;
        }
        if self.pending_conf_index <= self.applied {
            return false;
        }
        let unapplied = self.log.entries_from(self.applied + 1);
        let latest = unapplied
            .iter()
            .rev()
            .find(|e| e.kind == EntryKind::ConfChange)
            .and_then(|e| ConfChangeEntry::decode(&e.data).ok());
        latest.is_some_and(|entry| !entry.conf_state.is_voter(self.id()))
    }

    /// Whether a message from a node outside this node's configuration is
    /// handled: what a leader sends (it may lead a configuration this node
    /// has not applied yet, or this node is joining). Votes are ignored (see
    /// the module doc) unless the candidate's log is strictly ahead of this
    /// node's (it may hold the configuration that added it), or this node
    /// knows no configuration yet (it cannot tell a removed node from a new
    /// one). Answers are of no use from a non-member.
    pub(crate) fn accepts_from_non_member(&self, body: &MessageBody) -> bool {
        if let Some(candidate_log) = body.candidate_last_log() {
            let ours = (self.log.last_term(), self.log.last_index());
            return self.membership.members().is_empty() || candidate_log > ours;
        }
        body.is_from_leader()
            || matches!(
                body,
                MessageBody::TimeoutNow | MessageBody::ReadIndexResponse { .. }
            )
    }

    /// Whether the node may start a campaign now: it votes in its
    /// configuration, and no committed conf entry waits to be applied.
    pub(crate) fn may_campaign(&self) -> bool {
        self.is_promotable() && !self.has_unapplied_conf_change()
    }

    /// Whether a committed conf entry is not yet applied (etcd's
    /// `hasUnappliedConfChanges`): the configuration this node acts on may
    /// be behind the one its log already commits.
    fn has_unapplied_conf_change(&self) -> bool {
        self.log
            .slice(self.applied + 1, self.commit, usize::MAX)
            .iter()
            .any(|e| e.kind == EntryKind::ConfChange)
    }

    /// Whether `id` is asked for its vote and has it counted: a voter of
    /// either configuration.
    pub(crate) fn is_elector(&self, id: NodeId) -> bool {
        // BUG(LearnerVotes): learners are treated as voters in elections.
        self.membership.is_voter(id)
            || (self.config.bugs.has(Bug::LearnerVotes) && self.position_of(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn simple(voters: &[NodeId], learners: &[NodeId]) -> ConfState {
        ConfState {
            voters: voters.to_vec(),
            outgoing_voters: Vec::new(),
            learners: learners.to_vec(),
        }
    }

    fn change(changes: &[(ConfChangeKind, NodeId)]) -> ConfChange {
        ConfChange {
            changes: changes
                .iter()
                .map(|&(kind, node)| ConfChangeSingle { kind, node })
                .collect(),
        }
    }

    use ConfChangeKind::{AddLearner, AddVoter, RemoveNode};

    #[test]
    fn a_change_of_one_voter_is_simple() {
        let next = next_conf_state(&simple(&[1, 2, 3], &[]), &change(&[(AddVoter, 4)]));
        assert_eq!(next, Ok(simple(&[1, 2, 3, 4], &[])));
        let next = next_conf_state(&simple(&[1, 2, 3], &[4]), &change(&[(AddVoter, 4)]));
        assert_eq!(next, Ok(simple(&[1, 2, 3, 4], &[])), "a learner promoted");
        let next = next_conf_state(
            &simple(&[1, 2, 3], &[]),
            &change(&[(RemoveNode, 2), (AddLearner, 5), (AddLearner, 4)]),
        );
        assert_eq!(
            next,
            Ok(simple(&[1, 3], &[4, 5])),
            "learners changed besides"
        );
    }

    #[test]
    fn a_change_of_two_voters_is_joint_and_leaving_drops_the_outgoing_voters() {
        let current = simple(&[1, 2, 3], &[]);
        let joint = next_conf_state(&current, &change(&[(AddVoter, 4), (AddVoter, 5)])).unwrap();
        assert_eq!(joint.voters, [1, 2, 3, 4, 5]);
        assert_eq!(joint.outgoing_voters, [1, 2, 3]);
        let left = next_conf_state(&joint, &ConfChange::leave_joint()).unwrap();
        assert_eq!(left, simple(&[1, 2, 3, 4, 5], &[]));
    }

    #[test]
    fn invalid_changes_are_refused_with_their_reason() {
        let current = simple(&[1, 2, 3], &[4]);
        let refused = |c: ConfChange| next_conf_state(&current, &c).unwrap_err();
        assert_eq!(
            refused(ConfChange::leave_joint()),
            InvalidConfChange::NothingToLeave
        );
        assert_eq!(
            refused(change(&[(AddVoter, 0)])),
            InvalidConfChange::ZeroNode
        );
        assert_eq!(
            refused(change(&[(AddVoter, 2)])),
            InvalidConfChange::AlreadyVoter(2)
        );
        assert_eq!(
            refused(change(&[(AddLearner, 4)])),
            InvalidConfChange::AlreadyLearner(4)
        );
        assert_eq!(
            refused(change(&[(RemoveNode, 9)])),
            InvalidConfChange::NotAMember(9)
        );
        assert_eq!(
            refused(change(&[(AddVoter, 5), (RemoveNode, 5)])),
            InvalidConfChange::NodeRepeated(5)
        );
        assert_eq!(
            refused(change(&[(RemoveNode, 1), (RemoveNode, 2), (RemoveNode, 3)])),
            InvalidConfChange::NoVoterLeft
        );
        assert_eq!(
            refused(change(&[(AddLearner, 1), (AddVoter, 5)])),
            InvalidConfChange::DemotionInJointChange(1)
        );
        let demoted = next_conf_state(&current, &change(&[(AddLearner, 1)]));
        assert_eq!(
            demoted,
            Ok(simple(&[2, 3], &[1, 4])),
            "a demotion on its own is simple"
        );
    }

    #[test]
    fn an_entry_decodes_to_the_change_and_the_configuration_it_encodes() {
        let entry = ConfChangeEntry {
            change: change(&[(AddVoter, 4), (AddVoter, 5)]),
            conf_state: ConfState {
                voters: vec![1, 2, 3, 4, 5],
                outgoing_voters: vec![1, 2, 3],
                learners: vec![7],
            },
        };
        let data = entry.encode();
        assert_eq!(ConfChangeEntry::decode(&data), Ok(entry.clone()));
        assert_eq!(ConfChange::decode(&data), Ok(entry.change.clone()));
        assert_eq!(
            ConfChangeEntry::decode(&entry.change.encode()),
            Err(DecodeError::MissingConfState)
        );
        let mut trailing = data.to_vec();
        trailing.push(0);
        assert_eq!(
            ConfChange::decode(&trailing),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(ConfChange::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(
            ConfChange::decode(&[2, 0, 0]),
            Err(DecodeError::UnknownVersion(2))
        );
    }

    fn kinds() -> impl Strategy<Value = ConfChangeKind> {
        prop_oneof![Just(AddVoter), Just(AddLearner), Just(RemoveNode)]
    }

    fn conf_changes() -> impl Strategy<Value = ConfChange> {
        prop::collection::vec((kinds(), 1u64..12), 0..6).prop_map(|v| change(&v))
    }

    proptest! {
        #[test]
        fn a_conf_change_decodes_to_what_was_encoded(c in conf_changes()) {
            prop_assert_eq!(ConfChange::decode(&c.encode()), Ok(c));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(data in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = ConfChange::decode(&data);
            if let Ok(entry) = ConfChangeEntry::decode(&data) {
                prop_assert!(is_valid_conf_state(&entry.conf_state));
            }
        }

        #[test]
        fn a_valid_change_keeps_a_valid_configuration_one_voter_or_a_joint_step_away(
            voters in prop::collection::btree_set(1u64..10, 1..6),
            c in conf_changes(),
        ) {
            let current = simple(&voters.into_iter().collect::<Vec<_>>(), &[]);
            if let Ok(next) = next_conf_state(&current, &c) {
                prop_assert!(is_valid_conf_state(&next));
                let altered = voters_altered(&current.voters, &next.voters);
                if altered <= 1 {
                    prop_assert!(!next.is_joint());
                } else {
                    prop_assert_eq!(&next.outgoing_voters, &current.voters);
                }
                let data = ConfChangeEntry { change: c, conf_state: next }.encode();
                prop_assert!(ConfChangeEntry::decode(&data).is_ok());
            }
        }
    }
}
