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
//! - [`mod@parse`]: the text form, with `line:col` errors;
//! - [`exec`]: runs a scenario on a [`crate::drivers::script::Scripted`] world;
//! - this module: reading a file (UTF-8, a byte-order mark allowed, at most
//!   [`FILE_SIZE_MAX_BYTES`]), checking it against its transcript, updating
//!   it, the runner and its exit codes.
//!
//! Whatever a file holds, checking it ends: every number is range-checked by
//! the parser, every step is held to [`StepLimits`], and a panic inside is
//! caught and reported as an internal error at the step's line (exit 4).

pub mod ast;
pub mod exec;
pub mod parse;
mod recorded;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use ast::Scenario;
pub use exec::{execute, execute_with, Failure};
pub use parse::{parse, ParseError};

pub use crate::drivers::script::StepLimits;

/// The environment variable that makes `cargo test` rewrite expected output.
pub const UPDATE_ENV: &str = "RAFTSIM_UPDATE_SCENARIOS";
/// The extension of scenario files.
pub const EXTENSION: &str = "scen";
/// The largest scenario file read (16 MiB): a scenario is written by a person,
/// and `raftsim scenario /dev/zero` must end.
pub const FILE_SIZE_MAX_BYTES: u64 = 16 << 20;
/// The byte-order mark some editors put first; it is not part of the text.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// The verdict on one scenario text.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Everything wrong, each starting with `name:line:col:`, in line order.
    pub failures: Vec<String>,
    /// A panic in raftsim itself while the scenario ran (exit code 4):
    /// `name:line:col: internal error ...` at the step that panicked.
    pub internal_error: Option<String>,
    /// The text with the actual output in place of the expected (with `update`),
    /// if it differs from the original.
    pub rewritten: Option<String>,
}

impl Checked {
    /// Whether the scenario passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.internal_error.is_none()
    }
}

/// Why a file could not be checked at all (exit code 2): `file:line:col:
/// message` when the fault has a place in the file, `file: message` otherwise.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", located(*.location))]
pub struct InputError {
    /// The file as named on the command line.
    pub file: String,
    /// The 1-based line and column of the fault, if it has one.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// A fault of the file as a whole (it cannot be read, it is too large).
    pub fn whole(file: &str, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_string(),
            location: None,
            message: message.into(),
        }
    }

    /// A fault at `line:col` of the file.
    pub fn at(file: &str, line: usize, col: usize, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_string(),
            location: Some((line, col)),
            message: message.into(),
        }
    }

    fn parse(file: &str, error: ParseError) -> InputError {
        InputError::at(file, error.line, error.col, error.message)
    }
}

fn located(location: Option<(usize, usize)>) -> String {
    location.map_or(String::new(), |(line, col)| format!(":{line}:{col}"))
}

/// Parses, runs and checks one scenario text; `name` prefixes every message.
/// With `update`, output differences are not failures: the rewritten text
/// carries the actual output instead.
pub fn check_text(name: &str, text: &str, update: bool) -> Result<Checked, InputError> {
    check_text_with(name, text, update, StepLimits::default())
}

/// [`check_text`] with each step of the scenario held to `limits`.
pub fn check_text_with(
    name: &str,
    text: &str,
    update: bool,
    limits: StepLimits,
) -> Result<Checked, InputError> {
    // Kept out of the parsed text and put back on a rewrite.
    let (bom, text) = match text.strip_prefix(BYTE_ORDER_MARK) {
        Some(rest) => (BYTE_ORDER_MARK.to_string(), rest),
        None => (String::new(), text),
    };
    let scenario = match exec::guarded(|| parse(text)) {
        Ok(parsed) => parsed.map_err(|e| InputError::parse(name, e))?,
        Err(message) => {
            return Ok(Checked {
                internal_error: Some(format!("{name}: {message} (while parsing)")),
                ..Checked::default()
            })
        }
    };
    let execution = execute_with(&scenario, limits);
    let mut failures: Vec<(usize, usize, String)> = Vec::new();
    let mut updated = scenario.clone();
    for (i, step) in scenario.steps.iter().enumerate() {
        let actual = execution.outputs.get(i).cloned().unwrap_or_default();
        if actual != step.output && !update {
            let col = step.source.as_deref().map_or(1, |s| {
                s.chars().take_while(|c| c.is_whitespace()).count() + 1
            });
            let message = format!(
                "output of `{}` differs (- expected, + actual):\n{}",
                step.command,
                diff(&step.output, &actual)
            );
            failures.push((step.line, col, message));
        }
        updated.steps[i].output = actual;
    }
    for failure in &execution.failures {
        failures.push((failure.line, failure.col, failure.message.clone()));
    }
    failures.sort_by_key(|&(line, col, _)| (line, col));
    let mut checked = Checked {
        failures: failures
            .into_iter()
            .map(|(line, col, message)| format!("{name}:{line}:{col}: {message}"))
            .collect(),
        internal_error: execution
            .internal_error
            .map(|f| format!("{name}:{}:{}: {}", f.line, f.col, f.message)),
        rewritten: None,
    };
    let new_text = updated.to_string();
    if update && new_text != text {
        checked.rewritten = Some(bom + &new_text);
    }
    Ok(checked)
}

/// [`check_text_with`] on the bytes of a file: they must be UTF-8 (a leading
/// byte-order mark is allowed); where they are not is an error at its line
/// and column.
pub fn check_bytes(
    name: &str,
    bytes: &[u8],
    update: bool,
    limits: StepLimits,
) -> Result<Checked, InputError> {
    check_text_with(name, decode(name, bytes)?, update, limits)
}

/// The bytes of a file as text, or where they stop being UTF-8.
pub fn decode<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, InputError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let valid = std::str::from_utf8(valid).expect("valid up to here");
        let line = valid.matches('\n').count() + 1;
        let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
        let col = valid[line_start..].chars().count() + 1;
        let bad = bytes[error.valid_up_to()];
        InputError::at(
            name,
            line,
            col,
            format!("the file is not UTF-8 text (byte 0x{bad:02x})"),
        )
    })
}

/// The bytes of a file, at most [`FILE_SIZE_MAX_BYTES`] of them.
pub fn read_source(path: &Path) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::whole(&name, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    // One byte past the limit tells a file at the limit from a larger one.
    file.take(FILE_SIZE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::whole(&name, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > FILE_SIZE_MAX_BYTES {
        return Err(InputError::whole(
            &name,
            format!("larger than {FILE_SIZE_MAX_BYTES} bytes: not a scenario file"),
        ));
    }
    Ok(bytes)
}

/// A line diff of two small texts: ` ` same, `-` only expected, `+` only actual.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    // The common head and tail need no search: only what lies between does.
    let head = expected
        .iter()
        .zip(actual)
        .take_while(|(a, b)| a == b)
        .count();
    let tail = expected[head..]
        .iter()
        .rev()
        .zip(actual[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = String::new();
    for line in &expected[..head] {
        let _ = writeln!(out, "    {line}");
    }
    diff_middle(
        &expected[head..expected.len() - tail],
        &actual[head..actual.len() - tail],
        &mut out,
    );
    for line in &expected[expected.len() - tail..] {
        let _ = writeln!(out, "    {line}");
    }
    out.trim_end().to_string()
}

/// The most cells of the LCS table [`diff`] fills (32 MB of `usize`); past
/// that it shows every expected line as removed and every actual one as added.
const DIFF_CELLS_MAX: usize = 4 << 20;

fn diff_middle(expected: &[String], actual: &[String], out: &mut String) {
    let (n, m) = (expected.len(), actual.len());
    if (n + 1).saturating_mul(m + 1) > DIFF_CELLS_MAX {
        for line in expected {
            let _ = writeln!(out, "  - {line}");
        }
        for line in actual {
            let _ = writeln!(out, "  + {line}");
        }
        return;
    }
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
    let (mut i, mut j) = (0, 0);
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
}

/// Checks one file (and rewrites it with `update` if its output changed).
pub fn check_file(path: &Path, update: bool) -> Result<Checked, InputError> {
    let name = path.display().to_string();
    let bytes = read_source(path)?;
    let checked = check_bytes(&name, &bytes, update, StepLimits::default())?;
    if let Some(new_text) = &checked.rewritten {
        std::fs::write(path, new_text)
            .map_err(|e| InputError::whole(&name, format!("cannot write: {e}")))?;
    }
    Ok(checked)
}

/// The scenario files named by `paths`: files as given (anything that is not
/// a directory: `/dev/null` and pipes are read like files), directories
/// searched (recursively) for `*.scen`, sorted.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        if path.is_dir() {
            let mut found = Vec::new();
            collect_dir(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(InputError::whole(&name, "no such file or directory"));
        }
    }
    Ok(files)
}

fn collect_dir(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let name = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| InputError::whole(&name, e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| InputError::whole(&name, e.to_string()))?;
        let path = entry.path();
        // A link to a directory is not followed: a link to `..` would loop.
        let is_real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_real_dir {
            collect_dir(&path, found)?;
        } else if path.extension().is_some_and(|e| e == EXTENSION) && !path.is_dir() {
            found.push(path);
        }
    }
    Ok(())
}

/// How the files of one `raftsim scenario` fared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Files whose scenario passed.
    pub passed: usize,
    /// Files whose scenario failed (an expectation, an output, a violation, a limit).
    pub failed: usize,
    /// Files that could not be read or parsed.
    pub input_errors: usize,
    /// Files during which raftsim itself broke (a panic).
    pub internal_errors: usize,
}

impl Tally {
    /// The exit code: 4 if raftsim broke, else 2 if a file could not be read
    /// or parsed, else 1 if a scenario failed, else 0. The worst wins: a bug
    /// of the tool must not hide behind a failing scenario.
    pub fn exit_code(&self) -> i32 {
        if self.internal_errors > 0 {
            4
        } else if self.input_errors > 0 {
            2
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }

    /// Files that did not pass.
    pub fn not_passed(&self) -> usize {
        self.failed + self.input_errors + self.internal_errors
    }
}

/// Runs every scenario under `paths`: one line per file, then the failures, then
/// `N passed, N failed`. Returns the exit code ([`Tally::exit_code`]).
pub fn run_paths(paths: &[PathBuf], update: bool, out: &mut dyn Write) -> std::io::Result<i32> {
    let files = match collect_files(paths) {
        Ok(files) => files,
        Err(error) => {
            writeln!(out, "error: {error}")?;
            return Ok(2);
        }
    };
    let mut tally = Tally::default();
    let mut details = Vec::new();
    for file in &files {
        let (verdict, duration) = timed(|| check_file(file, update));
        let shown = file.display();
        match verdict {
            Ok(checked) if checked.passed() => {
                tally.passed += 1;
                let note = if checked.rewritten.is_some() {
                    ", output updated"
                } else {
                    ""
                };
                writeln!(out, "pass  {shown}  ({duration}{note})")?;
            }
            Ok(checked) => {
                let label = match checked.internal_error {
                    Some(_) => {
                        tally.internal_errors += 1;
                        "BUG  "
                    }
                    None => {
                        tally.failed += 1;
                        "FAIL "
                    }
                };
                writeln!(out, "{label} {shown}  ({duration})")?;
                details.extend(checked.failures);
                details.extend(checked.internal_error);
            }
            Err(error) => {
                tally.input_errors += 1;
                writeln!(out, "ERROR {shown}")?;
                details.push(error.to_string());
            }
        }
    }
    for detail in &details {
        writeln!(out, "\n{detail}")?;
    }
    if !details.is_empty() {
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} passed, {} failed",
        tally.passed,
        tally.not_passed()
    )?;
    Ok(tally.exit_code())
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

/// The scenario a file holds, parsed.
fn parse_file(path: &Path) -> Result<Scenario, InputError> {
    let name = path.display().to_string();
    let bytes = read_source(path)?;
    let text = decode(&name, &bytes)?;
    let text = text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text);
    parse(text).map_err(|e| InputError::parse(&name, e))
}

/// The JSON form of a scenario file.
pub fn to_json(path: &Path) -> Result<String, InputError> {
    let scenario = parse_file(path)?;
    serde_json::to_string_pretty(&scenario).map_err(|e| {
        InputError::whole(
            &path.display().to_string(),
            format!("cannot write JSON: {e}"),
        )
    })
}

/// The text form of a scenario's JSON form, checked as if it were read from a file.
pub fn from_json(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let bytes = read_source(path)?;
    let json = decode(&name, &bytes)?;
    let mut scenario: Scenario = serde_json::from_str(json)
        .map_err(|e| InputError::at(&name, e.line(), e.column(), e.to_string()))?;
    for step in &mut scenario.steps {
        step.source = None;
    }
    let text = scenario.to_string();
    parse(&text).map_err(|e| InputError::parse(&format!("{name} (as text)"), e))?;
    Ok(text)
}

/// The `raftsim scenario` subcommand: run (or `update`), or convert one file
/// `to_json` / `from_json`, or run one file and draw it (`html`,
/// `perfetto`: see [`crate::commands::timeline::scenario::cli`]). Returns
/// the exit code.
pub fn cli(
    paths: Vec<PathBuf>,
    update: bool,
    to_json: bool,
    from_json: bool,
    timeline: (Option<PathBuf>, Option<PathBuf>),
) -> anyhow::Result<i32> {
    let (html, perfetto) = timeline;
    if html.is_some() || perfetto.is_some() {
        let (html, perfetto) = (html.as_deref(), perfetto.as_deref());
        return crate::commands::timeline::scenario::cli(&paths, html, perfetto);
    }
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
            Err(error) => {
                eprintln!("{error}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_of_the_tool_outranks_every_other_exit_code() {
        let tally = |failed, input_errors, internal_errors| Tally {
            passed: 1,
            failed,
            input_errors,
            internal_errors,
        };
        assert_eq!(tally(0, 0, 0).exit_code(), 0);
        assert_eq!(tally(1, 0, 0).exit_code(), 1);
        assert_eq!(tally(1, 1, 0).exit_code(), 2);
        assert_eq!(tally(1, 1, 1).exit_code(), 4);
        assert_eq!(tally(0, 0, 1).exit_code(), 4);
        assert_eq!(tally(1, 1, 1).not_passed(), 3);
    }

    #[test]
    fn invalid_utf8_is_located_in_characters() {
        let error = decode("f.scen", b"cluster 3\n\xc3\xbc\xc3\xbc \xff").unwrap_err();
        assert_eq!(error.location, Some((2, 4)));
        assert_eq!(
            error.to_string(),
            "f.scen:2:4: the file is not UTF-8 text (byte 0xff)"
        );
        assert_eq!(decode("f.scen", b"ok").unwrap(), "ok");
    }

    #[test]
    fn an_input_error_without_a_place_names_the_file_alone() {
        let error = InputError::whole("x.scen", "cannot read: denied");
        assert_eq!(error.to_string(), "x.scen: cannot read: denied");
        let error = InputError::at("x.scen", 3, 7, "unknown node `n9`");
        assert_eq!(error.to_string(), "x.scen:3:7: unknown node `n9`");
    }

    #[test]
    fn a_diff_of_long_outputs_stays_within_its_table() {
        // 5,000 lines each way, all different: a full table would be 25M cells.
        let expected: Vec<String> = (0..5_000).map(|i| format!("e{i}")).collect();
        let actual: Vec<String> = (0..5_000).map(|i| format!("a{i}")).collect();
        let shown = diff(&expected, &actual);
        assert_eq!(
            shown.lines().filter(|l| l.starts_with("  - ")).count(),
            5_000
        );
        assert_eq!(
            shown.lines().filter(|l| l.starts_with("  + ")).count(),
            5_000
        );
    }

    #[test]
    fn a_diff_keeps_the_common_head_and_tail_and_marks_the_change() {
        let lines = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let shown = diff(&lines(&["a", "b", "c", "d"]), &lines(&["a", "x", "c", "d"]));
        assert_eq!(shown, "    a\n  + x\n  - b\n    c\n    d");
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_command() {
        let checked = check_text(
            "bom.scen",
            "\u{feff}cluster 1\nexpect no-violation\n",
            false,
        );
        assert!(checked.expect("parses").passed());
    }
}
