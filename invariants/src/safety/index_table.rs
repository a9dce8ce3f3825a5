//! The log matching table: for every log index, the (term, chain) pairs ever
//! seen there and the node that first held each.
//!
//! In Raft an entry of index `i` and term `t` is created once, by the one
//! leader of `t`, so every log that ever holds `(i, t)` must hold the same
//! prefix up to `i`: one chain value per `(i, t)`, across all nodes and all
//! time. Recording an entry is O(1) (a term seldom has more than one or two
//! rivals at an index).

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

/// The table, one slot per index; `slots[i - 1]` is index `i`.
#[derive(Clone, Debug, Default)]
pub(crate) struct IndexTable {
    // Invariant: slots.len() is the longest log ever recorded.
    slots: Vec<Slot>,
}

impl IndexTable {
    /// Records that `node` holds `(index, term)` with prefix chain `chain`.
    /// Returns the earlier sighting of `(index, term)` if its chain differs.
    /// Logs grow one entry at a time, so `index` is at most one past the
    /// longest log recorded so far.
    pub(crate) fn record(
        &mut self,
        index: Index,
        term: Term,
        chain: u64,
        node: NodeId,
    ) -> Result<(), Sighting> {
        assert!(index >= 1, "log indexes start at 1");
        let sighting = Sighting { term, chain, node };
        let position = usize::try_from(index - 1).expect("index fits in memory");
        assert!(
            position <= self.slots.len(),
            "index {index} recorded past the longest log ({})",
            self.slots.len()
        );
        let Some(slot) = self.slots.get_mut(position) else {
            self.slots.push(Slot {
                first: sighting,
                rivals: Vec::new(),
            });
            return Ok(());
        };
        let earlier = if slot.first.term == term {
            slot.first
        } else if let Some(rival) = slot.rivals.iter().find(|rival| rival.term == term) {
            *rival
        } else {
            slot.rivals.push(sighting);
            return Ok(());
        };
        if earlier.chain == chain {
            Ok(())
        } else {
            Err(earlier)
        }
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
}
