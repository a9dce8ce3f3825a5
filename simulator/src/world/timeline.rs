//! The timeline of a run, recorded as structured data while it runs, for
//! pages and traces a person looks at (`raftsim replay --html`,
//! `--perfetto`): what each node was (role, term, leader, vote, commit) and
//! from when, every message with its fate (delivered, duplicated, dropped,
//! cut, held, lost on arrival, delayed by a pause), the network's cuts,
//! crashes and pauses.
//!
//! Off by default ([`crate::world::WorldOptions::timeline`]): a fuzz run must
//! not pay for it. Recording only reads the world: it draws nothing from the
//! run's random streams and schedules nothing, so a run has the same trace
//! hash with it or without.
//!
//! Bounded: messages, status changes, commit changes, link changes and
//! pauses are each kept in a window of the last [`TimelineLimits`] items
//! (what led to the end of a run, and a run ends at its violation); what
//! fell out of a window is counted, and the counts of messages by kind and
//! fate, and the traffic histogram, always cover the whole run. A page says
//! what was not kept.

use std::collections::{BTreeMap, VecDeque};

use invariants::linearizability::KvOp;
use raft_core::{Message, NodeId, Role};

use crate::world::describe::{describe_body, describe_op, message_digest};
use crate::world::event::{Event, Reply};
use crate::world::network::{Delivery, Endpoint};
use crate::world::World;

/// How much of a run a timeline keeps (each a window of the last items).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineLimits {
    /// Messages kept, with their fates (the last ones sent).
    pub messages_max: usize,
    /// Changes of role, term, leader, vote, up or down kept (all nodes).
    pub status_changes_max: usize,
    /// Commit index changes kept (all nodes).
    pub commit_changes_max: usize,
    /// Changes of the network's cut links, and pauses and resumes, kept.
    pub fault_changes_max: usize,
}

impl Default for TimelineLimits {
    /// Sized for a page that stays usable: 20,000 messages are about 1.5 MB
    /// of page data and still draw at once; an 11-second run of 7 nodes
    /// (seed 664) sends 138,614.
    fn default() -> TimelineLimits {
        TimelineLimits {
            messages_max: 20_000,
            status_changes_max: 20_000,
            commit_changes_max: 20_000,
            fault_changes_max: 10_000,
        }
    }
}

/// The last items of a sequence, and how many earlier ones were let go.
#[derive(Clone, Debug)]
pub struct Window<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Window<T> {
    fn new(capacity: usize) -> Window<T> {
        Window {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
        debug_assert!(self.items.len() <= self.capacity);
    }

    /// The items kept, oldest first.
    pub fn items(&self) -> &VecDeque<T> {
        &self.items
    }

    /// How many items came before the first one kept.
    pub fn not_kept(&self) -> u64 {
        self.dropped
    }

    /// How many items a full window holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// What kind of message: the Raft kinds, then a client's request and a
/// node's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageKind {
    /// RequestVote.
    Vote,
    /// The answer to RequestVote.
    VoteResponse,
    /// AppendEntries with entries or a probe.
    Append,
    /// The answer to AppendEntries.
    AppendResponse,
    /// A leader's heartbeat.
    Heartbeat,
    /// The answer to a heartbeat.
    HeartbeatResponse,
    /// A client's request to a node.
    ClientRequest,
    /// A node's reply to a client.
    ClientReply,
}

impl MessageKind {
    /// Every kind, in the order of their indexes.
    pub const ALL: [MessageKind; 8] = [
        MessageKind::Vote,
        MessageKind::VoteResponse,
        MessageKind::Append,
        MessageKind::AppendResponse,
        MessageKind::Heartbeat,
        MessageKind::HeartbeatResponse,
        MessageKind::ClientRequest,
        MessageKind::ClientReply,
    ];

    /// The kind's name: raft-core's `kind_name`, `request` or `reply`.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Vote => "vote",
            MessageKind::VoteResponse => "vote-resp",
            MessageKind::Append => "app",
            MessageKind::AppendResponse => "app-resp",
            MessageKind::Heartbeat => "heartbeat",
            MessageKind::HeartbeatResponse => "heartbeat-resp",
            MessageKind::ClientRequest => "request",
            MessageKind::ClientReply => "reply",
        }
    }

    /// Its position in [`MessageKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    fn of(message: &Message) -> MessageKind {
        match message.body {
            raft_core::MessageBody::RequestVote { .. } => MessageKind::Vote,
            raft_core::MessageBody::RequestVoteResponse { .. } => MessageKind::VoteResponse,
            raft_core::MessageBody::AppendEntries { .. } => MessageKind::Append,
            raft_core::MessageBody::AppendEntriesResponse { .. } => MessageKind::AppendResponse,
            raft_core::MessageBody::Heartbeat { .. } => MessageKind::Heartbeat,
            raft_core::MessageBody::HeartbeatResponse { .. } => MessageKind::HeartbeatResponse,
            // The timeline has no kinds of its own yet for the messages of the
            // production features, which the simulator does not drive: each is
            // shown with the kind closest to it.
            raft_core::MessageBody::PreVote { .. } => MessageKind::Vote,
            raft_core::MessageBody::PreVoteResponse { .. } => MessageKind::VoteResponse,
            raft_core::MessageBody::ReadIndex { .. } => MessageKind::Heartbeat,
            raft_core::MessageBody::ReadIndexResponse { .. } => MessageKind::HeartbeatResponse,
            raft_core::MessageBody::TimeoutNow => MessageKind::Vote,
            raft_core::MessageBody::InstallSnapshot(_) => MessageKind::Append,
            raft_core::MessageBody::InstallSnapshotResponse { .. } => MessageKind::AppendResponse,
        }
    }
}

/// What became of a message as it left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFate {
    /// On its way, once.
    Sent,
    /// On its way twice (a driver duplicated it).
    Duplicated,
    /// Lost: a driver dropped it.
    Dropped,
    /// Lost: the link was cut when it left.
    Cut,
    /// Held by a scenario rule (a release sends it again, as a new message).
    Held,
}

impl SendFate {
    /// Every fate, in the order of their indexes.
    pub const ALL: [SendFate; 5] = [
        SendFate::Sent,
        SendFate::Duplicated,
        SendFate::Dropped,
        SendFate::Cut,
        SendFate::Held,
    ];

    /// The fate's name.
    pub fn name(self) -> &'static str {
        match self {
            SendFate::Sent => "once",
            SendFate::Duplicated => "duplicated",
            SendFate::Dropped => "dropped",
            SendFate::Cut => "cut",
            SendFate::Held => "held",
        }
    }

    fn of(delivery: Delivery) -> SendFate {
        match delivery {
            Delivery::Once(_) => SendFate::Sent,
            Delivery::Twice(..) => SendFate::Duplicated,
            Delivery::Dropped => SendFate::Dropped,
            Delivery::Cut => SendFate::Cut,
            Delivery::Held => SendFate::Held,
        }
    }
}

/// How one copy of a message on its way ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Still on its way when the run ended.
    InFlight,
    /// Handled by its receiver.
    Delivered,
    /// Lost on arrival: the link was cut while it flew.
    LostCut,
    /// Lost on arrival: its receiver was down.
    LostDown,
    /// It waited for its paused receiver, which crashed before resuming.
    LostPaused,
}

impl Arrival {
    /// Every arrival, in the order of their indexes.
    pub const ALL: [Arrival; 5] = [
        Arrival::InFlight,
        Arrival::Delivered,
        Arrival::LostCut,
        Arrival::LostDown,
        Arrival::LostPaused,
    ];

    /// The arrival's name.
    pub fn name(self) -> &'static str {
        match self {
            Arrival::InFlight => "in-flight",
            Arrival::Delivered => "delivered",
            Arrival::LostCut => "lost-cut",
            Arrival::LostDown => "lost-down",
            Arrival::LostPaused => "lost-paused",
        }
    }
}

/// One copy of a message on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRecord {
    /// When the network brings it.
    pub due_us: u64,
    /// When it was handled or lost (later than `due_us` if its receiver was
    /// paused); `due_us` while in flight.
    pub end_us: u64,
    /// Whether it waited for a paused receiver.
    pub waited_for_pause: bool,
    /// How it ended.
    pub arrival: Arrival,
}

/// One message: who sent it to whom, when, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// Its number in the run (every message sent counts, node or client).
    pub number: u64,
    /// The sender.
    pub from: Endpoint,
    /// The receiver.
    pub to: Endpoint,
    /// Its kind.
    pub kind: MessageKind,
    /// What it says, e.g. `t3 app(prev 5/t2, entries 6..6 t3, commit 5)`.
    pub label: String,
    /// When it left.
    pub sent_us: u64,
    /// What became of it as it left.
    pub fate: SendFate,
    /// The copies on their way: none if lost or held as it left, two if duplicated.
    pub copies: Vec<CopyRecord>,
}

/// How many messages met each fate (of one kind, or all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// Messages sent.
    pub sent: u64,
    /// By fate as they left, indexed as [`SendFate::ALL`].
    pub by_fate: [u64; 5],
    /// Copies put on their way, by how they ended, indexed as [`Arrival::ALL`]
    /// (in flight counted when the counts are read).
    pub by_arrival: [u64; 5],
    /// Copies that waited for a paused receiver (whatever became of them).
    pub waited_for_pause: u64,
}

impl MessageCounts {
    /// Messages that met `fate` as they left.
    pub fn fate(&self, fate: SendFate) -> u64 {
        self.by_fate[fate as usize]
    }

    /// Copies that ended as `arrival`.
    pub fn arrival(&self, arrival: Arrival) -> u64 {
        self.by_arrival[arrival as usize]
    }

    fn add(&mut self, other: &MessageCounts) {
        self.sent += other.sent;
        for (sum, count) in self.by_fate.iter_mut().zip(other.by_fate) {
            *sum += count;
        }
        for (sum, count) in self.by_arrival.iter_mut().zip(other.by_arrival) {
            *sum += count;
        }
        self.waited_for_pause += other.waited_for_pause;
    }
}

/// What a node is, as a timeline draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running.
    Up {
        /// Its role.
        role: Role,
        /// Its term.
        term: u64,
        /// The leader it believes in.
        leader: Option<NodeId>,
        /// Whom it voted for in `term`.
        vote: Option<NodeId>,
    },
    /// Crashed, for this reason.
    Down {
        /// Why, e.g. `n3 crashes before its fsync completes (...)`.
        cause: String,
    },
}

/// A node's state from a time on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// Virtual time.
    pub at_us: u64,
    /// The node.
    pub node: NodeId,
    /// What it is from then on.
    pub state: NodeState,
}

/// A node's commit index from a time on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitChange {
    /// Virtual time.
    pub at_us: u64,
    /// The node.
    pub node: NodeId,
    /// Its commit index from then on.
    pub commit: u64,
}

/// The network's cut links from a time on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkChange {
    /// Virtual time.
    pub at_us: u64,
    /// For a person, e.g. `partition n1 n2 | n3 n4 n5`, or `none`.
    pub description: String,
    /// The directions cut, `(from, to)`, in order.
    pub cuts: Vec<(NodeId, NodeId)>,
}

/// A node paused or resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PauseChange {
    /// Virtual time.
    pub at_us: u64,
    /// The node.
    pub node: NodeId,
    /// Paused from then on (else running again: resumed, or crashed while paused).
    pub paused: bool,
}

/// Messages sent and lost over the whole run, per stretch of time. The
/// stretch doubles (neighbours merged) whenever the run outgrows
/// [`TRAFFIC_BUCKETS_MAX`] of them, so a run of any length fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traffic {
    /// The length of a stretch.
    pub bucket_us: u64,
    /// Messages sent in each stretch.
    pub sent: Vec<u64>,
    /// Messages (or copies) lost in each stretch: dropped or cut as they
    /// left, lost as they arrived.
    pub lost: Vec<u64>,
}

/// The most stretches [`Traffic`] keeps.
pub const TRAFFIC_BUCKETS_MAX: usize = 1024;

impl Traffic {
    fn new() -> Traffic {
        Traffic {
            bucket_us: 1_000,
            sent: Vec::new(),
            lost: Vec::new(),
        }
    }

    fn count(&mut self, at_us: u64, lost: bool) {
        let mut index = (at_us / self.bucket_us) as usize;
        while index >= TRAFFIC_BUCKETS_MAX {
            self.bucket_us *= 2;
            self.sent = merge_pairs(&self.sent);
            self.lost = merge_pairs(&self.lost);
            index = (at_us / self.bucket_us) as usize;
        }
        if self.sent.len() <= index {
            self.sent.resize(index + 1, 0);
            self.lost.resize(index + 1, 0);
        }
        let counts = if lost { &mut self.lost } else { &mut self.sent };
        counts[index] += 1;
    }
}

fn merge_pairs(counts: &[u64]) -> Vec<u64> {
    counts.chunks(2).map(|pair| pair.iter().sum()).collect()
}

/// What identifies a copy on its way when it arrives: when it is due, and
/// the event it arrives as (a Raft message's ends, term and digest; a client
/// request's or reply's client, sequence and attempt).
type FlightKey = (u64, u8, u64, u64, u64);
/// A copy on its way: its message's number, which copy, its kind.
type Flight = (u64, usize, MessageKind);

/// The timeline of a run; see the module documentation.
#[derive(Clone, Debug)]
pub struct Timeline {
    messages: Window<MessageRecord>,
    // Invariant: counts[k] counts every message of kind MessageKind::ALL[k]
    // recorded, kept in the window or not.
    counts: [MessageCounts; 8],
    // Copies on their way, by what they arrive as; equal keys in send order.
    in_flight: BTreeMap<FlightKey, VecDeque<Flight>>,
    // Copies waiting for their paused receiver, per node (node i + 1), in the
    // order the world defers them, with their key less the time.
    deferred: Vec<VecDeque<(FlightKey, Flight)>>,
    statuses: Window<StatusChange>,
    // What was last recorded of each node (node i + 1): state and commit.
    last_state: Vec<Option<NodeState>>,
    last_commit: Vec<Option<u64>>,
    commits: Window<CommitChange>,
    links: Window<LinkChange>,
    pauses: Window<PauseChange>,
    traffic: Traffic,
}

impl Timeline {
    /// An empty timeline of `node_count` nodes, keeping what `limits` allow.
    pub fn new(limits: TimelineLimits, node_count: usize) -> Timeline {
        Timeline {
            messages: Window::new(limits.messages_max),
            counts: [MessageCounts::default(); 8],
            in_flight: BTreeMap::new(),
            deferred: vec![VecDeque::new(); node_count],
            statuses: Window::new(limits.status_changes_max),
            last_state: vec![None; node_count],
            last_commit: vec![None; node_count],
            commits: Window::new(limits.commit_changes_max),
            links: Window::new(limits.fault_changes_max),
            pauses: Window::new(limits.fault_changes_max),
            traffic: Traffic::new(),
        }
    }

    /// The messages kept, in the order they were sent.
    pub fn messages(&self) -> &Window<MessageRecord> {
        &self.messages
    }

    /// Counts of every message recorded, of one kind; copies still on their
    /// way are counted as in flight.
    pub fn counts(&self, kind: MessageKind) -> MessageCounts {
        let mut counts = self.counts[kind.index()];
        let waiting = self.in_flight.values().flatten();
        let deferred = self.deferred.iter().flatten().map(|(_, flight)| flight);
        let in_flight = waiting.chain(deferred).filter(|f| f.2 == kind).count();
        counts.by_arrival[Arrival::InFlight as usize] = in_flight as u64;
        counts
    }

    /// Counts of every message recorded, all kinds together.
    pub fn total_counts(&self) -> MessageCounts {
        let mut total = MessageCounts::default();
        for kind in MessageKind::ALL {
            total.add(&self.counts(kind));
        }
        total
    }

    /// Role, term, leader, vote, up and down changes kept, in time order.
    pub fn statuses(&self) -> &Window<StatusChange> {
        &self.statuses
    }

    /// Commit index changes kept, in time order.
    pub fn commits(&self) -> &Window<CommitChange> {
        &self.commits
    }

    /// Changes of the cut links kept, in time order.
    pub fn links(&self) -> &Window<LinkChange> {
        &self.links
    }

    /// Pauses and resumes kept, in time order.
    pub fn pauses(&self) -> &Window<PauseChange> {
        &self.pauses
    }

    /// Messages sent and lost over the whole run.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    fn record_sent(&mut self, record: MessageRecord, keys: &[FlightKey]) {
        let counts = &mut self.counts[record.kind.index()];
        counts.sent += 1;
        counts.by_fate[record.fate as usize] += 1;
        self.traffic.count(record.sent_us, false);
        if matches!(record.fate, SendFate::Dropped | SendFate::Cut) {
            self.traffic.count(record.sent_us, true);
        }
        assert_eq!(keys.len(), record.copies.len(), "one key per copy");
        for (copy, key) in keys.iter().enumerate() {
            let flight = (record.number, copy, record.kind);
            self.in_flight.entry(*key).or_default().push_back(flight);
        }
        self.messages.push(record);
    }

    /// The copy that arrives now as `key`, taken off its way; `None` for a
    /// message sent before recording began.
    fn take_flight(&mut self, key: FlightKey) -> Option<Flight> {
        let queue = self.in_flight.get_mut(&key)?;
        let flight = queue.pop_front();
        if queue.is_empty() {
            self.in_flight.remove(&key);
        }
        flight
    }

    /// Records how copy `flight` ended, at `at_us`.
    fn end_copy(&mut self, flight: Flight, at_us: u64, arrival: Arrival) {
        let (number, copy, kind) = flight;
        self.counts[kind.index()].by_arrival[arrival as usize] += 1;
        if arrival != Arrival::Delivered {
            self.traffic.count(at_us, true);
        }
        if let Some(record) = self.kept_mut(number) {
            let copy = &mut record.copies[copy];
            copy.end_us = at_us;
            copy.arrival = arrival;
        }
    }

    /// Message `number`, if the window still holds it.
    fn kept_mut(&mut self, number: u64) -> Option<&mut MessageRecord> {
        let items = &mut self.messages.items;
        let index = items.binary_search_by_key(&number, |m| m.number).ok()?;
        Some(&mut items[index])
    }

    /// Copy `flight` waits for its paused receiver `node`.
    fn defer(&mut self, node: NodeId, key: FlightKey, flight: Flight) {
        self.counts[flight.2.index()].waited_for_pause += 1;
        if let Some(record) = self.kept_mut(flight.0) {
            record.copies[flight.1].waited_for_pause = true;
        }
        self.deferred[node as usize - 1].push_back((key, flight));
    }

    /// Records `node`'s state at `at_us` if it changed.
    fn state(&mut self, node: NodeId, at_us: u64, state: NodeState, commit: Option<u64>) {
        let slot = node as usize - 1;
        if self.last_state[slot].as_ref() != Some(&state) {
            self.last_state[slot] = Some(state.clone());
            self.statuses.push(StatusChange { at_us, node, state });
        }
        if let Some(commit) = commit.filter(|c| self.last_commit[slot] != Some(*c)) {
            self.last_commit[slot] = Some(commit);
            self.commits.push(CommitChange {
                at_us,
                node,
                commit,
            });
        }
    }
}

/// What a message is, as the code that sends it knows it.
pub(crate) enum Sent<'a> {
    /// A Raft message.
    Raft(&'a Message),
    /// A client's attempt at an operation.
    Request {
        client: u64,
        seq: u64,
        attempt: u32,
        op: &'a KvOp,
    },
    /// A node's reply to an attempt.
    Reply {
        client: u64,
        seq: u64,
        attempt: u32,
        reply: &'a Reply,
    },
}

impl Sent<'_> {
    /// The key of its copy due at `due_us`.
    fn key(&self, due_us: u64) -> FlightKey {
        match self {
            Sent::Raft(m) => (
                due_us,
                0,
                m.from << 32 | m.to,
                m.term,
                message_digest(&m.body),
            ),
            Sent::Request {
                client,
                seq,
                attempt,
                ..
            } => (due_us, 1, *client, *seq, u64::from(*attempt)),
            Sent::Reply {
                client,
                seq,
                attempt,
                ..
            } => (due_us, 2, *client, *seq, u64::from(*attempt)),
        }
    }

    fn kind(&self) -> MessageKind {
        match self {
            Sent::Raft(message) => MessageKind::of(message),
            Sent::Request { .. } => MessageKind::ClientRequest,
            Sent::Reply { .. } => MessageKind::ClientReply,
        }
    }

    fn label(&self) -> String {
        match self {
            Sent::Raft(m) => format!("t{} {}", m.term, describe_body(&m.body)),
            Sent::Request {
                seq, attempt, op, ..
            } => format!("{} (seq {seq}, attempt {attempt})", describe_op(op)),
            Sent::Reply { seq, reply, .. } => match reply {
                Reply::Done(result) => format!(
                    "seq {seq}: {}",
                    crate::world::describe::describe_result(result)
                ),
                Reply::NotLeader(hint) => format!(
                    "seq {seq}: not leader (leader {})",
                    crate::world::describe::describe_node(*hint)
                ),
            },
        }
    }
}

/// The hooks the world calls; each does nothing unless a timeline is kept.
impl World {
    /// The run's timeline, if one is kept.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_deref()
    }

    /// Starts recording the timeline now, if it is not recorded yet (a
    /// scenario's world is built before its runner knows a page is
    /// wanted): each running node's state is its first change. Messages
    /// already on their way are not counted: start before any is sent.
    pub fn record_timeline(&mut self, limits: TimelineLimits) {
        if self.timeline.is_some() {
            return;
        }
        self.timeline = Some(Box::new(Timeline::new(limits, self.hosts.len())));
        for id in 1..=self.hosts.len() as NodeId {
            self.timeline_status(id);
        }
    }

    /// A message just left as `number` (from `transmit`), with `delivery`.
    pub(crate) fn timeline_sent(
        &mut self,
        number: u64,
        (from, to): (Endpoint, Endpoint),
        sent: Sent<'_>,
        delivery: Delivery,
    ) {
        let now = self.now_us;
        let Some(timeline) = self.timeline.as_mut() else {
            return;
        };
        let delays: &[u64] = match &delivery {
            Delivery::Once(delay) => &[*delay],
            Delivery::Twice(first, second) => &[*first, *second],
            Delivery::Cut | Delivery::Dropped | Delivery::Held => &[],
        };
        let copies: Vec<CopyRecord> = delays
            .iter()
            .map(|delay| CopyRecord {
                due_us: now + delay,
                end_us: now + delay,
                waited_for_pause: false,
                arrival: Arrival::InFlight,
            })
            .collect();
        let keys: Vec<FlightKey> = copies.iter().map(|c| sent.key(c.due_us)).collect();
        let record = MessageRecord {
            number,
            from,
            to,
            kind: sent.kind(),
            label: sent.label(),
            sent_us: now,
            fate: SendFate::of(delivery),
            copies,
        };
        timeline.record_sent(record, &keys);
    }

    /// `event` is about to be dispatched: a message copy that arrives with
    /// it ends here, as the code that handles it will decide (the same
    /// checks, in the same order), or waits for its paused receiver.
    pub(crate) fn timeline_arrival(&mut self, event: &Event) {
        let now = self.now_us;
        let (key, receiver, cut) = match event {
            Event::Deliver(m) => {
                let key = Sent::Raft(m).key(now);
                (key, Some(m.to), self.network.is_cut(m.from, m.to))
            }
            Event::ClientRequest { node, request } => {
                let key = (now, 1, request.client, request.seq, request.attempt.into());
                (key, Some(*node), false)
            }
            Event::ClientReply {
                client,
                seq,
                attempt,
                ..
            } => ((now, 2, *client, *seq, u64::from(*attempt)), None, false),
            _ => return,
        };
        let paused = receiver.is_some_and(|id| self.is_paused(id) && event.node().is_some());
        let down = receiver.is_some_and(|id| !self.hosts[id as usize - 1].is_up());
        let Some(timeline) = self.timeline.as_mut() else {
            return;
        };
        let Some(flight) = timeline.take_flight(key) else {
            return;
        };
        match receiver {
            Some(id) if paused => timeline.defer(id, key, flight),
            _ if cut => timeline.end_copy(flight, now, Arrival::LostCut),
            _ if down => timeline.end_copy(flight, now, Arrival::LostDown),
            _ => timeline.end_copy(flight, now, Arrival::Delivered),
        }
    }

    /// Node `id` was paused (or resumed, or crashed while paused): the
    /// copies that waited for it are due now (or lost with the crash).
    pub(crate) fn timeline_pause(&mut self, id: NodeId, paused: bool, crashed: bool) {
        let now = self.now_us;
        let was_paused = self.is_paused(id);
        let Some(timeline) = self.timeline.as_mut() else {
            return;
        };
        if paused == was_paused && !crashed {
            return;
        }
        for (key, flight) in std::mem::take(&mut timeline.deferred[id as usize - 1]) {
            if crashed {
                timeline.end_copy(flight, now, Arrival::LostPaused);
            } else {
                // The world puts what waited back in the queue, due now.
                let key = (now, key.1, key.2, key.3, key.4);
                timeline.in_flight.entry(key).or_default().push_back(flight);
            }
        }
        if was_paused || paused {
            let change = PauseChange {
                at_us: now,
                node: id,
                paused,
            };
            timeline.pauses.push(change);
        }
    }

    /// Node `id` may have changed (role, term, leader, vote, commit), or
    /// just started.
    pub(crate) fn timeline_status(&mut self, id: NodeId) {
        let now = self.now_us;
        let Some(timeline) = self.timeline.as_mut() else {
            return;
        };
        let Some(status) = self.hosts[id as usize - 1].status() else {
            return;
        };
        let state = NodeState::Up {
            role: status.role,
            term: status.term,
            leader: status.leader,
            vote: status.vote,
        };
        timeline.state(id, now, state, Some(status.commit));
    }

    /// Node `id` crashed; `cause` says how (asked only when a timeline is kept).
    pub(crate) fn timeline_down(&mut self, id: NodeId, cause: impl FnOnce() -> String) {
        let now = self.now_us;
        if let Some(timeline) = self.timeline.as_mut() {
            let state = NodeState::Down { cause: cause() };
            timeline.state(id, now, state, None);
        }
    }

    /// The network and clocks for a person: the cuts (`partition n1 | n2
    /// n3`), then any clogged link (`clog n1->n2 +200ms`) and clock past
    /// the drift bound (`n3 clock +300 ppt`); `none` when all is well.
    fn describe_network(&self) -> String {
        let n = self.params.node_capacity();
        let mut parts = Vec::new();
        let cuts = self.network.describe_partition();
        if cuts != "none" {
            parts.push(cuts);
        }
        for from in 1..=n {
            for to in (1..=n).filter(|&to| to != from) {
                let clog_us = self.network.clog_us(from, to);
                if clog_us > 0 {
                    let delay = crate::world::format_time(clog_us);
                    parts.push(format!("clog n{from}->n{to} +{delay}"));
                }
            }
        }
        for host in &self.hosts {
            if let Some(ppt) = host.skew_ppt {
                parts.push(format!("n{} clock {ppt:+} ppt", host.id()));
            }
        }
        match parts.is_empty() {
            true => "none".to_string(),
            false => parts.join("; "),
        }
    }

    /// The network's links just changed.
    pub(crate) fn timeline_links(&mut self) {
        if self.timeline.is_none() {
            return;
        }
        let n = self.params.node_capacity();
        let cuts: Vec<(NodeId, NodeId)> = (1..=n)
            .flat_map(|from| (1..=n).map(move |to| (from, to)))
            .filter(|&(from, to)| from != to && self.network.is_cut(from, to))
            .collect();
        let change = LinkChange {
            at_us: self.now_us,
            description: self.describe_network(),
            cuts,
        };
        if let Some(timeline) = self.timeline.as_mut() {
            let unchanged = timeline
                .links
                .items()
                .back()
                .is_some_and(|l| l.cuts == change.cuts && l.description == change.description);
            if !unchanged {
                timeline.links.push(change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_last_items_and_counts_the_rest() {
        let mut window = Window::new(3);
        for i in 0..10 {
            window.push(i);
        }
        assert_eq!(
            window.items().iter().copied().collect::<Vec<_>>(),
            [7, 8, 9]
        );
        assert_eq!(window.not_kept(), 7);
    }

    #[test]
    fn traffic_merges_neighbours_when_the_run_outgrows_its_buckets() {
        let mut traffic = Traffic::new();
        traffic.count(0, false);
        traffic.count(999, true);
        traffic.count(1_000, false);
        assert_eq!(
            (traffic.sent.clone(), traffic.lost.clone()),
            (vec![1, 1], vec![1, 0])
        );
        // Past 1024 buckets of 1 ms: buckets of 2 ms, then 4 ms, ...
        traffic.count(3_000_000, false);
        assert!(traffic.sent.len() <= TRAFFIC_BUCKETS_MAX);
        assert_eq!(traffic.bucket_us, 4_000);
        assert_eq!(traffic.sent[0], 2, "0 and 1000 share the first 4 ms");
        assert_eq!(traffic.sent.iter().sum::<u64>(), 3);
        assert_eq!(traffic.lost.iter().sum::<u64>(), 1);
    }
}
