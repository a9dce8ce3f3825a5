//! Campaign-level guarantees: a correct Raft passes a thousand seeds, and every
//! planted bug is caught within the first 2,000 seeds under the right name. A
//! campaign split into shares gives the same results, `merge` puts them back
//! as the unsplit campaign printed them, and the JUnit XML holds every run.

use invariants::Invariant;
use raft_core::{Bug, Bugs};
use std::time::Duration;

use simulator::commands::campaign::{
    progress_line, run_campaign, run_campaign_showing, run_share, write_summary, Campaign,
    Partition, Progress, RunTally, Scope, Summary,
};
use simulator::commands::junit::{write_junit, xml_safe};
use simulator::commands::merge::{merge, read_share};
use simulator::commands::run::run_seed;
use simulator::world::params::{FaultKind, Profile, RunOptions};
use simulator::world::Outcome;

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
    // Every situation the checks are about was reached: a pre-vote refused,
    // a CheckQuorum step-down, reads by every path, transfers done and
    // abandoned, pauses, clogs, skewed clocks, partial partitions.
    let never = summary.coverage.never_reached();
    assert!(never.is_empty(), "never reached in 1,000 seeds: {never:?}");
    assert!(
        summary.recovery[0].count() > 0 && summary.recovery[1].count() > 0,
        "leader losses timed with PreVote off and on"
    );
    let [(off, off_runs), (on, on_runs)] = summary.elections;
    assert_eq!(off_runs + on_runs, 1000, "every run counted once");
    assert!(
        off >= off_runs && on >= on_runs,
        "every run elects a leader"
    );
    assert!(
        summary.linearizable > 950,
        "only {} histories were checked linearizable",
        summary.linearizable
    );
}

/// The invariants that may legitimately catch each planted bug first.
fn expected_invariants(bug: Bug) -> &'static [Invariant] {
    simulator::world::bugs::caught_by(bug)
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
fn prevote_bumps_term_is_caught_by_the_rejoin_check() {
    assert_caught(Bug::PreVoteBumpsTerm);
}

#[test]
fn read_index_no_heartbeat_is_caught() {
    assert_caught(Bug::ReadIndexNoHeartbeat);
}

#[test]
fn lease_without_check_quorum_is_caught() {
    assert_caught(Bug::LeaseWithoutCheckQuorum);
}

#[test]
fn read_index_before_term_commit_is_caught() {
    assert_caught(Bug::ReadIndexBeforeTermCommit);
}

#[test]
fn read_before_apply_is_caught() {
    assert_caught(Bug::ReadBeforeApply);
}

#[test]
fn snapshot_regresses_commit_is_caught() {
    assert_caught(Bug::SnapshotRegressesCommit);
}

#[test]
fn snapshot_drops_newer_entries_is_caught() {
    assert_caught(Bug::SnapshotDropsNewerEntries);
}

#[test]
fn snapshot_chunk_ignores_offset_is_caught() {
    assert_caught(Bug::SnapshotChunkIgnoresOffset);
}

#[test]
fn joint_single_majority_is_caught() {
    assert_caught(Bug::JointSingleMajority);
}

#[test]
fn learner_in_quorum_is_caught() {
    assert_caught(Bug::LearnerInQuorum);
}

#[test]
fn learner_votes_is_caught() {
    assert_caught(Bug::LearnerVotes);
}

#[test]
fn refusal_restarts_timer_is_caught() {
    assert_caught(Bug::RefusalRestartsTimer);
}

#[test]
fn every_planted_bug_has_its_test() {
    // The twenty tests above: a new planted bug needs a test of its own.
    assert_eq!(
        Bug::ALL.len(),
        20,
        "add an `is_caught` test for the new bug"
    );
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

// --- Campaigns split into shares (`--partition i/n`), merged, and as JUnit ---

/// The output of share `partition` of a campaign, as `raftsim fuzz` prints it
/// (the runs, then the closing lines or summary object), and its summary.
fn share_output(
    seeds: std::ops::Range<u64>,
    options: RunOptions,
    stop_at_first_failure: bool,
    partition: Partition,
    json: bool,
) -> (String, Summary) {
    let campaign = Campaign {
        seeds,
        jobs: 2,
        options,
        json,
        stop_at_first_failure,
    };
    let mut out = Vec::new();
    let summary =
        run_share(&campaign, partition, &mut out, Progress::Hidden).expect("campaign runs");
    write_summary(json, &summary, &mut out).expect("written");
    (String::from_utf8(out).expect("utf-8"), summary)
}

fn with_bug(bug: Bug) -> RunOptions {
    RunOptions {
        bugs: Bugs::none().with(bug),
        ..RunOptions::default()
    }
}

fn share(index: u64, count: u64) -> Partition {
    Partition::new(index, count).expect("a valid share")
}

#[test]
fn every_seed_of_a_range_is_in_exactly_one_share_and_the_shares_are_balanced() {
    let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
    for start in 0..20 {
        for length in 0..40 {
            ranges.push(start..start + length);
        }
    }
    // Near the largest seed, where a stride must not overflow.
    ranges.extend([u64::MAX - 10..u64::MAX, u64::MAX - 1..u64::MAX, 0..u64::MAX]);
    for range in ranges {
        for count in 1..=9 {
            let small = range.end - range.start < 1_000;
            let mut sizes = Vec::new();
            let mut union = Vec::new();
            for index in 1..=count {
                let partition = share(index, count);
                let size = partition.seed_count(&range);
                sizes.push(size);
                if small {
                    let seeds: Vec<u64> = partition.seeds(range.clone()).collect();
                    assert_eq!(seeds.len() as u64, size, "{range:?} {partition}");
                    assert!(
                        seeds.windows(2).all(|w| w[0] < w[1]),
                        "{range:?} {partition}"
                    );
                    assert!(seeds.iter().all(|s| partition.contains(*s)));
                    union.extend(seeds);
                }
            }
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(
                max.unwrap() - min.unwrap() <= 1,
                "{range:?} in {count}: {sizes:?}"
            );
            assert_eq!(sizes.iter().sum::<u64>(), range.end - range.start);
            if small {
                union.sort_unstable();
                assert_eq!(
                    union,
                    range.clone().collect::<Vec<_>>(),
                    "{range:?} in {count}"
                );
            }
        }
    }
    // A seed's share does not depend on where the range starts.
    assert_eq!(share(2, 3).seeds(0..9).collect::<Vec<_>>(), [1, 4, 7]);
    assert_eq!(share(2, 3).seeds(5..9).collect::<Vec<_>>(), [7]);
    assert_eq!(share(3, 3).seeds(u64::MAX - 3..u64::MAX).count(), 1);
}

#[test]
fn a_share_is_i_of_n_counted_from_one_and_nothing_else() {
    let parsed = Partition::parse("2/8").expect("valid");
    assert_eq!((parsed.index(), parsed.count()), (2, 8));
    assert_eq!(parsed.to_string(), "2/8");
    assert!(Partition::parse("1/1").expect("valid").is_whole());
    assert_eq!(Partition::default(), Partition::WHOLE);
    for (text, expected) in [
        ("0/4", "counted from 1"),
        ("5/4", "no share 5 of 4"),
        ("1/0", "0 shares"),
        ("garbage", "expected I/N"),
        ("1/4/2", "expected I/N"),
        ("+1/4", "expected I/N"),
        ("-1/4", "expected I/N"),
        ("1/", "expected I/N"),
        ("/4", "expected I/N"),
        ("0x1/4", "expected I/N"),
        ("1/18446744073709551616", "too large"),
    ] {
        let error = Partition::parse(text).expect_err(text);
        assert!(error.contains(expected), "{text}: {error}");
    }
}

/// The per-run JSON lines of an output (all but its summary object).
fn run_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|line| json(line).get("summary").is_none())
        .collect()
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).expect("a JSON line")
}

#[test]
fn the_shares_of_a_campaign_together_give_exactly_its_results() {
    let seeds = 0..90;
    let options = with_bug(Bug::DoubleVote);
    let (whole, whole_summary) = share_output(
        seeds.clone(),
        options.clone(),
        false,
        Partition::WHOLE,
        true,
    );
    let mut lines = Vec::new();
    let (mut passed, mut violations, mut events) = (0, 0, 0);
    let outputs: Vec<(String, Summary)> = (1..=3)
        .map(|index| share_output(seeds.clone(), options.clone(), false, share(index, 3), true))
        .collect();
    for (index, (output, summary)) in (1..=3).zip(&outputs) {
        let seeds_here: Vec<u64> = run_lines(output)
            .iter()
            .map(|line| json(line)["seed"].as_u64().expect("seed"))
            .collect();
        assert_eq!(seeds_here.len(), 30, "share {index}");
        assert!(
            seeds_here.iter().all(|seed| seed % 3 == index - 1),
            "share {index}"
        );
        assert!(
            seeds_here.windows(2).all(|w| w[0] < w[1]),
            "not in seed order"
        );
        assert_eq!(summary.runs(), 30, "the summary counts the share only");
        let last = json(output.lines().last().expect("a summary"));
        assert_eq!(
            last["partition"],
            serde_json::json!({"index": index, "count": 3})
        );
        lines.extend(run_lines(output));
        passed += summary.passed;
        violations += summary.violations;
        events += summary.events;
    }
    lines.sort_by_key(|line| json(line)["seed"].as_u64());
    assert_eq!(
        lines,
        run_lines(&whole),
        "the union of the shares is not the campaign"
    );
    assert!(whole_summary.violations > 0 && whole_summary.passed > 0);
    assert_eq!(
        (passed, violations, events),
        (
            whole_summary.passed,
            whole_summary.violations,
            whole_summary.events
        )
    );
    let last = json(whole.lines().last().expect("a summary"));
    assert!(last.get("partition").is_none(), "{last}");
}

/// `raftsim merge` of these (name, contents) files: its output, or its error.
fn merged(files: &[(&str, &str)], json: bool) -> Result<(String, i32), String> {
    let shares = files
        .iter()
        .map(|(name, contents)| read_share(name, contents))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    let merged = merge(&shares).map_err(|error| error.to_string())?;
    let mut out = Vec::new();
    merged.write(json, &mut out).expect("written");
    Ok((
        String::from_utf8(out).expect("utf-8"),
        merged.summary.exit_code(),
    ))
}

/// Checks that the three shares of a campaign, merged, print what the
/// unsplit campaign printed, in text and in JSON, with its exit code.
fn assert_merge_gives_the_unsplit_campaign(
    seeds: std::ops::Range<u64>,
    options: RunOptions,
    stop_at_first_failure: bool,
) {
    let files: Vec<String> = (1..=3)
        .map(|index| {
            share_output(
                seeds.clone(),
                options.clone(),
                stop_at_first_failure,
                share(index, 3),
                true,
            )
            .0
        })
        .collect();
    let named = [
        ("a", files[0].as_str()),
        ("b", files[1].as_str()),
        ("c", files[2].as_str()),
    ];
    for json in [true, false] {
        let (whole, summary) = share_output(
            seeds.clone(),
            options.clone(),
            stop_at_first_failure,
            Partition::WHOLE,
            json,
        );
        // Given in any order.
        let reversed = [named[2], named[0], named[1]];
        for files in [&named, &reversed] {
            let (output, exit_code) = merged(files, json).expect("the shares merge");
            assert!(
                output == whole,
                "json {json}: merged\n{output}\nunsplit\n{whole}"
            );
            assert_eq!(exit_code, summary.exit_code());
        }
    }
}

#[test]
fn merged_shares_print_byte_for_byte_what_the_unsplit_campaign_printed() {
    assert_merge_gives_the_unsplit_campaign(0..60, with_bug(Bug::DoubleVote), false);
    // Each share stops at its own first failure; the merge stops at the
    // campaign's (seed 7 here: stale-read fails seeds 7, 10, 17, 44, 74,
    // 138 and 295 of 0..300, so the shares' own stops are 138, 7 and 17).
    let (whole, summary) = share_output(
        0..300,
        with_bug(Bug::StaleRead),
        true,
        Partition::WHOLE,
        true,
    );
    assert_eq!(summary.failing_seeds, [7], "{whole}");
    assert_merge_gives_the_unsplit_campaign(0..300, with_bug(Bug::StaleRead), true);
}

/// Asserts that merging `files` (name, contents) is refused, in text and in
/// JSON, with an error that holds `expected`.
fn assert_refused(files: &[(&str, &str)], expected: &str) {
    for json in [true, false] {
        let error = merged(files, json).expect_err(expected);
        assert!(
            error.contains(expected),
            "expected {expected}\n     got {error}"
        );
    }
}

/// The three shares of seeds 0..12 with double-vote, as `fuzz --json` wrote them.
fn three_shares() -> [String; 3] {
    let options = with_bug(Bug::DoubleVote);
    [1, 2, 3].map(|index| share_output(0..12, options.clone(), false, share(index, 3), true).0)
}

#[test]
fn merge_refuses_shares_of_different_campaigns_or_a_share_twice_or_missing() {
    let [a, b, c] = three_shares();
    let options = with_bug(Bug::DoubleVote);
    let other =
        |seeds, options, stop, partition| share_output(seeds, options, stop, partition, true).0;
    let crash = RunOptions {
        forced_faults: vec![FaultKind::Crash],
        ..options.clone()
    };
    let standard = RunOptions {
        profile: Profile::Standard,
        ..options.clone()
    };
    let b_as =
        |b: &str, expected: &str| assert_refused(&[("a", &a), ("b", b), ("c", &c)], expected);
    b_as(
        &other(0..12, RunOptions::default(), false, share(2, 3)),
        "b:5: run options `--profile swarm`, but a has `--profile swarm --bug double-vote`: \
         merge takes the shares of one campaign",
    );
    b_as(
        &other(0..12, crash, false, share(2, 3)),
        "b:5: run options `--profile swarm --bug double-vote --fault crash`, but a has",
    );
    b_as(
        &other(0..12, standard, false, share(2, 3)),
        "b:5: run options `--profile standard --bug double-vote`, but a has",
    );
    b_as(
        &other(0..12, options.clone(), true, share(2, 3)),
        "this campaign stops at its first failure, a's does not stop",
    );
    b_as(
        &other(0..15, options.clone(), false, share(2, 3)),
        "b:6: seeds 0..15, but a has seeds 0..12",
    );
    let whole = other(0..12, options.clone(), false, Partition::WHOLE);
    assert_refused(
        &[("a", &a), ("w", &whole)],
        "w:13: this campaign is not split, a's is split in 3 shares",
    );
    assert_refused(
        &[("a", &a), ("b", &b), ("b2", &b), ("c", &c)],
        "b2:1: seed 1 is also at b:1: the shares overlap (share 2/3 given twice?)",
    );
    assert_refused(
        &[("a", &a), ("b", &b)],
        "raftsim merge: share 3/3 of seeds 0..12 is missing: \
         merge takes the file of every share (2 of 3 given)",
    );
}

#[test]
fn merge_refuses_a_file_that_is_not_a_whole_share_naming_file_and_line() {
    let [a, b, c] = three_shares();
    assert!(
        b.contains("\"outcome\":\"violation\""),
        "no failing run in b:\n{b}"
    );
    let lines: Vec<&str> = b.lines().collect();
    let with_line_2 = |line: &str| [&lines[..1], &[line], &lines[1..]].concat().join("\n");
    let failing = lines
        .iter()
        .position(|line| line.contains("\"text\""))
        .expect("a failure");
    let mut untold = lines.clone();
    let without_text = json_without_text(lines[failing]);
    untold[failing] = &without_text;
    let untold_expected = format!(
        "b:{}: a run that did not pass, without its `text`",
        failing + 1
    );
    for (b, expected) in [
        (
            lines[..3].join("\n"),
            "b:3: no summary object at the end: the share did not finish, or its file was cut",
        ),
        (
            with_line_2("{\"seed\":4,\"outc"),
            "b:2: not a line of `raftsim fuzz --json` (column 15: EOF while parsing a string)",
        ),
        (
            with_line_2("fuzz: 3/4 seeds, 0 failed, 0 unknown, 5 s elapsed"),
            "b:2: a progress line of stderr: write only stdout into a share's file",
        ),
        (
            [&[lines[1], lines[0]], &lines[2..]].concat().join("\n"),
            "b:1: seed 4 where share 2/3 of seeds 0..12 runs seed 1: \
             each of its seeds once, in seed order",
        ),
        (
            format!("{b}{}\n", lines[0]),
            "b:6: a line after the summary object",
        ),
        (
            b.replace("\"passed\":", "\"passed\":1"),
            "b:5: the summary does not count the runs above it: `passed` is 1",
        ),
        (untold.join("\n"), untold_expected.as_str()),
        (String::new(), "b:1: empty"),
    ] {
        assert_refused(&[("a", &a), ("b", &b), ("c", &c)], expected);
    }
}

/// A run's JSON line without its `text` field (as a raftsim before `merge` wrote it).
fn json_without_text(line: &str) -> String {
    let mut value = json(line);
    value.as_object_mut().expect("an object").remove("text");
    value.to_string()
}

/// A summary of seeds 0..4 in which seed 1 broke a property, seed 2 met a
/// harness error whose message holds markup and a control character, and
/// seed 3 was undecided.
fn summary_of_every_verdict() -> Summary {
    let options = with_bug(Bug::DoubleVote);
    let mut summary = Summary::new(Scope {
        seeds: 0..4,
        partition: Partition::WHOLE,
        options: options.clone(),
        stop_at_first_failure: false,
    });
    let violation = (0..100)
        .map(|seed| run_seed(seed, &options))
        .find(|report| report.invariant().is_some())
        .expect("double-vote is caught within 100 seeds");
    for seed in 0..4 {
        let mut report = run_seed(seed, &options);
        report.outcome = match seed {
            0 => Outcome::Pass,
            1 => violation.outcome.clone(),
            2 => Outcome::Error("panic: <&> \"quoted\" \u{1b}[31m at x.rs:1".to_string()),
            _ => Outcome::Unknown("out of steps\nafter 3M".to_string()),
        };
        summary.count(&RunTally::of(&report));
        if seed > 0 {
            summary.failures.push(report);
        }
    }
    summary
}

#[test]
fn junit_xml_holds_one_case_per_run_and_every_failure_with_its_replay_command() {
    let summary = summary_of_every_verdict();
    let mut xml = Vec::new();
    write_junit(&summary, &mut xml).expect("written");
    let xml = String::from_utf8(xml).expect("utf-8");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites = document.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = suites.first_element_child().expect("a testsuite");
    for element in [suites, suite] {
        let counts = ["tests", "failures", "errors"].map(|name| element.attribute(name));
        assert_eq!(counts, [Some("4"), Some("1"), Some("2")], "{xml}");
    }
    let property = |name: &str| {
        suite
            .descendants()
            .find(|node| node.has_tag_name("property") && node.attribute("name") == Some(name))
            .and_then(|node| node.attribute("value"))
    };
    assert_eq!(property("seeds"), Some("0..4"));
    assert_eq!(property("bugs"), Some("double-vote"));
    let cases: Vec<roxmltree::Node> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases
        .iter()
        .filter_map(|case| case.attribute("name"))
        .collect();
    assert_eq!(names, ["seed 0", "seed 1", "seed 2", "seed 3"]);
    assert!(cases
        .iter()
        .all(|case| case.attribute("classname") == Some("raftsim.fuzz")));
    assert!(
        cases[0].first_element_child().is_none(),
        "a pass holds nothing"
    );
    let verdict = |case: &roxmltree::Node| {
        let element = case.first_element_child().expect("a failure or an error");
        let text = element.text().unwrap_or_default().to_string();
        (
            element.tag_name().name().to_string(),
            element.attribute("type").map(String::from),
            element.attribute("message").map(String::from),
            text,
        )
    };
    let (tag, kind, message, text) = verdict(&cases[1]);
    let invariant = summary.failures[0].invariant().expect("a violation").name();
    assert_eq!(
        (tag.as_str(), kind.as_deref()),
        ("failure", Some(invariant))
    );
    assert!(message.is_some_and(|m| m.starts_with(invariant)));
    assert!(
        text.starts_with(&format!("seed 1 FAILED {invariant}\n")),
        "{text}"
    );
    assert!(
        text.ends_with("replay: raftsim replay --seed 1 --bug double-vote"),
        "{text}"
    );
    let (tag, kind, message, text) = verdict(&cases[2]);
    assert_eq!(
        (tag.as_str(), kind.as_deref()),
        ("error", Some("harness-error"))
    );
    // Markup comes back as written; the control character as its escape.
    assert_eq!(
        message.as_deref(),
        Some("panic: <&> \"quoted\" \\u{1b}[31m at x.rs:1")
    );
    assert!(
        text.contains("panic: <&> \"quoted\" \\u{1b}[31m") && text.contains("replay: "),
        "{text}"
    );
    let (tag, kind, message, text) = verdict(&cases[3]);
    assert_eq!((tag.as_str(), kind.as_deref()), ("error", Some("unknown")));
    assert_eq!(
        message.as_deref(),
        Some("neither passed nor failed: out of steps after 3M")
    );
    assert!(
        text.contains("seed 3 UNKNOWN") && text.contains("replay: raftsim replay --seed 3"),
        "{text}"
    );
    // Nothing that changes from one run of the same seeds to the next.
    for attribute in ["time", "timestamp", "hostname"] {
        assert!(
            !document
                .descendants()
                .any(|n| n.attribute(attribute).is_some()),
            "{attribute}"
        );
    }
}

#[test]
fn junit_of_a_share_names_the_share_and_only_its_seeds() {
    let (_, summary) = share_output(0..10, RunOptions::default(), false, share(2, 4), false);
    let mut xml = Vec::new();
    write_junit(&summary, &mut xml).expect("written");
    let xml = String::from_utf8(xml).expect("utf-8");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = document
        .root_element()
        .first_element_child()
        .expect("a testsuite");
    assert_eq!(suite.attribute("name"), Some("raftsim fuzz (share 2/4)"));
    assert_eq!(suite.attribute("tests"), Some("3"));
    let names: Vec<&str> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|case| case.attribute("name"))
        .collect();
    assert_eq!(names, ["seed 1", "seed 5", "seed 9"]);
}

#[test]
fn xml_safe_escapes_only_what_xml_cannot_hold() {
    assert_eq!(
        xml_safe("tab\tline\nreturn\r <&> é 🦀"),
        "tab\tline\nreturn\r <&> é 🦀"
    );
    assert_eq!(
        xml_safe("a\u{0}b\u{1f}c\u{fffe}"),
        "a\\u{0}b\\u{1f}c\\u{fffe}"
    );
}
