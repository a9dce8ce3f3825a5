//! The nemesis: the driver that draws a run's faults from its seed.
//!
//! Message faults (drops, duplicates) strike single messages at the rates the
//! seed drew; the nemesis adds discrete actions at random intervals:
//! partitions (isolate a node, split in two, cut one direction of a link,
//! heal), crashes with restarts, pauses, clogs, clock skews, transfers,
//! membership changes and disk loss (a wiped node replaced under a new
//! identity, by its [`Operator`]; restarted with amnesia only when asked
//! for); and it strikes at chosen protocol points, as FoundationDB's BUGGIFY
//! does: around fsyncs, right after an election, right after a commit (a
//! joint configuration just committed among them). At most a minority
//! is down at once, so the cluster can make progress between faults. It acts
//! in the chaos phase only, except its [`Operator`], which finishes a
//! replacement under way in the heal phase too (an operator's work, not a
//! fault). With compaction on, it also compacts a node now and then and
//! slows a follower down long enough to need a snapshot.

use std::any::Any;

use raft_core::NodeId;

use crate::drivers::buggify::BuggifyPoint;
use crate::drivers::operator::Operator;
use crate::drivers::{DiskFate, Driver, Fate, Fault, Outgoing, Point};
use crate::world::network::keyed;
use crate::world::params::{FaultKind, Params};
use crate::world::rng::{Ratio, Rng, Stream};
use crate::world::{Phase, World};

/// The longest downtime of a quick bounce.
const BOUNCE_US_MAX: u64 = 20_000;
/// How often the operator steps a replacement on in the heal phase.
const HEAL_OPERATOR_INTERVAL_US: u64 = 200_000;

#[derive(Clone, Copy, Debug)]
enum Action {
    Partition,
    Crash,
    DiskLoss,
    Pause,
    Clog,
    Skew,
    Transfer,
    Membership,
    DiskLossAmnesia,
    Compact,
    SlowFollower,
}

/// The seed's fault schedule, drawn as the run goes.
#[derive(Clone, Debug)]
pub struct NemesisDriver {
    /// Its actions: when, which, against whom.
    actions: Rng,
    /// Which messages are dropped or duplicated: a key of their own, each
    /// message's fate a function of the key and the message's name, so that
    /// neither the actions nor other links' fates depend on how many
    /// messages a link carried.
    messages: u64,
    params: Params,
    /// The drop and duplicate rates, zero when the seed did not turn those
    /// faults on (looked up once: they are asked for every message).
    drop_ratio: Ratio,
    duplicate_ratio: Ratio,
    /// When it acts next; `None` once the chaos phase is over.
    next_action_us: Option<u64>,
    /// The ends of faults that last a while (resume a paused node, unclog
    /// a link, put a clock back within the bound), by time, in the order
    /// they were decided.
    // Invariant: sorted by time (stable: equal times keep their order).
    endings: Vec<(u64, Fault)>,
    /// Membership changes and replacements of nodes whose disk died.
    operator: Operator,
}

impl NemesisDriver {
    /// The nemesis of the run `params` describes.
    pub fn new(params: &Params) -> NemesisDriver {
        let mut nemesis = NemesisDriver {
            actions: Rng::new(params.seed, Stream::Nemesis),
            messages: Rng::new(params.seed, Stream::MessageFaults).next_u64(),
            drop_ratio: match params.has_fault(FaultKind::Drop) {
                true => params.drop_ratio,
                false => Ratio::ZERO,
            },
            duplicate_ratio: match params.has_fault(FaultKind::Duplicate) {
                true => params.duplicate_ratio,
                false => Ratio::ZERO,
            },
            params: params.clone(),
            next_action_us: None,
            endings: Vec::new(),
            operator: Operator::default(),
        };
        nemesis.next_action_us = Some(nemesis.gap());
        nemesis
    }

    /// The time to the next action.
    fn gap(&mut self) -> u64 {
        let mean = self.params.nemesis_interval_us_mean;
        self.actions.range_inclusive(1, 2 * mean)
    }

    fn partition(&mut self, world: &mut World) {
        let n = self.params.node_capacity();
        let fault = match self.actions.index(6) {
            0 => Fault::Partition {
                groups: vec![vec![self.actions.range_inclusive(1, n)]],
            },
            1 => {
                let mut nodes: Vec<u64> = (1..=n).collect();
                for i in (1..nodes.len()).rev() {
                    nodes.swap(i, self.actions.index(i + 1));
                }
                let split = self.actions.range_inclusive(1, n - 1) as usize;
                Fault::Partition {
                    groups: vec![nodes[..split].to_vec()],
                }
            }
            2 => {
                let from = self.actions.range_inclusive(1, n);
                let to = self.actions.range_inclusive(1, n);
                if from == to {
                    return;
                }
                Fault::Cut { from, to }
            }
            3 => Fault::Heal,
            4 => {
                // A partial partition: one link down both ways, each end
                // still hearing the others (where a node that cannot hear
                // the leader keeps calling elections the others ignore,
                // or do not).
                world.inject(Fault::Heal);
                let a = self.actions.range_inclusive(1, n);
                let b = self.actions.range_inclusive(1, n);
                if a == b || n < 3 {
                    return;
                }
                world.inject(Fault::Cut { from: a, to: b });
                Fault::Cut { from: b, to: a }
            }
            _ => {
                // Jepsen's favourite: cut the leader off with a minority, where it
                // keeps taking writes it cannot commit.
                if let Some(leader) = world.current_leader() {
                    self.isolate_with_minority(world, leader);
                }
                return;
            }
        };
        world.inject(fault);
    }

    fn crash_some_node(&mut self, world: &mut World, disk: DiskFate) {
        if !world.may_crash_another() {
            return;
        }
        let up = running_nodes(world);
        // Half the time the leader: leader crashes mid-replication are where
        // commit rules are tested (Figure 8).
        let leader = world
            .current_leader()
            .filter(|_| self.actions.chance(Ratio::new(1, 2)));
        let node = leader.unwrap_or_else(|| up[self.actions.index(up.len())]);
        let restart_after_us = Some(self.downtime());
        world.inject(Fault::Crash {
            node,
            disk,
            restart_after_us,
        });
    }

    /// How long a crashed node stays down. A third of the crashes are quick
    /// bounces (a supervisor restarts the process at once): a node back
    /// within one election is where forgotten votes and lost unsynced
    /// writes show.
    fn downtime(&mut self) -> u64 {
        let downtime_max = if self.actions.chance(Ratio::new(1, 3)) {
            BOUNCE_US_MAX
        } else {
            self.params.crash_downtime_us_max
        };
        self.actions.range_inclusive(1, downtime_max)
    }

    /// Cuts `node` off together with a random number of others, still a minority.
    fn isolate_with_minority(&mut self, world: &mut World, node: NodeId) {
        let n = self.params.cluster_size;
        let others: Vec<u64> = (1..=n).filter(|&id| id != node).collect();
        let extra = self.actions.range_inclusive(0, (n - 1) / 2 - 1) as usize;
        let mut minority = vec![node];
        minority.extend(others.iter().take(extra));
        world.inject(Fault::Partition {
            groups: vec![minority],
        });
    }

    /// Ends `fault` after `after_us`.
    fn end_later(&mut self, world: &World, after_us: u64, fault: Fault) {
        let at = world.now_us() + after_us;
        let place = self.endings.partition_point(|(time, _)| *time <= at);
        self.endings.insert(place, (at, fault));
    }

    /// Pauses a node (half the time the leader: the zombie leader) for up
    /// to the seed's longest pause.
    fn pause_some_node(&mut self, world: &mut World) {
        if !world.may_crash_another() {
            return;
        }
        let running: Vec<NodeId> = world
            .hosts()
            .iter()
            .filter(|h| h.is_up() && !world.is_paused(h.id()))
            .map(|h| h.id())
            .collect();
        if running.is_empty() {
            return;
        }
        let leader = world
            .current_leader()
            .filter(|leader| running.contains(leader))
            .filter(|_| self.actions.chance(Ratio::new(1, 2)));
        let node = leader.unwrap_or_else(|| running[self.actions.index(running.len())]);
        let pause_us = self.actions.range_inclusive(1, self.params.pause_us_max);
        world.inject(Fault::Pause { node });
        self.end_later(world, pause_us, Fault::Resume { node });
    }

    /// Clogs one direction of a link for a while: its messages arrive, late;
    /// or, half the time, holds them and lets them go in one burst.
    fn clog_some_link(&mut self, world: &mut World) {
        let n = self.params.node_capacity();
        let from = self.actions.range_inclusive(1, n);
        let to = self.actions.range_inclusive(1, n);
        let extra_delay_us = self.actions.range_inclusive(1, self.params.clog_us_max);
        let clog_for_us = self.actions.range_inclusive(1, 4 * self.params.clog_us_max);
        let burst = self.actions.chance(Ratio::new(1, 2));
        if from == to || world.network_clog_us(from, to) > 0 {
            return;
        }
        if burst {
            let for_us = extra_delay_us;
            world.inject(Fault::Stall { from, to, for_us });
            return;
        }
        world.inject(Fault::Clog {
            from,
            to,
            extra_delay_us,
        });
        self.end_later(world, clog_for_us, Fault::Unclog { from, to });
    }

    /// Pushes one node's clock past the drift bound for a while, either way.
    fn skew_some_clock(&mut self, world: &mut World) {
        let node = self.actions.range_inclusive(1, self.params.node_capacity());
        let past = self.actions.range_inclusive(50, 500) as i64;
        let slow = self.actions.chance(Ratio::new(1, 2));
        let magnitude = self.params.clock_drift_bound_ppt + past;
        let ppt = if slow { magnitude } else { -magnitude.min(900) };
        let skew_for_us = self.actions.range_inclusive(1, 3_000_000);
        if world.hosts()[node as usize - 1].skew_ppt.is_some() {
            return;
        }
        world.inject(Fault::Skew { node, ppt });
        self.end_later(world, skew_for_us, Fault::Unskew { node });
    }

    /// Asks the leader to hand its leadership to another node (an operator
    /// draining a machine): the transferee may be behind, down or cut off.
    fn transfer_leadership(&mut self, world: &mut World) {
        let n = self.params.node_capacity();
        let to = self.actions.range_inclusive(1, n);
        let Some(leader) = world.current_leader() else {
            return;
        };
        if leader != to {
            world.inject(Fault::Transfer { from: leader, to });
        }
    }

    /// Compacts a running node's log now, at whatever it applied.
    fn compact_some_node(&mut self, world: &mut World) {
        let up = running_nodes(world);
        if !up.is_empty() {
            let node = up[self.actions.index(up.len())];
            world.inject(Fault::Compact { node });
        }
    }

    /// Slows the link from the leader to one follower for a while (a slow
    /// disk, a congested NIC): the follower falls behind the leader's
    /// compacted log and needs a snapshot, which arrives late too.
    fn slow_some_follower(&mut self, world: &mut World) {
        let Some(leader) = world.current_leader() else {
            return;
        };
        let followers: Vec<NodeId> = world
            .hosts()
            .iter()
            .filter(|h| h.is_up() && h.id() != leader)
            .map(|h| h.id())
            .collect();
        if followers.is_empty() || self.params.compact_every.is_none() {
            return;
        }
        let to = followers[self.actions.index(followers.len())];
        if world.network_clog_us(leader, to) > 0 {
            return;
        }
        let extra_delay_us = self.actions.range_inclusive(100_000, 800_000);
        let slow_for_us = self.actions.range_inclusive(1_000_000, 4_000_000);
        world.inject(Fault::Clog {
            from: leader,
            to,
            extra_delay_us,
        });
        self.end_later(world, slow_for_us, Fault::Unclog { from: leader, to });
    }

    /// Whether the protocol point `point` strikes now (at the seed's
    /// chance; counted in the run's coverage when it does).
    fn buggify(&mut self, world: &mut World, point: BuggifyPoint) -> bool {
        let ratio = self.params.buggify.ratio(point);
        if ratio == Ratio::ZERO || !self.actions.chance(ratio) {
            return false;
        }
        world.reached(point.fired());
        true
    }

    /// Whether partitions may strike now.
    fn partitions_on(&self, world: &World) -> bool {
        world.phase == Phase::Chaos && self.params.has_fault(FaultKind::Partition)
    }
}

/// The nodes that run now (not crashed, never-started spares left out).
fn running_nodes(world: &World) -> Vec<NodeId> {
    world
        .hosts()
        .iter()
        .filter(|h| h.is_up())
        .map(|h| h.id())
        .collect()
}

impl Driver for NemesisDriver {
    fn next_timer_us(&self) -> Option<u64> {
        match (self.next_action_us, self.endings.first()) {
            (Some(action), Some((ending, _))) => Some(action.min(*ending)),
            (action, ending) => action.or(ending.map(|(time, _)| *time)),
        }
    }

    fn on_timer(&mut self, world: &mut World) {
        if world.phase != Phase::Chaos {
            // The heal phase ends every fault at once; the operator still
            // finishes a replacement under way.
            self.next_action_us = None;
            self.endings.clear();
            if self.operator.continue_replacement(&mut self.actions, world) {
                self.next_action_us = Some(world.now_us() + HEAL_OPERATOR_INTERVAL_US);
            }
            return;
        }
        if self
            .endings
            .first()
            .is_some_and(|(time, _)| *time <= world.now_us())
        {
            let (_, fault) = self.endings.remove(0);
            world.inject(fault);
            return;
        }
        let mut actions = Vec::with_capacity(12);
        if self.params.has_fault(FaultKind::Partition) {
            actions.push(Action::Partition);
        }
        if self.params.has_fault(FaultKind::Crash) {
            actions.push(Action::Crash);
        }
        if self.params.has_fault(FaultKind::DiskLoss) {
            actions.push(Action::DiskLoss);
        }
        if self.params.has_fault(FaultKind::DiskLossAmnesia) {
            actions.push(Action::DiskLossAmnesia);
        }
        if self.params.has_fault(FaultKind::Membership) {
            actions.push(Action::Membership);
        }
        if self.params.compact_every.is_some() {
            actions.push(Action::Compact);
            actions.push(Action::SlowFollower);
        }
        if self.params.has_fault(FaultKind::Pause) {
            actions.push(Action::Pause);
        }
        if self.params.has_fault(FaultKind::Clog) {
            actions.push(Action::Clog);
        }
        if self.params.has_fault(FaultKind::ClockSkew) {
            actions.push(Action::Skew);
        }
        if self.params.transfers {
            actions.push(Action::Transfer);
        }
        if !actions.is_empty() {
            match actions[self.actions.index(actions.len())] {
                Action::Partition => self.partition(world),
                Action::Crash => self.crash_some_node(world, DiskFate::Prefix),
                Action::DiskLoss => self.operator.replace_some_node(&mut self.actions, world),
                Action::DiskLossAmnesia => self.crash_some_node(world, DiskFate::Lost),
                Action::Membership => self.operator.change_membership(&mut self.actions, world),
                Action::Compact => self.compact_some_node(world),
                Action::SlowFollower => self.slow_some_follower(world),
                Action::Pause => self.pause_some_node(world),
                Action::Clog => self.clog_some_link(world),
                Action::Skew => self.skew_some_clock(world),
                Action::Transfer => self.transfer_leadership(world),
            }
        }
        self.next_action_us = Some(world.now_us() + self.gap());
    }

    /// A node just won an election: sometimes cut it off with a minority at
    /// once, dropping its first messages in flight.
    fn on_new_leader(&mut self, world: &mut World, leader: NodeId) {
        // An operator's change that reaches a leader fresh in office, before
        // an entry of its term committed: it must wait (refused).
        if world.phase == Phase::Chaos
            && self.params.has_fault(FaultKind::Membership)
            && self.actions.chance(Ratio::new(1, 4))
        {
            self.operator.change_membership(&mut self.actions, world);
        }
        if !self.partitions_on(world) {
            return;
        }
        if self.buggify(world, BuggifyPoint::NewLeaderIsolation) {
            self.isolate_with_minority(world, leader);
        }
    }

    /// A leader's commit index just advanced: sometimes cut it off at once, so
    /// the decision is known to it alone (catalogue: "leader crashes after
    /// replicating to a majority but before telling anyone it committed").
    fn on_leader_commit(&mut self, world: &mut World, leader: NodeId) {
        if !self.partitions_on(world) {
            return;
        }
        if self.params.has_fault(FaultKind::Membership) {
            // A joint configuration just committed, not applied yet: cut the
            // leader and the voters only C_new has off from the rest, where
            // the outgoing majority must still hold back every decision.
            if let Some(pending) = world.pending_conf(leader).filter(|c| c.is_joint()) {
                if self.actions.chance(Ratio::new(1, 3)) {
                    let mut side: Vec<NodeId> = pending
                        .voters
                        .iter()
                        .copied()
                        .filter(|v| !pending.outgoing_voters.contains(v) || *v == leader)
                        .collect();
                    if !side.contains(&leader) {
                        side.push(leader);
                    }
                    world.inject(Fault::Partition { groups: vec![side] });
                    return;
                }
            }
        }
        if self.buggify(world, BuggifyPoint::CommitIsolation) {
            self.isolate_with_minority(world, leader);
        }
    }

    /// Sometimes a crash right around an fsync: before it completes (a prefix
    /// of its writes survives) or just after (the messages waiting for it
    /// left); more often after a new term or vote was written.
    fn on_fsync(&mut self, world: &mut World, node: NodeId, hard_state_written: bool) {
        if world.phase != Phase::Chaos
            || !self.params.has_fault(FaultKind::Crash)
            || !world.may_crash_another()
        {
            return;
        }
        let point = match hard_state_written {
            true => BuggifyPoint::HardStateCrash,
            false => BuggifyPoint::FsyncCrash,
        };
        if !self.buggify(world, point) {
            return;
        }
        let before = self.actions.chance(Ratio::new(1, 2));
        let restart_after_us = self.downtime();
        world.inject(Fault::FsyncCrash {
            node,
            before,
            restart_after_us,
        });
    }

    /// Right after a vote granted, an acknowledgement counted or a snapshot
    /// taken: a crash with a quick restart, at the seed's chance of the
    /// point (see [`crate::drivers::buggify`]).
    fn on_point(&mut self, world: &mut World, point: Point, peer: Option<NodeId>) {
        let (buggify, node) = match point {
            Point::VoteGranted { node, .. } => (BuggifyPoint::VoteGrantedCrash, node),
            Point::AckCounted { node, .. } => (BuggifyPoint::AckCountedCrash, node),
            Point::SnapshotTaken { node, .. } => (BuggifyPoint::SnapshotTakenCrash, node),
            _ => return,
        };
        // Asked at every acknowledgement: the cheap tests first.
        if self.params.buggify.ratio(buggify) == Ratio::ZERO
            || world.phase != Phase::Chaos
            || !self.params.has_fault(FaultKind::Crash)
            || !world.may_crash_another()
            || !self.buggify(world, buggify)
        {
            return;
        }
        // After an acknowledgement, the follower that sent it, or (a third
        // of the time) the leader that counted it.
        let victim = match (point, peer) {
            (Point::AckCounted { .. }, Some(follower))
                if !self.actions.chance(Ratio::new(1, 3)) =>
            {
                follower
            }
            _ => node,
        };
        if !world.hosts()[victim as usize - 1].is_up() {
            return;
        }
        let restart_after_us = Some(self.actions.range_inclusive(1, BOUNCE_US_MAX));
        world.inject(Fault::Crash {
            node: victim,
            disk: DiskFate::Prefix,
            restart_after_us,
        });
    }

    /// Drops and duplicates at the seed's rates; a client's messages are
    /// dropped, never duplicated (a client talks over a connection).
    fn message_fate(&mut self, world: &World, outgoing: Outgoing<'_>) -> Fate {
        if world.phase != Phase::Chaos {
            return Fate::Deliver;
        }
        let message = outgoing.digest;
        let draw = |salt: u64| keyed(self.messages ^ salt, message);
        let chance = |salt: u64, ratio: Ratio| draw(salt) % ratio.denominator < ratio.numerator;
        if chance(1, self.drop_ratio) {
            return Fate::Drop;
        }
        if outgoing.message.is_some() && chance(2, self.duplicate_ratio) {
            let jitter = draw(3) % (self.params.delay_jitter_us + 1);
            return Fate::Duplicate {
                second_delay_us: self.params.delay_us_min + jitter,
            };
        }
        // The long tail: past an election timeout, up to three of them.
        if outgoing.message.is_some() && chance(4, self.params.long_delay_ratio) {
            let shortest = u64::from(self.params.election_timeout_ticks_min) * self.params.tick_us;
            let longest = self.params.long_delay_us_max();
            return Fate::Delay {
                extra_delay_us: shortest + draw(5) % (longest - shortest + 1),
            };
        }
        Fate::Deliver
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
