//! Each safety property: one observation sequence that breaks it, and the
//! legal sequences closest to it that must pass.

use invariants::{Invariant, SafetyChecker, Violation, STATE_DIGEST_UNKNOWN as UNKNOWN};

fn broken(result: Result<(), Violation>) -> Violation {
    result.expect_err("expected a violation")
}

/// Three voters 1..=3; nodes 1 and 2 hold [(1, 10), (1, 11)], node 3 holds
/// [(1, 10)], node 1 leads term 1 and has committed both entries.
fn cluster_with_two_committed_entries() -> SafetyChecker {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    for node in 1..=3 {
        checker.on_term(node, 1).unwrap();
    }
    checker.on_leader(1, 1).unwrap();
    checker.on_log_rewritten(1, 1, [(1, 10), (1, 11)]).unwrap();
    checker.on_log_rewritten(2, 1, [(1, 10), (1, 11)]).unwrap();
    checker.on_log_rewritten(3, 1, [(1, 10)]).unwrap();
    checker.on_commit(1, 1, 2).unwrap();
    assert_eq!(checker.committed_index(), 2);
    checker
}

#[test]
fn two_leaders_in_one_term_break_election_safety() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_leader(1, 4).unwrap();
    let violation = broken(checker.on_leader(3, 4));
    assert_eq!(violation.invariant, Invariant::ElectionSafety);
    assert_eq!(violation.nodes, vec![1, 3]);
    assert_eq!(violation.term, Some(4));
    assert_eq!(
        violation.to_string(),
        "election-safety: nodes 1 and 3, term 4; expected one leader of term 4 (node 1), \
         seen node 3 also leader of term 4"
    );
}

#[test]
fn one_leader_per_term_is_election_safe_even_when_reported_twice() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_leader(1, 4).unwrap();
    checker.on_leader(1, 4).unwrap();
    checker.on_leader(3, 5).unwrap();
    checker.on_leader(2, 3).unwrap();
}

#[test]
fn same_index_and_term_over_different_prefixes_breaks_log_matching() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker
        .on_log_rewritten(1, 1, [(1, 10), (2, 20), (2, 21)])
        .unwrap();
    // Index 1 of another term is legal; index 2 of term 2 over it is not.
    let violation = broken(checker.on_log_rewritten(2, 1, [(3, 10), (2, 20)]));
    assert_eq!(violation.invariant, Invariant::LogMatching);
    assert_eq!(violation.nodes, vec![1, 2]);
    assert_eq!(violation.index, Some(2));
    assert_eq!(violation.term, Some(2));
    assert!(
        violation.seen.contains("first differ at index 1"),
        "{violation}"
    );
}

#[test]
fn same_index_and_term_with_different_data_breaks_log_matching() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_log_rewritten(1, 1, [(1, 10)]).unwrap();
    let violation = broken(checker.on_log_rewritten(3, 1, [(1, 99)]));
    assert_eq!(violation.invariant, Invariant::LogMatching);
    assert_eq!(violation.nodes, vec![1, 3]);
}

#[test]
fn a_follower_replacing_its_uncommitted_tail_keeps_log_matching() {
    let mut checker = cluster_with_two_committed_entries();
    // Node 3 got an entry of term 2 from a leader that lost; term 3's leader replaces it.
    checker.on_log_rewritten(3, 2, [(1, 11), (2, 30)]).unwrap();
    checker.on_log_rewritten(3, 3, [(3, 40), (3, 41)]).unwrap();
    checker.on_log_rewritten(2, 3, [(3, 40)]).unwrap();
    // A pure truncation of the uncommitted tail, then the same entries again.
    checker.on_log_rewritten(3, 3, []).unwrap();
    checker.on_log_rewritten(3, 3, [(3, 40), (3, 41)]).unwrap();
}

#[test]
fn a_leader_missing_an_entry_committed_in_an_earlier_term_breaks_leader_completeness() {
    let mut checker = cluster_with_two_committed_entries();
    // Node 3 lacks index 2, committed in term 1.
    let violation = broken(checker.on_leader(3, 2));
    assert_eq!(violation.invariant, Invariant::LeaderCompleteness);
    assert_eq!(violation.nodes, vec![3]);
    assert_eq!(violation.index, Some(2));
    assert_eq!(violation.term, Some(2));
    assert!(
        violation.seen.contains("log ending at index 1"),
        "{violation}"
    );
}

#[test]
fn a_leader_holding_a_different_entry_where_one_was_committed_breaks_leader_completeness() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_log_rewritten(3, 2, [(2, 50)]).unwrap();
    let violation = broken(checker.on_leader(3, 3));
    assert_eq!(violation.invariant, Invariant::LeaderCompleteness);
    assert!(violation.seen.contains("term 2 at index 2"), "{violation}");
}

#[test]
fn a_stale_leader_may_miss_entries_committed_in_a_higher_term() {
    let mut checker = SafetyChecker::new(&[1, 2, 3, 4, 5]);
    checker.on_leader(1, 2).unwrap();
    for node in [1, 2, 3] {
        checker.on_log_rewritten(node, 1, [(2, 1)]).unwrap();
    }
    checker.on_commit(1, 2, 1).unwrap();
    checker.on_leader(2, 5).unwrap();
    for node in [2, 3] {
        checker.on_log_rewritten(node, 2, [(5, 2)]).unwrap();
    }
    checker.on_log_rewritten(4, 1, [(2, 1), (5, 2)]).unwrap();
    checker.on_commit(2, 5, 2).unwrap();
    // Node 1 wins term 4 late (a stale partition): it holds index 1 (term 2), not index 2 (term 5).
    checker.on_leader(1, 4).unwrap();
    // Followers learning an old commit in an old term change nothing.
    checker.on_commit(3, 2, 1).unwrap();
    // Node 5 misses index 1, committed in term 2, so it cannot lead term 3.
    let violation = broken(checker.on_leader(5, 3));
    assert_eq!(violation.invariant, Invariant::LeaderCompleteness);
}

#[test]
fn committing_an_entry_other_than_the_committed_one_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_log_rewritten(3, 2, [(2, 50)]).unwrap();
    let violation = broken(checker.on_commit(3, 2, 2));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert_eq!(violation.nodes, vec![3]);
    assert_eq!(violation.index, Some(2));
}

#[test]
fn committing_past_the_end_of_the_log_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_commit(3, 1, 2));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert!(
        violation.seen.contains("past its last index 1"),
        "{violation}"
    );
}

#[test]
fn followers_learning_the_commit_index_is_state_machine_safe() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_commit(2, 1, 1).unwrap();
    checker.on_commit(2, 1, 2).unwrap();
    checker.on_log_rewritten(3, 2, [(1, 11)]).unwrap();
    checker.on_commit(3, 1, 2).unwrap();
    for node in 1..=3 {
        checker.on_apply(node, 1, 1, 10, UNKNOWN).unwrap();
        checker.on_apply(node, 2, 1, 11, UNKNOWN).unwrap();
    }
}

#[test]
fn applying_different_entries_at_one_index_breaks_state_machine_safety() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    // No commits known to the checker: the applied table alone catches it.
    checker.on_restart(1, 1, 1, None, [(1, 10)]).unwrap();
    checker.on_restart(2, 1, 1, None, [(2, 10)]).unwrap();
    checker.on_apply(1, 1, 1, 10, UNKNOWN).unwrap();
    let violation = broken(checker.on_apply(2, 1, 2, 10, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert_eq!(violation.nodes, vec![1, 2]);
    assert_eq!(violation.index, Some(1));
}

#[test]
fn applying_an_entry_other_than_the_committed_one_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_apply(1, 1, 1, 99, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert!(
        violation.expected.contains("committed entry of term 1"),
        "{violation}"
    );
}

#[test]
fn applying_past_the_commit_index_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_apply(2, 1, 1, 10, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert!(
        violation
            .expected
            .contains("only committed entries, up to 0"),
        "{violation}"
    );
}

#[test]
fn a_restart_that_leaves_a_committed_entry_on_a_minority_loses_it() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_crash(2);
    // Node 2 never synced index 2, yet it counted for the commit.
    let violation = broken(checker.on_restart(2, 1, 0, None, [(1, 10)]));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert_eq!(violation.nodes, vec![2]);
    assert_eq!(violation.index, Some(2));
    assert!(
        violation.seen.contains("only voter 1 holds it"),
        "{violation}"
    );
}

#[test]
fn a_disk_loss_on_a_majority_loses_committed_entries() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_crash(1);
    checker.on_restart(1, 0, 0, None, []).unwrap_err();
}

#[test]
fn truncating_a_committed_entry_on_a_majority_loses_it() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_log_rewritten(2, 2, [(2, 60)]));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
}

#[test]
fn committing_an_entry_held_by_a_minority_loses_it_at_once() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_log_rewritten(1, 1, [(1, 10)]).unwrap();
    let violation = broken(checker.on_commit(1, 1, 1));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert!(
        violation.seen.contains("only voter 1 holds it"),
        "{violation}"
    );
}

#[test]
fn crashes_and_restarts_that_keep_a_majority_lose_nothing() {
    let mut checker = cluster_with_two_committed_entries();
    // A crashed node's last known log still counts until it restarts.
    checker.on_crash(1);
    checker.on_crash(2);
    checker
        .on_restart(2, 1, 2, None, [(1, 10), (1, 11)])
        .unwrap();
    // Node 3 never held index 2: losing its disk loses nothing committed.
    checker.on_crash(3);
    checker.on_restart(3, 0, 0, None, []).unwrap();
    checker
        .on_restart(1, 1, 2, None, [(1, 10), (1, 11), (1, 12)])
        .unwrap();
}

#[test]
fn learners_do_not_count_for_the_majority() {
    let mut checker = SafetyChecker::new(&[2, 5, 9]);
    for node in [2, 5, 7] {
        checker.on_log_rewritten(node, 1, [(1, 10)]).unwrap();
    }
    checker.on_commit(2, 1, 1).unwrap();
    // Voter 5 loses it: voter 2 and learner 7 hold it, one voter of three.
    let violation = broken(checker.on_log_rewritten(5, 1, []));
    assert_eq!(violation.invariant, Invariant::CommittedEntryLost);
    assert!(violation.expected.contains("2 of 3 voters"), "{violation}");
}

#[test]
fn a_term_going_down_without_a_restart_breaks_monotonic_term() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_term(1, 5).unwrap();
    checker.on_term(1, 5).unwrap();
    let violation = broken(checker.on_term(1, 4));
    assert_eq!(violation.invariant, Invariant::MonotonicTerm);
    assert_eq!(violation.term, Some(4));
}

#[test]
fn a_restart_may_roll_back_an_unsynced_term_and_commit() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_term(1, 3).unwrap();
    checker.on_crash(1);
    checker
        .on_restart(1, 2, 1, None, [(1, 10), (1, 11)])
        .unwrap();
    checker.on_term(1, 2).unwrap();
    checker.on_commit(1, 2, 1).unwrap();
    checker.on_commit(1, 2, 2).unwrap();
}

#[test]
fn a_commit_index_going_down_without_a_restart_breaks_monotonic_commit() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_commit(1, 1, 1));
    assert_eq!(violation.invariant, Invariant::MonotonicCommit);
    assert_eq!(violation.index, Some(1));
}

#[test]
fn skipping_or_repeating_an_apply_breaks_monotonic_applied() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_apply(1, 2, 1, 11, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::MonotonicApplied);
    checker.on_apply(1, 1, 1, 10, UNKNOWN).unwrap();
    let violation = broken(checker.on_apply(1, 1, 1, 10, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::MonotonicApplied);
}

#[test]
fn a_restarted_node_applies_again_from_the_start() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_apply(1, 1, 1, 10, UNKNOWN).unwrap();
    checker.on_apply(1, 2, 1, 11, UNKNOWN).unwrap();
    checker.on_crash(1);
    checker
        .on_restart(1, 1, 2, None, [(1, 10), (1, 11)])
        .unwrap();
    checker.on_apply(1, 1, 1, 10, UNKNOWN).unwrap();
    checker.on_apply(1, 2, 1, 11, UNKNOWN).unwrap();
}

#[test]
#[should_panic(expected = "crashed")]
fn observing_a_crashed_node_is_a_caller_bug() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    checker.on_crash(1);
    let _ = checker.on_term(1, 2);
}

#[test]
#[should_panic(expected = "log ends at 0")]
fn a_gap_in_a_log_is_a_caller_bug() {
    let mut checker = SafetyChecker::new(&[1, 2, 3]);
    let _ = checker.on_log_rewritten(1, 2, [(1, 1)]);
}

#[test]
fn a_lagging_follower_installing_a_snapshot_holds_the_committed_prefix() {
    let mut checker = cluster_with_two_committed_entries();
    // Node 3 holds a stale entry of term 2 at index 2; the snapshot replaces it.
    checker.on_log_rewritten(3, 2, [(2, 50)]).unwrap();
    checker.on_snapshot(3, 2, 1, UNKNOWN).unwrap();
    checker.on_leader(3, 2).unwrap();
    checker.on_log_rewritten(3, 3, [(2, 60)]).unwrap();
    checker.on_apply(3, 3, 2, 60, UNKNOWN).unwrap_err(); // index 3 is not committed yet
}

#[test]
fn a_follower_installing_a_snapshot_applies_from_the_next_index() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_snapshot(3, 2, 1, UNKNOWN).unwrap();
    // The host restores its state machine from the snapshot (with no digest).
    checker.on_state_restored(3, 2, UNKNOWN).unwrap();
    checker.on_log_rewritten(3, 3, [(1, 12)]).unwrap();
    checker.on_log_rewritten(1, 3, [(1, 12)]).unwrap();
    checker.on_commit(1, 1, 3).unwrap();
    checker.on_commit(3, 1, 3).unwrap();
    checker.on_apply(3, 3, 1, 12, UNKNOWN).unwrap();
    // Compacting its own applied log changes nothing.
    checker.on_apply(1, 1, 1, 10, UNKNOWN).unwrap();
    checker.on_apply(1, 2, 1, 11, UNKNOWN).unwrap();
    checker.on_compacted(1, 2).unwrap();
    checker.on_apply(1, 3, 1, 12, UNKNOWN).unwrap();
}

#[test]
fn a_snapshot_of_uncommitted_entries_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    let violation = broken(checker.on_snapshot(2, 3, 1, UNKNOWN));
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    assert!(
        violation.seen.contains("only 2 entries are committed"),
        "{violation}"
    );
    let violation = broken(checker.on_snapshot(2, 2, 3, UNKNOWN));
    assert!(violation.seen.contains("is of term 1"), "{violation}");
}

#[test]
fn a_state_machine_restored_below_what_it_applied_moves_applied_back() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_apply(1, 1, 1, 10, 0x51).unwrap();
    checker.on_apply(1, 2, 1, 11, 0x52).unwrap();
    let violation = checker.on_state_restored(1, 1, 0x51).unwrap_err();
    assert_eq!(violation.invariant, Invariant::MonotonicApplied);
}

#[test]
fn a_state_machine_restored_to_another_state_breaks_state_machine_safety() {
    let mut checker = cluster_with_two_committed_entries();
    checker.on_apply(1, 1, 1, 10, 0x51).unwrap();
    checker.on_apply(1, 2, 1, 11, 0x52).unwrap();
    checker.on_snapshot(3, 2, 1, UNKNOWN).unwrap();
    let violation = checker.on_state_restored(3, 2, 0x99).unwrap_err();
    assert_eq!(violation.invariant, Invariant::StateMachineSafety);
    let mut checker = cluster_with_two_committed_entries();
    checker.on_apply(1, 1, 1, 10, 0x51).unwrap();
    checker.on_apply(1, 2, 1, 11, 0x52).unwrap();
    checker.on_snapshot(3, 2, 1, UNKNOWN).unwrap();
    checker.on_state_restored(3, 2, 0x52).unwrap();
}
