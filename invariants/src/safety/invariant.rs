//! The named safety and liveness properties, as the Raft paper names them.

use std::fmt;
use std::str::FromStr;

/// A named property. [`Invariant::name`] gives its kebab-case name, used on the
/// CLI, in scenario files and in JSON.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// `election-safety`: at most one leader per term.
    ElectionSafety,
    /// `log-matching`: two logs holding an entry with the same index and term
    /// are identical up to that index.
    LogMatching,
    /// `leader-completeness`: a leader of term T holds every entry committed in
    /// terms before T.
    LeaderCompleteness,
    /// `state-machine-safety`: no two nodes commit or apply different entries at
    /// one index.
    StateMachineSafety,
    /// `committed-entry-lost`: a committed entry stays on enough voters'
    /// logs that the voters lacking it form no quorum of the configuration
    /// in force (of both halves while joint): no election can lose it. For
    /// an odd number of voters, a majority holds it.
    CommittedEntryLost,
    /// `monotonic-term`: a node's term never goes down (except what a crash forgets).
    MonotonicTerm,
    /// `monotonic-commit`: a node's commit index never goes down (except what a
    /// crash forgets).
    MonotonicCommit,
    /// `monotonic-applied`: a node applies consecutive indexes, each exactly one
    /// past the last it applied (a restart starts again from 0).
    MonotonicApplied,
    /// `liveness-leader`: after the faults heal, a leader is elected within a
    /// bound (reported by the simulator's heal phase).
    LivenessLeader,
    /// `liveness-convergence`: after the faults heal, all live nodes converge
    /// (reported by the simulator's heal phase).
    LivenessConvergence,
    /// `liveness-clients`: after the faults heal, every client operation
    /// completes (reported by the simulator's heal phase).
    LivenessClients,
    /// `liveness-stable-leader`: a healthy leader is not forced down by a
    /// node that rejoins. With PreVote, a node cut off from every other
    /// rejoins in the term it left in (not above the leader's); after the
    /// faults heal, with PreVote and CheckQuorum, a leader every node has
    /// heard for two election timeouts stays (reported by the simulator).
    LivenessStableLeader,
    /// `linearizability`: the client history is linearizable against the
    /// key-value model.
    Linearizability,
    /// `durable-commit`: when a leader's commit index advances, the entry
    /// there is on the disks (durable, not only in memory) of a quorum of
    /// the leader's configuration (of both halves while joint) (reported by
    /// the simulator, which reads the disks).
    DurableCommit,
    /// `commit-current-term`: a leader moves its commit index only onto an
    /// entry of its own term; entries of earlier terms commit with it,
    /// never by counting their replicas (§5.4.2, Figure 8) (reported by the
    /// simulator).
    CommitCurrentTerm,
    /// `read-index-current-term`: a leader hands out a read index only once
    /// an entry of its own term has committed (§6.4 of Ongaro's thesis: its
    /// commit index is then the latest) (reported by the simulator).
    ReadIndexCurrentTerm,
    /// `election-quorum`: a node becomes leader only with the votes of a
    /// quorum of its configuration (of both halves while joint; a
    /// learner's vote counts for nothing), itself a voter among them
    /// (reported by the simulator, which sees every vote granted).
    ElectionQuorum,
    /// `durable-answer`: a node grants a vote or acknowledges entries only
    /// once what it promises is on its disk (Figure 2: persistent state is
    /// "updated on stable storage before responding to RPCs") (reported by
    /// the simulator, which reads the disks as each answer leaves).
    DurableAnswer,
    /// `progress-commit`: while the network between a leader and a quorum
    /// of caught-up voters is calm, a proposal commits within a bound
    /// counted in round trips and fsyncs (reported by the simulator).
    ProgressCommit,
    /// `progress-leader`: while a quorum of voters is up, connected and
    /// calm, and cut off from every other node, one of them is elected
    /// within a bound counted in election timeouts (reported by the
    /// simulator).
    ProgressLeader,
    /// `progress-read`: a read asked of a leader whose quorum follows it,
    /// calm, is released within a bound counted in heartbeats, round
    /// trips and fsyncs once the leader has committed an entry of its
    /// term (reported by the simulator).
    ProgressRead,
    /// `progress-transfer`: a leadership transfer to a voter that holds the
    /// leader's whole log, with a quorum following and calm, ends with the
    /// transferee leading within a bound counted in round trips and fsyncs
    /// (reported by the simulator).
    ProgressTransfer,
    /// `one-vote-per-term`: a node grants at most one candidate its vote in
    /// a term, across crashes and restarts, grants it again when it asks
    /// again with a log as up to date, and a pre-vote for a term only to a
    /// candidate it could still vote for in it (§5.2, §9.6; reported by the
    /// simulator, which sees every vote granted).
    OneVotePerTerm,
    /// `vote-log-check`: a vote or pre-vote is granted only to a candidate
    /// whose log is at least as up to date as the voter's (§5.4.1, §9.6;
    /// reported by the simulator, which reads each request and the voter's
    /// log as it handles it).
    VoteLogCheck,
    /// `read-confirmed`: a leader releases a read index only once a quorum
    /// answered it after the read arrived, or on a lease, within the lease
    /// (§6.4, §6.4.1; reported by the simulator, which sees what each
    /// leader hears).
    ReadConfirmed,
    /// `read-after-apply`: a node answers a read only once its state
    /// machine applied up to the read index (§6.4 step 4; reported by the
    /// simulator's host).
    ReadAfterApply,
    /// `acked-entries-kept`: a follower keeps the entries it acknowledged
    /// to the leader of its term while that term lasts (reported by the
    /// simulator).
    AckedEntriesKept,
    /// `progress-new-member`: a leader that applies a configuration adding
    /// a node sends it entries at once, not at its next heartbeat
    /// (reported by the simulator, within a bound of fsyncs and delays).
    ProgressNewMember,
    /// `read-lease-used`: with lease reads, a leader whose lease holds (a
    /// quorum answered a heartbeat round it sent within the lease, with a
    /// tick to spare) serves a read on it at once, not by another round
    /// (reported by the simulator).
    ReadLeaseUsed,
    /// `vote-lease`: with CheckQuorum, a node that heard from its leader
    /// fewer than an election timeout's ticks ago (or leads) grants no vote
    /// or pre-vote of a higher term, except to a leadership transfer's
    /// candidate (§4.2.3 of Ongaro's thesis, etcd's `inLease`; reported by
    /// the simulator, which counts each node's ticks).
    VoteLease,
    /// `append-flow`: a leader sends a follower no entry the follower
    /// acknowledged in its term, resends an entry only after the follower
    /// answered (a rejection, a heartbeat response, an acknowledgement of
    /// no more than the leader knew, a snapshot's answer), and never probes
    /// where the follower's rejection hint says the logs differ; a follower
    /// rejects only an append it took or a heartbeat whose commit it cannot
    /// confirm (etcd's flow control; reported by the simulator, which sees
    /// every message).
    AppendFlow,
    /// `election-pace`: a candidate that can no longer win (its refusals
    /// leave too few voters) steps down on the answer that decided it, and
    /// asks each voter at most once per heartbeat interval of its ticks,
    /// never again once it took the voter's answer; a follower that may
    /// campaign does so within its longest election timeout of the last
    /// event that restarts its timer (its leader heard, a vote granted, a
    /// campaign) (reported by the simulator).
    ElectionPace,
    /// `truncate-on-conflict`: a node rewrites its log only from an entry
    /// that conflicts (another term at the same index) or is new: never an
    /// entry it already holds, identical (§5.3, "if an existing entry
    /// conflicts with a new one"; reported by the simulator, which reads
    /// each write against the disk).
    TruncateOnConflict,
    /// `stale-term-answered`: a node that takes a request of an older term
    /// (an append, a heartbeat, a vote or pre-vote request, a snapshot
    /// chunk) from a member answers it with its own term, so that the
    /// stale leader or candidate learns it (§5.1; reported by the
    /// simulator, which reads the node's next ready).
    StaleTermAnswered,
    /// `heartbeat-pace`: over `E` of its ticks as leader of a term, a
    /// leader sends each member at most `1 + E / heartbeat interval`
    /// heartbeats that start no read round, and at least `E / heartbeat
    /// interval` heartbeats of any kind (etcd's `heartbeatElapsed`); with
    /// ReadIndex reads, a read round starts only while a read waits
    /// (reported by the simulator, which counts each node's ticks).
    HeartbeatPace,
    /// `check-quorum`: with CheckQuorum on, a leader that a quorum of a
    /// voter set did not answer between two of its checks (one every
    /// shortest election timeout of its ticks) steps down at the second
    /// (etcd's `checkQuorum`; reported by the simulator, which counts each
    /// node's ticks and the answers it takes).
    CheckQuorum,
}

impl Invariant {
    /// Every invariant, in declaration order.
    pub const ALL: [Invariant; 36] = [
        Invariant::ElectionSafety,
        Invariant::LogMatching,
        Invariant::LeaderCompleteness,
        Invariant::StateMachineSafety,
        Invariant::CommittedEntryLost,
        Invariant::MonotonicTerm,
        Invariant::MonotonicCommit,
        Invariant::MonotonicApplied,
        Invariant::LivenessLeader,
        Invariant::LivenessConvergence,
        Invariant::LivenessClients,
        Invariant::LivenessStableLeader,
        Invariant::Linearizability,
        Invariant::DurableCommit,
        Invariant::DurableAnswer,
        Invariant::ElectionQuorum,
        Invariant::CommitCurrentTerm,
        Invariant::ReadIndexCurrentTerm,
        Invariant::ProgressCommit,
        Invariant::ProgressLeader,
        Invariant::ProgressRead,
        Invariant::ProgressTransfer,
        Invariant::OneVotePerTerm,
        Invariant::VoteLogCheck,
        Invariant::ReadConfirmed,
        Invariant::ReadAfterApply,
        Invariant::AckedEntriesKept,
        Invariant::ProgressNewMember,
        Invariant::ReadLeaseUsed,
        Invariant::VoteLease,
        Invariant::AppendFlow,
        Invariant::ElectionPace,
        Invariant::TruncateOnConflict,
        Invariant::StaleTermAnswered,
        Invariant::HeartbeatPace,
        Invariant::CheckQuorum,
    ];

    /// The kebab-case name, as used on the CLI and in files.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "election-safety",
            Invariant::LogMatching => "log-matching",
            Invariant::LeaderCompleteness => "leader-completeness",
            Invariant::StateMachineSafety => "state-machine-safety",
            Invariant::CommittedEntryLost => "committed-entry-lost",
            Invariant::MonotonicTerm => "monotonic-term",
            Invariant::MonotonicCommit => "monotonic-commit",
            Invariant::MonotonicApplied => "monotonic-applied",
            Invariant::LivenessLeader => "liveness-leader",
            Invariant::LivenessConvergence => "liveness-convergence",
            Invariant::LivenessClients => "liveness-clients",
            Invariant::LivenessStableLeader => "liveness-stable-leader",
            Invariant::Linearizability => "linearizability",
            Invariant::DurableCommit => "durable-commit",
            Invariant::DurableAnswer => "durable-answer",
            Invariant::ElectionQuorum => "election-quorum",
            Invariant::CommitCurrentTerm => "commit-current-term",
            Invariant::ReadIndexCurrentTerm => "read-index-current-term",
            Invariant::ProgressCommit => "progress-commit",
            Invariant::ProgressLeader => "progress-leader",
            Invariant::ProgressRead => "progress-read",
            Invariant::ProgressTransfer => "progress-transfer",
            Invariant::OneVotePerTerm => "one-vote-per-term",
            Invariant::VoteLogCheck => "vote-log-check",
            Invariant::ReadConfirmed => "read-confirmed",
            Invariant::ReadAfterApply => "read-after-apply",
            Invariant::AckedEntriesKept => "acked-entries-kept",
            Invariant::ProgressNewMember => "progress-new-member",
            Invariant::ReadLeaseUsed => "read-lease-used",
            Invariant::VoteLease => "vote-lease",
            Invariant::AppendFlow => "append-flow",
            Invariant::ElectionPace => "election-pace",
            Invariant::TruncateOnConflict => "truncate-on-conflict",
            Invariant::StaleTermAnswered => "stale-term-answered",
            Invariant::HeartbeatPace => "heartbeat-pace",
            Invariant::CheckQuorum => "check-quorum",
        }
    }

    /// The invariant with this kebab-case name, if any (exact match).
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.name() == name)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The error of parsing an unknown invariant name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown invariant `{name}`; known: election-safety, log-matching, leader-completeness, state-machine-safety, committed-entry-lost, monotonic-term, monotonic-commit, monotonic-applied, liveness-leader, liveness-convergence, liveness-clients, liveness-stable-leader, linearizability, durable-commit, durable-answer, election-quorum, commit-current-term, read-index-current-term, progress-commit, progress-leader, progress-read, progress-transfer, one-vote-per-term, vote-log-check, read-confirmed, read-after-apply, acked-entries-kept, progress-new-member, read-lease-used, vote-lease, append-flow, election-pace, truncate-on-conflict, stale-term-answered, heartbeat-pace, check-quorum")]
pub struct UnknownInvariant {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Invariant {
    type Err = UnknownInvariant;

    fn from_str(name: &str) -> Result<Invariant, UnknownInvariant> {
        Invariant::from_name(name).ok_or_else(|| UnknownInvariant {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_is_unique() {
        for (position, invariant) in Invariant::ALL.into_iter().enumerate() {
            assert_eq!(Invariant::from_name(invariant.name()), Some(invariant));
            assert_eq!(invariant.name().parse::<Invariant>(), Ok(invariant));
            for other in &Invariant::ALL[position + 1..] {
                assert_ne!(invariant.name(), other.name());
            }
        }
        assert_eq!(Invariant::from_name("election_safety"), None);
    }
}
