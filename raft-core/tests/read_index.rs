//! ReadIndex (§6.4 of Ongaro's thesis, etcd's `ReadOnlySafe`): a read is
//! served at the leader's commit index once a majority acknowledged a
//! heartbeat round sent after the read arrived.

mod common;

use common::*;
use raft_core::{Bug, Bugs, Message, MessageBody, ReadIndexError, ReadState, ReadVia, Role};

/// Delivers the heartbeats in `sent` that go to `to`, then hands their answers
/// back to the leader.
fn ack_round_from(cluster: &mut Cluster, sent: &[Message], to: u64) {
    for message in sent.iter().filter(|m| m.to == to) {
        cluster.deliver(message.clone());
    }
    for answer in cluster.take_in_flight() {
        cluster.deliver(answer);
    }
}

#[test]
fn read_index_waits_for_a_quorum_heartbeat_round() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let commit = cluster.propose(1, "x");
    cluster
        .node(1)
        .read_index(42)
        .expect("a leader takes up reads");
    let sent = cluster.take_in_flight();
    assert_eq!(
        heartbeat_rounds(&sent),
        [1, 1],
        "one round, to each follower"
    );
    assert_eq!(
        cluster.take_read_states(1),
        [],
        "not before a majority answered"
    );
    ack_round_from(&mut cluster, &sent, 2);
    assert_eq!(
        cluster.take_read_states(1),
        [ReadState {
            index: commit,
            context: 42,
            via: ReadVia::Quorum
        }]
    );
}

#[test]
fn reads_that_arrive_during_a_round_share_the_next_round() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.node(1).read_index(1).unwrap();
    let first = cluster.take_in_flight();
    cluster.node(1).read_index(2).unwrap();
    cluster.node(1).read_index(3).unwrap();
    assert_eq!(
        heartbeat_rounds(&cluster.take_in_flight()),
        [],
        "a round is in flight: no new one yet"
    );
    ack_round_from(&mut cluster, &first, 2);
    let contexts: Vec<u64> = cluster
        .take_read_states(1)
        .iter()
        .map(|r| r.context)
        .collect();
    assert_eq!(contexts, [1], "round 1 confirms only the read before it");
    let second = cluster.take_in_flight();
    assert_eq!(heartbeat_rounds(&second), [2, 2], "round 2 started at once");
    ack_round_from(&mut cluster, &second, 3);
    let contexts: Vec<u64> = cluster
        .take_read_states(1)
        .iter()
        .map(|r| r.context)
        .collect();
    assert_eq!(contexts, [2, 3], "one round confirmed both");
}

#[test]
fn a_round_sent_before_the_read_arrived_does_not_confirm_it() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.node(1).read_index(1).unwrap();
    let first = cluster.take_in_flight();
    // The followers answer round 1 before read 2 arrives at the leader...
    for message in first {
        cluster.deliver(message);
    }
    let answers = cluster.take_in_flight();
    cluster.node(1).read_index(2).unwrap();
    for answer in answers {
        cluster.deliver(answer);
    }
    // ...so round 1 confirms read 1 only.
    let contexts: Vec<u64> = cluster
        .take_read_states(1)
        .iter()
        .map(|r| r.context)
        .collect();
    assert_eq!(contexts, [1]);
    cluster.deliver_all();
    assert_eq!(cluster.take_read_states(1)[0].context, 2);
}

#[test]
fn no_read_before_an_entry_of_the_leaders_term_commits() {
    let mut cluster = Cluster::new(3, Bugs::none());
    tick_until_candidate(cluster.node(1));
    // Votes travel; the no-op AppendEntries the new leader sends do not yet.
    for request in cluster.take_in_flight() {
        cluster.deliver(request);
    }
    for answer in cluster.take_in_flight() {
        cluster.deliver(answer);
    }
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(cluster.status(1).commit, 0);
    let appends = cluster.take_in_flight();
    cluster.node(1).read_index(9).expect("queued, not refused");
    assert_eq!(heartbeat_rounds(&cluster.take_in_flight()), []);
    assert_eq!(cluster.take_read_states(1), []);
    cluster.in_flight.extend(appends);
    cluster.deliver_all();
    let status = cluster.status(1);
    assert_eq!(
        cluster.take_read_states(1),
        [ReadState {
            index: status.commit,
            context: 9,
            via: ReadVia::Quorum
        }]
    );
    assert_eq!(status.commit, 1, "the read index covers the no-op");
}

#[test]
fn follower_read_index_is_forwarded_to_the_leader() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let commit = cluster.propose(1, "x");
    cluster
        .node(2)
        .read_index(5)
        .expect("a follower knows its leader");
    let sent = cluster.take_in_flight();
    assert!(matches!(
        sent.as_slice(),
        [Message {
            from: 2,
            to: 1,
            body: MessageBody::ReadIndex { context: 5 },
            ..
        }]
    ));
    cluster.in_flight.extend(sent);
    cluster.deliver_all();
    assert_eq!(
        cluster.take_read_states(1),
        [],
        "the leader's host did not ask"
    );
    assert_eq!(
        cluster.take_read_states(2),
        [ReadState {
            index: commit,
            context: 5,
            via: ReadVia::Quorum
        }]
    );
}

#[test]
fn read_index_without_a_known_leader_is_an_error() {
    let mut cluster = Cluster::new(3, Bugs::none());
    assert_eq!(cluster.node(2).read_index(1), Err(ReadIndexError::NoLeader));
    tick_until_candidate(cluster.node(2));
    assert_eq!(cluster.node(2).read_index(1), Err(ReadIndexError::NoLeader));
}

#[test]
fn a_single_voter_confirms_a_read_at_once() {
    let mut cluster = Cluster::new(1, Bugs::none());
    cluster.elect(1);
    cluster.deliver_all();
    cluster.node(1).read_index(3).unwrap();
    let read = cluster.take_read_states(1);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].index, cluster.status(1).commit);
}

#[test]
fn a_lost_round_is_retried_by_the_next_heartbeat() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.node(1).read_index(4).unwrap();
    let lost = cluster.take_in_flight();
    assert_eq!(heartbeat_rounds(&lost), [1, 1]);
    let interval = config(1, 3, Bugs::none()).heartbeat_interval_ticks;
    for _ in 0..interval {
        cluster.tick(1);
    }
    let retry = cluster.take_in_flight();
    assert_eq!(heartbeat_rounds(&retry), [2, 2]);
    cluster.in_flight.extend(retry);
    cluster.deliver_all();
    assert_eq!(cluster.take_read_states(1)[0].context, 4);
}

/// A leader cut off from the others while they elect a new leader and commit a
/// write; returns the new leader's commit index.
fn depose_isolated_leader(cluster: &mut Cluster) -> u64 {
    cluster.elect(1);
    cluster.propose(1, "a");
    cluster.isolate(1);
    cluster.elect(2);
    cluster.propose(2, "b")
}

#[test]
fn a_deposed_leader_releases_no_read() {
    let mut cluster = Cluster::new(3, Bugs::none());
    depose_isolated_leader(&mut cluster);
    cluster.node(1).read_index(8).unwrap();
    cluster.tick_node(1, 5);
    assert_eq!(cluster.take_read_states(1), []);
    cluster.reconnect(1);
    cluster.tick_all_times(3);
    assert_eq!(cluster.status(1).role, Role::Follower);
    assert_eq!(
        cluster.take_read_states(1),
        [],
        "its waiting read was dropped"
    );
}

#[test]
fn planted_read_index_no_heartbeat_lets_a_deposed_leader_serve_a_stale_read() {
    let mut cluster = Cluster::new(3, Bugs::none().with(Bug::ReadIndexNoHeartbeat));
    let new_commit = depose_isolated_leader(&mut cluster);
    cluster.node(1).read_index(8).unwrap();
    let read = cluster.take_read_states(1);
    assert_eq!(read.len(), 1, "released without a round");
    assert!(
        read[0].index < new_commit,
        "its read index misses the write the new leader committed"
    );
}

#[test]
fn a_forwarded_read_reaching_a_non_leader_is_dropped() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    let node = cluster.node(3);
    let term = node.status().term;
    node.step(message(2, 3, term, MessageBody::ReadIndex { context: 1 }));
    assert!(all_messages(&drain(node)).is_empty());
}
