//! The operator: the membership changes a person running the cluster makes
//! (add a learner, promote it, remove a voter or the leader, swap two voters
//! through a joint configuration), and the replacement of a node whose disk
//! died: the successor boots empty under a spare id, joins as a learner,
//! catches up (by snapshot, then log), is promoted, and the dead identity is
//! removed. The nemesis draws when it acts; what it asks for is a fault of
//! the schedule ([`Fault::ConfChange`], [`Fault::Join`], [`Fault::Replace`]),
//! so a recorded run replays it without the operator.

use raft_core::NodeId;

use crate::drivers::{Fault, MemberChange};
use crate::world::rng::{Ratio, Rng};
use crate::world::World;

/// What the operator is in the middle of.
#[derive(Clone, Debug, Default)]
pub struct Operator {
    /// A replacement under way: the dead identity and its successor.
    replacing: Option<(NodeId, NodeId)>,
}

impl Operator {
    /// Whether a replacement is under way (the operator finishes it in the
    /// heal phase too).
    pub fn is_replacing(&self) -> bool {
        self.replacing.is_some()
    }

    /// The next step of the replacement under way, if any: add the
    /// successor as a learner; once it caught up, promote it and remove the
    /// dead identity, in one joint change or one after the other. Returns
    /// whether a replacement is still under way (then nothing else is done).
    pub fn continue_replacement(&mut self, rng: &mut Rng, world: &mut World) -> bool {
        let Some((old, new)) = self.replacing else {
            return false;
        };
        let conf = world.configuration().clone();
        if conf.is_joint() {
            // The leader leaves the joint configuration by itself.
            return true;
        }
        let old_voter = conf.voters.contains(&old);
        let old_member = old_voter || conf.learners.contains(&old);
        let changes = if conf.learners.contains(&new) {
            if !world.is_caught_up(new) {
                return true;
            }
            if old_voter && rng.chance(Ratio::new(1, 2)) {
                vec![MemberChange::AddVoter(new), MemberChange::Remove(old)]
            } else {
                vec![MemberChange::AddVoter(new)]
            }
        } else if !conf.voters.contains(&new) {
            vec![MemberChange::AddLearner(new)]
        } else if old_member {
            vec![MemberChange::Remove(old)]
        } else {
            self.replacing = None;
            return false;
        };
        request(world, changes);
        true
    }

    /// A voter's disk dies for good (the leader's half the time); a spare
    /// id replaces it. Nothing while a replacement is under way, when no
    /// spare is left, when one more voter down would leave no majority, or
    /// while a running member still acts on an older configuration: with
    /// changes taking effect when applied, a node that has not applied the
    /// last change still needs the old configuration's majority, and a
    /// permanent loss there could leave it no way to learn the change
    /// committed (etcd's advice: replace one member at a time, on a settled
    /// cluster).
    pub fn replace_some_node(&mut self, rng: &mut Rng, world: &mut World) {
        if self.replacing.is_some()
            || !world.may_crash_another()
            || !world.every_member_applied_the_configuration()
        {
            return;
        }
        let Some(by) = world.unused_spare() else {
            return;
        };
        let up: Vec<NodeId> = world
            .configuration()
            .voters
            .iter()
            .copied()
            .filter(|&id| world.hosts()[id as usize - 1].is_up())
            .collect();
        if up.is_empty() {
            return;
        }
        let leader = world
            .current_leader()
            .filter(|leader| up.contains(leader))
            .filter(|_| rng.chance(Ratio::new(1, 2)));
        let node = leader.unwrap_or_else(|| up[rng.index(up.len())]);
        world.inject(Fault::Replace { node, by });
        self.replacing = Some((node, by));
    }

    /// One change of the kinds an operator makes (after the replacement
    /// under way, if any, which comes first); a quarter of the time an
    /// impatient second one at once, which must wait for the first.
    pub fn change_membership(&mut self, rng: &mut Rng, world: &mut World) {
        self.one_change(rng, world);
        if rng.chance(Ratio::new(1, 4)) {
            self.one_change(rng, world);
        }
    }

    fn one_change(&mut self, rng: &mut Rng, world: &mut World) {
        if self.continue_replacement(rng, world) {
            return;
        }
        let conf = world.configuration().clone();
        if conf.is_joint() {
            return;
        }
        let caught_up: Vec<NodeId> = conf
            .learners
            .iter()
            .copied()
            .filter(|&id| world.is_caught_up(id))
            .collect();
        // Fault tolerance stays: never fewer voters than the run began with
        // (three at most).
        let min_voters = world.params().cluster_size.min(3) as usize;
        let removable = conf.voters.len() > min_voters;
        let pick = |rng: &mut Rng, ids: &[NodeId]| ids[rng.index(ids.len())];
        let changes = match rng.index(5) {
            0 => {
                let Some(spare) = world.unused_spare() else {
                    return;
                };
                world.inject(Fault::Join { node: spare });
                vec![MemberChange::AddLearner(spare)]
            }
            1 if !caught_up.is_empty() => vec![MemberChange::AddVoter(pick(rng, &caught_up))],
            2 if removable => {
                let leader = world
                    .current_leader()
                    .filter(|leader| conf.voters.contains(leader))
                    .filter(|_| rng.chance(Ratio::new(1, 2)));
                let voter = leader.unwrap_or_else(|| pick(rng, &conf.voters));
                vec![MemberChange::Remove(voter)]
            }
            3 if !caught_up.is_empty() => {
                // Two voters change at once: a joint configuration.
                let learner = pick(rng, &caught_up);
                let voter = pick(rng, &conf.voters);
                vec![MemberChange::AddVoter(learner), MemberChange::Remove(voter)]
            }
            4 if !conf.learners.is_empty() => vec![MemberChange::Remove(pick(rng, &conf.learners))],
            _ => return,
        };
        request(world, changes);
    }
}

/// Asks the leader for `changes` (the operator waits while none leads).
fn request(world: &mut World, changes: Vec<MemberChange>) {
    if let Some(at) = world.current_leader() {
        world.inject(Fault::ConfChange { at, changes });
    }
}
