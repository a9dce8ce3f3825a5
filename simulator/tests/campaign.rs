//! Campaign-level guarantees: a correct Raft passes a thousand seeds, and every
//! planted bug is caught within the first 2,000 seeds under the right name.

use invariants::Invariant;
use raft_core::{Bug, Bugs};
use std::time::Duration;

use simulator::campaign::{
    progress_line, run_campaign, run_campaign_showing, Campaign, Progress, Summary,
};
use simulator::params::RunOptions;

fn campaign(seeds: std::ops::Range<u64>, bugs: Bugs, stop_at_first_failure: bool) -> Summary {
    let campaign = Campaign {
        seeds,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        options: RunOptions {
            bugs,
            ..RunOptions::default()
        },
        json: false,
        stop_at_first_failure,
    };
    run_campaign(&campaign, &mut std::io::sink()).expect("campaign runs")
}

#[test]
fn a_correct_raft_passes_a_thousand_seeds() {
    let summary = campaign(0..1000, Bugs::none(), false);
    let failures: Vec<String> = summary
        .failures
        .iter()
        .filter_map(|r| r.failure_text())
        .collect();
    assert!(
        failures.is_empty(),
        "a correct Raft failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(summary.passed, 1000);
    assert!(
        summary.linearizable > 950,
        "only {} histories were checked linearizable",
        summary.linearizable
    );
}

/// The invariants that may legitimately catch each planted bug first.
fn expected_invariants(bug: Bug) -> &'static [Invariant] {
    use Invariant::*;
    match bug {
        Bug::CommitOldTerm => &[LeaderCompleteness, StateMachineSafety, CommittedEntryLost],
        Bug::VoteWithoutLogCheck => &[LeaderCompleteness, StateMachineSafety, CommittedEntryLost],
        Bug::DoubleVote => &[ElectionSafety],
        Bug::ForgetVote => &[ElectionSafety],
        Bug::AckBeforeFsync => &[CommittedEntryLost, StateMachineSafety, LeaderCompleteness],
        Bug::TruncateWithoutConflict => {
            &[CommittedEntryLost, StateMachineSafety, LeaderCompleteness]
        }
        Bug::CommitPastLastNewEntry => &[StateMachineSafety, CommittedEntryLost],
        Bug::StaleRead => &[Linearizability],
    }
}

fn assert_caught(bug: Bug) {
    let summary = campaign(0..2000, Bugs::none().with(bug), true);
    let Some(failure) = summary.failures.first() else {
        panic!("{} was not caught in seeds 0..2000", bug.name());
    };
    let invariant = failure
        .invariant()
        .unwrap_or_else(|| panic!("{}: {:?}", bug.name(), failure.outcome));
    assert!(
        expected_invariants(bug).contains(&invariant),
        "{} was caught at seed {} as {}, expected one of {:?}",
        bug.name(),
        failure.seed(),
        invariant.name(),
        expected_invariants(bug)
    );
}

#[test]
fn commit_old_term_is_caught() {
    assert_caught(Bug::CommitOldTerm);
}

#[test]
fn vote_without_log_check_is_caught() {
    assert_caught(Bug::VoteWithoutLogCheck);
}

#[test]
fn double_vote_is_caught() {
    assert_caught(Bug::DoubleVote);
}

#[test]
fn forget_vote_is_caught() {
    assert_caught(Bug::ForgetVote);
}

#[test]
fn ack_before_fsync_is_caught() {
    assert_caught(Bug::AckBeforeFsync);
}

#[test]
fn truncate_without_conflict_is_caught() {
    assert_caught(Bug::TruncateWithoutConflict);
}

#[test]
fn stale_read_is_caught_by_the_linearizability_checker_alone() {
    assert_caught(Bug::StaleRead);
}

#[test]
fn commit_past_last_new_entry_is_caught() {
    assert_caught(Bug::CommitPastLastNewEntry);
}

#[test]
fn progress_lines_never_change_the_results() {
    // Lines after every chunk (the most a campaign ever prints) against none:
    // the results on `out` are the same bytes.
    let campaign = Campaign {
        seeds: 0..150,
        jobs: 2,
        options: RunOptions::default(),
        json: true,
        stop_at_first_failure: false,
    };
    let mut quiet = Vec::new();
    run_campaign_showing(&campaign, &mut quiet, Progress::Hidden).expect("campaign runs");
    let mut chatty = Vec::new();
    run_campaign_showing(&campaign, &mut chatty, Progress::Lines(Duration::ZERO))
        .expect("campaign runs");
    assert_eq!(String::from_utf8_lossy(&quiet).lines().count(), 150);
    assert!(quiet == chatty, "the results depend on the progress shown");
}

#[test]
fn the_progress_line_counts_seeds_failures_and_seconds() {
    let summary = Summary {
        passed: 3190,
        violations: 6,
        errors: 1,
        unknown: 3,
        ..Summary::default()
    };
    assert_eq!(
        progress_line(3200, 10_000, &summary, Duration::from_millis(12_900)),
        "fuzz: 3200/10000 seeds, 7 failed, 3 unknown, 12 s elapsed"
    );
}
