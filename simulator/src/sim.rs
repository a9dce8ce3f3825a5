//! The event loop: one thread, one queue, one run.
//!
//! A run is drawn from its seed ([`Params`]), then events are popped in
//! (time, sequence) order and handed to the host, network, disk, client or
//! nemesis code they concern. After every event the observations of that step go
//! to the invariant checkers and the event goes into the trace. The chaos phase
//! injects faults; the heal phase stops them and checks liveness.

use std::fmt;

use invariants::linearizability::{
    Budget, History, KvOp, KvResult, OnlineKvChecker, OpId, Outcome as OpOutcome,
};
use invariants::{Invariant, SafetyChecker, Violation};
use raft_core::NodeId;

use crate::client::Client;
use crate::event::{Event, EventQueue};
use crate::host::Host;
use crate::kv::mix_into;
use crate::network::Network;
use crate::params::Params;
use crate::rng::{Rng, Stream};
use crate::trace::Trace;

/// How a run is carried out (not what it simulates: that is [`Params`]).
#[derive(Clone, Debug)]
pub struct SimOptions {
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
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            checks: true,
            online_linearizability: true,
            per_event_hashes: false,
            log_capacity: None,
            log_ticks: true,
            max_events: 20_000_000,
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

/// The history-check budget of a simulated run. Far below the default (made for
/// third-party histories): a campaign must not spend seconds on one history
/// whose unknown appends explode the search; running out says `unknown`, counted
/// apart and never as a pass. The steps (about a second's worth) are the limit
/// meant to bind; the memory is enough for them (a search keeps at most a memo
/// entry a step): with 64 MiB, the 253-operation history of seed 5010960 under
/// `--bug stale-read` ran out of memory before it proved its violation, which
/// takes 100 MiB.
pub const RUN_HISTORY_BUDGET: Budget = Budget {
    max_steps: 3_000_000,
    max_memory_bytes: 256 << 20,
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
pub struct Sim {
    pub(crate) params: Params,
    pub(crate) options: SimOptions,
    pub(crate) now_us: u64,
    pub(crate) queue: EventQueue,
    // Invariant: hosts[i] is node i + 1.
    pub(crate) hosts: Vec<Host>,
    pub(crate) network: Network,
    pub(crate) disk_rng: Rng,
    pub(crate) nemesis_rng: Rng,
    pub(crate) workload_rng: Rng,
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
    /// Scenario message rules (drop, hold, duplicate); `None` outside scenarios.
    pub(crate) message_filter: Option<crate::control::MessageFilter>,
}

impl Sim {
    /// Builds the world of `params` at time zero, with every node started.
    pub fn new(params: Params, options: SimOptions) -> Sim {
        let voters: Vec<NodeId> = params.node_ids().collect();
        let mut sim = Sim {
            hosts: voters.iter().map(|&id| Host::new(id, &params)).collect(),
            network: Network::new(&params),
            disk_rng: Rng::new(params.seed, Stream::Disk),
            nemesis_rng: Rng::new(params.seed, Stream::Nemesis),
            workload_rng: Rng::new(params.seed, Stream::Workload),
            clients: (0..params.client_count)
                .map(|id| Client::new(id, params.cluster_size))
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
            message_filter: None,
            params,
            options,
        };
        for id in voters {
            sim.start_node(id);
        }
        for client in 0..sim.params.client_count {
            sim.queue.push(0, Event::ClientWake { client });
        }
        sim.schedule_nemesis();
        sim.queue
            .push(sim.params.chaos_duration_us, Event::HealStart);
        sim
    }

    /// Runs until the run passes, breaks a property, or hits a limit.
    pub fn run(&mut self) -> &Outcome {
        while self.outcome.is_none() {
            let Some((time_us, event)) = self.queue.pop() else {
                self.outcome = Some(Outcome::Error("the event queue ran dry".into()));
                break;
            };
            if self.trace.events() >= self.options.max_events {
                let limit = self.options.max_events;
                self.outcome = Some(Outcome::Error(format!("the run exceeded {limit} events")));
                break;
            }
            debug_assert!(time_us >= self.now_us, "time went backwards");
            self.now_us = time_us;
            self.trace.record(self.digest(&event));
            if self.trace.is_logging() {
                let line = self.describe(&event);
                let shown = self.options.log_ticks || !matches!(event, Event::Tick { .. });
                self.trace.log_event(line, shown);
            }
            self.handle(event);
        }
        self.outcome
            .as_ref()
            .expect("the loop ends only with an outcome")
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Tick { node, incarnation } => self.on_tick(node, incarnation),
            Event::Deliver(message) => self.on_deliver(message),
            Event::FsyncDone { node, incarnation } => self.on_fsync_done(node, incarnation),
            Event::ClientRequest { node, request } => self.on_client_request(node, request),
            Event::ClientReply {
                client,
                seq,
                attempt,
                reply,
            } => self.on_client_reply(client, seq, attempt, reply),
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
            Event::Nemesis => self.on_nemesis(),
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
                hash = mix_into(hash, crate::describe::message_digest(&message.body));
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
            Event::Nemesis | Event::HealStart | Event::HealCheck => {}
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
