//! Other background randomness: a 1-minimal run keeps the seed's delays,
//! timeouts and clients, and with them whatever faults steer its elections
//! to the moment of the violation. Under other timeouts the same failure
//! may need far fewer of them. So once the run is 1-minimal with k faults:
//!
//! - its k faults are run under each of [`ALL_FAULTS_BACKGROUNDS`] other
//!   background seeds (the parameters stay the original seed's), and where
//!   the run still breaks the same invariant, ddmin reduces it under that
//!   background; kept if it needs fewer than k;
//! - failing that, each fault is taken out under each of
//!   [`ONE_FEWER_BACKGROUNDS`] other background seeds; the first run that
//!   still breaks the invariant with k - 1 faults is kept;
//! - failing that, windows of faults become one ([`super::merge`]).
//!
//! Each success is reduced again (ddmin, a smaller world, the 1-minimality
//! check), until a round finds nothing. The candidate seeds follow from the
//! original seed alone (the seeds after it), so the search is
//! deterministic; the runs of a round are bounded by those counts, and the
//! time limit bounds it like every other stage.

use super::search::Search;
use crate::commands::scenario::ast::WorldSpec;

/// How many other background seeds the whole schedule is run under.
const ALL_FAULTS_BACKGROUNDS: u64 = 256;
/// How many other background seeds each fault is taken out under (k runs
/// each).
const ONE_FEWER_BACKGROUNDS: u64 = 32;

impl Search<'_> {
    /// From a 1-minimal run: rounds of other backgrounds and merged
    /// windows, each success reduced by ddmin and the world again and
    /// checked 1-minimal, until a round finds nothing. If the time limit
    /// stops a round, the run is the last 1-minimal one.
    pub(super) fn reduce_further(&mut self) {
        loop {
            let minimal = (self.world.clone(), self.faults.clone());
            let found = !self.faults.is_empty()
                && (self.all_faults_under_other_backgrounds()
                    || self.one_fewer_under_other_backgrounds()
                    || self.merge_faults());
            if found {
                self.reduce_faults("faults, once more", |_| true);
                self.reduce_world();
                self.check_one_minimal();
            }
            if self.stopped {
                (self.world, self.faults) = minimal;
                return;
            }
            if !found {
                return;
            }
        }
    }

    /// The whole schedule under each other background; where it still
    /// fails, ddmin under that background; kept if it needs fewer faults.
    fn all_faults_under_other_backgrounds(&mut self) -> bool {
        let stage = format!("every fault under {ALL_FAULTS_BACKGROUNDS} other background seeds");
        self.report(&stage);
        for world in self.other_backgrounds(ALL_FAULTS_BACKGROUNDS) {
            let before = (self.world.clone(), self.faults.clone());
            if self.still_fails(&world, &before.1) {
                self.world = world;
                self.reduce_faults("faults under another background", |_| true);
                if self.faults.len() < before.1.len() {
                    return true;
                }
                (self.world, self.faults) = before;
                self.report(&stage);
            }
            if self.stopped {
                return false;
            }
        }
        false
    }

    /// Takes out one fault under another background seed: the first
    /// (background, fault) pair in order with which the run still fails.
    fn one_fewer_under_other_backgrounds(&mut self) -> bool {
        let stage = format!("one fault fewer under {ONE_FEWER_BACKGROUNDS} other background seeds");
        self.report(&stage);
        for world in self.other_backgrounds(ONE_FEWER_BACKGROUNDS) {
            for index in 0..self.faults.len() {
                let mut without = self.faults.clone();
                without.remove(index);
                if self.still_fails(&world, &without) {
                    (self.world, self.faults) = (world, without);
                    self.report(&stage);
                    return true;
                }
                if self.stopped {
                    return false;
                }
            }
        }
        false
    }

    /// The world now under the `count` seeds after the original as its
    /// background, skipping the one it has (its faults are 1-minimal there).
    fn other_backgrounds(&self, count: u64) -> Vec<WorldSpec> {
        let current = self.world.background.unwrap_or(self.seed);
        (1..=count)
            .map(|offset| self.seed.wrapping_add(offset))
            .filter(|&background| background != current)
            .map(|background| WorldSpec {
                background: Some(background),
                ..self.world.clone()
            })
            .collect()
    }
}
