//! The scenario language: files that replay a classic Raft failure step by step,
//! the way one explains it on a whiteboard, and keep it as a test.
//!
//! A file is a transcript (the style of etcd's raft interaction tests): a
//! command a line, `#` comments, and after a command the output it must
//! produce, between a `----` line and a blank line. Every invariant checker runs
//! after every step, as in a fuzz run; a violation that no `expect violation`
//! claims fails the scenario at the line that caused it. `--update` (or
//! `RAFTSIM_UPDATE_SCENARIOS=1` under `cargo test`) rewrites the expected output
//! for review. `scenarios/README.md` documents every command.
//!
//! - [`ast`]: the commands as data, which is also the JSON form;
//! - [`parse`]: the text form, with `line:col` errors;
//! - [`exec`]: runs a scenario on a [`crate::control::Scripted`] world;
//! - this module: checking a file against its transcript, updating it, the runner.

pub mod ast;
pub mod exec;
pub mod parse;

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use ast::Scenario;
pub use exec::{execute, Failure};
pub use parse::{parse, ParseError};

/// The environment variable that makes `cargo test` rewrite expected output.
pub const UPDATE_ENV: &str = "RAFTSIM_UPDATE_SCENARIOS";
/// The extension of scenario files.
pub const EXTENSION: &str = "scen";

/// The verdict on one scenario text.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Everything wrong, each starting with `name:line:`.
    pub failures: Vec<String>,
    /// The text with the actual output in place of the expected (with `update`),
    /// if it differs from the original.
    pub rewritten: Option<String>,
}

impl Checked {
    /// Whether the scenario passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Why a file could not be checked at all (exit code 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError(pub String);

/// Parses, runs and checks one scenario text; `name` prefixes every message.
/// With `update`, output differences are not failures: the rewritten text
/// carries the actual output instead.
pub fn check_text(name: &str, text: &str, update: bool) -> Result<Checked, InputError> {
    let scenario = parse(text).map_err(|e| InputError(format!("{name}:{e}")))?;
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(&scenario)));
    let execution = match ran {
        Ok(execution) => execution,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            return Ok(Checked {
                failures: vec![format!("{name}: internal error: panic: {message}")],
                rewritten: None,
            });
        }
    };
    let mut checked = Checked::default();
    let mut updated = scenario.clone();
    for (i, step) in scenario.steps.iter().enumerate() {
        let actual = execution.outputs.get(i).cloned().unwrap_or_default();
        if actual != step.output && !update {
            checked.failures.push(format!(
                "{name}:{}: output of `{}` differs (- expected, + actual):\n{}",
                step.line,
                step.command,
                diff(&step.output, &actual)
            ));
        }
        updated.steps[i].output = actual;
    }
    for failure in &execution.failures {
        checked
            .failures
            .push(format!("{name}:{}: {}", failure.line, failure.message));
    }
    checked.failures.sort_by_key(|f| line_of(f));
    let new_text = updated.to_string();
    if update && new_text != text {
        checked.rewritten = Some(new_text);
    }
    Ok(checked)
}

fn line_of(message: &str) -> usize {
    message
        .split(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// A line diff of two small texts: ` ` same, `-` only expected, `+` only actual.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: the longest common subsequence of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            let _ = writeln!(out, "    {}", expected[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "  + {}", actual[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "  - {}", expected[i]);
            i += 1;
        }
    }
    out.trim_end().to_string()
}

/// Checks one file (and rewrites it with `update` if its output changed).
pub fn check_file(path: &Path, update: bool) -> Result<Checked, InputError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{name}: cannot read: {e}")))?;
    let checked = check_text(&name, &text, update)?;
    if let Some(new_text) = &checked.rewritten {
        std::fs::write(path, new_text)
            .map_err(|e| InputError(format!("{name}: cannot write: {e}")))?;
    }
    Ok(checked)
}

/// The scenario files named by `paths`: files as given, directories searched
/// (recursively) for `*.scen`, sorted.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_dir(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(InputError(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
    }
    Ok(files)
}

fn collect_dir(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| InputError(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            collect_dir(&path, found)?;
        } else if path.extension().is_some_and(|e| e == EXTENSION) {
            found.push(path);
        }
    }
    Ok(())
}

/// Runs every scenario under `paths`: one line per file, then the failures, then
/// `N passed, N failed`. Returns the exit code: 0 all passed, 1 a failure, 2 a
/// file that could not be read or parsed.
pub fn run_paths(paths: &[PathBuf], update: bool, out: &mut dyn Write) -> std::io::Result<i32> {
    let files = match collect_files(paths) {
        Ok(files) => files,
        Err(InputError(message)) => {
            writeln!(out, "error: {message}")?;
            return Ok(2);
        }
    };
    let (mut passed, mut failed, mut input_errors) = (0, 0, 0);
    let mut details = Vec::new();
    for file in &files {
        let (verdict, duration) = timed(|| check_file(file, update));
        let shown = file.display();
        match verdict {
            Ok(checked) if checked.passed() => {
                passed += 1;
                let note = if checked.rewritten.is_some() {
                    ", output updated"
                } else {
                    ""
                };
                writeln!(out, "pass  {shown}  ({duration}{note})")?;
            }
            Ok(checked) => {
                failed += 1;
                writeln!(out, "FAIL  {shown}  ({duration})")?;
                details.extend(checked.failures);
            }
            Err(InputError(message)) => {
                failed += 1;
                input_errors += 1;
                writeln!(out, "ERROR {shown}")?;
                details.push(message);
            }
        }
    }
    for detail in &details {
        writeln!(out, "\n{detail}")?;
    }
    if !details.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(match (input_errors, failed) {
        (0, 0) => 0,
        (0, _) => 1,
        _ => 2,
    })
}

/// Runs `f` and measures its wall time, for the runner's per-file display.
#[allow(clippy::disallowed_methods)]
fn timed<T>(f: impl FnOnce() -> T) -> (T, String) {
    // allow-nondeterminism: duration display only
    let start = std::time::Instant::now(); // allow-nondeterminism: timing display only
    let value = f();
    let elapsed = start.elapsed();
    (value, format!("{}ms", elapsed.as_millis()))
}

/// The JSON form of a scenario file.
pub fn to_json(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{name}: cannot read: {e}")))?;
    let scenario = parse(&text).map_err(|e| InputError(format!("{name}:{e}")))?;
    serde_json::to_string_pretty(&scenario)
        .map_err(|e| InputError(format!("{name}: cannot write JSON: {e}")))
}

/// The text form of a scenario's JSON form, checked as if it were read from a file.
pub fn from_json(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let json = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{name}: cannot read: {e}")))?;
    let mut scenario: Scenario = serde_json::from_str(&json)
        .map_err(|e| InputError(format!("{name}:{}:{}: {e}", e.line(), e.column())))?;
    for step in &mut scenario.steps {
        step.source = None;
    }
    let text = scenario.to_string();
    parse(&text).map_err(|e| InputError(format!("{name} (as text):{e}")))?;
    Ok(text)
}

/// The `raftsim scenario` subcommand: run (or `update`), or convert one file
/// `to_json` / `from_json`. Returns the exit code.
pub fn cli(
    paths: Vec<PathBuf>,
    update: bool,
    to_json: bool,
    from_json: bool,
) -> anyhow::Result<i32> {
    if to_json || from_json {
        let [path] = paths.as_slice() else {
            eprintln!("raftsim: --to-json and --from-json take one file");
            return Ok(2);
        };
        let converted = if to_json {
            self::to_json(path)
        } else {
            self::from_json(path)
        };
        return Ok(match converted {
            Ok(text) => {
                print!("{text}");
                if to_json {
                    println!();
                }
                0
            }
            Err(InputError(message)) => {
                eprintln!("{message}");
                2
            }
        });
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = run_paths(&paths, update, &mut out).and_then(|code| out.flush().map(|()| code));
    match written {
        Ok(code) => Ok(code),
        // The reader went away (`| head`): nothing left to tell it.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(1),
        Err(error) => Err(error.into()),
    }
}
