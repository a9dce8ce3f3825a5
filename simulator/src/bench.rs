//! `raftsim bench`: how fast the simulator runs on one core.
//!
//! Wall-clock time is read here and only here: it measures the simulator and
//! never reaches a run.

use serde_json::json;

use crate::params::{Profile, RunOptions};
use crate::run::execute;
use crate::sim::SimOptions;

/// The measurements of one benchmark.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Seeds run per measurement.
    pub runs: u64,
    /// Events simulated per wall second with every per-step check on.
    pub events_per_sec_checked: f64,
    /// The same runs with the per-step checks off.
    pub events_per_sec_unchecked: f64,
    /// Virtual seconds simulated per wall second (checks on).
    pub virtual_secs_per_wall_sec: f64,
    /// Whole runs per wall second on one core (checks on, history check included).
    pub runs_per_sec: f64,
    /// How much the checks cost: checked time / unchecked time - 1.
    pub check_overhead: f64,
}

struct Measured {
    events: u64,
    virtual_us: u64,
    wall_secs: f64,
}

#[allow(clippy::disallowed_methods)] // allow-nondeterminism: wall time measures the simulator, never feeds a run
fn measure(seeds: std::ops::Range<u64>, options: &RunOptions, checks: bool) -> Measured {
    let started = std::time::Instant::now();
    let mut measured = Measured {
        events: 0,
        virtual_us: 0,
        wall_secs: 0.0,
    };
    for seed in seeds {
        let sim_options = SimOptions {
            checks,
            ..SimOptions::default()
        };
        let (_, report) = execute(seed, options, sim_options);
        measured.events += report.events;
        measured.virtual_us += report.virtual_time_us;
    }
    measured.wall_secs = started.elapsed().as_secs_f64();
    measured
}

/// Runs `runs` seeds of the standard profile (5 voters, heartbeats every 50 ms,
/// faults on) on this thread, with checks and without.
pub fn bench(runs: u64) -> BenchResult {
    let options = RunOptions {
        profile: Profile::Standard,
        ..RunOptions::default()
    };
    // Warm caches and the allocator so the first measurement is not penalised.
    measure(0..2.min(runs), &options, true);
    let checked = measure(0..runs, &options, true);
    let unchecked = measure(0..runs, &options, false);
    BenchResult {
        runs,
        events_per_sec_checked: checked.events as f64 / checked.wall_secs,
        events_per_sec_unchecked: unchecked.events as f64 / unchecked.wall_secs,
        virtual_secs_per_wall_sec: checked.virtual_us as f64 / 1e6 / checked.wall_secs,
        runs_per_sec: runs as f64 / checked.wall_secs,
        check_overhead: checked.wall_secs / unchecked.wall_secs - 1.0,
    }
}

impl BenchResult {
    /// One JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "runs": self.runs,
            "profile": "standard (5 voters, heartbeat 50 ms, drop/duplicate/reorder/partition/crash on)",
            "events_per_sec_checked": self.events_per_sec_checked.round(),
            "events_per_sec_unchecked": self.events_per_sec_unchecked.round(),
            "check_overhead_percent": (self.check_overhead * 1000.0).round() / 10.0,
            "virtual_secs_per_wall_sec": self.virtual_secs_per_wall_sec.round(),
            "runs_per_sec": (self.runs_per_sec * 10.0).round() / 10.0,
        })
    }

    /// A small table for people.
    pub fn to_text(&self) -> String {
        format!(
            "profile: standard (5 voters, heartbeat 50 ms, faults on), {} runs, one core\n\
             events/s, checks on     {:>12.0}\n\
             events/s, checks off    {:>12.0}\n\
             check overhead          {:>11.1}%\n\
             virtual s / wall s      {:>12.0}\n\
             runs/s                  {:>12.1}",
            self.runs,
            self.events_per_sec_checked,
            self.events_per_sec_unchecked,
            self.check_overhead * 100.0,
            self.virtual_secs_per_wall_sec,
            self.runs_per_sec
        )
    }
}
