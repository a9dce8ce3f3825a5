//! Events and the queue that orders them by (virtual time, sequence number).
//!
//! The sequence number breaks ties in insertion order, so two events at the same
//! microsecond always run in the same order: no dependence on heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use invariants::linearizability::{KvOp, KvResult};
use raft_core::{Message, NodeId};

/// A client request on its way to a node.
#[derive(Clone, Debug)]
pub struct Request {
    /// Issuing client.
    pub client: u64,
    /// The operation's sequence number (same on every retry).
    pub seq: u64,
    /// Which attempt of the operation this is.
    pub attempt: u32,
    /// The operation.
    pub op: KvOp,
}

/// A node's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The operation took effect with this result.
    Done(KvResult),
    /// The node does not lead; maybe it knows who does.
    NotLeader(Option<NodeId>),
}

/// Something that happens at an instant of virtual time.
#[derive(Clone, Debug)]
pub enum Event {
    /// A node's clock ticks (ignored if the node restarted since it was scheduled).
    Tick {
        /// The node.
        node: NodeId,
        /// Its incarnation when the tick was scheduled.
        incarnation: u64,
    },
    /// A Raft message arrives.
    Deliver(Message),
    /// A node's fsync completes.
    FsyncDone {
        /// The node.
        node: NodeId,
        /// Its incarnation when the fsync began.
        incarnation: u64,
    },
    /// A client request arrives at a node.
    ClientRequest {
        /// The node.
        node: NodeId,
        /// The request.
        request: Request,
    },
    /// A node's reply arrives at a client.
    ClientReply {
        /// The client.
        client: u64,
        /// Its operation's number.
        seq: u64,
        /// The attempt answered.
        attempt: u32,
        /// The answer.
        reply: Reply,
    },
    /// A client's attempt times out.
    ClientTimeout {
        /// The client.
        client: u64,
        /// Its operation's number.
        seq: u64,
        /// The attempt.
        attempt: u32,
    },
    /// A client starts its next operation.
    ClientWake {
        /// The client.
        client: u64,
    },
    /// A client retries its operation after attempt `attempt` was redirected.
    ClientRetry {
        /// The client.
        client: u64,
        /// Its operation's number.
        seq: u64,
        /// The attempt that was redirected.
        attempt: u32,
    },
    /// A crashed node restarts.
    Restart {
        /// The node.
        node: NodeId,
        /// Its incarnation when the restart was scheduled (ignored if the
        /// node restarted since).
        incarnation: u64,
    },
    /// The chaos phase ends; faults stop.
    HealStart,
    /// Check whether the healed cluster has converged.
    HealCheck,
}

impl Event {
    /// The node the event happens at, if it is one node's own (a paused
    /// node's events wait): its clock, its inbox (Raft messages and client
    /// requests alike), its disk.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Event::Tick { node, .. }
            | Event::FsyncDone { node, .. }
            | Event::ClientRequest { node, .. } => Some(*node),
            Event::Deliver(message) => Some(message.to),
            _ => None,
        }
    }

    /// A small stable code per kind, for the trace hash.
    pub fn code(&self) -> u64 {
        match self {
            Event::Tick { .. } => 1,
            Event::Deliver(_) => 2,
            Event::FsyncDone { .. } => 3,
            Event::ClientRequest { .. } => 4,
            Event::ClientReply { .. } => 5,
            Event::ClientTimeout { .. } => 6,
            Event::ClientWake { .. } => 7,
            Event::Restart { .. } => 9,
            Event::HealStart => 10,
            Event::HealCheck => 11,
            Event::ClientRetry { .. } => 12,
        }
    }
}

/// A heap entry: when, in what order, and where the event waits. The events
/// themselves stay put in `EventQueue::slots` (a message is large, and the
/// heap moves its entries on every push and pop).
#[derive(PartialEq, Eq)]
struct Scheduled {
    time_us: u64,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    // `seq` is unique, so `slot` never decides.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_us, other.seq).cmp(&(self.time_us, self.seq))
    }
}

/// The future events of a run.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    /// The pending events, by slot; `None` in a free slot.
    slots: Vec<Option<Event>>,
    /// Free slots, reused before the vector grows.
    free: Vec<u32>,
    next_seq: u64,
}

impl EventQueue {
    /// Schedules `event` at `time_us`.
    pub fn push(&mut self, time_us: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Scheduled { time_us, seq, slot });
    }

    /// The earliest event, with its time.
    pub fn pop(&mut self) -> Option<(u64, Event)> {
        let Scheduled { time_us, slot, .. } = self.heap.pop()?;
        let event = self.slots[slot as usize]
            .take()
            .expect("a scheduled slot holds its event");
        self.free.push(slot);
        Some((time_us, event))
    }

    /// When the earliest event happens, if any.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|scheduled| scheduled.time_us)
    }

    /// The earliest event, without taking it.
    pub fn peek(&self) -> Option<&Event> {
        let scheduled = self.heap.peek()?;
        self.slots[scheduled.slot as usize].as_ref()
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_insertion_order() {
        let mut queue = EventQueue::default();
        queue.push(5, Event::ClientWake { client: 0 });
        queue.push(3, Event::HealStart);
        queue.push(5, Event::HealCheck);
        assert_eq!(queue.peek_time(), Some(3));
        assert!(matches!(queue.peek(), Some(Event::HealStart)));
        let order: Vec<u64> = std::iter::from_fn(|| queue.pop())
            .map(|(t, e)| t * 100 + e.code())
            .collect();
        assert_eq!(order, vec![310, 507, 511]);
    }

    #[test]
    fn a_paused_nodes_inbox_holds_client_requests_too() {
        // A paused node must not answer a client: a zombie leader served
        // stale lease reads all through its pause before this held.
        let request = Request {
            client: 0,
            seq: 1,
            attempt: 0,
            op: invariants::linearizability::KvOp::Get { key: "k".into() },
        };
        let event = Event::ClientRequest { node: 2, request };
        assert_eq!(event.node(), Some(2));
        let tick = Event::Tick {
            node: 3,
            incarnation: 0,
        };
        assert_eq!(tick.node(), Some(3));
        assert_eq!(Event::ClientWake { client: 0 }.node(), None);
    }
}
