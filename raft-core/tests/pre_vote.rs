//! PreVote (§9.6 of Ongaro's thesis, etcd's `PreVote`): a node asks whether it
//! could win before it raises its term.

mod common;

use common::*;
use raft_core::{Bug, Bugs, Message, MessageBody, RawNode, Role};

fn pre_vote_cluster(n: u64) -> Cluster {
    Cluster::with(n, |config| config.pre_vote = true)
}

fn pre_vote(from: u64, to: u64, term: u64, last_log_index: u64, last_log_term: u64) -> Message {
    message(
        from,
        to,
        term,
        MessageBody::PreVote {
            last_log_index,
            last_log_term,
        },
    )
}

/// The pre-vote answers in a ready, with the term each carries.
fn pre_vote_answers(node: &mut RawNode) -> Vec<(bool, u64)> {
    all_messages(&drain(node))
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::PreVoteResponse { granted } => Some((granted, m.term)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_pre_candidate_that_wins_its_pre_vote_becomes_candidate_then_leader() {
    let mut cluster = pre_vote_cluster(3);
    tick_until_candidate(cluster.node(1));
    assert_eq!(cluster.status(1).role, Role::PreCandidate);
    assert_eq!(
        cluster.status(1).term,
        0,
        "no term raised before the pre-vote is won"
    );
    let sent = cluster.take_in_flight();
    assert!(sent
        .iter()
        .all(|m| matches!(m.body, MessageBody::PreVote { .. }) && m.term == 1));
    cluster.in_flight.extend(sent);
    cluster.deliver_all();
    let status = cluster.status(1);
    assert_eq!((status.role, status.term), (Role::Leader, 1));
    assert_eq!(cluster.propose(1, "x"), 2);
    assert_eq!(cluster.applied_data(2), ["x"]);
}

#[test]
fn a_single_voter_wins_its_pre_vote_and_election_at_once() {
    let mut cluster = pre_vote_cluster(1);
    cluster.elect(1);
    assert_eq!(cluster.status(1).term, 1);
}

#[test]
fn pre_candidate_never_raises_its_term() {
    let mut cluster = pre_vote_cluster(3);
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.isolate(3);
    for _ in 0..200 {
        cluster.tick(3);
        cluster.deliver_all();
        let status = cluster.status(3);
        assert_eq!(status.term, term, "a pre-candidate keeps its term");
        assert_eq!(status.vote, Some(1), "and its vote");
    }
    assert_eq!(cluster.status(3).role, Role::PreCandidate);
    // Back in the cluster, it does not depose the leader: it just follows it again.
    cluster.reconnect(3);
    cluster.tick_all_times(4);
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(cluster.status(1).term, term);
    assert_eq!(cluster.status(3).leader, Some(1));
}

#[test]
fn planted_prevote_bumps_term_lets_a_partitioned_node_inflate_its_term() {
    let mut cluster = Cluster::with(3, |config| {
        config.pre_vote = true;
        config.bugs = Bugs::none().with(Bug::PreVoteBumpsTerm);
    });
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.isolate(3);
    cluster.tick_node(3, 200);
    assert!(
        cluster.status(3).term > term + 1,
        "the pre-candidate raised its term"
    );
    // Back in the cluster, its higher term deposes the working leader.
    cluster.reconnect(3);
    cluster.tick_all_times(4);
    assert!(cluster.status(1).term > term);
}

#[test]
fn pre_vote_is_refused_while_a_leader_is_known() {
    let mut cluster = pre_vote_cluster(3);
    cluster.elect(1);
    let status = cluster.status(2);
    let (term, last_index, last_term) = (status.term, status.last_index, status.last_term);
    let node = cluster.node(2);
    node.step(pre_vote(3, 2, term + 1, last_index, last_term));
    assert_eq!(pre_vote_answers(node), [(false, term)]);
    let after = node.status();
    assert_eq!(
        (after.term, after.vote, after.leader),
        (term, Some(1), Some(1))
    );
}

#[test]
fn pre_vote_is_granted_once_the_leader_was_silent_for_an_election_timeout() {
    let mut cluster = pre_vote_cluster(3);
    cluster.elect(1);
    let status = cluster.status(2);
    let (term, last_index, last_term) = (status.term, status.last_index, status.last_term);
    let election_ticks = config(2, 3, Bugs::none()).election_timeout_ticks_min;
    let node = cluster.node(2);
    // One tick short of the election timeout, the leader still counts as heard.
    for _ in 0..election_ticks - 1 {
        node.tick();
    }
    node.step(pre_vote(3, 2, term + 1, last_index, last_term));
    assert_eq!(pre_vote_answers(node), [(false, term)]);
    node.tick();
    node.step(pre_vote(3, 2, term + 1, last_index, last_term));
    assert_eq!(
        pre_vote_answers(node),
        [(true, term + 1)],
        "a grant carries the request's term"
    );
    let after = node.status();
    assert_eq!(
        (after.term, after.vote),
        (term, Some(1)),
        "granting a pre-vote changes neither term nor vote"
    );
}

#[test]
fn pre_vote_is_refused_to_a_stale_log() {
    let mut node = restored_node(
        {
            let mut config = config(1, 3, Bugs::none());
            config.pre_vote = true;
            config
        },
        2,
        None,
        entries_with_terms(&[1, 2]),
    );
    node.step(pre_vote(2, 1, 3, 5, 1));
    assert_eq!(pre_vote_answers(&mut node), [(false, 2)]);
    node.step(pre_vote(2, 1, 3, 2, 2));
    assert_eq!(pre_vote_answers(&mut node), [(true, 3)]);
    assert_eq!(node.status().term, 2);
}

#[test]
fn a_pre_vote_of_an_older_term_is_refused_with_ours() {
    let mut node = restored_node(
        {
            let mut config = config(1, 3, Bugs::none());
            config.pre_vote = true;
            config
        },
        5,
        None,
        Vec::new(),
    );
    node.step(pre_vote(2, 1, 4, 0, 0));
    assert_eq!(pre_vote_answers(&mut node), [(false, 5)]);
}

#[test]
fn a_behind_node_can_complete_a_pre_vote() {
    // Node 1 holds the longest log but the lowest term: nodes 2 and 3 went through
    // term 5 without a leader (their logs are shorter, so neither can win).
    let configs: Vec<_> = (1..=3)
        .map(|id| {
            let mut config = config(id, 3, Bugs::none());
            config.pre_vote = true;
            config
        })
        .collect();
    let disk = |term, entries| Disk {
        hard_state: raft_core::HardState {
            term,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries,
    };
    let disks = vec![
        disk(3, entries_with_terms(&[1, 1, 3])),
        disk(5, entries_with_terms(&[1, 1])),
        disk(5, entries_with_terms(&[1, 1])),
    ];
    let mut cluster = Cluster::with_disks(configs, disks);
    // Its first pre-vote asks for term 4: refused at term 5, which it adopts.
    tick_until_candidate(cluster.node(1));
    cluster.deliver_all();
    let status = cluster.status(1);
    assert_eq!((status.role, status.term), (Role::Follower, 5));
    // Its next pre-vote asks for term 6, ahead of everyone: granted, so it campaigns.
    cluster.elect(1);
    assert_eq!(cluster.status(1).term, 6);
    assert_eq!(cluster.status(2).leader, Some(1));
}

#[test]
fn a_granted_pre_vote_of_a_higher_term_does_not_make_the_pre_candidate_step_down() {
    let mut config = config(1, 3, Bugs::none());
    config.pre_vote = true;
    let mut node = restored_node(config, 2, None, Vec::new());
    tick_until_candidate(&mut node);
    drain(&mut node);
    assert_eq!(node.status().role, Role::PreCandidate);
    node.step(message(
        2,
        1,
        3,
        MessageBody::PreVoteResponse { granted: true },
    ));
    let status = node.status();
    assert_eq!(
        (status.role, status.term, status.vote),
        (Role::Candidate, 3, Some(1))
    );
}

#[test]
fn a_stale_grant_from_an_earlier_pre_vote_is_not_counted() {
    let mut config = config(1, 3, Bugs::none());
    config.pre_vote = true;
    let mut node = restored_node(config, 2, None, Vec::new());
    tick_until_candidate(&mut node);
    drain(&mut node);
    // A grant at our own term answered a pre-vote we sent before our term was 2.
    node.step(message(
        2,
        1,
        2,
        MessageBody::PreVoteResponse { granted: true },
    ));
    assert_eq!(node.status().role, Role::PreCandidate);
}

#[test]
fn a_pre_candidate_refused_by_a_majority_becomes_follower_of_its_own_term() {
    let mut config = config(1, 3, Bugs::none());
    config.pre_vote = true;
    let mut node = restored_node(config, 2, None, Vec::new());
    tick_until_candidate(&mut node);
    for from in [2, 3] {
        node.step(message(
            from,
            1,
            2,
            MessageBody::PreVoteResponse { granted: false },
        ));
    }
    let status = node.status();
    assert_eq!((status.role, status.term), (Role::Follower, 2));
}
