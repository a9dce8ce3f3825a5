//! Many seeds across cores. Each run stays single-threaded; results are reported
//! in seed order whatever the thread count, so a campaign's output is itself
//! deterministic.

use std::io::Write;
use std::ops::Range;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use crate::params::RunOptions;
use crate::run::{run_seed, Linearizability, RunReport};
use crate::sim::Outcome;

/// Seeds are run in chunks of this many so results stream out in order.
const CHUNK_SEEDS: u64 = 64;

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// The seeds, half-open.
    pub seeds: Range<u64>,
    /// Worker threads.
    pub jobs: usize,
    /// Bugs and forced faults for every run.
    pub options: RunOptions,
    /// JSON lines on stdout instead of text.
    pub json: bool,
    /// Stop at the first failing seed (in seed order).
    pub stop_at_first_failure: bool,
}

/// What a campaign found.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Runs that passed.
    pub passed: u64,
    /// Runs that broke a property.
    pub violations: u64,
    /// Runs the harness could not finish.
    pub errors: u64,
    /// Runs whose history check was undecided: neither passed nor failed.
    pub unknown: u64,
    /// End-of-run history checks: linearizable.
    pub linearizable: u64,
    /// End-of-run history checks: not linearizable.
    pub not_linearizable: u64,
    /// End-of-run history checks that ran out of budget.
    pub linearizability_unknown: u64,
    /// Events simulated in all.
    pub events: u64,
    /// Virtual time simulated in all.
    pub virtual_time_us: u64,
    /// The reports of the failing runs, in seed order.
    pub failures: Vec<RunReport>,
}

impl Summary {
    fn add(&mut self, report: &RunReport) {
        match report.outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Violation(_) => self.violations += 1,
            Outcome::Error(_) => self.errors += 1,
            Outcome::Unknown(_) => self.unknown += 1,
        }
        match report.linearizability {
            Linearizability::Linearizable => self.linearizable += 1,
            Linearizability::NotLinearizable => self.not_linearizable += 1,
            Linearizability::Unknown => self.linearizability_unknown += 1,
            Linearizability::Unchecked => {}
        }
        self.events += report.events;
        self.virtual_time_us += report.virtual_time_us;
        if report.outcome != Outcome::Pass {
            self.failures.push(report.clone());
        }
    }

    /// Runs that failed: a violation or a harness error (undecided runs are
    /// counted apart, in `unknown`).
    pub fn failed(&self) -> u64 {
        self.violations + self.errors
    }

    /// The process exit code: 0 all passed, 1 a violation, 4 a harness error
    /// or an undecided run.
    pub fn exit_code(&self) -> i32 {
        if self.violations > 0 {
            1
        } else if self.errors > 0 || self.unknown > 0 {
            4
        } else {
            0
        }
    }

    /// The summary as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "summary": true,
            "passed": self.passed,
            "failed": self.failed(),
            "violations": self.violations,
            "errors": self.errors,
            "unknown": self.unknown,
            "linearizability": {
                "checked": self.linearizable + self.not_linearizable + self.linearizability_unknown,
                "linearizable": self.linearizable,
                "not_linearizable": self.not_linearizable,
                "unknown": self.linearizability_unknown,
            },
            "events": self.events,
            "virtual_time_us": self.virtual_time_us,
            "failing_seeds": self.failures.iter().map(|r| r.seed()).collect::<Vec<_>>(),
        })
    }
}

/// Runs a campaign, writing results to `out` as they complete (in seed order)
/// and a progress bar to stderr.
pub fn run_campaign(campaign: &Campaign, out: &mut dyn Write) -> std::io::Result<Summary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(campaign.jobs)
        .build()
        .map_err(std::io::Error::other)?;
    let total = campaign.seeds.end - campaign.seeds.start;
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds  {msg}  [{elapsed_precise}, eta {eta}]",
        )
        .expect("a valid template"),
    );
    let mut summary = Summary::default();
    let mut start = campaign.seeds.start;
    while start < campaign.seeds.end {
        let end = campaign.seeds.end.min(start.saturating_add(CHUNK_SEEDS));
        let reports: Vec<RunReport> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|seed| {
                    let report = run_seed(seed, &campaign.options);
                    progress.inc(1);
                    report
                })
                .collect()
        });
        for report in &reports {
            summary.add(report);
            write_report(campaign.json, report, out)?;
            if campaign.stop_at_first_failure && report.outcome != Outcome::Pass {
                progress.finish_and_clear();
                return Ok(summary);
            }
        }
        progress.set_message(format!("{} failed", summary.failed()));
        start = end;
    }
    progress.finish_and_clear();
    Ok(summary)
}

fn write_report(json: bool, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        writeln!(out, "{}", report.to_json())
    } else if let Some(text) = report.failure_text() {
        writeln!(out, "{text}")
    } else {
        Ok(())
    }
}

/// Writes the campaign's closing lines: in text mode the history-check counts,
/// then `N passed, N failed, N unknown` last; in JSON mode the summary object last.
pub fn write_summary(json: bool, summary: &Summary, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        return writeln!(out, "{}", summary.to_json());
    }
    writeln!(
        out,
        "linearizability: {} checked, {} linearizable, {} not, {} unknown",
        summary.linearizable + summary.not_linearizable + summary.linearizability_unknown,
        summary.linearizable,
        summary.not_linearizable,
        summary.linearizability_unknown
    )?;
    writeln!(
        out,
        "{} passed, {} failed, {} unknown",
        summary.passed,
        summary.failed(),
        summary.unknown
    )
}
