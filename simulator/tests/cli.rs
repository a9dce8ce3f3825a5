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

#[test]
fn check_determinism_reports_success() {
    let output = raftsim(&["run", "--seed", "11", "--check-determinism"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("deterministic"));
}

#[test]
fn bugs_lists_every_planted_bug() {
    let output = raftsim(&["bugs"]);
    let text = stdout(&output);
    for bug in raft_core::Bug::ALL {
        assert!(text.contains(bug.name()), "missing {}", bug.name());
    }
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
