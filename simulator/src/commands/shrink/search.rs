//! The search: runs a world with a set of faults and keeps each reduction
//! that still breaks the same invariant (ddmin over faults, a smaller world,
//! the 1-minimality check).

use super::Progress;
use crate::commands::run::{execute_params_schedule, RunReport};
use crate::commands::scenario::ast::WorldSpec;
use crate::commands::scenario::parse::world_params;
use crate::drivers::{Fault, Scheduled};
use crate::world::params::{Overrides, Params, RunOptions};
use crate::world::{World, WorldOptions};
use invariants::Invariant;
use raft_core::NodeId;

/// Faults of a run, each with its place in the original schedule.
pub(super) type Faults = Vec<(usize, Scheduled)>;

/// The search's state: what is known to fail, and the runs spent.
pub(super) struct Search<'a> {
    pub(super) seed: u64,
    pub(super) options: RunOptions,
    pub(super) invariant: Invariant,
    pub(super) world: WorldSpec,
    /// The faults of the best failing run, with their place in the
    /// original schedule (kept in that order).
    pub(super) faults: Vec<(usize, Scheduled)>,
    pub(super) runs: u64,
    pub(super) out_of_time: &'a mut dyn FnMut() -> bool,
    pub(super) progress: &'a mut dyn FnMut(&Progress<'_>),
    pub(super) stopped: bool,
    /// Which pass of the search this is, for the progress display.
    pub(super) pass: &'static str,
}

impl Search<'_> {
    /// Runs `world` with `faults`, whatever the time.
    pub(super) fn execute(
        &self,
        world: &WorldSpec,
        faults: &[(usize, Scheduled)],
    ) -> (World, RunReport) {
        let params = world_params(world);
        let schedule: Vec<Scheduled> = faults.iter().map(|(_, s)| s.clone()).collect();
        execute_params_schedule(params, &self.options, WorldOptions::default(), &schedule)
    }

    /// Runs `world` with `faults`; the report, or `None` if out of time.
    pub(super) fn run(
        &mut self,
        world: &WorldSpec,
        faults: &[(usize, Scheduled)],
    ) -> Option<RunReport> {
        if self.stopped || (self.out_of_time)() {
            self.stopped = true;
            return None;
        }
        self.runs += 1;
        Some(self.execute(world, faults).1)
    }

    /// Whether `world` with `faults` still breaks the invariant.
    pub(super) fn still_fails(&mut self, world: &WorldSpec, faults: &[(usize, Scheduled)]) -> bool {
        self.run(world, faults)
            .is_some_and(|report| report.invariant() == Some(self.invariant))
    }

    pub(super) fn report(&mut self, stage: &str) {
        let stage = format!("{}: {stage}", self.pass);
        let progress = Progress {
            stage: &stage,
            faults: self.faults.len(),
            runs: self.runs,
        };
        (self.progress)(&progress);
    }

    /// ddmin over the faults `chosen` picks, the others kept as they are.
    pub(super) fn reduce_faults(&mut self, stage: &str, chosen: impl Fn(&Fault) -> bool) {
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
    pub(super) fn reduce_world(&mut self) {
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
    pub(super) fn reduce_operations(&mut self) {
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
    pub(super) fn try_smaller_cluster(&mut self, nodes: u64) -> bool {
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
    pub(super) fn try_overrides(&mut self, change: impl FnOnce(&mut Overrides)) -> bool {
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
    pub(super) fn use_strike_times(&mut self, struck: &[Scheduled]) {
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
    pub(super) fn check_one_minimal(&mut self) {
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

/// Whether `scheduled` names no node past `nodes` (a message's endpoints
/// do not count: a message of a node that is gone is never sent).
fn names_only_nodes_up_to(scheduled: &Scheduled, nodes: u64) -> bool {
    nodes_named(scheduled).iter().all(|&node| node <= nodes)
}

/// The nodes `scheduled` names, where it strikes and what it does to,
/// in order, without repeats (a message's endpoints not among them).
pub(super) fn nodes_named(scheduled: &Scheduled) -> Vec<NodeId> {
    let mut named: Vec<NodeId> = scheduled.point.node().into_iter().collect();
    match &scheduled.fault {
        Fault::Partition { groups } => named.extend(groups.iter().flatten()),
        Fault::Cut { from, to }
        | Fault::Restore { from, to }
        | Fault::Clog { from, to, .. }
        | Fault::Stall { from, to, .. }
        | Fault::Transfer { from, to }
        | Fault::Unclog { from, to }
        | Fault::Replace { node: from, by: to } => named.extend([*from, *to]),
        Fault::Crash { node, .. }
        | Fault::Skew { node, .. }
        | Fault::Unskew { node }
        | Fault::Restart { node }
        | Fault::FsyncCrash { node, .. }
        | Fault::Pause { node }
        | Fault::Join { node }
        | Fault::Compact { node }
        | Fault::Resume { node } => named.push(*node),
        Fault::ConfChange { at, changes } => {
            named.push(*at);
            named.extend(changes.iter().map(|change| change.node()));
        }
        Fault::Heal | Fault::Drop { .. } | Fault::Duplicate { .. } | Fault::Delay { .. } => {}
    }
    named.sort_unstable();
    named.dedup();
    named
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
