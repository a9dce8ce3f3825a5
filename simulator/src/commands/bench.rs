//! `raftsim bench`: how fast the simulator runs on one core.
//!
//! Wall-clock time is read here and only here: it measures the simulator and
//! never reaches a run.

use serde_json::json;

use crate::commands::run::execute;
use crate::world::params::Params;
use crate::world::params::{Profile, RunOptions};
use crate::world::{World, WorldOptions};

/// The measurements of one benchmark.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Seeds run per measurement.
    pub runs: u64,
    /// Events simulated per wall second with every check on: the safety checks
    /// after every event and the online history check after every completion.
    pub events_per_sec_checked: f64,
    /// The same runs with the safety checks on and the online history check off.
    pub events_per_sec_safety_only: f64,
    /// The same runs with every per-step check off.
    pub events_per_sec_unchecked: f64,
    /// Virtual seconds simulated per wall second (every check on).
    pub virtual_secs_per_wall_sec: f64,
    /// Whole runs per wall second on one core (every check on, the final
    /// whole-history check included; the event rates above time the event loop).
    pub runs_per_sec: f64,
    /// What every check costs: checked time / unchecked time - 1.
    pub check_overhead: f64,
    /// What the safety checks alone cost.
    pub safety_check_overhead: f64,
}

#[derive(Default)]
struct Measured {
    events: u64,
    virtual_us: u64,
    wall_secs: f64,
}

impl Measured {
    fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs
    }
}

/// Tries of each (seed, mode) measurement; the fastest counts. On a shared
/// machine one try may be slowed down by tens of percent; the fastest of a
/// few is what the code costs.
const TRIES: usize = 3;

/// Times one seed: the event loop alone (what "events per second" means), or
/// the whole run with the final history check when `whole_run`. The fastest
/// of `TRIES`.
#[allow(clippy::disallowed_methods)] // allow-nondeterminism: wall time measures the simulator, never feeds a run
fn measure(
    seed: u64,
    options: &RunOptions,
    sim_options: &WorldOptions,
    whole_run: bool,
) -> Measured {
    let mut best: Option<Measured> = None;
    for _ in 0..TRIES {
        let started = std::time::Instant::now(); // allow-nondeterminism: timing display only
        let sim = if whole_run {
            execute(seed, options, sim_options.clone()).0
        } else {
            let params = Params::draw(seed, options);
            let nemesis = Box::new(crate::drivers::nemesis::NemesisDriver::new(&params));
            let mut sim = World::new(params, sim_options.clone(), nemesis);
            sim.run();
            sim
        };
        let wall_secs = started.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|best| wall_secs < best.wall_secs) {
            best = Some(Measured {
                events: sim.trace().events(),
                virtual_us: sim.now_us(),
                wall_secs,
            });
        }
    }
    best.expect("at least one try")
}

impl std::ops::AddAssign for Measured {
    fn add_assign(&mut self, other: Measured) {
        self.events += other.events;
        self.virtual_us += other.virtual_us;
        self.wall_secs += other.wall_secs;
    }
}

/// Runs `runs` seeds of the standard profile (5 voters, heartbeats every 50 ms,
/// faults on) on this thread: with every check, with the safety checks only,
/// and with none. The modes are interleaved seed by seed, so that a slower
/// stretch of the machine weighs on all of them alike.
pub fn bench(runs: u64) -> BenchResult {
    let options = RunOptions {
        profile: Profile::Standard,
        ..RunOptions::default()
    };
    let all_checks = WorldOptions::default();
    let safety_only = WorldOptions {
        online_linearizability: false,
        ..WorldOptions::default()
    };
    let no_checks = WorldOptions {
        checks: false,
        ..WorldOptions::default()
    };
    let [mut checked, mut safety, mut unchecked, mut whole] = <[Measured; 4]>::default();
    // Warm caches and the allocator so the first measurement is not penalised.
    measure(0, &options, &all_checks, false);
    for seed in 0..runs {
        checked += measure(seed, &options, &all_checks, false);
        safety += measure(seed, &options, &safety_only, false);
        unchecked += measure(seed, &options, &no_checks, false);
        whole += measure(seed, &options, &all_checks, true);
    }
    BenchResult {
        runs,
        events_per_sec_checked: checked.events_per_sec(),
        events_per_sec_safety_only: safety.events_per_sec(),
        events_per_sec_unchecked: unchecked.events_per_sec(),
        virtual_secs_per_wall_sec: checked.virtual_us as f64 / 1e6 / checked.wall_secs,
        runs_per_sec: runs as f64 / whole.wall_secs,
        check_overhead: checked.wall_secs / unchecked.wall_secs - 1.0,
        safety_check_overhead: safety.wall_secs / unchecked.wall_secs - 1.0,
    }
}

fn percent(ratio: f64) -> f64 {
    (ratio * 1000.0).round() / 10.0
}

impl BenchResult {
    /// One JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "runs": self.runs,
            "profile": "standard (5 voters, heartbeat 50 ms, drop/duplicate/reorder/partition/crash on)",
            "events_per_sec_checked": self.events_per_sec_checked.round(),
            "events_per_sec_safety_only": self.events_per_sec_safety_only.round(),
            "events_per_sec_unchecked": self.events_per_sec_unchecked.round(),
            "check_overhead_percent": percent(self.check_overhead),
            "safety_check_overhead_percent": percent(self.safety_check_overhead),
            "virtual_secs_per_wall_sec": self.virtual_secs_per_wall_sec.round(),
            "runs_per_sec": (self.runs_per_sec * 10.0).round() / 10.0,
        })
    }

    /// A small table for people.
    pub fn to_text(&self) -> String {
        format!(
            "profile: standard (5 voters, heartbeat 50 ms, faults on), {} runs, one core\n\
             events/s, every check on   {:>10.0}  (safety after every event + online history check)\n\
             events/s, safety only      {:>10.0}\n\
             events/s, checks off       {:>10.0}\n\
             check overhead             {:>9.1}%  (safety only: {:.1}%)\n\
             virtual s / wall s         {:>10.0}\n\
             runs/s                     {:>10.1}",
            self.runs,
            self.events_per_sec_checked,
            self.events_per_sec_safety_only,
            self.events_per_sec_unchecked,
            percent(self.check_overhead),
            percent(self.safety_check_overhead),
            self.virtual_secs_per_wall_sec,
            self.runs_per_sec
        )
    }
}
