//! Learners (etcd's learners, Ongaro's thesis §4.2.1 "non-voting members"):
//! they receive and apply the log like followers, never campaign, and count
//! toward no quorum: not the commit, not an election, not CheckQuorum, not a
//! read round.

mod common;

use common::*;
use raft_core::{
    Bugs, Config, ConfigError, MessageBody, ReadIndexError, Role, TransferLeaderError,
};

/// Nodes 1..=n: voters 1, 2, 3 and learners 4..=n.
fn cluster_with_learners(n: u64, adjust: impl Fn(&mut Config)) -> Cluster {
    Cluster::with(n, |config| {
        config.voters = vec![1, 2, 3];
        config.learners = (4..=n).collect();
        adjust(config);
    })
}

fn election_ticks() -> u32 {
    config(1, 3, Bugs::none()).election_timeout_ticks_min
}

#[test]
fn a_learner_never_campaigns() {
    let mut cluster = cluster_with_learners(4, |_| {});
    // Many election timeouts with no leader: a voter would have campaigned.
    cluster.tick_node(4, 20 * election_ticks());
    let status = cluster.status(4);
    assert_eq!(status.role, Role::Follower);
    assert_eq!(status.term, 0, "it never raised its term");
    assert!(
        cluster.take_in_flight().is_empty(),
        "it asked no one for a vote"
    );
}

#[test]
fn a_learner_never_campaigns_with_pre_vote() {
    let mut cluster = cluster_with_learners(4, |config| config.pre_vote = true);
    cluster.tick_node(4, 20 * election_ticks());
    assert_eq!(cluster.status(4).role, Role::Follower);
    assert!(cluster.take_in_flight().is_empty());
}

#[test]
fn a_learner_ignores_timeout_now() {
    let mut cluster = cluster_with_learners(4, |_| {});
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.deliver(message(1, 4, term, MessageBody::TimeoutNow));
    assert_eq!(cluster.status(4).role, Role::Follower);
    assert_eq!(cluster.status(4).term, term);
}

#[test]
fn a_learner_receives_and_applies_the_log() {
    let mut cluster = cluster_with_learners(5, |_| {});
    cluster.elect(1);
    cluster.propose(1, "x");
    cluster.propose(1, "y");
    // Heartbeats carry the final commit index to everyone.
    cluster.tick_all_times(4);
    let leader_commit = cluster.status(1).commit;
    for learner in [4, 5] {
        assert_eq!(cluster.status(learner).commit, leader_commit);
        assert_eq!(cluster.applied_data(learner), ["x", "y"]);
        assert_eq!(cluster.status(learner).leader, Some(1));
    }
}

#[test]
fn a_learner_is_not_counted_in_the_commit_quorum() {
    let mut cluster = cluster_with_learners(5, |_| {});
    cluster.elect(1);
    let committed_before = cluster.status(1).commit;
    cluster.isolate(2);
    cluster.isolate(3);
    let index = cluster.propose(1, "x");
    // The leader and both learners hold it: three of five members, one of three voters.
    assert_eq!(cluster.status(4).last_index, index);
    assert_eq!(cluster.status(5).last_index, index);
    assert_eq!(cluster.status(1).commit, committed_before);
    cluster.reconnect(2);
    cluster.tick_node(1, 2 * election_ticks());
    assert_eq!(cluster.status(1).commit, index, "a second voter commits it");
}

#[test]
fn a_learners_vote_is_not_counted() {
    let mut cluster = cluster_with_learners(5, |_| {});
    cluster.tick(1);
    tick_until_candidate(cluster.node(1));
    let term = cluster.status(1).term;
    let asked: Vec<u64> = cluster.take_in_flight().iter().map(|m| m.to).collect();
    assert_eq!(asked, [2, 3], "a candidate asks its voters only");
    for learner in [4, 5] {
        let grant = MessageBody::RequestVoteResponse { granted: true };
        cluster.deliver(message(learner, 1, term, grant));
    }
    assert_eq!(cluster.status(1).role, Role::Candidate);
}

#[test]
fn a_learner_answers_a_vote_request_like_a_follower() {
    // Deliberate, as in etcd: a learner promoted in a configuration it has not
    // seen yet may be the vote a candidate needs. Its vote counts only where
    // the candidate's configuration makes it a voter.
    let mut cluster = cluster_with_learners(4, |_| {});
    let request = MessageBody::RequestVote {
        last_log_index: 0,
        last_log_term: 0,
        leadership_transfer: false,
    };
    cluster.deliver(message(2, 4, 1, request));
    let answers: Vec<_> = cluster.take_in_flight();
    assert_eq!(answers.len(), 1);
    assert!(matches!(
        answers[0].body,
        MessageBody::RequestVoteResponse { granted: true }
    ));
    assert_eq!(cluster.status(4).role, Role::Follower);
}

#[test]
fn a_learner_does_not_keep_a_leader_in_office_under_check_quorum() {
    let mut cluster = cluster_with_learners(5, |config| config.check_quorum = true);
    cluster.elect(1);
    cluster.isolate(2);
    cluster.isolate(3);
    // The learners answer every heartbeat, yet the voters are silent.
    cluster.tick_node(1, 2 * election_ticks());
    assert_eq!(cluster.status(1).role, Role::Follower);
}

#[test]
fn a_learner_does_not_confirm_a_read_round() {
    let mut cluster = cluster_with_learners(5, |_| {});
    cluster.elect(1);
    cluster.isolate(2);
    cluster.isolate(3);
    cluster
        .node(1)
        .read_index(7)
        .expect("a leader takes up reads");
    cluster.tick_node(1, 4);
    assert!(
        cluster.take_read_states(1).is_empty(),
        "only the learners acknowledged the round"
    );
    cluster.reconnect(2);
    cluster.tick_node(1, 4);
    let released: Vec<u64> = cluster
        .take_read_states(1)
        .iter()
        .map(|r| r.context)
        .collect();
    assert_eq!(released, [7]);
}

#[test]
fn a_learner_forwards_reads_to_the_leader() {
    let mut cluster = cluster_with_learners(4, |_| {});
    assert_eq!(cluster.node(4).read_index(1), Err(ReadIndexError::NoLeader));
    cluster.elect(1);
    cluster.tick_all_times(2);
    cluster
        .node(4)
        .read_index(9)
        .expect("the learner knows the leader");
    cluster.tick_all_times(4);
    let released: Vec<u64> = cluster
        .take_read_states(4)
        .iter()
        .map(|r| r.context)
        .collect();
    assert_eq!(released, [9]);
}

#[test]
fn leadership_is_never_transferred_to_a_learner() {
    let mut cluster = cluster_with_learners(4, |_| {});
    cluster.elect(1);
    assert_eq!(
        cluster.node(1).transfer_leader(4),
        Err(TransferLeaderError::NotAVoter(4))
    );
}

#[test]
fn a_configuration_with_a_learner_that_votes_is_refused() {
    let mut config = config(1, 3, Bugs::none());
    config.learners = vec![3];
    assert_eq!(config.validate(), Err(ConfigError::LearnerIsAVoter(3)));
    config.learners = vec![5, 4];
    assert_eq!(config.validate(), Err(ConfigError::LearnersNotSortedUnique));
    config.learners = vec![4];
    config.id = 4;
    assert_eq!(config.validate(), Ok(()), "a learner is a member");
    config.id = 6;
    assert_eq!(config.validate(), Err(ConfigError::NotAVoter(6)));
}
