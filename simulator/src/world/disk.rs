//! A node's disk: a durable part and the writes not yet synced.
//!
//! A write becomes durable only when an fsync completes (which takes virtual
//! time). A crash keeps the durable part plus a prefix of the unsynced writes,
//! drawn from the seed: a write that was issued may or may not have reached the
//! platter, but never out of order. A disk loss keeps nothing.
//!
//! The durable log starts after the durable snapshot, if any. A snapshot the
//! host takes of its own state machine (compaction) is durable at once (it
//! covers applied entries only, which are durable already; the host writes it
//! to a new file and renames it over the old, as etcd's snapshotter does). A
//! snapshot a leader sent is one more write of a ready, in order with the
//! others.

use raft_core::{Entry, HardState, Index, RestoredState, Snapshot};

use crate::world::rng::Rng;

/// One write the host issued.
#[derive(Clone, Debug)]
enum Write {
    HardState(HardState),
    /// Truncate the log from the first entry's index, then append.
    Entries(Vec<Entry>),
    /// A snapshot a leader sent replaces the log up to its index.
    Snapshot(Snapshot),
}

/// A node's simulated disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: RestoredState,
    // Invariant: applied to `durable` in order, as a prefix, on sync or crash.
    unsynced: Vec<Write>,
}

impl Disk {
    /// Issues the writes of one ready (not yet durable): its snapshot first,
    /// then its entries and hard state.
    pub fn write(
        &mut self,
        snapshot: Option<Snapshot>,
        hard_state: Option<HardState>,
        entries: Vec<Entry>,
    ) {
        if let Some(snapshot) = snapshot {
            self.unsynced.push(Write::Snapshot(snapshot));
        }
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

    /// The host snapshotted its state machine at `snapshot.meta.index`
    /// (applied, hence durable): the snapshot is durable now and the durable
    /// entries it covers are dropped.
    pub fn compact(&mut self, snapshot: Snapshot) {
        self.install(snapshot, true);
    }

    /// Number of durable log entries (after the durable snapshot).
    pub fn durable_len(&self) -> usize {
        self.durable.entries.len()
    }

    /// The index of the durable snapshot (0 without one).
    pub fn snapshot_index(&self) -> Index {
        self.durable.snapshot.as_ref().map_or(0, |s| s.meta.index)
    }

    /// The durable hard state (term, vote, commit).
    pub fn durable_hard_state(&self) -> HardState {
        self.durable.hard_state
    }

    /// The index of the last durable entry (the snapshot's without entries
    /// after it; 0 for an empty disk).
    pub fn durable_last_index(&self) -> Index {
        self.snapshot_index() + self.durable.entries.len() as u64
    }

    /// Whether the entry at `index` of term `term` is durable here: in the
    /// durable log, or covered by the durable snapshot (which holds only
    /// committed entries, so one it covers is the committed one).
    pub fn durably_holds(&self, index: Index, term: u64) -> bool {
        let base = self.snapshot_index();
        if index <= base {
            return true;
        }
        self.durable
            .entries
            .get((index - base - 1) as usize)
            .is_some_and(|e| e.index == index && e.term == term)
    }

    fn make_durable(&mut self, write: Write) {
        match write {
            Write::HardState(hard_state) => self.durable.hard_state = hard_state,
            // raft-core hands the host a snapshot only when it replaced the log.
            Write::Snapshot(snapshot) => self.install(snapshot, false),
            Write::Entries(mut entries) => {
                let base = self.snapshot_index();
                // Entries the snapshot already covers were issued before it.
                entries.retain(|e| e.index > base);
                let Some(first) = entries.first().map(|e| e.index) else {
                    return;
                };
                let log = &mut self.durable.entries;
                assert!(
                    first <= base + log.len() as u64 + 1,
                    "write at {first} leaves a gap after {}",
                    base + log.len() as u64
                );
                log.truncate((first - base - 1) as usize);
                log.extend(entries);
            }
        }
    }

    /// Makes `snapshot` the durable one. With `keep_later` (compaction) the
    /// durable entries after it stay if the log holds its last entry (same
    /// index and term); otherwise (a leader's snapshot, which replaced the
    /// log) all go.
    fn install(&mut self, snapshot: Snapshot, keep_later: bool) {
        let base = self.snapshot_index();
        let (index, term) = (snapshot.meta.index, snapshot.meta.term);
        if index <= base {
            return;
        }
        let log = &mut self.durable.entries;
        let at = (index - base) as usize;
        let holds_last = log
            .get(at - 1)
            .is_some_and(|e| e.index == index && e.term == term);
        if keep_later && holds_last {
            log.drain(..at);
        } else {
            log.clear();
        }
        self.durable.snapshot = Some(snapshot);
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
            None,
            Some(HardState {
                term: 1,
                vote: Some(1),
                commit: 0,
            }),
            vec![entry(1, 1)],
        );
        disk.sync();
        disk.write(None, None, vec![entry(2, 1)]);
        let mut rng = Rng::new(3, Stream::Disk(1));
        disk.crash(&mut rng);
        let restored = disk.restore();
        assert_eq!(restored.hard_state.term, 1);
        assert!(!restored.entries.is_empty() && restored.entries.len() <= 2);
    }

    #[test]
    fn a_later_write_truncates_the_log_from_its_first_index() {
        let mut disk = Disk::default();
        disk.write(None, None, vec![entry(1, 1), entry(2, 1), entry(3, 1)]);
        disk.write(None, None, vec![entry(2, 2)]);
        disk.sync();
        let terms: Vec<u64> = disk.restore().entries.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 2]);
    }

    #[test]
    fn a_wiped_disk_keeps_nothing() {
        let mut disk = Disk::default();
        disk.write(
            None,
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

    fn snapshot(index: u64, term: u64) -> Snapshot {
        Snapshot {
            meta: raft_core::SnapshotMeta {
                index,
                term,
                conf_state: raft_core::ConfState::default(),
            },
            data: bytes::Bytes::from_static(b"state"),
        }
    }

    fn durable_indexes(disk: &Disk) -> Vec<(u64, u64)> {
        disk.restore()
            .entries
            .iter()
            .map(|e| (e.index, e.term))
            .collect()
    }

    #[test]
    fn compaction_drops_the_covered_entries_and_keeps_the_rest() {
        let mut disk = Disk::default();
        disk.write(None, None, (1..=5).map(|i| entry(i, 1)).collect());
        disk.sync();
        disk.compact(snapshot(3, 1));
        assert_eq!(durable_indexes(&disk), vec![(4, 1), (5, 1)]);
        disk.write(None, None, vec![entry(5, 2), entry(6, 2)]);
        disk.sync();
        assert_eq!(durable_indexes(&disk), vec![(4, 1), (5, 2), (6, 2)]);
        assert_eq!(disk.restore().snapshot.map(|s| s.meta.index), Some(3));
    }

    #[test]
    fn a_leaders_snapshot_replaces_the_log_and_an_older_one_changes_nothing() {
        let mut disk = Disk::default();
        disk.write(None, None, (1..=4).map(|i| entry(i, 1)).collect());
        disk.sync();
        disk.write(Some(snapshot(2, 1)), None, vec![entry(3, 2)]);
        disk.sync();
        assert_eq!(durable_indexes(&disk), vec![(3, 2)], "the log was replaced");
        disk.write(Some(snapshot(4, 3)), None, Vec::new());
        disk.sync();
        assert!(durable_indexes(&disk).is_empty());
        disk.write(Some(snapshot(3, 1)), None, Vec::new());
        disk.sync();
        assert_eq!(
            disk.snapshot_index(),
            4,
            "an older snapshot changes nothing"
        );
    }
}
