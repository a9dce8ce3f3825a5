//! The page of a scenario file (`raftsim scenario FILE --html OUT`): a
//! scripted scenario (`cluster N`) is run again with its world's timeline
//! recorded; a recorded run (`world seed=N`) is its seed's run with the
//! file's faults, recorded. The same file gives the same page: a scenario is
//! as deterministic as a run.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::data::{OutcomeRow, Page, Source};
use super::{recording, write_page, TimelineError};
use crate::commands::run::execute_params_schedule;
use crate::commands::scenario::ast::{Command, WorldSpec};
use crate::commands::scenario::exec::{execute_recording, Execution};
use crate::commands::scenario::parse::{world_options, world_params};
use crate::commands::scenario::{
    collect_files, decode, parse, read_source, run_paths, InputError, Scenario, StepLimits,
};
use crate::drivers::script::Scripted;
use crate::world::timeline::TimelineLimits;
use crate::world::WorldOptions;

/// The violations a scripted scenario's outcome box lists (a scenario may
/// break a property at every step after the first).
const VIOLATIONS_IN_OUTCOME_MAX: usize = 3;

/// `raftsim scenario FILE --html OUT [--perfetto OUT]`: runs the file as
/// `raftsim scenario` does (its line, the tally, its exit code), then writes
/// its page. A page draws one run: several files (or a folder of several)
/// are a usage error, exit 2; so is a file that cannot be written.
pub fn cli(paths: &[PathBuf], html: Option<&Path>, perfetto: Option<&Path>) -> anyhow::Result<i32> {
    let files = match collect_files(paths) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("{error}");
            return Ok(2);
        }
    };
    let [file] = files.as_slice() else {
        eprintln!(
            "raftsim: --html and --perfetto draw one scenario file, and {} were given: name one file",
            files.len()
        );
        return Ok(2);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = run_paths(std::slice::from_ref(file), false, &mut out)?;
    out.flush()?;
    if code == 2 {
        return Ok(code); // unreadable or not a scenario: run_paths said why
    }
    let page = page_of_file(file).map_err(|error| anyhow::anyhow!("{error}"))?;
    if let Err(error) = write_page(&page, html, perfetto) {
        eprintln!("raftsim: {error}");
        return Ok(2);
    }
    for path in html.iter().chain(perfetto.iter()) {
        eprintln!("raftsim: wrote {}", path.display());
    }
    Ok(code)
}

/// The page of the scenario file at `path`.
pub fn page_of_file(path: &Path) -> Result<Page, InputError> {
    let name = path.display().to_string();
    let bytes = read_source(path)?;
    let text = decode(&name, &bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scenario = parse(text).map_err(|e| InputError::at(&name, e.line, e.col, e.message))?;
    page_of_scenario(&name, &scenario).map_err(|e| InputError::whole(&name, e.to_string()))
}

/// The page of `scenario` (named `name` on the page).
pub fn page_of_scenario(name: &str, scenario: &Scenario) -> Result<Page, TimelineError> {
    let Some(first) = scenario.steps.first() else {
        return Err(TimelineError::NotRecorded);
    };
    match &first.command {
        Command::World(spec) => page_of_recorded_run(name, scenario, spec),
        _ => {
            let limits = Some(TimelineLimits::default());
            match execute_recording(scenario, StepLimits::default(), limits) {
                (execution, Some(scripted)) => {
                    page_of_script(name, &first.command, &execution, &scripted)
                }
                (_, None) => Err(TimelineError::NotRecorded),
            }
        }
    }
}

/// A recorded run: the seed's world, the file's faults.
fn page_of_recorded_run(
    name: &str,
    scenario: &Scenario,
    spec: &WorldSpec,
) -> Result<Page, TimelineError> {
    let schedule: Vec<_> = scenario
        .steps
        .iter()
        .filter_map(|step| match &step.command {
            Command::At(scheduled) => Some(scheduled.clone()),
            _ => None,
        })
        .collect();
    let options = world_options(spec);
    let world_options = recording(WorldOptions::default());
    let (world, report) =
        execute_params_schedule(world_params(spec), &options, world_options, &schedule);
    let mut source = Source::of_run(&report);
    source.title = format!("{name} ({spec})");
    Page::build(&world, source).ok_or(TimelineError::NotRecorded)
}

/// A scripted scenario: its world as the script left it, every violation
/// it saw, and whether its expectations held.
fn page_of_script(
    name: &str,
    cluster: &Command,
    execution: &Execution,
    scripted: &Scripted,
) -> Result<Page, TimelineError> {
    let violations = scripted.violations().to_vec();
    let kind = match () {
        _ if execution.internal_error.is_some() => "error",
        _ if !violations.is_empty() => "violation",
        _ => "pass",
    };
    let verdict = if execution.failures.is_empty() && execution.internal_error.is_none() {
        format!("scenario {name}: passed (every expectation held)")
    } else {
        format!("scenario {name}: FAILED")
    };
    let mut lines = vec![verdict];
    let failures = execution
        .failures
        .iter()
        .map(|f| format!("  {}:{}:{}: {}", name, f.line, f.col, f.message));
    lines.extend(failures);
    lines.extend(
        execution
            .internal_error
            .iter()
            .map(|f| format!("  {}:{}: {}", name, f.line, f.message)),
    );
    // The first few: the page lists every one below the timeline.
    for violation in violations.iter().take(VIOLATIONS_IN_OUTCOME_MAX) {
        lines.push(format!("  violation: {violation}"));
    }
    if violations.len() > VIOLATIONS_IN_OUTCOME_MAX {
        let more = violations.len() - VIOLATIONS_IN_OUTCOME_MAX;
        lines.push(format!(
            "  ... and {more} more violations, listed below the timeline"
        ));
    }
    let source = Source {
        title: format!("{name} ({cluster})"),
        header: vec![cluster.to_string()],
        outcome: OutcomeRow {
            kind,
            text: lines.join("\n"),
            replay: Some(format!("raftsim scenario {name}")),
        },
        violations,
    };
    Page::build(scripted.sim(), source).ok_or(TimelineError::NotRecorded)
}
