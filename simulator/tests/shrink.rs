//! `raftsim shrink`: a failing seed reduced to a scenario file that breaks
//! the same property, 1-minimal, and reproduced by `raftsim scenario`.

use raft_core::Bug;
use simulator::commands::scenario::ast::Command;
use simulator::commands::scenario::{check_text, parse::parse};
use simulator::commands::shrink::{scenario_text, shrink, shrink_command, Progress};
use simulator::world::params::RunOptions;

fn options(bug: Bug) -> RunOptions {
    RunOptions {
        bugs: [bug].into_iter().collect(),
        ..RunOptions::default()
    }
}

/// Shrinks `seed` with `bug` and returns the scenario text.
fn shrunk_text(seed: u64, bug: Bug) -> String {
    let options = options(bug);
    let mut never = || false;
    let mut quiet = |_: &Progress<'_>| {};
    let shrunk = shrink(seed, &options, &mut never, &mut quiet).expect("the seed fails");
    assert!(shrunk.complete);
    assert!(shrunk.reduced.0 <= shrunk.original.0);
    scenario_text(&shrunk, &shrink_command(seed, &options), "x.scen").expect("reproduces")
}

/// Asserts that taking out any one `at` line of `text` makes its violation
/// disappear (the file then fails its `expect violation`).
fn assert_one_minimal(text: &str) {
    let scenario = parse(text).expect("the shrunk file parses");
    let at_lines: Vec<usize> = scenario
        .steps
        .iter()
        .filter(|step| matches!(step.command, Command::At(_)))
        .map(|step| step.line)
        .collect();
    for line in at_lines {
        let without: String = text
            .lines()
            .enumerate()
            .filter(|(index, _)| index + 1 != line)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let checked = check_text("x.scen", &without, false).expect("parses");
        assert!(
            checked
                .failures
                .iter()
                .any(|f| f.contains("expected a violation of")),
            "without line {line} the violation stays:\n{text}"
        );
    }
}

#[test]
fn a_shrunk_seed_is_a_scenario_that_reproduces_its_violation_and_is_one_minimal() {
    for (seed, bug) in [(44, Bug::StaleRead), (0, Bug::VoteWithoutLogCheck)] {
        let text = shrunk_text(seed, bug);
        let checked = check_text("x.scen", &text, false).expect("parses");
        assert!(checked.passed(), "{:?}\n{text}", checked.failures);
        assert!(text.contains(&format!(
            "expect violation {}",
            match bug {
                Bug::StaleRead => "linearizability",
                _ => "leader-completeness",
            }
        )));
        assert_one_minimal(&text);
    }
}

#[test]
fn a_bug_that_needs_no_fault_shrinks_to_none() {
    let text = shrunk_text(0, Bug::TruncateWithoutConflict);
    assert!(!text.contains("\nat "), "{text}");
    assert!(check_text("x.scen", &text, false).expect("parses").passed());
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let mut never = || false;
    let mut quiet = |_: &Progress<'_>| {};
    let error = shrink(1, &RunOptions::default(), &mut never, &mut quiet).unwrap_err();
    assert!(error.to_string().contains("breaks no property"), "{error}");
}

#[test]
fn the_time_limit_stops_with_a_failing_run() {
    let options = options(Bug::StaleRead);
    let mut calls = 0;
    let mut soon = || {
        calls += 1;
        calls > 5
    };
    let mut quiet = |_: &Progress<'_>| {};
    let shrunk = shrink(44, &options, &mut soon, &mut quiet).expect("the seed fails");
    assert!(!shrunk.complete);
    let text = scenario_text(&shrunk, &shrink_command(44, &options), "x.scen").expect("fails");
    assert!(text.contains("may not be minimal"), "{text}");
}

#[test]
fn fuzz_artifacts_holds_a_reproducing_scenario_per_failing_seed() {
    let dir = std::env::temp_dir().join(format!("raftsim-artifacts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let raftsim = env!("CARGO_BIN_EXE_raftsim");
    let output = std::process::Command::new(raftsim)
        .args([
            "fuzz",
            "--seeds",
            "40..50",
            "--bug",
            "stale-read",
            "--artifacts",
        ])
        .arg(&dir)
        .output()
        .expect("raftsim runs");
    assert_eq!(output.status.code(), Some(1), "a violation was found");
    let file = dir.join("seed-44.scen");
    let scenario = std::process::Command::new(raftsim)
        .arg("scenario")
        .arg(&file)
        .output()
        .expect("raftsim runs");
    assert_eq!(
        scenario.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&scenario.stdout)
    );
    let written: Vec<_> = std::fs::read_dir(&dir).expect("the folder").collect();
    assert_eq!(written.len(), 1, "one failing seed in 40..50");
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}
