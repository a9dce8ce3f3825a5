//! The world of one run, and its one event loop: one thread, one queue, one
//! dispatch.
//!
//! A run is drawn from its seed ([`params`]), then events are popped in
//! (time, sequence) order and handed to the code they concern. After every
//! event the observations of that step go to the invariant checkers and the
//! event goes into the trace. Faults come from the run's [`Driver`] (the
//! nemesis, a recorded schedule or a scenario script), which the world asks
//! at the points where a fault may strike and which acts through
//! [`World::inject`]; every fault is recorded in the run's schedule. The
//! chaos phase lets the driver act; the heal phase stops the faults and
//! checks liveness.
//!
//! Where each event is handled (`World::handle` is the one dispatch):
//!
//! | event | handled in |
//! |---|---|
//! | `Tick`, `Deliver`, `FsyncDone` | [`host`]: a node's clock, inbox and disk; the Ready contract |
//! | `ClientWake`, `ClientRetry`, `ClientRequest`, `ClientReply`, `ClientTimeout` | [`client`] |
//! | `Restart`, `HealStart`, `HealCheck` | [`faults`]: crashes and restarts, the heal phase |
//! | a driver's timer | the driver ([`crate::drivers`]), between events |
//!
//! When asked ([`WorldOptions::timeline`]), [`timeline`] records what a
//! person looks at (roles, messages and their fates, faults) through small
//! hooks beside the code above; it only reads the world.

pub mod bugs;
pub mod client;
pub mod contract;
pub mod coverage;
pub mod describe;
pub mod disk;
pub mod event;
pub mod faults;
pub mod flow;
pub mod host;
pub mod kv;
pub mod membership;
pub mod network;
pub mod oracles;
pub mod params;
pub mod rng;
pub mod timeline;
pub mod trace;

use std::fmt;

use invariants::linearizability::{
    Budget, History, KvOp, KvResult, OnlineKvChecker, OpId, Outcome as OpOutcome,
};
use invariants::{Invariant, SafetyChecker, Violation};
use raft_core::{Message, NodeId};

use crate::drivers::{About, Driver, Fate, Fault, MessageId, Outgoing, Point, Scheduled};
use client::Client;
use coverage::{Coverage, Sometimes};
use event::{Event, EventQueue, Reply};
use host::Host;
use kv::mix_into;
use network::{Delivery, Endpoint, Network};
use params::Params;
use rng::{Rng, Stream};
use timeline::{Timeline, TimelineLimits};
use trace::Trace;

/// How a run is carried out (not what it simulates: that is [`Params`]).
#[derive(Clone, Debug)]
pub struct WorldOptions {
    /// Run the per-step invariant checkers (off only to measure their cost).
    pub checks: bool,
    /// Also check the client history after every completion (with `checks`).
    pub online_linearizability: bool,
    /// Keep the trace hash after every event (to locate nondeterminism).
    pub per_event_hashes: bool,
    /// Keep this many readable events (replay).
    pub log_capacity: Option<usize>,
    /// In the readable log, show every tick; otherwise only the ticks that
    /// changed something (a timeout, a heartbeat sent into a fault).
    pub log_ticks: bool,
    /// Stop with an error past this many events (a run must not run away).
    pub max_events: u64,
    /// Nodes tick only when told (a scenario's `ticks=manual`): the clock's
    /// own ticks are dropped.
    pub manual_ticks: bool,
    /// Record the run's timeline (`replay --html`), keeping what these
    /// limits allow; off in fuzz runs, which must not pay for it.
    pub timeline: Option<TimelineLimits>,
}

impl Default for WorldOptions {
    fn default() -> WorldOptions {
        WorldOptions {
            checks: true,
            online_linearizability: true,
            per_event_hashes: false,
            log_capacity: None,
            log_ticks: true,
            max_events: 20_000_000,
            manual_ticks: false,
            timeline: None,
        }
    }
}

/// Which phase the run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Faults are injected.
    Chaos,
    /// Faults stopped; the cluster must converge.
    Heal,
}

/// A broken property, with where and when it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViolationReport {
    /// What broke.
    pub violation: Violation,
    /// The event number (1-based) at which it was seen.
    pub step: u64,
    /// Virtual time of that event.
    pub time_us: u64,
}

impl fmt::Display for ViolationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at step {}, t={}",
            self.violation,
            self.step,
            format_time(self.time_us)
        )
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held and the healed cluster converged.
    Pass,
    /// A property broke.
    Violation(Box<ViolationReport>),
    /// The simulator itself hit a limit (a bug of the harness, or a run that ran away).
    Error(String),
    /// Every check that finished held, but the history check ran out of its
    /// budget: neither a pass nor a failure, and never counted as a pass.
    Unknown(String),
}

/// Virtual time as seconds with microseconds, e.g. `12.000250s`.
pub fn format_time(time_us: u64) -> String {
    format!("{}.{:06}s", time_us / 1_000_000, time_us % 1_000_000)
}

/// The history-check budget of a simulated run. Below the default (made for
/// third-party histories): a campaign must not spend long on one history
/// whose unknown writes explode the search; running out says `unknown`,
/// counted apart and never as a pass. The steps are the limit meant to bind;
/// the memory is enough for them. The hardest simulated histories met so far:
/// seed 2853370 of the default campaign (1031 operations) needs between 3M
/// and 10M steps, 1.2 s; the 253-operation history of seed 5010960 under
/// `--bug stale-read` takes 100 MiB to prove its violation.
pub const RUN_HISTORY_BUDGET: Budget = Budget {
    max_steps: 20_000_000,
    max_memory_bytes: 1 << 30,
    interrupt: None,
};

/// The violation of a non-linearizable history, explained in `seen`.
pub fn linearizability_violation(seen: String) -> Violation {
    Violation {
        invariant: Invariant::Linearizability,
        nodes: Vec::new(),
        index: None,
        term: None,
        expected: "a linearizable client history".into(),
        seen,
    }
}

/// The world of one run.
pub struct World {
    pub(crate) params: Params,
    pub(crate) options: WorldOptions,
    pub(crate) now_us: u64,
    pub(crate) queue: EventQueue,
    // Invariant: hosts[i] is node i + 1.
    pub(crate) hosts: Vec<Host>,
    pub(crate) network: Network,
    /// The key of the clients' draws (see `client.rs`).
    pub(crate) workload_key: u64,
    /// Draws malformed twins of leader messages (see [`contract`]).
    pub(crate) garble: rng::Rng,
    pub(crate) clients: Vec<Client>,
    pub(crate) history: History,
    pub(crate) checker: Option<SafetyChecker>,
    // Checks the history as it grows: a violation stops the run at the very
    // completion that made the history non-linearizable.
    pub(crate) online: Option<OnlineKvChecker>,
    pub(crate) trace: Trace,
    pub(crate) phase: Phase,
    pub(crate) heal_started_us: u64,
    pub(crate) outcome: Option<Outcome>,
    /// Who decides the faults; `None` only while one of its methods runs.
    driver: Option<Box<dyn Driver>>,
    /// The driver's next timer, as it said after it was last asked (it
    /// changes only when the driver runs).
    driver_timer_us: Option<u64>,
    /// Where in the run the driver is being asked (what an injected fault
    /// is recorded at).
    point: Point,
    /// Every fault injected so far, in order.
    schedule: Vec<Scheduled>,
    /// An fsync crash the driver injected at the fsync being completed.
    fsync_crash: Option<(NodeId, bool, u64)>,
    /// Messages sent so far (node and client).
    messages_sent: u64,
    /// Messages sent so far on each stream (link and subject, by
    /// `MessageId::stream`): what names the next one.
    stream_counts: network::StreamCounts,
    // Invariant: paused[i] is node i + 1; a paused node's events wait in
    // deferred[i] until it resumes.
    paused: Vec<bool>,
    deferred: Vec<Vec<Event>>,
    /// What a person looks at, when asked for ([`WorldOptions::timeline`]).
    timeline: Option<Box<Timeline>>,
    /// The situations this run reached (see [`coverage`]).
    coverage: Coverage,
    /// Since when exactly one link has been down both ways, and the leader
    /// and term then (to notice a leader that stays through it).
    partial_partition_since: Option<(u64, Option<(NodeId, u64)>)>,
    /// The leadership transfer under way, if any: from whom, to whom.
    pending_transfer: Option<(NodeId, NodeId)>,
    /// The history's operations of the clients a driver runs, by client,
    /// until their first answer.
    foreign_ops: std::collections::BTreeMap<u64, OpId>,
    /// For each node cut off from every other (both ways), its term when
    /// that began (`None`: not cut off, or down then).
    // Invariant: alone_since[i] is node i + 1.
    alone_since: Vec<Option<u64>>,
    /// The heal phase's leader of the highest term, its term, and since
    /// when the heal checks have seen it lead.
    heal_leader: Option<(NodeId, u64, u64)>,
    /// The highest term any node campaigned in as a candidate (its
    /// pre-vote won, or a transfer asked it) during the chaos: such a term
    /// may still depose the healed cluster's leader, through messages in
    /// flight.
    chaos_campaign_term: u64,
    /// Since when the cluster has had no working leader (its leader
    /// crashed, paused, stepped down or was cut off), once it had one.
    leader_lost_at: Option<u64>,
    /// Whether any node has led yet (the first election is not a recovery).
    had_leader: bool,
    /// How long each recovery took: from a leader's loss to the next new leader.
    leader_outages_us: Vec<u64>,
    /// Elections won so far (a node becoming leader of a new term).
    elections: u64,
    /// The configuration in force (see [`membership`]).
    configuration: membership::Configuration,
    /// The term of the last campaign a leader asked for (TimeoutNow: a
    /// transfer, or a removed leader's handover), even one whose TimeoutNow
    /// arrived late: no disruption of a stable leader.
    pub(crate) transferred_term: Option<u64>,
    /// Per link, the snapshot being sent and the furthest chunk offset sent.
    snapshot_chunks: std::collections::BTreeMap<(NodeId, NodeId), (u64, u64)>,
    /// Durability at commit and progress while calm (see [`oracles`]).
    pub(crate) oracles: oracles::Oracles,
    /// Protocol points this event reached, for the driver after it (see
    /// [`crate::drivers::buggify`]): the point and the peer it concerns.
    pub(crate) pending_points: Vec<(Point, Option<NodeId>)>,
    /// How many times a node said it had no ready (the has_ready probe
    /// takes one of every [`contract::NO_READY_PROBE_EVERY`]).
    pub(crate) no_ready_answers: u64,
    /// How often each protocol point came at the instant named.
    // A few points an instant: a vector kept between instants.
    point_counts: (u64, Vec<(Point, u32)>),
}

impl World {
    /// Builds the world of `params` at time zero, with every node started,
    /// its faults decided by `driver`.
    pub fn new(params: Params, options: WorldOptions, driver: Box<dyn Driver>) -> World {
        let voters: Vec<NodeId> = params.node_ids().collect();
        // Spare ids get their hosts now, idle until a node joins under them.
        let node_count = params.node_capacity() as usize;
        let mut sim = World {
            hosts: params
                .all_node_ids()
                .map(|id| Host::new(id, &params))
                .collect(),
            network: Network::new(&params),
            workload_key: Rng::new(params.seed, Stream::Workload).next_u64(),
            garble: Rng::new(params.seed, Stream::Garble),
            clients: (0..params.client_count)
                .map(|id| Client::new(id, params.node_capacity()))
                .collect(),
            history: History::new(),
            checker: options.checks.then(|| SafetyChecker::new(&voters)),
            online: (options.checks && options.online_linearizability)
                .then(|| OnlineKvChecker::new(RUN_HISTORY_BUDGET)),
            trace: Trace::new(options.per_event_hashes, options.log_capacity),
            queue: EventQueue::default(),
            now_us: 0,
            phase: Phase::Chaos,
            heal_started_us: 0,
            outcome: None,
            driver_timer_us: driver.next_timer_us(),
            driver: Some(driver),
            point: Point::Timer,
            schedule: Vec::new(),
            fsync_crash: None,
            messages_sent: 0,
            stream_counts: network::StreamCounts::default(),
            paused: vec![false; node_count],
            deferred: vec![Vec::new(); node_count],
            timeline: options
                .timeline
                .map(|limits| Box::new(Timeline::new(limits, node_count))),
            coverage: Coverage::default(),
            partial_partition_since: None,
            heal_leader: None,
            chaos_campaign_term: 0,
            alone_since: vec![None; node_count],
            foreign_ops: std::collections::BTreeMap::new(),
            pending_transfer: None,
            leader_lost_at: None,
            had_leader: false,
            leader_outages_us: Vec::new(),
            elections: 0,
            configuration: membership::Configuration::initial(voters.clone()),
            snapshot_chunks: std::collections::BTreeMap::new(),
            transferred_term: None,
            oracles: oracles::Oracles::new(&params, !options.manual_ticks),
            pending_points: Vec::new(),
            no_ready_answers: 0,
            point_counts: (0, Vec::new()),
            params,
            options,
        };
        if let Some(&first) = voters.first() {
            sim.probe_config_refusals(first);
        }
        for id in voters {
            sim.start_node(id);
        }
        for client in 0..sim.params.client_count {
            sim.queue.push(0, Event::ClientWake { client });
        }
        sim.queue
            .push(sim.params.chaos_duration_us, Event::HealStart);
        sim
    }

    /// Runs until the run passes, breaks a property, or hits a limit.
    pub fn run(&mut self) -> &Outcome {
        while self.outcome.is_none() {
            if self.trace.events() >= self.options.max_events {
                let limit = self.options.max_events;
                self.outcome = Some(Outcome::Error(format!("the run exceeded {limit} events")));
                break;
            }
            if !self.step() {
                self.outcome = Some(Outcome::Error("the event queue ran dry".into()));
            }
        }
        self.outcome
            .as_ref()
            .expect("the loop ends only with an outcome")
    }

    /// When the next step happens: the earlier of the driver's next timer and
    /// the next event; `None` if there is neither.
    pub fn next_time_us(&self) -> Option<u64> {
        let timer = self.driver_timer_us;
        let event = self.queue.peek_time();
        match (timer, event) {
            (Some(timer), Some(event)) => Some(timer.min(event)),
            (timer, event) => timer.or(event),
        }
    }

    /// Takes one step: the driver's timer if it is due first (at equal
    /// times the driver goes first), else the next event. False if there is
    /// nothing left to do.
    pub fn step(&mut self) -> bool {
        let timer = self.driver_timer_us;
        let due = |timer: &u64| self.queue.peek_time().is_none_or(|event| *timer <= event);
        if let Some(timer) = timer.filter(due) {
            // A timer set in the past acts now: time never goes back.
            self.now_us = self.now_us.max(timer);
            self.ask_driver(Point::Timer, |driver, world| driver.on_timer(world));
            self.ask_at_points();
            return true;
        }
        let Some((time_us, event)) = self.queue.pop() else {
            return false;
        };
        debug_assert!(time_us >= self.now_us, "time went backwards");
        self.now_us = time_us;
        self.judge_progress();
        self.dispatch(event);
        self.ask_at_points();
        true
    }

    /// Handles one event: into the trace, to the node it concerns (or held
    /// back while that node is paused).
    fn dispatch(&mut self, event: Event) {
        self.trace.record(self.digest(&event));
        if self.trace.is_logging() {
            let line = self.describe(&event);
            let shown = self.options.log_ticks || !matches!(event, Event::Tick { .. });
            self.trace.log_event(line, shown);
        }
        if self.timeline.is_some() {
            self.timeline_arrival(&event);
        }
        if let Some(node) = event.node() {
            if self.paused[node as usize - 1] {
                self.deferred[node as usize - 1].push(event);
                return;
            }
        }
        self.handle(event);
    }

    /// Runs `ask` with the driver taken out of the world, recording what it
    /// injects at `point`.
    fn ask_driver<R>(
        &mut self,
        point: Point,
        ask: impl FnOnce(&mut dyn Driver, &mut World) -> R,
    ) -> Option<R> {
        let mut driver = self.driver.take()?;
        let outer = std::mem::replace(&mut self.point, point);
        let answer = ask(driver.as_mut(), self);
        self.point = outer;
        self.driver_timer_us = driver.next_timer_us();
        self.driver = Some(driver);
        Some(answer)
    }

    /// Node `leader` just became leader: the driver may act.
    pub(crate) fn on_new_leader(&mut self, leader: NodeId) {
        self.check_election_quorum(leader);
        self.expect_first_probes(leader);
        self.had_leader = true;
        self.elections += 1;
        if let Some((_, to)) = self.pending_transfer.take() {
            if to == leader {
                self.reached(Sometimes::TransferCompleted);
            }
        }
        if let Some(lost_at) = self.leader_lost_at.take() {
            self.leader_outages_us.push(self.now_us - lost_at);
        }
        let point = Point::NewLeader { node: leader };
        self.ask_driver(point, |driver, world| driver.on_new_leader(world, leader));
    }

    /// The protocol points the last event reached: the driver may act at
    /// each, in order, now that the event is done.
    fn ask_at_points(&mut self) {
        if self.pending_points.is_empty() {
            return;
        }
        for (point, peer) in std::mem::take(&mut self.pending_points) {
            if self.outcome.is_some() {
                break;
            }
            // Named by its count at this instant, so that a recorded fault
            // strikes the same occurrence when replayed.
            if self.point_counts.0 != self.now_us {
                self.point_counts.0 = self.now_us;
                self.point_counts.1.clear();
            }
            let counts = &mut self.point_counts.1;
            let count = match counts.iter_mut().find(|(p, _)| *p == point) {
                Some((_, count)) => count,
                None => {
                    counts.push((point, 0));
                    &mut counts.last_mut().expect("just pushed").1
                }
            };
            let point = point.with_nth(*count);
            *count += 1;
            self.ask_driver(point, |driver, world| driver.on_point(world, point, peer));
        }
    }

    /// Leader `leader` just saw its commit advance: the driver may act.
    pub(crate) fn on_leader_commit(&mut self, leader: NodeId) {
        let point = Point::LeaderCommit { node: leader };
        self.ask_driver(point, |driver, world| {
            driver.on_leader_commit(world, leader)
        });
    }

    /// An fsync of `node` completes: the driver may crash it around it.
    /// Returns the crash it injected: before the fsync completes or not, and
    /// the downtime.
    pub(crate) fn fsync_crash(
        &mut self,
        node: NodeId,
        hard_state_written: bool,
    ) -> Option<(bool, u64)> {
        self.fsync_crash = None;
        self.ask_driver(Point::Fsync { node }, |driver, world| {
            driver.on_fsync(world, node, hard_state_written)
        });
        let (struck, before, downtime) = self.fsync_crash.take()?;
        assert_eq!(
            struck, node,
            "an fsync crash strikes the node whose fsync completes"
        );
        Some((before, downtime))
    }

    /// Injects `fault` now, at the point the driver is asked at, and records it.
    pub fn inject(&mut self, fault: Fault) {
        self.record_fault(self.point, fault.clone());
        match fault {
            Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Skew { node, .. }
            | Fault::Unskew { node } => self.oracles.disturb_node(node, self.now_us),
            _ => {}
        }
        match fault {
            Fault::Partition { groups } => {
                self.network.partition(&groups);
                self.log_cuts();
            }
            Fault::Cut { from, to } => {
                self.network.set_cut(from, to, true);
                self.log_cuts();
            }
            Fault::Restore { from, to } => {
                self.network.set_cut(from, to, false);
                self.log_cuts();
            }
            Fault::Heal => {
                self.network.heal_partitions();
                self.log_cuts();
            }
            Fault::Crash {
                node,
                disk,
                restart_after_us,
            } => self.crash_by_fault(node, disk, restart_after_us),
            Fault::Restart { node } => {
                let host = &self.hosts[node as usize - 1];
                if !host.is_up() && host.started && !host.retired {
                    self.start_node(node);
                }
            }
            Fault::FsyncCrash {
                node,
                before,
                restart_after_us,
            } => self.fsync_crash = Some((node, before, restart_after_us)),
            Fault::Pause { node } => {
                if self.is_leader(node) {
                    self.reached(Sometimes::LeaderPaused);
                    self.note_leader_loss();
                }
                self.timeline_pause(node, true, false);
                self.paused[node as usize - 1] = true;
            }
            Fault::Resume { node } => {
                if self.is_paused(node) {
                    self.resume(node);
                    self.note_leader_back();
                }
            }
            Fault::Clog {
                from,
                to,
                extra_delay_us,
            } => {
                self.network.set_clog(from, to, extra_delay_us);
                self.timeline_links();
            }
            Fault::Unclog { from, to } => {
                self.network.set_clog(from, to, 0);
                self.timeline_links();
            }
            Fault::Stall { from, to, for_us } => {
                self.network.hold(from, to, self.now_us + for_us);
                self.timeline_links();
            }
            Fault::Skew { node, ppt } => {
                if ppt.abs() > self.params.clock_drift_bound_ppt {
                    self.reached(Sometimes::ClockPastBound);
                }
                self.hosts[node as usize - 1].skew_ppt = Some(ppt);
                self.oracles.note_clock_skewed(node, self.now_us);
                self.timeline_links();
            }
            Fault::Unskew { node } => {
                self.hosts[node as usize - 1].skew_ppt = None;
                self.oracles.note_clock_skewed(node, self.now_us);
                self.timeline_links();
            }
            Fault::Transfer { from, to } => self.transfer_leadership(from, to),
            Fault::Join { node } => self.join_node(node),
            Fault::Replace { node, by } => self.replace_node(node, by),
            Fault::ConfChange { at, changes } => {
                // The answer is the node's to log; a script asks for it itself.
                let _ = self.change_membership(at, &changes);
            }
            Fault::Compact { node } => self.compact(node),
            Fault::Drop { .. } | Fault::Duplicate { .. } | Fault::Delay { .. } => {
                unreachable!("message faults are a message's fate, not injected")
            }
        }
    }

    /// Records a fault a script carried out itself (it needed the answer).
    pub(crate) fn record_scripted_fault(&mut self, fault: Fault) {
        self.record_fault(self.point, fault);
    }

    /// Records a fault in the schedule and the trace hash.
    fn record_fault(&mut self, point: Point, fault: Fault) {
        self.trace.mix(fault.digest());
        self.schedule.push(Scheduled {
            time_us: self.now_us,
            point,
            fault,
        });
    }

    /// What happens to a message leaving now: its delay, the link, and (with
    /// `ask_driver`) the driver's decision. Lost and duplicated messages are
    /// recorded in the schedule.
    pub(crate) fn transmit(
        &mut self,
        from: Endpoint,
        to: Endpoint,
        about: About,
        message: Option<&Message>,
        ask_driver: bool,
    ) -> Delivery {
        self.messages_sent += 1;
        let id = self.next_message_id(from, to, about);
        let digest = id.digest();
        let mut delay = self.network.delay(digest);
        let mut clogged = false;
        let mut held = false;
        if let (Endpoint::Node(a), Endpoint::Node(b)) = (from, to) {
            if self.network.is_cut(a, b) {
                self.oracles.disturb_link(a, b, self.now_us);
                return Delivery::Cut;
            }
            let clog_us = self.network.clog_us(a, b);
            delay += clog_us;
            clogged = clog_us > 0;
            if clogged {
                // A late message disturbs the link until it lands.
                self.oracles.disturb_link(a, b, self.now_us + delay);
            }
            let held_until_us = self.network.held_until_us(a, b);
            if held_until_us > self.now_us {
                // Held, it leaves with the burst, then takes its own time.
                delay += held_until_us - self.now_us;
                held = true;
                self.oracles.disturb_link(a, b, self.now_us + delay);
            }
        }
        let outgoing = Outgoing {
            id,
            digest,
            message,
        };
        let fate = match self.driver.take() {
            Some(mut driver) if ask_driver => {
                let fate = driver.message_fate(self, outgoing);
                self.driver = Some(driver);
                fate
            }
            driver => {
                self.driver = driver;
                Fate::Deliver
            }
        };
        let point = Point::Send { message: id };
        if let (Endpoint::Node(a), Endpoint::Node(b), false) =
            (from, to, matches!(fate, Fate::Deliver))
        {
            // A late message disturbs the link until it lands.
            let lands_us = match fate {
                Fate::Delay { extra_delay_us } => self.now_us + delay + extra_delay_us,
                Fate::Duplicate { second_delay_us } => self.now_us + delay.max(second_delay_us),
                _ => self.now_us + delay,
            };
            self.oracles.disturb_link(a, b, lands_us);
        }
        match fate {
            Fate::Deliver => {
                if clogged {
                    self.reached(Sometimes::ClogDelivered);
                }
                if held {
                    self.reached(Sometimes::BurstDelivered);
                }
                Delivery::Once(delay)
            }
            Fate::Drop => {
                self.record_fault(point, Fault::Drop { message: id });
                Delivery::Dropped
            }
            Fate::Delay { extra_delay_us } => {
                let fault = Fault::Delay {
                    message: id,
                    extra_delay_us,
                };
                self.record_fault(point, fault);
                self.reached(Sometimes::LongDelayDelivered);
                Delivery::Once(delay + extra_delay_us)
            }
            Fate::Duplicate { second_delay_us } => {
                let fault = Fault::Duplicate {
                    message: id,
                    second_delay_us,
                };
                self.record_fault(point, fault);
                Delivery::Twice(delay, second_delay_us)
            }
            Fate::Hold | Fate::DeliverAndHold => {
                let copy = message.expect("only a Raft message is held").clone();
                if let Some(driver) = self.driver.as_mut() {
                    driver.hold(copy);
                }
                match fate {
                    Fate::Hold => Delivery::Held,
                    _ => Delivery::Once(delay),
                }
            }
        }
    }

    /// A reply to a client the world does not run: the driver's (a
    /// scenario's operation).
    fn foreign_reply(&mut self, client: u64, reply: &Reply) {
        if let Some(driver) = self.driver.as_mut() {
            driver.on_foreign_reply(client, reply);
        }
        if let Reply::Done(result) = reply {
            if let Some(id) = self.foreign_ops.remove(&client) {
                self.record_complete(id, OpOutcome::Ok(result.clone()));
            }
        }
    }

    /// Records in the history an operation of a client the world does not
    /// run (a scenario's), so that the linearizability checker sees it; its
    /// first answer completes it.
    pub(crate) fn record_foreign_invoke(&mut self, client: u64, op: KvOp) {
        let id = self.record_invoke(client, op);
        self.foreign_ops.insert(client, id);
    }

    /// The name of the next message from `from` to `to` about `about`.
    fn next_message_id(&mut self, from: Endpoint, to: Endpoint, about: About) -> MessageId {
        let nth = self.stream_counts.next(MessageId::stream(from, to, &about));
        MessageId {
            from,
            to,
            about,
            nth,
        }
    }

    /// Node `node` goes on: what waited for it happens now, in order.
    pub(crate) fn resume(&mut self, node: NodeId) {
        self.timeline_pause(node, false, false);
        self.paused[node as usize - 1] = false;
        // Its clock first: a process that resumes sees the time that passed
        // before it reads what waited (a lease it held has run out by then).
        let (ticks, others): (Vec<Event>, Vec<Event>) =
            std::mem::take(&mut self.deferred[node as usize - 1])
                .into_iter()
                .partition(|event| matches!(event, Event::Tick { .. }));
        for event in ticks.into_iter().chain(others) {
            self.queue.push(self.now_us, event);
        }
    }

    /// A crashed node is no longer paused, and what waited for it is gone.
    pub(crate) fn forget_paused(&mut self, node: NodeId) {
        self.timeline_pause(node, false, true);
        self.paused[node as usize - 1] = false;
        self.deferred[node as usize - 1].clear();
    }

    /// The faults injected so far, in order.
    pub fn schedule(&self) -> &[Scheduled] {
        &self.schedule
    }

    /// Messages sent so far, node and client (lost ones too).
    pub fn messages_sent(&self) -> u64 {
        self.messages_sent
    }

    /// Asks leader `from` to hand its leadership to `to`; nothing if it
    /// does not run or lead, or refuses.
    fn transfer_leadership(&mut self, from: NodeId, to: NodeId) {
        if self.is_paused(from) {
            return;
        }
        let Some(node) = self.hosts[from as usize - 1].node.as_mut() else {
            return;
        };
        // A transfer to the same node already under way goes on with its
        // own clock: only one that starts here is judged.
        let starts = node.status().lead_transferee.is_none();
        let result = node.transfer_leader(to);
        if self.trace.is_logging() {
            let line = match &result {
                Ok(()) => format!("n{from} is asked to hand leadership to n{to}"),
                Err(error) => format!("n{from} refuses to hand leadership to n{to}: {error}"),
            };
            self.trace.log_detail(&line);
        }
        if result.is_ok() {
            self.pending_transfer = Some((from, to));
            if starts {
                self.note_transfer(from, to);
            }
            self.after_input(from);
        }
    }

    /// Whether node `id` runs and leads.
    fn is_leader(&self, id: NodeId) -> bool {
        self.host_ref(id)
            .status()
            .is_some_and(|s| s.role == raft_core::Role::Leader)
    }

    /// Notes what a change of the network's cuts reached: a leader cut off
    /// with a minority, or the end of a partial partition that one leader
    /// led through.
    pub(crate) fn note_network_change(&mut self) {
        let majority = self.params.cluster_size / 2 + 1;
        if let Some(leader) = self.current_leader() {
            if self.network.reach(leader) < majority {
                self.reached(Sometimes::LeaderIsolated);
                self.note_leader_loss();
            } else {
                self.note_leader_back();
            }
        }
        self.check_rejoining_terms();
        let partial = self.network.is_partial_partition();
        let leading = |world: &World| {
            world
                .current_leader()
                .map(|id| (id, world.host_ref(id).status().map_or(0, |s| s.term)))
        };
        match (self.partial_partition_since, partial) {
            (None, true) => self.partial_partition_since = Some((self.now_us, leading(self))),
            (Some((since, leader)), false) => {
                self.partial_partition_since = None;
                // Long enough for a disruptive election to have happened.
                let election_us =
                    2 * u64::from(self.params.election_timeout_ticks_min) * self.params.tick_us;
                if leader.is_some() && leader == leading(self) && self.now_us - since >= election_us
                {
                    self.reached(Sometimes::PartialPartitionStableLeader);
                }
            }
            _ => {}
        }
    }

    /// With PreVote, a node cut off from every other cannot raise its term
    /// (no pre-vote can reach it); one that did and rejoins above the
    /// leader's term forces a healthy leader down: reported as
    /// `liveness-stable-leader`.
    fn check_rejoining_terms(&mut self) {
        for id in self.params.all_node_ids() {
            let term = self.host_ref(id).status().map(|s| s.term);
            let alone = self.network.is_alone(id);
            let slot = id as usize - 1;
            match (self.alone_since[slot], alone) {
                (None, true) => self.alone_since[slot] = term,
                (Some(before), false) => {
                    self.alone_since[slot] = None;
                    let Some(now) = term else { continue };
                    let leader = self
                        .current_leader()
                        .filter(|&leader| leader != id)
                        .and_then(|leader| Some((leader, self.host_ref(leader).status()?.term)));
                    if let Some((leader, leader_term)) = leader {
                        if self.params.features.pre_vote && now > before && now > leader_term {
                            let seen = format!(
                                "n{id}, cut off from every node in term {before}, rejoins in term {now}, above leader n{leader}'s term {leader_term}: it will force the leader down"
                            );
                            self.liveness(
                                Invariant::LivenessStableLeader,
                                "with PreVote, a node cut off alone keeps its term and rejoins without deposing the leader",
                                seen,
                            );
                            return;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The cluster lost its working leader now (if it had one and had not
    /// lost it already).
    pub(crate) fn note_leader_loss(&mut self) {
        if self.had_leader && self.leader_lost_at.is_none() {
            self.leader_lost_at = Some(self.now_us);
        }
    }

    /// A lost leader works again (healed, resumed) before anyone replaced
    /// it: no recovery to time.
    fn note_leader_back(&mut self) {
        let majority = self.params.cluster_size / 2 + 1;
        if let Some(leader) = self.current_leader() {
            if !self.is_paused(leader) && self.network.reach(leader) >= majority {
                self.leader_lost_at = None;
            }
        }
    }

    /// How long each recovery took so far: from a leader's loss (crash,
    /// pause, step-down, cut off) to the next new leader, in virtual time.
    pub fn leader_outages_us(&self) -> &[u64] {
        &self.leader_outages_us
    }

    /// Elections won so far: how often a node became leader of a new term.
    pub fn elections(&self) -> u64 {
        self.elections
    }

    /// The situations this run reached so far.
    pub fn coverage(&self) -> Coverage {
        self.coverage
    }

    /// Whether `id` is handing its leadership over.
    pub(crate) fn is_transferring_from(&self, id: NodeId) -> bool {
        self.pending_transfer.is_some_and(|(from, _)| from == id)
    }

    /// Notes a transfer that `id`, still leading, gave up.
    pub(crate) fn note_transfer_end(&mut self, id: NodeId, transferee: Option<NodeId>) {
        if transferee.is_none() && self.pending_transfer.is_some_and(|(from, _)| from == id) {
            self.pending_transfer = None;
            self.reached(Sometimes::TransferAbandoned);
        }
    }

    /// Notes that the run reached `situation`.
    pub(crate) fn reached(&mut self, situation: Sometimes) {
        self.coverage = self.coverage.with(situation);
    }

    /// The delay a clog adds to the link `from -> to` now (0: none).
    pub fn network_clog_us(&self, from: NodeId, to: NodeId) -> u64 {
        self.network.clog_us(from, to)
    }

    /// Whether node `id` is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.paused[id as usize - 1]
    }

    /// The driver, as what it is (a scenario reads its own).
    pub fn driver<D: Driver>(&self) -> Option<&D> {
        self.driver.as_ref()?.as_any().downcast_ref()
    }

    /// The driver, to be changed as what it is.
    pub fn driver_mut<D: Driver>(&mut self) -> Option<&mut D> {
        self.driver.as_mut()?.as_any_mut().downcast_mut()
    }

    /// The one dispatch: each event to the code it concerns (the table in
    /// the module documentation says where).
    fn handle(&mut self, event: Event) {
        match event {
            Event::Tick { .. } if self.options.manual_ticks => {}
            Event::Tick { node, incarnation } => self.on_tick(node, incarnation),
            Event::Deliver(message) => self.on_deliver(message),
            Event::FsyncDone { node, incarnation } => self.on_fsync_done(node, incarnation),
            Event::ClientRequest { node, request } => self.on_client_request(node, request),
            Event::ClientReply {
                client,
                seq,
                attempt,
                reply,
            } if (client as usize) < self.clients.len() => {
                self.on_client_reply(client, seq, attempt, reply)
            }
            Event::ClientReply { client, reply, .. } => self.foreign_reply(client, &reply),
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            } => self.on_client_timeout(client, seq, attempt),
            Event::ClientWake { client } => self.on_client_wake(client),
            Event::ClientRetry {
                client,
                seq,
                attempt,
            } => self.on_client_retry(client, seq, attempt),
            Event::Restart { node, incarnation } => self.on_restart(node, incarnation),
            Event::HealStart => self.on_heal_start(),
            Event::HealCheck => self.on_heal_check(),
        }
    }

    /// A digest of the event for the trace: enough that any divergence in what
    /// happened changes it.
    fn digest(&self, event: &Event) -> u64 {
        let mut hash = mix_into(self.now_us, event.code());
        match event {
            Event::Tick { node, .. }
            | Event::FsyncDone { node, .. }
            | Event::Restart { node, .. } => {
                hash = mix_into(hash, *node);
            }
            Event::Deliver(message) => {
                hash = mix_into(hash, message.from << 32 | message.to);
                hash = mix_into(hash, message.term);
                hash = mix_into(hash, crate::world::describe::message_digest(&message.body));
            }
            Event::ClientRequest { node, request } => {
                hash = mix_into(hash, *node << 32 | request.client);
                hash = mix_into(hash, request.seq << 8 | request.attempt as u64);
            }
            Event::ClientReply {
                client,
                seq,
                attempt,
                ..
            }
            | Event::ClientTimeout {
                client,
                seq,
                attempt,
            }
            | Event::ClientRetry {
                client,
                seq,
                attempt,
            } => {
                hash = mix_into(hash, *client << 40 | *seq << 8 | *attempt as u64);
            }
            Event::ClientWake { client } => hash = mix_into(hash, *client),
            Event::HealStart | Event::HealCheck => {}
        }
        hash
    }

    /// Records the invocation of a client operation in the history.
    pub(crate) fn record_invoke(&mut self, client: u64, op: KvOp) -> OpId {
        if let Some(online) = &mut self.online {
            let id = OpId(self.history.len() as u32);
            online.on_invoke(id, client, &op, self.now_us);
            let recorded = self.history.invoke(client, op, self.now_us);
            assert_eq!(
                recorded, id,
                "the online checker and the history number operations alike"
            );
            return recorded;
        }
        self.history.invoke(client, op, self.now_us)
    }

    /// Records how a client operation ended, and checks the history so far.
    pub(crate) fn record_complete(&mut self, id: OpId, outcome: OpOutcome<KvResult>) {
        if let Some(online) = &mut self.online {
            if let Err(explanation) = online.on_complete(id, &outcome, self.now_us) {
                self.report(linearizability_violation(explanation.to_string()));
            }
        }
        self.history.complete(id, outcome, self.now_us);
    }

    /// Records a violation seen at the current step; the run stops after this event.
    pub(crate) fn report(&mut self, violation: Violation) {
        if self.outcome.is_none() {
            self.outcome = Some(Outcome::Violation(Box::new(ViolationReport {
                violation,
                step: self.trace.events(),
                time_us: self.now_us,
            })));
        }
    }

    /// raft-core broke a promise its API documents to the host: the run
    /// ends as a harness error naming it (not a Raft property, but a bug).
    pub(crate) fn contract_broken(&mut self, what: String) {
        if self.outcome.is_none() {
            self.outcome = Some(Outcome::Error(format!(
                "raft-core broke its contract with the host: {what}"
            )));
        }
    }

    /// Records the result of a checker call.
    pub(crate) fn check(&mut self, result: Result<(), Violation>) {
        if let Err(violation) = result {
            self.report(violation);
        }
    }

    /// The host of node `id`.
    pub(crate) fn host(&mut self, id: NodeId) -> &mut Host {
        &mut self.hosts[id as usize - 1]
    }

    /// The host of node `id`, to read.
    pub(crate) fn host_ref(&self, id: NodeId) -> &Host {
        &self.hosts[id as usize - 1]
    }

    /// The run's parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The client history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Virtual time now.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// The hosts, node 1 first.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub(crate) fn liveness(&mut self, invariant: Invariant, expected: &str, seen: String) {
        self.report(Violation {
            invariant,
            nodes: Vec::new(),
            index: None,
            term: None,
            expected: expected.to_string(),
            seen,
        });
    }
}
