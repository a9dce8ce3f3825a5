//! The state machine table: for every index above the pruning floor, the
//! entry first applied there and the state digest first seen after it (by an
//! apply, or by a snapshot at that index), each with the node that gave it.
//!
//! State machine safety asks that every node apply the same entry at an
//! index, and that every state machine at index `i` (reached by applying, or
//! installed from a snapshot) be the same state. Both are one comparison
//! against the first sighting: O(1) per observation.

use std::collections::VecDeque;

use super::{Index, NodeId, Term};

/// The first application of an index, by any node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstApplied {
    /// The applied entry's term.
    pub(crate) term: Term,
    /// The applied entry's data digest.
    pub(crate) digest: u64,
    /// The node that applied it first.
    pub(crate) node: NodeId,
}

/// The first state digest seen at an index, after an apply or a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstState {
    /// The digest of the state machine after index `i`.
    pub(crate) state_digest: u64,
    /// The node whose state it was.
    pub(crate) node: NodeId,
}

/// What is known at one index; `None`: no node reported it yet (nodes that
/// pass an index by a snapshot apply nothing there).
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    entry: Option<FirstApplied>,
    state: Option<FirstState>,
}

/// The table, one slot per index above the floor; `slots[k]` is index
/// `floor + 1 + k`.
#[derive(Clone, Debug, Default)]
pub(crate) struct AppliedTable {
    floor: Index,
    slots: VecDeque<Slot>,
}

impl AppliedTable {
    /// The slot of `index`, growing the table up to it; `None` at or below
    /// the floor (pruned: nothing is checked there any more).
    fn slot_mut(&mut self, index: Index) -> Option<&mut Slot> {
        assert!(index >= 1, "log indexes start at 1");
        let position = usize::try_from(index.checked_sub(self.floor + 1)?).expect("fits");
        if position >= self.slots.len() {
            self.slots.resize(position + 1, Slot::default());
        }
        self.slots.get_mut(position)
    }

    /// Records that `node` applied the entry of `term` and `digest` at
    /// `index`; returns the first application there if it was another entry.
    pub(crate) fn record_entry(
        &mut self,
        index: Index,
        term: Term,
        digest: u64,
        node: NodeId,
    ) -> Result<(), FirstApplied> {
        let Some(slot) = self.slot_mut(index) else {
            return Ok(());
        };
        match slot.entry {
            None => {
                slot.entry = Some(FirstApplied { term, digest, node });
                Ok(())
            }
            Some(first) if first.term == term && first.digest == digest => Ok(()),
            Some(first) => Err(first),
        }
    }

    /// Records that `node`'s state machine after `index` has `state_digest`;
    /// returns the first state seen there if it differs.
    pub(crate) fn record_state(
        &mut self,
        index: Index,
        state_digest: u64,
        node: NodeId,
    ) -> Result<(), FirstState> {
        let Some(slot) = self.slot_mut(index) else {
            return Ok(());
        };
        match slot.state {
            None => {
                slot.state = Some(FirstState { state_digest, node });
                Ok(())
            }
            Some(first) if first.state_digest == state_digest => Ok(()),
            Some(first) => Err(first),
        }
    }

    /// Drops every index at or below `floor` (the floor never goes down).
    pub(crate) fn prune_to(&mut self, floor: Index) {
        if floor <= self.floor {
            return;
        }
        let dropped = usize::try_from(floor - self.floor).unwrap_or(usize::MAX);
        self.slots.drain(..dropped.min(self.slots.len()));
        self.floor = floor;
    }

    /// The number of indexes held, for memory accounting.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_and_state_at_an_index_are_what_later_ones_are_held_to() {
        let mut table = AppliedTable::default();
        assert_eq!(table.record_entry(1, 1, 10, 1), Ok(()));
        assert_eq!(table.record_entry(1, 1, 10, 2), Ok(()));
        assert_eq!(table.record_entry(1, 2, 10, 3).unwrap_err().node, 1);
        // A snapshot at 3 records a state where nothing was applied.
        assert_eq!(table.record_state(3, 77, 2), Ok(()));
        assert_eq!(table.len(), 3);
        assert_eq!(table.record_state(3, 78, 1).unwrap_err().node, 2);
        table.prune_to(2);
        assert_eq!(table.len(), 1);
        assert_eq!(table.record_entry(1, 9, 9, 9), Ok(()));
        assert_eq!(table.record_state(3, 78, 1).unwrap_err().state_digest, 77);
    }
}
