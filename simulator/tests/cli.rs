//! The command line as scripts and people meet it: exact output forms, exit
//! codes, and clear messages for bad input (never a panic).

use std::process::{Command, Output};

fn raftsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .output()
        .expect("raftsim runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_json_has_the_promised_fields() {
    let output = raftsim(&["run", "--seed", "5", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!(value["seed"], 5);
    assert_eq!(value["outcome"], "pass");
    assert!(value["trace_hash"].as_str().is_some_and(|h| h.len() == 16));
    assert!(value["events"].as_u64().is_some_and(|e| e > 0));
    assert!(value["virtual_time_us"].as_u64().is_some_and(|t| t > 0));
    assert!(value.get("text").is_none(), "a pass has no failure text");
}

#[test]
fn run_json_of_a_failure_holds_its_text_as_printed() {
    let args = ["run", "--seed", "7", "--bug", "stale-read"];
    let text = raftsim(&args);
    let json = raftsim(&[&args[..], &["--json"]].concat());
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&json).trim()).expect("one JSON object");
    let printed = stdout(&text);
    let failure = value["text"].as_str().expect("a text field");
    assert!(printed.contains(failure), "{failure}\nnot in\n{printed}");
    assert_eq!(value["invariant"], "linearizability");
}

#[test]
fn fuzz_ends_with_the_count_line() {
    let output = raftsim(&["fuzz", "--seeds", "0..8", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().last(),
        Some("8 passed, 0 failed, 0 unknown")
    );
}

#[test]
fn fuzz_json_is_one_object_per_run_then_a_summary() {
    let output = raftsim(&["fuzz", "--seeds", "3..6", "--json"]);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines
            .iter()
            .take(3)
            .map(|l| l["seed"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(lines[3]["summary"], true);
    assert_eq!(lines[3]["passed"], 3);
}

#[test]
fn a_violation_exits_1_and_prints_the_replay_command() {
    let output = raftsim(&[
        "fuzz",
        "--seeds",
        "0..200",
        "--bug",
        "vote-without-log-check",
        "--stop-at-first-failure",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("replay: raftsim replay --seed"), "{text}");
    assert!(text.contains("--bug vote-without-log-check"), "{text}");
}

#[test]
fn replay_shows_events_and_every_node() {
    let output = raftsim(&["replay", "--seed", "2", "--events", "50"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("state of every node"), "{text}");
    assert!(text.contains("n1:") && text.contains("n3:"), "{text}");
}

/// Rust debug output that a person must never have to read.
const DEBUG_FORMS: [&str; 6] = [
    "Some(",
    "None",
    "Text(",
    "Keyword(",
    "NotLeader(",
    "Violation {",
];

fn assert_no_debug_output(text: &str) {
    for form in DEBUG_FORMS {
        assert!(!text.contains(form), "{form} in:\n{text}");
    }
}

/// The event lines of a replay (`[time #n] ...`) that are clock ticks.
fn tick_lines(text: &str) -> usize {
    text.lines()
        .filter(|line| line.starts_with('[') && line.ends_with(" tick"))
        .count()
}

#[test]
fn replay_shows_ticks_only_when_asked_or_when_they_change_something() {
    let quiet = stdout(&raftsim(&["replay", "--seed", "2", "--events", "300"]));
    let ticks = stdout(&raftsim(&[
        "replay", "--seed", "2", "--events", "300", "--ticks",
    ]));
    assert!(tick_lines(&ticks) > 50, "{ticks}");
    // A tick shown without --ticks is one that caused something, shown under it.
    let lines: Vec<&str> = quiet.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        if line.starts_with('[') && line.ends_with(" tick") {
            let next = lines.get(index + 1).copied().unwrap_or_default();
            assert!(next.starts_with("    "), "a quiet tick shown: {line}");
        }
    }
    assert!(tick_lines(&quiet) < tick_lines(&ticks) / 5, "{quiet}");
    // Same run, same ending.
    assert_eq!(quiet.lines().last(), ticks.lines().last());
}

#[test]
fn replay_of_a_double_vote_tells_who_led_and_the_second_vote() {
    let output = raftsim(&["replay", "--seed", "1", "--bug", "double-vote"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert_no_debug_output(&text);
    assert!(
        text.contains("--- the whole run: leaders and faults ---"),
        "{text}"
    );
    // The story names the leaders; the violation is the second vote of a
    // term leaving while the disk holds the first (the node's own).
    assert!(text.contains("n2 becomes LEADER of term 1 "), "{text}");
    assert!(
        text.contains("durable-answer: node 5, term 2; expected n5 to answer n1 only once its vote for n1 in term 2 is on its disk, seen the answer left while its disk holds term 2 vote n5"),
        "{text}"
    );
    // Votes are shown as they leave, and commits as they move.
    assert!(text.contains("sent n5 -> n1 t2 vote granted"), "{text}");
    assert!(text.contains(" commit "), "{text}");
    assert!(text.ends_with("replay: raftsim replay --seed 1 --bug double-vote\n"));
}

#[test]
fn replay_of_a_stale_read_shows_the_faults_and_the_old_leader() {
    let output = raftsim(&["replay", "--seed", "7", "--bug", "stale-read"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert_no_debug_output(&text);
    // The story names the leaders and the partition that cut the first off.
    assert!(text.contains("n3 becomes LEADER of term 1 "), "{text}");
    assert!(text.contains("n4 becomes LEADER of term 2 "), "{text}");
    assert!(
        text.contains("partition n1 n2 n4 n5 n6 n7 n8 n9 | n3"),
        "{text}"
    );
    assert!(text.contains("FAILED linearizability"), "{text}");
    assert!(text.contains("not linearizable on key \"k0\""), "{text}");
}

#[test]
fn check_determinism_reports_success() {
    let output = raftsim(&["run", "--seed", "11", "--check-determinism"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("deterministic"));
}

#[test]
fn check_determinism_json_is_one_object() {
    let output = raftsim(&["run", "--seed", "11", "--check-determinism", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!(value["seed"], 11);
    assert_eq!(value["deterministic"], true);
    assert_eq!(value["outcome"], "pass");
    let plain = raftsim(&["run", "--seed", "11", "--json"]);
    let plain: serde_json::Value =
        serde_json::from_str(stdout(&plain).trim()).expect("one JSON object");
    assert_eq!(value["trace_hash"], plain["trace_hash"]);
}

#[test]
fn check_determinism_runs_on_a_violating_seed_and_keeps_its_exit_code() {
    let args = [
        "run",
        "--seed",
        "1",
        "--bug",
        "double-vote",
        "--check-determinism",
    ];
    let output = raftsim(&args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("deterministic: seed 1 ran twice"),
        "{text}"
    );
    assert!(text.contains("seed 1 FAILED durable-answer"), "{text}");
    let output = raftsim(&[&args[..], &["--json"]].concat());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!(value["deterministic"], true);
    assert_eq!(value["outcome"], "violation");
    assert_eq!(value["invariant"], "durable-answer");
    assert_eq!(value["exit_code"], 1);
}

#[test]
fn fuzz_without_a_terminal_prints_plain_progress_lines() {
    // stderr is a pipe here, as in CI: plain lines, the results unchanged.
    let every_chunk = raftsim(&["fuzz", "--seeds", "0..150", "--progress-every", "0"]);
    assert_eq!(
        every_chunk.status.code(),
        Some(0),
        "{}",
        stderr(&every_chunk)
    );
    let lines: Vec<String> = stderr(&every_chunk).lines().map(String::from).collect();
    let counts: Vec<&str> = lines
        .iter()
        .map(|line| line.split(" seeds").next().unwrap_or_default())
        .collect();
    assert_eq!(
        counts,
        ["fuzz: 64/150", "fuzz: 128/150", "fuzz: 150/150"],
        "{lines:?}"
    );
    for line in &lines {
        assert!(
            line.contains(" seeds, 0 failed, 0 unknown, ") && line.ends_with(" s elapsed"),
            "{line}"
        );
    }
    let default = raftsim(&["fuzz", "--seeds", "0..150"]);
    assert_eq!(default.stdout, every_chunk.stdout, "the results changed");
    // Every 5 s by default: a run this short shows (at least) its closing line.
    let closing = stderr(&default).lines().last().map(String::from);
    assert!(
        closing.is_some_and(|line| line.starts_with("fuzz: 150/150 seeds, 0 failed")),
        "{}",
        stderr(&default)
    );
}

/// A fresh, empty folder of its own for one test.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("raftsim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn corpus_on_a_missing_or_empty_folder_exits_2_naming_it() {
    let dir = fresh_dir("corpus-missing");
    let missing = dir.join("no-such-folder").display().to_string();
    let output = raftsim(&["corpus", &missing]);
    assert_exit(&output, 2, &stdout(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "raftsim: no corpus folder at {missing}: give the folder of the corpus entries \
             (*.json), e.g. `raftsim corpus seeds`"
        )
    );
    let empty = dir.display().to_string();
    let output = raftsim(&["corpus", &empty]);
    assert_exit(&output, 2, &stdout(&output));
    assert!(
        stderr(&output).contains("holds no corpus entries"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn corpus_record_refuses_to_overwrite_an_entry_unless_forced() {
    let dir = fresh_dir("corpus-record").display().to_string();
    let record = ["corpus", &dir, "--record", "5", "--note", "a clean seed"];
    let output = raftsim(&record);
    assert_exit(&output, 0, &stderr(&output));
    let entry = format!("{dir}/clean-5.json");
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!("wrote {entry}: pass, trace hash ")),
        "{text}"
    );
    assert_no_debug_output(&text);

    let output = raftsim(&record);
    assert_exit(&output, 2, &stdout(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        format!("raftsim: {entry} already exists; pass --force to overwrite it")
    );
    let output = raftsim(&[&record[..], &["--force"]].concat());
    assert_exit(&output, 0, &stderr(&output));

    let output = raftsim(&["corpus", &dir, "--record", "1", "--bug", "double-vote"]);
    assert_exit(&output, 0, &stderr(&output));
    assert!(
        stdout(&output).contains("double-vote-1.json: violation of durable-answer, trace hash "),
        "{}",
        stdout(&output)
    );
    let output = raftsim(&["corpus", &dir]);
    assert_exit(&output, 0, &stderr(&output));
    assert!(
        stdout(&output).ends_with("2 passed, 0 failed\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bugs_lists_every_planted_bug() {
    let output = raftsim(&["bugs"]);
    let text = stdout(&output);
    for bug in raft_core::Bug::every() {
        assert!(text.contains(bug.name()), "missing {}", bug.name());
    }
    assert!(text.contains("not found by the campaign"), "{text}");
}

#[test]
fn bad_input_is_a_clear_usage_error_not_a_panic() {
    for (args, expected) in [
        (vec!["fuzz", "--seeds", "9..3"], "empty range"),
        (vec!["fuzz", "--seeds", "abc"], "not a seed"),
        (vec!["run", "--seed", "-4"], "seed"),
        (
            vec!["run", "--seed", "1", "--bug", "nope"],
            "planted bugs are",
        ),
        (
            vec!["run", "--seed", "1", "--fault", "meteor"],
            "fault kinds are",
        ),
        (vec!["fuzz", "--jobs", "0"], "jobs"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let output = raftsim(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

/// Writes `text` to a file of its own for this test process; its path.
fn history_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("raftsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write history");
    path.display().to_string()
}

const KV_OK: &str = r#"{:process 0, :type :invoke, :f :append, :key "k", :value "a"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :append, :key "k", :value "a"}
{:process 1, :type :ok, :f :get, :key "k", :value "a"}
"#;

/// The get returns after the append completed, yet reads the old value.
const KV_STALE: &str = r#"{:process 0, :type :invoke, :f :append, :key "k", :value "a"}
{:process 0, :type :ok, :f :append, :key "k", :value "a"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 1, :type :ok, :f :get, :key "k", :value ""}
"#;

/// `raftsim check-history --format porcupine-kv FILES`.
fn check_kv_files(files: &[&str]) -> Output {
    let mut args = vec!["check-history", "--format", "porcupine-kv"];
    args.extend_from_slice(files);
    raftsim(&args)
}

/// Asserts that `output` exited with `code`, showing `shown` if not.
fn assert_exit(output: &Output, code: i32, shown: &str) {
    assert_eq!(output.status.code(), Some(code), "{shown}");
}

#[test]
fn check_history_exit_codes_are_0_1_2() {
    let ok = history_file("ok.txt", KV_OK);
    let output = check_kv_files(&[&ok]);
    assert_exit(&output, 0, &stderr(&output));
    assert!(stdout(&output).starts_with(&format!("{ok}\tlinearizable\t")));

    let stale = history_file("stale.txt", KV_STALE);
    let output = check_kv_files(&[&ok, &stale]);
    assert_exit(&output, 1, &stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("{stale}\tNOT linearizable\t")),
        "{text}"
    );
    // The explanation names the key and the read that fits nowhere.
    assert!(text.contains(r#"not linearizable on key "k""#), "{text}");
    assert!(text.contains(r#"get "k" -> """#), "{text}");
}

#[test]
fn check_history_unreadable_files_exit_2_with_file_and_line() {
    let truncated = history_file(
        "truncated.txt",
        "{:process 0, :type :invoke, :f :append, :key \"k\", :value \"a\"}\n{:process 0, :type :ok, :f :app",
    );
    let output = check_kv_files(&[&truncated]);
    assert_exit(&output, 2, &stdout(&output));
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!(
            "{truncated}:2:32: truncated line: the map is not closed with `}}`"
        )),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");

    // A missing file has no line to name; the files after it are still checked.
    let missing = format!("{truncated}.missing");
    let ok = history_file("ok-after-missing.txt", KV_OK);
    let output = check_kv_files(&[&missing, &ok]);
    assert_exit(&output, 2, &stdout(&output));
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!("{missing}: cannot read:")),
        "{message}"
    );
    assert!(stdout(&output).contains(&format!("{ok}\tlinearizable\t")));
}

/// `raftsim fuzz ARGS` with `RAFTSIM_PARTITION` set to `partition`.
fn fuzz_with_partition_variable(partition: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .arg("fuzz")
        .args(args)
        .env("RAFTSIM_PARTITION", partition)
        .output()
        .expect("raftsim runs")
}

#[test]
fn fuzz_partition_runs_and_counts_only_its_share() {
    // Seeds 0..11 in 4 shares: 1/4 runs 0, 4, 8; 4/4 runs 3, 7.
    let last_line = |output: &Output| stdout(output).lines().last().map(String::from);
    let first = raftsim(&["fuzz", "--seeds", "0..11", "--partition", "1/4", "--json"]);
    assert_exit(&first, 0, &stderr(&first));
    let seeds: Vec<u64> = stdout(&first)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| value["seed"].as_u64())
        .collect();
    assert_eq!(seeds, [0, 4, 8]);
    let last = fuzz_with_partition_variable("4/4", &["--seeds", "0..11"]);
    assert_exit(&last, 0, &stderr(&last));
    assert_eq!(
        last_line(&last).as_deref(),
        Some("2 passed, 0 failed, 0 unknown")
    );
    // The flag wins over its environment twin.
    let both = fuzz_with_partition_variable("4/4", &["--seeds", "0..11", "--partition", "1/4"]);
    assert_eq!(
        last_line(&both).as_deref(),
        Some("3 passed, 0 failed, 0 unknown")
    );
}

/// Runs `raftsim fuzz` on each share of `args`' campaign, writing each
/// share's `--json` output to a file of `dir`; the files' paths.
fn fuzz_shares(dir: &std::path::Path, args: &[&str], count: u64) -> Vec<String> {
    (1..=count)
        .map(|index| {
            let partition = format!("{index}/{count}");
            let output = raftsim(&[args, &["--json", "--partition", &partition]].concat());
            let path = dir.join(format!("share-{index}.jsonl"));
            std::fs::write(&path, &output.stdout).expect("share written");
            path.display().to_string()
        })
        .collect()
}

#[test]
fn a_campaign_fuzzed_in_three_shares_and_merged_prints_what_it_prints_unsplit() {
    let dir = fresh_dir("merge");
    let campaign = [
        "fuzz",
        "--seeds",
        "0..45",
        "--bug",
        "double-vote",
        "--jobs",
        "2",
    ];
    let shares = fuzz_shares(&dir, &campaign, 3);
    let reversed: Vec<&str> = shares.iter().rev().map(String::as_str).collect();
    for json in [&[][..], &["--json"]] {
        let unsplit = raftsim(&[&campaign[..], json].concat());
        assert_exit(&unsplit, 1, &stderr(&unsplit));
        let merged = raftsim(&[&["merge"][..], json, &reversed].concat());
        assert_exit(&merged, 1, &stderr(&merged));
        assert!(
            merged.stdout == unsplit.stdout,
            "merged:\n{}\nunsplit:\n{}",
            stdout(&merged),
            stdout(&unsplit)
        );
        assert!(stderr(&merged).is_empty(), "{}", stderr(&merged));
    }
    // The merge of passing shares exits 0, as the unsplit campaign does.
    let clean = fuzz_shares(&dir, &["fuzz", "--seeds", "0..6"], 2);
    let merged = raftsim(&["merge", &clean[0], &clean[1]]);
    assert_exit(&merged, 0, &stderr(&merged));
    assert!(stdout(&merged).ends_with("\n6 passed, 0 failed, 0 unknown\n"));
}

#[test]
fn merge_refuses_an_incomplete_or_broken_set_of_shares_with_one_located_line() {
    let dir = fresh_dir("merge-refused");
    let shares = fuzz_shares(&dir, &["fuzz", "--seeds", "0..6"], 3);
    let cut = dir.join("cut.jsonl");
    let text = std::fs::read_to_string(&shares[1]).expect("share");
    let second_line = text.lines().nth(1).expect("a second line");
    let cut_text = format!(
        "{}\n{}",
        text.lines().next().expect("a line"),
        &second_line[..50]
    );
    std::fs::write(&cut, cut_text).expect("cut written");
    let cut = cut.display().to_string();
    for (files, expected) in [
        (
            vec![shares[0].as_str(), shares[1].as_str()],
            "raftsim merge: share 3/3 of seeds 0..6 is missing".to_string(),
        ),
        (
            vec![shares[0].as_str(), cut.as_str(), shares[2].as_str()],
            format!("{cut}:2: not a line of `raftsim fuzz --json` (column 50: EOF while parsing"),
        ),
        (
            vec![shares[0].as_str(), shares[0].as_str()],
            format!(
                "{}:1: seed 0 is also at {}:1: the shares overlap",
                shares[0], shares[0]
            ),
        ),
    ] {
        let output = raftsim(&[&["merge"][..], &files].concat());
        assert_exit(&output, 2, &stderr(&output));
        let message = stderr(&output);
        assert!(message.starts_with(&expected), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(output.stdout.is_empty(), "{}", stdout(&output));
    }
}

#[test]
fn fuzz_junit_is_xml_with_a_case_per_seed_and_the_same_bytes_every_time() {
    let dir = fresh_dir("junit");
    let files = ["first.xml", "second.xml"].map(|name| dir.join(name).display().to_string());
    let args = [
        "fuzz",
        "--seeds",
        "0..20",
        "--bug",
        "double-vote",
        "--partition",
        "2/2",
    ];
    for file in &files {
        let output = raftsim(&[&args[..], &["--junit", file]].concat());
        assert_exit(&output, 1, &stderr(&output));
        assert!(
            stdout(&output).ends_with(" failed, 0 unknown\n"),
            "{}",
            stdout(&output)
        );
    }
    let [first, second] = files.map(|file| std::fs::read_to_string(file).expect("written"));
    assert_eq!(first, second, "two runs of the same seeds differ");
    let document = roxmltree::Document::parse(&first).expect("well-formed XML");
    let suite = document
        .root_element()
        .first_element_child()
        .expect("a suite");
    assert_eq!(suite.attribute("tests"), Some("10"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 10);
    let failures = cases
        .iter()
        .filter(|case| case.children().any(|n| n.has_tag_name("failure")))
        .count();
    assert!(failures > 0, "{first}");
    assert_eq!(
        suite.attribute("failures"),
        Some(failures.to_string().as_str())
    );
    let replay = "replay: raftsim replay --seed ";
    assert_eq!(first.matches(replay).count(), failures, "{first}");
}
