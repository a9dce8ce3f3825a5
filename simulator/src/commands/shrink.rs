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
//! the smaller world first. The pass with fewer faults wins. The result is
//! 1-minimal: taking out any one of its faults makes the violation
//! disappear (checked last, one by one).
//!
//! Everything is deterministic: the same seed gives the same result, unless
//! the caller's time limit stops the search first (then the best so far,
//! which still fails, and the report says it is not known to be minimal).

use super::run::{execute, execute_params_schedule, RunReport};
use super::scenario::ast::{Command, Expectation, Scenario, Step, WorldSpec};
use super::scenario::parse::world_params;
use crate::drivers::{Fault, Scheduled};
use crate::world::params::{Overrides, Params, Profile, RunOptions};
use crate::world::{World, WorldOptions};
use invariants::Invariant;

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

/// Faults of a run, each with its place in the original schedule.
type Faults = Vec<(usize, Scheduled)>;

/// The search's state: what is known to fail, and the runs spent.
struct Search<'a> {
    seed: u64,
    options: RunOptions,
    invariant: Invariant,
    world: WorldSpec,
    /// The faults of the best failing run, with their place in the
    /// original schedule (kept in that order).
    faults: Vec<(usize, Scheduled)>,
    runs: u64,
    out_of_time: &'a mut dyn FnMut() -> bool,
    progress: &'a mut dyn FnMut(&Progress<'_>),
    stopped: bool,
    /// Which pass of the search this is, for the progress display.
    pass: &'static str,
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
    matches!(
        fault,
        Fault::Drop { .. } | Fault::Duplicate { .. } | Fault::Delay { .. }
    )
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

impl Search<'_> {
    /// Runs `world` with `faults`, whatever the time.
    fn execute(&self, world: &WorldSpec, faults: &[(usize, Scheduled)]) -> (World, RunReport) {
        let params = world_params(world);
        let schedule: Vec<Scheduled> = faults.iter().map(|(_, s)| s.clone()).collect();
        execute_params_schedule(params, &self.options, WorldOptions::default(), &schedule)
    }

    /// Runs `world` with `faults`; the report, or `None` if out of time.
    fn run(&mut self, world: &WorldSpec, faults: &[(usize, Scheduled)]) -> Option<RunReport> {
        if self.stopped || (self.out_of_time)() {
            self.stopped = true;
            return None;
        }
        self.runs += 1;
        Some(self.execute(world, faults).1)
    }

    /// Whether `world` with `faults` still breaks the invariant.
    fn still_fails(&mut self, world: &WorldSpec, faults: &[(usize, Scheduled)]) -> bool {
        self.run(world, faults)
            .is_some_and(|report| report.invariant() == Some(self.invariant))
    }

    fn report(&mut self, stage: &str) {
        let stage = format!("{}: {stage}", self.pass);
        let progress = Progress {
            stage: &stage,
            faults: self.faults.len(),
            runs: self.runs,
        };
        (self.progress)(&progress);
    }

    /// ddmin over the faults `chosen` picks, the others kept as they are.
    fn reduce_faults(&mut self, stage: &str, chosen: impl Fn(&Fault) -> bool) {
        self.report(stage);
        let (mut candidates, fixed): (Vec<_>, Vec<_>) = self
            .faults
            .iter()
            .cloned()
            .partition(|(_, s)| chosen(&s.fault));
        let world = self.world.clone();
        let with = |fixed: &[(usize, Scheduled)], part: &[(usize, Scheduled)]| {
            let mut all: Vec<(usize, Scheduled)> = fixed.iter().chain(part).cloned().collect();
            all.sort_by_key(|(index, _)| *index);
            all
        };
        // Most faults of a long run play no part: try none of them first.
        if !candidates.is_empty() && self.still_fails(&world, &with(&fixed, &[])) {
            candidates.clear();
        }
        let mut granularity = 2;
        while candidates.len() >= 2 && !self.stopped {
            let chunks = split(&candidates, granularity);
            let mut reduced = false;
            for (i, chunk) in chunks.iter().enumerate() {
                let complement: Vec<_> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                if self.still_fails(&world, &with(&fixed, chunk)) {
                    (candidates, granularity, reduced) = (chunk.clone(), 2, true);
                    break;
                }
                if self.still_fails(&world, &with(&fixed, &complement)) {
                    candidates = complement;
                    granularity = (granularity - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if reduced {
                self.faults = with(&fixed, &candidates);
                self.report(stage);
            } else if granularity >= candidates.len() {
                break;
            } else {
                granularity = (granularity * 2).min(candidates.len());
            }
        }
        self.faults = with(&fixed, &candidates);
    }

    /// Fewer clients, fewer operations, a smaller cluster, a shorter chaos
    /// phase: each kept if the run still fails.
    fn reduce_world(&mut self) {
        self.report("clients, operations, cluster size, chaos length");
        let drawn = Params::draw(self.seed, &self.options);
        for clients in 0..drawn.client_count {
            if self.try_overrides(|o| o.clients = Some(clients)) {
                break;
            }
        }
        self.reduce_operations();
        for nodes in [3, 5] {
            if nodes < drawn.cluster_size && self.try_smaller_cluster(nodes) {
                break;
            }
        }
        if let Some(report) = self.run(&self.world.clone(), &self.faults.clone()) {
            if let crate::world::Outcome::Violation(violation) = &report.outcome {
                // Past the violation the chaos phase plays no part; a round
                // millisecond reads better than a microsecond.
                let chaos_us = violation.time_us.div_ceil(1_000) * 1_000;
                if chaos_us < report.params.chaos_duration_us {
                    self.try_overrides(|o| o.chaos_us = Some(chaos_us));
                }
            }
        }
    }

    /// The fewest operations that still fail, by bisection (each step
    /// checked by a run: failing need not be monotonic in the bound).
    fn reduce_operations(&mut self) {
        let Some(report) = self.run(&self.world.clone(), &self.faults.clone()) else {
            return;
        };
        let (mut low, mut high) = (0, report.operations as u64);
        while low < high && !self.stopped {
            let middle = low + (high - low) / 2;
            if self.try_overrides(|o| o.operations = Some(middle)) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
    }

    /// Whether the run still fails with the nodes past `nodes` gone (and
    /// the faults that name them); keeps the change if so.
    fn try_smaller_cluster(&mut self, nodes: u64) -> bool {
        let kept: Vec<_> = self
            .faults
            .iter()
            .filter(|(_, s)| names_only_nodes_up_to(s, nodes))
            .cloned()
            .collect();
        let mut world = self.world.clone();
        world.overrides.nodes = Some(nodes);
        if self.still_fails(&world, &kept) {
            (self.world, self.faults) = (world, kept);
            return true;
        }
        false
    }

    /// Whether the run still fails with `change` made to the overrides;
    /// keeps the change if so.
    fn try_overrides(&mut self, change: impl FnOnce(&mut Overrides)) -> bool {
        let mut world = self.world.clone();
        change(&mut world.overrides);
        if world == self.world {
            return false;
        }
        if self.still_fails(&world, &self.faults.clone()) {
            self.world = world;
            return true;
        }
        false
    }

    /// Rewrites the faults with `struck`, the schedule the reduced run
    /// recorded: a fault at a point strikes at the first such point at or
    /// after its recorded time, which after reductions may be later, and
    /// the file should say when each happened. Kept only if it fails the
    /// same way and is still 1-minimal; never cut short by the time limit
    /// (a run per fault).
    fn use_strike_times(&mut self, struck: &[Scheduled]) {
        let current: Vec<&Scheduled> = self.faults.iter().map(|(_, s)| s).collect();
        if struck.len() != current.len() || struck.iter().eq(current) {
            return;
        }
        let struck: Faults = struck.iter().cloned().enumerate().collect();
        let fails = |faults: &Faults| {
            let report = self.execute(&self.world, faults).1;
            report.invariant() == Some(self.invariant)
        };
        let mut runs = 1;
        let kept = fails(&struck)
            && (0..struck.len()).all(|index| {
                runs += 1;
                let mut without = struck.clone();
                without.remove(index);
                !fails(&without)
            });
        self.runs += runs;
        if kept {
            self.faults = struck;
        }
    }

    /// Takes out, one at a time, every fault without which the run still
    /// fails, until none is left to take out.
    fn check_one_minimal(&mut self) {
        self.report("checking that every fault is needed");
        let mut index = 0;
        while index < self.faults.len() && !self.stopped {
            let mut without = self.faults.clone();
            without.remove(index);
            if self.still_fails(&self.world.clone(), &without) {
                self.faults = without;
                index = 0;
            } else {
                index += 1;
            }
        }
    }
}

/// `items` in `parts` contiguous chunks of near-equal size.
fn split<T: Clone>(items: &[T], parts: usize) -> Vec<Vec<T>> {
    let parts = parts.min(items.len()).max(1);
    let (size, extra) = (items.len() / parts, items.len() % parts);
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 0..parts {
        let len = size + usize::from(part < extra);
        chunks.push(items[start..start + len].to_vec());
        start += len;
    }
    chunks
}

/// Whether `scheduled` names no node past `nodes`.
fn names_only_nodes_up_to(scheduled: &Scheduled, nodes: u64) -> bool {
    let fits = |node: u64| node <= nodes;
    let point_fits = scheduled.point.node().is_none_or(fits);
    let fault_fits = match &scheduled.fault {
        Fault::Partition { groups } => groups.iter().flatten().all(|&n| fits(n)),
        Fault::Cut { from, to }
        | Fault::Restore { from, to }
        | Fault::Clog { from, to, .. }
        | Fault::Transfer { from, to }
        | Fault::Unclog { from, to } => fits(*from) && fits(*to),
        Fault::Crash { node, .. }
        | Fault::Skew { node, .. }
        | Fault::Unskew { node }
        | Fault::Restart { node }
        | Fault::FsyncCrash { node, .. }
        | Fault::Pause { node }
        | Fault::Join { node }
        | Fault::Compact { node }
        | Fault::Resume { node } => fits(*node),
        Fault::Replace { node, by } => fits(*node) && fits(*by),
        Fault::ConfChange { at, changes } => fits(*at) && changes.iter().all(|c| fits(c.node())),
        Fault::Heal | Fault::Drop { .. } | Fault::Duplicate { .. } | Fault::Delay { .. } => true,
    };
    point_fits && fault_fits
}

/// The shrunk run as a scenario (its expected output not yet filled in:
/// `scenario::check_text` with `update` does that).
pub fn scenario_of(shrunk: &Shrunk, command: &str) -> Scenario {
    let (before_faults, before_events) = shrunk.original;
    let (after_faults, after_events) = shrunk.reduced;
    let minimal = match shrunk.complete {
        true => "1-minimal: without any one of its faults the violation disappears.",
        false => "Stopped by the time limit: it fails, but may not be minimal.",
    };
    let header = [
        format!("# Shrunk by `{command}`."),
        format!(
            "# The original run: {before_faults} faults, {before_events} events. This one: {after_faults} faults, {after_events} events, the same violation ({}).",
            shrunk.invariant.name()
        ),
        format!("# {minimal}"),
        "# Delays, timeouts and the clients' operations come from the seed; the".into(),
        "# nemesis is off: the faults are the `at` lines, each where it struck.".into(),
    ];
    let step = |command: Command, leading: Vec<String>| Step {
        leading,
        command,
        comment: None,
        output: Vec::new(),
        line: 0,
        source: None,
    };
    let mut steps = vec![step(Command::World(shrunk.world.clone()), header.to_vec())];
    steps.extend(
        shrunk
            .schedule
            .iter()
            .map(|s| step(Command::At(s.clone()), Vec::new())),
    );
    steps.push(step(Command::RunToEnd, vec![String::new()]));
    let expectation = Expectation::Violation {
        invariant: shrunk.invariant.name().to_string(),
    };
    steps.push(step(Command::Expect(expectation), Vec::new()));
    Scenario {
        steps,
        trailing: Vec::new(),
    }
}

/// The command line that shrinks `seed` under `options`, as a header says it.
pub fn shrink_command(seed: u64, options: &RunOptions) -> String {
    let mut command = format!("raftsim shrink --seed {seed}");
    if options.profile == Profile::Standard {
        command.push_str(" --profile standard");
    }
    for bug in options.bugs.iter() {
        command.push_str(&format!(" --bug {}", bug.name()));
    }
    for fault in &options.forced_faults {
        command.push_str(&format!(" --fault {}", fault.name()));
    }
    command
}

/// The shrunk run as the text of a scenario file named `name`, its expected
/// output filled in, checked to reproduce the violation.
pub fn scenario_text(shrunk: &Shrunk, command: &str, name: &str) -> anyhow::Result<String> {
    let draft = scenario_of(shrunk, command).to_string();
    let filled = super::scenario::check_text(name, &draft, true).map_err(|error| {
        anyhow::anyhow!("the shrunk scenario does not parse (a bug of raftsim): {error}")
    })?;
    let text = filled.rewritten.unwrap_or(draft);
    let checked = super::scenario::check_text(name, &text, false).map_err(|error| {
        anyhow::anyhow!("the shrunk scenario does not parse (a bug of raftsim): {error}")
    })?;
    if !checked.passed() {
        anyhow::bail!(
            "the shrunk scenario does not reproduce the violation (a bug of raftsim): {}",
            checked.failures.join("; ")
        );
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_items_in_order() {
        let items: Vec<u32> = (0..10).collect();
        for parts in 1..=12 {
            let chunks = split(&items, parts);
            assert_eq!(chunks.concat(), items, "{parts} parts");
            let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{sizes:?}");
        }
    }
}
