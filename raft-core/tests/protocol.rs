//! The rules of the Raft paper, one test each, driven through the public API.

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{Bugs, Message, MessageBody, ProposeError, Role};

fn vote_request(from: u64, term: u64, last_log_index: u64, last_log_term: u64) -> Message {
    message(
        from,
        1,
        term,
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer: false,
        },
    )
}

fn append(
    from: u64,
    term: u64,
    prev: (u64, u64),
    entries: Vec<raft_core::Entry>,
    leader_commit: u64,
) -> Message {
    let body = MessageBody::AppendEntries {
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit,
    };
    message(from, 1, term, body)
}

/// The vote answers in a ready, in order.
fn votes_granted(ready: &raft_core::Ready) -> Vec<bool> {
    all_messages(ready)
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::RequestVoteResponse { granted } => Some(granted),
            _ => None,
        })
        .collect()
}

/// The AppendEntries answers in a ready: (reject, index, hint index, hint term).
fn append_answers(ready: &raft_core::Ready) -> Vec<(bool, u64, u64, u64)> {
    all_messages(ready)
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::AppendEntriesResponse {
                reject,
                index,
                reject_hint_index,
                reject_hint_term,
            } => Some((reject, index, reject_hint_index, reject_hint_term)),
            _ => None,
        })
        .collect()
}

fn log_terms(node: &raft_core::RawNode) -> Vec<u64> {
    node.log_entries_from(1).iter().map(|e| e.term).collect()
}

#[test]
fn a_single_node_cluster_elects_itself_and_commits_once_durable() {
    let mut cluster = Cluster::new(1, Bugs::none());
    cluster.elect(1);
    let index = cluster.node(1).propose(Bytes::from_static(b"x")).unwrap();
    assert_eq!(index, 2);
    assert_eq!(
        cluster.status(1).commit,
        1,
        "not durable yet, not committed"
    );
    cluster.deliver_all();
    assert_eq!(cluster.status(1).commit, 2);
    assert_eq!(cluster.applied_data(1), vec!["x"]);
}

#[test]
fn three_and_five_node_clusters_elect_one_leader_and_replicate() {
    for n in [3, 5] {
        let mut cluster = Cluster::new(n, Bugs::none());
        cluster.elect(2);
        for id in cluster.ids() {
            let status = cluster.status(id);
            assert_eq!(status.leader, Some(2));
            assert_eq!(status.role == Role::Leader, id == 2);
        }
        for k in 0..20 {
            cluster.propose(2, &format!("v{k}"));
        }
        cluster.tick_all();
        let expected: Vec<String> = (0..20).map(|k| format!("v{k}")).collect();
        for id in cluster.ids() {
            assert_eq!(cluster.status(id).commit, 21, "node {id} of {n}");
            assert_eq!(cluster.applied_data(id), expected, "node {id} of {n}");
        }
    }
}

#[test]
fn flow_control_pipelines_within_the_window_and_catches_up_a_lagging_follower() {
    let configs = (1..=5)
        .map(|id| {
            let mut c = config(id, 5, Bugs::none());
            c.max_entries_per_message = 3;
            c.max_inflight_messages = 2;
            c
        })
        .collect();
    let mut cluster = Cluster::with_configs(configs);
    cluster.elect(1);
    cluster.isolated[4] = true;
    for k in 0..50 {
        let _ = cluster.node(1).propose(Bytes::from(format!("v{k}")));
    }
    // Before any delivery the leader has at most a window of messages out per follower.
    cluster.process(1);
    for to in 2..=4 {
        let appends = cluster.in_flight.iter().filter(|m| m.to == to).count();
        assert!(appends <= 2, "{appends} AppendEntries in flight to {to}");
        for m in cluster.in_flight.iter() {
            if let MessageBody::AppendEntries { entries, .. } = &m.body {
                assert!(entries.len() <= 3);
            }
        }
    }
    cluster.deliver_all();
    assert_eq!(cluster.status(2).commit, 51);
    assert_eq!(cluster.status(5).last_index, 1);
    cluster.isolated[4] = false;
    for _ in 0..40 {
        cluster.tick_all();
    }
    assert_eq!(cluster.status(5).commit, 51);
    assert_eq!(cluster.applied_data(5).len(), 50);
}

#[test]
fn a_new_leader_is_elected_after_the_leader_crashes_and_keeps_committed_entries() {
    let mut cluster = Cluster::new(5, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    cluster.crash(1);
    cluster.elect(3);
    cluster.propose(3, "c");
    cluster.restart(1);
    for _ in 0..5 {
        cluster.tick_all();
    }
    for id in cluster.ids() {
        assert_eq!(cluster.applied_data(id), vec!["a", "b", "c"], "node {id}");
    }
}

#[test]
fn leader_only_commits_entries_of_its_own_term() {
    for bugs in [
        Bugs::none(),
        Bugs::none().with(raft_core::Bug::CommitOldTerm),
    ] {
        // Node 1 holds an entry of term 2 that no majority holds yet.
        let mut leader = restored_node(config(1, 3, bugs), 2, None, entries_with_terms(&[1, 2]));
        tick_until_candidate(&mut leader);
        assert_eq!(leader.status().term, 3);
        drain(&mut leader);
        leader.step(message(
            2,
            1,
            3,
            MessageBody::RequestVoteResponse { granted: true },
        ));
        assert_eq!(leader.status().role, Role::Leader);
        drain(&mut leader); // The no-op (3, 3) is durable.
        let ack = |index| MessageBody::AppendEntriesResponse {
            reject: false,
            index,
            reject_hint_index: 0,
            reject_hint_term: 0,
        };
        // A majority (1 and 2) now holds index 2, of term 2.
        leader.step(message(2, 1, 3, ack(2)));
        let expected = if bugs.is_empty() { 0 } else { 2 };
        assert_eq!(leader.status().commit, expected, "bugs: {bugs:?}");
        // Once an entry of its own term is on a majority, everything before it commits too.
        leader.step(message(2, 1, 3, ack(3)));
        assert_eq!(leader.status().commit, 3);
    }
}

#[test]
fn vote_is_refused_to_a_candidate_with_a_stale_log() {
    let cases = [(5, 1, false), (1, 2, false), (2, 2, true), (1, 3, true)];
    for (last_log_index, last_log_term, expected) in cases {
        let mut node = restored_node(
            config(1, 3, Bugs::none()),
            2,
            None,
            entries_with_terms(&[1, 2]),
        );
        node.step(vote_request(2, 3, last_log_index, last_log_term));
        let ready = drain(&mut node);
        assert_eq!(
            votes_granted(&ready),
            vec![expected],
            "candidate log ({last_log_index}, {last_log_term})"
        );
        assert_eq!(node.status().vote, expected.then_some(2));
    }
}

#[test]
fn planted_vote_without_log_check_grants_a_vote_to_a_stale_log() {
    let bugs = Bugs::none().with(raft_core::Bug::VoteWithoutLogCheck);
    let mut node = restored_node(config(1, 3, bugs), 2, None, entries_with_terms(&[1, 2]));
    node.step(vote_request(2, 3, 5, 1));
    assert_eq!(votes_granted(&drain(&mut node)), vec![true]);
}

#[test]
fn one_vote_per_term() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 4, None, Vec::new());
    node.step(vote_request(2, 5, 0, 0));
    node.step(vote_request(3, 5, 0, 0));
    node.step(vote_request(2, 5, 0, 0)); // A repeated request from the same candidate is granted again.
    assert_eq!(votes_granted(&drain(&mut node)), vec![true, false, true]);
    assert_eq!(node.status().vote, Some(2));
    // A new term frees the vote.
    node.step(vote_request(3, 6, 0, 0));
    assert_eq!(votes_granted(&drain(&mut node)), vec![true]);
}

#[test]
fn planted_double_vote_grants_two_candidates_in_one_term() {
    let bugs = Bugs::none().with(raft_core::Bug::DoubleVote);
    let mut node = restored_node(config(1, 3, bugs), 4, None, Vec::new());
    node.step(vote_request(2, 5, 0, 0));
    node.step(vote_request(3, 5, 0, 0));
    assert_eq!(votes_granted(&drain(&mut node)), vec![true, true]);
}

#[test]
fn candidate_with_a_majority_becomes_leader_and_appends_a_noop() {
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        1,
        None,
        entries_with_terms(&[1]),
    );
    tick_until_candidate(&mut node);
    let ready = drain(&mut node);
    let requests: Vec<_> = ready
        .persisted_messages
        .iter()
        .map(|m| (m.to, m.body.clone()))
        .collect();
    let request = MessageBody::RequestVote {
        last_log_index: 1,
        last_log_term: 1,
        leadership_transfer: false,
    };
    assert_eq!(requests, vec![(2, request.clone()), (3, request)]);
    assert_eq!(
        ready.hard_state.map(|h| (h.term, h.vote)),
        Some((2, Some(1)))
    );
    node.step(message(
        3,
        1,
        2,
        MessageBody::RequestVoteResponse { granted: true },
    ));
    let status = node.status();
    assert_eq!(
        (status.role, status.last_index, status.last_term),
        (Role::Leader, 2, 2)
    );
    let noop = &node.log_entries_from(2)[0];
    assert!(noop.data.is_empty());
}

#[test]
fn candidate_that_loses_the_election_becomes_follower() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 1, None, Vec::new());
    tick_until_candidate(&mut node);
    node.step(message(
        2,
        1,
        2,
        MessageBody::RequestVoteResponse { granted: false },
    ));
    assert_eq!(node.status().role, Role::Candidate);
    node.step(message(
        3,
        1,
        2,
        MessageBody::RequestVoteResponse { granted: false },
    ));
    assert_eq!(
        (node.status().role, node.status().term),
        (Role::Follower, 2)
    );
}

#[test]
fn follower_truncates_only_from_the_first_conflicting_entry() {
    for bugs in [
        Bugs::none(),
        Bugs::none().with(raft_core::Bug::TruncateWithoutConflict),
    ] {
        let mut node = restored_node(
            config(1, 3, bugs),
            3,
            None,
            entries_with_terms(&[1, 1, 2, 2]),
        );
        assert_eq!(node.take_log_changes(), Some(1));
        node.step(append(
            2,
            3,
            (1, 1),
            vec![entry(2, 1, ""), entry(3, 3, "")],
            0,
        ));
        assert_eq!(log_terms(&node), vec![1, 1, 3]);
        let expected_change = if bugs.is_empty() { 3 } else { 2 };
        assert_eq!(
            node.take_log_changes(),
            Some(expected_change),
            "bugs: {bugs:?}"
        );
        let ready = drain(&mut node);
        let written: Vec<_> = ready.entries.iter().map(|e| (e.index, e.term)).collect();
        let expected_written = if bugs.is_empty() {
            vec![(3, 3)]
        } else {
            vec![(2, 1), (3, 3)]
        };
        assert_eq!(written, expected_written);
        assert_eq!(append_answers(&ready), vec![(false, 3, 0, 0)]);
        assert_eq!(node.status().persisted_index, 3);
    }
}

#[test]
fn matching_append_is_idempotent() {
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        1,
        None,
        entries_with_terms(&[1, 1, 1]),
    );
    let _ = node.take_log_changes();
    // A duplicated or reordered AppendEntries that the log already matches changes nothing.
    node.step(append(
        2,
        1,
        (0, 0),
        vec![entry(1, 1, ""), entry(2, 1, "")],
        0,
    ));
    node.step(append(2, 1, (1, 1), vec![entry(2, 1, "")], 0));
    assert_eq!(log_terms(&node), vec![1, 1, 1]);
    assert_eq!(node.take_log_changes(), None);
    let ready = drain(&mut node);
    assert!(ready.entries.is_empty());
    assert_eq!(
        append_answers(&ready),
        vec![(false, 2, 0, 0), (false, 2, 0, 0)]
    );
}

#[test]
fn planted_truncate_without_conflict_erases_acknowledged_entries() {
    let bugs = Bugs::none().with(raft_core::Bug::TruncateWithoutConflict);
    let mut node = restored_node(config(1, 3, bugs), 1, None, entries_with_terms(&[1, 1, 1]));
    // A stale AppendEntries arriving after the follower acknowledged index 3.
    node.step(append(2, 1, (0, 0), vec![entry(1, 1, "")], 0));
    assert_eq!(log_terms(&node), vec![1]);
}

#[test]
fn follower_rejects_a_mismatched_prev_log_entry_with_a_hint() {
    // Log shorter than prev_log_index: the hint is the follower's last index.
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        2,
        None,
        entries_with_terms(&[1, 1]),
    );
    node.step(append(2, 2, (5, 2), vec![], 0));
    assert_eq!(append_answers(&drain(&mut node)), vec![(true, 5, 2, 1)]);
    // Conflicting term at prev_log_index: the last index of a term <= prev_log_term.
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        4,
        None,
        entries_with_terms(&[1, 1, 3, 3, 3]),
    );
    node.step(append(2, 4, (4, 2), vec![], 0));
    assert_eq!(append_answers(&drain(&mut node)), vec![(true, 4, 2, 1)]);
    assert_eq!(node.status().last_index, 5, "a rejection changes nothing");
}

/// Exchanges messages between leader 1 and follower 2 until quiet; returns the
/// number of rejections the follower sent.
fn exchange(leader: &mut raft_core::RawNode, follower: &mut raft_core::RawNode) -> usize {
    let mut rejections = 0;
    for _ in 0..1000 {
        let to_follower: Vec<_> = all_messages(&drain(leader))
            .into_iter()
            .filter(|m| m.to == 2)
            .collect();
        let to_leader: Vec<_> = all_messages(&drain(follower));
        if to_follower.is_empty() && to_leader.is_empty() {
            return rejections;
        }
        for m in to_leader {
            if matches!(
                m.body,
                MessageBody::AppendEntriesResponse { reject: true, .. }
            ) {
                rejections += 1;
            }
            leader.step(m);
        }
        for m in to_follower {
            follower.step(m);
        }
    }
    panic!("no convergence");
}

#[test]
fn fast_backtracking_skips_a_term_per_round_trip() {
    let leader_terms: Vec<u64> = [1, 1, 1].into_iter().chain([4; 10]).collect();
    let follower_logs: [Vec<u64>; 3] = [
        [1, 1, 1]
            .into_iter()
            .chain([2; 10])
            .chain([3; 10])
            .collect(), // longer, conflicting terms
        vec![1, 1, 1],                                 // shorter
        [1, 1, 1].into_iter().chain([2; 4]).collect(), // shorter and conflicting
    ];
    for follower_terms in follower_logs {
        let mut leader = restored_node(
            config(1, 3, Bugs::none()),
            4,
            None,
            entries_with_terms(&leader_terms),
        );
        tick_until_candidate(&mut leader);
        drain(&mut leader);
        leader.step(message(
            3,
            1,
            5,
            MessageBody::RequestVoteResponse { granted: true },
        ));
        let mut follower = restored_node(
            config(2, 3, Bugs::none()),
            3,
            None,
            entries_with_terms(&follower_terms),
        );
        let rejections = exchange(&mut leader, &mut follower);
        assert!(
            rejections <= 2,
            "{rejections} round trips to back up over {follower_terms:?}"
        );
        assert_eq!(log_terms(&follower), log_terms(&leader));
        assert_eq!(follower.status().commit, 14);
    }
}

#[test]
fn responses_wait_for_durability() {
    for bugs in [
        Bugs::none(),
        Bugs::none().with(raft_core::Bug::AckBeforeFsync),
    ] {
        let mut node = restored_node(config(1, 3, bugs), 1, None, Vec::new());
        node.step(append(2, 1, (0, 0), vec![entry(1, 1, "x")], 0));
        node.step(message(
            2,
            1,
            1,
            MessageBody::Heartbeat {
                commit: 0,
                context: 0,
            },
        ));
        node.step(vote_request(3, 2, 1, 1));
        let ready = node.ready();
        assert!(!node.has_ready(), "no ready while one is outstanding");
        assert_eq!(ready.entries.len(), 1);
        let kinds = |ms: &[Message]| ms.iter().map(|m| m.body.kind_name()).collect::<Vec<_>>();
        if bugs.is_empty() {
            assert_eq!(kinds(&ready.messages), vec!["heartbeat-resp"]);
            assert_eq!(
                kinds(&ready.persisted_messages),
                vec!["app-resp", "vote-resp"]
            );
        } else {
            assert_eq!(kinds(&ready.messages), vec!["app-resp", "heartbeat-resp"]);
            assert_eq!(kinds(&ready.persisted_messages), vec!["vote-resp"]);
        }
        assert_eq!(node.status().persisted_index, 0);
        node.advance(ready.number);
        assert_eq!(node.status().persisted_index, 1);
    }
}

#[test]
fn entries_truncated_during_an_outstanding_ready_are_not_marked_persisted() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 1, None, Vec::new());
    node.step(append(
        2,
        1,
        (0, 0),
        vec![entry(1, 1, "a"), entry(2, 1, "b")],
        0,
    ));
    let first = node.ready();
    assert_eq!(first.entries.len(), 2);
    // While the host writes them, a new leader overwrites index 2.
    node.step(append(3, 2, (1, 1), vec![entry(2, 2, "c")], 0));
    node.advance(first.number);
    assert_eq!(
        node.status().persisted_index,
        1,
        "(2, 1) was replaced: not durable as (2, 2)"
    );
    let second = node.ready();
    assert_eq!(second.entries, vec![entry(2, 2, "c")]);
    node.advance(second.number);
    assert_eq!(node.status().persisted_index, 2);
}

#[test]
fn committed_entries_are_applied_only_up_to_what_this_ready_makes_durable() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 1, None, Vec::new());
    node.step(append(
        2,
        1,
        (0, 0),
        vec![entry(1, 1, "a"), entry(2, 1, "b")],
        2,
    ));
    let ready = node.ready();
    assert_eq!(
        ready.committed_entries.len(),
        2,
        "applied after this ready's entries are written"
    );
    assert_eq!(ready.hard_state.map(|h| h.commit), Some(2));
    node.advance(ready.number);
    assert_eq!(node.status().applied, 2);
    assert!(!node.has_ready());
}

#[test]
fn follower_commit_is_capped_by_the_last_new_entry() {
    for bugs in [
        Bugs::none(),
        Bugs::none().with(raft_core::Bug::CommitPastLastNewEntry),
    ] {
        // The follower holds a stale tail (3, 2); the leader of term 3 has (3, 3), (4, 3), commit 4.
        let mut node = restored_node(config(1, 3, bugs), 3, None, entries_with_terms(&[1, 1, 2]));
        node.step(append(2, 3, (1, 1), vec![entry(2, 1, "")], 4));
        let expected = if bugs.is_empty() { 2 } else { 3 };
        assert_eq!(node.status().commit, expected, "bugs: {bugs:?}");
    }
}

#[test]
fn heartbeat_commits_only_what_the_follower_confirmed_with_the_leader() {
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        1,
        None,
        entries_with_terms(&[1, 1]),
    );
    node.step(message(
        2,
        1,
        1,
        MessageBody::Heartbeat {
            commit: 9,
            context: 0,
        },
    ));
    assert_eq!(
        node.status().commit,
        0,
        "nothing confirmed with leader 2 yet"
    );
    assert_eq!(
        append_answers(&drain(&mut node)),
        vec![(true, 3, 2, 1)],
        "the follower asks to be probed"
    );
    // An AppendEntries with no entries confirms the log up to its prev entry.
    node.step(append(2, 1, (2, 1), Vec::new(), 9));
    assert_eq!(node.status().commit, 2);
    node.step(message(
        2,
        1,
        1,
        MessageBody::Heartbeat {
            commit: 1,
            context: 0,
        },
    ));
    assert_eq!(node.status().commit, 2, "commit never decreases");
    assert_eq!(node.status().leader, Some(2));
}

#[test]
fn heartbeat_commit_is_capped_by_the_last_entry_confirmed_with_the_leader() {
    for bugs in [
        Bugs::none(),
        Bugs::none().with(raft_core::Bug::CommitPastLastNewEntry),
    ] {
        // The follower holds a stale tail (3, 2); the leader of term 3 has (3, 3), commit 4.
        let mut node = restored_node(config(1, 3, bugs), 3, None, entries_with_terms(&[1, 1, 2]));
        node.step(append(2, 3, (1, 1), vec![entry(2, 1, "")], 1));
        assert_eq!(node.status().commit, 1);
        node.step(message(
            2,
            1,
            3,
            MessageBody::Heartbeat {
                commit: 4,
                context: 0,
            },
        ));
        let expected = if bugs.is_empty() { 2 } else { 3 };
        assert_eq!(node.status().commit, expected, "bugs: {bugs:?}");
    }
}

#[test]
fn a_new_term_forgets_what_was_confirmed_with_the_old_leader() {
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        1,
        None,
        entries_with_terms(&[1, 1]),
    );
    node.step(append(2, 1, (2, 1), Vec::new(), 0));
    node.step(message(
        3,
        1,
        2,
        MessageBody::Heartbeat {
            commit: 2,
            context: 0,
        },
    ));
    assert_eq!(
        node.status().commit,
        0,
        "leader 3 of term 2 confirmed nothing"
    );
}

#[test]
fn candidate_asks_again_the_voters_that_did_not_answer() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 1, None, Vec::new());
    tick_until_candidate(&mut node);
    let asked = |ready: &raft_core::Ready| -> Vec<u64> {
        all_messages(ready)
            .into_iter()
            .filter(|m| matches!(m.body, MessageBody::RequestVote { .. }))
            .map(|m| m.to)
            .collect()
    };
    assert_eq!(asked(&drain(&mut node)), vec![2, 3]);
    node.step(message(
        2,
        1,
        2,
        MessageBody::RequestVoteResponse { granted: false },
    ));
    drain(&mut node);
    let mut retried = Vec::new();
    for _ in 0..2 {
        node.tick();
        retried.extend(asked(&drain(&mut node)));
    }
    assert_eq!(node.status().role, Role::Candidate);
    assert_eq!(retried, vec![3], "only the silent voter is asked again");
}

#[test]
fn restart_recovers_term_vote_and_log() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.propose(1, "b");
    let before = cluster.status(2);
    cluster.crash(2);
    cluster.restart(2);
    let after = cluster.status(2);
    assert_eq!(
        (after.term, after.vote, after.role),
        (before.term, before.vote, Role::Follower)
    );
    assert_eq!(
        (after.last_index, after.persisted_index, after.applied),
        (3, 3, 0)
    );
    let ready = drain(cluster.node(2));
    let applied: Vec<u64> = ready.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(applied, vec![1, 2, 3], "the host re-applies from index 1");
    assert_eq!(ready.hard_state, None);
    assert!(ready.entries.is_empty());
}

#[test]
fn planted_forget_vote_lets_a_restarted_node_vote_twice() {
    for bugs in [Bugs::none(), Bugs::none().with(raft_core::Bug::ForgetVote)] {
        let config = config(1, 3, bugs);
        let mut node = restored_node(config.clone(), 4, None, Vec::new());
        node.step(vote_request(2, 5, 0, 0));
        let ready = drain(&mut node);
        let hard_state = ready.hard_state.expect("the vote is written");
        assert_eq!(
            hard_state.vote,
            if bugs.is_empty() { Some(2) } else { None }
        );
        let mut restarted = restored_node(config, hard_state.term, hard_state.vote, Vec::new());
        restarted.step(vote_request(3, 5, 0, 0));
        assert_eq!(
            votes_granted(&drain(&mut restarted)),
            vec![!bugs.is_empty()]
        );
    }
}

#[test]
fn proposal_on_follower_returns_not_leader() {
    let mut cluster = Cluster::new(3, Bugs::none());
    assert_eq!(
        cluster.node(2).propose(Bytes::new()),
        Err(ProposeError::NotLeader { leader_hint: None })
    );
    cluster.elect(1);
    assert_eq!(
        cluster.node(2).propose(Bytes::new()),
        Err(ProposeError::NotLeader {
            leader_hint: Some(1)
        })
    );
}

#[test]
fn higher_term_makes_a_leader_step_down() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.node(1).step(message(
        3,
        1,
        term + 1,
        MessageBody::Heartbeat {
            commit: 0,
            context: 0,
        },
    ));
    let status = cluster.status(1);
    assert_eq!(
        (status.role, status.term, status.vote, status.leader),
        (Role::Follower, term + 1, None, Some(3))
    );
    // A higher-term vote request also deposes, with the leader unknown.
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.node(1).step(message(
        3,
        1,
        term + 1,
        MessageBody::RequestVote {
            last_log_index: 0,
            last_log_term: 0,
            leadership_transfer: false,
        },
    ));
    let status = cluster.status(1);
    assert_eq!((status.role, status.leader), (Role::Follower, None));
}

#[test]
fn a_stale_leader_is_told_the_higher_term() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 5, None, Vec::new());
    node.step(append(2, 3, (0, 0), vec![entry(1, 3, "")], 0));
    node.step(message(
        2,
        1,
        3,
        MessageBody::Heartbeat {
            commit: 0,
            context: 0,
        },
    ));
    node.step(vote_request(3, 4, 9, 9));
    let ready = drain(&mut node);
    let answers: Vec<_> = all_messages(&ready)
        .iter()
        .map(|m| (m.to, m.term, m.body.kind_name()))
        .collect();
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|&(_, term, _)| term == 5));
    assert_eq!(
        node.status().last_index,
        0,
        "a stale AppendEntries appends nothing"
    );
    assert_eq!(votes_granted(&ready), vec![false]);
}

#[test]
fn messages_from_strangers_or_past_the_log_are_handled_without_panic() {
    let mut node = restored_node(
        config(1, 3, Bugs::none()),
        1,
        None,
        entries_with_terms(&[1]),
    );
    // A stranger's vote request with a log no longer than this node's is
    // ignored (its term too): it may be a node removed from the cluster. (A
    // stranger's AppendEntries or heartbeat is a leader's, of a configuration
    // this node has not applied yet: followed.)
    let request = MessageBody::RequestVote {
        last_log_index: 1,
        last_log_term: 1,
        leadership_transfer: false,
    };
    node.step(message(9, 1, 7, request));
    node.step(message(
        2,
        4,
        7,
        MessageBody::Heartbeat {
            commit: 5,
            context: 0,
        },
    ));
    assert_eq!(node.status().term, 1, "a stranger's term is ignored");
    // Malformed entries (indexes not following prev_log_index) are ignored.
    node.step(append(2, 1, (1, 1), vec![entry(7, 1, "")], 0));
    assert_eq!(node.status().last_index, 1);
    // Responses a follower never asked for.
    let ack = MessageBody::AppendEntriesResponse {
        reject: false,
        index: 99,
        reject_hint_index: 0,
        reject_hint_term: 0,
    };
    node.step(message(2, 1, 1, ack));
    node.step(message(
        2,
        1,
        1,
        MessageBody::HeartbeatResponse { context: 0 },
    ));
    node.step(message(
        2,
        1,
        1,
        MessageBody::RequestVoteResponse { granted: true },
    ));
    assert_eq!(node.status().role, Role::Follower);
    // A leader given acknowledgements past its log ignores them.
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.node(1).step(message(2, 1, 1, ack_of(99)));
    let reject = MessageBody::AppendEntriesResponse {
        reject: true,
        index: 99,
        reject_hint_index: 50,
        reject_hint_term: 9,
    };
    cluster.node(1).step(message(2, 1, 1, reject));
    cluster.deliver_all();
    assert_eq!(cluster.status(1).commit, 1);
}

fn ack_of(index: u64) -> MessageBody {
    MessageBody::AppendEntriesResponse {
        reject: false,
        index,
        reject_hint_index: 0,
        reject_hint_term: 0,
    }
}

#[test]
#[should_panic(expected = "advance() given the number of another ready")]
fn advance_with_the_wrong_number_panics() {
    let mut node = restored_node(config(1, 3, Bugs::none()), 1, None, Vec::new());
    node.step(vote_request(2, 2, 0, 0));
    let ready = node.ready();
    node.advance(ready.number + 1);
}

/// Ticks a follower with log [1, 2] for up to `ticks`, a candidate with a
/// stale log asking it in a new term every `E - 1` ticks; returns the tick
/// it campaigned on, if it did.
fn campaign_tick_among_stale_candidates(bugs: Bugs, ticks: u32) -> Option<u32> {
    let config = config(1, 4, bugs);
    let min = config.election_timeout_ticks_min;
    let mut node = restored_node(config, 2, None, entries_with_terms(&[1, 2]));
    let mut term = 2;
    for tick in 0..ticks {
        if tick % (min - 1) == 0 {
            term += 1;
            node.step(vote_request(2 + term % 3, term, 1, 1));
            assert_eq!(votes_granted(&drain(&mut node)), vec![false]);
            assert_eq!(
                node.status().term,
                term,
                "a refused request's term is followed"
            );
        }
        node.tick();
        if node.status().role != Role::Follower {
            assert_eq!(node.status().role, Role::Candidate);
            assert_eq!(node.status().term, term + 1);
            return Some(tick + 1);
        }
    }
    None
}

#[test]
fn refusing_candidates_with_stale_logs_does_not_hold_back_the_up_to_date_voters_election() {
    // Figure 2: a follower's timer restarts when it hears its leader or grants
    // a vote. Candidates with stale logs, asking in ever higher terms faster
    // than any timeout, must not keep the voter they cannot beat from
    // campaigning (without PreVote nothing else stops them).
    let min = config(1, 4, Bugs::none()).election_timeout_ticks_min;
    let campaigned = campaign_tick_among_stale_candidates(Bugs::none(), 10 * min);
    assert!(
        campaigned.is_some_and(|tick| tick < 2 * min),
        "campaigned at {campaigned:?}, timeouts are below {}",
        2 * min
    );
}

#[test]
fn planted_refusal_restarts_timer_holds_the_up_to_date_voter_back() {
    let bugs = Bugs::none().with(raft_core::Bug::RefusalRestartsTimer);
    let min = config(1, 4, bugs).election_timeout_ticks_min;
    assert_eq!(campaign_tick_among_stale_candidates(bugs, 10 * min), None);
}

#[test]
fn granting_a_vote_restarts_the_timer() {
    let config = config(1, 4, Bugs::none());
    let min = config.election_timeout_ticks_min;
    let mut node = restored_node(config, 2, None, entries_with_terms(&[1, 2]));
    let mut term = 2;
    for ticks in 0..10 * min {
        if ticks % (min - 1) == 0 {
            term += 1;
            node.step(vote_request(2 + term % 3, term, 2, 2));
            assert_eq!(votes_granted(&drain(&mut node)), vec![true]);
        }
        node.tick();
        assert_eq!(
            node.status().role,
            Role::Follower,
            "campaigned at tick {ticks}"
        );
    }
}
