//! Who is in the cluster: the voters, the learners, and (during a joint
//! configuration, C_old,new of §6 of Ongaro's thesis) the outgoing voters.
//!
//! Every member has a position: its index in [`Membership::members`], the
//! sorted union of all three sets. Per-member state (a leader's progress, its
//! CheckQuorum flags, the read rounds each member acknowledged, a candidate's
//! votes) lives in vectors indexed by that position, and the quorum math in
//! `quorum` reads only the positions of the voter sets. With no learners and no
//! joint configuration the members are exactly the voters, in the same order,
//! so every position, loop and count is what it was before this type existed.
//!
//! Configuration changes (`conf_change`) replace a node's membership when it
//! applies a conf entry: a C_old,new entry with a [`Membership::joint`] whose
//! outgoing set is the old voters, the entry leaving it with a simple one. A
//! leader then rebuilds its per-member vectors from the new positions.

use crate::types::{ConfState, NodeId};

/// The membership of the cluster as one node knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Membership {
    /// Voters of the (incoming, during a joint configuration) configuration.
    // Invariant: sorted, unique, non-empty, non-zero.
    voters: Vec<NodeId>,
    /// Voters of the outgoing configuration; empty unless joint.
    // Invariant: sorted, unique, non-zero.
    outgoing_voters: Vec<NodeId>,
    /// Members that receive the log but never vote and are never counted.
    // Invariant: sorted, unique, non-zero, disjoint from both voter sets.
    learners: Vec<NodeId>,
    /// The sorted union of the three sets: the position of a member is its index here.
    members: Vec<NodeId>,
    /// Positions (in `members`) of `voters`, increasing.
    voter_positions: Vec<usize>,
    /// Positions (in `members`) of `outgoing_voters`, increasing.
    outgoing_voter_positions: Vec<usize>,
}

impl Membership {
    /// A simple (not joint) configuration: `voters` vote, `learners` only listen.
    pub(crate) fn new(voters: Vec<NodeId>, learners: Vec<NodeId>) -> Membership {
        Membership::joint(voters, Vec::new(), learners)
    }

    /// A joint configuration C_old,new: decisions need a majority of `voters`
    /// (C_new) and a majority of `outgoing_voters` (C_old). An empty outgoing
    /// set is a simple configuration.
    pub(crate) fn joint(
        voters: Vec<NodeId>,
        outgoing_voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    ) -> Membership {
        let sorted_unique = |ids: &[NodeId]| ids.windows(2).all(|w| w[0] < w[1]);
        assert!(!voters.is_empty(), "a configuration has at least one voter");
        assert!(sorted_unique(&voters) && sorted_unique(&outgoing_voters));
        assert!(sorted_unique(&learners));
        assert!(
            !voters.contains(&0) && !outgoing_voters.contains(&0) && !learners.contains(&0),
            "node id 0 is reserved"
        );
        assert!(
            learners
                .iter()
                .all(|l| !voters.contains(l) && !outgoing_voters.contains(l)),
            "a learner is no voter"
        );
        let mut members: Vec<NodeId> = voters
            .iter()
            .chain(&outgoing_voters)
            .chain(&learners)
            .copied()
            .collect();
        members.sort_unstable();
        members.dedup();
        let positions = |ids: &[NodeId]| -> Vec<usize> {
            ids.iter()
                .map(|id| members.binary_search(id).expect("a member"))
                .collect()
        };
        let voter_positions = positions(&voters);
        let outgoing_voter_positions = positions(&outgoing_voters);
        Membership {
            voters,
            outgoing_voters,
            learners,
            members,
            voter_positions,
            outgoing_voter_positions,
        }
    }

    /// No member at all: the configuration of a node that joins a running
    /// cluster, until it applies its first conf entry. It is no voter.
    pub(crate) fn empty() -> Membership {
        Membership {
            voters: Vec::new(),
            outgoing_voters: Vec::new(),
            learners: Vec::new(),
            members: Vec::new(),
            voter_positions: Vec::new(),
            outgoing_voter_positions: Vec::new(),
        }
    }

    /// The membership of a configuration given as data (checked by the caller).
    pub(crate) fn from_conf_state(conf_state: &ConfState) -> Membership {
        Membership::joint(
            conf_state.voters.clone(),
            conf_state.outgoing_voters.clone(),
            conf_state.learners.clone(),
        )
    }

    /// The same members, with the outgoing voters counted in no quorum (they
    /// still vote and are replicated to): only the planted bug
    /// `JointSingleMajority` builds one.
    pub(crate) fn without_outgoing_quorum(mut self) -> Membership {
        self.outgoing_voter_positions.clear();
        self
    }

    /// Whether this is a joint configuration C_old,new.
    pub(crate) fn is_joint(&self) -> bool {
        !self.outgoing_voters.is_empty()
    }

    /// Every member, sorted by id: voters of both sets and learners.
    pub(crate) fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// The position of `id` among the members, if it is one.
    pub(crate) fn position_of(&self, id: NodeId) -> Option<usize> {
        self.members.binary_search(&id).ok()
    }

    /// Whether `id` votes in either configuration (its vote counts somewhere).
    pub(crate) fn is_voter(&self, id: NodeId) -> bool {
        self.voters.binary_search(&id).is_ok() || self.outgoing_voters.binary_search(&id).is_ok()
    }

    /// The positions of the (incoming) voters.
    pub(crate) fn voter_positions(&self) -> &[usize] {
        &self.voter_positions
    }

    /// The positions of the outgoing voters (empty unless joint).
    pub(crate) fn outgoing_voter_positions(&self) -> &[usize] {
        &self.outgoing_voter_positions
    }

    /// The configuration as public data.
    pub(crate) fn conf_state(&self) -> ConfState {
        ConfState {
            voters: self.voters.clone(),
            outgoing_voters: self.outgoing_voters.clone(),
            learners: self.learners.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_learners_or_joint_the_members_are_the_voters_in_order() {
        let membership = Membership::new(vec![1, 2, 5], Vec::new());
        assert_eq!(membership.members(), &[1, 2, 5]);
        assert_eq!(membership.voter_positions(), &[0, 1, 2]);
        assert!(membership.outgoing_voter_positions().is_empty());
    }

    #[test]
    fn a_joint_configuration_gives_every_member_one_position() {
        let membership = Membership::joint(vec![1, 2, 4], vec![1, 2, 3], vec![6]);
        assert_eq!(membership.members(), &[1, 2, 3, 4, 6]);
        assert_eq!(membership.voter_positions(), &[0, 1, 3]);
        assert_eq!(membership.outgoing_voter_positions(), &[0, 1, 2]);
        assert!(membership.is_voter(3) && membership.is_voter(4));
        assert!(!membership.is_voter(6));
        assert_eq!(membership.position_of(6), Some(4));
        assert_eq!(membership.position_of(5), None);
    }
}

/// A node in a joint configuration, driven message by message. No
/// configuration-change entry exists yet to put a node there, so these tests
/// replace the membership of a freshly built follower, as applying C_old,new
/// will (same members, so every position stays valid).
#[cfg(test)]
mod joint_tests {
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::config::Config;
    use crate::raft::{Raft, RoleState};
    use crate::types::{Message, MessageBody, RestoredState};

    /// Node 1 of C_old = {1, 4, 5} moving to C_new = {1, 2, 3}, a candidate.
    fn joint_candidate() -> Raft {
        let config = Config::new(1, vec![1, 2, 3, 4, 5]);
        let rng = Box::new(ChaCha8Rng::seed_from_u64(1));
        let mut raft = Raft::new(config, RestoredState::default(), rng);
        raft.membership = Membership::joint(vec![1, 2, 3], vec![1, 4, 5], Vec::new());
        for _ in 0..1000 {
            if matches!(raft.role, RoleState::Candidate { .. }) {
                return raft;
            }
            raft.tick();
        }
        panic!("node 1 never campaigned");
    }

    fn deliver(raft: &mut Raft, from: NodeId, body: MessageBody) {
        let term = raft.term;
        raft.step(Message {
            from,
            to: 1,
            term,
            body,
        });
    }

    fn grant(raft: &mut Raft, from: NodeId) {
        deliver(
            raft,
            from,
            MessageBody::RequestVoteResponse { granted: true },
        );
    }

    fn ack(raft: &mut Raft, from: NodeId, index: u64) {
        let body = MessageBody::AppendEntriesResponse {
            reject: false,
            index,
            reject_hint_index: 0,
            reject_hint_term: 0,
        };
        deliver(raft, from, body);
    }

    #[test]
    fn a_joint_candidate_asks_the_voters_of_both_configurations() {
        let raft = joint_candidate();
        let asked: Vec<NodeId> = raft.persisted_messages.iter().map(|m| m.to).collect();
        assert_eq!(asked, [2, 3, 4, 5]);
    }

    #[test]
    fn joint_election_needs_both_majorities() {
        let mut raft = joint_candidate();
        grant(&mut raft, 2);
        assert!(
            matches!(raft.role, RoleState::Candidate { .. }),
            "a majority of C_new alone does not elect"
        );
        grant(&mut raft, 4);
        assert!(raft.is_leader(), "a majority of C_old as well does");
    }

    #[test]
    fn joint_election_is_lost_when_either_majority_is_lost() {
        let mut raft = joint_candidate();
        grant(&mut raft, 2);
        grant(&mut raft, 3);
        deliver(
            &mut raft,
            4,
            MessageBody::RequestVoteResponse { granted: false },
        );
        deliver(
            &mut raft,
            5,
            MessageBody::RequestVoteResponse { granted: false },
        );
        assert!(matches!(raft.role, RoleState::Follower));
    }

    #[test]
    fn joint_commit_needs_both_majorities() {
        let mut raft = joint_candidate();
        grant(&mut raft, 2);
        grant(&mut raft, 4);
        assert!(raft.is_leader());
        let noop = raft.log.last_index();
        // The leader's own entry is not durable yet: only the followers count.
        ack(&mut raft, 2, noop);
        ack(&mut raft, 3, noop);
        assert_eq!(raft.commit, 0, "C_new holds it, C_old does not");
        ack(&mut raft, 4, noop);
        assert_eq!(raft.commit, 0, "one of C_old is no majority");
        ack(&mut raft, 5, noop);
        assert_eq!(raft.commit, noop);
    }
}
