//! The log matching table: for every log index, the (term, chain) pairs ever
//! seen there and the node that first held each.
//!
//! In Raft an entry of index `i` and term `t` is created once, by the one
//! leader of `t`, so every log that ever holds `(i, t)` must hold the same
//! prefix up to `i`: one chain value per `(i, t)`, across all nodes and all
//! time. Recording an entry is O(1) (a term seldom has more than one or two
//! rivals at an index).
//!
//! Indexes at or below the pruning floor (see [`IndexTable::prune_to`]) are
//! dropped: they are committed and compacted on every log, so no log can
//! hold a rival there any more.

use std::collections::VecDeque;

use super::{Index, NodeId, Term};

/// The first sighting of an entry `(index, term)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sighting {
    /// The entry's term.
    pub(crate) term: Term,
    /// The chain value of the prefix ending at this entry.
    pub(crate) chain: u64,
    /// The node that held it first.
    pub(crate) node: NodeId,
}

/// The sightings at one index: the first inline, the rival terms after it.
#[derive(Clone, Debug)]
struct Slot {
    first: Sighting,
    // Invariant: no two sightings of a slot share a term.
    rivals: Vec<Sighting>,
}

/// The table, one slot per index above the floor; `slots[k]` is index
/// `floor + 1 + k`.
#[derive(Clone, Debug, Default)]
pub(crate) struct IndexTable {
    // Invariant: floor + slots.len() is the longest log ever recorded (or the floor).
    floor: Index,
    slots: VecDeque<Slot>,
    // Invariant: sightings == sum over slots of 1 + rivals.len().
    sightings: usize,
}

impl IndexTable {
    /// Records that `node` holds `(index, term)` with prefix chain `chain`.
    /// Returns the earlier sighting of `(index, term)` if its chain differs.
    /// Logs grow one entry at a time, so `index` is at most one past the
    /// longest log recorded so far. An index at or below the floor is not
    /// checked (nothing is kept there).
    pub(crate) fn record(
        &mut self,
        index: Index,
        term: Term,
        chain: u64,
        node: NodeId,
    ) -> Result<(), Sighting> {
        assert!(index >= 1, "log indexes start at 1");
        if index <= self.floor {
            return Ok(());
        }
        let sighting = Sighting { term, chain, node };
        let position = usize::try_from(index - self.floor - 1).expect("index fits in memory");
        assert!(
            position <= self.slots.len(),
            "index {index} recorded past the longest log ({})",
            self.floor + self.slots.len() as Index
        );
        let Some(slot) = self.slots.get_mut(position) else {
            self.slots.push_back(Slot {
                first: sighting,
                rivals: Vec::new(),
            });
            self.sightings += 1;
            return Ok(());
        };
        let earlier = if slot.first.term == term {
            slot.first
        } else if let Some(rival) = slot.rivals.iter().find(|rival| rival.term == term) {
            *rival
        } else {
            slot.rivals.push(sighting);
            self.sightings += 1;
            return Ok(());
        };
        if earlier.chain == chain {
            Ok(())
        } else {
            Err(earlier)
        }
    }

    /// Drops every index at or below `floor` (the floor never goes down).
    /// O(1) per dropped index.
    pub(crate) fn prune_to(&mut self, floor: Index) {
        if floor <= self.floor {
            return;
        }
        let dropped = usize::try_from(floor - self.floor).unwrap_or(usize::MAX);
        for slot in self.slots.drain(..dropped.min(self.slots.len())) {
            self.sightings -= 1 + slot.rivals.len();
        }
        self.floor = floor;
    }

    /// The number of sightings held, for memory accounting: O(1).
    pub(crate) fn sighting_count(&self) -> usize {
        self.sightings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_index_and_term_with_another_prefix_is_reported_with_the_first_holder() {
        let mut table = IndexTable::default();
        assert_eq!(table.record(1, 1, 10, 1), Ok(()));
        assert_eq!(table.record(1, 1, 10, 2), Ok(()));
        assert_eq!(table.record(1, 2, 20, 3), Ok(()));
        assert_eq!(table.record(2, 2, 21, 3), Ok(()));
        let earlier = table.record(1, 2, 99, 2).unwrap_err();
        assert_eq!(earlier.node, 3);
        assert_eq!(earlier.chain, 20);
    }

    #[test]
    fn pruned_indexes_are_no_longer_checked_and_later_ones_still_are() {
        let mut table = IndexTable::default();
        for index in 1..=4 {
            assert_eq!(table.record(index, 1, index * 10, 1), Ok(()));
        }
        table.prune_to(2);
        assert_eq!(table.sighting_count(), 2);
        assert_eq!(table.record(2, 1, 99, 2), Ok(()));
        assert_eq!(table.record(3, 1, 99, 2).unwrap_err().chain, 30);
        assert_eq!(table.record(5, 1, 50, 2), Ok(()));
        table.prune_to(9);
        assert_eq!(table.sighting_count(), 0);
        assert_eq!(table.record(10, 1, 100, 1), Ok(()));
    }
}
