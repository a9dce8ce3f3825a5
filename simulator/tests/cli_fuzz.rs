//! Fuzzing of the command line's argument values: for every subcommand, each
//! flag that takes a value is given values a person or a script could get
//! wrong (bad seeds and ranges, `0x`, numbers too large, empty strings,
//! unknown names, stray characters). Every one must end the process with exit
//! code 2 and a one-line message on stderr that names the flag or the input:
//! never a panic (exit 101), never a stack trace, never a run.
//!
//! Deterministic and bounded: a fixed table of values, one short process each
//! (about two hundred, well under the few seconds a test may take).

use std::process::{Command, Output};

fn raftsim(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(args)
        .env_remove("RAFTSIM_SEED")
        .env_remove("RAFTSIM_SEEDS")
        .env_remove("RAFTSIM_JOBS")
        .env_remove("RAFTSIM_PARTITION")
        .envs(env.iter().copied())
        .output()
        .expect("raftsim runs")
}

/// Values that are no seed at all.
const BAD_SEEDS: &[&str] = &[
    "",
    " ",
    "-1",
    "-0",
    "0x",
    "0X",
    "0xg",
    "0x-1",
    "1.5",
    "1e3",
    "abc",
    "1_000",
    "18446744073709551616",
    "0x10000000000000000",
    "99999999999999999999999999999",
    "١",
    "🦀",
    "5..3",
    "..",
    "--",
    "nan",
];

/// Values that are no seed range.
const BAD_RANGES: &[&str] = &[
    "",
    "5..3",
    "3..3",
    "..0",
    "1..",
    "..",
    "...",
    "1...3",
    "1..2..3",
    "0x..5",
    "5..0x",
    "-1..5",
    "0..18446744073709551616",
    "18446744073709551615",
    "a..b",
    "0..🦀",
];

/// Values that are no planted bug, fault kind or profile name.
const BAD_NAMES: &[&str] = &[
    "",
    " ",
    "nope",
    "double vote",
    "double_vote",
    "DOUBLE-VOTE",
    "double-vote,stale-read",
    "-",
    "🦀",
];

/// Values that are no count.
const BAD_COUNTS: &[&str] = &[
    "",
    "-1",
    "0",
    "1.5",
    "0x10",
    "abc",
    "99999999999999999999999999",
];

/// Values that are no share `I/N` (counted from 1).
const BAD_PARTITIONS: &[&str] = &[
    "",
    " ",
    "0/4",
    "5/4",
    "1/0",
    "0/0",
    "garbage",
    "1",
    "1/",
    "/4",
    "1/4/2",
    "-1/4",
    "1/-4",
    "+1/4",
    "1 /4",
    "1.5/4",
    "0x1/4",
    "1\\4",
    "18446744073709551616/1",
    "1/18446744073709551616",
    "🦀/4",
    "١/٤",
];

/// (the arguments before the flag, the flag, its bad values)
fn cases() -> Vec<(Vec<&'static str>, &'static str, Vec<&'static str>)> {
    let names = BAD_NAMES.to_vec();
    let mut cases = vec![
        (vec!["run"], "--seed", BAD_SEEDS.to_vec()),
        (vec!["replay"], "--seed", BAD_SEEDS.to_vec()),
        (vec!["corpus", "seeds"], "--record", BAD_SEEDS.to_vec()),
        (vec!["fuzz"], "--seeds", BAD_RANGES.to_vec()),
        (vec!["fuzz"], "--jobs", [BAD_COUNTS, &["1025"]].concat()),
        (vec!["fuzz"], "--partition", BAD_PARTITIONS.to_vec()),
        (vec!["fuzz"], "--junit", vec![""]),
        (
            vec!["fuzz"],
            "--progress-every",
            vec!["", "-1", "1.5", "86401", "5s", "abc"],
        ),
        (
            vec!["replay", "--seed", "1"],
            "--events",
            BAD_COUNTS.to_vec(),
        ),
        (vec!["bench"], "--runs", [BAD_COUNTS, &["100001"]].concat()),
        (
            vec!["check-history", "--format", "porcupine-kv"],
            "--memory",
            vec!["", "abc", "1X", "99999999999999999999999G"],
        ),
        (
            vec!["check-history", "--format", "porcupine-kv"],
            "--timeout",
            vec!["", "abc", "1parsec", "99999999999999999999999h"],
        ),
        (vec!["check-history"], "--format", names.clone()),
    ];
    for command in [
        vec!["run", "--seed", "1"],
        vec!["fuzz"],
        vec!["replay", "--seed", "1"],
    ] {
        cases.push((command.clone(), "--bug", names.clone()));
        cases.push((command.clone(), "--fault", names.clone()));
        cases.push((command, "--profile", names.clone()));
    }
    cases.push((
        vec!["corpus", "seeds", "--record", "1"],
        "--bug",
        names.clone(),
    ));
    cases.push((vec!["corpus", "seeds", "--record", "1"], "--fault", names));
    cases
}

/// Asserts the process refused its arguments as a usage error should.
fn assert_usage_error(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{what}: ran and printed something"
    );
    for sign in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "internal error",
    ] {
        assert!(!stderr.contains(sign), "{what}: {stderr}");
    }
    assert_eq!(stderr.lines().count(), 1, "{what}: not one line:\n{stderr}");
}

#[test]
fn every_bad_flag_value_is_a_one_line_usage_error() {
    let mut tried = 0;
    for (before, flag, values) in cases() {
        for value in values {
            let mut args = before.clone();
            args.extend([flag, value]);
            if args[0] == "check-history" {
                args.push("history.txt"); // the file is never reached
            }
            let output = raftsim(&args, &[]);
            assert_usage_error(&output, &format!("raftsim {args:?}"));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(flag), "raftsim {args:?}: {stderr}");
            tried += 1;
        }
    }
    assert!(tried > 200, "only {tried} values tried");
}

#[test]
fn the_same_bad_values_in_environment_variables_are_usage_errors_too() {
    for (variable, command, values) in [
        ("RAFTSIM_SEED", vec!["run"], BAD_SEEDS),
        ("RAFTSIM_SEEDS", vec!["fuzz"], BAD_RANGES),
        ("RAFTSIM_JOBS", vec!["fuzz", "--seeds", "0..1"], BAD_COUNTS),
        (
            "RAFTSIM_PARTITION",
            vec!["fuzz", "--seeds", "0..1"],
            BAD_PARTITIONS,
        ),
    ] {
        for value in values {
            // A blank variable counts as unset for clap: the default applies.
            if value.trim().is_empty() {
                continue;
            }
            let output = raftsim(&command, &[(variable, value)]);
            assert_usage_error(
                &output,
                &format!("{variable}={value:?} raftsim {command:?}"),
            );
        }
    }
}

#[test]
fn a_missing_input_file_or_folder_is_a_one_line_usage_error() {
    let missing = std::env::temp_dir().join(format!("raftsim-no-such-{}", std::process::id()));
    let missing = missing.display().to_string();
    let junit = format!("{missing}/junit.xml");
    for args in [
        vec!["corpus", missing.as_str()],
        vec!["check-history", "--format", "jepsen-etcd", missing.as_str()],
        vec!["merge", missing.as_str()],
        vec!["merge", "--json", missing.as_str()],
        vec!["fuzz", "--seeds", "0..1", "--junit", junit.as_str()],
    ] {
        let output = raftsim(&args, &[]);
        assert_usage_error(&output, &format!("raftsim {args:?}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&missing), "raftsim {args:?}: {stderr}");
    }
}
