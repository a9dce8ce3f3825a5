//! One log as the checker keeps it: a base (the entry a snapshot ends at, or
//! the empty prefix at index 0), then per index the entry's term and the
//! chain value of the prefix ending there (see `chain.rs`). Digests are
//! folded into the chain and not kept; entries at or below the base are gone.

use std::collections::VecDeque;

use super::chain::chain_step;
use super::chain::GENESIS;
use super::{Index, Term};

/// One entry of a kept log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChainedEntry {
    /// The entry's term.
    pub(crate) term: Term,
    /// The chain value of the prefix ending at this entry.
    pub(crate) chain: u64,
}

impl ChainedEntry {
    /// The empty prefix: index 0, term 0, chain GENESIS.
    pub(crate) const EMPTY: ChainedEntry = ChainedEntry {
        term: 0,
        chain: GENESIS,
    };
}

/// A log kept as a hash chain after a base: `entries[k]` is index
/// `base_index + 1 + k`. Compaction moves the base up in O(1) per dropped
/// entry (a ring buffer: nothing after the base moves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChainedLog {
    base_index: Index,
    // Invariant: base is the term and chain value of the prefix ending at base_index
    // (ChainedEntry::EMPTY when base_index is 0).
    base: ChainedEntry,
    // Invariant: entries[k].chain == chain_step(chain of entries[k - 1] (base.chain for
    // k = 0), entries[k].term, digest of the entry at index base_index + 1 + k).
    entries: VecDeque<ChainedEntry>,
}

impl Default for ChainedLog {
    fn default() -> ChainedLog {
        ChainedLog {
            base_index: 0,
            base: ChainedEntry::EMPTY,
            entries: VecDeque::new(),
        }
    }
}

impl ChainedLog {
    /// The index of the base: entries at or below it are not kept.
    pub(crate) fn base_index(&self) -> Index {
        self.base_index
    }

    /// The index of the last entry (the base index when no entry follows it).
    pub(crate) fn last_index(&self) -> Index {
        self.base_index + self.entries.len() as Index
    }

    /// The number of entries kept after the base.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The chain value of the prefix ending at `index`, or `None` below the
    /// base or past the end of the log.
    pub(crate) fn chain_at(&self, index: Index) -> Option<u64> {
        self.entry_at(index).map(|entry| entry.chain)
    }

    /// The entry at `index` (the base entry at the base index), or `None`
    /// below the base or past the end of the log.
    pub(crate) fn entry_at(&self, index: Index) -> Option<ChainedEntry> {
        let offset = index.checked_sub(self.base_index)?;
        if offset == 0 {
            return Some(self.base);
        }
        let position = usize::try_from(offset - 1).ok()?;
        self.entries.get(position).copied()
    }

    /// Keeps the entries up to `last_index`, which must lie between the base
    /// and the end of the log: what is below the base is gone.
    pub(crate) fn truncate(&mut self, last_index: Index) {
        assert!(
            last_index >= self.base_index,
            "truncate to {last_index} below the log's base {} (a compacted prefix cannot be \
             rewritten)",
            self.base_index
        );
        assert!(
            last_index <= self.last_index(),
            "truncate to {last_index} past the end ({})",
            self.last_index()
        );
        self.entries
            .truncate((last_index - self.base_index) as usize);
    }

    /// Appends an entry and returns its chained form.
    pub(crate) fn push(&mut self, term: Term, digest: u64) -> ChainedEntry {
        let previous = self
            .entries
            .back()
            .map_or(self.base.chain, |entry| entry.chain);
        let entry = ChainedEntry {
            term,
            chain: chain_step(previous, term, digest),
        };
        self.entries.push_back(entry);
        entry
    }

    /// Appends an already chained entry (copying an entry from another log).
    pub(crate) fn push_chained(&mut self, entry: ChainedEntry) {
        self.entries.push_back(entry);
    }

    /// Drops the entries up to `index`, which becomes the base. `index` must
    /// lie between the base and the end of the log.
    pub(crate) fn compact(&mut self, index: Index) {
        let base = self.entry_at(index).unwrap_or_else(|| {
            panic!(
                "compact to {index} outside the log ({}..={})",
                self.base_index,
                self.last_index()
            )
        });
        self.entries.drain(..(index - self.base_index) as usize);
        self.base_index = index;
        self.base = base;
    }

    /// Replaces the whole log by a base at `index` holding `base` (a
    /// snapshot from elsewhere): O(1), keeping the allocation.
    pub(crate) fn reset(&mut self, index: Index, base: ChainedEntry) {
        self.entries.clear();
        self.base_index = index;
        self.base = base;
    }

    /// Whether this log holds the first `index` entries of `other`. A base
    /// stands for the prefix it ends: when `index` lies below either base,
    /// the logs are compared at the higher base instead (agreeing there,
    /// they agree on everything before it).
    pub(crate) fn agrees_with(&self, other: &ChainedLog, index: Index) -> bool {
        let compared = index.max(self.base_index).max(other.base_index);
        let chain = self.chain_at(compared);
        chain.is_some() && chain == other.chain_at(compared)
    }

    /// The first index, at or above both bases, at which this log and
    /// `other` differ, where they are known to differ at `index` (or at the
    /// higher base, see [`ChainedLog::agrees_with`]). Chains that agree at an
    /// index agree before it, so this is a binary search: O(log index). When
    /// they already differ at the higher base, that base is returned.
    pub(crate) fn first_divergence(&self, other: &ChainedLog, index: Index) -> Index {
        assert!(!self.agrees_with(other, index));
        let low_base = self.base_index.max(other.base_index);
        let high = index.max(low_base);
        if !self.agrees_with(other, low_base) {
            return low_base.max(1);
        }
        let (mut low, mut high) = (low_base + 1, high);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.agrees_with(other, middle) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// Describes this log's entry at `index` for a report.
    pub(crate) fn describe_at(&self, index: Index) -> String {
        match self.entry_at(index) {
            Some(entry) => format!("an entry of term {} at index {index}", entry.term),
            None if index < self.base_index => {
                format!("a log compacted up to index {}", self.base_index)
            }
            None => format!("a log ending at index {}", self.last_index()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn log_of(entries: &[(Term, u64)]) -> ChainedLog {
        let mut log = ChainedLog::default();
        for &(term, digest) in entries {
            log.push(term, digest);
        }
        log
    }

    #[test]
    fn first_divergence_finds_the_first_differing_index() {
        let left = log_of(&[(1, 1), (1, 2), (2, 3), (2, 4)]);
        let right = log_of(&[(1, 1), (1, 2), (3, 3), (3, 4)]);
        assert_eq!(left.first_divergence(&right, 4), 3);
        let short = log_of(&[(1, 1)]);
        assert_eq!(left.first_divergence(&short, 4), 2);
        assert!(left.agrees_with(&right, 2));
        assert!(!left.agrees_with(&short, 2));
    }

    #[test]
    fn a_compacted_log_keeps_its_chain_and_agrees_across_the_base() {
        let full = log_of(&[(1, 1), (1, 2), (2, 3), (2, 4)]);
        let mut compacted = full.clone();
        compacted.compact(2);
        assert_eq!(compacted.base_index(), 2);
        assert_eq!(compacted.len(), 2);
        assert_eq!(compacted.chain_at(1), None);
        assert_eq!(compacted.chain_at(2), full.chain_at(2));
        assert_eq!(compacted.entry_at(4), full.entry_at(4));
        // Below the base, the base stands for the prefix it ends.
        assert!(compacted.agrees_with(&full, 1));
        assert!(full.agrees_with(&compacted, 4));
        let mut other = full.clone();
        other.truncate(3);
        other.push(3, 9);
        assert_eq!(compacted.first_divergence(&other, 4), 4);
        compacted.truncate(2);
        assert_eq!(compacted.last_index(), 2);
        assert_eq!(compacted.describe_at(1), "a log compacted up to index 2");
    }

    #[test]
    #[should_panic(expected = "below the log's base 2")]
    fn truncating_below_the_base_is_a_caller_bug() {
        let mut log = log_of(&[(1, 1), (1, 2), (2, 3)]);
        log.compact(2);
        log.truncate(1);
    }

    /// One operation on a log, with choices reduced modulo what is legal.
    #[derive(Clone, Debug)]
    enum Operation {
        Push(Term, u64),
        Truncate(usize),
        Compact(usize),
        /// Replace the log by the other log's prefix up to a chosen index, as a base.
        ResetFromOther(usize),
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            4 => (1..3u64, 0..2u64).prop_map(|(term, digest)| Operation::Push(term, digest)),
            1 => any::<usize>().prop_map(Operation::Truncate),
            1 => any::<usize>().prop_map(Operation::Compact),
            1 => any::<usize>().prop_map(Operation::ResetFromOther),
        ]
    }

    /// The naive model: the whole log from index 1, and the base index.
    #[derive(Clone, Debug, Default)]
    struct Naive {
        entries: Vec<(Term, u64)>,
        base: usize,
    }

    fn naive_chain(entries: &[(Term, u64)]) -> u64 {
        entries.iter().fold(GENESIS, |chain, &(term, digest)| {
            chain_step(chain, term, digest)
        })
    }

    /// Plays `operation` on log `which` of the pair, against the other log.
    fn play(logs: &mut [ChainedLog; 2], naives: &mut [Naive; 2], which: usize, op: &Operation) {
        let (log, naive) = (&mut logs[which], &mut naives[which]);
        let span = naive.entries.len() - naive.base + 1;
        match *op {
            Operation::Push(term, digest) => {
                log.push(term, digest);
                naive.entries.push((term, digest));
            }
            Operation::Truncate(choice) => {
                let last = naive.base + choice % span;
                log.truncate(last as Index);
                naive.entries.truncate(last);
            }
            Operation::Compact(choice) => {
                let index = naive.base + choice % span;
                log.compact(index as Index);
                naive.base = index;
            }
            Operation::ResetFromOther(choice) => {
                let other = naives[1 - which].clone();
                let index = other.base + choice % (other.entries.len() - other.base + 1);
                let base = logs[1 - which].entry_at(index as Index).expect("in range");
                logs[which].reset(index as Index, base);
                naives[which] = Naive {
                    entries: other.entries[..index].to_vec(),
                    base: index,
                };
            }
        }
    }

    proptest! {
        // Pinned like the tests' `pinned` configurations: the same cases every run.
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            rng_seed: proptest::test_runner::RngSeed::Fixed(1),
            ..ProptestConfig::default()
        })]

        #[test]
        fn a_log_with_a_base_agrees_with_a_naive_whole_log(
            operations in prop::collection::vec((0..2usize, operation()), 1..60)
        ) {
            let mut logs = [ChainedLog::default(), ChainedLog::default()];
            let mut naives = [Naive::default(), Naive::default()];
            for (which, op) in &operations {
                play(&mut logs, &mut naives, *which, op);
                for (log, naive) in logs.iter().zip(&naives) {
                    prop_assert_eq!(log.base_index(), naive.base as Index);
                    prop_assert_eq!(log.last_index(), naive.entries.len() as Index);
                    prop_assert_eq!(log.chain_at(naive.base as Index).is_some(), true);
                    for index in naive.base..=naive.entries.len() {
                        let chain = naive_chain(&naive.entries[..index]);
                        prop_assert_eq!(log.chain_at(index as Index), Some(chain));
                    }
                }
                // Agreement above both bases is prefix equality.
                let low = naives[0].base.max(naives[1].base);
                let high = naives[0].entries.len().max(naives[1].entries.len());
                for index in low..=high {
                    let equal = index <= naives[0].entries.len()
                        && index <= naives[1].entries.len()
                        && naives[0].entries[..index] == naives[1].entries[..index];
                    prop_assert_eq!(logs[0].agrees_with(&logs[1], index as Index), equal);
                    if !equal && index >= 1 {
                        let first = (1..=index)
                            .find(|&i| {
                                i > naives[0].entries.len()
                                    || i > naives[1].entries.len()
                                    || naives[0].entries[..i] != naives[1].entries[..i]
                            })
                            .expect("they differ by index");
                        let seen = logs[0].first_divergence(&logs[1], index as Index);
                        prop_assert_eq!(seen, (first as Index).max(low as Index).max(1));
                    }
                }
            }
        }
    }
}
