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

/// What is known at one index, packed into 32 bytes (node ids are below
/// 2^16, see `NODE_ID_LIMIT`): a slot is written on every apply.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    term: Term,
    digest: u64,
    state_digest: u64,
    // Invariant: entry_node is meaningful only when has_entry, state_node when has_state.
    entry_node: u16,
    state_node: u16,
    /// An entry was applied here (nodes that pass an index by a snapshot apply nothing).
    has_entry: bool,
    /// A state was reported here, by an apply or a snapshot.
    has_state: bool,
}

/// What an observation at an index disagreed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Another entry was applied there first.
    Entry(FirstApplied),
    /// Another state was reached there first.
    State(FirstState),
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
    /// `index`, its state then being `state_digest` (`None`: not known);
    /// returns what was there first if it differs (the entry first).
    pub(crate) fn record_apply(
        &mut self,
        index: Index,
        term: Term,
        digest: u64,
        state_digest: Option<u64>,
        node: NodeId,
    ) -> Result<(), Conflict> {
        let Some(slot) = self.slot_mut(index) else {
            return Ok(());
        };
        if !slot.has_entry {
            slot.has_entry = true;
            (slot.term, slot.digest, slot.entry_node) = (term, digest, node as u16);
        } else if slot.term != term || slot.digest != digest {
            return Err(Conflict::Entry(FirstApplied {
                term: slot.term,
                digest: slot.digest,
                node: NodeId::from(slot.entry_node),
            }));
        }
        match state_digest {
            Some(state_digest) => record_state_in(slot, state_digest, node),
            None => Ok(()),
        }
    }

    /// Records that `node`'s state machine after `index` has `state_digest`;
    /// returns the first state seen there if it differs.
    pub(crate) fn record_state(
        &mut self,
        index: Index,
        state_digest: u64,
        node: NodeId,
    ) -> Result<(), Conflict> {
        match self.slot_mut(index) {
            Some(slot) => record_state_in(slot, state_digest, node),
            None => Ok(()),
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

fn record_state_in(slot: &mut Slot, state_digest: u64, node: NodeId) -> Result<(), Conflict> {
    if !slot.has_state {
        slot.has_state = true;
        (slot.state_digest, slot.state_node) = (state_digest, node as u16);
        return Ok(());
    }
    if slot.state_digest == state_digest {
        return Ok(());
    }
    Err(Conflict::State(FirstState {
        state_digest: slot.state_digest,
        node: NodeId::from(slot.state_node),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_and_state_at_an_index_are_what_later_ones_are_held_to() {
        let mut table = AppliedTable::default();
        assert_eq!(table.record_apply(1, 1, 10, Some(5), 1), Ok(()));
        assert_eq!(table.record_apply(1, 1, 10, None, 2), Ok(()));
        let first = FirstApplied {
            term: 1,
            digest: 10,
            node: 1,
        };
        assert_eq!(
            table.record_apply(1, 2, 10, None, 3),
            Err(Conflict::Entry(first))
        );
        let first_state = FirstState {
            state_digest: 5,
            node: 1,
        };
        let conflict = Err(Conflict::State(first_state));
        assert_eq!(table.record_apply(1, 1, 10, Some(6), 3), conflict);
        // A snapshot at 3 records a state where nothing was applied.
        assert_eq!(table.record_state(3, 77, 2), Ok(()));
        assert_eq!(table.len(), 3);
        assert_eq!(table.record_apply(3, 1, 12, None, 1), Ok(()));
        let first_state = FirstState {
            state_digest: 77,
            node: 2,
        };
        assert_eq!(
            table.record_state(3, 78, 1),
            Err(Conflict::State(first_state))
        );
        table.prune_to(2);
        assert_eq!(table.len(), 1);
        assert_eq!(table.record_apply(1, 9, 9, None, 9), Ok(()));
        assert_eq!(
            table.record_state(3, 78, 1),
            Err(Conflict::State(first_state))
        );
    }
}
