//! A node's disk: a durable part and the writes not yet synced.
//!
//! A write becomes durable only when an fsync completes (which takes virtual
//! time). A crash keeps the durable part plus a prefix of the unsynced writes,
//! drawn from the seed: a write that was issued may or may not have reached the
//! platter, but never out of order. A disk loss keeps nothing.

use raft_core::{Entry, HardState, RestoredState};

use crate::world::rng::Rng;

/// One write the host issued.
#[derive(Clone, Debug)]
enum Write {
    HardState(HardState),
    /// Truncate the log from the first entry's index, then append.
    Entries(Vec<Entry>),
}

/// A node's simulated disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: RestoredState,
    // Invariant: applied to `durable` in order, as a prefix, on sync or crash.
    unsynced: Vec<Write>,
}

impl Disk {
    /// Issues the writes of one ready (not yet durable).
    pub fn write(&mut self, hard_state: Option<HardState>, entries: Vec<Entry>) {
        if !entries.is_empty() {
            self.unsynced.push(Write::Entries(entries));
        }
        if let Some(hard_state) = hard_state {
            self.unsynced.push(Write::HardState(hard_state));
        }
    }

    /// Completes an fsync: every issued write is now durable.
    pub fn sync(&mut self) {
        let writes = std::mem::take(&mut self.unsynced);
        for write in writes {
            self.make_durable(write);
        }
    }

    /// A crash: a prefix of the unsynced writes (length drawn from `rng`) survives.
    /// Returns how many writes were lost.
    pub fn crash(&mut self, rng: &mut Rng) -> usize {
        let writes = std::mem::take(&mut self.unsynced);
        let kept = rng.range_inclusive(0, writes.len() as u64) as usize;
        let lost = writes.len() - kept;
        for write in writes.into_iter().take(kept) {
            self.make_durable(write);
        }
        lost
    }

    /// A power loss: the unsynced writes are gone, the durable part stays.
    pub fn lose_unsynced(&mut self) {
        self.unsynced.clear();
    }

    /// A disk loss: nothing survives.
    pub fn wipe(&mut self) {
        *self = Disk::default();
    }

    /// What a restarting node reads back.
    pub fn restore(&self) -> RestoredState {
        assert!(
            self.unsynced.is_empty(),
            "restore only after a crash settled the disk"
        );
        self.durable.clone()
    }

    /// Number of durable log entries.
    pub fn durable_len(&self) -> usize {
        self.durable.entries.len()
    }

    fn make_durable(&mut self, write: Write) {
        match write {
            Write::HardState(hard_state) => self.durable.hard_state = hard_state,
            Write::Entries(entries) => {
                let first = entries[0].index;
                let log = &mut self.durable.entries;
                assert!(
                    first >= 1 && first <= log.len() as u64 + 1,
                    "write at {first} leaves a gap after {}",
                    log.len()
                );
                log.truncate(first as usize - 1);
                log.extend(entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::rng::Stream;
    use raft_core::EntryKind;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            kind: EntryKind::Normal,
            data: bytes::Bytes::new(),
        }
    }

    #[test]
    fn only_synced_writes_are_sure_to_survive_a_crash() {
        let mut disk = Disk::default();
        disk.write(
            Some(HardState {
                term: 1,
                vote: Some(1),
                commit: 0,
            }),
            vec![entry(1, 1)],
        );
        disk.sync();
        disk.write(None, vec![entry(2, 1)]);
        let mut rng = Rng::new(3, Stream::Disk(1));
        disk.crash(&mut rng);
        let restored = disk.restore();
        assert_eq!(restored.hard_state.term, 1);
        assert!(!restored.entries.is_empty() && restored.entries.len() <= 2);
    }

    #[test]
    fn a_later_write_truncates_the_log_from_its_first_index() {
        let mut disk = Disk::default();
        disk.write(None, vec![entry(1, 1), entry(2, 1), entry(3, 1)]);
        disk.write(None, vec![entry(2, 2)]);
        disk.sync();
        let terms: Vec<u64> = disk.restore().entries.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 2]);
    }

    #[test]
    fn a_wiped_disk_keeps_nothing() {
        let mut disk = Disk::default();
        disk.write(
            Some(HardState {
                term: 4,
                vote: None,
                commit: 0,
            }),
            vec![entry(1, 4)],
        );
        disk.sync();
        disk.wipe();
        assert_eq!(disk.durable_len(), 0);
        assert_eq!(disk.restore().hard_state, HardState::default());
    }
}
