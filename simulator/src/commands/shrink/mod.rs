//! `raftsim shrink`: a failing run reduced to a smaller one that fails the
//! same way, written as a scenario file a person can read, edit and keep.
//!
//! A run's faults are data (its schedule, see [`crate::drivers`]); replayed
//! with the nemesis off they give the same run. The shrinker takes faults
//! out and replays, keeping each reduction that still breaks the same
//! invariant: delta debugging (Zeller's ddmin) over the node and network
//! faults first, then over the message faults (drops, duplicates), then
//! fewer clients and operations, a smaller cluster, a shorter chaos phase,
//! then the faults once more; and a second pass from the start that tries
//! the smaller world first. The pass with fewer faults wins, and is
//! 1-minimal. A third pass leaves the seed's background randomness (see
//! [`background`]): the same faults under other delays and timeouts, one
//! fault fewer under others, and windows of faults merged into one
//! ([`merge`]), each success reduced and checked again, until nothing more
//! is found. The result is 1-minimal: taking out any one of its faults
//! makes the violation disappear (checked last, one by one).
//!
//! Everything is deterministic: the same seed gives the same result, unless
//! the caller's time limit stops the search first (then the best so far,
//! which still fails, and the report says it is not known to be minimal).

mod background;
mod file;
mod merge;
mod search;

pub use file::{scenario_of, scenario_text, shrink_command};

use super::run::{execute, execute_params_schedule, RunReport};
use super::scenario::ast::WorldSpec;
use super::scenario::parse::world_params;
use crate::drivers::{Fault, Scheduled};
use crate::world::params::{Overrides, Profile, RunOptions};
use crate::world::{World, WorldOptions};
use invariants::Invariant;
use search::{Faults, Search};

/// What a shrink found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The world of the reduced run.
    pub world: WorldSpec,
    /// Its faults.
    pub schedule: Vec<Scheduled>,
    /// The property it breaks (the original's).
    pub invariant: Invariant,
    /// Faults and events of the original run.
    pub original: (usize, u64),
    /// Faults and events of the reduced run.
    pub reduced: (usize, u64),
    /// Runs the search took.
    pub runs: u64,
    /// False if the time limit stopped the search: the result fails, but is
    /// not known to be 1-minimal.
    pub complete: bool,
}

/// Why a run cannot be shrunk.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    /// The run breaks nothing.
    #[error("seed {0} breaks no property ({1}): there is nothing to shrink")]
    NoViolation(u64, String),
    /// Replaying its own schedule does not reproduce it (a bug of raftsim).
    #[error("seed {0}: replaying its recorded faults does not reproduce the violation (a bug of raftsim, please report it)")]
    NotReproduced(u64),
}

/// How the search is going, for a progress display.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    /// What is being reduced now.
    pub stage: &'a str,
    /// Faults in the best failing run so far.
    pub faults: usize,
    /// Runs so far.
    pub runs: u64,
}

/// Shrinks the run of `seed` under `options`. `out_of_time` is asked before
/// every run of the search (the shrinker keeps no clock); `progress` hears
/// of each stage and reduction.
pub fn shrink(
    seed: u64,
    options: &RunOptions,
    out_of_time: &mut dyn FnMut() -> bool,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Shrunk, ShrinkError> {
    let (world, report) = execute(seed, options, WorldOptions::default());
    let Some(invariant) = report.invariant() else {
        return Err(ShrinkError::NoViolation(seed, report.outcome_name().into()));
    };
    let schedule = world.schedule().to_vec();
    let original = (schedule.len(), report.events);
    let mut search = Search {
        seed,
        options: options.clone(),
        invariant,
        world: world_spec(seed, options),
        faults: schedule.into_iter().enumerate().collect(),
        runs: 0,
        out_of_time,
        progress,
        stopped: false,
        pass: "pass 1 of 2",
    };
    if !search.still_fails(&search.world.clone(), &search.faults.clone()) {
        return Err(ShrinkError::NotReproduced(seed));
    }
    // Two passes from the same start, the one with fewer faults kept: ddmin
    // stops at a local minimum, and which one depends on where it starts.
    // Faults first keeps the run close to the original; a smaller world
    // first (fewer clients, fewer nodes, every fault still in) makes every
    // later run cheaper and sometimes needs far fewer faults.
    let start = (search.world.clone(), search.faults.clone());
    let mut best: Option<(WorldSpec, Faults, bool)> = None;
    for (pass, world_first) in [("pass 1 of 2", false), ("pass 2 of 2", true)] {
        if search.stopped {
            break;
        }
        (search.world, search.faults) = start.clone();
        search.pass = pass;
        if world_first {
            search.reduce_world();
        }
        search.reduce_faults("node and network faults", |fault| !is_message_fault(fault));
        search.reduce_faults("message faults", is_message_fault);
        search.reduce_world();
        search.reduce_faults("faults, once more", |_| true);
        search.check_one_minimal();
        let found = (search.world.clone(), search.faults.clone(), !search.stopped);
        let better = match &best {
            None => true,
            // A pass the time limit cut short replaces a finished one only
            // if it is already smaller.
            Some((_, faults, _)) => found.1.len() < faults.len(),
        };
        if better {
            best = Some(found);
        }
    }
    let (world, faults, complete) = best.expect("the first pass always runs");
    (search.world, search.faults) = (world, faults);
    if complete {
        search.pass = "pass 3";
        search.reduce_further();
    }
    let (reduced, report) = search.execute(&search.world, &search.faults);
    if complete {
        search.use_strike_times(reduced.schedule());
    }
    let reduced_events = report.events;
    Ok(Shrunk {
        world: search.world.clone(),
        schedule: search.faults.iter().map(|(_, s)| s.clone()).collect(),
        invariant,
        original,
        reduced: (search.faults.len(), reduced_events),
        runs: search.runs,
        complete,
    })
}

/// The shrunk run again, with `world_options` (e.g. to record its timeline):
/// `options` are the ones it was shrunk under.
pub fn rerun(
    shrunk: &Shrunk,
    options: &RunOptions,
    world_options: WorldOptions,
) -> (World, RunReport) {
    let params = world_params(&shrunk.world);
    let (world, mut report) =
        execute_params_schedule(params, options, world_options, &shrunk.schedule);
    // The report names the seed the run was shrunk from (a timeline's title
    // says "shrunk from seed N"), not the seed of its background randomness.
    report.params.seed = shrunk.world.seed;
    (world, report)
}

fn is_message_fault(fault: &Fault) -> bool {
    fault.message_fate().is_some()
}

/// The `world` line of the run `raftsim run --seed SEED` with `options` ran.
fn world_spec(seed: u64, options: &RunOptions) -> WorldSpec {
    WorldSpec {
        seed,
        background: None,
        standard: options.profile == Profile::Standard,
        bugs: options.bugs.iter().map(|b| b.name().to_string()).collect(),
        faults: options
            .forced_faults
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
        overrides: Overrides::default(),
    }
}
