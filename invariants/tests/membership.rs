//! Membership changes, log compaction and snapshots: each rule holds on a
//! correct run and fires on the mistake it names.

use invariants::{Invariant, SafetyChecker, Violation, STATE_DIGEST_UNKNOWN as UNKNOWN};

fn broken(result: Result<(), Violation>) -> Violation {
    result.expect_err("expected a violation")
}

/// `voters` all in term 1 under leader `voters[0]`; `holders` hold
/// `[(1, 10), (1, 11)]`, the other voters `[(1, 10)]`; the leader committed
/// index 2.
fn committed_on(voters: &[u64], holders: &[u64]) -> SafetyChecker {
    let mut checker = SafetyChecker::new(voters);
    checker.on_leader(voters[0], 1).unwrap();
    for &node in voters {
        let entries: &[(u64, u64)] = if holders.contains(&node) {
            &[(1, 10), (1, 11)]
        } else {
            &[(1, 10)]
        };
        checker.on_log_rewritten(node, 1, entries.to_vec()).unwrap();
    }
    checker.on_commit(voters[0], 1, 2).unwrap();
    checker
}

/// The state digest after applying index `index` in these tests' runs.
fn state_after(index: u64) -> u64 {
    0x5000 + index
}

// --- Configurations -------------------------------------------------------

#[test]
fn an_even_cluster_with_two_of_four_holding_loses_nothing_and_with_one_loses_it() {
    let mut checker = committed_on(&[1, 2, 3, 4], &[1, 2, 3]);
    // Node 3 drops index 2: 2 of 4 hold it, the 2 others are no quorum of 3.
    checker.on_log_rewritten(3, 2, []).unwrap();
    // Node 2 drops it too: 3 of 4 lack it and could elect a leader without it.
    let violation = broken(checker.on_log_rewritten(2, 2, []));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert_eq!(violation.nodes, vec![2]);
    assert!(
        violation
            .expected
            .contains("no quorum of voters 1, 2, 3 and 4 (3 of 4)"),
        "{violation}"
    );
    assert!(
        violation.seen.contains("only voter 1 holds it"),
        "{violation}"
    );
}

#[test]
fn an_odd_cluster_keeps_the_majority_rule() {
    let mut checker = committed_on(&[1, 2, 3], &[1, 2]);
    let violation = broken(checker.on_log_rewritten(2, 2, []));
    assert!(
        violation.expected.contains("on a majority (2 of 3 voters)"),
        "{violation}"
    );
}

#[test]
fn a_joint_commit_held_by_the_incoming_majority_is_safe_until_its_half_lacks_a_quorum() {
    // C_old = {1, 2, 3}, C_new = {3, 4, 5}: joint. Index 2 is held by 4 and 5 only.
    let mut checker = committed_on(&[1, 2, 3], &[1, 2, 3]);
    for node in [4, 5] {
        checker
            .on_log_rewritten(node, 1, [(1, 10), (1, 11)])
            .unwrap();
    }
    checker.on_configuration(&[3, 4, 5], &[1, 2, 3]).unwrap();
    for node in [1, 2, 3] {
        checker.on_log_rewritten(node, 2, []).unwrap();
    }
    // The non-holders {1, 2, 3} are a quorum of C_old but only 1 of C_new: no
    // election (which needs both) can lose index 2. Once 4 lacks it too, one can.
    let violation = broken(checker.on_log_rewritten(4, 2, []));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert!(violation.expected.contains("joint quorum"), "{violation}");
    assert!(
        violation.seen.contains("only voter 5 holds it"),
        "{violation}"
    );
}

#[test]
fn a_joint_configuration_whose_new_voters_are_empty_loses_nothing_until_the_old_half_lacks_a_quorum(
) {
    let mut checker = committed_on(&[1, 2, 3], &[1, 2, 3]);
    checker.on_configuration(&[1, 4, 5], &[1, 2, 3]).unwrap();
    // 4 and 5 are new and empty: the incoming half lacks a quorum, the outgoing holds.
    checker.on_log_rewritten(2, 2, []).unwrap();
    let violation = broken(checker.on_log_rewritten(3, 2, []));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
}

#[test]
fn a_single_server_change_keeps_the_entries_and_two_at_once_can_lose_them() {
    let mut checker = committed_on(&[1, 2, 3], &[1, 2]);
    // Add 4, empty: non-holders {3, 4} are no quorum of 4.
    checker.on_configuration(&[1, 2, 3, 4], &[]).unwrap();
    checker.on_configuration(&[1, 2, 3], &[]).unwrap();
    // Add 4 and 5 at once: non-holders {3, 4, 5} are a quorum of 5.
    let violation = broken(checker.on_configuration(&[1, 2, 3, 4, 5], &[]));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert!(
        violation.seen.contains("configuration changed"),
        "{violation}"
    );
}

#[test]
fn removed_voters_stop_counting_and_new_ids_count_from_when_they_join() {
    let mut checker = committed_on(&[1, 2, 3], &[1, 2, 3]);
    checker.on_configuration(&[1, 2], &[]).unwrap();
    // Node 3 left: losing its disk loses nothing.
    checker.on_crash(3);
    checker.on_restart(3, 0, 0, None, []).unwrap();
    // Node 7 replaces it and catches up: {1, 2, 7}.
    checker.on_log_rewritten(7, 1, [(1, 10), (1, 11)]).unwrap();
    checker.on_configuration(&[1, 2, 7], &[]).unwrap();
    checker.on_log_rewritten(1, 2, []).unwrap();
    let violation = broken(checker.on_log_rewritten(7, 2, []));
    assert!(
        violation.seen.contains("only voter 2 holds it"),
        "{violation}"
    );
}

#[test]
fn a_learners_log_does_not_count_but_is_checked_for_log_matching() {
    let mut checker = committed_on(&[1, 2, 3], &[1, 2]);
    checker.on_log_rewritten(4, 1, [(1, 10), (1, 11)]).unwrap();
    // Learner 4 holds index 2, voters 1 and 2 too; 2 drops it: lost on the voters.
    let violation = broken(checker.on_log_rewritten(2, 2, []));
    assert!(
        violation.seen.contains("only voter 1 holds it"),
        "{violation}"
    );
    let mut checker = committed_on(&[1, 2, 3], &[1, 2]);
    let violation = broken(checker.on_log_rewritten(4, 1, [(1, 99)]));
    assert_eq!(violation.invariant, Invariant::LogMatching);
}

// --- Compaction and snapshots ---------------------------------------------

/// Voters 1..=3 hold five entries of term 1, all committed and applied by
/// node 1, with the state digest `state_after(i)` after each index.
fn five_committed_and_applied() -> SafetyChecker {
    let entries: Vec<(u64, u64)> = (1..=5).map(|index| (1, 10 + index)).collect();
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_leader(1, 1).unwrap();
    for node in 1..=3 {
        checker.on_log_rewritten(node, 1, entries.clone()).unwrap();
    }
    checker.on_commit(1, 1, 5).unwrap();
    for index in 1..=5 {
        let state = state_after(index);
        checker.on_apply(1, index, 1, 10 + index, state).unwrap();
    }
    checker
}

#[test]
fn compaction_then_install_keeps_log_matching_across_the_base() {
    let mut checker = five_committed_and_applied();
    checker.on_compacted(1, 3).unwrap();
    // Node 3 drops its log and installs node 1's snapshot at 4.
    checker.on_log_rewritten(3, 1, []).unwrap();
    checker.on_snapshot(3, 4, 1, state_after(4)).unwrap();
    checker.on_compacted(3, 4).unwrap();
    checker.on_log_rewritten(3, 5, [(1, 15)]).unwrap();
    checker.on_commit(3, 1, 5).unwrap();
    checker.on_apply(3, 5, 1, 15, state_after(5)).unwrap();
    // New entries of term 2 after both bases agree...
    checker.on_term(1, 2).unwrap();
    checker.on_leader(1, 2).unwrap();
    checker.on_log_rewritten(1, 6, [(2, 60)]).unwrap();
    checker.on_log_rewritten(3, 6, [(2, 60)]).unwrap();
    // ...and a conflicting one after the base is still caught.
    let violation = broken(checker.on_log_rewritten(2, 6, [(2, 61)]));
    assert_eq!(violation.invariant, Invariant::LogMatching);
    assert_eq!(violation.nodes, vec![1, 2]);
    assert_eq!(violation.index, Some(6));
    let mut checker = five_committed_and_applied();
    checker.on_compacted(1, 5).unwrap();
    checker.on_log_rewritten(1, 6, [(2, 60)]).unwrap();
    // Node 1 holds index 6 above its base 5; node 3 gets a rival of the same term.
    let violation = broken(checker.on_log_rewritten(3, 6, [(2, 61)]));
    assert_eq!(violation.invariant, Invariant::LogMatching);
    assert_eq!(violation.index, Some(6));
    assert!(
        violation.seen.contains("first differ at index 6"),
        "{violation}"
    );
}

#[test]
fn a_leader_whose_base_lies_past_what_was_committed_before_its_term_is_complete() {
    let mut checker = five_committed_and_applied();
    checker.on_compacted(1, 5).unwrap();
    checker.on_term(1, 2).unwrap();
    checker.on_leader(1, 2).unwrap();
    // A node that installed the snapshot may lead too; one that lacks index 5 may not.
    checker.on_snapshot(2, 5, 1, state_after(5)).unwrap();
    checker.on_leader(2, 3).unwrap();
    checker.on_log_rewritten(3, 5, []).unwrap();
    let violation = broken(checker.on_leader(3, 4));
    assert_eq!(violation.invariant, Invariant::LeaderCompleteness);
    assert_eq!(violation.index, Some(5));
}

#[test]
fn a_snapshot_whose_state_differs_from_the_applied_prefix_breaks_state_machine_safety() {
    let mut checker = five_committed_and_applied();
    checker.on_snapshot(2, 4, 1, state_after(4)).unwrap();
    checker.on_apply(2, 5, 1, 15, state_after(5)).unwrap_err(); // not committed on node 2
    let mut checker = five_committed_and_applied();
    let violation = broken(checker.on_snapshot(3, 4, 1, 0xBAD));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert_eq!(violation.nodes, vec![1, 3]);
    assert_eq!(violation.index, Some(4));
    assert!(
        violation.seen.contains("installing a snapshot"),
        "{violation}"
    );
}

#[test]
fn a_snapshot_state_nobody_applied_is_recorded_and_held_against_later_applies() {
    let mut checker = five_committed_and_applied();
    checker.on_log_rewritten(1, 6, [(1, 16)]).unwrap();
    checker.on_log_rewritten(2, 6, [(1, 16)]).unwrap();
    checker.on_commit(1, 1, 6).unwrap();
    // Node 2 installs a snapshot at 6 before anyone applied 6.
    checker.on_snapshot(2, 6, 1, 0x6666).unwrap();
    let violation = broken(checker.on_apply(1, 6, 1, 16, 0x7777));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert_eq!(violation.nodes, vec![2, 1]);
    assert!(violation.seen.contains("after applying it"), "{violation}");
}

#[test]
fn a_snapshot_below_the_commit_index_breaks_monotonic_commit() {
    let mut checker = five_committed_and_applied();
    checker.on_commit(2, 1, 5).unwrap();
    checker.on_apply(2, 1, 1, 11, state_after(1)).unwrap();
    let violation = broken(checker.on_snapshot(2, 3, 1, state_after(3)));
    assert_eq!(violation.invariant, Invariant::MonotonicCommit);
    assert_eq!(violation.index, Some(3));
    assert!(
        violation.expected.contains("stay at 5 or above"),
        "{violation}"
    );
    // Node 2 at or above its commit is fine.
    checker.on_snapshot(2, 5, 1, state_after(5)).unwrap();
}

#[test]
fn a_snapshot_below_the_applied_index_breaks_monotonic_applied() {
    let mut checker = five_committed_and_applied();
    let violation = broken(checker.on_snapshot(1, 4, 1, state_after(4)));
    assert_eq!(violation.invariant, Invariant::MonotonicApplied);
}

#[test]
fn compacting_entries_not_yet_applied_breaks_monotonic_applied() {
    let mut checker = five_committed_and_applied();
    checker.on_commit(2, 1, 5).unwrap();
    let violation = broken(checker.on_compacted(2, 3));
    assert_eq!(violation.invariant, Invariant::MonotonicApplied);
    assert!(
        violation.seen.contains("compacted up to index 3"),
        "{violation}"
    );
}

#[test]
fn a_restart_from_a_durable_snapshot_applies_after_it_and_holds_the_prefix() {
    let mut checker = five_committed_and_applied();
    checker.on_compacted(1, 3).unwrap();
    checker.on_crash(1);
    checker
        .on_restart(1, 1, 3, Some((3, 1)), [(1, 14), (1, 15)])
        .unwrap();
    checker.on_commit(1, 1, 5).unwrap();
    checker.on_apply(1, 4, 1, 14, state_after(4)).unwrap();
    // Holding index 5 still counts: losing it on node 2 leaves 1 and 3.
    checker.on_log_rewritten(2, 5, []).unwrap();
    let violation = broken(checker.on_apply(1, 5, 1, 15, 0xBAD));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
}

#[test]
fn a_restart_from_a_snapshot_of_an_uncommitted_entry_breaks_state_machine_safety() {
    let mut checker = five_committed_and_applied();
    checker.on_crash(2);
    let violation = broken(checker.on_restart(2, 1, 0, Some((3, 2)), []));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert!(
        violation
            .seen
            .contains("committed entry there is of term 1"),
        "{violation}"
    );
}

#[test]
fn a_wiped_node_restarts_empty_and_catches_up_by_a_snapshot_after_pruning() {
    let mut checker = five_committed_and_applied();
    for node in [2, 3] {
        checker.on_commit(node, 1, 5).unwrap();
        for index in 1..=5 {
            checker
                .on_apply(node, index, 1, 10 + index, state_after(index))
                .unwrap();
        }
    }
    for node in 1..=3 {
        checker.on_compacted(node, 4).unwrap();
    }
    assert_eq!(checker.pruned_index(), 4);
    checker.on_crash(3);
    checker.on_restart(3, 0, 0, None, []).unwrap();
    checker.on_snapshot(3, 5, 1, state_after(5)).unwrap();
    checker.on_compacted(3, 5).unwrap();
    // Node 2 restarts from its durable snapshot at the floor.
    checker.on_crash(2);
    checker
        .on_restart(2, 1, 4, Some((4, 1)), [(1, 15)])
        .unwrap();
    checker.on_log_rewritten(2, 6, [(1, 16)]).unwrap();
}

#[test]
#[should_panic(expected = "below the pruning floor 4")]
fn a_restart_below_a_durable_snapshot_that_was_pruned_is_a_caller_bug() {
    let mut checker = five_committed_and_applied();
    for node in [2, 3] {
        checker.on_commit(node, 1, 5).unwrap();
        for index in 1..=5 {
            checker
                .on_apply(node, index, 1, 10 + index, UNKNOWN)
                .unwrap();
        }
    }
    for node in 1..=3 {
        checker.on_compacted(node, 4).unwrap();
    }
    checker.on_crash(2);
    let _ = checker.on_restart(2, 1, 4, Some((2, 1)), []);
}

#[test]
#[should_panic(expected = "at or below the base 3 were compacted")]
fn rewriting_a_compacted_entry_is_a_caller_bug() {
    let mut checker = five_committed_and_applied();
    checker.on_compacted(1, 3).unwrap();
    let _ = checker.on_log_rewritten(1, 3, [(1, 13)]);
}

// --- Memory ---------------------------------------------------------------

#[test]
fn a_retired_node_no_longer_holds_the_pruning_floor_down() {
    let mut checker = five_committed_and_applied();
    checker.on_commit(2, 1, 5).unwrap();
    for index in 1..=5 {
        checker
            .on_apply(2, index, 1, 10 + index, state_after(index))
            .unwrap();
    }
    checker.on_compacted(1, 5).unwrap();
    checker.on_compacted(2, 5).unwrap();
    // Node 3 never compacts: it could still restart from index 1.
    assert_eq!(checker.pruned_index(), 0);
    checker.on_configuration(&[1, 2], &[]).unwrap();
    checker.on_retired(3);
    assert_eq!(checker.pruned_index(), 5);
}

#[test]
fn a_million_entries_compacted_every_thousand_keep_the_checker_memory_flat() {
    let entry_count: u64 = 1_000_000;
    let compaction_interval: u64 = 1_000;
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_leader(1, 1).unwrap();
    let mut memory_entries_max = 0;
    for index in 1..=entry_count {
        let digest = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for node in 1..=3 {
            checker
                .on_log_rewritten(node, index, [(1, digest)])
                .unwrap();
        }
        for node in 1..=3 {
            checker.on_commit(node, 1, index).unwrap();
            checker
                .on_apply(node, index, 1, digest, index | 1 << 63)
                .unwrap();
        }
        if index % compaction_interval == 0 {
            for node in 1..=3 {
                checker.on_compacted(node, index).unwrap();
            }
            assert_eq!(checker.pruned_index(), index);
        }
        memory_entries_max = memory_entries_max.max(checker.memory_entries());
    }
    // Per index above the floor: 3 logs, the committed prefix, one sighting, one
    // applied slot; at most one compaction interval of them.
    let bound = 6 * compaction_interval as usize;
    assert!(
        memory_entries_max <= bound,
        "{memory_entries_max} entries held at most, bound {bound}"
    );
    assert_eq!(checker.committed_index(), entry_count);
}
