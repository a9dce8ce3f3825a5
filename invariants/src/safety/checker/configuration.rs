//! The configuration in force and how many of its voters lack the committed
//! prefix: the counts behind "committed entries are never lost".
//!
//! # When a committed entry is lost
//!
//! An entry is lost when a leader lacking it could be elected. A voter that
//! holds the committed prefix refuses its vote to a candidate lacking it
//! (the candidate's log is less up to date), so only the voters that lack
//! the prefix (the non-holders) can elect such a candidate, and they can
//! exactly when they form a quorum:
//!
//! - a simple configuration of `n` voters, quorum `q = n / 2 + 1`: lost iff
//!   `q` or more voters lack the prefix. For odd `n` this is "fewer than a
//!   majority hold it"; for even `n` it is stricter than that and precise:
//!   2 of 4 holding leaves 2 non-holders, not a quorum of 3, and no election
//!   can lose the entry; 1 of 4 holding leaves 3, and one can.
//! - a joint configuration `C_old,new`: an election needs a quorum of each
//!   half, so lost iff the non-holders include a quorum of the incoming
//!   voters AND a quorum of the outgoing voters.
//!
//! Crashed voters count by their last known log (their disk may still hold
//! it); learners and removed nodes do not count at all, though their logs
//! are still checked for log matching.
//!
//! # Why a correct membership change keeps it
//!
//! An entry is committed by a quorum of the configuration in force, and two
//! quorums of one configuration overlap, so when it commits its non-holders
//! are no quorum. A single-server change (add or remove one voter) keeps
//! that: any majority of `C_old` and any majority of `C_new` overlap, so a
//! quorum of `C_new` lacking an entry would take voters that a correct
//! leader counted for it. A joint change keeps it by construction: while
//! joint, a commit takes a majority of both halves, so neither half's
//! non-holders are a quorum of it; leaving the joint state keeps one half,
//! whose non-holders were already no quorum. A change that breaks it (two
//! voters added at once to an even cluster, a joint state left too early)
//! is exactly the bug this check reports.
//!
//! # Cost
//!
//! Per node, whether it is an incoming and an outgoing voter; per half, how
//! many of its voters lack the prefix. A flip of one node's holding updates
//! the counts in O(1); a configuration change recounts in O(its size).

use super::NodeState;
use crate::safety::violation::list_nodes;
use crate::safety::NodeId;

/// The configuration in force: the incoming voters, and the outgoing voters
/// while joint (none otherwise).
#[derive(Clone, Debug, Default)]
pub(super) struct Configuration {
    // Invariant: non-empty, distinct ids; node.incoming exactly for these.
    incoming: Vec<NodeId>,
    // Invariant: distinct ids (empty: not joint); node.outgoing exactly for these.
    outgoing: Vec<NodeId>,
    // Invariant: incoming_lacking == |{v in incoming : !nodes[v].holds_committed}|.
    incoming_lacking: usize,
    // Invariant: outgoing_lacking == |{v in outgoing : !nodes[v].holds_committed}|.
    outgoing_lacking: usize,
}

/// The quorum of `voter_count` voters: a strict majority.
pub(super) fn quorum(voter_count: usize) -> usize {
    voter_count / 2 + 1
}

impl Configuration {
    /// Replaces the voters with `incoming` and `outgoing` (empty: not joint),
    /// updating the nodes' membership flags and recounting the non-holders.
    /// O(old size + new size). Panics on an empty or repeated voter list.
    pub(super) fn replace(
        &mut self,
        nodes: &mut [NodeState],
        incoming: &[NodeId],
        outgoing: &[NodeId],
    ) {
        assert!(
            !incoming.is_empty(),
            "a configuration needs at least one voter"
        );
        for &voter in &self.incoming {
            nodes[voter as usize].incoming = false;
        }
        for &voter in &self.outgoing {
            nodes[voter as usize].outgoing = false;
        }
        self.incoming.clear();
        self.incoming.extend_from_slice(incoming);
        self.outgoing.clear();
        self.outgoing.extend_from_slice(outgoing);
        self.incoming_lacking = 0;
        self.outgoing_lacking = 0;
        for &voter in incoming {
            let state = &mut nodes[voter as usize];
            assert!(!state.incoming, "voter {voter} listed twice");
            state.incoming = true;
            self.incoming_lacking += usize::from(!state.holds_committed);
        }
        for &voter in outgoing {
            let state = &mut nodes[voter as usize];
            assert!(!state.outgoing, "outgoing voter {voter} listed twice");
            state.outgoing = true;
            self.outgoing_lacking += usize::from(!state.holds_committed);
        }
    }

    /// Recounts the non-holders from the nodes' flags: O(configuration size).
    pub(super) fn recount(&mut self, nodes: &[NodeState]) {
        let lacking = |voters: &[NodeId]| {
            let lacks = |voter: &&NodeId| !nodes[**voter as usize].holds_committed;
            voters.iter().filter(lacks).count()
        };
        self.incoming_lacking = lacking(&self.incoming);
        self.outgoing_lacking = lacking(&self.outgoing);
    }

    /// Takes in that `state`'s holding of the committed prefix flipped (its
    /// `holds_committed` is already the new value): O(1).
    pub(super) fn holding_flipped(&mut self, state: &NodeState) {
        let update = |count: &mut usize| {
            if state.holds_committed {
                *count -= 1;
            } else {
                *count += 1;
            }
        };
        if state.incoming {
            update(&mut self.incoming_lacking);
        }
        if state.outgoing {
            update(&mut self.outgoing_lacking);
        }
    }

    /// Whether the voters lacking the committed prefix could elect a leader
    /// without it: they include a quorum of the incoming voters, and of the
    /// outgoing voters too while joint.
    pub(super) fn lacking_form_a_quorum(&self) -> bool {
        let incoming = self.incoming_lacking >= quorum(self.incoming.len());
        let outgoing =
            self.outgoing.is_empty() || self.outgoing_lacking >= quorum(self.outgoing.len());
        incoming && outgoing
    }

    /// The voters of either half holding the committed prefix, ascending, for
    /// reports (allocates: only on a violation).
    pub(super) fn holders(&self, nodes: &[NodeState]) -> Vec<NodeId> {
        let mut voters: Vec<NodeId> = self
            .incoming
            .iter()
            .chain(&self.outgoing)
            .copied()
            .collect();
        voters.sort_unstable();
        voters.dedup();
        voters.retain(|&voter| nodes[voter as usize].holds_committed);
        voters
    }

    /// The rule in words, for a report: `on a majority (2 of 3 voters)` for
    /// an odd configuration (where the two coincide), `with no quorum of
    /// voters 1, 2, 3 and 4 (3 of 4) lacking it` for an even one, and both
    /// halves for a joint one.
    pub(super) fn describe_rule(&self) -> String {
        let count = self.incoming.len();
        if self.outgoing.is_empty() && count % 2 == 1 {
            return format!("on a majority ({} of {count} voters)", quorum(count));
        }
        let half = |voters: &[NodeId]| {
            let count = voters.len();
            format!(
                "voters {} ({} of {count})",
                list_nodes(&sorted(voters)),
                quorum(count)
            )
        };
        if self.outgoing.is_empty() {
            return format!("with no quorum of {} lacking it", half(&self.incoming));
        }
        format!(
            "with no joint quorum lacking it (a quorum of incoming {} and one of outgoing {})",
            half(&self.incoming),
            half(&self.outgoing)
        )
    }
}

fn sorted(voters: &[NodeId]) -> Vec<NodeId> {
    let mut voters = voters.to_vec();
    voters.sort_unstable();
    voters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes_holding(holding: &[bool]) -> Vec<NodeState> {
        let node = |holds: &bool| NodeState {
            holds_committed: *holds,
            ..NodeState::default()
        };
        holding.iter().map(node).collect()
    }

    /// The naive rule: count the non-holders of each half from scratch.
    fn naive_lost(nodes: &[NodeState], incoming: &[NodeId], outgoing: &[NodeId]) -> bool {
        let lacking = |voters: &[NodeId]| {
            let lacks = |voter: &&NodeId| !nodes[**voter as usize].holds_committed;
            voters.iter().filter(lacks).count()
        };
        let incoming_lost = 2 * lacking(incoming) > incoming.len();
        let outgoing_lost = outgoing.is_empty() || 2 * lacking(outgoing) > outgoing.len();
        incoming_lost && outgoing_lost
    }

    #[test]
    fn an_even_cluster_loses_an_entry_only_when_the_non_holders_are_a_quorum() {
        let mut nodes = nodes_holding(&[false, true, true, false, false]);
        let mut configuration = Configuration::default();
        configuration.replace(&mut nodes, &[1, 2, 3, 4], &[]);
        assert!(!configuration.lacking_form_a_quorum(), "2 of 4 hold it");
        nodes[2].holds_committed = false;
        configuration.holding_flipped(&nodes[2]);
        assert!(configuration.lacking_form_a_quorum(), "1 of 4 holds it");
        assert!(naive_lost(&nodes, &[1, 2, 3, 4], &[]));
    }

    #[test]
    fn a_joint_configuration_loses_an_entry_only_when_both_halves_lack_it() {
        // Outgoing {1, 2, 3}, incoming {3, 4, 5}; holders 4 and 5.
        let mut nodes = nodes_holding(&[false, false, false, false, true, true]);
        let mut configuration = Configuration::default();
        configuration.replace(&mut nodes, &[3, 4, 5], &[1, 2, 3]);
        assert!(!configuration.lacking_form_a_quorum());
        configuration.replace(&mut nodes, &[3, 4, 5], &[]);
        assert!(!configuration.lacking_form_a_quorum());
        configuration.replace(&mut nodes, &[1, 2, 3], &[]);
        assert!(configuration.lacking_form_a_quorum());
        assert!(!nodes[4].incoming && nodes[1].incoming && !nodes[1].outgoing);
        nodes[4].holds_committed = false;
        configuration.replace(&mut nodes, &[3, 4, 5], &[1, 2, 3]);
        assert!(configuration.lacking_form_a_quorum());
        configuration.recount(&nodes);
        assert!(configuration.lacking_form_a_quorum());
        assert_eq!(configuration.holders(&nodes), vec![5]);
    }

    #[test]
    fn the_quorum_counts_agree_with_a_naive_count_on_every_small_configuration() {
        // Every holding pattern of nodes 1..=5 against every pair of halves
        // (each node: neither, incoming, outgoing or both).
        for pattern in 0u32..64 {
            let holding: Vec<bool> = (0..6).map(|bit| (pattern >> bit) & 1 == 1).collect();
            for halves in 1u32..4u32.pow(5) {
                let (mut incoming, mut outgoing) = (Vec::new(), Vec::new());
                let mut code = halves;
                for node in 1..=5 {
                    if code % 4 == 1 || code % 4 == 3 {
                        incoming.push(node);
                    }
                    if code % 4 >= 2 {
                        outgoing.push(node);
                    }
                    code /= 4;
                }
                if incoming.is_empty() {
                    continue;
                }
                let mut nodes = nodes_holding(&holding);
                let mut configuration = Configuration::default();
                configuration.replace(&mut nodes, &incoming, &outgoing);
                assert_eq!(
                    configuration.lacking_form_a_quorum(),
                    naive_lost(&nodes, &incoming, &outgoing),
                    "{incoming:?} {outgoing:?} {holding:?}"
                );
            }
        }
    }
}
