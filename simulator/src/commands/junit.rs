//! JUnit XML of a campaign (`raftsim fuzz --junit FILE`), the form in which
//! CI systems (GitHub's test reporters, GitLab, Jenkins) show test results:
//! one `<testcase>` per run, named by its seed, classname `raftsim.fuzz`.
//!
//! A violation is a `<failure>` whose type is the invariant that broke. A
//! harness error (type `harness-error`) and an undecided run (type `unknown`)
//! are `<error>`s: neither is a pass, both make the campaign exit 4, and an
//! `<error>` is JUnit's word for a test that could not reach a verdict. Each
//! holds the run's whole failure text: the seed, the invariant, what was
//! expected and seen, and the command that replays it.
//!
//! The same seeds give the same bytes: no `timestamp`, `hostname` or `time`
//! attribute. The JUnit readers of GitLab, Jenkins and the GitHub reporters
//! take them as optional, and a wall-clock value would make two runs of one
//! campaign differ.

use std::borrow::Cow;
use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::commands::campaign::Summary;
use crate::commands::run::RunReport;
use crate::world::Outcome;

/// The `classname` of every test case.
pub const CLASSNAME: &str = "raftsim.fuzz";

/// Writes the JUnit XML of a finished campaign (or share): a `<testsuites>`
/// holding one `<testsuite>` with the counts, the campaign's options as
/// properties, and a `<testcase>` for each run in seed order.
pub fn write_junit(summary: &Summary, out: impl Write) -> io::Result<()> {
    let mut writer = Writer::new_with_indent(out, b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let name = suite_name(summary);
    let tests = summary.runs().to_string();
    let failures = summary.violations.to_string();
    // An undecided run is no pass: it is counted with the harness errors.
    let errors = (summary.errors + summary.unknown).to_string();
    let counts = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", errors.as_str()),
    ];
    writer
        .create_element("testsuites")
        .with_attribute(("name", name.as_str()))
        .with_attributes(counts)
        .write_inner_content(|writer| {
            writer
                .create_element("testsuite")
                .with_attribute(("name", name.as_str()))
                .with_attributes(counts)
                .with_attribute(("skipped", "0"))
                .write_inner_content(|writer| {
                    write_properties(writer, summary)?;
                    write_cases(writer, summary)
                })?;
            Ok(())
        })?;
    writer.get_mut().write_all(b"\n")
}

/// `raftsim fuzz`, and which share when the campaign was split.
fn suite_name(summary: &Summary) -> String {
    let partition = summary.scope.partition;
    if partition.is_whole() {
        "raftsim fuzz".to_string()
    } else {
        format!("raftsim fuzz (share {partition})")
    }
}

/// What ran, as `<property>` elements: seeds, share, profile, bugs, faults.
fn write_properties<W: Write>(writer: &mut Writer<W>, summary: &Summary) -> io::Result<()> {
    let scope = &summary.scope;
    let options = &scope.options;
    let bugs: Vec<&str> = options.bugs.iter().map(|bug| bug.name()).collect();
    let faults: Vec<&str> = options.forced_faults.iter().map(|k| k.name()).collect();
    let properties = [
        (
            "seeds",
            format!("{}..{}", scope.seeds.start, scope.seeds.end),
        ),
        ("partition", scope.partition.to_string()),
        ("profile", options.profile.name().to_string()),
        ("bugs", bugs.join(",")),
        ("faults", faults.join(",")),
        (
            "stop-at-first-failure",
            scope.stop_at_first_failure.to_string(),
        ),
    ];
    writer
        .create_element("properties")
        .write_inner_content(|writer| {
            for (name, value) in &properties {
                writer
                    .create_element("property")
                    .with_attribute(("name", *name))
                    .with_attribute(("value", value.as_str()))
                    .write_empty()?;
            }
            Ok(())
        })?;
    Ok(())
}

/// A `<testcase>` per run. The runs of a campaign are the first
/// `summary.runs()` seeds of its share, in seed order (a campaign stopped at
/// its first failure ran a prefix), so passes need no record of their own:
/// only the failures' reports are kept.
fn write_cases<W: Write>(writer: &mut Writer<W>, summary: &Summary) -> io::Result<()> {
    let scope = &summary.scope;
    let runs = usize::try_from(summary.runs()).unwrap_or(usize::MAX);
    let mut failures = summary.failures.iter().peekable();
    for seed in scope.partition.seeds(scope.seeds.clone()).take(runs) {
        let name = format!("seed {seed}");
        let case = writer
            .create_element("testcase")
            .with_attribute(("name", name.as_str()))
            .with_attribute(("classname", CLASSNAME));
        match failures.next_if(|report| report.seed() == seed) {
            None => case.write_empty()?,
            Some(report) => case.write_inner_content(|writer| write_failure(writer, report))?,
        };
    }
    assert!(
        failures.next().is_none(),
        "a failing run that is not among the runs the summary counts"
    );
    Ok(())
}

/// The `<failure>` or `<error>` of a run that did not pass: its type, a
/// one-line message, and the whole failure text with the replay command.
fn write_failure<W: Write>(writer: &mut Writer<W>, report: &RunReport) -> io::Result<()> {
    let (element, kind, message) = match &report.outcome {
        Outcome::Pass => panic!("seed {} passed, yet is among the failures", report.seed()),
        Outcome::Violation(violation) => (
            "failure",
            violation.violation.invariant.name(),
            violation.to_string(),
        ),
        Outcome::Error(message) => ("error", "harness-error", message.clone()),
        Outcome::Unknown(reason) => (
            "error",
            "unknown",
            format!("neither passed nor failed: {reason}"),
        ),
    };
    // One line: parsers turn a line break inside an attribute into a space.
    let message: Vec<&str> = message.lines().map(str::trim).collect();
    let text = report.failure_text().unwrap_or_default();
    writer
        .create_element(element)
        .with_attribute(("type", kind))
        .with_attribute(("message", xml_safe(&message.join(" ")).as_ref()))
        .write_text_content(BytesText::new(&xml_safe(&text)))?;
    Ok(())
}

/// `text` with the characters that XML 1.0 cannot hold even escaped (control
/// characters other than tab, line feed and carriage return; U+FFFE and
/// U+FFFF) written as Rust escapes (`\u{1b}`): a harness error's message can
/// quote anything, and quick-xml escapes markup, not these.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || matches!(c, '\u{20}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
    };
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if allowed(c) {
            safe.push(c);
        } else {
            safe.push_str(&c.escape_unicode().to_string());
        }
    }
    Cow::Owned(safe)
}
