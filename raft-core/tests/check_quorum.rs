//! CheckQuorum (etcd's `CheckQuorum`): a leader that cannot reach a majority
//! steps down, and a node that hears from a leader ignores vote requests that
//! would disrupt it.

mod common;

use common::*;
use raft_core::{Bugs, Message, MessageBody, RawNode, Role};

fn check_quorum_cluster(n: u64) -> Cluster {
    Cluster::with(n, |config| config.check_quorum = true)
}

fn election_ticks() -> u32 {
    config(1, 3, Bugs::none()).election_timeout_ticks_min
}

fn vote_request(from: u64, to: u64, term: u64, last_log_index: u64, last_log_term: u64) -> Message {
    message(
        from,
        to,
        term,
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer: false,
        },
    )
}

/// The vote answers in a ready, with the term each carries.
fn vote_answers(node: &mut RawNode) -> Vec<(bool, u64)> {
    all_messages(&drain(node))
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::RequestVoteResponse { granted } => Some((granted, m.term)),
            MessageBody::PreVoteResponse { granted } => Some((granted, m.term)),
            _ => None,
        })
        .collect()
}

#[test]
fn leader_without_quorum_steps_down_after_an_election_timeout() {
    let mut cluster = check_quorum_cluster(3);
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.isolate(2);
    cluster.isolate(3);
    // The followers answered the election's AppendEntries: that counts for the
    // first period, and only for it.
    cluster.tick_node(1, election_ticks());
    assert_eq!(cluster.status(1).role, Role::Leader);
    cluster.tick_node(1, election_ticks() - 1);
    assert_eq!(cluster.status(1).role, Role::Leader);
    cluster.tick_node(1, 1);
    let status = cluster.status(1);
    assert_eq!(
        (status.role, status.term, status.leader),
        (Role::Follower, term, None),
        "steps down in its own term"
    );
}

#[test]
fn leader_heard_by_a_majority_keeps_leading() {
    let mut cluster = check_quorum_cluster(3);
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.isolate(3);
    cluster.tick_all_times(5 * election_ticks());
    let status = cluster.status(1);
    assert_eq!((status.role, status.term), (Role::Leader, term));
}

#[test]
fn without_check_quorum_a_leader_cut_off_keeps_leading() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(2);
    cluster.isolate(3);
    cluster.tick_node(1, 10 * election_ticks());
    assert_eq!(cluster.status(1).role, Role::Leader);
}

#[test]
fn vote_request_ignored_within_leader_lease() {
    let mut cluster = check_quorum_cluster(3);
    cluster.elect(1);
    let status = cluster.status(2);
    let (term, last_index, last_term) = (status.term, status.last_index, status.last_term);
    let node = cluster.node(2);
    node.step(vote_request(3, 2, term + 1, last_index, last_term));
    assert_eq!(vote_answers(node), [], "neither granted nor refused");
    assert_eq!(node.status().term, term, "its term is not raised");
    // An election timeout after it last heard from the leader, the vote counts again.
    for _ in 0..election_ticks() {
        node.tick();
    }
    drain(node);
    node.step(vote_request(3, 2, term + 1, last_index, last_term));
    assert_eq!(vote_answers(node), [(true, term + 1)]);
}

#[test]
fn a_leader_under_check_quorum_ignores_a_vote_request_of_a_higher_term() {
    let mut cluster = check_quorum_cluster(3);
    cluster.elect(1);
    let status = cluster.status(1);
    let node = cluster.node(1);
    node.step(vote_request(
        3,
        1,
        status.term + 1,
        status.last_index,
        status.last_term,
    ));
    assert_eq!(vote_answers(node), []);
    assert_eq!(node.status().role, Role::Leader);
    assert_eq!(node.status().term, status.term);
}

#[test]
fn pre_vote_ignored_within_leader_lease() {
    let mut cluster = Cluster::with(3, |config| {
        config.check_quorum = true;
        config.pre_vote = true;
    });
    cluster.elect(1);
    let status = cluster.status(2);
    let node = cluster.node(2);
    node.step(message(
        3,
        2,
        status.term + 1,
        MessageBody::PreVote {
            last_log_index: status.last_index,
            last_log_term: status.last_term,
        },
    ));
    assert_eq!(vote_answers(node), []);
}

#[test]
fn a_leader_that_stepped_down_grants_votes_again() {
    let mut cluster = check_quorum_cluster(3);
    cluster.elect(1);
    cluster.isolate(2);
    cluster.isolate(3);
    cluster.tick_node(1, 2 * election_ticks());
    let status = cluster.status(1);
    assert_eq!(status.role, Role::Follower);
    let node = cluster.node(1);
    node.step(vote_request(
        2,
        1,
        status.term + 1,
        status.last_index,
        status.last_term,
    ));
    assert_eq!(vote_answers(node), [(true, status.term + 1)]);
}

#[test]
fn a_partitioned_minority_cannot_elect_and_the_majority_side_keeps_its_leader() {
    let mut cluster = Cluster::with(5, |config| {
        config.check_quorum = true;
        config.pre_vote = true;
    });
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.isolate(5);
    cluster.tick_all_times(10 * election_ticks());
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(cluster.status(5).term, term, "PreVote kept its term");
    cluster.reconnect(5);
    cluster.tick_all_times(2 * election_ticks());
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(cluster.status(1).term, term);
    assert_eq!(cluster.status(5).leader, Some(1));
}
