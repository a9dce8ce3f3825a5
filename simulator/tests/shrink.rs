//! `raftsim shrink`: a failing seed reduced to a scenario file that breaks
//! the same property, 1-minimal, and reproduced by `raftsim scenario`.

use raft_core::Bug;
use simulator::commands::scenario::ast::Command;
use simulator::commands::scenario::{check_text, parse::parse};
use simulator::commands::shrink::{rerun, scenario_text, shrink, shrink_command, Progress};
use simulator::world::params::RunOptions;
use simulator::world::WorldOptions;

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
    // Each fault is written with the time it struck in the shrunk run.
    let (world, _) = rerun(&shrunk, &options, WorldOptions::default());
    assert_eq!(world.schedule(), shrunk.schedule.as_slice(), "seed {seed}");
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

/// The corpus entry that catches `bug`: (seed, invariant).
fn corpus_entry(bug: Bug) -> (u64, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("the corpus {} is missing: {error}", dir.display()));
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.expect("a corpus entry").path();
        let text = std::fs::read_to_string(&path).expect("a readable entry");
        let entry: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if entry["bugs"] == serde_json::json!([bug.name()]) {
            let invariant = entry["expected_invariant"].as_str().expect("an invariant");
            found.push((
                entry["seed"].as_u64().expect("a seed"),
                invariant.to_string(),
            ));
        }
    }
    match found.as_slice() {
        [one] => one.clone(),
        _ => panic!(
            "{} corpus entries for {} in {}, expected one",
            found.len(),
            bug.name(),
            dir.display()
        ),
    }
}

/// Shrinks the corpus entry of `bug`: the scenario reproduces its
/// violation and is 1-minimal.
fn assert_corpus_entry_shrinks(bug: Bug) {
    let (seed, invariant) = corpus_entry(bug);
    let text = shrunk_text(seed, bug);
    let checked = check_text("x.scen", &text, false).expect("parses");
    assert!(checked.passed(), "{:?}\n{text}", checked.failures);
    assert!(
        text.contains(&format!("expect violation {invariant}")),
        "{text}"
    );
    assert_one_minimal(&text);
}

// One test per planted bug, so that they run side by side.
#[test]
fn the_ack_before_fsync_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::AckBeforeFsync);
}

#[test]
fn the_commit_old_term_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::CommitOldTerm);
}

#[test]
fn the_commit_past_last_new_entry_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::CommitPastLastNewEntry);
}

#[test]
fn the_double_vote_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::DoubleVote);
}

#[test]
fn the_forget_vote_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::ForgetVote);
}

#[test]
fn the_stale_read_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::StaleRead);
}

#[test]
fn the_truncate_without_conflict_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::TruncateWithoutConflict);
}

#[test]
fn the_vote_without_log_check_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::VoteWithoutLogCheck);
}

#[test]
fn the_prevote_bumps_term_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::PreVoteBumpsTerm);
}

#[test]
fn the_read_index_no_heartbeat_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::ReadIndexNoHeartbeat);
}

#[test]
fn the_lease_without_check_quorum_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::LeaseWithoutCheckQuorum);
}

#[test]
fn the_read_index_before_term_commit_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::ReadIndexBeforeTermCommit);
}

#[test]
fn the_read_before_apply_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::ReadBeforeApply);
}

#[test]
fn the_snapshot_regresses_commit_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::SnapshotRegressesCommit);
}

#[test]
fn the_snapshot_drops_newer_entries_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::SnapshotDropsNewerEntries);
}

#[test]
fn the_snapshot_chunk_ignores_offset_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::SnapshotChunkIgnoresOffset);
}

#[test]
fn the_joint_single_majority_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::JointSingleMajority);
}

#[test]
fn the_learner_in_quorum_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::LearnerInQuorum);
}

#[test]
fn the_learner_votes_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::LearnerVotes);
}

#[test]
fn the_refusal_restarts_timer_corpus_entry_shrinks_to_a_one_minimal_scenario() {
    assert_corpus_entry_shrinks(Bug::RefusalRestartsTimer);
}

#[test]
fn every_planted_bug_has_a_corpus_entry_and_its_shrink_test() {
    for bug in Bug::ALL {
        corpus_entry(bug);
    }
    // The twenty tests above: a new planted bug needs a test of its own.
    assert_eq!(Bug::ALL.len(), 20, "add a shrink test for the new bug");
}

#[test]
fn a_bug_that_needs_no_fault_shrinks_to_none() {
    let text = shrunk_text(9, Bug::TruncateWithoutConflict);
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
    let shrunk = shrink(7, &options, &mut soon, &mut quiet).expect("the seed fails");
    assert!(!shrunk.complete);
    let text = scenario_text(&shrunk, &shrink_command(7, &options), "x.scen").expect("fails");
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
    let page = std::fs::read_to_string(dir.join("seed-44.html")).expect("the timeline page");
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..page.len().min(200)]
    );
    let reproduce = format!("raftsim scenario {}", file.display());
    assert!(
        page.contains(&reproduce),
        "the page says how to reproduce it"
    );
    let mut written: Vec<_> = std::fs::read_dir(&dir)
        .expect("the folder")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["seed-44.html", "seed-44.scen"],
        "one failing seed in 40..50"
    );
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn shrink_writes_the_timeline_of_the_shrunk_run_and_keeps_stdout_for_the_scenario() {
    let dir = std::env::temp_dir().join(format!("raftsim-shrink-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let (html, perfetto) = (dir.join("run.html"), dir.join("run.json"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args([
            "shrink",
            "--seed",
            "9",
            "--bug",
            "truncate-without-conflict",
        ])
        .arg("--html")
        .arg(&html)
        .arg("--perfetto")
        .arg(&perfetto)
        .output()
        .expect("raftsim runs");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let checked = check_text("stdout.scen", &stdout, false).expect("stdout is the scenario alone");
    assert!(checked.passed(), "{:?}", checked.failures);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("wrote the timeline page to"), "{stderr}");
    let page = std::fs::read_to_string(&html).expect("the page");
    assert!(
        page.contains("truncate-on-conflict"),
        "the page names the violation"
    );
    // The page is of the shrunk run: it says so, and does not offer the
    // seed's replay command, which replays the original run.
    assert!(page.contains("shrunk from seed 9 --bug truncate-without-conflict"));
    assert!(!page.contains("raftsim replay --seed 9"));
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&perfetto).expect("the trace"))
            .expect("the Perfetto trace is JSON");
    assert!(trace["traceEvents"]
        .as_array()
        .is_some_and(|events| !events.is_empty()));
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn a_file_or_folder_that_cannot_be_written_is_refused_before_any_work() {
    let raftsim = env!("CARGO_BIN_EXE_raftsim");
    let cases: [&[&str]; 3] = [
        &[
            "shrink",
            "--seed",
            "10",
            "--bug",
            "stale-read",
            "-o",
            "/nonexistent/x.scen",
        ],
        &[
            "shrink",
            "--seed",
            "10",
            "--bug",
            "stale-read",
            "--html",
            "/nonexistent/x.html",
        ],
        &[
            "fuzz",
            "--seeds",
            "0..10",
            "--artifacts",
            "/proc/raftsim-artifacts",
        ],
    ];
    for args in cases {
        let output = std::process::Command::new(raftsim)
            .args(args)
            .output()
            .expect("raftsim runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("shrink: pass"),
            "{args:?} searched first: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}: the campaign ran");
    }
}

#[test]
fn a_background_seed_keeps_the_parameters_and_changes_the_randomness() {
    use simulator::commands::scenario::ast::WorldSpec;
    use simulator::commands::scenario::parse::world_params;
    let text = "world seed=1 background=2 nodes=3\nrun-to-end\nexpect no-violation\n";
    let scenario = parse(text).expect("parses");
    let Command::World(spec) = &scenario.steps[0].command else {
        panic!("a world first: {scenario:?}");
    };
    assert_eq!(spec.background, Some(2));
    assert_eq!(spec.to_string(), "world seed=1 background=2 nodes=3");
    let plain = WorldSpec {
        background: None,
        ..spec.clone()
    };
    let parameters = |spec: &WorldSpec| {
        let mut value = serde_json::to_value(world_params(spec)).expect("JSON");
        value["seed"].take().as_u64().map(|seed| (seed, value))
    };
    let (with, without) = (parameters(spec).unwrap(), parameters(&plain).unwrap());
    assert_eq!((with.0, without.0), (2, 1), "the randomness's seed");
    assert_eq!(with.1, without.1, "the parameters are seed 1's");
    let hash = |text: &str| {
        let filled = check_text("r.scen", text, true).expect("parses");
        let text = filled.rewritten.expect("the output filled in");
        let line = text.lines().find(|l| l.contains("trace hash"));
        line.expect("a trace hash line").to_string()
    };
    let plain_text = text.replace(" background=2", "");
    assert_ne!(hash(text), hash(&plain_text), "other delays and timeouts");
}
