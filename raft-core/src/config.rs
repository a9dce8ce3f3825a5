//! Node configuration, its validation, and the planted bugs.

use crate::types::NodeId;

/// The configuration of one node.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node's id (non-zero, and one of `voters` or `learners`).
    pub id: NodeId,
    /// The ids of every voter (this node included, unless it is a learner).
    /// Sorted, unique, non-zero, non-empty (empty for a joining node). The
    /// configuration a node starts from: conf entries it applies replace it,
    /// and a restarted node re-applies them.
    pub voters: Vec<NodeId>,
    /// The ids of every learner: members that receive and apply the log like
    /// followers but never campaign, and whose acknowledgements, votes and
    /// activity count toward no quorum, commit or lease (etcd's learners).
    /// Sorted, unique, non-zero, none of them a voter. Empty by default.
    pub learners: Vec<NodeId>,
    /// Election timeouts are drawn uniformly from
    /// `[election_timeout_ticks_min, 2 * election_timeout_ticks_min)`.
    pub election_timeout_ticks_min: u32,
    /// A leader sends heartbeats every this many ticks. Must be below the election timeout.
    pub heartbeat_interval_ticks: u32,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_message: usize,
    /// At most this many unacknowledged AppendEntries in flight to one follower.
    pub max_inflight_messages: usize,
    /// PreVote (etcd's `PreVote`, §9.6 of Ongaro's thesis): a node whose election
    /// timer fires first asks, without raising its term, whether a majority would
    /// vote for it; only then does it campaign. A partitioned node therefore does
    /// not inflate its term and disrupt the cluster when it comes back. Off by default.
    pub pre_vote: bool,
    /// CheckQuorum (etcd's `CheckQuorum`): a leader that did not hear from a
    /// majority (itself included) within an election timeout steps down, and a
    /// node that heard from a leader within the election timeout ignores vote
    /// requests of a higher term (neither grants nor raises its term), unless
    /// the campaign comes from a leadership transfer. Off by default.
    pub check_quorum: bool,
    /// How a leader confirms reads (etcd's `ReadOnlyOption`): `Safe` (a heartbeat
    /// round per batch of reads, the default) or `LeaseBased` (at once while
    /// the leader's lease holds; valid only with `check_quorum`).
    pub read_only: ReadOnlyOption,
    /// How many ticks a follower's clock may run ahead of the leader's over one
    /// election timeout, the one tick by which their unaligned tick boundaries
    /// can shift them included. A lease lasts `election_timeout_ticks_min -
    /// max_clock_drift_ticks` of the leader's ticks, so a faster follower
    /// clock cannot let an election finish while the leader still trusts its
    /// lease. Must be below the election timeout; 1 by default (no drift, only
    /// the tick alignment). Read only with `ReadOnlyOption::LeaseBased`.
    pub max_clock_drift_ticks: u32,
    /// The largest chunk of snapshot data one InstallSnapshot carries
    /// (64 KiB by default; must be positive). A snapshot goes out one chunk at
    /// a time, each sent once the follower acknowledged the previous one.
    pub snapshot_chunk_bytes: usize,
    /// The planted bugs switched on (none by default).
    pub bugs: Bugs,
    /// The node joins a running cluster: it starts with no configuration
    /// (`voters` and `learners` empty), never campaigns, accepts
    /// AppendEntries from a leader it does not know, and learns its
    /// configuration from the conf entries it applies (the one that adds it
    /// among them). See [`Config::joining`].
    pub joining: bool,
}

/// How a leader confirms it still leads before it serves a read (etcd's
/// `ReadOnlyOption`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReadOnlyOption {
    /// ReadIndex: a majority acknowledges a heartbeat round sent after the read
    /// arrived. Safe whatever the clocks do.
    #[default]
    Safe,
    /// Lease reads: while its lease holds the leader answers at once, with no
    /// round; once it expired, a read falls back to a round. Safe only if clocks
    /// drift by at most `Config::max_clock_drift_ticks` over an election timeout,
    /// and only with CheckQuorum (the vote lease the lease stands on).
    LeaseBased,
}

impl Config {
    /// A configuration with sensible defaults for node `id` among `voters`.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            learners: Vec::new(),
            election_timeout_ticks_min: 10,
            heartbeat_interval_ticks: 2,
            max_entries_per_message: 64,
            max_inflight_messages: 8,
            pre_vote: false,
            check_quorum: false,
            read_only: ReadOnlyOption::Safe,
            max_clock_drift_ticks: 1,
            snapshot_chunk_bytes: 64 * 1024,
            bugs: Bugs::none(),
            joining: false,
        }
    }

    /// A node `id` that joins a running cluster, with sensible defaults: it
    /// waits, with an empty configuration, for a leader to add it (see
    /// [`Config::joining`](Config#structfield.joining)).
    pub fn joining(id: NodeId) -> Config {
        Config {
            joining: true,
            ..Config::new(id, Vec::new())
        }
    }

    /// Checks the configuration; a node is only built from a valid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if self.voters.contains(&0) || self.learners.contains(&0) {
            return Err(ConfigError::ZeroId);
        }
        if self.joining {
            if !self.voters.is_empty() || !self.learners.is_empty() {
                return Err(ConfigError::JoiningWithMembers);
            }
        } else if self.voters.is_empty() {
            return Err(ConfigError::NoVoters);
        }
        if !self.voters.windows(2).all(|w| w[0] < w[1]) {
            return Err(ConfigError::VotersNotSortedUnique);
        }
        if !self.learners.windows(2).all(|w| w[0] < w[1]) {
            return Err(ConfigError::LearnersNotSortedUnique);
        }
        if let Some(&both) = self.learners.iter().find(|l| self.voters.contains(l)) {
            return Err(ConfigError::LearnerIsAVoter(both));
        }
        let member = self.voters.contains(&self.id) || self.learners.contains(&self.id);
        if !member && !self.joining {
            return Err(ConfigError::NotAVoter(self.id));
        }
        if self.heartbeat_interval_ticks == 0 {
            return Err(ConfigError::ZeroHeartbeat);
        }
        if self.election_timeout_ticks_min <= self.heartbeat_interval_ticks {
            return Err(ConfigError::ElectionTimeoutTooShort {
                election: self.election_timeout_ticks_min,
                heartbeat: self.heartbeat_interval_ticks,
            });
        }
        if self.max_entries_per_message == 0 || self.max_inflight_messages == 0 {
            return Err(ConfigError::ZeroFlowControl);
        }
        if self.snapshot_chunk_bytes == 0 {
            return Err(ConfigError::ZeroSnapshotChunk);
        }
        if self.read_only == ReadOnlyOption::LeaseBased && !self.check_quorum {
            return Err(ConfigError::LeaseWithoutCheckQuorum);
        }
        if self.max_clock_drift_ticks >= self.election_timeout_ticks_min {
            return Err(ConfigError::DriftNotBelowElectionTimeout {
                drift: self.max_clock_drift_ticks,
                election: self.election_timeout_ticks_min,
            });
        }
        Ok(())
    }
}

/// Why a configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Node id 0 is reserved for "none".
    #[error("node id 0 is reserved")]
    ZeroId,
    /// Voters must be listed in increasing order without repeats.
    #[error("voters must be sorted and unique")]
    VotersNotSortedUnique,
    /// The node must be one of the voters or one of the learners.
    #[error("node {0} is neither a voter nor a learner")]
    NotAVoter(NodeId),
    /// A configuration needs at least one voter (unless the node is joining).
    #[error("there must be at least one voter")]
    NoVoters,
    /// A joining node starts with no configuration: it learns it from the log.
    #[error("a joining node starts with no voters and no learners")]
    JoiningWithMembers,
    /// Learners must be listed in increasing order without repeats.
    #[error("learners must be sorted and unique")]
    LearnersNotSortedUnique,
    /// A node is a voter or a learner, never both.
    #[error("node {0} is both a voter and a learner")]
    LearnerIsAVoter(NodeId),
    /// A heartbeat interval of zero ticks.
    #[error("heartbeat interval must be at least one tick")]
    ZeroHeartbeat,
    /// The election timeout must exceed the heartbeat interval.
    #[error("election timeout ({election} ticks) must exceed the heartbeat interval ({heartbeat} ticks)")]
    ElectionTimeoutTooShort {
        /// Minimum election timeout in ticks.
        election: u32,
        /// Heartbeat interval in ticks.
        heartbeat: u32,
    },
    /// Batch size and inflight window must be positive.
    #[error("max entries per message and max inflight messages must be positive")]
    ZeroFlowControl,
    /// A snapshot chunk must carry at least one byte.
    #[error("snapshot chunk size must be positive")]
    ZeroSnapshotChunk,
    /// Lease reads stand on CheckQuorum's vote lease.
    #[error("lease-based reads need check_quorum")]
    LeaseWithoutCheckQuorum,
    /// A drift bound that leaves no lease at all.
    #[error(
        "max clock drift ({drift} ticks) must be below the election timeout ({election} ticks)"
    )]
    DriftNotBelowElectionTimeout {
        /// `max_clock_drift_ticks`.
        drift: u32,
        /// `election_timeout_ticks_min`.
        election: u32,
    },
}

/// One classic Raft mistake that can be switched on to prove the harness catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// The leader counts replicas for an entry of an earlier term (Figure 8).
    CommitOldTerm,
    /// A vote is granted without the up-to-date log check.
    VoteWithoutLogCheck,
    /// A node votes again in a term it already voted in.
    DoubleVote,
    /// votedFor is not persisted: a restart forgets it.
    ForgetVote,
    /// A follower acknowledges entries before they are durable.
    AckBeforeFsync,
    /// A follower drops every entry after prevLogIndex even when they match.
    TruncateWithoutConflict,
    /// commitIndex = leaderCommit, without the min with the last new entry.
    CommitPastLastNewEntry,
    /// A leader answers reads from its own state without confirming it still
    /// leads. Raft itself is untouched: the host's read path consults this flag.
    /// Every log invariant holds; only the linearizability checker sees it.
    StaleRead,
    /// A pre-candidate raises its own term, as a candidate does, so a node cut
    /// off from the cluster still inflates its term and disrupts the leader when
    /// it comes back: the very thing PreVote exists to prevent.
    PreVoteBumpsTerm,
    /// The leader releases a read at its commit index without the heartbeat
    /// round that confirms it still leads: a deposed leader that has not heard
    /// of its successor serves stale reads.
    ReadIndexNoHeartbeat,
    /// The leader treats its lease as valid for as long as it believes it leads,
    /// and does not step down for want of a quorum (the leader's half of
    /// CheckQuorum is off): cut off from the others, it serves lease reads until
    /// it hears of a higher term.
    LeaseWithoutCheckQuorum,
    /// A new leader serves ReadIndex reads before an entry of its own term
    /// has committed: its commit index may still lag behind what an earlier
    /// leader committed (Ongaro's thesis §6.4, step 1), so the read misses it.
    ReadIndexBeforeTermCommit,
    /// The host answers a read as soon as its read index is confirmed,
    /// without waiting until it has applied up to that index: a follower
    /// that lags serves an old value. Raft itself is untouched: the host's
    /// read path consults this flag.
    ReadBeforeApply,
    /// A follower installs a snapshot that is not newer than its commit index:
    /// its commit and applied indexes move back to the snapshot's, and it
    /// forgets committed entries it held (and may have applied).
    SnapshotRegressesCommit,
    /// A follower whose log holds the snapshot's last entry (same index and
    /// term) replaces its whole log with the snapshot, dropping the entries
    /// after it that it already acknowledged to the leader.
    SnapshotDropsNewerEntries,
    /// A follower appends each snapshot chunk to the data it holds without
    /// checking the chunk's offset: a chunk re-sent after a lost answer, or
    /// duplicated by the network, is written twice and the installed snapshot
    /// (the host's state machine) is corrupt.
    SnapshotChunkIgnoresOffset,
    /// While joint, decisions (commit, elections, CheckQuorum, reads) count
    /// only the incoming voters' majority: C_old's majority can decide alone
    /// too, and the two may disagree.
    JointSingleMajority,
    /// The leader counts learners' acknowledgements toward the commit index:
    /// an entry held by learners and a minority of voters commits, and a new
    /// leader elected by the other voters lacks it.
    LearnerInQuorum,
    /// Learners are treated as voters in elections: their election timers
    /// run, and a candidate asks them and counts their grants, so a
    /// majority of voters is no longer needed to win.
    LearnerVotes,
    /// A node that learns a higher term from a candidate it refuses
    /// restarts its election timer (etcd's reset on every new term): without
    /// PreVote, candidates with stale logs campaigning in turn hold back the
    /// one voter they would all elect, for as long as they keep at it.
    RefusalRestartsTimer,
    /// The leader accepts a configuration change while the previous one is
    /// not applied: both are built on the same configuration, and nodes may
    /// act on configurations two steps apart, whose majorities need not meet.
    TwoChangesPending,
    /// A new leader accepts a configuration change before an entry of its
    /// own term has committed (the single-server change bug Ongaro posted in
    /// 2015).
    ConfChangeBeforeTermCommit,
}

impl Bug {
    /// The planted bugs the default fuzz campaign catches (within 2,000
    /// seeds, as the simulator's tests prove), in a stable order.
    pub const ALL: [Bug; 20] = [
        Bug::CommitOldTerm,
        Bug::VoteWithoutLogCheck,
        Bug::DoubleVote,
        Bug::ForgetVote,
        Bug::AckBeforeFsync,
        Bug::TruncateWithoutConflict,
        Bug::CommitPastLastNewEntry,
        Bug::StaleRead,
        Bug::PreVoteBumpsTerm,
        Bug::ReadIndexNoHeartbeat,
        Bug::LeaseWithoutCheckQuorum,
        Bug::ReadIndexBeforeTermCommit,
        Bug::ReadBeforeApply,
        Bug::SnapshotRegressesCommit,
        Bug::SnapshotDropsNewerEntries,
        Bug::SnapshotChunkIgnoresOffset,
        Bug::JointSingleMajority,
        Bug::LearnerInQuorum,
        Bug::LearnerVotes,
        Bug::RefusalRestartsTimer,
    ];

    /// Planted bugs that raft-core's own tests show, but that the campaign
    /// does not find in 2,000 seeds: they break safety only under an
    /// interleaving of leader changes and configuration changes rarer than
    /// the swarm draws (the README says which). Kept so they can be aimed
    /// at by hand and by the mutation measure.
    pub const RAFT_CORE_ONLY: [Bug; 2] = [Bug::TwoChangesPending, Bug::ConfChangeBeforeTermCommit];

    /// Every planted bug: [`Bug::ALL`], then [`Bug::RAFT_CORE_ONLY`].
    pub fn every() -> impl Iterator<Item = Bug> {
        Bug::ALL.into_iter().chain(Bug::RAFT_CORE_ONLY)
    }

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Bug::CommitOldTerm => "commit-old-term",
            Bug::VoteWithoutLogCheck => "vote-without-log-check",
            Bug::DoubleVote => "double-vote",
            Bug::ForgetVote => "forget-vote",
            Bug::AckBeforeFsync => "ack-before-fsync",
            Bug::TruncateWithoutConflict => "truncate-without-conflict",
            Bug::CommitPastLastNewEntry => "commit-past-last-new-entry",
            Bug::StaleRead => "stale-read",
            Bug::PreVoteBumpsTerm => "prevote-bumps-term",
            Bug::ReadIndexNoHeartbeat => "read-index-no-heartbeat",
            Bug::LeaseWithoutCheckQuorum => "lease-without-check-quorum",
            Bug::ReadIndexBeforeTermCommit => "read-index-before-term-commit",
            Bug::ReadBeforeApply => "read-before-apply",
            Bug::SnapshotRegressesCommit => "snapshot-regresses-commit",
            Bug::SnapshotDropsNewerEntries => "snapshot-drops-newer-entries",
            Bug::SnapshotChunkIgnoresOffset => "snapshot-chunk-ignores-offset",
            Bug::JointSingleMajority => "joint-single-majority",
            Bug::LearnerInQuorum => "learner-in-quorum",
            Bug::LearnerVotes => "learner-votes",
            Bug::RefusalRestartsTimer => "refusal-restarts-timer",
            Bug::TwoChangesPending => "two-changes-pending",
            Bug::ConfChangeBeforeTermCommit => "conf-change-before-term-commit",
        }
    }

    /// One line saying what the bug does.
    pub fn description(self) -> &'static str {
        match self {
            Bug::CommitOldTerm => {
                "the leader commits an entry of an earlier term by counting replicas (Figure 8)"
            }
            Bug::VoteWithoutLogCheck => {
                "votes are granted without checking the candidate's log is up to date"
            }
            Bug::DoubleVote => {
                "a node may vote for a second candidate in a term it already voted in"
            }
            Bug::ForgetVote => "votedFor is not persisted, so a restarted node forgets its vote",
            Bug::AckBeforeFsync => "a follower acknowledges entries before they are durable",
            Bug::TruncateWithoutConflict => {
                "a follower drops every entry after prevLogIndex even when they match"
            }
            Bug::CommitPastLastNewEntry => {
                "a follower sets commitIndex = leaderCommit without min(last new entry)"
            }
            Bug::StaleRead => {
                "a leader answers get from its local state without confirming it leads"
            }
            Bug::PreVoteBumpsTerm => {
                "a pre-candidate raises its own term, so a partitioned node still disrupts the leader"
            }
            Bug::ReadIndexNoHeartbeat => {
                "the leader releases a read index without a heartbeat round confirming it leads"
            }
            Bug::ReadIndexBeforeTermCommit => {
                "a new leader serves reads before an entry of its own term has committed"
            }
            Bug::ReadBeforeApply => {
                "a read is answered once its read index is confirmed, before the node applied that far"
            }
            Bug::LeaseWithoutCheckQuorum => {
                "the leader serves lease reads as long as it believes it leads, and does not step down without a quorum"
            }
            Bug::SnapshotRegressesCommit => {
                "a follower installs a snapshot older than its commit index, moving commit and applied back"
            }
            Bug::SnapshotDropsNewerEntries => {
                "a follower whose log holds the snapshot's last entry drops the entries after it"
            }
            Bug::SnapshotChunkIgnoresOffset => {
                "a follower appends every snapshot chunk it receives, so a re-sent chunk is written twice"
            }
            Bug::JointSingleMajority => {
                "while joint, commits and elections count only the incoming voters' majority"
            }
            Bug::LearnerInQuorum => "the leader counts learners' acknowledgements toward commit",
            Bug::LearnerVotes => "learners campaign, and candidates count their votes",
            Bug::RefusalRestartsTimer => {
                "a node restarts its election timer on a higher term from a candidate it refuses"
            }
            Bug::TwoChangesPending => {
                "the leader accepts a configuration change while another is not yet applied"
            }
            Bug::ConfChangeBeforeTermCommit => {
                "a new leader accepts a configuration change before committing an entry of its term"
            }
        }
    }

    /// The bug with this name, if any.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::every().find(|b| b.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of planted bugs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bugs(u32);

impl Bugs {
    /// No bug: the correct protocol.
    pub fn none() -> Bugs {
        Bugs(0)
    }

    /// Whether `bug` is switched on.
    pub fn has(self, bug: Bug) -> bool {
        self.0 & bug.bit() != 0
    }

    /// This set with `bug` switched on too.
    pub fn with(self, bug: Bug) -> Bugs {
        Bugs(self.0 | bug.bit())
    }

    /// The bugs switched on, in [`Bug::every`] order.
    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::every().filter(move |b| self.has(*b))
    }

    /// Whether no bug is switched on.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Bug> for Bugs {
    fn from_iter<I: IntoIterator<Item = Bug>>(iter: I) -> Bugs {
        iter.into_iter().fold(Bugs::none(), Bugs::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_a_unique_name_that_from_name_finds() {
        let every: Vec<Bug> = Bug::every().collect();
        assert!(every.len() <= 32, "a bug set is a u32 bitset");
        for bug in &every {
            assert_eq!(Bug::from_name(bug.name()), Some(*bug));
            assert!(!bug.description().is_empty());
        }
        let mut names: Vec<&str> = every.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), every.len());
        assert_eq!(Bug::from_name("no-such-bug"), None);
    }

    #[test]
    fn a_bug_set_lists_its_bugs_in_order() {
        let bugs = Bugs::none().with(Bug::ReadBeforeApply).with(Bug::StaleRead);
        let listed: Vec<Bug> = bugs.iter().collect();
        assert_eq!(listed, [Bug::StaleRead, Bug::ReadBeforeApply]);
    }
}
