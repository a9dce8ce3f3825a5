//! Scripted control of the simulated world, for scenario files.
//!
//! A scripted world is the fuzzing world without its dice: an explicit cluster
//! size, no nemesis, no automatic clients, a fixed message delay and a fixed
//! fsync latency (unless asked otherwise), and virtual time that moves only when
//! the script says so. Its driver is a [`ScriptDriver`]: it holds the script's
//! message rules (drop, hold, duplicate a kind of message between two nodes)
//! and its operations' answers. [`Scripted`] owns the world and steps it
//! through the world's one event loop, between the script's commands, which
//! act through the same faults every driver injects; the per-step invariant
//! checkers run exactly as in a fuzz run.

use std::any::Any;

use bytes::Bytes;
use invariants::linearizability::{KvOp, KvResult};
use raft_core::{Bugs, Message, NodeId, ProposeError, RestoredState, Role, Status};

use crate::drivers::{DiskFate, Driver, Fate, Fault, MemberChange, Outgoing};
use crate::world::event::{Event, Reply, Request};
use crate::world::params::{FaultKind, Params, RaftFeatures, ReadPath};
use crate::world::rng::{Ratio, Rng, Stream};
use crate::world::{Outcome, ViolationReport, World, WorldOptions};

/// At most this many messages held back at once (a limit reached is reported).
const HELD_MESSAGES_MAX: usize = 10_000;
/// At most this many events waiting in the queue at once. Far above what nine
/// nodes need (their windows and timers keep a few thousand in flight), it
/// stops a script whose messages outrun time (a day of jitter on microsecond
/// ticks) before the queue eats the memory: a million took 400 MB.
pub const PENDING_EVENTS_MAX: usize = 100_000;

/// How much one scripted step (one command of a scenario) may do before it is
/// stopped with an error: what keeps every step finite, whatever it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepLimits {
    /// Events handled in one step, node ticks included. The default is the
    /// limit of a whole `raftsim run` ([`WorldOptions::default`]'s `max_events`).
    pub events_max: u64,
    /// Events waiting in the queue at once.
    pub pending_events_max: usize,
}

impl Default for StepLimits {
    fn default() -> StepLimits {
        StepLimits {
            events_max: WorldOptions::default().max_events,
            pending_events_max: PENDING_EVENTS_MAX,
        }
    }
}

/// What a scripted world is made of: everything a fuzz run would draw from its seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedWorld {
    /// Number of voters (1 to 9).
    pub cluster_size: u64,
    /// Seed of the background randomness: election timeouts, and jitter, drops
    /// and duplicates when those are asked for.
    pub seed: u64,
    /// Planted bugs switched on in every node.
    pub bugs: Bugs,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_message: usize,
    /// At most this many unacknowledged AppendEntries per follower.
    pub max_inflight_messages: usize,
    /// Minimum election timeout in ticks.
    pub election_timeout_ticks_min: u32,
    /// Heartbeat interval in ticks.
    pub heartbeat_interval_ticks: u32,
    /// Virtual time between two automatic ticks.
    pub tick_us: u64,
    /// One-way message delay.
    pub delay_us: u64,
    /// Extra delay drawn uniformly from `[0, jitter_us]` (0: messages keep their order).
    pub jitter_us: u64,
    /// Fsync latency.
    pub fsync_us: u64,
    /// Probability that a message is lost.
    pub drop_ratio: Ratio,
    /// Probability that a message is delivered twice.
    pub duplicate_ratio: Ratio,
    /// Nodes tick only when the script says `tick` (no automatic clock).
    pub manual_ticks: bool,
    /// The Raft features switched on.
    pub features: RaftFeatures,
    /// The drift bound the nodes assume (their clocks keep true time unless
    /// a `skew` says otherwise), in parts per thousand.
    pub max_drift_ppt: i64,
    /// Ids past the cluster that nodes may `join` with (idle until then).
    pub spare_nodes: u64,
    /// Nodes compact their log every this many applied entries (`None`:
    /// only when the script says `compact`).
    pub compact_every: Option<u64>,
    /// Snapshots travel in chunks of at most this many bytes.
    pub snapshot_chunk_bytes: usize,
}

impl ScriptedWorld {
    /// The parameters of the equivalent run: no nemesis, no clients, no heal phase.
    pub fn params(&self) -> Params {
        let mut faults = Vec::new();
        if self.drop_ratio != Ratio::ZERO {
            faults.push(FaultKind::Drop);
        }
        if self.duplicate_ratio != Ratio::ZERO {
            faults.push(FaultKind::Duplicate);
        }
        Params {
            seed: self.seed,
            cluster_size: self.cluster_size,
            bugs: self.bugs,
            faults,
            tick_us: self.tick_us,
            clock_drift_ppt: vec![0; self.cluster_size as usize],
            clock_wander_ppt: 0,
            clock_drift_bound_ppt: self.max_drift_ppt,
            election_timeout_ticks_min: self.election_timeout_ticks_min,
            heartbeat_interval_ticks: self.heartbeat_interval_ticks,
            max_entries_per_message: self.max_entries_per_message,
            max_inflight_messages: self.max_inflight_messages,
            buggify: crate::drivers::buggify::Buggify::default(),
            delay_us_min: self.delay_us,
            delay_jitter_us: self.jitter_us,
            drop_ratio: self.drop_ratio,
            duplicate_ratio: self.duplicate_ratio,
            long_delay_ratio: Ratio::ZERO,
            fsync_us_min: self.fsync_us,
            fsync_us_max: self.fsync_us,
            nemesis_interval_us_mean: u64::MAX / 4,
            crash_downtime_us_max: 1,
            pause_us_max: 0,
            clog_us_max: 0,
            client_count: 0,
            key_count: 1,
            client_timeout_us: u64::MAX / 4,
            client_attempts_max: 1,
            client_think_us_max: 0,
            chaos_duration_us: u64::MAX / 2,
            operations_max: None,
            heal_duration_us_max: u64::MAX / 4,
            features: self.features,
            transfers: false,
            spare_nodes: self.spare_nodes,
            compact_every: self.compact_every,
            snapshot_chunk_bytes: self.snapshot_chunk_bytes,
        }
    }
}

/// What a message rule does to the messages it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// The message is lost.
    Drop,
    /// The message waits until released.
    Hold,
    /// The message is delivered, and a copy waits until released (a delayed duplicate).
    Duplicate,
}

impl RuleAction {
    /// The name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            RuleAction::Drop => "drop",
            RuleAction::Hold => "hold",
            RuleAction::Duplicate => "duplicate",
        }
    }
}

/// Which messages a rule or a release concerns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessagePattern {
    /// The message kind ([`raft_core::MessageBody::kind_name`]); `None`: any kind.
    pub kind: Option<String>,
    /// The sender; `None`: any node.
    pub from: Option<NodeId>,
    /// The receiver; `None`: any node.
    pub to: Option<NodeId>,
}

impl MessagePattern {
    /// Whether `message` matches.
    pub fn matches(&self, message: &Message) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| k == message.body.kind_name())
            && self.from.is_none_or(|f| f == message.from)
            && self.to.is_none_or(|t| t == message.to)
    }

    /// Whether every message this pattern matches is also matched by `wider`.
    pub fn within(&self, wider: &MessagePattern) -> bool {
        let kind = wider.kind.is_none() || wider.kind == self.kind;
        let from = wider.from.is_none() || wider.from == self.from;
        let to = wider.to.is_none() || wider.to == self.to;
        kind && from && to
    }
}

/// The scenario's message rules and the messages they hold back.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    // Invariant: checked in order; the first matching rule decides.
    rules: Vec<(RuleAction, MessagePattern)>,
    // Invariant: in the order they were sent; at most HELD_MESSAGES_MAX.
    held: Vec<Message>,
    // Messages that did not fit under HELD_MESSAGES_MAX (reported, then dropped).
    overflowed: u64,
}

impl MessageFilter {
    /// The rules in force, oldest first.
    pub fn rules(&self) -> &[(RuleAction, MessagePattern)] {
        &self.rules
    }

    /// The messages held back, oldest first.
    pub fn held(&self) -> &[Message] {
        &self.held
    }

    fn hold(&mut self, message: Message) {
        if self.held.len() < HELD_MESSAGES_MAX {
            self.held.push(message);
        } else {
            self.overflowed += 1;
        }
    }
}

/// The driver of a scripted world: the script's message rules, the
/// background drops and duplicates its settings ask for, and the answers to
/// its operations. Everything else the script does directly, between events.
#[derive(Clone, Debug)]
pub struct ScriptDriver {
    filter: MessageFilter,
    /// Random drops and duplicates (`drop=`, `duplicate=` settings).
    messages: Rng,
    drop_ratio: Ratio,
    duplicate_ratio: Ratio,
    delay_us: u64,
    jitter_us: u64,
    ops: Vec<ScriptOp>,
    // Events of this command worth a line (op answers); taken by the caller.
    notes: Vec<String>,
}

impl ScriptDriver {
    fn new(world: &ScriptedWorld) -> ScriptDriver {
        ScriptDriver {
            filter: MessageFilter::default(),
            messages: Rng::new(world.seed, Stream::MessageFaults),
            drop_ratio: world.drop_ratio,
            duplicate_ratio: world.duplicate_ratio,
            delay_us: world.delay_us,
            jitter_us: world.jitter_us,
            ops: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Driver for ScriptDriver {
    /// The first rule that matches decides; else the random drops and
    /// duplicates the settings ask for (Raft messages only).
    fn message_fate(&mut self, _world: &World, outgoing: Outgoing<'_>) -> Fate {
        let Some(message) = outgoing.message else {
            return Fate::Deliver; // a scripted world has no clients of its own
        };
        let rule = self.filter.rules.iter().find(|(_, p)| p.matches(message));
        if let Some((action, _)) = rule {
            return match action {
                RuleAction::Drop => Fate::Drop,
                RuleAction::Hold => Fate::Hold,
                RuleAction::Duplicate => Fate::DeliverAndHold,
            };
        }
        if self.messages.chance(self.drop_ratio) {
            return Fate::Drop;
        }
        if self.messages.chance(self.duplicate_ratio) {
            let jitter = self.messages.range_inclusive(0, self.jitter_us);
            return Fate::Duplicate {
                second_delay_us: self.delay_us + jitter,
            };
        }
        Fate::Deliver
    }

    fn hold(&mut self, message: Message) {
        self.filter.hold(message);
    }

    fn on_foreign_reply(&mut self, client: u64, reply: &Reply) -> bool {
        let Reply::Done(result) = reply else {
            return false;
        };
        let Some(op) = self.ops.get_mut((client as usize).wrapping_sub(1)) else {
            return false;
        };
        if !matches!(op.state, OpState::Done(_)) {
            op.state = OpState::Done(result.clone());
            let answer = describe_answer(result);
            self.notes.push(format!("op{client} {answer}"));
        }
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A client operation's fate, as the script sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpState {
    /// The node refused it (not the leader; maybe it named one).
    Refused(Option<NodeId>),
    /// Proposed at this index; no answer yet.
    Pending(u64),
    /// A get waiting for its read index (or, on the stale-read bug, for
    /// its answer to arrive); no answer yet.
    Reading,
    /// Answered with this result.
    Done(KvResult),
}

/// One client operation of the script.
#[derive(Clone, Debug)]
pub struct ScriptOp {
    /// The operation.
    pub op: KvOp,
    /// The node it went through.
    pub node: NodeId,
    /// Where it stands.
    pub state: OpState,
}

/// Why a scripted action could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The node is down.
    #[error("n{0} is down")]
    Down(NodeId),
    /// The node is already up.
    #[error("n{0} is already up")]
    Up(NodeId),
    /// The node is paused.
    #[error("n{0} is paused")]
    Paused(NodeId),
    /// The node is one of the cluster's, not a spare id.
    #[error("n{0} is not a spare: only spares (`spares=N`) join")]
    NotSpare(NodeId),
    /// The spare id ran already.
    #[error("n{0} ran already: a spare joins once")]
    Used(NodeId),
    /// The node's identity was retired.
    #[error("n{0} was replaced: its identity is retired")]
    Retired(NodeId),
    /// The node is not paused.
    #[error("n{0} is not paused")]
    NotPaused(NodeId),
    /// The node leads already, so it cannot campaign.
    #[error("n{0} is the leader: it does not campaign")]
    Leads(NodeId),
    /// A transfer asked of a node that does not lead, or to itself.
    #[error("n{0} cannot hand its leadership to n{1}: {2}")]
    NoTransfer(NodeId, NodeId, String),
    /// The node did not campaign within the ticks allowed.
    #[error("n{0} did not campaign within {1} ticks")]
    NoCampaign(NodeId, u64),
    /// The step handled as many events as one step may.
    #[error("stopped after {0} events, the limit of one step (the same as a whole `raftsim run`)")]
    EventLimit(u64),
    /// More events waited in the queue than a script may have pending.
    #[error(
        "stopped with {0} events waiting at once, the limit of a script (messages outran time)"
    )]
    PendingLimit(usize),
    /// The simulator stopped with an error of its own.
    #[error("the simulator stopped: {0}")]
    World(String),
}

impl ControlError {
    /// Whether the world can go on after this error. A limit or a simulator
    /// error leaves it mid-step, so nothing after it would mean anything.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ControlError::EventLimit(_) | ControlError::PendingLimit(_) | ControlError::World(_)
        )
    }
}

/// A scripted world: the world, stepped between the script's commands.
pub struct Scripted {
    sim: World,
    violations: Vec<ViolationReport>,
    limits: StepLimits,
    // Invariant: at most limits.events_max; reset by begin_step.
    events_this_step: u64,
}

impl Scripted {
    /// Builds the scripted world at time zero with every node started; each
    /// step may do at most what `limits` allow.
    pub fn new(world: &ScriptedWorld, limits: StepLimits) -> Scripted {
        assert!(world.cluster_size >= 1, "a cluster needs a node");
        let options = WorldOptions {
            // The script counts events per step itself (StepLimits); the World's
            // own count would cover the whole script.
            max_events: u64::MAX,
            manual_ticks: world.manual_ticks,
            ..WorldOptions::default()
        };
        let driver = Box::new(ScriptDriver::new(world));
        let mut scripted = Scripted {
            sim: World::new(world.params(), options, driver),
            violations: Vec::new(),
            limits,
            events_this_step: 0,
        };
        scripted.collect_outcome();
        scripted
    }

    /// Records the world's timeline from now on (`raftsim scenario --html`).
    pub fn record_timeline(&mut self, limits: crate::world::timeline::TimelineLimits) {
        self.sim.record_timeline(limits);
    }

    /// The world.
    pub fn sim(&self) -> &World {
        &self.sim
    }

    fn driver(&self) -> &ScriptDriver {
        self.sim
            .driver()
            .expect("a scripted world is driven by its script")
    }

    fn driver_mut(&mut self) -> &mut ScriptDriver {
        self.sim
            .driver_mut()
            .expect("a scripted world is driven by its script")
    }

    /// The number of nodes.
    pub fn node_count(&self) -> u64 {
        self.sim.hosts.len() as u64
    }

    /// Virtual time now.
    pub fn now_us(&self) -> u64 {
        self.sim.now_us
    }

    /// A running node's status.
    pub fn status(&self, id: NodeId) -> Option<Status> {
        self.sim.hosts[id as usize - 1].status()
    }

    /// Whether node `id` is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.sim.is_paused(id)
    }

    /// The client operations so far; `op1` is index 0.
    pub fn ops(&self) -> &[ScriptOp] {
        &self.driver().ops
    }

    /// Violations seen so far, oldest first.
    pub fn violations(&self) -> &[ViolationReport] {
        &self.violations
    }

    /// Takes the notes (op answers) gathered since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.driver_mut().notes)
    }

    /// The message rules and held messages.
    pub fn filter(&self) -> &MessageFilter {
        &self.driver().filter
    }

    /// The value of `key` in node `id`'s state machine.
    pub fn read(&self, id: NodeId, key: &str) -> Option<String> {
        self.sim.hosts[id as usize - 1].store.read(key)
    }

    /// What node `id`'s disk holds (meaningful while it is down).
    pub fn disk_state(&self, id: NodeId) -> RestoredState {
        let mut disk = self.sim.hosts[id as usize - 1].disk.clone();
        disk.sync();
        disk.restore()
    }

    /// Moves a violation or error the world recorded into this script's list, so
    /// that checking goes on and later violations are seen too.
    fn collect_outcome(&mut self) -> Option<String> {
        match self.sim.outcome.take() {
            Some(Outcome::Violation(report)) => {
                self.violations.push(*report);
                None
            }
            Some(Outcome::Error(message)) => Some(message),
            // Only the end-of-run history check says unknown, and a script
            // records no client history.
            Some(Outcome::Pass | Outcome::Unknown(_)) | None => None,
        }
    }

    /// Starts a new step: its events are counted from zero.
    pub fn begin_step(&mut self) {
        self.events_this_step = 0;
    }

    /// Counts one event (or tick) of this step against the limits.
    fn count_event(&mut self) -> Result<(), ControlError> {
        if self.events_this_step >= self.limits.events_max {
            return Err(ControlError::EventLimit(self.limits.events_max));
        }
        self.events_this_step += 1;
        if self.sim.queue.len() > self.limits.pending_events_max {
            return Err(ControlError::PendingLimit(self.limits.pending_events_max));
        }
        Ok(())
    }

    fn require_up(&self, id: NodeId) -> Result<(), ControlError> {
        if !self.sim.hosts[id as usize - 1].is_up() {
            return Err(ControlError::Down(id));
        }
        if self.is_paused(id) {
            return Err(ControlError::Paused(id));
        }
        Ok(())
    }

    /// Injects a fault now, and collects what the checkers saw.
    pub fn inject(&mut self, fault: Fault) {
        self.sim.inject(fault);
        self.collect_outcome();
    }
}

/// Node start, stop and clock.
impl Scripted {
    /// Ticks node `id` `count` times, now. Each tick counts as an event of
    /// the step.
    pub fn tick(&mut self, id: NodeId, count: u32) -> Result<(), ControlError> {
        self.require_up(id)?;
        for _ in 0..count {
            self.count_event()?;
            let node = self.sim.host(id).node.as_mut().expect("checked up");
            let led = node.status().role == Role::Leader;
            node.tick();
            self.sim.oracles.note_ticks(id, 1, led);
            self.sim.after_input(id);
            self.collect_outcome();
        }
        Ok(())
    }

    /// Ticks node `id` until it starts an election; returns the ticks it took.
    pub fn campaign(&mut self, id: NodeId) -> Result<u64, ControlError> {
        self.require_up(id)?;
        let before = self.status(id).expect("up");
        if before.role == Role::Leader {
            return Err(ControlError::Leads(id));
        }
        // The timeout is drawn from [min, 2 min): past that the node would have
        // campaigned. In u64: 2 min of a u32 does not fit a u32.
        let limit = 2 * u64::from(self.sim.params.election_timeout_ticks_min) + 2;
        for ticks in 1..=limit {
            self.tick(id, 1)?;
            let now = self.status(id).expect("up");
            // With PreVote the election starts as a pre-vote, in the same term.
            let pre_vote = now.role == Role::PreCandidate && before.role != Role::PreCandidate;
            if pre_vote || (now.term > before.term && now.role != Role::Follower) {
                return Ok(ticks);
            }
        }
        Err(ControlError::NoCampaign(id, limit))
    }

    /// Crashes node `id`. Its disk keeps every write already issued, or with
    /// `lose_unsynced` (a power loss) only what its last fsync made durable.
    pub fn crash(&mut self, id: NodeId, lose_unsynced: bool) -> Result<(), ControlError> {
        if !self.sim.hosts[id as usize - 1].is_up() {
            return Err(ControlError::Down(id));
        }
        let disk = match lose_unsynced {
            true => DiskFate::Synced,
            false => DiskFate::Kept,
        };
        self.inject(Fault::Crash {
            node: id,
            disk,
            restart_after_us: None,
        });
        Ok(())
    }

    /// Crashes node `id` and wipes its disk: it restarts with nothing.
    pub fn wipe(&mut self, id: NodeId) -> Result<(), ControlError> {
        self.inject(Fault::Crash {
            node: id,
            disk: DiskFate::Lost,
            restart_after_us: None,
        });
        Ok(())
    }

    /// Restarts node `id` from its disk.
    pub fn restart(&mut self, id: NodeId) -> Result<(), ControlError> {
        if self.sim.hosts[id as usize - 1].is_up() {
            return Err(ControlError::Up(id));
        }
        self.inject(Fault::Restart { node: id });
        Ok(())
    }

    /// Asks leader `from` to hand its leadership to `to`.
    pub fn transfer(&mut self, from: NodeId, to: NodeId) -> Result<(), ControlError> {
        self.require_up(from)?;
        if self.is_paused(from) {
            return Err(ControlError::Paused(from));
        }
        let node = self.sim.host(from).node.as_mut().expect("checked up");
        // Checked here to tell the script why; raft-core checks again.
        let probe = node.status();
        if probe.role != Role::Leader {
            return Err(ControlError::NoTransfer(
                from,
                to,
                "it does not lead".into(),
            ));
        }
        if from == to {
            return Err(ControlError::NoTransfer(
                from,
                to,
                "it already leads".into(),
            ));
        }
        self.inject(Fault::Transfer { from, to });
        Ok(())
    }

    /// Boots the spare `id` empty, waiting to be added.
    pub fn join(&mut self, id: NodeId) -> Result<(), ControlError> {
        if id <= self.sim.params.cluster_size {
            return Err(ControlError::NotSpare(id));
        }
        let host = &self.sim.hosts[id as usize - 1];
        if host.started || host.retired {
            return Err(ControlError::Used(id));
        }
        self.inject(Fault::Join { node: id });
        Ok(())
    }

    /// Retires `id` (its disk is gone for good) and boots the spare `by`
    /// in its place.
    pub fn replace(&mut self, id: NodeId, by: NodeId) -> Result<(), ControlError> {
        if self.sim.hosts[id as usize - 1].retired {
            return Err(ControlError::Retired(id));
        }
        if by <= self.sim.params.cluster_size {
            return Err(ControlError::NotSpare(by));
        }
        if self.sim.hosts[by as usize - 1].started {
            return Err(ControlError::Used(by));
        }
        self.inject(Fault::Replace { node: id, by });
        Ok(())
    }

    /// Asks node `at` for a configuration change; raft-core's answer (the
    /// index it appended the change at, or why it refused).
    pub fn change(
        &mut self,
        at: NodeId,
        changes: Vec<MemberChange>,
    ) -> Result<Result<u64, raft_core::ProposeConfChangeError>, ControlError> {
        self.require_up(at)?;
        let answer = self
            .sim
            .change_membership(at, &changes)
            .expect("a running node that is not paused answers");
        // Recorded as a fault (the answer is the world's to reproduce).
        self.sim
            .record_scripted_fault(Fault::ConfChange { at, changes });
        self.collect_outcome();
        Ok(answer)
    }

    /// Node `id` snapshots its state machine now; the snapshot's index, or
    /// `None` if it applied nothing past its last one.
    pub fn compact(&mut self, id: NodeId) -> Result<Option<u64>, ControlError> {
        self.require_up(id)?;
        let before = self.sim.hosts[id as usize - 1].snapshot_index();
        self.inject(Fault::Compact { node: id });
        let after = self.sim.hosts[id as usize - 1].snapshot_index();
        Ok((after > before).then_some(after))
    }

    /// Pauses node `id`: its clock, its inbox and its disk stop until resumed.
    pub fn pause(&mut self, id: NodeId) -> Result<(), ControlError> {
        self.require_up(id)?;
        self.inject(Fault::Pause { node: id });
        Ok(())
    }

    /// Resumes node `id`: what waited for it happens now, in order.
    pub fn resume(&mut self, id: NodeId) -> Result<(), ControlError> {
        if !self.is_paused(id) {
            return Err(ControlError::NotPaused(id));
        }
        self.inject(Fault::Resume { node: id });
        Ok(())
    }
}

/// The network.
impl Scripted {
    /// Splits the nodes into groups that cannot talk; unlisted nodes form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.inject(Fault::Partition {
            groups: groups.to_vec(),
        });
    }

    /// Cuts (or restores) the direction `from -> to`.
    pub fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        match cut {
            true => self.inject(Fault::Cut { from, to }),
            false => self.inject(Fault::Restore { from, to }),
        }
    }

    /// The cut links, e.g. `1->2 2->1`, or `none`.
    pub fn describe_cuts(&self) -> String {
        self.sim.network.describe_cuts()
    }

    /// Adds a message rule (checked after the rules already in force).
    pub fn add_rule(&mut self, action: RuleAction, pattern: MessagePattern) {
        self.driver_mut().filter.rules.push((action, pattern));
    }

    /// Removes the rules within `pattern`, and delivers now (over the network,
    /// in the order they were sent) up to `count` held messages it matches.
    /// Returns how many were released.
    pub fn release(&mut self, pattern: &MessagePattern, count: Option<usize>) -> usize {
        let filter = &mut self.driver_mut().filter;
        if count.is_none() {
            filter.rules.retain(|(_, rule)| !rule.within(pattern));
        }
        let limit = count.unwrap_or(usize::MAX);
        let mut released = Vec::new();
        let mut kept = Vec::new();
        for message in std::mem::take(&mut filter.held) {
            if released.len() < limit && pattern.matches(&message) {
                released.push(message);
            } else {
                kept.push(message);
            }
        }
        filter.held = kept;
        let n = released.len();
        for message in released {
            // Its fate was decided when it was held: past the rules now.
            self.sim.send_message(message, false);
        }
        n
    }

    /// Restores every link and removes every rule; held messages stay held.
    pub fn heal(&mut self) {
        self.inject(Fault::Heal);
        self.driver_mut().filter.rules.clear();
    }

    /// Messages that did not fit in the held buffer (a limit reached).
    pub fn overflowed(&self) -> u64 {
        self.filter().overflowed
    }
}

/// Clients.
impl Scripted {
    /// Proposes `op` through node `id`; the answer arrives once it is applied.
    /// Returns the op's number (1-based).
    pub fn propose(&mut self, id: NodeId, op: KvOp) -> Result<usize, ControlError> {
        self.require_up(id)?;
        let number = self.ops().len() + 1;
        // One client per op, none of them the world's own: the answer comes
        // to the driver, and no session can make one op supersede another.
        let client = number as u64;
        let status = self.status(id).expect("checked up");
        let features = self.sim.params.features;
        let reads_here = status.role == Role::Leader || features.follower_reads;
        let state = match &op {
            KvOp::Get { key } if features.read_path != ReadPath::Log && reads_here => {
                let request = Request {
                    client,
                    seq: 1,
                    attempt: 0,
                    op: op.clone(),
                };
                match self
                    .sim
                    .start_read(id, &request, key.clone(), status.leader)
                {
                    Ok(()) => OpState::Reading,
                    Err(_) => OpState::Refused(status.leader),
                }
            }
            _ => {
                let command = crate::world::kv::Command {
                    client,
                    seq: 1,
                    op: op.clone(),
                };
                let node = self.sim.host(id).node.as_mut().expect("checked up");
                match node.propose(command.encode()) {
                    Ok(index) => {
                        self.sim.await_apply(id, client, 1);
                        OpState::Pending(index)
                    }
                    Err(ProposeError::NotLeader { leader_hint }) => OpState::Refused(leader_hint),
                    // Refused during a leadership transfer, pointing at the transferee.
                    Err(ProposeError::TransferInProgress { to }) => OpState::Refused(Some(to)),
                }
            }
        };
        if !matches!(state, OpState::Refused(_)) {
            self.sim.record_foreign_invoke(client, op.clone());
        }
        self.driver_mut().ops.push(ScriptOp {
            op,
            node: id,
            state,
        });
        self.sim.after_input(id);
        self.collect_outcome();
        Ok(number)
    }

    /// Proposes raw bytes through node `id` (not a key-value command).
    pub fn propose_raw(&mut self, id: NodeId, data: Bytes) -> Result<bool, ControlError> {
        self.require_up(id)?;
        let node = self.sim.host(id).node.as_mut().expect("checked up");
        let accepted = node.propose(data).is_ok();
        self.sim.after_input(id);
        self.collect_outcome();
        Ok(accepted)
    }
}

/// Time.
impl Scripted {
    /// Runs every step of the world up to `deadline_us` (or until `stop`
    /// holds, checked after each), calling `observe` after each with the
    /// line of a message it delivered. Time ends at the deadline, or at the
    /// step that made `stop` hold. Returns whether `stop` held; an error
    /// when the step reached one of its limits.
    pub fn run_until(
        &mut self,
        deadline_us: u64,
        stop: &mut dyn FnMut(&Scripted) -> bool,
        observe: &mut dyn FnMut(&mut Scripted, Option<&str>),
    ) -> Result<bool, ControlError> {
        if stop(self) {
            return Ok(true);
        }
        while self.sim.next_time_us().is_some_and(|at| at <= deadline_us) {
            self.count_event()?;
            let line = self.delivery_line();
            self.sim.step();
            if let Some(message) = self.collect_outcome() {
                return Err(ControlError::World(message));
            }
            observe(self, line.as_deref());
            if stop(self) {
                return Ok(true);
            }
        }
        self.sim.now_us = self.sim.now_us.max(deadline_us);
        Ok(false)
    }

    /// The line of the message the next step delivers, if it delivers one
    /// (to a node that is not paused: a paused node's messages wait).
    fn delivery_line(&self) -> Option<String> {
        let Some(event @ Event::Deliver(message)) = self.sim.queue.peek() else {
            return None;
        };
        let timer_first = self.sim.next_time_us() != self.sim.queue.peek_time();
        (!timer_first && !self.is_paused(message.to)).then(|| self.sim.describe(event))
    }
}

/// A client result in a few words: `ok`, `value v`, `value nil`, `cas ok`, `cas failed`.
pub fn describe_answer(result: &KvResult) -> String {
    match result {
        KvResult::Done => "ok".into(),
        KvResult::Value(Some(value)) => format!("value {value}"),
        KvResult::Value(None) => "value nil".into(),
        KvResult::CasOk => "cas ok".into(),
        KvResult::CasFailed => "cas failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_may_do_what_a_whole_run_may() {
        assert_eq!(
            StepLimits::default().events_max,
            WorldOptions::default().max_events
        );
    }

    #[test]
    fn ticks_count_against_the_step_limit() {
        let world = ScriptedWorld {
            cluster_size: 3,
            seed: 1,
            bugs: Bugs::none(),
            max_entries_per_message: 64,
            max_inflight_messages: 8,
            election_timeout_ticks_min: 10,
            heartbeat_interval_ticks: 2,
            tick_us: 10_000,
            delay_us: 1_000,
            jitter_us: 0,
            fsync_us: 100,
            drop_ratio: Ratio::ZERO,
            duplicate_ratio: Ratio::ZERO,
            manual_ticks: true,
            features: RaftFeatures::default(),
            max_drift_ppt: 0,
            spare_nodes: 0,
            compact_every: None,
            snapshot_chunk_bytes: 64 * 1024,
        };
        let limits = StepLimits {
            events_max: 5,
            ..StepLimits::default()
        };
        let mut scripted = Scripted::new(&world, limits);
        scripted.begin_step();
        assert_eq!(scripted.tick(1, 5), Ok(()));
        assert_eq!(scripted.tick(1, 1), Err(ControlError::EventLimit(5)));
        // A new step counts from zero again.
        scripted.begin_step();
        assert_eq!(scripted.tick(2, 5), Ok(()));
        assert!(ControlError::EventLimit(5).is_fatal());
        assert!(!ControlError::Down(1).is_fatal());
    }
}
