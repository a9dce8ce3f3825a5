//! Several faults as one: a run of faults that strike one node (fsync
//! crashes, drops of its messages, crashes) often does one thing, keep it
//! away from the cluster for a while, which one simpler fault does too. A
//! window of consecutive faults is replaced by one fault over its span: a
//! crash of a node it names (restarting when the window ends), the node
//! cut off from the others (a partition, until the next one or the heal),
//! or, for a window of three or more, a pause and a resume. Kept if the run
//! still breaks the same invariant; the largest windows are tried first.

use super::search::{nodes_named, Faults, Search};
use crate::drivers::{DiskFate, Fault, Point, Scheduled};
use raft_core::NodeId;

/// The longest window of faults replaced at once (bounds the runs of a
/// round: windows times the candidates of each).
const WINDOW_MAX: usize = 8;

impl Search<'_> {
    /// Replaces one window of faults by fewer, simpler ones; false if no
    /// replacement still fails (or time ran out).
    pub(super) fn merge_faults(&mut self) -> bool {
        let stage = format!("windows of up to {WINDOW_MAX} faults as one");
        self.report(&stage);
        let count = self.faults.len();
        for len in (2..=count.min(WINDOW_MAX)).rev() {
            for start in 0..=count - len {
                let window = &self.faults[start..start + len];
                for replacement in replacements(window) {
                    if replacement.len() >= len {
                        continue;
                    }
                    let mut faults: Faults = self.faults[..start].to_vec();
                    faults.extend(replacement);
                    faults.extend_from_slice(&self.faults[start + len..]);
                    if self.still_fails(&self.world.clone(), &faults) {
                        self.faults = faults;
                        self.report(&stage);
                        return true;
                    }
                    if self.stopped {
                        return false;
                    }
                }
            }
        }
        false
    }
}

/// What may stand in for `window`, each in its place in the schedule.
fn replacements(window: &[(usize, Scheduled)]) -> Vec<Faults> {
    let (first, last) = (&window[0], &window[window.len() - 1]);
    let (from_us, to_us) = (first.1.time_us, last.1.time_us);
    let span_us = (to_us - from_us).max(1_000);
    let at = |index: usize, time_us: u64, fault: Fault| {
        let point = Point::Timer;
        (
            index,
            Scheduled {
                time_us,
                point,
                fault,
            },
        )
    };
    let mut nodes: Vec<NodeId> = window.iter().flat_map(|(_, s)| nodes_named(s)).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut found = Vec::new();
    for &node in &nodes {
        let crash = Fault::Crash {
            node,
            disk: DiskFate::Synced,
            restart_after_us: Some(span_us),
        };
        found.push(vec![at(first.0, from_us, crash)]);
        let isolated = Fault::Partition {
            groups: vec![vec![node]],
        };
        found.push(vec![at(first.0, from_us, isolated)]);
        found.push(vec![
            at(first.0, from_us, Fault::Pause { node }),
            at(last.0, to_us, Fault::Resume { node }),
        ]);
    }
    found
}
