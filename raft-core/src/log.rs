//! The in-memory Raft log: entries, index arithmetic, and what is durable.
//!
//! Owns the entries this node holds, which prefix of them the host has made
//! durable (`persisted`), which prefix has already been handed to the host in a
//! `Ready` (`handed_out`), and the lowest index changed since an observer last
//! asked. Entries start at `first_index`: everything before it is covered by
//! the node's snapshot, whose last entry is `before_first` (compaction drops a
//! prefix, installing a snapshot replaces the whole log). The log stays one
//! flat vector of the entries after the snapshot, so its memory is bounded by
//! them.

use crate::types::{Entry, Index, Term};

/// The log of one node.
#[derive(Debug)]
pub(crate) struct RaftLog {
    /// Index of `entries[0]` (or of the next entry appended to an empty log).
    // Invariant: entries[k].index == first_index + k, and terms never decrease along the log.
    first_index: Index,
    /// Index and term of the entry just before `first_index`: the snapshot's
    /// last entry (0, 0 without a snapshot).
    // Invariant: before_first.0 + 1 == first_index.
    before_first: (Index, Term),
    /// The entries, contiguous.
    entries: Vec<Entry>,
    /// Last index known durable and identical to memory.
    // Invariant: persisted <= handed_out <= last_index().
    persisted: Index,
    /// Last index handed to the host in a `Ready` (durable or in progress).
    handed_out: Index,
    /// The lowest index appended to or truncated since the last `take_changes`.
    changed_from: Option<Index>,
}

impl RaftLog {
    /// A log holding `entries` (contiguous from index 1), all of them durable.
    #[cfg(test)]
    pub(crate) fn restored(entries: Vec<Entry>) -> RaftLog {
        RaftLog::restored_after((0, 0), entries)
    }

    /// A log whose snapshot ends at `snapshot` (`(0, 0)`: no snapshot) and that
    /// holds `entries` after it (contiguous from `snapshot.0 + 1`), all durable.
    pub(crate) fn restored_after(snapshot: (Index, Term), entries: Vec<Entry>) -> RaftLog {
        let first_index = snapshot.0 + 1;
        for (k, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry.index,
                first_index + k as Index,
                "restored log must be contiguous from the snapshot's next index"
            );
        }
        assert!(
            entries.first().is_none_or(|e| e.term >= snapshot.1)
                && entries.windows(2).all(|w| w[0].term <= w[1].term),
            "restored log terms must not decrease"
        );
        let last = snapshot.0 + entries.len() as Index;
        RaftLog {
            first_index,
            before_first: snapshot,
            entries,
            persisted: last,
            handed_out: last,
            changed_from: if last >= first_index {
                Some(first_index)
            } else {
                None
            },
        }
    }

    /// Index of the first entry held in memory (the snapshot's index + 1).
    pub(crate) fn first_index(&self) -> Index {
        self.first_index
    }

    /// Index of the last entry the snapshot covers (0 without a snapshot).
    pub(crate) fn snapshot_index(&self) -> Index {
        self.before_first.0
    }

    /// Drops every entry up to and including `index`, which must be durable:
    /// the node's snapshot now covers them (compaction).
    pub(crate) fn compact_to(&mut self, index: Index) {
        assert!(
            index >= self.first_index && index <= self.persisted,
            "compact only durable entries the log holds"
        );
        let term = self.term(index).expect("held");
        self.entries
            .drain(..(index - self.first_index + 1) as usize);
        release_spare_capacity(&mut self.entries);
        self.first_index = index + 1;
        self.before_first = (index, term);
        assert_eq!(self.before_first.0 + 1, self.first_index);
        assert!(self.persisted <= self.handed_out && self.handed_out <= self.last_index());
    }

    /// Replaces the whole log by a snapshot ending at `(index, term)`
    /// (installing a leader's snapshot). The snapshot counts as durable: no
    /// message depending on it leaves before the ready that carries it is
    /// written. Observers see a change from `index + 1`.
    pub(crate) fn restore_snapshot(&mut self, index: Index, term: Term) {
        self.entries = Vec::new();
        self.first_index = index + 1;
        self.before_first = (index, term);
        self.persisted = index;
        self.handed_out = index;
        self.note_change(index + 1);
        assert_eq!(self.last_index(), index);
    }

    /// Index of the last entry (0 for an empty log).
    pub(crate) fn last_index(&self) -> Index {
        self.first_index + self.entries.len() as Index - 1
    }

    /// Term of the last entry (0 for an empty log).
    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.before_first.1, |e| e.term)
    }

    /// Last index known durable.
    pub(crate) fn persisted(&self) -> Index {
        self.persisted
    }

    /// The term of the entry at `index`, or `None` if this log does not hold it.
    pub(crate) fn term(&self, index: Index) -> Option<Term> {
        if index == self.before_first.0 {
            return Some(self.before_first.1);
        }
        if index < self.first_index || index > self.last_index() {
            return None;
        }
        Some(self.entries[(index - self.first_index) as usize].term)
    }

    /// Whether this log holds an entry at `index` with `term`.
    pub(crate) fn matches(&self, index: Index, term: Term) -> bool {
        self.term(index) == Some(term)
    }

    /// Whether a log ending at `(last_index, last_term)` is at least as up to
    /// date as this one (§5.4.1).
    pub(crate) fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// Entries from `from` to the last (empty if `from` is past the end).
    pub(crate) fn entries_from(&self, from: Index) -> &[Entry] {
        let from = from.max(self.first_index);
        if from > self.last_index() {
            return &[];
        }
        &self.entries[(from - self.first_index) as usize..]
    }

    /// Entries in `[from, to]` (both clamped to the log), at most `max_count`.
    pub(crate) fn slice(&self, from: Index, to: Index, max_count: usize) -> &[Entry] {
        let from = from.max(self.first_index);
        let to = to.min(self.last_index());
        if from > to {
            return &[];
        }
        let start = (from - self.first_index) as usize;
        let end = (to - self.first_index + 1) as usize;
        &self.entries[start..end.min(start.saturating_add(max_count))]
    }

    /// Appends one new entry at `last_index() + 1`.
    pub(crate) fn append_one(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "appended entry must follow the log"
        );
        assert!(
            entry.term >= self.last_term(),
            "appended entry must not lower the term"
        );
        self.note_change(entry.index);
        self.entries.push(entry);
    }

    /// The index of the first entry of `entries` that this log does not hold with
    /// the same term (a conflict or a new entry), or `None` if all match.
    pub(crate) fn find_conflict(&self, entries: &[Entry]) -> Option<Index> {
        entries
            .iter()
            .find(|e| !self.matches(e.index, e.term))
            .map(|e| e.index)
    }

    /// The largest index `<= index` whose term is `<= term`, with that term
    /// (etcd's `findConflictByTerm`): everything between it and `index` has a
    /// higher term, so it can be skipped in one round trip.
    pub(crate) fn find_conflict_by_term(&self, index: Index, term: Term) -> (Index, Term) {
        let mut index = index.min(self.last_index());
        loop {
            match self.term(index) {
                Some(t) if t > term => index -= 1,
                Some(t) => return (index, t),
                None => return (index, 0),
            }
        }
    }

    /// Makes the log hold `entries` (consecutive) from `entries[0].index`,
    /// dropping any entry at or after that index first.
    pub(crate) fn truncate_and_append(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else { return };
        let at = first.index;
        assert!(
            at > self.before_first.0 && at <= self.last_index() + 1,
            "append must touch the log"
        );
        self.truncate_from(at);
        self.entries.extend_from_slice(entries);
        self.note_change(at);
        assert_eq!(
            self.entries.last().map(|e| e.index),
            Some(self.last_index()),
            "log must stay contiguous"
        );
    }

    /// Drops every entry at or after `at` (never one the snapshot covers).
    pub(crate) fn truncate_from(&mut self, at: Index) {
        if at > self.last_index() {
            return;
        }
        assert!(
            at >= self.first_index,
            "cannot truncate below the first index"
        );
        self.entries.truncate((at - self.first_index) as usize);
        self.persisted = self.persisted.min(at - 1);
        self.handed_out = self.handed_out.min(at - 1);
        self.note_change(at);
    }

    /// The entries not yet handed to the host, marked as handed out. Returns
    /// them and the `(index, term)` of the last, if any.
    pub(crate) fn take_unstable(&mut self) -> (Vec<Entry>, Option<(Index, Term)>) {
        let unstable = self.entries_from(self.handed_out + 1).to_vec();
        let last = unstable.last().map(|e| (e.index, e.term));
        self.handed_out = self.last_index();
        (unstable, last)
    }

    /// Whether some entries were not yet handed to the host.
    pub(crate) fn has_unstable(&self) -> bool {
        self.handed_out < self.last_index()
    }

    /// The host made the entries it was handed up to `(index, term)` durable.
    ///
    /// If the log still holds that entry, everything up to it is durable (Log
    /// Matching, as etcd's `stableTo`). If it was truncated meanwhile, only the
    /// entries handed out and untouched since (up to `handed_out`, which a
    /// truncation lowers) are.
    pub(crate) fn stable_to(&mut self, index: Index, term: Term) {
        let durable = if self.matches(index, term) {
            index
        } else {
            index.min(self.handed_out)
        };
        if durable > self.persisted {
            self.persisted = durable;
            self.handed_out = self.handed_out.max(durable);
        }
        assert!(self.persisted <= self.handed_out && self.handed_out <= self.last_index());
    }

    /// The lowest index appended to or truncated since the last call.
    pub(crate) fn take_changes(&mut self) -> Option<Index> {
        self.changed_from.take()
    }

    fn note_change(&mut self, at: Index) {
        self.changed_from = Some(self.changed_from.map_or(at, |c| c.min(at)));
    }
}

/// After a compaction: the memory follows the entries after the snapshot,
/// not the log's past. Only the capacity changes, never the entries.
fn release_spare_capacity(entries: &mut Vec<Entry>) {
    if entries.capacity() > 2 * entries.len() + 1024 {
        entries.shrink_to(2 * entries.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            term,
            index,
            kind: crate::types::EntryKind::Normal,
            data: Bytes::new(),
        }
    }

    fn log_of(terms: &[Term]) -> RaftLog {
        RaftLog::restored(
            terms
                .iter()
                .enumerate()
                .map(|(k, &t)| entry(k as Index + 1, t))
                .collect(),
        )
    }

    /// A sorted list of terms (a valid log's terms never decrease).
    fn terms_strategy() -> impl Strategy<Value = Vec<Term>> {
        prop::collection::vec(1u64..5, 0..12).prop_map(|mut v| {
            v.sort_unstable();
            v
        })
    }

    proptest! {
        #[test]
        fn find_conflict_matches_a_naive_scan(log_terms in terms_strategy(), msg_terms in terms_strategy(), prev in 0u64..14) {
            let log = log_of(&log_terms);
            let entries: Vec<Entry> = msg_terms.iter().enumerate().map(|(k, &t)| entry(prev + 1 + k as Index, t)).collect();
            let naive = entries.iter().find(|e| log_terms.get(e.index as usize - 1) != Some(&e.term)).map(|e| e.index);
            prop_assert_eq!(log.find_conflict(&entries), naive);
        }

        #[test]
        fn truncate_and_append_matches_a_vec_model(log_terms in terms_strategy(), msg_terms in terms_strategy(), at in 1u64..14) {
            let mut log = log_of(&log_terms);
            let _ = log.take_changes();
            let at = at.min(log.last_index() + 1);
            let entries: Vec<Entry> = msg_terms.iter().enumerate().map(|(k, &t)| entry(at + k as Index, t)).collect();
            let mut model = log_terms.clone();
            if !entries.is_empty() {
                model.truncate(at as usize - 1);
                model.extend(msg_terms.iter());
            }
            log.truncate_and_append(&entries);
            let got: Vec<Term> = log.entries_from(1).iter().map(|e| e.term).collect();
            prop_assert_eq!(got, model.clone());
            prop_assert_eq!(log.last_index(), model.len() as Index);
            prop_assert!(log.persisted() <= log.last_index());
            if !entries.is_empty() {
                prop_assert!(log.persisted() < at);
                prop_assert_eq!(log.take_changes(), Some(at));
            } else {
                prop_assert_eq!(log.take_changes(), None);
            }
        }

        #[test]
        fn find_conflict_by_term_matches_a_naive_scan(log_terms in terms_strategy(), index in 0u64..14, term in 0u64..6) {
            let log = log_of(&log_terms);
            let start = index.min(log_terms.len() as Index);
            let naive = (0..=start).rev().find(|&i| i == 0 || log_terms[i as usize - 1] <= term).unwrap();
            let naive_term = if naive == 0 { 0 } else { log_terms[naive as usize - 1] };
            prop_assert_eq!(log.find_conflict_by_term(index, term), (naive, naive_term));
        }
    }

    /// A log of `terms` compacted to `at` (clamped to the log; 0: not compacted).
    fn compacted_log_of(terms: &[Term], at: Index) -> (RaftLog, Index) {
        let mut log = log_of(terms);
        let at = at.min(log.last_index());
        if at > 0 {
            log.compact_to(at);
        }
        (log, at)
    }

    proptest! {
        #[test]
        fn a_compacted_log_answers_term_and_slice_as_a_vec_model(log_terms in terms_strategy(), at in 0u64..14, from in 0u64..16, count in 1usize..5) {
            let (log, at) = compacted_log_of(&log_terms, at);
            prop_assert_eq!((log.first_index(), log.snapshot_index()), (at + 1, at));
            prop_assert_eq!(log.last_index(), log_terms.len() as Index);
            for index in 0..16u64 {
                let model = match index {
                    _ if index < at => None,
                    0 => Some(0),
                    _ => log_terms.get(index as usize - 1).copied(),
                };
                prop_assert_eq!(log.term(index), model, "term({})", index);
            }
            let slice = log.slice(from, from + 4, count);
            let start = from.max(at + 1);
            let model: Vec<(Index, Term)> = (start..=(from + 4).min(log.last_index()))
                .take(count)
                .map(|i| (i, log_terms[i as usize - 1]))
                .collect();
            let got: Vec<(Index, Term)> = slice.iter().map(|e| (e.index, e.term)).collect();
            prop_assert_eq!(got, model, "never an entry below the first index");
        }

        #[test]
        fn a_compacted_log_finds_conflicts_and_appends_as_a_vec_model(log_terms in terms_strategy(), compact in 0u64..14, msg_terms in terms_strategy(), at in 1u64..14) {
            let (mut log, compacted) = compacted_log_of(&log_terms, compact);
            let at = at.clamp(compacted + 1, log.last_index() + 1);
            let entries: Vec<Entry> = msg_terms.iter().enumerate().map(|(k, &t)| entry(at + k as Index, t)).collect();
            let naive = entries.iter().find(|e| log_terms.get(e.index as usize - 1) != Some(&e.term)).map(|e| e.index);
            prop_assert_eq!(log.find_conflict(&entries), naive);
            let mut model = log_terms.clone();
            if !entries.is_empty() {
                model.truncate(at as usize - 1);
                model.extend(msg_terms.iter());
            }
            if entries.first().is_none_or(|e| e.term >= log.term(at - 1).unwrap()) {
                log.truncate_and_append(&entries);
                let got: Vec<Term> = log.entries_from(0).iter().map(|e| e.term).collect();
                prop_assert_eq!(&got[..], &model[compacted as usize..]);
                prop_assert_eq!(log.first_index(), compacted + 1, "the snapshot stays");
            }
        }
    }

    #[test]
    fn restoring_a_snapshot_replaces_the_whole_log() {
        let mut log = log_of(&[1, 1, 2]);
        let _ = log.take_changes();
        log.restore_snapshot(7, 3);
        assert_eq!(
            (log.first_index(), log.last_index(), log.last_term()),
            (8, 7, 3)
        );
        assert_eq!(log.term(7), Some(3));
        assert_eq!(log.term(3), None);
        assert_eq!(log.persisted(), 7);
        assert!(!log.has_unstable());
        assert_eq!(log.take_changes(), Some(8));
        log.append_one(entry(8, 3));
        assert_eq!(log.take_unstable().0, vec![entry(8, 3)]);
    }

    #[test]
    fn stable_to_ignores_an_entry_that_was_truncated_meanwhile() {
        let mut log = log_of(&[]);
        log.append_one(entry(1, 1));
        log.append_one(entry(2, 1));
        let (handed, last) = log.take_unstable();
        assert_eq!((handed.len(), last), (2, Some((2, 1))));
        log.truncate_and_append(&[entry(2, 2)]);
        log.stable_to(2, 1);
        assert_eq!(
            log.persisted(),
            1,
            "(1, 1) was written and is still in the log"
        );
        assert!(log.has_unstable());
        let (handed, _) = log.take_unstable();
        assert_eq!(handed, vec![entry(2, 2)]);
        log.stable_to(2, 2);
        assert_eq!(log.persisted(), 2);
    }
}
