//! The driver that replays a recorded schedule, with the nemesis off.

use std::any::Any;
use std::collections::BTreeMap;

use raft_core::NodeId;

use super::{Driver, Fate, Fault, MessageId, Outgoing, Point, Scheduled};
use crate::world::World;

/// Replays a recorded schedule: every fault at the point where it struck,
/// nothing else. With the nemesis off and the same seed, the run is the
/// recorded one again (its trace hash proves it). With faults taken out of
/// the schedule the run goes another way, and the rest strike as near as
/// they can: a fault recorded at a point (a node leading, committing,
/// syncing) at time T strikes the first time that point comes at or after
/// T; a dropped or duplicated message is found by its name.
#[derive(Clone, Debug, Default)]
pub struct ScheduleDriver {
    /// The faults at timers, by time, in order.
    timers: BTreeMap<u64, Vec<Fault>>,
    /// The faults at other points: by point, then by the time from which
    /// they wait for it, in order.
    at_points: BTreeMap<Point, BTreeMap<u64, Vec<Fault>>>,
    /// The message fates, by message.
    messages: BTreeMap<MessageId, Fate>,
}

impl ScheduleDriver {
    /// A driver that replays `schedule`.
    pub fn new(schedule: &[Scheduled]) -> ScheduleDriver {
        let mut driver = ScheduleDriver::default();
        for entry in schedule {
            let fault = entry.fault.clone();
            // A message's fate is found by its name, wherever it was
            // recorded.
            if let Some((message, fate)) = entry.fault.message_fate() {
                driver.messages.insert(message, fate);
                continue;
            }
            match entry.point {
                Point::Timer => driver.timers.entry(entry.time_us).or_default().push(fault),
                point => driver
                    .at_points
                    .entry(point)
                    .or_default()
                    .entry(entry.time_us)
                    .or_default()
                    .push(fault),
            }
        }
        driver
    }

    /// Injects the faults waiting for `point` since now or earlier: the
    /// earliest time's first (one point strikes one recorded moment).
    fn replay_point(&mut self, world: &mut World, point: Point) {
        let Some(waiting) = self.at_points.get_mut(&point) else {
            return;
        };
        let Some(entry) = waiting.first_entry() else {
            return;
        };
        if *entry.key() > world.now_us() {
            return;
        }
        for fault in entry.remove() {
            world.inject(fault);
        }
    }
}

impl Driver for ScheduleDriver {
    fn next_timer_us(&self) -> Option<u64> {
        self.timers.keys().next().copied()
    }

    fn on_timer(&mut self, world: &mut World) {
        let Some((_, faults)) = self.timers.pop_first() else {
            return;
        };
        for fault in faults {
            world.inject(fault);
        }
    }

    fn on_new_leader(&mut self, world: &mut World, leader: NodeId) {
        self.replay_point(world, Point::NewLeader { node: leader });
    }

    fn on_leader_commit(&mut self, world: &mut World, leader: NodeId) {
        self.replay_point(world, Point::LeaderCommit { node: leader });
    }

    fn on_fsync(&mut self, world: &mut World, node: NodeId, _hard_state_written: bool) {
        self.replay_point(world, Point::Fsync { node });
    }

    fn on_point(&mut self, world: &mut World, point: Point, _peer: Option<NodeId>) {
        self.replay_point(world, point);
    }

    fn message_fate(&mut self, _world: &World, outgoing: Outgoing<'_>) -> Fate {
        self.messages.remove(&outgoing.id).unwrap_or(Fate::Deliver)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
