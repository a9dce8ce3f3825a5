//! Lease reads (`ReadOnlyOption::LeaseBased`): within its lease a leader
//! answers a read at once; the lease runs from when the confirming heartbeat
//! round was sent, for the election timeout less the clock drift bound.

mod common;

use common::*;
use raft_core::{
    Bug, Bugs, Config, ConfigError, MessageBody, ReadOnlyOption, ReadState, ReadVia, Role,
};

const ELECTION_TICKS: u32 = 10;
const HEARTBEAT_TICKS: u32 = 2;

fn lease_config(config: &mut Config, drift: u32) {
    config.check_quorum = true;
    config.read_only = ReadOnlyOption::LeaseBased;
    config.max_clock_drift_ticks = drift;
    config.election_timeout_ticks_min = ELECTION_TICKS;
    config.heartbeat_interval_ticks = HEARTBEAT_TICKS;
}

/// Three nodes with lease reads; node 1 elected. Every node is ticked through
/// the vote lease a fresh node keeps for an election timeout first.
fn leader_with_lease_reads(drift: u32, bugs: Bugs) -> Cluster {
    let mut cluster = Cluster::with(3, |config| {
        lease_config(config, drift);
        config.bugs = bugs;
    });
    for id in [2, 3] {
        for _ in 0..ELECTION_TICKS {
            cluster.tick(id);
        }
    }
    cluster.deliver_all();
    cluster.elect(1);
    cluster
}

/// Ticks the leader `ticks` times, losing everything it sends.
fn tick_leader_alone(cluster: &mut Cluster, ticks: u32) {
    for _ in 0..ticks {
        cluster.tick(1);
    }
    cluster.take_in_flight();
}

/// Reads at the leader and returns how the read was served at once, if it was.
fn read_now(cluster: &mut Cluster, context: u64) -> Option<ReadVia> {
    cluster.node(1).read_index(context).unwrap();
    let states = cluster.take_read_states(1);
    assert!(states.len() <= 1);
    states.first().map(|s| s.via)
}

/// Ticks the leader alone until its first heartbeat round leaves (at leader
/// tick `HEARTBEAT_TICKS`), holds it while `delay` more ticks pass, then lets a
/// majority acknowledge it.
fn confirm_first_round_late(cluster: &mut Cluster, delay: u32) {
    for _ in 0..HEARTBEAT_TICKS {
        cluster.tick(1);
    }
    let round = cluster.take_in_flight();
    assert_eq!(heartbeat_rounds(&round), [1, 1]);
    tick_leader_alone(cluster, delay);
    for message in round.into_iter().filter(|m| m.to == 2) {
        cluster.deliver(message);
    }
    for answer in cluster.take_in_flight() {
        cluster.deliver(answer);
    }
    cluster.take_in_flight();
}

#[test]
fn config_refuses_lease_reads_without_check_quorum() {
    let mut config = config(1, 3, Bugs::none());
    config.read_only = ReadOnlyOption::LeaseBased;
    assert_eq!(config.validate(), Err(ConfigError::LeaseWithoutCheckQuorum));
    config.check_quorum = true;
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn config_refuses_a_drift_bound_not_below_the_election_timeout() {
    let mut config = config(1, 3, Bugs::none());
    config.max_clock_drift_ticks = config.election_timeout_ticks_min;
    assert!(matches!(
        config.validate(),
        Err(ConfigError::DriftNotBelowElectionTimeout { .. })
    ));
}

#[test]
fn a_lease_read_is_answered_at_once_without_a_round() {
    let mut cluster = leader_with_lease_reads(1, Bugs::none());
    cluster.tick_node(1, HEARTBEAT_TICKS);
    let commit = cluster.status(1).commit;
    cluster.node(1).read_index(7).unwrap();
    assert_eq!(heartbeat_rounds(&cluster.take_in_flight()), []);
    assert_eq!(
        cluster.take_read_states(1),
        [ReadState {
            index: commit,
            context: 7,
            via: ReadVia::Lease
        }]
    );
}

#[test]
fn no_lease_read_before_a_round_was_confirmed() {
    let mut cluster = leader_with_lease_reads(1, Bugs::none());
    assert_eq!(read_now(&mut cluster, 1), None);
    let sent = cluster.take_in_flight();
    assert_eq!(heartbeat_rounds(&sent), [1, 1], "falls back to a round");
    cluster.in_flight.extend(sent);
    cluster.deliver_all();
    assert_eq!(
        cluster.take_read_states(1)[0].via,
        ReadVia::QuorumLeaseExpired
    );
}

#[test]
fn lease_counts_from_when_the_heartbeat_was_sent() {
    let mut cluster = leader_with_lease_reads(0, Bugs::none());
    // Round 1 leaves at leader tick 2 and is acknowledged at tick 7.
    confirm_first_round_late(&mut cluster, 5);
    // The lease runs from tick 2 for 10 ticks: through tick 11, not 16.
    tick_leader_alone(&mut cluster, 4);
    assert_eq!(read_now(&mut cluster, 1), Some(ReadVia::Lease), "tick 11");
    tick_leader_alone(&mut cluster, 1);
    assert_eq!(read_now(&mut cluster, 2), None, "tick 12: expired");
    // Rounds the read arrived after are in flight (lost here): the next
    // heartbeat's round confirms it.
    cluster.tick_node(1, HEARTBEAT_TICKS);
    assert_eq!(
        cluster.take_read_states(1)[0].via,
        ReadVia::QuorumLeaseExpired
    );
}

#[test]
fn lease_is_shortened_by_max_drift() {
    let mut cluster = leader_with_lease_reads(3, Bugs::none());
    confirm_first_round_late(&mut cluster, 0);
    // Sent at tick 2, the lease lasts 10 - 3 ticks: through tick 8.
    tick_leader_alone(&mut cluster, 6);
    assert_eq!(read_now(&mut cluster, 1), Some(ReadVia::Lease), "tick 8");
    tick_leader_alone(&mut cluster, 1);
    assert_eq!(read_now(&mut cluster, 2), None, "tick 9: expired");
}

#[test]
fn a_leader_cut_off_stops_serving_lease_reads_once_the_lease_expires() {
    let mut cluster = leader_with_lease_reads(1, Bugs::none());
    cluster.tick_node(1, HEARTBEAT_TICKS);
    cluster.isolate(1);
    tick_leader_alone(&mut cluster, ELECTION_TICKS);
    assert_eq!(cluster.status(1).role, Role::Leader, "not yet stepped down");
    assert_eq!(read_now(&mut cluster, 1), None);
}

#[test]
fn planted_lease_without_check_quorum_serves_lease_reads_after_the_lease_expired() {
    let mut cluster = leader_with_lease_reads(1, Bugs::none().with(Bug::LeaseWithoutCheckQuorum));
    cluster.tick_node(1, HEARTBEAT_TICKS);
    cluster.isolate(1);
    tick_leader_alone(&mut cluster, ELECTION_TICKS);
    assert_eq!(cluster.status(1).role, Role::Leader);
    assert_eq!(read_now(&mut cluster, 1), Some(ReadVia::Lease));
}

#[test]
fn a_started_node_keeps_the_vote_lease_for_an_election_timeout() {
    // It may have acknowledged a leader's round before it crashed and forgot it.
    let mut node = restored_node(
        {
            let mut config = config(2, 3, Bugs::none());
            lease_config(&mut config, 1);
            config
        },
        1,
        None,
        Vec::new(),
    );
    let vote = |term| {
        message(
            3,
            2,
            term,
            MessageBody::RequestVote {
                last_log_index: 0,
                last_log_term: 0,
                leadership_transfer: false,
            },
        )
    };
    node.step(vote(2));
    assert_eq!(node.status().term, 1, "ignored");
    for _ in 0..ELECTION_TICKS {
        node.tick();
    }
    node.step(vote(3));
    assert_eq!(node.status().term, 3);
    assert_eq!(node.status().vote, Some(3));
}
