//! Every file under `scenarios/` is a test of its own (named after the file), so a
//! new scenario needs no Rust; plus tests of the language itself: errors point
//! at file:line:col, `--update` rewrites expected output, the JSON form round
//! trips, input that once panicked or ran away is refused with a located
//! error, every step stops at its event limit, and the CLI's exit codes.
//!
//! `RAFTSIM_UPDATE_SCENARIOS=1 cargo test --test scenarios` rewrites the
//! expected output of every file for review.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use simulator::commands::scenario::{
    self, check_bytes, check_file, check_text, check_text_with, Scenario, StepLimits,
};

fn catalogue_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    dir.canonicalize().unwrap_or(dir)
}

fn update_requested() -> bool {
    std::env::var(scenario::UPDATE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn run_catalogue_file(path: &Path) -> Result<(), Failed> {
    match check_file(path, update_requested()) {
        Ok(checked) if checked.passed() => Ok(()),
        Ok(checked) => Err(checked.failures.join("\n\n").into()),
        Err(error) => Err(error.to_string().into()),
    }
}

/// The message of a refused input, or why the input was not refused.
fn refusal(name: &str, text: &str) -> Result<String, Failed> {
    match check_text(name, text, false) {
        Err(error) => Ok(error.to_string()),
        Ok(checked) => Err(format!("{name} was accepted: {:?}", checked.failures).into()),
    }
}

/// Fails unless `message` starts with `prefix`.
fn starts(message: &str, prefix: &str) -> Result<(), Failed> {
    if message.starts_with(prefix) {
        Ok(())
    } else {
        Err(format!("expected `{prefix}...`, got `{message}`").into())
    }
}

fn a_typo_is_reported_at_file_line_col() -> Result<(), Failed> {
    let text = "# a typo on line 3\ncluster 3\nrnu 500ms\n";
    starts(
        &refusal("typo.scen", text)?,
        "typo.scen:3:1: unknown command `rnu`",
    )?;
    let text = "cluster 3\ncrash n7\n";
    starts(
        &refusal("node.scen", text)?,
        "node.scen:2:7: unknown node `n7`",
    )?;
    // Columns count characters, not bytes: `ü` is two bytes and one column.
    let text = "cluster 3\nput n1 ü v extra\n";
    starts(
        &refusal("wide.scen", text)?,
        "wide.scen:2:12: unexpected argument `extra`",
    )
}

fn update_rewrites_expected_output() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("raftsim-scenario-update-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("stale.scen");
    let stale =
        "cluster 3 ticks=manual\n\ncampaign n1\n----\nn1 leader term 7\n\nexpect no-violation\n";
    std::fs::write(&path, stale)?;
    let before = check_file(&path, false)?;
    if before.passed() {
        return Err("a stale transcript must fail".into());
    }
    let updated = check_file(&path, true)?;
    let text = std::fs::read_to_string(&path)?;
    let after = check_file(&path, false)?;
    std::fs::remove_dir_all(&dir)?;
    if !updated.passed() || !after.passed() {
        return Err(format!("after --update the file must pass: {:?}", after.failures).into());
    }
    let expected =
        "cluster 3 ticks=manual\n\ncampaign n1\n----\nn1 candidate term 1\n\nexpect no-violation\n";
    if text != expected {
        return Err(format!("rewritten text:\n{text}").into());
    }
    Ok(())
}

fn json_form_round_trips(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let parsed = scenario::parse(&text).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&parsed)?;
    let mut back: Scenario = serde_json::from_str(&json)?;
    back.steps.iter_mut().for_each(|s| s.source = None);
    let reparsed = scenario::parse(&back.to_string()).map_err(|e| e.to_string())?;
    let same =
        parsed.steps.len() == reparsed.steps.len()
            && parsed.steps.iter().zip(&reparsed.steps).all(|(a, b)| {
                a.command == b.command && a.output == b.output && a.leading == b.leading
            });
    if !same {
        return Err(format!(
            "{}: text -> JSON -> text changed the scenario",
            path.display()
        )
        .into());
    }
    Ok(())
}

/// The examples and their kin: settings and counts that once
/// panicked, aborted, allocated gigabytes or ran for hours are refused at the
/// column where they are written.
fn out_of_range_numbers_are_refused_where_written() -> Result<(), Failed> {
    let cases = [
        (
            "cluster 3 election-ticks=4294967296\n",
            "x.scen:1:26: `election-ticks` takes a number from 2 to 10000, found `4294967296`",
        ),
        (
            "cluster 3 max-inflight=18446744073709551615\n",
            "x.scen:1:24: `max-inflight` takes a number from 1 to 1000, found `18446744073709551615`",
        ),
        (
            "cluster 3 max-inflight=1000000000\n",
            "x.scen:1:24: `max-inflight` takes a number from 1 to 1000, found `1000000000`",
        ),
        (
            "cluster 3 ticks=manual election-ticks=1000000000\ncampaign n1\n",
            "x.scen:1:39: `election-ticks` takes a number from 2 to 10000",
        ),
        (
            "cluster 3\ntick n1 100000000\n",
            "x.scen:2:9: a tick count is at most 100000, found 100000000",
        ),
        (
            "cluster 3 max-entries-per-message=0\n",
            "x.scen:1:35: `max-entries-per-message` takes a number from 1 to 100000",
        ),
        (
            "cluster 3 tick=0us\n",
            "x.scen:1:16: `tick`: a duration from 1us to 86400s, found `0us`",
        ),
        (
            "cluster 3 jitter=86401s\n",
            "x.scen:1:18: `jitter`: a duration from 0us to 86400s",
        ),
        (
            "cluster 3\nrun 18446744073709551615us\n",
            "x.scen:2:5: a duration from 0us to 86400s, found `18446744073709551615us`",
        ),
        (
            "cluster 3\nrun 99999999999999999999s\n",
            "x.scen:2:5: expected a duration",
        ),
        (
            "cluster 3\nrun-until leader-exists within 86401s\n",
            "x.scen:2:32: a duration from 0us to 86400s",
        ),
        (
            "cluster 3 heartbeat-ticks=10\n",
            "x.scen:1:11: invalid cluster settings: election timeout (10 ticks) must exceed",
        ),
        (
            "cluster 3 seed=18446744073709551616\n",
            "x.scen:1:16: `seed` takes a number from 0 to 18446744073709551615",
        ),
        ("cluster 3 drop=101%\n", "x.scen:1:16: `drop` takes a percentage"),
    ];
    for (text, expected) in cases {
        starts(&refusal("x.scen", text)?, expected)?;
    }
    // The largest values allowed are accepted, and run.
    let text = "cluster 9 election-ticks=10000 heartbeat-ticks=9999 max-inflight=1000 \
                max-entries-per-message=100000 ticks=manual\ncampaign n1\n----\nn1 candidate term 1\n";
    let checked = check_text("max.scen", text, false)?;
    if !checked.passed() {
        return Err(format!("the largest settings must run: {:?}", checked.failures).into());
    }
    Ok(())
}

/// Small limits, so that a runaway step is cut short in a few milliseconds.
fn small_limits(events_max: u64) -> StepLimits {
    StepLimits {
        events_max,
        ..StepLimits::default()
    }
}

/// A step that would run (nearly) for ever stops at the event limit with an
/// error at its line that names the limit, and nothing after it runs.
fn every_step_stops_at_its_event_limit() -> Result<(), Failed> {
    let cases = [
        // A day of microsecond ticks: billions of events.
        ("cluster 3 tick=1us\nrun 86400s\nstatus\n", "run 86400s"),
        (
            "cluster 3 tick=1us\nrun-until converged within 86400s\nstatus\n",
            "run-until",
        ),
        // Manual ticks are counted too.
        (
            "cluster 3 ticks=manual\ntick 100000\nstatus\n",
            "tick 100000",
        ),
        (
            "cluster 3 ticks=manual election-ticks=10000\ncampaign n1\nstatus\n",
            "campaign n1",
        ),
    ];
    for (text, command) in cases {
        // With update, output differences are not failures: only the limit is.
        let checked = check_text_with("runaway.scen", text, true, small_limits(1_000))?;
        let [failure] = checked.failures.as_slice() else {
            return Err(format!("{command}: one failure expected: {:?}", checked.failures).into());
        };
        starts(failure, &format!("runaway.scen:2:1: `{command}"))?;
        let names_limit = failure.contains("stopped after 1000 events, the limit of one step");
        if !names_limit || !failure.contains("the scenario stops here") {
            return Err(format!("{command}: the limit is not named: {failure}").into());
        }
        // `status` did not run: it would have printed every node. (No
        // rewrite at all means no step printed anything.)
        let rewritten = checked.rewritten.as_deref().unwrap_or(text);
        if !rewritten.ends_with("status\n") {
            return Err(format!("{command}: a step after the limit ran:\n{rewritten}").into());
        }
    }
    Ok(())
}

/// Messages that outrun time (a day of jitter) stop the step before the queue
/// eats the memory.
fn pending_events_are_limited() -> Result<(), Failed> {
    let limits = StepLimits {
        events_max: 1_000_000,
        pending_events_max: 1_000,
    };
    let text = "cluster 9 tick=1us jitter=86400s\nrun 1s\n";
    let checked = check_text_with("flood.scen", text, true, limits)?;
    match checked.failures.as_slice() {
        [failure]
            if failure.starts_with(
                "flood.scen:2:1: `run 1s`: stopped with 1000 events waiting at once",
            ) =>
        {
            Ok(())
        }
        other => Err(format!("expected the pending limit at 2:1: {other:?}").into()),
    }
}

/// An empty file, or one of comments only, tests nothing: it is an input
/// error (exit 2) saying so, not a pass.
fn a_file_without_commands_is_an_error() -> Result<(), Failed> {
    starts(
        &refusal("empty.scen", "")?,
        "empty.scen:1:1: the file is empty: a scenario starts with `cluster N`",
    )?;
    starts(
        &refusal("blank.scen", "\n  \n")?,
        "blank.scen:1:1: the file is empty",
    )?;
    starts(
        &refusal("comments.scen", "# only a comment\n\n# and another\n")?,
        "comments.scen:1:1: the file holds no command, only comments",
    )
}

/// A byte-order mark is not part of the text; `--update` keeps it.
fn a_byte_order_mark_is_accepted_and_kept() -> Result<(), Failed> {
    let text = "\u{feff}cluster 3 ticks=manual\ncampaign n1\n";
    let checked = check_text("bom.scen", text, true)?;
    if !checked.passed() {
        return Err(format!("{:?}", checked.failures).into());
    }
    let expected = "\u{feff}cluster 3 ticks=manual\ncampaign n1\n----\nn1 candidate term 1\n\n";
    match checked.rewritten.as_deref() {
        Some(rewritten) if rewritten == expected => {}
        other => return Err(format!("rewritten: {other:?}").into()),
    }
    let checked = check_text("bom.scen", expected, false)?;
    if !checked.passed() || checked.rewritten.is_some() {
        return Err(format!("{:?}", checked.failures).into());
    }
    Ok(())
}

/// Bytes that are not UTF-8 are an error at their line and column (in
/// characters, so the `ü` before counts once).
fn invalid_utf8_is_located() -> Result<(), Failed> {
    let cases: [(&[u8], &str); 3] = [
        (
            b"cluster 3\n# \xc3\xbc\nrun \xff1s\n",
            "bad.scen:3:5: the file is not UTF-8 text (byte 0xff)",
        ),
        (
            b"cluster 3\n\xc3\xbc\xc3\xbc\xc3",
            "bad.scen:2:3: the file is not UTF-8 text (byte 0xc3)",
        ),
        (
            b"\xfe\xffcluster 3\n",
            "bad.scen:1:1: the file is not UTF-8 text (byte 0xfe)",
        ),
    ];
    for (bytes, expected) in cases {
        match check_bytes("bad.scen", bytes, false, StepLimits::default()) {
            Err(error) => starts(&error.to_string(), expected)?,
            Ok(checked) => return Err(format!("accepted: {:?}", checked.failures).into()),
        }
    }
    Ok(())
}

/// What a failing scenario says reads like a person wrote it: no Rust debug
/// formatting (`Some(..)`, `None`, quoted strings).
fn failure_messages_have_no_debug_formatting() -> Result<(), Failed> {
    let forget_vote = std::fs::read_to_string(catalogue_dir().join("forget-vote.scen"))?;
    // Without its `expect violation`, the violation is unexpected.
    let mut text = forget_vote.replace("expect violation election-safety", "");
    text.push_str(
        "expect leader n1\nexpect no-leader\nexpect role n1 candidate\nexpect term n1 99\n\
         expect committed 5\nexpect committed n1 5\nexpect log n1 t9x1\nexpect value x 1\n\
         expect value n1 x 1\nexpect violation log-matching\nexpect no-violation\n\
         run-until committed 99 within 10ms\nrestart n1\nresume n1\ncrash n2\ncrash n2\n\
         campaign n2\nput n3 x 1\nget n1 x\nheld\nstatus\n",
    );
    let checked = check_text("readable.scen", &text, false)?;
    if checked.failures.len() < 15 {
        return Err(format!("too few failures to judge: {:?}", checked.failures).into());
    }
    for failure in &checked.failures {
        let debug = ["Some(", "None", "Ok(", "Err(", "\"", "{ "];
        if let Some(marker) = debug.iter().find(|m| failure.contains(*m)) {
            return Err(format!("`{marker}` in: {failure}").into());
        }
    }
    Ok(())
}

fn cli_exit_codes() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("raftsim-scenario-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let write = |name: &str, bytes: &[u8]| -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    };
    let cases: Vec<(PathBuf, i32, String)> = vec![
        (
            write("typo.scen", b"cluster 3\nisolate n1\nheal n1\n")?,
            2,
            "typo.scen:3:6: unexpected argument `n1`".into(),
        ),
        (
            write("failing.scen", b"cluster 3\nexpect leader n1\n")?,
            1,
            "0 passed, 1 failed\n".into(),
        ),
        (
            write("huge.scen", b"cluster 3 election-ticks=4294967296\n")?,
            2,
            "huge.scen:1:26: `election-ticks` takes a number".into(),
        ),
        (
            write("latin1.scen", b"cluster 3\n# caf\xe9\n")?,
            2,
            "latin1.scen:2:6: the file is not UTF-8 text (byte 0xe9)".into(),
        ),
        (
            write("bom.scen", b"\xef\xbb\xbfcluster 3\nexpect no-violation\n")?,
            0,
            "1 passed, 0 failed\n".into(),
        ),
        (
            PathBuf::from("/dev/null"),
            2,
            "/dev/null:1:1: the file is empty: a scenario starts with `cluster N`".into(),
        ),
    ];
    let mut wrong = Vec::new();
    for (path, code, needle) in &cases {
        let output = Command::new(env!("CARGO_BIN_EXE_raftsim"))
            .arg("scenario")
            .arg(path)
            .env_remove(scenario::UPDATE_ENV)
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let seen = output.status.code().unwrap_or(-1);
        if seen != *code || !stdout.contains(needle.as_str()) {
            wrong.push(format!(
                "{}: exit {seen} (expected {code}), output (expected to contain `{needle}`):\n{stdout}",
                path.display()
            ));
        }
    }
    std::fs::remove_dir_all(&dir)?;
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n").into())
    }
}

/// A test of the language itself, run once.
type LanguageTest = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let mut files = scenario::collect_files(&[catalogue_dir()]).expect("scenarios/ is readable");
    files.sort();
    let mut trials: Vec<Trial> = files
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map_or("?".into(), |s| s.to_string_lossy().to_string());
            let path = path.clone();
            Trial::test(format!("scenario::{name}"), move || {
                run_catalogue_file(&path)
            })
        })
        .collect();
    trials.push(Trial::test(
        "language::a_typo_is_reported_at_file_line_col",
        a_typo_is_reported_at_file_line_col,
    ));
    trials.push(Trial::test(
        "language::update_rewrites_expected_output",
        update_rewrites_expected_output,
    ));
    trials.push(Trial::test("language::cli_exit_codes", cli_exit_codes));
    let language: [(&str, LanguageTest); 7] = [
        (
            "out_of_range_numbers_are_refused_where_written",
            out_of_range_numbers_are_refused_where_written,
        ),
        (
            "every_step_stops_at_its_event_limit",
            every_step_stops_at_its_event_limit,
        ),
        ("pending_events_are_limited", pending_events_are_limited),
        (
            "a_file_without_commands_is_an_error",
            a_file_without_commands_is_an_error,
        ),
        (
            "a_byte_order_mark_is_accepted_and_kept",
            a_byte_order_mark_is_accepted_and_kept,
        ),
        ("invalid_utf8_is_located", invalid_utf8_is_located),
        (
            "failure_messages_have_no_debug_formatting",
            failure_messages_have_no_debug_formatting,
        ),
    ];
    for (name, test) in language {
        trials.push(Trial::test(format!("language::{name}"), test));
    }
    trials.push(Trial::test(
        "language::json_form_round_trips_for_every_file",
        move || {
            files
                .iter()
                .try_for_each(|path| json_form_round_trips(path))
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
