//! Quorum math: the only place votes and acknowledgements are counted.
//!
//! A simple majority of one voter set (etcd's `quorum/majority.go`), and a joint
//! configuration (etcd's `quorum/joint.go`): C_old,new decides only with a
//! majority of BOTH its incoming and its outgoing voters. The joint functions
//! take one value per member (indexed by [`Membership`] position) and read only
//! the voters' values: a learner's acknowledgement, vote or activity never
//! counts.

use crate::membership::Membership;
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
    let quorum = majority(match_indexes.len());
    // Sorting descending, the majority-th largest is held by at least `quorum` voters.
    in_scratch(
        match_indexes.len(),
        |k| match_indexes[k],
        |sorted| {
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            sorted[quorum - 1]
        },
    )
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

/// How many voters one set gathers on the stack before it falls back to the heap.
const STACK_VOTERS: usize = 16;

/// Applies `count` to the values at `positions` of `by_member` (one value per
/// member). When the positions are every member in order (no learners, not
/// joint: the common case) the slice is passed as it is.
fn count_over<T: Copy + Default, R>(
    by_member: &[T],
    positions: &[usize],
    count: impl FnOnce(&[T]) -> R,
) -> R {
    assert!(!positions.is_empty(), "a voter set is never empty here");
    // Positions are distinct indexes into `by_member`: as many as there are
    // members means every member, in increasing order.
    if positions.len() == by_member.len() {
        return count(by_member);
    }
    in_scratch(
        positions.len(),
        |k| by_member[positions[k]],
        |gathered| count(gathered),
    )
}

/// Applies `work` to a scratch slice of `len` values, the k-th being
/// `value(k)`: on the stack up to [`STACK_VOTERS`], else on the heap. Only
/// where the values live depends on `len`, never what `work` sees.
fn in_scratch<T: Copy + Default, R>(
    len: usize,
    value: impl Fn(usize) -> T,
    work: impl FnOnce(&mut [T]) -> R,
) -> R {
    if len <= STACK_VOTERS {
        let mut scratch = [T::default(); STACK_VOTERS];
        for (k, slot) in scratch[..len].iter_mut().enumerate() {
            *slot = value(k);
        }
        work(&mut scratch[..len])
    } else {
        let mut scratch: Vec<T> = (0..len).map(value).collect();
        work(&mut scratch)
    }
}

/// The largest index that a majority of each voter set holds, given each
/// member's match index (etcd's `JointConfig.CommittedIndex`): the smaller of
/// the two sets' commit indexes.
pub(crate) fn joint_committed_index(membership: &Membership, match_by_member: &[Index]) -> Index {
    assert_eq!(match_by_member.len(), membership.members().len());
    let incoming = count_over(
        match_by_member,
        membership.voter_positions(),
        committed_index,
    );
    let outgoing = membership.outgoing_voter_positions();
    if outgoing.is_empty() {
        return incoming;
    }
    incoming.min(count_over(match_by_member, outgoing, committed_index))
}

/// The result of an election given each member's answer (etcd's
/// `JointConfig.VoteResult`): won once both sets are won, lost once either is
/// lost, pending otherwise.
pub(crate) fn joint_vote_result(
    membership: &Membership,
    votes_by_member: &[Option<bool>],
) -> VoteResult {
    assert_eq!(votes_by_member.len(), membership.members().len());
    let incoming = count_over(votes_by_member, membership.voter_positions(), vote_result);
    let outgoing = membership.outgoing_voter_positions();
    if outgoing.is_empty() {
        return incoming;
    }
    match (incoming, count_over(votes_by_member, outgoing, vote_result)) {
        (both, other) if both == other => both,
        (VoteResult::Lost, _) | (_, VoteResult::Lost) => VoteResult::Lost,
        _ => VoteResult::Pending,
    }
}

/// Whether the members marked active make a majority of each voter set
/// (CheckQuorum over a joint configuration).
pub(crate) fn joint_is_quorum_active(membership: &Membership, active_by_member: &[bool]) -> bool {
    assert_eq!(active_by_member.len(), membership.members().len());
    let outgoing = membership.outgoing_voter_positions();
    count_over(
        active_by_member,
        membership.voter_positions(),
        is_quorum_active,
    ) && (outgoing.is_empty() || count_over(active_by_member, outgoing, is_quorum_active))
}

/// The latest heartbeat round that a majority of each voter set acknowledged,
/// given the latest round each member acknowledged: the smaller of the two.
pub(crate) fn joint_acknowledged_round(membership: &Membership, acked_by_member: &[u64]) -> u64 {
    assert_eq!(acked_by_member.len(), membership.members().len());
    let incoming = count_over(
        acked_by_member,
        membership.voter_positions(),
        acknowledged_round,
    );
    let outgoing = membership.outgoing_voter_positions();
    if outgoing.is_empty() {
        return incoming;
    }
    incoming.min(count_over(acked_by_member, outgoing, acknowledged_round))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NodeId;
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

    /// A membership from one role per member (ids 1..): 0 incoming voter,
    /// 1 outgoing voter, 2 voter of both sets, 3 learner.
    fn membership_of(roles: &[u8]) -> Membership {
        let ids = |wanted: &[u8]| -> Vec<NodeId> {
            (1..=roles.len() as NodeId)
                .filter(|&id| wanted.contains(&roles[id as usize - 1]))
                .collect()
        };
        Membership::joint(ids(&[0, 2]), ids(&[1, 2]), ids(&[3]))
    }

    /// Member roles with at least one incoming voter.
    fn roles() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(0u8..4, 1..12)
            .prop_filter("an incoming voter", |r| r.iter().any(|&x| x == 0 || x == 2))
    }

    /// Whether the members `holds` picks make a strict majority of the voters
    /// of `set` (0 incoming, 1 outgoing); an empty outgoing set agrees to anything.
    fn naive_majority_of(roles: &[u8], set: u8, holds: impl Fn(usize) -> bool) -> bool {
        let voters: Vec<usize> = (0..roles.len())
            .filter(|&k| roles[k] == set || roles[k] == 2)
            .collect();
        voters.is_empty() || voters.iter().filter(|&&k| holds(k)).count() * 2 > voters.len()
    }

    fn naive_joint_committed_index(roles: &[u8], matches: &[Index]) -> Index {
        let both = |c: Index| (0..2).all(|set| naive_majority_of(roles, set, |k| matches[k] >= c));
        matches
            .iter()
            .copied()
            .filter(|&c| both(c))
            .max()
            .unwrap_or(0)
    }

    /// Won if the grants so far win both sets; lost if not even every silent
    /// member granting would; pending otherwise.
    fn naive_joint_vote_result(roles: &[u8], votes: &[Option<bool>]) -> VoteResult {
        let wins = |granted: &dyn Fn(usize) -> bool| {
            (0..2).all(|set| naive_majority_of(roles, set, granted))
        };
        if wins(&|k| votes[k] == Some(true)) {
            VoteResult::Won
        } else if wins(&|k| votes[k] != Some(false)) {
            VoteResult::Pending
        } else {
            VoteResult::Lost
        }
    }

    proptest! {
        #[test]
        fn joint_committed_index_matches_a_naive_count(
            members in roles().prop_flat_map(|r| {
                let n = r.len();
                (Just(r), prop::collection::vec(0u64..20, n))
            })
        ) {
            let (roles, matches) = members;
            let membership = membership_of(&roles);
            prop_assert_eq!(
                joint_committed_index(&membership, &matches),
                naive_joint_committed_index(&roles, &matches)
            );
        }

        #[test]
        fn joint_vote_result_matches_a_naive_count(
            members in roles().prop_flat_map(|r| {
                let n = r.len();
                (Just(r), prop::collection::vec(prop::option::of(any::<bool>()), n))
            })
        ) {
            let (roles, votes) = members;
            let membership = membership_of(&roles);
            prop_assert_eq!(
                joint_vote_result(&membership, &votes),
                naive_joint_vote_result(&roles, &votes)
            );
        }

        #[test]
        fn joint_is_quorum_active_matches_a_naive_count(
            members in roles().prop_flat_map(|r| {
                let n = r.len();
                (Just(r), prop::collection::vec(any::<bool>(), n))
            })
        ) {
            let (roles, active) = members;
            let membership = membership_of(&roles);
            let naive = (0..2).all(|set| naive_majority_of(&roles, set, |k| active[k]));
            prop_assert_eq!(joint_is_quorum_active(&membership, &active), naive);
        }

        #[test]
        fn joint_acknowledged_round_matches_a_naive_count(
            members in roles().prop_flat_map(|r| {
                let n = r.len();
                (Just(r), prop::collection::vec(0u64..20, n))
            })
        ) {
            let (roles, acked) = members;
            let membership = membership_of(&roles);
            // The same order statistic as the commit index, by the same naive count.
            prop_assert_eq!(
                joint_acknowledged_round(&membership, &acked),
                naive_joint_committed_index(&roles, &acked)
            );
        }

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
    fn joint_commit_needs_both_majorities() {
        // C_new = {1, 2, 3}, C_old = {3, 4, 5}: 1, 2, 3 hold index 9 (a majority
        // of C_new), but only 3 of C_old does.
        let membership = Membership::joint(vec![1, 2, 3], vec![3, 4, 5], Vec::new());
        assert_eq!(joint_committed_index(&membership, &[9, 9, 9, 2, 2]), 2);
        assert_eq!(joint_committed_index(&membership, &[9, 9, 9, 9, 2]), 9);
    }

    #[test]
    fn joint_election_needs_both_majorities() {
        let membership = Membership::joint(vec![1, 2, 3], vec![3, 4, 5], Vec::new());
        let yes = Some(true);
        let no = Some(false);
        assert_eq!(
            joint_vote_result(&membership, &[yes, yes, None, None, None]),
            VoteResult::Pending
        );
        assert_eq!(
            joint_vote_result(&membership, &[yes, yes, None, no, None]),
            VoteResult::Pending
        );
        assert_eq!(
            joint_vote_result(&membership, &[yes, yes, no, no, no]),
            VoteResult::Lost
        );
        assert_eq!(
            joint_vote_result(&membership, &[yes, yes, no, yes, yes]),
            VoteResult::Won
        );
    }

    #[test]
    fn a_learner_is_not_counted_in_any_quorum() {
        // Voters {1, 2, 3}, learners {4, 5}: the learners' answers never tip a majority.
        let membership = Membership::new(vec![1, 2, 3], vec![4, 5]);
        assert_eq!(joint_committed_index(&membership, &[9, 1, 1, 9, 9]), 1);
        let votes = [Some(true), Some(false), Some(false), Some(true), Some(true)];
        assert_eq!(joint_vote_result(&membership, &votes), VoteResult::Lost);
        assert!(!joint_is_quorum_active(
            &membership,
            &[true, false, false, true, true]
        ));
        assert_eq!(joint_acknowledged_round(&membership, &[7, 0, 0, 7, 7]), 0);
    }

    #[test]
    fn a_single_voter_is_its_own_majority() {
        assert_eq!(committed_index(&[7]), 7);
        assert_eq!(vote_result(&[Some(true)]), VoteResult::Won);
        assert_eq!(vote_result(&[None]), VoteResult::Pending);
        assert!(is_quorum_active(&[true]));
    }
}
