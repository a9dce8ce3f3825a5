//! Configuration changes: learners added and promoted, single-server changes,
//! joint consensus with its automatic leave, removing the leader, and the
//! rules that keep at most one change pending. Each planted bug of
//! each configuration-change planted bug is shown to change what a test observes.

mod common;

use common::*;
use raft_core::{
    Bug, Bugs, ConfChange, ConfChangeEntry, ConfChangeKind, ConfState, Config, EntryKind,
    InvalidConfChange, Message, MessageBody, NodeId, ProposeConfChangeError, Role,
};

use ConfChangeKind::{AddLearner, AddVoter, RemoveNode};

/// Voters 1..=voters from the start; nodes voters+1..=n join with an empty
/// configuration (`Config::joining`).
fn cluster_with_joining(voters: u64, n: u64, bugs: Bugs) -> Cluster {
    Cluster::with_configs(
        (1..=n)
            .map(|id| {
                let mut config = match id <= voters {
                    true => Config::new(id, (1..=voters).collect()),
                    false => Config::joining(id),
                };
                config.bugs = bugs;
                config
            })
            .collect(),
    )
}

fn change(changes: &[(ConfChangeKind, NodeId)]) -> ConfChange {
    ConfChange {
        changes: changes
            .iter()
            .map(|&(kind, node)| raft_core::ConfChangeSingle { kind, node })
            .collect(),
    }
}

/// Proposes `cc` at the leader `id` and delivers everything.
fn propose_conf(cluster: &mut Cluster, id: NodeId, cc: ConfChange) {
    cluster
        .node(id)
        .propose_conf_change(cc)
        .expect("the leader accepts the change");
    cluster.deliver_all();
}

fn conf_state(voters: &[NodeId], outgoing: &[NodeId], learners: &[NodeId]) -> ConfState {
    ConfState {
        voters: voters.to_vec(),
        outgoing_voters: outgoing.to_vec(),
        learners: learners.to_vec(),
    }
}

/// The configurations the conf entries of node `id`'s log carry, in order.
fn conf_entries(cluster: &mut Cluster, id: NodeId) -> Vec<ConfState> {
    cluster
        .node(id)
        .log_entries_from(1)
        .iter()
        .filter(|e| e.kind == EntryKind::ConfChange)
        .map(|e| {
            ConfChangeEntry::decode(&e.data)
                .expect("a conf entry")
                .conf_state
        })
        .collect()
}

fn election_ticks() -> u32 {
    Config::new(1, vec![1]).election_timeout_ticks_min
}

/// Delivers the messages in flight one by one until `done` holds (or none is left).
fn deliver_until(cluster: &mut Cluster, done: impl Fn(&mut Cluster) -> bool) {
    for id in cluster.ids() {
        cluster.process(id);
    }
    while !done(cluster) {
        let Some(message) = cluster.in_flight.pop_front() else {
            panic!("the network went quiet first");
        };
        cluster.deliver(message);
    }
}

#[test]
fn a_learner_is_added_catches_up_and_is_promoted_to_a_voter() {
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "x");
    propose_conf(&mut cluster, 1, ConfChange::single(AddLearner, 4));
    cluster.tick_all_times(4);
    for id in 1..=4 {
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 2, 3], &[], &[4])
        );
    }
    assert_eq!(
        cluster.applied_data(4),
        ["x"],
        "the learner applied the log"
    );
    propose_conf(&mut cluster, 1, ConfChange::single(AddVoter, 4));
    cluster.tick_all_times(4);
    for id in 1..=4 {
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 2, 3, 4], &[], &[])
        );
    }
}

#[test]
fn after_a_fourth_voter_is_added_commit_needs_three() {
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.elect(1);
    propose_conf(&mut cluster, 1, ConfChange::single(AddVoter, 4));
    cluster.tick_all_times(4);
    cluster.isolate(3);
    cluster.isolate(4);
    let index = cluster.propose(1, "x");
    assert_eq!(cluster.status(2).last_index, index);
    assert!(
        cluster.status(1).commit < index,
        "two of four voters commit nothing"
    );
    cluster.reconnect(3);
    cluster.tick_node(1, 2 * election_ticks());
    assert_eq!(cluster.status(1).commit, index, "three of four do");
}

#[test]
fn after_a_voter_is_removed_commit_needs_a_majority_of_the_rest() {
    let mut cluster = Cluster::new(4, Bugs::none());
    cluster.elect(1);
    cluster.isolate(4);
    propose_conf(&mut cluster, 1, ConfChange::single(RemoveNode, 4));
    assert_eq!(
        cluster.node(1).conf_state(),
        conf_state(&[1, 2, 3], &[], &[])
    );
    cluster.isolate(3);
    let index = cluster.propose(1, "x");
    assert_eq!(
        cluster.status(1).commit,
        index,
        "two of three voters commit"
    );
}

#[test]
fn a_change_of_two_voters_goes_through_joint_and_the_leader_leaves_it_by_itself() {
    let mut cluster = cluster_with_joining(3, 5, Bugs::none());
    cluster.elect(1);
    propose_conf(&mut cluster, 1, change(&[(AddVoter, 4), (AddVoter, 5)]));
    cluster.tick_all_times(4);
    assert_eq!(
        conf_entries(&mut cluster, 1),
        [
            conf_state(&[1, 2, 3, 4, 5], &[1, 2, 3], &[]),
            conf_state(&[1, 2, 3, 4, 5], &[], &[]),
        ],
        "C_old,new, then C_new"
    );
    for id in 1..=5 {
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 2, 3, 4, 5], &[], &[])
        );
    }
    assert!(!cluster.node(1).conf_change_pending());
}

/// Leader 1 of {1, 2, 3} proposed the joint change to {1, 2, 3, 4, 5} and
/// crashed once its entry reached node 2 (and, if `committed`, once it
/// committed and applied it, before its leave went out).
fn leader_crashes_during_a_joint_change(committed: bool) -> Cluster {
    let mut cluster = cluster_with_joining(3, 5, Bugs::none());
    cluster.elect(1);
    let index = cluster
        .node(1)
        .propose_conf_change(change(&[(AddVoter, 4), (AddVoter, 5)]))
        .unwrap();
    if committed {
        deliver_until(&mut cluster, |c| c.node(1).conf_state().is_joint());
    } else {
        deliver_until(&mut cluster, |c| c.status(2).last_index == index);
        assert!(cluster.status(1).commit < index);
    }
    cluster.crash(1);
    cluster.in_flight.retain(|m| m.from != 1);
    cluster
}

#[test]
fn a_new_leader_commits_and_leaves_a_joint_change_its_predecessor_did_not_commit() {
    let mut cluster = leader_crashes_during_a_joint_change(false);
    cluster.elect(2);
    cluster.tick_all_times(4);
    assert_eq!(
        conf_entries(&mut cluster, 2).len(),
        2,
        "joint, then its leave"
    );
    for id in 2..=5 {
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 2, 3, 4, 5], &[], &[])
        );
    }
}

#[test]
fn a_new_leader_leaves_a_joint_configuration_its_predecessor_committed() {
    let mut cluster = leader_crashes_during_a_joint_change(true);
    assert!(
        !cluster.node(2).conf_state().is_joint(),
        "node 2 never heard that it committed"
    );
    cluster.elect(2);
    cluster.tick_all_times(4);
    for id in 2..=5 {
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 2, 3, 4, 5], &[], &[])
        );
    }
}

/// {1, 2, 3} moving to {1, 4, 5} (4 and 5 joining): leader 1 applied C_old,new,
/// then 2 and 3 were cut off, so its leave cannot commit.
fn stuck_in_joint(bugs: Bugs) -> Cluster {
    let mut cluster = cluster_with_joining(3, 5, bugs);
    cluster.elect(1);
    let cc = change(&[
        (RemoveNode, 2),
        (RemoveNode, 3),
        (AddVoter, 4),
        (AddVoter, 5),
    ]);
    cluster.node(1).propose_conf_change(cc).unwrap();
    deliver_until(&mut cluster, |c| c.node(1).conf_state().is_joint());
    cluster.isolate(2);
    cluster.isolate(3);
    cluster.tick_all_times(4);
    cluster
}

#[test]
fn while_joint_a_majority_of_the_incoming_voters_alone_commits_nothing() {
    let mut cluster = stuck_in_joint(Bugs::none());
    assert_eq!(
        cluster.node(1).conf_state(),
        conf_state(&[1, 4, 5], &[1, 2, 3], &[])
    );
    let index = cluster.propose(1, "x");
    cluster.tick_all_times(4);
    assert_eq!(cluster.status(4).last_index, index, "1, 4 and 5 hold it");
    assert!(
        cluster.status(1).commit < index,
        "one of C_old does not commit"
    );
    // With node 2 back (elections may follow: it campaigned while cut off),
    // two of C_old hold it: it commits, and the joint configuration is left.
    cluster.reconnect(2);
    cluster.tick_all_times(10 * election_ticks());
    for id in [1, 4, 5] {
        assert!(cluster.status(id).commit >= index, "two of C_old do");
        assert_eq!(
            cluster.node(id).conf_state(),
            conf_state(&[1, 4, 5], &[], &[])
        );
    }
}

#[test]
fn while_joint_a_majority_of_the_incoming_voters_alone_elects_no_one() {
    let mut cluster = stuck_in_joint(Bugs::none());
    assert!(cluster.node(4).conf_state().is_joint());
    cluster.crash(1);
    cluster.tick_all_times(10 * election_ticks());
    for id in [4, 5] {
        assert_ne!(cluster.status(id).role, Role::Leader);
    }
}

#[test]
fn planted_bug_joint_single_majority_commits_and_elects_with_the_incoming_majority_alone() {
    let mut cluster = stuck_in_joint(Bugs::none().with(Bug::JointSingleMajority));
    // The leave committed without C_old's majority.
    assert_eq!(
        cluster.node(1).conf_state(),
        conf_state(&[1, 4, 5], &[], &[])
    );
    let index = cluster.propose(1, "x");
    assert_eq!(cluster.status(1).commit, index);
}

#[test]
fn a_removed_leader_steps_down_and_a_remaining_voter_leads() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let term = cluster.status(1).term;
    propose_conf(&mut cluster, 1, ConfChange::single(RemoveNode, 1));
    assert_eq!(cluster.status(1).role, Role::Follower);
    // It handed over with TimeoutNow: node 2 leads a later term at once.
    assert_eq!(cluster.status(2).role, Role::Leader);
    assert!(cluster.status(2).term > term);
    assert_eq!(cluster.node(2).conf_state(), conf_state(&[2, 3], &[], &[]));
    let index = cluster.propose(2, "x");
    assert_eq!(cluster.status(2).commit, index);
    // Node 1 never campaigns again.
    let removed_term = cluster.status(1).term;
    cluster.tick_all_times(10 * election_ticks());
    assert_eq!(cluster.status(1).role, Role::Follower);
    assert_eq!(cluster.status(1).term, removed_term);
    assert_eq!(cluster.status(2).role, Role::Leader);
}

#[test]
fn a_leader_sends_nothing_to_a_node_it_removed() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    propose_conf(&mut cluster, 1, ConfChange::single(RemoveNode, 3));
    for _ in 0..4 * election_ticks() {
        cluster.tick(1);
        let sent: Vec<Message> = cluster.take_in_flight();
        assert!(sent.iter().all(|m| m.to != 3), "nothing to node 3");
        for message in sent {
            cluster.deliver(message);
        }
    }
}

#[test]
fn a_removed_nodes_votes_of_higher_terms_are_ignored() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(3);
    propose_conf(&mut cluster, 1, ConfChange::single(RemoveNode, 3));
    let term = cluster.status(1).term;
    // Node 3 never learned of its removal: it campaigns, again and again.
    cluster.tick_node(3, 10 * election_ticks());
    assert!(cluster.status(3).term > term + 1);
    cluster.reconnect(3);
    for _ in 0..2 * election_ticks() {
        cluster.tick(3);
        let sent = cluster.take_in_flight();
        for message in sent {
            let from_removed = message.from == 3;
            let to = message.to;
            cluster.deliver(message);
            if from_removed {
                assert!(cluster
                    .take_in_flight()
                    .iter()
                    .all(|m| m.to != 3 || m.from != to));
            }
        }
    }
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(cluster.status(1).term, term, "no one adopted its term");
    assert_eq!(cluster.status(2).term, term);
}

#[test]
fn a_change_is_refused_while_another_is_not_applied() {
    let mut cluster = cluster_with_joining(3, 5, Bugs::none());
    cluster.elect(1);
    let pending = cluster
        .node(1)
        .propose_conf_change(ConfChange::single(AddLearner, 4))
        .unwrap();
    assert!(cluster.node(1).conf_change_pending());
    assert_eq!(
        cluster
            .node(1)
            .propose_conf_change(ConfChange::single(AddLearner, 5)),
        Err(ProposeConfChangeError::ChangePending {
            pending_index: pending
        })
    );
    cluster.deliver_all();
    assert!(!cluster.node(1).conf_change_pending());
    propose_conf(&mut cluster, 1, ConfChange::single(AddLearner, 5));
}

#[test]
fn a_change_is_refused_while_joint() {
    let mut cluster = stuck_in_joint(Bugs::none().with(Bug::TwoChangesPending));
    assert!(cluster.node(1).conf_change_pending());
    assert!(matches!(
        cluster
            .node(1)
            .propose_conf_change(ConfChange::single(RemoveNode, 5)),
        Err(ProposeConfChangeError::ChangePending { .. })
    ));
}

#[test]
fn planted_bug_two_changes_pending_accepts_a_second_change() {
    let mut cluster = cluster_with_joining(3, 5, Bugs::none().with(Bug::TwoChangesPending));
    cluster.elect(1);
    cluster
        .node(1)
        .propose_conf_change(ConfChange::single(AddLearner, 4))
        .unwrap();
    let second = cluster
        .node(1)
        .propose_conf_change(ConfChange::single(AddLearner, 5));
    assert!(second.is_ok(), "accepted: {second:?}");
    cluster.deliver_all();
    // Both were built on {1, 2, 3}: the second undoes the first.
    assert_eq!(
        cluster.node(1).conf_state(),
        conf_state(&[1, 2, 3], &[], &[5])
    );
}

#[test]
fn invalid_changes_are_refused_with_their_reason() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let refused = |cluster: &mut Cluster, cc: ConfChange| cluster.node(1).propose_conf_change(cc);
    assert_eq!(
        refused(&mut cluster, ConfChange::single(RemoveNode, 7)),
        Err(ProposeConfChangeError::Invalid(
            InvalidConfChange::NotAMember(7)
        ))
    );
    assert_eq!(
        refused(&mut cluster, ConfChange::leave_joint()),
        Err(ProposeConfChangeError::Invalid(
            InvalidConfChange::NothingToLeave
        ))
    );
    let all = change(&[(RemoveNode, 1), (RemoveNode, 2), (RemoveNode, 3)]);
    assert_eq!(
        refused(&mut cluster, all),
        Err(ProposeConfChangeError::Invalid(
            InvalidConfChange::NoVoterLeft
        ))
    );
    assert_eq!(
        cluster
            .node(2)
            .propose_conf_change(ConfChange::single(AddLearner, 4)),
        Err(ProposeConfChangeError::NotLeader {
            leader_hint: Some(1)
        })
    );
}

/// Leader 1 committed an entry everyone applied, then crashed; node 2 won
/// the next election and its no-op has not reached anyone yet.
fn new_leader_without_a_commit_of_its_term(bugs: Bugs) -> Cluster {
    let mut cluster = cluster_with_joining(3, 4, bugs);
    cluster.elect(1);
    cluster.propose(1, "x");
    cluster.tick_all_times(4);
    cluster.crash(1);
    cluster.in_flight.clear();
    tick_until_candidate(cluster.node(2));
    deliver_until(&mut cluster, |c| c.status(2).role == Role::Leader);
    cluster.in_flight.clear();
    cluster.process(2);
    let status = cluster.status(2);
    assert!(status.commit < status.last_index && status.applied == status.commit);
    cluster
}

#[test]
fn a_new_leader_refuses_changes_until_an_entry_of_its_term_commits() {
    let mut cluster = new_leader_without_a_commit_of_its_term(Bugs::none());
    assert_eq!(
        cluster
            .node(2)
            .propose_conf_change(ConfChange::single(AddLearner, 4)),
        Err(ProposeConfChangeError::OwnTermNotCommitted)
    );
    cluster.tick_all_times(4);
    propose_conf(&mut cluster, 2, ConfChange::single(AddLearner, 4));
}

#[test]
fn planted_bug_conf_change_before_term_commit_accepts_a_change_at_once() {
    let bugs = Bugs::none().with(Bug::ConfChangeBeforeTermCommit);
    let mut cluster = new_leader_without_a_commit_of_its_term(bugs);
    assert!(cluster
        .node(2)
        .propose_conf_change(ConfChange::single(AddLearner, 4))
        .is_ok());
}

#[test]
fn a_joining_node_waits_catches_up_once_added_and_never_campaigns() {
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.tick_node(4, 10 * election_ticks());
    assert_eq!(
        cluster.status(4).term,
        0,
        "with no configuration it never campaigns"
    );
    assert_eq!(cluster.node(4).conf_state(), ConfState::default());
    cluster.elect(1);
    cluster.propose(1, "x");
    propose_conf(&mut cluster, 1, ConfChange::single(AddLearner, 4));
    cluster.tick_all_times(4);
    assert_eq!(cluster.applied_data(4), ["x"]);
    assert_eq!(
        cluster.node(4).conf_state(),
        conf_state(&[1, 2, 3], &[], &[4])
    );
    let term = cluster.status(4).term;
    cluster.isolate(4);
    cluster.tick_node(4, 10 * election_ticks());
    assert_eq!(cluster.status(4).term, term, "a learner never campaigns");
}

#[test]
fn a_restarted_node_reapplies_its_configuration_before_it_campaigns() {
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.elect(1);
    propose_conf(&mut cluster, 1, ConfChange::single(AddVoter, 4));
    cluster.tick_all_times(4);
    cluster.crash(2);
    cluster.restart(2);
    // Its configuration is Config::voters until its first ready is applied,
    // and it does not campaign with it.
    assert_eq!(
        cluster.node(2).conf_state(),
        conf_state(&[1, 2, 3], &[], &[])
    );
    for _ in 0..10 * election_ticks() {
        cluster.tick(2);
    }
    assert_eq!(cluster.status(2).role, Role::Follower);
    cluster.process(2);
    assert_eq!(
        cluster.node(2).conf_state(),
        conf_state(&[1, 2, 3, 4], &[], &[])
    );
}

#[test]
fn a_restarted_node_whose_hard_state_lagged_its_log_commits_the_superseded_conf_entry() {
    // 1 2 3 -> 1 2 4 through the joint configuration: two conf entries, the
    // second appended only once the first committed.
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.elect(1);
    propose_conf(&mut cluster, 1, change(&[(RemoveNode, 3), (AddVoter, 4)]));
    cluster.tick_all_times(4);
    assert_eq!(
        conf_entries(&mut cluster, 2),
        [
            conf_state(&[1, 2, 4], &[1, 2, 3], &[]),
            conf_state(&[1, 2, 4], &[], &[])
        ]
    );
    let joint_index = cluster
        .node(2)
        .log_entries_from(1)
        .iter()
        .find(|e| e.kind == EntryKind::ConfChange)
        .expect("the joint entry")
        .index;
    // A torn write kept the entries and lost the hard state that committed them.
    cluster.crash(2);
    cluster.disks[1].hard_state.commit = joint_index - 1;
    cluster.restart(2);
    assert!(cluster.status(2).commit >= joint_index);
    cluster.process(2);
    // It acts on the joint configuration at least, never on 1 2 3 alone: with
    // 1 2 3 it could win an election on node 3's vote and commit by it.
    assert_ne!(
        cluster.node(2).conf_state(),
        conf_state(&[1, 2, 3], &[], &[])
    );
}

#[test]
fn planted_bug_learner_in_quorum_commits_with_learners_acknowledgements() {
    let learners = |bugs: Bugs| {
        Cluster::with(5, |config| {
            config.voters = vec![1, 2, 3];
            config.learners = vec![4, 5];
            config.bugs = bugs;
        })
    };
    for (bugs, commits) in [
        (Bugs::none(), false),
        (Bugs::none().with(Bug::LearnerInQuorum), true),
    ] {
        let mut cluster = learners(bugs);
        cluster.elect(1);
        cluster.isolate(2);
        cluster.isolate(3);
        let index = cluster.propose(1, "x");
        assert_eq!(cluster.status(1).commit == index, commits, "{bugs:?}");
    }
}

#[test]
fn planted_bug_learner_votes_lets_a_learner_campaign_and_win() {
    for (bugs, leads) in [
        (Bugs::none(), false),
        (Bugs::none().with(Bug::LearnerVotes), true),
    ] {
        let mut cluster = Cluster::with(5, |config| {
            config.voters = vec![1, 2, 3];
            config.learners = vec![4, 5];
            config.bugs = bugs;
        });
        cluster.tick_node(4, 3 * election_ticks());
        assert_eq!(cluster.status(4).role == Role::Leader, leads, "{bugs:?}");
    }
}

#[test]
fn a_vote_request_from_outside_the_configuration_gets_no_answer() {
    // Node 7 (removed, say) asks with a log no longer than node 1's.
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "x");
    let status = cluster.status(1);
    for (last_log_term, last_log_index) in [
        (status.last_term, status.last_index),
        (status.last_term, status.last_index - 1),
        (status.last_term - 1, status.last_index + 5),
    ] {
        let request = MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            leadership_transfer: false,
        };
        cluster
            .node(2)
            .step(message(7, 2, status.term + 5, request));
        assert_eq!(cluster.status(2).term, status.term);
        assert!(cluster.take_in_flight().is_empty());
    }
}

#[test]
fn a_vote_request_from_outside_the_configuration_with_a_longer_log_is_answered() {
    // Node 3 missed the change adding node 4; 2 and 4 applied it. With node
    // 1 gone, only 4 (whose log is ahead of 3's) can win: 2, 3 and 4 are a
    // majority of 1 2 3 4, but only if 3 answers a node it does not know.
    let mut cluster = cluster_with_joining(3, 4, Bugs::none());
    cluster.elect(1);
    cluster.isolate(3);
    propose_conf(&mut cluster, 1, ConfChange::single(AddVoter, 4));
    cluster.tick_all_times(4);
    cluster.propose(1, "y");
    assert!(!cluster.node(3).conf_state().voters.contains(&4));
    assert!(cluster.node(2).conf_state().voters.contains(&4));
    cluster.crash(1);
    cluster.reconnect(3);
    let ticks = 4 * election_ticks();
    cluster.tick_node(4, ticks);
    cluster.deliver_all();
    assert_eq!(cluster.status(4).role, Role::Leader);
}
