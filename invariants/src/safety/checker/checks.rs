//! The checks behind [`SafetyChecker`]'s observations, and the bookkeeping of
//! its per-node, per-term and per-index state.

use super::{NodeState, SafetyChecker, NODE_ID_LIMIT, STATE_DIGEST_UNKNOWN};
use crate::safety::applied_table::{Conflict, FirstState};
use crate::safety::chain::chain_step;
use crate::safety::index_table::Sighting;
use crate::safety::log::ChainedEntry;
use crate::safety::violation::list_nodes;
use crate::safety::{Index, Invariant, NodeId, Term, Violation};

impl SafetyChecker {
    /// The slot of `node` in `nodes`, growing the vector for a new id.
    pub(super) fn slot(&mut self, node: NodeId) -> usize {
        assert!(
            node < NODE_ID_LIMIT,
            "node id {node} is not a small integer (limit {NODE_ID_LIMIT})"
        );
        let slot = node as usize;
        if slot >= self.nodes.len() {
            let fresh = NodeState {
                holds_committed: self.committed.last_index() == 0,
                ..NodeState::default()
            };
            self.nodes.resize(slot + 1, fresh);
        }
        self.nodes[slot].observed = true;
        slot
    }

    /// The slot of `node`, which must be running to be observed by `call`.
    pub(super) fn live_slot(&mut self, node: NodeId, call: &str) -> usize {
        let slot = self.slot(node);
        let state = &self.nodes[slot];
        assert!(
            !state.crashed,
            "{call} observed on node {node}, which is crashed"
        );
        assert!(
            !state.retired,
            "{call} observed on node {node}, which retired"
        );
        slot
    }

    /// Appends `entries` to the log at `slot`, recording each in the log
    /// matching table; reports the first whose prefix differs from the one
    /// first seen with its index and term.
    pub(super) fn append(
        &mut self,
        slot: usize,
        entries: impl IntoIterator<Item = (Term, u64)>,
    ) -> Result<(), Violation> {
        let node = slot as NodeId;
        let log = &mut self.nodes[slot].log;
        let mut mismatch = None;
        for (term, digest) in entries {
            let entry = log.push(term, digest);
            let index = log.last_index();
            let recorded = self.index_table.record(index, term, entry.chain, node);
            if let (Err(earlier), None) = (recorded, mismatch) {
                mismatch = Some((index, earlier));
            }
        }
        match mismatch {
            Some((index, earlier)) => Err(self.log_matching_violation(node, index, earlier)),
            None => Ok(()),
        }
    }

    /// The violation of two logs holding `(index, term)` over different prefixes.
    pub(super) fn log_matching_violation(
        &self,
        node: NodeId,
        index: Index,
        earlier: Sighting,
    ) -> Violation {
        let log = &self.nodes[node as usize].log;
        let earlier_log = &self.nodes[earlier.node as usize].log;
        let divergence = if earlier_log.chain_at(index) == Some(earlier.chain) {
            format!(
                "; the logs first differ at index {}",
                log.first_divergence(earlier_log, index)
            )
        } else {
            String::new()
        };
        let (nodes, expected) = if earlier.node == node {
            let expected = format!(
                "node {node}'s log up to index {index} to stay what it was when it first \
                 held the entry of term {} there",
                earlier.term
            );
            (vec![node], expected)
        } else {
            let expected = format!(
                "node {node}'s log up to index {index} to be node {}'s, as both hold \
                 the entry of term {} at index {index}",
                earlier.node, earlier.term
            );
            (vec![earlier.node, node], expected)
        };
        Violation {
            invariant: Invariant::LogMatching,
            nodes,
            index: Some(index),
            term: Some(earlier.term),
            expected,
            seen: format!("a different prefix{divergence}"),
        }
    }

    /// Recomputes whether the node at `slot` holds the committed prefix after
    /// `why`, and reports the prefix lost if, because of this node, the
    /// voters lacking it now form a quorum of the configuration in force.
    pub(super) fn refresh_holding(&mut self, slot: usize, why: &str) -> Result<(), Violation> {
        let committed_index = self.committed.last_index();
        let state = &mut self.nodes[slot];
        let held = state.holds_committed;
        state.holds_committed = state.log.agrees_with(&self.committed, committed_index);
        if held == state.holds_committed {
            return Ok(());
        }
        self.configuration.holding_flipped(state);
        let voter = state.incoming || state.outgoing;
        if state.holds_committed || !voter || !self.configuration.lacking_form_a_quorum() {
            return Ok(());
        }
        let now_holds = state.log.describe_at(committed_index);
        let seen = format!(
            "node {slot} lost it ({why}: {now_holds}); {}",
            holders(&self.configuration.holders(&self.nodes))
        );
        Err(self.committed_entry_lost(vec![slot as NodeId], seen))
    }

    /// The violation of the committed prefix lost: `nodes` did it, `seen` says how.
    pub(super) fn committed_entry_lost(&self, nodes: Vec<NodeId>, seen: String) -> Violation {
        let committed_index = self.committed.last_index();
        let last = self.committed.entry_at(committed_index).expect("committed");
        Violation {
            invariant: Invariant::CommittedEntryLost,
            nodes,
            index: Some(committed_index),
            term: Some(last.term),
            expected: format!(
                "the committed prefix up to index {committed_index} {}",
                self.configuration.describe_rule()
            ),
            seen,
        }
    }

    /// Leader completeness: the new leader of `term` at `slot` must hold every
    /// entry committed in the terms before `term`.
    pub(super) fn check_leader_completeness(
        &self,
        slot: usize,
        node: NodeId,
        term: Term,
    ) -> Result<(), Violation> {
        let before = self.committed_by_term.range(..term).next_back();
        let Some((&committed_term, &required)) = before else {
            return Ok(());
        };
        let log = &self.nodes[slot].log;
        if log.agrees_with(&self.committed, required) {
            return Ok(());
        }
        let divergence = log.first_divergence(&self.committed, required);
        Err(Violation {
            invariant: Invariant::LeaderCompleteness,
            nodes: vec![node],
            index: Some(divergence),
            term: Some(term),
            expected: format!(
                "leader {node} of term {term} to hold the entries committed by term \
                 {committed_term}, up to index {required}: the {}",
                self.committed_entry_words(divergence)
            ),
            seen: log.describe_at(divergence),
        })
    }

    /// The node at `slot`'s log must agree with the committed prefix up to
    /// `index`, or as far as the committed prefix goes.
    pub(super) fn check_agrees_with_committed(
        &self,
        slot: usize,
        node: NodeId,
        index: Index,
    ) -> Result<(), Violation> {
        let checked_index = index.min(self.committed.last_index());
        let log = &self.nodes[slot].log;
        if checked_index == 0 || log.agrees_with(&self.committed, checked_index) {
            return Ok(());
        }
        let divergence = log.first_divergence(&self.committed, checked_index);
        let committed_term = self.committed.entry_at(divergence).map(|entry| entry.term);
        Err(Violation {
            invariant: Invariant::StateMachineSafety,
            nodes: vec![node],
            index: Some(divergence),
            term: committed_term,
            expected: format!(
                "node {node}, committing up to index {index}, to hold the committed {}",
                self.committed_entry_words(divergence)
            ),
            seen: log.describe_at(divergence),
        })
    }

    /// Records that `commit` is committed in `term` (or before), keeping the
    /// staircase: a term is kept only if it raised the highest committed index.
    pub(super) fn record_commit_in_term(&mut self, term: Term, commit: Index) {
        if let Some(mut last) = self.committed_by_term.last_entry() {
            if *last.key() <= term && *last.get() >= commit {
                return; // The common case: a follower learning what its leader committed.
            }
            if *last.key() == term {
                *last.get_mut() = commit; // The common case: the leader committing more.
                return;
            }
        }
        let below = self.committed_by_term.range(..=term).next_back();
        if below.is_some_and(|(_, &highest)| highest >= commit) {
            return;
        }
        self.committed_by_term.insert(term, commit);
        let above: Vec<Term> = self
            .committed_by_term
            .range(term + 1..)
            .take_while(|(_, &highest)| highest <= commit)
            .map(|(&later_term, _)| later_term)
            .collect();
        for later_term in above {
            self.committed_by_term.remove(&later_term);
        }
    }

    /// Extends the committed prefix to `commit` from the log at `slot` (which
    /// agrees with it so far), then recounts the voters that lack it.
    pub(super) fn extend_committed(&mut self, slot: usize, commit: Index) -> Result<(), Violation> {
        let committed_index = self.committed.last_index();
        if commit <= committed_index {
            return Ok(());
        }
        let log = &self.nodes[slot].log;
        assert!(log.agrees_with(&self.committed, committed_index));
        for index in committed_index + 1..=commit {
            // A log based past the committed prefix only follows a reported violation.
            let Some(entry) = log.entry_at(index) else {
                break;
            };
            self.committed.push_chained(entry);
        }
        let committed_index = self.committed.last_index();
        for state in &mut self.nodes {
            state.holds_committed = state.log.agrees_with(&self.committed, committed_index);
        }
        self.configuration.recount(&self.nodes);
        if !self.configuration.lacking_form_a_quorum() {
            return Ok(());
        }
        let holding = holders(&self.configuration.holders(&self.nodes));
        let seen = format!("node {slot} committed it, but {holding}");
        Err(self.committed_entry_lost(vec![slot as NodeId], seen))
    }

    /// Records the first entry applied at `index` and the first state after
    /// it; a different entry or state there before breaks state machine safety.
    pub(super) fn record_applied(
        &mut self,
        node: NodeId,
        index: Index,
        term: Term,
        digest: u64,
        state_digest: u64,
    ) -> Result<(), Violation> {
        let state = (state_digest != STATE_DIGEST_UNKNOWN).then_some(state_digest);
        match self.applied.record_apply(index, term, digest, state, node) {
            Ok(()) => Ok(()),
            Err(Conflict::Entry(first)) => Err(Violation {
                invariant: Invariant::StateMachineSafety,
                nodes: vec![first.node, node],
                index: Some(index),
                term: Some(term),
                expected: format!(
                    "node {node} to apply at index {index} what node {} applied there: the \
                     entry of term {} with digest {:#x}",
                    first.node, first.term, first.digest
                ),
                seen: format!("the entry of term {term} with digest {digest:#x}"),
            }),
            Err(Conflict::State(first)) => Err(state_violation(
                node,
                index,
                first,
                state_digest,
                "applying it",
            )),
        }
    }

    /// The entry applied at `index` must be the committed entry there, when
    /// the committed prefix reaches it.
    pub(super) fn check_applied_is_committed(
        &self,
        node: NodeId,
        index: Index,
        term: Term,
        digest: u64,
    ) -> Result<(), Violation> {
        // Unchecked past the committed prefix, and at its base (pruned before it).
        let committed_entry = self.committed.entry_at(index);
        let previous = self.committed.chain_at(index - 1);
        let (Some(committed_entry), Some(previous)) = (committed_entry, previous) else {
            return Ok(());
        };
        if chain_step(previous, term, digest) == committed_entry.chain {
            return Ok(());
        }
        Err(Violation {
            invariant: Invariant::StateMachineSafety,
            nodes: vec![node],
            index: Some(index),
            term: Some(term),
            expected: format!(
                "node {node} to apply the committed entry of term {} at index {index}",
                committed_entry.term
            ),
            seen: format!("it applied an entry of term {term} with digest {digest:#x}"),
        })
    }

    /// A snapshot moves neither the commit nor the applied index of the node
    /// at `slot` backwards: installing one below either rolls the node back
    /// (the snapshot-regresses-commit bug).
    pub(super) fn check_snapshot_moves_forward(
        &self,
        slot: usize,
        node: NodeId,
        index: Index,
        term: Term,
        check_applied: bool,
    ) -> Result<(), Violation> {
        let state = &self.nodes[slot];
        let (invariant, what, previous) = if check_applied && index < state.applied {
            (Invariant::MonotonicApplied, "applied", state.applied)
        } else if index < state.commit {
            (Invariant::MonotonicCommit, "commit", state.commit)
        } else {
            return Ok(());
        };
        Err(Violation {
            invariant,
            nodes: vec![node],
            index: Some(index),
            term: Some(term),
            expected: format!(
                "the {what} index of node {node} to stay at {previous} or above: a snapshot \
                 at or above it"
            ),
            seen: format!("it installed a snapshot at index {index}, moving it back"),
        })
    }

    /// A snapshot at `index` of `term` holds committed entries only. Returns
    /// the chained base entry the node's log takes from it.
    pub(super) fn check_snapshot_is_committed(
        &self,
        node: NodeId,
        index: Index,
        term: Term,
    ) -> Result<ChainedEntry, Violation> {
        if index >= 1 && index < self.committed.base_index() {
            // Pruned: committed long ago; only a stale snapshot lands there.
            return Ok(unknown_base(index, term));
        }
        match self.committed.entry_at(index) {
            Some(committed) if index >= 1 && committed.term == term => Ok(committed),
            committed => Err(Violation {
                invariant: Invariant::StateMachineSafety,
                nodes: vec![node],
                index: Some(index),
                term: Some(term),
                expected: format!("node {node} to snapshot committed entries only"),
                seen: format!(
                    "a snapshot at index {index} of term {term}, but {}",
                    self.describe_committed(index, committed)
                ),
            }),
        }
    }

    /// The committed entry at `index` in words: `entry of term 1 at index 2`
    /// (or, where the committed prefix does not reach, what it is).
    fn committed_entry_words(&self, index: Index) -> String {
        match self.committed.entry_at(index) {
            Some(entry) if index >= 1 => format!("entry of term {} at index {index}", entry.term),
            _ => format!("prefix: {}", self.committed.describe_at(index)),
        }
    }

    /// What the committed prefix holds at `index` (`committed` is its entry
    /// there, if any), for a report.
    fn describe_committed(&self, index: Index, committed: Option<ChainedEntry>) -> String {
        match committed {
            Some(entry) if index >= 1 => {
                format!("the committed entry there is of term {}", entry.term)
            }
            _ => format!("only {} entries are committed", self.committed.last_index()),
        }
    }

    /// The state a snapshot at `index` installs must be the state that
    /// applying up to `index` reached (on the first node that reported one);
    /// if none is known, this one is recorded.
    pub(super) fn check_snapshot_state(
        &mut self,
        node: NodeId,
        index: Index,
        state_digest: u64,
    ) -> Result<(), Violation> {
        if state_digest == STATE_DIGEST_UNKNOWN {
            return Ok(());
        }
        match self.applied.record_state(index, state_digest, node) {
            Err(Conflict::State(first)) => Err(state_violation(
                node,
                index,
                first,
                state_digest,
                "installing a snapshot there",
            )),
            _ => Ok(()),
        }
    }

    /// A node compacts only entries it applied (it could never apply the
    /// others) and only committed ones.
    pub(super) fn check_compaction(
        &self,
        slot: usize,
        node: NodeId,
        index: Index,
    ) -> Result<(), Violation> {
        let state = &self.nodes[slot];
        if index > state.applied {
            return Err(Violation {
                invariant: Invariant::MonotonicApplied,
                nodes: vec![node],
                index: Some(index),
                term: None,
                expected: format!(
                    "node {node} to compact only entries it applied, up to {}",
                    state.applied
                ),
                seen: format!("it compacted up to index {index}: it would skip the rest"),
            });
        }
        if state.log.agrees_with(&self.committed, index) {
            return Ok(());
        }
        let divergence = state.log.first_divergence(&self.committed, index);
        Err(Violation {
            invariant: Invariant::StateMachineSafety,
            nodes: vec![node],
            index: Some(divergence),
            term: state.log.entry_at(divergence).map(|entry| entry.term),
            expected: format!(
                "node {node}, compacting up to index {index}, to hold the committed {}",
                self.committed_entry_words(divergence)
            ),
            seen: state.log.describe_at(divergence),
        })
    }

    /// The base a restart from a durable snapshot at `index` of `term`
    /// gives the node's log, and whether that snapshot holds committed
    /// entries only. Panics below the pruning floor (the snapshot was pruned:
    /// a caller bug, see [`SafetyChecker::on_compacted`]).
    pub(super) fn restart_base(
        &self,
        node: NodeId,
        index: Index,
        term: Term,
    ) -> (ChainedEntry, Result<(), Violation>) {
        assert!(
            index >= self.committed.base_index(),
            "node {node} restarted from a snapshot at {index}, below the pruning floor {}: \
             report on_compacted only once a snapshot is durable",
            self.committed.base_index()
        );
        match self.committed.entry_at(index) {
            Some(committed) if committed.term == term => (committed, Ok(())),
            committed => {
                let violation = Violation {
                    invariant: Invariant::StateMachineSafety,
                    nodes: vec![node],
                    index: Some(index),
                    term: Some(term),
                    expected: format!(
                        "node {node} to keep durable snapshots of committed entries only"
                    ),
                    seen: format!(
                        "it restarted from a snapshot at index {index} of term {term}, but {}",
                        self.describe_committed(index, committed)
                    ),
                };
                (unknown_base(index, term), Err(violation))
            }
        }
    }

    /// Raises the pruning floor to the lowest durable base of the observed,
    /// non-retired nodes, and drops the per-index state at or below it.
    /// O(nodes), plus O(1) per index dropped.
    pub(super) fn raise_floor(&mut self) {
        let bases = self
            .nodes
            .iter()
            .filter(|state| state.observed && !state.retired);
        let lowest = bases.map(|state| state.durable_base).min().unwrap_or(0);
        let floor = lowest.min(self.committed.last_index());
        if floor <= self.floor {
            return;
        }
        self.floor = floor;
        self.index_table.prune_to(floor);
        self.applied.prune_to(floor);
        if floor > self.committed.base_index() {
            self.committed.compact(floor);
        }
    }
}

/// Who holds the committed prefix, in words: `only voters 1 and 3 hold it`,
/// `only voter 1 holds it`, `no voter holds it`.
pub(super) fn holders(voters: &[NodeId]) -> String {
    match voters {
        [] => "no voter holds it".to_owned(),
        [voter] => format!("only voter {voter} holds it"),
        voters => format!("only voters {} hold it", list_nodes(voters)),
    }
}

/// The violation of a state machine that differs, after `index` (reached
/// by `how`), from the state `first` reached there.
fn state_violation(
    node: NodeId,
    index: Index,
    first: FirstState,
    state_digest: u64,
    how: &str,
) -> Violation {
    Violation {
        invariant: Invariant::StateMachineSafety,
        nodes: vec![first.node, node],
        index: Some(index),
        term: None,
        expected: format!(
            "the state machine of node {node} after index {index} to be the state node {} had \
             there (digest {:#x})",
            first.node, first.state_digest
        ),
        seen: format!("state digest {state_digest:#x} after {how}"),
    }
}

/// A base whose prefix the checker cannot know (a snapshot below the pruning
/// floor, or of entries never committed): a chain value no real prefix has,
/// so the log agrees with no other log there.
fn unknown_base(index: Index, term: Term) -> ChainedEntry {
    ChainedEntry {
        term,
        chain: chain_step(!0, term, index),
    }
}
