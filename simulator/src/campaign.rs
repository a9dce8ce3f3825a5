//! Many seeds across cores. Each run stays single-threaded; results are reported
//! in seed order whatever the thread count, so a campaign's output is itself
//! deterministic.
//!
//! Progress goes to stderr only, never into the results: a bar on a terminal,
//! a plain line every few seconds of wall time elsewhere (CI logs, where a bar
//! prints nothing until the end).

use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::time::{Duration, Instant};

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

/// How a campaign shows its progress on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar redrawn in place: for a terminal.
    Bar,
    /// A plain line (`fuzz: 3200/10000 seeds, 0 failed, 0 unknown, 12 s
    /// elapsed`) whenever this much wall time has passed since the last one,
    /// checked after each chunk of seeds, and one at the end: for logs.
    Lines(Duration),
    /// Nothing.
    Hidden,
}

impl Progress {
    /// Wall time between two progress lines when stderr is not a terminal.
    pub const LINE_INTERVAL: Duration = Duration::from_secs(5);

    /// The bar when stderr is a terminal, else a line every [`Progress::LINE_INTERVAL`].
    pub fn for_stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bar
        } else {
            Progress::Lines(Progress::LINE_INTERVAL)
        }
    }
}

/// The plain progress line, e.g. `fuzz: 3200/10000 seeds, 0 failed, 0
/// unknown, 12 s elapsed`.
pub fn progress_line(done: u64, total: u64, summary: &Summary, elapsed: Duration) -> String {
    format!(
        "fuzz: {done}/{total} seeds, {} failed, {} unknown, {} s elapsed",
        summary.failed(),
        summary.unknown,
        elapsed.as_secs()
    )
}

/// Runs a campaign, writing results to `out` as they complete (in seed order)
/// and its progress to stderr as [`Progress::for_stderr`] chooses.
pub fn run_campaign(campaign: &Campaign, out: &mut dyn Write) -> std::io::Result<Summary> {
    run_campaign_showing(campaign, out, Progress::for_stderr())
}

/// Runs a campaign, writing results to `out` as they complete (in seed order)
/// and its progress to stderr as `progress` says. What goes to `out` never
/// depends on the progress shown or on timing.
pub fn run_campaign_showing(
    campaign: &Campaign,
    out: &mut dyn Write,
    progress: Progress,
) -> std::io::Result<Summary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(campaign.jobs)
        .build()
        .map_err(std::io::Error::other)?;
    let total = campaign.seeds.end - campaign.seeds.start;
    let mut shown = ShownProgress::new(progress, total);
    let mut summary = Summary::default();
    let mut start = campaign.seeds.start;
    while start < campaign.seeds.end {
        let end = campaign.seeds.end.min(start.saturating_add(CHUNK_SEEDS));
        let reports: Vec<RunReport> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|seed| {
                    let report = run_seed(seed, &campaign.options);
                    shown.seed_done();
                    report
                })
                .collect()
        });
        for report in &reports {
            summary.add(report);
            write_report(campaign.json, report, out)?;
            if campaign.stop_at_first_failure && report.outcome != Outcome::Pass {
                shown.finish(&summary);
                return Ok(summary);
            }
        }
        shown.chunk_done(&summary);
        start = end;
    }
    shown.finish(&summary);
    Ok(summary)
}

/// The progress display of one campaign.
struct ShownProgress {
    bar: Option<ProgressBar>,
    // With `Progress::Lines`: the interval, when the campaign started and
    // when the last line was printed.
    lines: Option<(Duration, Instant, Instant)>,
    total: u64,
    done: u64,
    // The count of the last line printed, so the closing line is not a repeat.
    done_printed: Option<u64>,
}

impl ShownProgress {
    // allow-nondeterminism: progress display only (wall time never reaches a run)
    #[allow(clippy::disallowed_methods)]
    fn new(progress: Progress, total: u64) -> ShownProgress {
        let bar = (progress == Progress::Bar).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds  {msg}  [{elapsed_precise}, eta {eta}]",
                )
                .expect("a valid template"),
            );
            bar
        });
        let lines = match progress {
            Progress::Lines(interval) => {
                let now = Instant::now(); // allow-nondeterminism: progress display only
                Some((interval, now, now))
            }
            Progress::Bar | Progress::Hidden => None,
        };
        ShownProgress {
            bar,
            lines,
            total,
            done: 0,
            done_printed: None,
        }
    }

    /// One run finished (called from the worker threads).
    fn seed_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// A chunk's reports were written: the bar's message, or a line if one is due.
    // allow-nondeterminism: progress display only (wall time never reaches a run)
    #[allow(clippy::disallowed_methods)]
    fn chunk_done(&mut self, summary: &Summary) {
        self.done = summary.passed + summary.failed() + summary.unknown;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} failed", summary.failed()));
        }
        if let Some((interval, started, last)) = &mut self.lines {
            let now = Instant::now(); // allow-nondeterminism: progress display only
            if now.duration_since(*last) >= *interval {
                *last = now;
                let line = progress_line(self.done, self.total, summary, now - *started);
                eprintln!("{line}");
                self.done_printed = Some(self.done);
            }
        }
    }

    /// The campaign ended: clear the bar, or print the last line.
    fn finish(&mut self, summary: &Summary) {
        self.done = summary.passed + summary.failed() + summary.unknown;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some((_, started, _)) = &self.lines {
            if self.done_printed != Some(self.done) {
                let line = progress_line(self.done, self.total, summary, started.elapsed());
                eprintln!("{line}");
            }
        }
    }
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
