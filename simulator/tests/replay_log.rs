//! The replay log (events, what they caused, the story of the run) is only
//! ever written beside a run: a run with it has the trace hash, outcome and
//! event count of the same run without it, passing or violating.

use raft_core::{Bug, Bugs};
use simulator::commands::run::{execute, run_seed};
use simulator::world::params::RunOptions;
use simulator::world::WorldOptions;

/// Runs `seed` with the replay log (ticks shown or not) and without, and
/// compares what the trace hash sees.
fn assert_log_changes_nothing(seed: u64, options: &RunOptions) {
    let plain = run_seed(seed, options);
    for log_ticks in [false, true] {
        let logged = WorldOptions {
            log_capacity: Some(50),
            log_ticks,
            ..WorldOptions::default()
        };
        let (sim, report) = execute(seed, options, logged);
        let what = format!("seed {seed}, {:?}, ticks {log_ticks}", options.bugs);
        assert_eq!(report.trace_hash, plain.trace_hash, "{what}");
        assert_eq!(report.events, plain.events, "{what}");
        assert_eq!(report.outcome, plain.outcome, "{what}");
        let (_, entries) = sim.trace().log_lines().expect("a log is kept");
        assert!(entries.count() > 0, "{what}: an empty log");
        let (story, _) = sim.trace().story().expect("a story is kept");
        assert!(
            story
                .iter()
                .any(|line| line.contains("becomes LEADER of term")),
            "{what}: no election in the story"
        );
    }
}

#[test]
fn the_replay_log_leaves_passing_runs_unchanged() {
    for seed in 0..30 {
        assert_log_changes_nothing(seed, &RunOptions::default());
    }
}

#[test]
fn the_replay_log_leaves_violating_runs_unchanged() {
    for (seed, bug) in [(1, Bug::DoubleVote), (7, Bug::StaleRead)] {
        let options = RunOptions {
            bugs: Bugs::none().with(bug),
            ..RunOptions::default()
        };
        assert_ne!(
            run_seed(seed, &options).exit_code(),
            0,
            "seed {seed} passes"
        );
        assert_log_changes_nothing(seed, &options);
    }
}
