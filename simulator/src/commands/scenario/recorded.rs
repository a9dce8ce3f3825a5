//! Carries out a recorded run (a file that starts with `world seed=N`): the
//! world its seed draws, with the nemesis off and the file's `at` faults
//! injected where they say, run to its outcome by `run-to-end`, then its
//! expectations checked.

use super::ast::{Command, Expectation, Scenario, WorldSpec};
use super::exec::{failure_at, guarded, Execution};
use super::parse::{world_options, world_params};
use crate::commands::run::{execute_params_schedule, RunReport};
use crate::drivers::Scheduled;
use crate::world::{format_time, Outcome, WorldOptions};

/// Runs `scenario`, whose first command is `world` (`spec`).
pub(super) fn execute(scenario: &Scenario, spec: &WorldSpec) -> Execution {
    let mut execution = Execution::default();
    execution.outputs.push(Vec::new());
    let mut schedule: Vec<Scheduled> = Vec::new();
    let mut report: Option<RunReport> = None;
    let mut claimed = false;
    let mut run_step = &scenario.steps[0];
    for step in &scenario.steps[1..] {
        let mut out = Vec::new();
        match &step.command {
            Command::At(scheduled) if report.is_none() => schedule.push(scheduled.clone()),
            Command::At(_) | Command::RunToEnd if report.is_some() => {
                let message = "a recorded run has one `run-to-end`, after its faults";
                execution.failures.push(failure_at(step, message.into()));
            }
            Command::RunToEnd => {
                run_step = step;
                match guarded(|| run(spec, &schedule)) {
                    Ok(ran) => {
                        out = outcome_lines(&ran);
                        report = Some(ran);
                    }
                    Err(message) => {
                        execution.internal_error = Some(failure_at(step, message));
                        return execution;
                    }
                }
            }
            Command::Expect(expectation) => match &report {
                None => {
                    let message = "`expect` comes after `run-to-end`: nothing ran yet";
                    execution.failures.push(failure_at(step, message.into()));
                }
                Some(report) => {
                    claimed |= matches!(expectation, Expectation::Violation { .. });
                    if let Some(message) = unmet(expectation, report) {
                        execution.failures.push(failure_at(step, message));
                    }
                }
            },
            other => unreachable!("the parser keeps `{other}` out of a recorded run"),
        }
        execution.outputs.push(out);
    }
    let failure = match &report {
        None => Some("a recorded run ends with `run-to-end`: nothing ran".to_string()),
        Some(report) if report.invariant().is_some() && !claimed => Some(format!(
            "unexpected violation of {}: `expect violation {}` claims it",
            name(report),
            name(report)
        )),
        _ => None,
    };
    if let Some(message) = failure {
        execution.failures.push(failure_at(run_step, message));
    }
    execution
}

/// The run the file describes.
fn run(spec: &WorldSpec, schedule: &[Scheduled]) -> RunReport {
    let options = world_options(spec);
    let params = world_params(spec);
    execute_params_schedule(params, &options, WorldOptions::default(), schedule).1
}

/// The invariant a report names, or `none`.
fn name(report: &RunReport) -> &'static str {
    report.invariant().map_or("none", |i| i.name())
}

/// What `run-to-end` prints: the outcome, then the run's size and hash.
fn outcome_lines(report: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    match &report.outcome {
        Outcome::Pass => out.push("pass".into()),
        Outcome::Violation(violation) => {
            out.push(format!(
                "VIOLATION at step {}, t={}",
                violation.step,
                format_time(violation.time_us)
            ));
            for line in violation.violation.to_string().lines() {
                out.push(format!("  {line}"));
            }
        }
        Outcome::Error(message) => out.push(format!("ERROR {message}")),
        Outcome::Unknown(reason) => out.push(format!("UNKNOWN {reason}")),
    }
    out.push(format!(
        "{} events, {} virtual, trace hash {}",
        report.events,
        format_time(report.virtual_time_us),
        report.trace_hash_hex()
    ));
    out
}

/// Why `expectation` does not hold of the run, if it does not.
fn unmet(expectation: &Expectation, report: &RunReport) -> Option<String> {
    match expectation {
        Expectation::Violation { invariant } if name(report) != invariant => Some(format!(
            "expected a violation of {invariant}, the run ended with {}",
            match report.invariant() {
                Some(seen) => format!("a violation of {}", seen.name()),
                None => report.outcome_name().to_string(),
            }
        )),
        Expectation::NoViolation if report.invariant().is_some() => Some(format!(
            "expected no violation, the run broke {}",
            name(report)
        )),
        _ => None,
    }
}
