//! What catches each planted bug: the properties that may break first when
//! it is switched on. `raftsim bugs` prints this; the tests hold the
//! campaign to it (each bug is found within 2,000 seeds).

use invariants::Invariant;
use raft_core::Bug;

/// The invariants that may legitimately be the first to catch `bug`.
pub fn caught_by(bug: Bug) -> &'static [Invariant] {
    use Invariant::*;
    match bug {
        Bug::CommitOldTerm => &[LeaderCompleteness, StateMachineSafety, CommittedEntryLost],
        Bug::VoteWithoutLogCheck => &[LeaderCompleteness, StateMachineSafety, CommittedEntryLost],
        Bug::DoubleVote => &[ElectionSafety],
        Bug::ForgetVote => &[ElectionSafety],
        Bug::AckBeforeFsync => &[CommittedEntryLost, StateMachineSafety, LeaderCompleteness],
        Bug::TruncateWithoutConflict => {
            &[CommittedEntryLost, StateMachineSafety, LeaderCompleteness]
        }
        Bug::CommitPastLastNewEntry => &[StateMachineSafety, CommittedEntryLost],
        Bug::StaleRead => &[Linearizability],
        // A liveness property: the term an isolated node inflates deposes
        // a healthy leader when it rejoins; no safety property breaks.
        Bug::PreVoteBumpsTerm => &[LivenessStableLeader],
        Bug::ReadIndexNoHeartbeat => &[Linearizability],
        Bug::LeaseWithoutCheckQuorum => &[Linearizability],
        Bug::ReadIndexBeforeTermCommit => &[Linearizability],
        Bug::ReadBeforeApply => &[Linearizability],
        // Not driven by the simulator yet (it never compacts a log): what
        // would catch each once it does.
        Bug::SnapshotRegressesCommit => &[MonotonicCommit, MonotonicApplied, CommittedEntryLost],
        Bug::SnapshotDropsNewerEntries => &[CommittedEntryLost, LeaderCompleteness],
        Bug::SnapshotChunkIgnoresOffset => &[StateMachineSafety, Linearizability],
        // Configuration changes: two leaders or a lost commit is what they break.
        Bug::JointSingleMajority
        | Bug::LearnerInQuorum
        | Bug::LearnerVotes
        | Bug::TwoChangesPending
        | Bug::ConfChangeBeforeTermCommit => &[
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
