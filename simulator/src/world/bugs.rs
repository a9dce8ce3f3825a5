//! What catches each planted bug: the properties that may break first when
//! it is switched on. `raftsim bugs` prints this; the tests hold the
//! campaign to it (each bug is found within 2,000 seeds).

use invariants::Invariant;
use raft_core::Bug;

/// The invariants that may legitimately be the first to catch `bug`.
pub fn caught_by(bug: Bug) -> &'static [Invariant] {
    use Invariant::*;
    match bug {
        // Caught at the commit that counted replicas of an old-term entry.
        Bug::CommitOldTerm => &[
            CommitCurrentTerm,
            LeaderCompleteness,
            StateMachineSafety,
            CommittedEntryLost,
        ],
        // The grant leaves for a candidate whose log is behind the voter's.
        Bug::VoteWithoutLogCheck => &[
            VoteLogCheck,
            LeaderCompleteness,
            StateMachineSafety,
            CommittedEntryLost,
        ],
        // The second vote leaves while the disk holds the first.
        Bug::DoubleVote => &[DurableAnswer, OneVotePerTerm, ElectionSafety, LogMatching],
        // The vote leaves while the disk holds none.
        Bug::ForgetVote => &[DurableAnswer, ElectionSafety],
        // Caught at the commit that counted the unsynced acknowledgement
        // (durable-commit), or when a crash loses it.
        Bug::AckBeforeFsync => &[
            DurableAnswer,
            DurableCommit,
            CommittedEntryLost,
            StateMachineSafety,
            LeaderCompleteness,
            LivenessConvergence,
        ],
        // A follower that drops matching entries rewrites them (caught as
        // it writes), and loses what it acknowledged: a commit counted on
        // it is not on its disk, or the log it re-fetches never settles.
        Bug::TruncateWithoutConflict => &[
            TruncateOnConflict,
            AckedEntriesKept,
            CommittedEntryLost,
            StateMachineSafety,
            LeaderCompleteness,
            DurableCommit,
            MonotonicCommit,
            LivenessConvergence,
            LivenessClients,
            DurableAnswer,
        ],
        Bug::CommitPastLastNewEntry => &[StateMachineSafety, CommittedEntryLost],
        Bug::StaleRead => &[Linearizability],
        // A liveness property: the term an isolated node inflates deposes
        // a healthy leader when it rejoins; no safety property breaks.
        Bug::PreVoteBumpsTerm => &[LivenessStableLeader],
        // Released before (or long after) a quorum answered the leader.
        Bug::ReadIndexNoHeartbeat => &[ReadConfirmed, Linearizability],
        Bug::LeaseWithoutCheckQuorum => &[CheckQuorum, ReadConfirmed, Linearizability],
        Bug::ReadIndexBeforeTermCommit => &[ReadIndexCurrentTerm, Linearizability],
        Bug::ReadBeforeApply => &[ReadAfterApply, Linearizability],
        // A snapshot older than the commit index takes the node back.
        Bug::SnapshotRegressesCommit => &[
            MonotonicApplied,
            AckedEntriesKept,
            MonotonicCommit,
            CommittedEntryLost,
            LivenessConvergence,
            DurableCommit,
            DurableAnswer,
        ],
        // The entries it drops are ones it acknowledged in this term.
        Bug::SnapshotDropsNewerEntries => &[
            AckedEntriesKept,
            CommittedEntryLost,
            LeaderCompleteness,
            StateMachineSafety,
            DurableCommit,
            DurableAnswer,
        ],
        // The installed bytes are no state machine, or the wrong one.
        Bug::SnapshotChunkIgnoresOffset => &[StateMachineSafety, Linearizability],
        // A commit counted on one half of a joint configuration is not on
        // a quorum of the other's disks; a candidate the outgoing half
        // refused campaigns on.
        Bug::JointSingleMajority => &[
            ElectionQuorum,
            ElectionPace,
            DurableCommit,
            LeaderCompleteness,
            ElectionSafety,
            StateMachineSafety,
            CommittedEntryLost,
        ],
        // A learner's acknowledgement counted toward a commit (not on a
        // quorum of voters' disks), or a quorum of voters that cannot
        // commit without the learners (progress-commit).
        Bug::LearnerInQuorum => &[
            DurableCommit,
            ProgressCommit,
            CommittedEntryLost,
            LeaderCompleteness,
            StateMachineSafety,
        ],
        // A learner that campaigns and wins is a leader the voters never
        // chose: it deposes the real one or leads a cluster that cannot
        // settle; a candidate the voters refused campaigns on, counting on
        // learners.
        Bug::LearnerVotes => &[
            ElectionQuorum,
            ElectionPace,
            LivenessConvergence,
            LivenessStableLeader,
            ElectionSafety,
            LeaderCompleteness,
            CommittedEntryLost,
        ],
        // A follower held back by candidates it refuses: past its longest
        // timeout without campaigning, or a calm quorum without a leader.
        Bug::RefusalRestartsTimer => &[ElectionPace, ProgressLeader],
        // Not found by the campaign (Bug::RAFT_CORE_ONLY): what would catch
        // each, two leaders or a lost commit.
        Bug::TwoChangesPending | Bug::ConfChangeBeforeTermCommit => &[
            ElectionSafety,
            LeaderCompleteness,
            StateMachineSafety,
            CommittedEntryLost,
        ],
    }
}

/// How `raftsim bugs` says what catches `bug`: `linearizability`, or
/// `election-safety, leader-completeness` when either may be first.
pub fn caught_by_text(bug: Bug) -> String {
    let names: Vec<&str> = caught_by(bug).iter().map(|i| i.name()).collect();
    names.join(", ")
}
