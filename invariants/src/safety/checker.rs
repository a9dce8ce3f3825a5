//! The incremental safety checker: one call per observation, each in time
//! proportional to what the observation changed.
//!
//! State, besides one hash-chained log per node (with a base where the node
//! compacted or installed a snapshot):
//! - the committed prefix, agreed by every commit so far, as one chained log;
//! - per term, its leader (election safety) and, as a staircase, the highest
//!   index committed in it or before (leader completeness);
//! - per index, the (term, chain) pairs ever seen (log matching);
//! - per index, the entry first applied there and the state first reached
//!   there (state machine safety);
//! - the configuration in force and how many of its voters lack the
//!   committed prefix (committed entry lost, see `configuration.rs`).
//!
//! # Memory: the pruning floor
//!
//! The per-index state (the log matching table, the applied table, the
//! committed prefix) is dropped at and below the *floor*: the lowest durable
//! base over all nodes not retired, live or crashed. A node's durable base is
//! the snapshot it could restart from: 0 until it reports a compaction
//! ([`SafetyChecker::on_compacted`]), reset by each restart. Nothing that can
//! still be observed is dropped:
//! - a running node reports only indexes above its log's base, which is at
//!   or above its durable base (log rewrites start past the base; a
//!   compaction or snapshot lies at or above what it applied, which is at or
//!   above its base);
//! - a crashed node restarts from its durable snapshot, at or above its
//!   durable base, so the committed chain value at its base is kept (the
//!   floor itself is kept as the committed prefix's base);
//! - a node restarting with no base (a wiped disk, or no snapshot yet)
//!   chains its log from the empty prefix, which needs nothing kept, and it
//!   holds the floor at 0 until its next durable compaction.
//!
//! Every index at or below the floor is committed and compacted on every
//! node's durable state, so no node can hold a rival entry there again.

mod checks;
mod configuration;

use std::collections::BTreeMap;

use self::configuration::Configuration;
use super::applied_table::AppliedTable;
use super::index_table::IndexTable;
use super::log::{ChainedEntry, ChainedLog};
use super::{Index, Invariant, NodeId, Term, Violation};

/// Node ids index a `Vec`; an id at or above this is a caller's mistake.
pub(crate) const NODE_ID_LIMIT: NodeId = 1 << 16;

/// The state digest an observer passes when it does not digest its state
/// machine: such a state is neither recorded nor compared. (A real digest
/// that happens to be 0 is then not checked: a 2^-64 chance.)
pub const STATE_DIGEST_UNKNOWN: u64 = 0;

/// What the checker knows of one node.
#[derive(Clone, Debug, Default)]
struct NodeState {
    /// The node's in-memory log (its last known log while crashed).
    log: ChainedLog,
    term: Term,
    commit: Index,
    // Invariant: log.base_index() <= applied (a node compacts only what it applied).
    applied: Index,
    // Invariant: durable_base <= log.base_index() (while running).
    durable_base: Index,
    crashed: bool,
    /// Observed at least once (ids below an observed one are placeholders).
    observed: bool,
    /// Never to be observed again (see [`SafetyChecker::on_retired`]).
    retired: bool,
    /// A voter of the incoming (or only) half of the configuration in force.
    incoming: bool,
    /// A voter of the outgoing half of a joint configuration in force.
    outgoing: bool,
    // Invariant: holds_committed == log.agrees_with(committed, committed.last_index()).
    holds_committed: bool,
}

/// Checks Raft's safety properties incrementally, one observation at a time.
///
/// Every `on_*` method returns the first property its observation breaks. The
/// checker's state still takes the observation in, but a run is meant to stop
/// at its first violation: what is reported after one is best effort.
/// Observations that cannot happen (a gap in a log, a crashed node that
/// commits, a node id at or above 65536, a rewrite below a compacted base)
/// are bugs of the caller and panic.
#[derive(Clone, Debug)]
pub struct SafetyChecker {
    /// Indexed by node id; ids never observed are placeholders.
    nodes: Vec<NodeState>,
    configuration: Configuration,
    index_table: IndexTable,
    /// The committed prefix as every commit so far agreed on it; its base is
    /// the pruning floor (or the committed index, if lower).
    committed: ChainedLog,
    // Invariant: keys and values both strictly increase; the value of a key is the
    // highest index committed in that term or any before it.
    committed_by_term: BTreeMap<Term, Index>,
    leaders: BTreeMap<Term, NodeId>,
    applied: AppliedTable,
    // Invariant: floor <= every observed, non-retired node's durable_base at the time it
    // was raised; it never goes down.
    floor: Index,
}

impl SafetyChecker {
    /// A checker for a cluster whose configuration in force starts as
    /// `voters` (distinct small ids, possibly sparse; see
    /// [`SafetyChecker::on_configuration`]). Other ids may be observed too:
    /// they are checked but do not count for a quorum.
    pub fn new(voters: &[NodeId]) -> SafetyChecker {
        let mut checker = SafetyChecker {
            nodes: Vec::new(),
            configuration: Configuration::default(),
            index_table: IndexTable::default(),
            committed: ChainedLog::default(),
            committed_by_term: BTreeMap::new(),
            leaders: BTreeMap::new(),
            applied: AppliedTable::default(),
            floor: 0,
        };
        for &voter in voters {
            checker.slot(voter);
        }
        checker
            .configuration
            .replace(&mut checker.nodes, voters, &[]);
        checker
    }

    /// The configuration in force changed to `voters`, joint with
    /// `outgoing_voters` while that is not empty (`C_old,new`: `voters` is
    /// `C_new`). Report it when the configuration entry commits. Ids never
    /// seen may appear (a node that joins, or replaces a wiped one under a
    /// new id); nodes left out stop counting for a quorum but are still
    /// checked. Reports the committed prefix lost if the voters lacking it
    /// now form a quorum of the new configuration (see `configuration.rs`).
    /// O(old size + new size).
    pub fn on_configuration(
        &mut self,
        voters: &[NodeId],
        outgoing_voters: &[NodeId],
    ) -> Result<(), Violation> {
        for &voter in voters.iter().chain(outgoing_voters) {
            self.slot(voter);
        }
        self.configuration
            .replace(&mut self.nodes, voters, outgoing_voters);
        if self.committed.last_index() == 0 || !self.configuration.lacking_form_a_quorum() {
            return Ok(());
        }
        let holders = checks::holders(&self.configuration.holders(&self.nodes));
        let seen = format!("the configuration changed, and {holders}");
        Err(self.committed_entry_lost(voters.to_vec(), seen))
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
    /// `from_index` is above the node's base (what it compacted is gone) and
    /// at most one past its last index.
    pub fn on_log_rewritten(
        &mut self,
        node: NodeId,
        from_index: Index,
        entries: impl IntoIterator<Item = (Term, u64)>,
    ) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_log_rewritten");
        let log = &mut self.nodes[slot].log;
        assert!(
            from_index <= log.last_index() + 1,
            "node {node}: log rewritten from index {from_index}, but its log ends at {}",
            log.last_index()
        );
        assert!(
            from_index > log.base_index(),
            "node {node}: log rewritten from index {from_index}, but entries at or below the \
             base {} were compacted and cannot be rewritten",
            log.base_index()
        );
        log.truncate(from_index - 1);
        let log_matching = self.append(slot, entries);
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
    /// state machine, whose state is then `state_digest` (any function of
    /// the applied prefix the observer computes; [`STATE_DIGEST_UNKNOWN`]
    /// when it computes none). Indexes are applied one by one, from 1 or from
    /// just past a snapshot, and only up to the node's commit index: report
    /// the commit first. The first entry and state at each index are what
    /// every later one there is held to.
    pub fn on_apply(
        &mut self,
        node: NodeId,
        index: Index,
        term: Term,
        digest: u64,
        state_digest: u64,
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
        let first_applied = self.record_applied(node, index, term, digest, state_digest);
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

    /// `node` installed a snapshot: its state machine is now the snapshot at
    /// `index`, whose entry is of `term`, with state `state_digest` (as in
    /// [`SafetyChecker::on_apply`]); its commit and applied indexes are now
    /// `index` (applied only if `state_digest` is known: otherwise the state
    /// machine takes it later, [`SafetyChecker::on_state_restored`]). Report
    /// it when the node's in-memory log takes the snapshot,
    /// and [`SafetyChecker::on_compacted`] once it is durable.
    ///
    /// Checks: a snapshot holds committed entries only; it moves neither
    /// commit nor applied backwards (a snapshot below either is the
    /// snapshot-regresses-commit bug); its state is the state every node
    /// reached applying up to `index`. If the node's log holds the committed
    /// entry at `index`, the entries after it stay (a compaction); otherwise
    /// the log becomes just a base at `index`. O(1).
    pub fn on_snapshot(
        &mut self,
        node: NodeId,
        index: Index,
        term: Term,
        state_digest: u64,
    ) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_snapshot");
        let restored = state_digest != STATE_DIGEST_UNKNOWN;
        self.check_snapshot_moves_forward(slot, node, index, term, restored)?;
        let base = self.check_snapshot_is_committed(node, index, term)?;
        self.check_snapshot_state(node, index, state_digest)?;
        let state = &mut self.nodes[slot];
        if state.log.last_index() >= index && state.log.agrees_with(&self.committed, index) {
            state.log.compact(index);
        } else {
            state.log.reset(index, base);
        }
        if restored {
            state.applied = index;
        }
        state.commit = index;
        self.refresh_holding(slot, "it installed a snapshot")
    }

    /// `node`'s state machine was just restored from a snapshot at `index`
    /// and its state is now `state_digest`: it must be the state every node
    /// reached applying up to `index`. Report it when the host restores its
    /// state machine (which may come after the log took the snapshot, see
    /// [`SafetyChecker::on_snapshot`], and then gives that call
    /// [`STATE_DIGEST_UNKNOWN`]), and when a node restarts from a snapshot.
    ///
    /// Checks besides the state: the applied index does not move back (the
    /// node applied past `index` already: the snapshot-regresses-commit
    /// class). The node's applied index is `index` afterwards.
    pub fn on_state_restored(
        &mut self,
        node: NodeId,
        index: Index,
        state_digest: u64,
    ) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_state_restored");
        let applied = self.nodes[slot].applied;
        if index < applied {
            return Err(Violation {
                invariant: Invariant::MonotonicApplied,
                nodes: vec![node],
                index: Some(index),
                term: None,
                expected: format!(
                    "the applied index of node {node} to stay at {applied} or above: a snapshot \
                     at or above it"
                ),
                seen: format!("its state machine was restored from a snapshot at index {index}"),
            });
        }
        self.nodes[slot].applied = index;
        self.check_snapshot_state(node, index, state_digest)
    }

    /// `node` compacted its log, in memory and on disk, up to `index`: its
    /// durable state now starts at a snapshot there, and it will never report
    /// an index at or below it again (until a restart without a base). Report
    /// it once the snapshot at `index` is durable (after its write synced):
    /// for a node's own snapshot of its applied state, and again for a
    /// snapshot it installed ([`SafetyChecker::on_snapshot`]). An `index` at
    /// or below the log's base only records the durable snapshot. O(1) for
    /// the log; when it raises the pruning floor, O(nodes + indexes pruned).
    ///
    /// The node must hold `index`. Checks: a node compacts only entries it
    /// applied (else it could never apply them) and only committed ones.
    pub fn on_compacted(&mut self, node: NodeId, index: Index) -> Result<(), Violation> {
        let slot = self.live_slot(node, "on_compacted");
        let state = &mut self.nodes[slot];
        if index > state.log.base_index() {
            assert!(
                index <= state.log.last_index(),
                "node {node} compacted up to {index}, past its last index {}",
                state.log.last_index()
            );
            self.check_compaction(slot, node, index)?;
            self.nodes[slot].log.compact(index);
        }
        let state = &mut self.nodes[slot];
        if index > state.durable_base {
            state.durable_base = index;
            self.raise_floor();
        }
        Ok(())
    }

    /// `node` crashed: its volatile state is gone until
    /// [`SafetyChecker::on_restart`]. Its last known log still counts as held.
    pub fn on_crash(&mut self, node: NodeId) {
        let slot = self.live_slot(node, "on_crash");
        self.nodes[slot].crashed = true;
    }

    /// `node` restarted from its disk with this hard state (`term`,
    /// `commit`), its durable snapshot `base` (index and term; `None`: no
    /// snapshot, as after a disk loss) and its durable `log`, the entries
    /// after the base (from index 1 without one; empty after a disk loss).
    /// The term and commit baselines restart from these, applied from the
    /// base (the node applies again after its snapshot). Reports a durable
    /// snapshot of uncommitted entries and a committed entry that this
    /// restart lost. A restart of a node not known to have crashed is taken
    /// as a crash and a restart.
    ///
    /// A base below a snapshot the node reported durable
    /// ([`SafetyChecker::on_compacted`]) may have been pruned: a caller bug
    /// that panics.
    pub fn on_restart(
        &mut self,
        node: NodeId,
        term: Term,
        commit: Index,
        base: Option<(Index, Term)>,
        log: impl IntoIterator<Item = (Term, u64)>,
    ) -> Result<(), Violation> {
        let slot = self.slot(node);
        assert!(
            !self.nodes[slot].retired,
            "node {node} restarted after it retired"
        );
        let (base_index, base_entry, base_checked) = match base {
            None | Some((0, _)) => (0, ChainedEntry::EMPTY, Ok(())),
            Some((index, base_term)) => {
                let (entry, checked) = self.restart_base(node, index, base_term);
                (index, entry, checked)
            }
        };
        let state = &mut self.nodes[slot];
        state.crashed = false;
        state.term = term;
        state.commit = commit.max(base_index);
        state.applied = base_index;
        state.durable_base = base_index;
        state.log.reset(base_index, base_entry);
        let log_matching = self.append(slot, log);
        let lost = self.refresh_holding(slot, "it restarted with a shorter or different log");
        // A durable commit index past the durable log is left to the node's next commit.
        let commit_agrees = if commit <= self.nodes[slot].log.last_index() {
            self.check_agrees_with_committed(slot, node, commit)
        } else {
            Ok(())
        };
        self.raise_floor();
        base_checked.and(log_matching).and(lost).and(commit_agrees)
    }

    /// `node` will never be observed again (removed and shut down for good,
    /// or replaced under a new id after losing its disk): it no longer holds
    /// the pruning floor down. It still counts as a voter, by its last known
    /// log, while a configuration in force lists it.
    pub fn on_retired(&mut self, node: NodeId) {
        let slot = self.slot(node);
        self.nodes[slot].retired = true;
        self.raise_floor();
    }

    /// The highest index known committed cluster-wide (0 before any commit).
    pub fn committed_index(&self) -> Index {
        self.committed.last_index()
    }

    /// The pruning floor: per-index state at or below it is dropped (see the
    /// module documentation).
    pub fn pruned_index(&self) -> Index {
        self.floor
    }

    /// How many per-index records the checker holds: log entries kept for
    /// every node, the committed prefix's entries, log matching sightings and
    /// applied indexes. A measure of its memory, which stays flat on a long
    /// run whose nodes compact. O(nodes + indexes held): for tests.
    pub fn memory_entries(&self) -> usize {
        let logs: usize = self.nodes.iter().map(|state| state.log.len()).sum();
        logs + self.committed.len() + self.index_table.sighting_count() + self.applied.len()
    }
}
