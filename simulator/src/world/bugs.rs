//! What catches each planted bug: the properties that may break first when
//! it is switched on, and whether the default campaign finds it or only a
//! scenario shows it. `raftsim bugs` prints this; the tests hold the
//! campaign to it.

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
        Bug::LeaseIgnoresDrift => &[Linearizability],
        // Proposals made during a transfer are lost and retried: nothing a
        // client was told is lost, so no property breaks; the scenario
        // shows the transfer that never completes.
        Bug::TransferKeepsProposing => &[],
    }
}

/// How `raftsim bugs` says what catches `bug`: `linearizability`, or
/// `linearizability (scenario only)` for a bug the default campaign does not
/// find within 2,000 seeds.
pub fn caught_by_text(bug: Bug) -> String {
    let names: Vec<&str> = caught_by(bug).iter().map(|i| i.name()).collect();
    let names = match names.is_empty() {
        true => "no property (a transfer that never completes)".to_string(),
        false => names.join(", "),
    };
    match Bug::ALL.contains(&bug) {
        true => names,
        false => format!("{names} (scenario only)"),
    }
}
