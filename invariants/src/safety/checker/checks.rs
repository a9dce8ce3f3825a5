//! The checks behind [`SafetyChecker`]'s observations, and the bookkeeping of
//! its per-node, per-term and per-index state.

use super::{AppliedEntry, NodeState, SafetyChecker, NODE_ID_LIMIT};
use crate::safety::chain::chain_step;
use crate::safety::index_table::Sighting;
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
        slot
    }

    /// The slot of `node`, which must be running to be observed by `call`.
    pub(super) fn live_slot(&mut self, node: NodeId, call: &str) -> usize {
        let slot = self.slot(node);
        assert!(
            !self.nodes[slot].crashed,
            "{call} observed on node {node}, which is crashed"
        );
        slot
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
    /// `why`, and reports the prefix lost if fewer than a majority of voters
    /// hold it now because of this node.
    pub(super) fn refresh_holding(&mut self, slot: usize, why: &str) -> Result<(), Violation> {
        let committed_index = self.committed.last_index();
        let state = &mut self.nodes[slot];
        let held = state.holds_committed;
        state.holds_committed = state.log.agrees_with(&self.committed, committed_index);
        if !state.voter || held == state.holds_committed {
            return Ok(());
        }
        if state.holds_committed {
            self.voters_holding_committed += 1;
            return Ok(());
        }
        let now_holds = state.log.describe_at(committed_index);
        self.voters_holding_committed -= 1;
        if self.voters_holding_committed >= self.majority() {
            return Ok(());
        }
        let seen = format!(
            "node {slot} lost it ({why}: {now_holds}); {}",
            holders(&self.voters_holding())
        );
        Err(self.committed_entry_lost(vec![slot as NodeId], seen))
    }

    /// The number of voters that make a majority.
    fn majority(&self) -> usize {
        self.voter_count / 2 + 1
    }

    /// The voters holding the committed prefix, for reports.
    fn voters_holding(&self) -> Vec<NodeId> {
        let holding = self.nodes.iter().enumerate();
        holding
            .filter(|(_, state)| state.voter && state.holds_committed)
            .map(|(slot, _)| slot as NodeId)
            .collect()
    }

    fn committed_entry_lost(&self, nodes: Vec<NodeId>, seen: String) -> Violation {
        let committed_index = self.committed.last_index();
        let last = self.committed.entry_at(committed_index).expect("committed");
        Violation {
            invariant: Invariant::CommittedEntryLost,
            nodes,
            index: Some(committed_index),
            term: Some(last.term),
            expected: format!(
                "the committed prefix up to index {committed_index} on a majority \
                 ({} of {} voters)",
                self.majority(),
                self.voter_count
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
        let committed_entry = self.committed.entry_at(divergence).expect("committed");
        Err(Violation {
            invariant: Invariant::LeaderCompleteness,
            nodes: vec![node],
            index: Some(divergence),
            term: Some(term),
            expected: format!(
                "leader {node} of term {term} to hold the entries committed by term \
                 {committed_term}, up to index {required}: the entry of term {} at index \
                 {divergence}",
                committed_entry.term
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
        let committed_entry = self.committed.entry_at(divergence).expect("committed");
        Err(Violation {
            invariant: Invariant::StateMachineSafety,
            nodes: vec![node],
            index: Some(divergence),
            term: Some(committed_entry.term),
            expected: format!(
                "node {node}, committing up to index {index}, to hold the committed entry \
                 of term {} at index {divergence}",
                committed_entry.term
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
    /// agrees with it so far), then recounts the voters that hold it.
    pub(super) fn extend_committed(&mut self, slot: usize, commit: Index) -> Result<(), Violation> {
        let committed_index = self.committed.last_index();
        if commit <= committed_index {
            return Ok(());
        }
        let log = &self.nodes[slot].log;
        assert!(log.agrees_with(&self.committed, committed_index));
        for index in committed_index + 1..=commit {
            self.committed
                .push_chained(log.entry_at(index).expect("checked"));
        }
        self.voters_holding_committed = 0;
        for state in &mut self.nodes {
            state.holds_committed = state.log.agrees_with(&self.committed, commit);
            if state.voter && state.holds_committed {
                self.voters_holding_committed += 1;
            }
        }
        if self.voters_holding_committed >= self.majority() {
            return Ok(());
        }
        let holding = holders(&self.voters_holding());
        let seen = format!("node {slot} committed it, but {holding}");
        Err(self.committed_entry_lost(vec![slot as NodeId], seen))
    }

    /// Records the first entry applied at `index`; a different one applied
    /// there before breaks state machine safety.
    pub(super) fn record_applied(
        &mut self,
        node: NodeId,
        index: Index,
        term: Term,
        digest: u64,
    ) -> Result<(), Violation> {
        let position = (index - 1) as usize;
        if position >= self.applied.len() {
            // Only a snapshot makes a node skip indexes, which nobody applied then.
            self.applied.resize(position, None);
            self.applied.push(Some(AppliedEntry { term, digest, node }));
            return Ok(());
        }
        let Some(first) = self.applied[position] else {
            self.applied[position] = Some(AppliedEntry { term, digest, node });
            return Ok(());
        };
        if first.term == term && first.digest == digest {
            return Ok(());
        }
        Err(Violation {
            invariant: Invariant::StateMachineSafety,
            nodes: vec![first.node, node],
            index: Some(index),
            term: Some(term),
            expected: format!(
                "node {node} to apply at index {index} what node {} applied there: the entry \
                 of term {} with digest {:#x}",
                first.node, first.term, first.digest
            ),
            seen: format!("the entry of term {term} with digest {digest:#x}"),
        })
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
        let Some(committed_entry) = self.committed.entry_at(index) else {
            return Ok(());
        };
        let previous = self.committed.chain_at(index - 1).expect("committed");
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
}

/// Who holds the committed prefix, in words: `only voters 1 and 3 hold it`,
/// `only voter 1 holds it`, `no voter holds it`.
fn holders(voters: &[NodeId]) -> String {
    match voters {
        [] => "no voter holds it".to_owned(),
        [voter] => format!("only voter {voter} holds it"),
        voters => format!("only voters {} hold it", list_nodes(voters)),
    }
}
