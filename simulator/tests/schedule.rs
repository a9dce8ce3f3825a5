//! A run's faults are data: the schedule a run records, replayed with the
//! nemesis off, is the same run again (the same trace hash, outcome and
//! events), and a schedule with a fault taken out still runs.

use raft_core::Bug;
use simulator::commands::run::{execute, execute_schedule};
use simulator::drivers::{Fault, Point};
use simulator::world::network::Endpoint;
use simulator::world::params::RunOptions;
use simulator::world::WorldOptions;

fn assert_replays(seed: u64, options: &RunOptions) -> usize {
    let (original, report) = execute(seed, options, WorldOptions::default());
    let schedule = original.schedule().to_vec();
    let (_, replayed) = execute_schedule(seed, options, WorldOptions::default(), &schedule);
    assert_eq!(
        (
            replayed.trace_hash,
            replayed.events,
            replayed.outcome_name()
        ),
        (report.trace_hash, report.events, report.outcome_name()),
        "seed {seed}: the replayed schedule of {} faults is another run",
        schedule.len()
    );
    schedule.len()
}

#[test]
fn replaying_the_recorded_schedule_is_the_same_run_for_a_thousand_seeds() {
    let options = RunOptions::default();
    let faults: usize = (0..1000).map(|seed| assert_replays(seed, &options)).sum();
    // The seeds draw faults: a schedule that is always empty proves nothing.
    assert!(faults > 10_000, "only {faults} faults in 1,000 runs");
}

#[test]
fn violating_runs_replay_too() {
    for bug in [Bug::DoubleVote, Bug::StaleRead, Bug::CommitPastLastNewEntry] {
        let options = RunOptions {
            bugs: [bug].into_iter().collect(),
            ..RunOptions::default()
        };
        for seed in 0..50 {
            assert_replays(seed, &options);
        }
    }
}

#[test]
fn every_kind_of_point_and_fault_is_recorded() {
    let options = RunOptions::default();
    let mut points = [false; 8];
    let mut kinds = Vec::new();
    for seed in 0..200 {
        let (sim, _) = execute(seed, &options, WorldOptions::default());
        for entry in sim.schedule() {
            let at = match entry.point {
                Point::Timer => 0,
                Point::NewLeader { .. } => 1,
                Point::LeaderCommit { .. } => 2,
                Point::Fsync { .. } => 3,
                Point::Send { .. } => 4,
                Point::VoteGranted { .. } => 5,
                Point::AckCounted { .. } => 6,
                Point::SnapshotTaken { .. } => 7,
            };
            points[at] = true;
            let kind = std::mem::discriminant(&entry.fault);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    assert_eq!(
        points, [true; 8],
        "timers, elections, commits, fsyncs, messages, votes, acks, snapshots"
    );
    let message = simulator::drivers::MessageId {
        from: Endpoint::Node(1),
        to: Endpoint::Node(2),
        about: simulator::drivers::About::Request { op: 0, attempt: 0 },
        nth: 0,
    };
    let expected = [
        Fault::Partition { groups: vec![] },
        Fault::Cut { from: 1, to: 2 },
        Fault::Heal,
        Fault::Crash {
            node: 1,
            disk: simulator::drivers::DiskFate::Prefix,
            restart_after_us: None,
        },
        Fault::FsyncCrash {
            node: 1,
            before: true,
            restart_after_us: 0,
        },
        Fault::Drop { message },
        Fault::Duplicate {
            message,
            second_delay_us: 0,
        },
        Fault::Delay {
            message,
            extra_delay_us: 0,
        },
    ];
    for fault in expected {
        assert!(
            kinds.contains(&std::mem::discriminant(&fault)),
            "no {fault:?} in 200 runs"
        );
    }
}

#[test]
fn a_schedule_without_one_of_its_faults_still_runs_to_an_outcome() {
    let options = RunOptions::default();
    let (original, _) = execute(7, &options, WorldOptions::default());
    let mut schedule = original.schedule().to_vec();
    let timer_fault = schedule
        .iter()
        .position(|entry| entry.point == Point::Timer)
        .expect("seed 7 has a timed fault");
    schedule.remove(timer_fault);
    let (_, report) = execute_schedule(7, &options, WorldOptions::default(), &schedule);
    assert!(report.events > 0);
}
