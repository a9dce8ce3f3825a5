//! One log as the checker keeps it: per index, the entry's term and the chain
//! value of the prefix ending there (see `chain.rs`). Digests are folded into
//! the chain and not kept.

use super::chain::{chain_step, GENESIS};
use super::{Index, Term};

/// One entry of a kept log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChainedEntry {
    /// The entry's term.
    pub(crate) term: Term,
    /// The chain value of the prefix ending at this entry.
    pub(crate) chain: u64,
}

/// A log kept as a hash chain; `entries[i - 1]` is index `i`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChainedLog {
    // Invariant: entries[i].chain == chain_step(chain of entries[i - 1] (GENESIS for i = 0),
    // entries[i].term, digest of the entry at index i + 1).
    entries: Vec<ChainedEntry>,
}

impl ChainedLog {
    /// The index of the last entry, 0 when empty.
    pub(crate) fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    /// The chain value of the prefix ending at `index` (GENESIS for 0), or
    /// `None` past the end of the log.
    pub(crate) fn chain_at(&self, index: Index) -> Option<u64> {
        if index == 0 {
            return Some(GENESIS);
        }
        self.entry_at(index).map(|entry| entry.chain)
    }

    /// The entry at `index` (from 1), or `None` past the end of the log.
    pub(crate) fn entry_at(&self, index: Index) -> Option<ChainedEntry> {
        let position = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(position).copied()
    }

    /// Keeps the entries up to `last_index` (the log must be at least that long).
    pub(crate) fn truncate(&mut self, last_index: Index) {
        assert!(
            last_index <= self.last_index(),
            "truncate to {last_index} past the end ({})",
            self.last_index()
        );
        self.entries.truncate(last_index as usize);
    }

    /// Appends an entry and returns its chained form.
    pub(crate) fn push(&mut self, term: Term, digest: u64) -> ChainedEntry {
        let previous = self.entries.last().map_or(GENESIS, |entry| entry.chain);
        let entry = ChainedEntry {
            term,
            chain: chain_step(previous, term, digest),
        };
        self.entries.push(entry);
        entry
    }

    /// Appends an already chained entry (copying a prefix from another log).
    pub(crate) fn push_chained(&mut self, entry: ChainedEntry) {
        self.entries.push(entry);
    }

    /// Whether this log holds the first `index` entries of `other`.
    pub(crate) fn agrees_with(&self, other: &ChainedLog, index: Index) -> bool {
        let chain = self.chain_at(index);
        chain.is_some() && chain == other.chain_at(index)
    }

    /// The first index at which this log and `other` differ, at or before
    /// `index`, where they are known to differ. Chains that agree at an index
    /// agree before it, so this is a binary search: O(log index).
    pub(crate) fn first_divergence(&self, other: &ChainedLog, index: Index) -> Index {
        assert!(index >= 1 && !self.agrees_with(other, index));
        let (mut low, mut high) = (1, index);
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
            None => format!("a log ending at index {}", self.last_index()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
