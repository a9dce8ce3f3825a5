//! The incremental safety checker: one call per observation, each in time
//! proportional to what the observation changed.
//!
//! State, besides one hash-chained log per node:
//! - the committed prefix, agreed by every commit so far, as one chained log;
//! - per term, its leader (election safety) and, as a staircase, the highest
//!   index committed in it or before (leader completeness);
//! - per index, the (term, chain) pairs ever seen (log matching);
//! - per index, the entry first applied there (state machine safety);
//! - how many voters hold the whole committed prefix (committed entry lost).

mod checks;

use std::collections::BTreeMap;

use super::index_table::IndexTable;
use super::log::ChainedLog;
use super::{Index, Invariant, NodeId, Term, Violation};

/// Node ids index a `Vec`; an id at or above this is a caller's mistake.
pub(crate) const NODE_ID_LIMIT: NodeId = 1 << 16;

/// What the checker knows of one node.
#[derive(Clone, Debug, Default)]
struct NodeState {
    /// The node's in-memory log (its last known log while crashed).
    log: ChainedLog,
    term: Term,
    commit: Index,
    applied: Index,
    crashed: bool,
    voter: bool,
    // Invariant: holds_committed == log.agrees_with(committed, committed.last_index()).
    holds_committed: bool,
}

/// The first application of an index, by any node.
#[derive(Clone, Copy, Debug)]
struct AppliedEntry {
    term: Term,
    digest: u64,
    node: NodeId,
}

/// Checks Raft's safety properties incrementally, one observation at a time.
///
/// Every `on_*` method returns the first property its observation breaks. The
/// checker's state still takes the observation in, but a run is meant to stop
/// at its first violation: what is reported after one is best effort.
/// Observations that cannot happen (a gap in a log, a crashed node that
/// commits, a node id at or above 65536) are bugs of the caller and panic.
#[derive(Clone, Debug)]
pub struct SafetyChecker {
    /// Indexed by node id; ids never observed are placeholders.
    nodes: Vec<NodeState>,
    voter_count: usize,
    // Invariant: voters_holding_committed == number of voters with holds_committed.
    voters_holding_committed: usize,
    index_table: IndexTable,
    /// The committed prefix as every commit so far agreed on it.
    committed: ChainedLog,
    // Invariant: keys and values both strictly increase; the value of a key is the
    // highest index committed in that term or any before it.
    committed_by_term: BTreeMap<Term, Index>,
    leaders: BTreeMap<Term, NodeId>,
    // Invariant: applied[i - 1] is the first entry applied at index i (None: every
    // node that passed index i did so by a snapshot).
    applied: Vec<Option<AppliedEntry>>,
}

impl SafetyChecker {
    /// A checker for a cluster whose logs count for the majority on `voters`
    /// (distinct small ids, possibly sparse). Other ids may be observed too:
    /// they are checked but do not count for the majority.
    pub fn new(voters: &[NodeId]) -> SafetyChecker {
        assert!(!voters.is_empty(), "a cluster needs at least one voter");
        let mut checker = SafetyChecker {
            nodes: Vec::new(),
            voter_count: 0,
            voters_holding_committed: 0,
            index_table: IndexTable::default(),
            committed: ChainedLog::default(),
            committed_by_term: BTreeMap::new(),
            leaders: BTreeMap::new(),
            applied: Vec::new(),
        };
        for &voter in voters {
            let slot = checker.slot(voter);
            let state = &mut checker.nodes[slot];
            assert!(!state.voter, "voter {voter} listed twice");
            state.voter = true;
            checker.voter_count += 1;
            checker.voters_holding_committed += 1;
        }
        checker
    }

    /// The term of `node` was observed (call when it changes). It never goes
    /// down, except across a crash ([`SafetyChecker::on_restart`] resets it).
    pub fn on_term(&mut self, node: NodeId, term: Term) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_term");
        let state = &mut self.nodes[slot];
        let previous = state.term;
        if term < previous {
            return Err(Violation {
                invariant: Invariant::MonotonicTerm,
                nodes: vec![node],
                index: None,
                term: Some(term),
                expected: format!("the term of node {node} to stay at {previous} or above"),
                seen: format!("it went down from {previous} to {term} without a restart"),
            });
        }
        state.term = term;
        Ok(())
    }

    /// The in-memory log of `node` changed: every entry at `from_index` and
    /// after is replaced by `entries`, `(term, data_digest)` pairs for indexes
    /// `from_index`, `from_index + 1`, ... (none: a pure truncation).
    /// `from_index` is at least 1 and at most one past the node's last index.
    pub fn on_log_rewritten(
        &mut self,
        node: NodeId,
        from_index: Index,
        entries: impl IntoIterator<Item = (Term, u64)>,
    ) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_log_rewritten");
        let log = &mut self.nodes[slot].log;
        assert!(
            from_index >= 1 && from_index <= log.last_index() + 1,
            "node {node}: log rewritten from index {from_index}, but its log ends at {}",
            log.last_index()
        );
        log.truncate(from_index - 1);
        let mut mismatch = None;
        for (term, digest) in entries {
            let entry = log.push(term, digest);
            let index = log.last_index();
            let recorded = self.index_table.record(index, term, entry.chain, node);
            if let (Err(earlier), None) = (recorded, mismatch) {
                mismatch = Some((index, earlier));
            }
        }
        let log_matching = match mismatch {
            Some((index, earlier)) => Err(self.log_matching_violation(node, index, earlier)),
            None => Ok(()),
        };
        // A rewrite past the committed prefix leaves it as it was.
        let lost = if from_index <= self.committed.last_index() {
            self.refresh_holding(slot, "its log was rewritten")
        } else {
            Ok(())
        };
        log_matching.and(lost)
    }

    /// `node` became leader of `term`; its log is what
    /// [`SafetyChecker::on_log_rewritten`] last told.
    pub fn on_leader(&mut self, node: NodeId, term: Term) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_leader");
        let first = *self.leaders.entry(term).or_insert(node);
        if first != node {
            return Err(Violation {
                invariant: Invariant::ElectionSafety,
                nodes: vec![first, node],
                index: None,
                term: Some(term),
                expected: format!("one leader of term {term} (node {first})"),
                seen: format!("node {node} also leader of term {term}"),
            });
        }
        self.check_leader_completeness(slot, node, term)
    }

    /// The commit index of `node` moved to `commit` while it was in `term`
    /// (leaders of `term` decide commits; followers learn them in that term).
    pub fn on_commit(&mut self, node: NodeId, term: Term, commit: Index) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_commit");
        let state = &mut self.nodes[slot];
        let previous = state.commit;
        if commit < previous {
            return Err(Violation {
                invariant: Invariant::MonotonicCommit,
                nodes: vec![node],
                index: Some(commit),
                term: Some(term),
                expected: format!("the commit index of node {node} to stay at {previous} or above"),
                seen: format!("it went down from {previous} to {commit} without a restart"),
            });
        }
        state.commit = commit;
        if commit == 0 {
            return Ok(());
        }
        if commit > state.log.last_index() {
            return Err(Violation {
                invariant: Invariant::StateMachineSafety,
                nodes: vec![node],
                index: Some(commit),
                term: Some(term),
                expected: format!("node {node} to commit only entries it holds"),
                seen: format!(
                    "commit index {commit} past its last index {}",
                    state.log.last_index()
                ),
            });
        }
        self.check_agrees_with_committed(slot, node, commit)?;
        self.record_commit_in_term(term, commit);
        self.extend_committed(slot, commit)
    }

    /// `node` applied the entry at `index`, of `term` and `digest`, to its
    /// state machine. Indexes are applied one by one, from 1 or from just past
    /// a snapshot ([`SafetyChecker::on_snapshot`]), and only up to the node's
    /// commit index: report the commit first.
    pub fn on_apply(
        &mut self,
        node: NodeId,
        index: Index,
        term: Term,
        digest: u64,
    ) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_apply");
        let state = &mut self.nodes[slot];
        let expected_index = state.applied + 1;
        if index != expected_index {
            return Err(Violation {
                invariant: Invariant::MonotonicApplied,
                nodes: vec![node],
                index: Some(index),
                term: Some(term),
                expected: format!("node {node} to apply index {expected_index} next"),
                seen: format!("it applied index {index}"),
            });
        }
        state.applied = index;
        let commit = state.commit;
        let first_applied = self.record_applied(node, index, term, digest);
        if index > commit {
            return Err(Violation {
                invariant: Invariant::StateMachineSafety,
                nodes: vec![node],
                index: Some(index),
                term: Some(term),
                expected: format!("node {node} to apply only committed entries, up to {commit}"),
                seen: format!("it applied index {index}"),
            });
        }
        first_applied?;
        self.check_applied_is_committed(node, index, term, digest)
    }

    /// `node` took a snapshot of its state machine at `index`, whose entry is
    /// of `term`: it compacted its own log, or installed a snapshot its leader
    /// sent. A snapshot holds committed entries only. If the node's log holds
    /// the committed entry at `index`, its log stands (compaction discards
    /// nothing the checker needs); otherwise its log becomes the committed
    /// prefix up to `index` (O(index), once per install). The node's applied
    /// and commit indexes move up to `index` if they were below.
    pub fn on_snapshot(&mut self, node: NodeId, index: Index, term: Term) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_snapshot");
        let committed_index = self.committed.last_index();
        let committed_term = self.committed.entry_at(index).map(|entry| entry.term);
        if index == 0 || committed_term != Some(term) {
            let committed = match committed_term {
                Some(committed_term) => {
                    format!("the committed entry there is of term {committed_term}")
                }
                None => format!("only {committed_index} entries are committed"),
            };
            return Err(Violation {
                invariant: Invariant::StateMachineSafety,
                nodes: vec![node],
                index: Some(index),
                term: Some(term),
                expected: format!("node {node} to snapshot committed entries only"),
                seen: format!("a snapshot at index {index} of term {term}, but {committed}"),
            });
        }
        let state = &mut self.nodes[slot];
        state.applied = state.applied.max(index);
        state.commit = state.commit.max(index);
        if !state.log.agrees_with(&self.committed, index) {
            state.log.truncate(0);
            for committed_index in 1..=index {
                let entry = self.committed.entry_at(committed_index).expect("committed");
                state.log.push_chained(entry);
            }
            self.refresh_holding(slot, "it installed a snapshot")?;
        }
        Ok(())
    }

    /// `node` crashed: its volatile state is gone until
    /// [`SafetyChecker::on_restart`]. Its last known log still counts as held.
    pub fn on_crash(&mut self, node: NodeId) {
        let slot = self.live_slot(node, "on_crash");
        self.nodes[slot].crashed = true;
    }

    /// `node` restarted from its disk with this hard state (`term`, `commit`)
    /// and durable `log` from index 1 (empty after a disk loss). The term,
    /// commit and applied baselines restart from these (applied from 0: the
    /// node applies again). Reports a committed entry that this restart lost
    /// from the majority. A restart of a node not known to have crashed is
    /// taken as a crash and a restart.
    pub fn on_restart(
        &mut self,
        node: NodeId,
        term: Term,
        commit: Index,
        log: impl IntoIterator<Item = (Term, u64)>,
    ) -> Result<(), Violation> {
        let slot = self.slot(node);
        let state = &mut self.nodes[slot];
        state.crashed = false;
        state.term = term;
        state.commit = commit;
        state.applied = 0;
        state.log.truncate(0);
        let mut mismatch = None;
        for (entry_term, digest) in log {
            let entry = state.log.push(entry_term, digest);
            let index = state.log.last_index();
            let recorded = self
                .index_table
                .record(index, entry_term, entry.chain, node);
            if let (Err(earlier), None) = (recorded, mismatch) {
                mismatch = Some((index, earlier));
            }
        }
        let log_matching = match mismatch {
            Some((index, earlier)) => Err(self.log_matching_violation(node, index, earlier)),
            None => Ok(()),
        };
        let lost = self.refresh_holding(slot, "it restarted with a shorter or different log");
        // A durable commit index past the durable log is left to the node's next commit.
        let commit_agrees = if commit <= self.nodes[slot].log.last_index() {
            self.check_agrees_with_committed(slot, node, commit)
        } else {
            Ok(())
        };
        log_matching.and(lost).and(commit_agrees)
    }

    /// The highest index known committed cluster-wide (0 before any commit).
    pub fn committed_index(&self) -> Index {
        self.committed.last_index()
    }
}
