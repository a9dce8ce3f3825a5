//! Many seeds across cores. Each run stays single-threaded; results are reported
//! in seed order whatever the thread count, so a campaign's output is itself
//! deterministic.
//!
//! A campaign can be split into shares (`--partition i/n`) run on several
//! machines; each share's summary says which share of which campaign it is
//! ([`Scope`]), so `raftsim merge` can put their results back together.
//!
//! Progress goes to stderr only, never into the results: a bar on a terminal,
//! a plain line every few seconds of wall time elsewhere (CI logs, where a bar
//! prints nothing until the end).

use std::fmt;
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use raft_core::{Bug, Bugs};
use rayon::prelude::*;
use serde_json::json;

use crate::commands::run::{run_seed, Linearizability, RunReport};
use crate::world::coverage::{Coverage, CoverageCounts, Durations, Sometimes};
use crate::world::params::{FaultKind, Profile, RunOptions};
use crate::world::Outcome;

/// Seeds are run in chunks of this many so results stream out in order.
const CHUNK_SEEDS: usize = 64;

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

/// One share of a campaign split across machines: share `index` of `count`,
/// numbered from 1 as cargo-nextest numbers its partitions (`1/4` .. `4/4`).
/// Share `i` of `n` runs the seeds `s` of the campaign's range with
/// `s % n == i - 1`.
//
// Strided rather than in blocks: the shares' sizes differ by at most one seed
// for any range and any n; if the cost of a run ever followed the seed's value
// (a stretch of slow seeds), the stretch is spread over every share instead of
// landing on one machine; and shares that move at the same pace cover a prefix
// of the campaign together, so a matrix cut short by a CI timeout has still
// run the first seeds, as the unsplit campaign would have. A seed's share
// follows from the seed alone, whatever the range's start. It is also
// cargo-nextest's `count:` split (round robin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    // Invariant: 1 <= index <= count.
    index: u64,
    count: u64,
}

impl Default for Partition {
    fn default() -> Partition {
        Partition::WHOLE
    }
}

impl Partition {
    /// The whole campaign: share 1 of 1.
    pub const WHOLE: Partition = Partition { index: 1, count: 1 };

    /// Share `index` of `count`, counted from 1; an error saying what is
    /// wrong with them otherwise.
    pub fn new(index: u64, count: u64) -> Result<Partition, String> {
        if count == 0 {
            return Err("0 shares: N must be at least 1".to_string());
        }
        if index == 0 {
            return Err(format!(
                "shares are counted from 1 (as in cargo-nextest): the first of {count} is 1/{count}"
            ));
        }
        if index > count {
            return Err(format!(
                "there is no share {index} of {count}: I must be at most N"
            ));
        }
        Ok(Partition { index, count })
    }

    /// Parses `I/N` (share I of N, counted from 1: `1/4` .. `4/4`).
    pub fn parse(text: &str) -> Result<Partition, String> {
        const USAGE: &str = "expected I/N, share I of N counted from 1 (e.g. 1/4 .. 4/4)";
        let (index, count) = text.trim().split_once('/').ok_or(USAGE)?;
        let number = |digits: &str| -> Result<u64, String> {
            // Digits only: `u64::from_str` would take `+1`, which no one means.
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(USAGE.to_string());
            }
            digits
                .parse()
                .map_err(|_| format!("{digits} is too large: at most {}", u64::MAX))
        };
        Partition::new(number(index)?, number(count)?)
    }

    /// Which share this is, counted from 1.
    pub fn index(self) -> u64 {
        self.index
    }

    /// How many shares the campaign is split into.
    pub fn count(self) -> u64 {
        self.count
    }

    /// Whether this is the whole campaign (one share of one).
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Whether `seed` belongs to this share.
    pub fn contains(self, seed: u64) -> bool {
        seed % self.count == self.index - 1
    }

    /// The seeds of `range` in this share, in seed order.
    pub fn seeds(self, range: Range<u64>) -> impl Iterator<Item = u64> {
        let count = self.count;
        std::iter::successors(self.first_seed(&range), move |seed| {
            seed.checked_add(count).filter(|next| *next < range.end)
        })
    }

    /// How many seeds of `range` this share holds.
    pub fn seed_count(self, range: &Range<u64>) -> u64 {
        self.first_seed(range)
            .map_or(0, |first| (range.end - 1 - first) / self.count + 1)
    }

    fn first_seed(self, range: &Range<u64>) -> Option<u64> {
        let residue = range.start % self.count;
        let wanted = self.index - 1;
        let offset = if wanted >= residue {
            wanted - residue
        } else {
            self.count - (residue - wanted)
        };
        let first = range.start.checked_add(offset)?;
        assert!(self.contains(first), "{first} is not in share {self}");
        (first < range.end).then_some(first)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a campaign, or one share of it, ran: what tells whether the outputs
/// of several shares belong to one campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The seeds of the whole campaign, half-open (every share names the same).
    pub seeds: Range<u64>,
    /// Which share of them ran.
    pub partition: Partition,
    /// Profile, bugs and forced faults of every run.
    pub options: RunOptions,
    /// Whether the campaign stops at its first failing seed.
    pub stop_at_first_failure: bool,
}

impl Scope {
    /// The scope's fields of the summary object: `seeds`, `partition` (only
    /// when split, so a campaign split in one share reads as unsplit),
    /// `options`, `stop_at_first_failure`.
    fn write_json(&self, value: &mut serde_json::Value) {
        value["seeds"] = json!({ "start": self.seeds.start, "end": self.seeds.end });
        if !self.partition.is_whole() {
            value["partition"] =
                json!({ "index": self.partition.index, "count": self.partition.count });
        }
        value["options"] = json!({
            "profile": self.options.profile.name(),
            "bugs": self.options.bugs.iter().map(|bug| bug.name()).collect::<Vec<_>>(),
            "faults": self.options.forced_faults.iter().map(|kind| kind.name()).collect::<Vec<_>>(),
        });
        value["stop_at_first_failure"] = json!(self.stop_at_first_failure);
    }

    /// Reads back the scope of a summary object that [`Summary::to_json`] wrote.
    pub fn from_json(value: &serde_json::Value) -> Result<Scope, String> {
        let seeds = json_u64(value, "seeds.start")?..json_u64(value, "seeds.end")?;
        let partition = match value.get("partition") {
            None => Partition::WHOLE,
            Some(_) => Partition::new(
                json_u64(value, "partition.index")?,
                json_u64(value, "partition.count")?,
            )
            .map_err(|error| format!("`partition`: {error}"))?,
        };
        let stop_at_first_failure = value["stop_at_first_failure"]
            .as_bool()
            .ok_or("`stop_at_first_failure` is missing or not true or false")?;
        Ok(Scope {
            seeds,
            partition,
            options: options_from_json(&value["options"])?,
            stop_at_first_failure,
        })
    }
}

/// The run options of a summary's `options` object.
fn options_from_json(value: &serde_json::Value) -> Result<RunOptions, String> {
    // params.rs keeps no list of the profiles; these are all of them.
    let profile = [Profile::Swarm, Profile::Standard]
        .into_iter()
        .find(|profile| value["profile"] == profile.name())
        .ok_or("`options.profile` is missing or not a profile (swarm, standard)")?;
    let names = |key: &str| -> Result<Vec<&str>, String> {
        let names = value[key]
            .as_array()
            .ok_or(format!("`options.{key}` is missing or not a list of names"))?;
        names
            .iter()
            .map(|name| {
                name.as_str()
                    .ok_or(format!("`options.{key}` holds something not a name"))
            })
            .collect()
    };
    let bugs = names("bugs")?
        .into_iter()
        .map(|name| Bug::from_name(name).ok_or(format!("`options.bugs`: no bug named {name}")))
        .collect::<Result<Bugs, String>>()?;
    let forced_faults = names("faults")?
        .into_iter()
        .map(|name| {
            FaultKind::from_name(name)
                .ok_or(format!("`options.faults`: no fault kind named {name}"))
        })
        .collect::<Result<Vec<FaultKind>, String>>()?;
    Ok(RunOptions {
        profile,
        bugs,
        forced_faults,
    })
}

/// The unsigned integer at `path` (keys joined by dots) of a JSON object.
pub fn json_u64(value: &serde_json::Value, path: &str) -> Result<u64, String> {
    path.split('.')
        .try_fold(value, |value, key| value.get(key))
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("`{path}` is missing or not an unsigned integer"))
}

/// How a run ended, without the details: what a summary counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A property broke.
    Violation,
    /// The harness could not finish the run.
    Error,
    /// The history check was undecided: neither passed nor failed.
    Unknown,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Verdict::Pass,
        Verdict::Violation,
        Verdict::Error,
        Verdict::Unknown,
    ];

    /// The verdict of `outcome`.
    pub fn of(outcome: &Outcome) -> Verdict {
        match outcome {
            Outcome::Pass => Verdict::Pass,
            Outcome::Violation(_) => Verdict::Violation,
            Outcome::Error(_) => Verdict::Error,
            Outcome::Unknown(_) => Verdict::Unknown,
        }
    }

    /// The name of a run's `outcome` in JSON (as [`RunReport::outcome_name`]).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation => "violation",
            Verdict::Error => "error",
            Verdict::Unknown => "unknown",
        }
    }

    /// The verdict of this name.
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL
            .into_iter()
            .find(|verdict| verdict.name() == name)
    }
}

/// What a summary counts of one run. A campaign takes it from the run's
/// report; `raftsim merge` reads it back from the run's JSON line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunTally {
    /// The run's seed.
    pub seed: u64,
    /// How it ended.
    pub verdict: Verdict,
    /// Its end-of-run history check.
    pub linearizability: Linearizability,
    /// Events it handled.
    pub events: u64,
    /// Virtual time at its end.
    pub virtual_time_us: u64,
    /// The situations it reached.
    pub coverage: Coverage,
    /// Whether it ran with PreVote.
    pub pre_vote: bool,
    /// How long each recovery took: a leader's loss to the next new leader.
    pub leader_outages_us: Vec<u64>,
    /// Elections won in it.
    pub elections: u64,
}

impl RunTally {
    /// The tally of a run's report.
    pub fn of(report: &RunReport) -> RunTally {
        RunTally {
            seed: report.seed(),
            verdict: Verdict::of(&report.outcome),
            linearizability: report.linearizability,
            events: report.events,
            virtual_time_us: report.virtual_time_us,
            coverage: report.coverage,
            pre_vote: report.params.features.pre_vote,
            leader_outages_us: report.leader_outages_us.clone(),
            elections: report.elections,
        }
    }

    /// The tally of a run's JSON object (a line of `fuzz --json`).
    pub fn from_json(value: &serde_json::Value) -> Result<RunTally, String> {
        let verdict = value["outcome"]
            .as_str()
            .and_then(Verdict::from_name)
            .ok_or("`outcome` is missing or not pass, violation, error or unknown")?;
        // commands/run.rs keeps no list of the verdicts; these are all of them.
        let linearizability = [
            Linearizability::Unchecked,
            Linearizability::Linearizable,
            Linearizability::NotLinearizable,
            Linearizability::Unknown,
        ]
        .into_iter()
        .find(|verdict| value["linearizability"] == verdict.name())
        .ok_or("`linearizability` is missing or not a verdict of the history check")?;
        // A line without `coverage` (an older raftsim's) reached nothing
        // this one counts.
        let coverage = match &value["coverage"] {
            serde_json::Value::Null => Coverage::default(),
            serde_json::Value::Array(names) => Coverage::from_names(
                names
                    .iter()
                    .map(|name| name.as_str().ok_or("`coverage` lists names (strings)"))
                    .collect::<Result<Vec<_>, _>>()?,
            )?,
            _ => return Err("`coverage` is not a list of names".into()),
        };
        let leader_outages_us = match &value["leader_outages_us"] {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(times) => times
                .iter()
                .map(|us| us.as_u64().ok_or("`leader_outages_us` lists microseconds"))
                .collect::<Result<_, _>>()?,
            _ => return Err("`leader_outages_us` is not a list".into()),
        };
        Ok(RunTally {
            seed: json_u64(value, "seed")?,
            verdict,
            linearizability,
            events: json_u64(value, "events")?,
            virtual_time_us: json_u64(value, "virtual_time_us")?,
            coverage,
            pre_vote: value["pre_vote"].as_bool().unwrap_or(false),
            leader_outages_us,
            elections: value["elections"].as_u64().unwrap_or(0),
        })
    }
}

/// What a campaign found.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// What ran: the seeds, the share, the options.
    pub scope: Scope,
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
    /// The seeds of the runs that did not pass, in seed order.
    pub failing_seeds: Vec<u64>,
    /// The reports of the runs that did not pass, in seed order. A campaign
    /// keeps them; a merge of shares has only their seeds and JSON lines.
    pub failures: Vec<RunReport>,
    /// Virtual time from a leader's loss to the next new leader, over
    /// every run: `[PreVote off, PreVote on]`.
    pub recovery: [Durations; 2],
    /// Elections won, over every run: `[PreVote off, PreVote on]`, and the
    /// runs of each.
    pub elections: [(u64, u64); 2],
    /// How many runs reached each situation of [`crate::world::coverage::Sometimes::ALL`].
    pub coverage: CoverageCounts,
}

impl Summary {
    /// Nothing counted yet of a campaign of `scope`.
    pub fn new(scope: Scope) -> Summary {
        Summary {
            scope,
            ..Summary::default()
        }
    }

    /// Counts one run (in seed order). Its report, if any, is kept apart.
    pub fn count(&mut self, run: &RunTally) {
        match run.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Violation => self.violations += 1,
            Verdict::Error => self.errors += 1,
            Verdict::Unknown => self.unknown += 1,
        }
        match run.linearizability {
            Linearizability::Linearizable => self.linearizable += 1,
            Linearizability::NotLinearizable => self.not_linearizable += 1,
            Linearizability::Unknown => self.linearizability_unknown += 1,
            Linearizability::Unchecked => {}
        }
        self.events += run.events;
        self.virtual_time_us += run.virtual_time_us;
        self.coverage.count(run.coverage);
        let elections = &mut self.elections[usize::from(run.pre_vote)];
        elections.0 += run.elections;
        elections.1 += 1;
        for us in &run.leader_outages_us {
            self.recovery[usize::from(run.pre_vote)].add(*us);
        }
        if run.verdict != Verdict::Pass {
            self.failing_seeds.push(run.seed);
        }
    }

    fn add(&mut self, report: &RunReport) {
        self.count(&RunTally::of(report));
        if report.outcome != Outcome::Pass {
            self.failures.push(report.clone());
        }
    }

    /// Runs counted, whatever their verdict.
    pub fn runs(&self) -> u64 {
        self.passed + self.failed() + self.unknown
    }

    /// Runs that failed: a violation or a harness error (undecided runs are
    /// counted apart, in `unknown`).
    pub fn failed(&self) -> u64 {
        self.violations + self.errors
    }

    /// The process exit code: 0 all passed, 1 a violation, 4 a harness error
    /// or an undecided run, 5 every run passed but the campaign left a
    /// situation unreached that it must reach ([`Summary::unreached`]).
    pub fn exit_code(&self) -> i32 {
        if self.violations > 0 {
            1
        } else if self.errors > 0 || self.unknown > 0 {
            4
        } else if !self.unreached().is_empty() {
            5
        } else {
            0
        }
    }

    /// Whether the campaign must reach every situation (Antithesis's
    /// "sometimes" assertions): the default swarm, no bug planted, no fault
    /// kind forced (forcing clock skews rules out lease reads), and at least
    /// [`COVERAGE_FLOOR_RUNS`] runs. A feature the swarm draws that no run of
    /// such a campaign exercised is as much a failure as a broken property:
    /// the checks said nothing of it.
    pub fn coverage_floor_applies(&self) -> bool {
        let options = &self.scope.options;
        options.profile == Profile::Swarm
            && options.bugs.is_empty()
            && options.forced_faults.is_empty()
            && self.runs() >= COVERAGE_FLOOR_RUNS
    }

    /// The situations no run reached, when the campaign must reach them all
    /// (see [`Summary::coverage_floor_applies`]); empty otherwise.
    pub fn unreached(&self) -> Vec<Sometimes> {
        if self.coverage_floor_applies() {
            self.coverage.never_reached()
        } else {
            Vec::new()
        }
    }

    /// The summary as one JSON object: the counts, then what ran ([`Scope`]).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = json!({
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
            "failing_seeds": self.failing_seeds,
            "coverage": self.coverage.to_json(),
            "coverage_floor": self.coverage_floor_applies(),
            "unreached": self.unreached().iter().map(|s| s.name()).collect::<Vec<_>>(),
            "recovery": {
                "prevote_off": self.recovery[0].to_json(),
                "prevote_on": self.recovery[1].to_json(),
            },
            "elections": {
                "prevote_off": {"elections": self.elections[0].0, "runs": self.elections[0].1},
                "prevote_on": {"elections": self.elections[1].0, "runs": self.elections[1].1},
            },
        });
        self.scope.write_json(&mut value);
        value
    }
}

/// Runs from which a default swarm campaign must reach every situation of
/// [`Sometimes::ALL`]. The rarest situations (about 3% of runs in seeds
/// 0..10,000) are then reached some 30 times on average: a range that
/// misses one by chance is vanishingly rare, a feature switched off by a
/// bug is not.
pub const COVERAGE_FLOOR_RUNS: u64 = 1000;

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
    run_share(campaign, Partition::WHOLE, out, progress)
}

/// Runs one share of a campaign: its seeds in seed order, results to `out`
/// as [`run_campaign_showing`] writes them; the summary counts the share only.
pub fn run_share(
    campaign: &Campaign,
    partition: Partition,
    out: &mut dyn Write,
    progress: Progress,
) -> std::io::Result<Summary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(campaign.jobs)
        .build()
        .map_err(std::io::Error::other)?;
    let mut shown = ShownProgress::new(progress, partition.seed_count(&campaign.seeds));
    let mut summary = Summary::new(Scope {
        seeds: campaign.seeds.clone(),
        partition,
        options: campaign.options.clone(),
        stop_at_first_failure: campaign.stop_at_first_failure,
    });
    let mut seeds = partition.seeds(campaign.seeds.clone());
    loop {
        let chunk: Vec<u64> = seeds.by_ref().take(CHUNK_SEEDS).collect();
        if chunk.is_empty() {
            break;
        }
        let reports: Vec<RunReport> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&seed| {
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
        self.done = summary.runs();
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
        self.done = summary.runs();
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

/// A run's result: its JSON object, or its failure text (nothing for a pass).
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
    writeln!(out, "coverage (runs that reached each situation):")?;
    write!(out, "{}", summary.coverage)?;
    let never = summary.coverage.never_reached();
    if !never.is_empty() {
        let names: Vec<&str> = never.iter().map(|s| s.name()).collect();
        if summary.coverage_floor_applies() {
            writeln!(
                out,
                "FAILED coverage: never reached in {} runs: {} (a swarm campaign of {COVERAGE_FLOOR_RUNS} runs or more reaches every situation; the checks above say nothing of these)",
                summary.runs(),
                names.join(", ")
            )?;
        } else {
            writeln!(
                out,
                "never reached: {} (the checks above say nothing of these)",
                names.join(", ")
            )?;
        }
    }
    let per_run = |(elections, runs): (u64, u64)| match runs {
        0 => "no run".to_string(),
        _ => format!(
            "{elections} in {runs} runs ({:.1} a run)",
            elections as f64 / runs as f64
        ),
    };
    writeln!(
        out,
        "elections won: prevote off {}; prevote on {}",
        per_run(summary.elections[0]),
        per_run(summary.elections[1])
    )?;
    writeln!(
        out,
        "time to a new leader after a leader loss (virtual): prevote off {}; prevote on {}",
        summary.recovery[0], summary.recovery[1]
    )?;
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
