//! Leadership transfer (§3.10 of Ongaro's thesis, etcd's `TransferLeader`).

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{
    Bugs, MessageBody, ProposeError, ReadOnlyOption, ReadVia, Role, TransferLeaderError,
};

fn election_ticks() -> u32 {
    config(1, 3, Bugs::none()).election_timeout_ticks_min
}

fn propose(cluster: &mut Cluster, id: u64) -> Result<u64, ProposeError> {
    cluster.node(id).propose(Bytes::from_static(b"p"))
}

#[test]
fn transfer_hands_leadership_to_an_up_to_date_voter() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.propose(1, "x");
    let term = cluster.status(1).term;
    cluster.node(1).transfer_leader(2).unwrap();
    assert_eq!(cluster.status(1).lead_transferee, Some(2));
    let sent = cluster.take_in_flight();
    assert!(matches!(
        sent.as_slice(),
        [m] if m.to == 2 && m.body == MessageBody::TimeoutNow
    ));
    cluster.in_flight.extend(sent);
    cluster.deliver_all();
    let status = cluster.status(2);
    assert_eq!((status.role, status.term), (Role::Leader, term + 1));
    assert_eq!(cluster.status(1).role, Role::Follower);
    assert_eq!(cluster.status(1).lead_transferee, None);
    assert_eq!(cluster.propose(2, "y"), status.last_index + 1);
}

#[test]
fn transfer_waits_until_the_transferee_is_up_to_date() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(2);
    for data in ["a", "b", "c"] {
        cluster.propose(1, data);
    }
    cluster.reconnect(2);
    let last_index = cluster.status(1).last_index;
    cluster.node(1).transfer_leader(2).unwrap();
    let sent = cluster.take_in_flight();
    assert!(
        sent.iter().all(|m| m.body != MessageBody::TimeoutNow),
        "not before node 2 holds the leader's log"
    );
    cluster.in_flight.extend(sent);
    cluster.deliver_all();
    assert_eq!(cluster.status(2).role, Role::Leader);
    assert!(
        cluster.status(2).last_index > last_index,
        "with every entry, then its no-op"
    );
    assert_eq!(cluster.applied_data(2), ["a", "b", "c"]);
}

#[test]
fn transfer_stops_proposals() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(2);
    cluster.node(1).transfer_leader(2).unwrap();
    assert_eq!(
        propose(&mut cluster, 1),
        Err(ProposeError::TransferInProgress { to: 2 })
    );
}

#[test]
fn transfer_abandoned_after_an_election_timeout() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    cluster.isolate(2);
    cluster.node(1).transfer_leader(2).unwrap();
    cluster.tick_all_times(election_ticks() - 1);
    assert_eq!(cluster.status(1).lead_transferee, Some(2));
    assert!(propose(&mut cluster, 1).is_err());
    cluster.tick_all_times(1);
    let status = cluster.status(1);
    assert_eq!((status.role, status.lead_transferee), (Role::Leader, None));
    assert!(propose(&mut cluster, 1).is_ok(), "proposals resume");
}

#[test]
fn transfer_campaign_bypasses_the_vote_lease() {
    let mut cluster = Cluster::with(3, |config| {
        config.check_quorum = true;
        config.pre_vote = true;
    });
    cluster.elect(1);
    let term = cluster.status(1).term;
    cluster.node(1).transfer_leader(3).unwrap();
    // Node 3 campaigns at once: no PreVote, and its requests say it is a transfer.
    let timeout_now = cluster.take_in_flight();
    for message in timeout_now {
        cluster.deliver(message);
    }
    let requests = cluster.take_in_flight();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|m| matches!(
        m.body,
        MessageBody::RequestVote {
            leadership_transfer: true,
            ..
        }
    )));
    // Nodes 1 and 2 heard from the leader just now, yet grant.
    cluster.in_flight.extend(requests);
    cluster.deliver_all();
    let status = cluster.status(3);
    assert_eq!((status.role, status.term), (Role::Leader, term + 1));
}

#[test]
fn a_transfer_suspends_the_read_lease() {
    let mut cluster = Cluster::with(3, |config| {
        config.check_quorum = true;
        config.read_only = ReadOnlyOption::LeaseBased;
    });
    let mut leader = None;
    for _ in 0..5 * election_ticks() {
        cluster.tick_all();
        leader = (1..=3).find(|&id| cluster.status(id).role == Role::Leader);
        if leader.is_some() {
            break;
        }
    }
    let leader = leader.expect("a leader is elected");
    let heartbeat_ticks = config(1, 3, Bugs::none()).heartbeat_interval_ticks;
    cluster.tick_node(leader, heartbeat_ticks);
    cluster.node(leader).read_index(1).unwrap();
    assert_eq!(cluster.take_read_states(leader)[0].via, ReadVia::Lease);
    let transferee = leader % 3 + 1;
    cluster.isolate(transferee);
    cluster.node(leader).transfer_leader(transferee).unwrap();
    cluster.node(leader).read_index(2).unwrap();
    assert_eq!(cluster.take_read_states(leader), [], "no lease read");
    cluster.deliver_all();
    assert_eq!(
        cluster.take_read_states(leader)[0].via,
        ReadVia::QuorumLeaseExpired
    );
}

#[test]
fn transfer_leader_refuses_what_it_cannot_do() {
    let mut cluster = Cluster::new(3, Bugs::none());
    cluster.elect(1);
    assert_eq!(
        cluster.node(2).transfer_leader(3),
        Err(TransferLeaderError::NotLeader {
            leader_hint: Some(1)
        })
    );
    assert_eq!(
        cluster.node(1).transfer_leader(9),
        Err(TransferLeaderError::NotAVoter(9))
    );
    assert_eq!(
        cluster.node(1).transfer_leader(1),
        Err(TransferLeaderError::AlreadyLeader)
    );
}

#[test]
fn timeout_now_is_obeyed_only_by_a_follower() {
    let mut cluster = Cluster::new(3, Bugs::none());
    tick_until_candidate(cluster.node(2));
    let term = cluster.status(2).term;
    let node = cluster.node(2);
    node.step(message(1, 2, term, MessageBody::TimeoutNow));
    assert_eq!(node.status().term, term, "a candidate does not start over");
}
