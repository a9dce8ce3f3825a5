//! Who decides a run's faults: the world's one interface to its drivers.
//!
//! The world (clock, queue, network, disks, hosts, clients) has one event
//! loop and knows nothing of who injects its faults. A [`Driver`] is asked at
//! the points where a fault may strike (a timer it set, a message about to
//! leave, an fsync completing, a new leader, a leader's commit) and acts only
//! through [`World::inject`]. Three drivers exist: the nemesis draws faults
//! from the seed (fuzz, run, replay), a [`ScheduleDriver`] replays a recorded
//! schedule with the nemesis off, and a scenario script acts between events.
//!
//! Every fault injected is recorded with the time and the point where it
//! struck: a run's schedule is data, and `seed + schedule` reproduces it.

pub mod buggify;
pub mod nemesis;
pub mod operator;
pub mod schedule;
pub mod script;

pub use schedule::ScheduleDriver;

use std::any::Any;
use std::fmt;

use raft_core::{Message, MessageBody, NodeId};
use serde::{Deserialize, Serialize};

use crate::world::kv::mix_into;
use crate::world::network::Endpoint;
use crate::world::World;

/// A fault: what a driver does to the world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// The nodes split into groups that cannot talk; nodes in no group form
    /// one more group. Every other link works.
    Partition {
        /// The groups, each a list of node ids.
        groups: Vec<Vec<NodeId>>,
    },
    /// The direction `from -> to` stops carrying messages.
    Cut {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
    },
    /// The direction `from -> to` carries messages again.
    Restore {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
    },
    /// Every link works again.
    Heal,
    /// The node crashes: its volatile state is gone, its disk keeps what
    /// `disk` says; it restarts after `restart_after_us` if given. On a node
    /// already down, only a lost disk means anything (it is wiped).
    Crash {
        /// The node.
        node: NodeId,
        /// What its disk keeps.
        disk: DiskFate,
        /// When it comes back, counted from the crash.
        restart_after_us: Option<u64>,
    },
    /// A crashed node restarts from its disk.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// The fsync completing now on `node` is struck by a crash: `before`
    /// it completes (a prefix of its writes may survive), or just after
    /// (the messages waiting for it left).
    FsyncCrash {
        /// The node.
        node: NodeId,
        /// Before the fsync completes, or just after.
        before: bool,
        /// When it comes back, counted from the crash.
        restart_after_us: u64,
    },
    /// The node stops: its clock, its inbox and its disk wait until it
    /// resumes (a long GC pause, a stopped VM).
    Pause {
        /// The node.
        node: NodeId,
    },
    /// A paused node goes on: what waited for it happens now, in order,
    /// after the ticks its clock counted meanwhile.
    Resume {
        /// The node.
        node: NodeId,
    },
    /// The direction `from -> to` still carries messages, each
    /// `extra_delay_us` late (a latency spike, a full queue).
    Clog {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
        /// The delay added to every message.
        extra_delay_us: u64,
    },
    /// The direction `from -> to` holds every message sent on it for
    /// `for_us` from now, then lets them all go at once: a stalled queue
    /// that drains in a burst (each then takes its usual delay).
    Stall {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
        /// How long it holds what is sent on it.
        for_us: u64,
    },
    /// The direction `from -> to` is no longer clogged.
    Unclog {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
    },
    /// The node's clock runs at `ppt` parts per thousand off true time
    /// (positive: its ticks come late), whatever the drift bound says.
    Skew {
        /// The node.
        node: NodeId,
        /// Its clock's rate, off true time, in parts per thousand.
        ppt: i64,
    },
    /// The node's clock is back within the drift bound.
    Unskew {
        /// The node.
        node: NodeId,
    },
    /// An operator asks leader `from` to hand its leadership to `to` (no
    /// effect unless `from` runs and leads).
    Transfer {
        /// The leader.
        from: NodeId,
        /// The node that should lead next.
        to: NodeId,
    },
    /// A spare id boots as a new node with an empty disk, waiting to be
    /// added to the configuration (it never campaigns until it is a voter).
    Join {
        /// The new node.
        node: NodeId,
    },
    /// `node` loses its disk for good (a dead drive): it crashes, its
    /// identity is retired (it never runs again), and the spare id `by`
    /// boots empty to replace it through membership changes.
    Replace {
        /// The node whose disk is gone.
        node: NodeId,
        /// The spare id of its replacement.
        by: NodeId,
    },
    /// The operator asks node `at` (the leader, when the operator chose
    /// it) to change the configuration; refused, as raft-core says why, if
    /// `at` does not lead or a change is pending. A change of at most one
    /// voter is simple; more enter a joint configuration, which the leader
    /// leaves by itself.
    ConfChange {
        /// The node asked.
        at: NodeId,
        /// The changes, each on a different node.
        changes: Vec<MemberChange>,
    },
    /// `node` snapshots its state machine at its applied index and drops
    /// the log entries the snapshot covers.
    Compact {
        /// The node.
        node: NodeId,
    },
    /// The message is lost.
    Drop {
        /// Which message.
        message: MessageId,
    },
    /// The message arrives a second time, `second_delay_us` after it was sent.
    Duplicate {
        /// Which message.
        message: MessageId,
        /// The second copy's delay.
        second_delay_us: u64,
    },
    /// The message arrives `extra_delay_us` later than the network's delay
    /// (the long tail: past an election timeout, from an earlier term).
    Delay {
        /// Which message.
        message: MessageId,
        /// The delay added.
        extra_delay_us: u64,
    },
}

/// One change to one node, as the operator asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberChange {
    /// The node becomes a voter (a new node, or a learner promoted).
    AddVoter(NodeId),
    /// The node becomes a learner (a new node, or a voter demoted).
    AddLearner(NodeId),
    /// The node leaves the configuration.
    Remove(NodeId),
}

impl MemberChange {
    /// The node it is about.
    pub fn node(self) -> NodeId {
        match self {
            MemberChange::AddVoter(node)
            | MemberChange::AddLearner(node)
            | MemberChange::Remove(node) => node,
        }
    }

    /// The word a scenario file uses for it.
    pub fn verb(self) -> &'static str {
        match self {
            MemberChange::AddVoter(_) => "add-voter",
            MemberChange::AddLearner(_) => "add-learner",
            MemberChange::Remove(_) => "remove",
        }
    }

    /// raft-core's form of it.
    pub fn to_raft(self) -> raft_core::ConfChangeSingle {
        use raft_core::ConfChangeKind;
        let (kind, node) = match self {
            MemberChange::AddVoter(node) => (ConfChangeKind::AddVoter, node),
            MemberChange::AddLearner(node) => (ConfChangeKind::AddLearner, node),
            MemberChange::Remove(node) => (ConfChangeKind::RemoveNode, node),
        };
        raft_core::ConfChangeSingle { kind, node }
    }
}

/// A message of a run, named by its link, what it is about, and its place
/// among the messages of that link about the same thing: the `nth` (from 0)
/// `n1->n2 app term=3 index=5`. Named by content, a message keeps its name
/// when a fault elsewhere changes how many other messages the run sends,
/// which is what lets a shrunk run keep its faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId {
    /// The sender.
    pub from: Endpoint,
    /// The receiver.
    pub to: Endpoint,
    /// What it is about.
    pub about: About,
    /// Its place among the messages of this link about the same thing.
    pub nth: u64,
}

/// What a message is about, as its name says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum About {
    /// A Raft message: its kind, the sender's term, and the index it is
    /// about (see [`raft_index`]).
    Raft {
        /// Its kind, an index into [`RAFT_KINDS`].
        kind: u8,
        /// The sender's term.
        term: u64,
        /// The index it is about.
        index: u64,
    },
    /// A client's request: its operation's number and the attempt.
    Request {
        /// The operation's number (the client's sequence number).
        op: u64,
        /// The attempt, from 0.
        attempt: u32,
    },
    /// A node's reply to a client's request.
    Reply {
        /// The operation's number.
        op: u64,
        /// The attempt it answers.
        attempt: u32,
    },
}

/// The names of the Raft message kinds, as [`MessageBody::kind_name`] gives
/// them: what scenario rules and message names say; [`About::Raft`] holds
/// an index into it.
pub const RAFT_KINDS: [&str; 13] = [
    "vote",
    "vote-resp",
    "app",
    "app-resp",
    "heartbeat",
    "heartbeat-resp",
    "pre-vote",
    "pre-vote-resp",
    "read-index",
    "read-index-resp",
    "timeout-now",
    "install-snapshot",
    "install-snapshot-resp",
];

/// The index a Raft message is about: a vote request's last log index, a
/// vote's 1 if granted, an append's previous log index, an append
/// response's index, a heartbeat's commit index; 0 for a heartbeat response.
pub fn raft_index(body: &MessageBody) -> u64 {
    match body {
        MessageBody::RequestVote { last_log_index, .. } => *last_log_index,
        MessageBody::RequestVoteResponse { granted } => u64::from(*granted),
        MessageBody::AppendEntries { prev_log_index, .. } => *prev_log_index,
        MessageBody::AppendEntriesResponse { index, .. } => *index,
        MessageBody::Heartbeat { commit, .. } => *commit,
        MessageBody::HeartbeatResponse { .. } => 0,
        MessageBody::PreVote { last_log_index, .. } => *last_log_index,
        MessageBody::PreVoteResponse { granted } => u64::from(*granted),
        MessageBody::ReadIndex { context } => *context,
        MessageBody::ReadIndexResponse { index, .. } => *index,
        MessageBody::TimeoutNow => 0,
        MessageBody::InstallSnapshot(chunk) => chunk.meta.index,
        MessageBody::InstallSnapshotResponse { index, .. } => *index,
    }
}

impl About {
    /// What `message` is about.
    pub fn of_raft(message: &Message) -> About {
        // Indexes into RAFT_KINDS, in its order (a test checks the names).
        let kind = match message.body {
            MessageBody::RequestVote { .. } => 0,
            MessageBody::RequestVoteResponse { .. } => 1,
            MessageBody::AppendEntries { .. } => 2,
            MessageBody::AppendEntriesResponse { .. } => 3,
            MessageBody::Heartbeat { .. } => 4,
            MessageBody::HeartbeatResponse { .. } => 5,
            MessageBody::PreVote { .. } => 6,
            MessageBody::PreVoteResponse { .. } => 7,
            MessageBody::ReadIndex { .. } => 8,
            MessageBody::ReadIndexResponse { .. } => 9,
            MessageBody::TimeoutNow => 10,
            MessageBody::InstallSnapshot(_) => 11,
            MessageBody::InstallSnapshotResponse { .. } => 12,
        };
        About::Raft {
            kind,
            term: message.term,
            index: raft_index(&message.body),
        }
    }

    fn digest(&self) -> [u64; 3] {
        match *self {
            About::Raft { kind, term, index } => [u64::from(kind), term, index],
            About::Request { op, attempt } => [1 << 8, op, u64::from(attempt)],
            About::Reply { op, attempt } => [2 << 8, op, u64::from(attempt)],
        }
    }
}

impl fmt::Display for About {
    /// `app term=3 index=5`, `request op=4 attempt=1`, `reply op=4 attempt=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            About::Raft { kind, term, index } => {
                let name = RAFT_KINDS.get(usize::from(kind)).unwrap_or(&"?");
                write!(f, "{name} term={term} index={index}")
            }
            About::Request { op, attempt } => write!(f, "request op={op} attempt={attempt}"),
            About::Reply { op, attempt } => write!(f, "reply op={op} attempt={attempt}"),
        }
    }
}

impl fmt::Display for MessageId {
    /// `n1->n2 app term=3 index=5 nth=0`, `c0->n3 request op=4 attempt=1 nth=0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}->{} {} nth={}",
            self.from, self.to, self.about, self.nth
        )
    }
}

impl MessageId {
    /// A digest, for keyed randomness and the trace hash.
    pub fn digest(&self) -> u64 {
        mix_into(MessageId::stream(self.from, self.to, &self.about), self.nth)
    }

    /// A digest of the link and what the message is about: the stream of
    /// messages `nth` counts in.
    pub fn stream(from: Endpoint, to: Endpoint, about: &About) -> u64 {
        let code = |endpoint: Endpoint| match endpoint {
            Endpoint::Node(id) => id,
            Endpoint::Client(id) => 1 << 32 | id,
        };
        // A polynomial combination and one mix: this runs for every message
        // sent, and two streams that collide only share their draws.
        const ODD: u64 = 0x9e37_79b9_7f4a_7c15;
        let [a, b, c] = about.digest();
        let combined = [code(from), code(to), a, b, c]
            .into_iter()
            .fold(0x6d65_7373_u64, |hash, word| hash.wrapping_mul(ODD) ^ word);
        mix_into(combined, 0)
    }
}

/// What a crashed node's disk keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskFate {
    /// Every write issued survives (the process died; the OS wrote its
    /// buffers).
    Kept,
    /// Only what an fsync made durable survives (a power loss).
    Synced,
    /// What an fsync made durable and a prefix of the writes after it,
    /// drawn from the run's disk stream (a crash at any instant).
    Prefix,
    /// Nothing survives (the disk is lost).
    Lost,
}

impl Fault {
    /// The message a message fault strikes and what it does to it (`None`
    /// for the faults injected at a point).
    pub fn message_fate(&self) -> Option<(MessageId, Fate)> {
        match *self {
            Fault::Drop { message } => Some((message, Fate::Drop)),
            Fault::Duplicate {
                message,
                second_delay_us,
            } => Some((message, Fate::Duplicate { second_delay_us })),
            Fault::Delay {
                message,
                extra_delay_us,
            } => Some((message, Fate::Delay { extra_delay_us })),
            _ => None,
        }
    }

    /// A digest for the trace hash: a run's hash covers its faults.
    pub fn digest(&self) -> u64 {
        let words: [u64; 4] = match self {
            Fault::Partition { groups } => {
                let mut hash = 1;
                for group in groups {
                    hash = mix_into(hash, u64::MAX);
                    for &node in group {
                        hash = mix_into(hash, node);
                    }
                }
                [1, hash, 0, 0]
            }
            Fault::Cut { from, to } => [2, *from, *to, 0],
            Fault::Heal => [3, 0, 0, 0],
            Fault::Crash {
                node,
                disk,
                restart_after_us,
            } => [
                4,
                *node,
                *disk as u64,
                restart_after_us.map_or(u64::MAX, |us| us),
            ],
            Fault::Pause { node } => [9, *node, 0, 0],
            Fault::Restore { from, to } => [11, *from, *to, 0],
            Fault::Resume { node } => [10, *node, 0, 0],
            Fault::Clog {
                from,
                to,
                extra_delay_us,
            } => [12, *from, *to, *extra_delay_us],
            Fault::Unclog { from, to } => [13, *from, *to, 0],
            Fault::Stall { from, to, for_us } => [22, *from, *to, *for_us],
            Fault::Skew { node, ppt } => [14, *node, *ppt as u64, 0],
            Fault::Unskew { node } => [15, *node, 0, 0],
            Fault::Transfer { from, to } => [16, *from, *to, 0],
            Fault::Join { node } => [17, *node, 0, 0],
            Fault::Replace { node, by } => [18, *node, *by, 0],
            Fault::ConfChange { at, changes } => {
                let hash = changes.iter().fold(19, |hash, change| {
                    let kind = match change {
                        MemberChange::AddVoter(_) => 1,
                        MemberChange::AddLearner(_) => 2,
                        MemberChange::Remove(_) => 3,
                    };
                    mix_into(mix_into(hash, kind), change.node())
                });
                [19, *at, hash, changes.len() as u64]
            }
            Fault::Compact { node } => [20, *node, 0, 0],
            Fault::Restart { node } => [5, *node, 0, 0],
            Fault::FsyncCrash {
                node,
                before,
                restart_after_us,
            } => [6, *node, u64::from(*before), *restart_after_us],
            Fault::Drop { message } => [7, message.digest(), 0, 0],
            Fault::Duplicate {
                message,
                second_delay_us,
            } => [8, message.digest(), *second_delay_us, 0],
            Fault::Delay {
                message,
                extra_delay_us,
            } => [21, message.digest(), *extra_delay_us, 0],
        };
        words.into_iter().fold(0xfa17, mix_into)
    }
}

/// Where in a run a fault struck: what a replay matches it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "kebab-case")]
pub enum Point {
    /// A timer of the driver.
    Timer,
    /// Right after `node` became leader.
    NewLeader {
        /// The new leader.
        node: NodeId,
    },
    /// Right after leader `node` saw its commit index advance.
    LeaderCommit {
        /// The leader.
        node: NodeId,
    },
    /// An fsync of `node` completing.
    Fsync {
        /// The node.
        node: NodeId,
    },
    /// A message leaving.
    Send {
        /// Which message.
        message: MessageId,
    },
    /// Right after `node` granted a vote (its answer left).
    VoteGranted {
        /// The voter.
        node: NodeId,
        /// How many times this point came before at the same instant
        /// (events of one instant can reach it several times).
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// Right after leader `node` counted a follower's acknowledgement.
    AckCounted {
        /// The leader.
        node: NodeId,
        /// As for [`Point::VoteGranted`].
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
    /// Right after `node` snapshotted its state and compacted its log.
    SnapshotTaken {
        /// The node.
        node: NodeId,
        /// As for [`Point::VoteGranted`].
        #[serde(default, skip_serializing_if = "is_zero")]
        nth: u32,
    },
}

impl Point {
    /// The node a protocol point belongs to (`None` for a timer or a message).
    pub fn node(self) -> Option<NodeId> {
        match self {
            Point::NewLeader { node }
            | Point::LeaderCommit { node }
            | Point::Fsync { node }
            | Point::VoteGranted { node, .. }
            | Point::AckCounted { node, .. }
            | Point::SnapshotTaken { node, .. } => Some(node),
            Point::Timer | Point::Send { .. } => None,
        }
    }

    /// This point as its `nth` occurrence at one instant (points with no
    /// count stay as they are).
    pub fn with_nth(self, count: u32) -> Point {
        match self {
            Point::VoteGranted { node, .. } => Point::VoteGranted { node, nth: count },
            Point::AckCounted { node, .. } => Point::AckCounted { node, nth: count },
            Point::SnapshotTaken { node, .. } => Point::SnapshotTaken { node, nth: count },
            other => other,
        }
    }
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// One fault of a schedule: when, where, what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    /// Virtual time.
    pub time_us: u64,
    /// The point of the run where it struck.
    #[serde(flatten)]
    pub point: Point,
    /// What it did.
    #[serde(flatten)]
    pub fault: Fault,
}

/// A message about to leave, as a driver sees it.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// Its name: its link and its place on the link.
    pub id: MessageId,
    /// `id.digest()`, computed once.
    pub digest: u64,
    /// The Raft message, if it is one (client requests and replies are not).
    pub message: Option<&'a Message>,
}

/// What happens to a message about to leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It arrives after the network's delay.
    Deliver,
    /// It is lost.
    Drop,
    /// It arrives, and a copy arrives `second_delay_us` after it was sent.
    Duplicate {
        /// The copy's delay.
        second_delay_us: u64,
    },
    /// It arrives `extra_delay_us` later than the network's delay.
    Delay {
        /// The delay added.
        extra_delay_us: u64,
    },
    /// The driver keeps it (a scenario holds it until released).
    Hold,
    /// It arrives, and the driver keeps a copy (a scenario's delayed
    /// duplicate, released when the script says).
    DeliverAndHold,
}

/// Decides the faults of a run; see the module documentation.
///
/// Every method has a default that injects nothing: a driver overrides the
/// points it acts at.
pub trait Driver: Any {
    /// When the driver wants to act next (its [`Driver::on_timer`]), if ever.
    /// At equal times the driver goes before the world's events. The world
    /// asks again only after [`Driver::on_timer`] and the other points where
    /// the driver may act (not after [`Driver::message_fate`]): the answer
    /// may change only there.
    fn next_timer_us(&self) -> Option<u64> {
        None
    }

    /// The time [`Driver::next_timer_us`] named has come.
    fn on_timer(&mut self, world: &mut World) {
        let _ = world;
    }

    /// Node `leader` just became leader.
    fn on_new_leader(&mut self, world: &mut World, leader: NodeId) {
        let _ = (world, leader);
    }

    /// Leader `leader` just saw its commit index advance.
    fn on_leader_commit(&mut self, world: &mut World, leader: NodeId) {
        let _ = (world, leader);
    }

    /// An fsync of `node` completes now (`hard_state_written`: it makes a new
    /// term, vote or commit durable). The driver may crash the node around it
    /// with [`Fault::FsyncCrash`].
    fn on_fsync(&mut self, world: &mut World, node: NodeId, hard_state_written: bool) {
        let _ = (world, node, hard_state_written);
    }

    /// A protocol point where a fault may strike right after (FoundationDB's
    /// BUGGIFY; see [`buggify`]): [`Point::VoteGranted`] (`peer`: the
    /// candidate), [`Point::AckCounted`] (`peer`: the follower) or
    /// [`Point::SnapshotTaken`] (`peer`: none). The world asks between
    /// events, so anything may be injected.
    fn on_point(&mut self, world: &mut World, point: Point, peer: Option<NodeId>) {
        let _ = (world, point, peer);
    }

    /// The fate of a message about to leave. A fate other than
    /// [`Fate::Deliver`] and [`Fate::Hold`] is recorded as a fault by the
    /// world.
    fn message_fate(&mut self, world: &World, outgoing: Outgoing<'_>) -> Fate {
        let _ = (world, outgoing);
        Fate::Deliver
    }

    /// A message the driver said [`Fate::Hold`] to: it is the driver's now.
    fn hold(&mut self, message: Message) {
        let _ = message;
    }

    /// A client reply for a client the world does not run (a scenario's
    /// operation); true if the driver took it.
    fn on_foreign_reply(&mut self, client: u64, reply: &crate::world::event::Reply) -> bool {
        let _ = (client, reply);
        false
    }

    /// The driver, to be looked at as what it is (a scenario reads its own).
    fn as_any(&self) -> &dyn Any;

    /// The driver, to be changed as what it is.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raft_message_is_named_by_its_kind_term_and_index() {
        let bodies = [
            MessageBody::RequestVote {
                last_log_index: 7,
                last_log_term: 2,
                leadership_transfer: false,
            },
            MessageBody::RequestVoteResponse { granted: true },
            MessageBody::AppendEntries {
                prev_log_index: 7,
                prev_log_term: 2,
                entries: Vec::new(),
                leader_commit: 3,
            },
            MessageBody::AppendEntriesResponse {
                reject: false,
                index: 7,
                reject_hint_index: 0,
                reject_hint_term: 0,
            },
            MessageBody::Heartbeat {
                commit: 7,
                context: 0,
            },
            MessageBody::HeartbeatResponse { context: 0 },
            MessageBody::PreVote {
                last_log_index: 7,
                last_log_term: 2,
            },
            MessageBody::PreVoteResponse { granted: false },
            MessageBody::ReadIndex { context: 7 },
            MessageBody::ReadIndexResponse {
                index: 7,
                context: 1,
                via: raft_core::ReadVia::Quorum,
            },
            MessageBody::TimeoutNow,
            MessageBody::InstallSnapshot(Box::new(raft_core::SnapshotChunk {
                meta: raft_core::SnapshotMeta {
                    index: 7,
                    term: 2,
                    conf_state: raft_core::ConfState::default(),
                },
                offset: 0,
                data: bytes::Bytes::new(),
                done: true,
            })),
            MessageBody::InstallSnapshotResponse {
                index: 7,
                next_offset: 0,
                done: true,
            },
        ];
        for body in bodies {
            let name = body.kind_name();
            let index = raft_index(&body);
            let message = Message {
                from: 1,
                to: 2,
                term: 3,
                body,
            };
            let about = About::of_raft(&message);
            assert_eq!(about.to_string(), format!("{name} term=3 index={index}"));
        }
    }

    #[test]
    fn streams_and_digests_tell_messages_apart() {
        let about = About::Raft {
            kind: 4,
            term: 3,
            index: 7,
        };
        let id = |from, nth| MessageId {
            from: Endpoint::Node(from),
            to: Endpoint::Node(2),
            about,
            nth,
        };
        assert_ne!(id(1, 0).digest(), id(1, 1).digest());
        assert_ne!(id(1, 0).digest(), id(3, 0).digest());
        let request = About::Request { op: 3, attempt: 7 };
        let reply = About::Reply { op: 3, attempt: 7 };
        let (a, b) = (Endpoint::Client(0), Endpoint::Node(1));
        assert_ne!(
            MessageId::stream(a, b, &request),
            MessageId::stream(a, b, &reply)
        );
        assert_eq!(
            id(1, 5).to_string(),
            "n1->n2 heartbeat term=3 index=7 nth=5"
        );
    }
}
