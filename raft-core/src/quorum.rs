//! Quorum math: the only place votes and acknowledgements are counted.
//!
//! A simple majority of the voters today (etcd's `quorum/majority.go`); a joint
//! configuration will later be two of these, each of which must agree.

use crate::types::Index;

/// The outcome of an election so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VoteResult {
    /// A majority granted the vote.
    Won,
    /// A majority can no longer be reached.
    Lost,
    /// Neither yet: some voters have not answered.
    Pending,
}

/// How many voters make a majority of `voter_count`.
pub(crate) fn majority(voter_count: usize) -> usize {
    assert!(voter_count > 0, "a configuration has at least one voter");
    voter_count / 2 + 1
}

/// The largest index that a majority of voters hold, given each voter's match
/// index (one per voter, in any order).
pub(crate) fn committed_index(match_indexes: &[Index]) -> Index {
    const STACK_VOTERS: usize = 16;
    let quorum = majority(match_indexes.len());
    // Sorting descending, the majority-th largest is held by at least `quorum` voters.
    if match_indexes.len() <= STACK_VOTERS {
        let mut sorted = [0; STACK_VOTERS];
        let sorted = &mut sorted[..match_indexes.len()];
        sorted.copy_from_slice(match_indexes);
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted[quorum - 1]
    } else {
        let mut sorted = match_indexes.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted[quorum - 1]
    }
}

/// The result of an election given each voter's answer (`None`: not yet answered).
pub(crate) fn vote_result(votes: &[Option<bool>]) -> VoteResult {
    let quorum = majority(votes.len());
    let granted = votes.iter().filter(|v| **v == Some(true)).count();
    let missing = votes.iter().filter(|v| v.is_none()).count();
    if granted >= quorum {
        VoteResult::Won
    } else if granted + missing >= quorum {
        VoteResult::Pending
    } else {
        VoteResult::Lost
    }
}

/// Whether the voters marked active (one flag per voter, in any order) make a
/// majority: CheckQuorum's test that a leader still reaches a quorum.
pub(crate) fn is_quorum_active(active: &[bool]) -> bool {
    active.iter().filter(|&&a| a).count() >= majority(active.len())
}

/// The latest heartbeat round that a majority acknowledged, given the latest
/// round each voter acknowledged (one per voter, in any order; the leader's own
/// is its last round sent). A voter that acknowledged a later round counts for
/// every earlier one: its answer left after the earlier round was sent.
pub(crate) fn acknowledged_round(acked_rounds: &[u64]) -> u64 {
    // The same order statistic as the commit index: the majority-th largest.
    committed_index(acked_rounds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The largest index held by a strict majority, by trying every candidate.
    fn naive_committed_index(matches: &[Index]) -> Index {
        let mut best = 0;
        for &candidate in matches {
            let holders = matches.iter().filter(|&&m| m >= candidate).count();
            if holders * 2 > matches.len() {
                best = best.max(candidate);
            }
        }
        best
    }

    fn naive_vote_result(votes: &[Option<bool>]) -> VoteResult {
        let n = votes.len();
        let yes = votes.iter().filter(|v| **v == Some(true)).count();
        let no = votes.iter().filter(|v| **v == Some(false)).count();
        if yes * 2 > n {
            VoteResult::Won
        } else if (n - no) * 2 > n {
            // The unanswered voters could still make a strict majority.
            VoteResult::Pending
        } else {
            VoteResult::Lost
        }
    }

    fn naive_is_quorum_active(active: &[bool]) -> bool {
        let yes = active.iter().filter(|&&a| a).count();
        yes * 2 > active.len()
    }

    /// The latest round r such that a strict majority acknowledged r or later.
    fn naive_acknowledged_round(acked: &[u64]) -> u64 {
        let latest = acked.iter().copied().max().unwrap_or(0);
        (0..=latest)
            .rev()
            .find(|&round| acked.iter().filter(|&&a| a >= round).count() * 2 > acked.len())
            .unwrap_or(0)
    }

    proptest! {
        #[test]
        fn acknowledged_round_matches_a_naive_count(acked in prop::collection::vec(0u64..20, 1..12)) {
            prop_assert_eq!(acknowledged_round(&acked), naive_acknowledged_round(&acked));
        }

        #[test]
        fn is_quorum_active_matches_a_naive_count(active in prop::collection::vec(any::<bool>(), 1..12)) {
            prop_assert_eq!(is_quorum_active(&active), naive_is_quorum_active(&active));
        }

        #[test]
        fn committed_index_matches_a_naive_count(matches in prop::collection::vec(0u64..20, 1..24)) {
            prop_assert_eq!(committed_index(&matches), naive_committed_index(&matches));
        }

        #[test]
        fn vote_result_matches_a_naive_count(votes in prop::collection::vec(prop::option::of(any::<bool>()), 1..12)) {
            prop_assert_eq!(vote_result(&votes), naive_vote_result(&votes));
        }
    }

    #[test]
    fn a_single_voter_is_its_own_majority() {
        assert_eq!(committed_index(&[7]), 7);
        assert_eq!(vote_result(&[Some(true)]), VoteResult::Won);
        assert_eq!(vote_result(&[None]), VoteResult::Pending);
        assert!(is_quorum_active(&[true]));
    }
}
