//! One run from a seed: build it, run it, check the history, report it.

use invariants::linearizability::{check_kv, CheckOutcome};
use invariants::Invariant;
use serde_json::json;

use crate::drivers::nemesis::NemesisDriver;
use crate::drivers::{Driver, ScheduleDriver, Scheduled};
use crate::world::coverage::Coverage;
use crate::world::params::{Params, RunOptions};
use crate::world::{
    format_time, linearizability_violation, Outcome, ViolationReport, World, WorldOptions,
    RUN_HISTORY_BUDGET,
};

/// The verdict of the end-of-run linearizability check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linearizability {
    /// Not checked (the run ended before, with a violation or an error).
    Unchecked,
    /// The history is linearizable.
    Linearizable,
    /// It is not (the run's outcome is then a linearizability violation).
    NotLinearizable,
    /// The checker ran out of its budget: neither pass nor fail.
    Unknown,
}

impl Linearizability {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Linearizability::Unchecked => "unchecked",
            Linearizability::Linearizable => "linearizable",
            Linearizability::NotLinearizable => "not-linearizable",
            Linearizability::Unknown => "unknown",
        }
    }
}

/// The summary of one run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The parameters drawn from the seed.
    pub params: Params,
    /// How it ended.
    pub outcome: Outcome,
    /// The trace hash.
    pub trace_hash: u64,
    /// Events handled.
    pub events: u64,
    /// Virtual time at the end.
    pub virtual_time_us: u64,
    /// Client operations recorded.
    pub operations: usize,
    /// The end-of-run history check.
    pub linearizability: Linearizability,
    /// What the user asked for (to build the replay command).
    pub options: RunOptions,
    /// The situations the run reached.
    pub coverage: Coverage,
    /// How long each recovery took: from a leader's loss to the next new
    /// leader, in virtual time.
    pub leader_outages_us: Vec<u64>,
    /// Elections won in the run.
    pub elections: u64,
}

/// Runs seed `seed` and returns the finished world (for replay) and its report.
pub fn execute(seed: u64, options: &RunOptions, sim_options: WorldOptions) -> (World, RunReport) {
    let params = Params::draw(seed, options);
    let nemesis = Box::new(NemesisDriver::new(&params));
    execute_driven(params, options, sim_options, nemesis)
}

/// Runs seed `seed` with the nemesis off, its faults those of `schedule`
/// (a schedule an earlier run recorded: see [`World::schedule`]).
pub fn execute_schedule(
    seed: u64,
    options: &RunOptions,
    sim_options: WorldOptions,
    schedule: &[Scheduled],
) -> (World, RunReport) {
    let params = Params::draw(seed, options);
    let driver = Box::new(ScheduleDriver::new(schedule));
    execute_driven(params, options, sim_options, driver)
}

/// Runs the world of `params` (drawn from a seed, maybe overridden) with
/// the nemesis off, its faults those of `schedule`.
pub fn execute_params_schedule(
    params: Params,
    options: &RunOptions,
    world_options: WorldOptions,
    schedule: &[Scheduled],
) -> (World, RunReport) {
    let driver = Box::new(ScheduleDriver::new(schedule));
    execute_driven(params, options, world_options, driver)
}

/// Runs the world of `params` with `driver` deciding its faults.
fn execute_driven(
    params: Params,
    options: &RunOptions,
    sim_options: WorldOptions,
    driver: Box<dyn Driver>,
) -> (World, RunReport) {
    let mut sim = World::new(params, sim_options, driver);
    // A panic is a broken assertion inside raft-core or the harness: report it as
    // this seed's internal error instead of taking the whole campaign down.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run().clone()));
    let mut outcome =
        ran.unwrap_or_else(|payload| Outcome::Error(format!("panic: {}", panic_message(&payload))));
    let linearizability = final_history_check(&sim, &mut outcome);
    let report = RunReport {
        params: sim.params().clone(),
        outcome,
        trace_hash: sim.trace().hash(),
        events: sim.trace().events(),
        virtual_time_us: sim.now_us(),
        operations: sim.history().len(),
        linearizability,
        options: options.clone(),
        coverage: sim.coverage(),
        leader_outages_us: sim.leader_outages_us().to_vec(),
        elections: sim.elections(),
    };
    (sim, report)
}

/// The whole-history check, the last word on linearizability. A passing run is
/// checked; a run the online checker stopped is checked again, and if the two
/// checkers disagree that is the harness's own bug, reported as an error.
fn final_history_check(sim: &World, outcome: &mut Outcome) -> Linearizability {
    let stopped_online = matches!(outcome, Outcome::Violation(r) if r.violation.invariant == Invariant::Linearizability);
    if *outcome != Outcome::Pass && !stopped_online {
        return Linearizability::Unchecked;
    }
    match check_kv(sim.history(), RUN_HISTORY_BUDGET) {
        CheckOutcome::Linearizable if stopped_online => {
            *outcome = Outcome::Error(
                "the online and whole-history linearizability checks disagree".into(),
            );
            Linearizability::Linearizable
        }
        CheckOutcome::Linearizable => Linearizability::Linearizable,
        CheckOutcome::Unknown { reason } => {
            *outcome = Outcome::Unknown(format!(
                "the linearizability check of {} operations was undecided ({reason})",
                sim.history().len()
            ));
            Linearizability::Unknown
        }
        CheckOutcome::NotLinearizable(_) if stopped_online => Linearizability::NotLinearizable,
        CheckOutcome::NotLinearizable(explanation) => {
            *outcome = Outcome::Violation(Box::new(ViolationReport {
                violation: linearizability_violation(explanation.to_string()),
                step: sim.trace().events(),
                time_us: sim.now_us(),
            }));
            Linearizability::NotLinearizable
        }
    }
}

/// A caught panic's message, with where it was raised when [`quiet_panics`]
/// recorded it.
pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into());
    match LAST_PANIC_LOCATION.with(|cell| cell.borrow_mut().take()) {
        Some(location) => format!("{message} at {location}"),
        None => message,
    }
}

thread_local! {
    static LAST_PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic output (a backtrace per panic) with nothing: the
/// panic's message and location are reported as the run's error instead.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        LAST_PANIC_LOCATION.with(|cell| *cell.borrow_mut() = location);
    }));
}

/// Runs seed `seed` with the checks on and returns its report.
pub fn run_seed(seed: u64, options: &RunOptions) -> RunReport {
    execute(seed, options, WorldOptions::default()).1
}

/// The command that replays a run.
pub fn replay_command(seed: u64, options: &RunOptions) -> String {
    let mut command = format!("raftsim replay --seed {seed}");
    if options.profile != crate::world::params::Profile::Swarm {
        command.push_str(&format!(" --profile {}", options.profile.name()));
    }
    for bug in options.bugs.iter() {
        command.push_str(&format!(" --bug {}", bug.name()));
    }
    for fault in &options.forced_faults {
        command.push_str(&format!(" --fault {}", fault.name()));
    }
    command
}

impl RunReport {
    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }

    /// "pass", "violation", "error" or "unknown".
    pub fn outcome_name(&self) -> &'static str {
        match self.outcome {
            Outcome::Pass => "pass",
            Outcome::Violation(_) => "violation",
            Outcome::Error(_) => "error",
            Outcome::Unknown(_) => "unknown",
        }
    }

    /// The process exit code of this run alone: 0 pass, 1 violation, 4 an
    /// internal error or an undecided history check (a limit of the harness).
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            Outcome::Pass => 0,
            Outcome::Violation(_) => 1,
            Outcome::Error(_) | Outcome::Unknown(_) => 4,
        }
    }

    /// The trace hash as 16 hex digits.
    pub fn trace_hash_hex(&self) -> String {
        format!("{:016x}", self.trace_hash)
    }

    /// The broken invariant, if any.
    pub fn invariant(&self) -> Option<Invariant> {
        match &self.outcome {
            Outcome::Violation(report) => Some(report.violation.invariant),
            _ => None,
        }
    }

    /// One JSON object (the form of `run --json` and each line of `fuzz --json`);
    /// a run that did not pass carries its `text` as the text form prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = json!({
            "seed": self.seed(),
            "outcome": self.outcome_name(),
            "trace_hash": self.trace_hash_hex(),
            "events": self.events,
            "virtual_time_us": self.virtual_time_us,
            "operations": self.operations,
            "linearizability": self.linearizability.name(),
            "cluster_size": self.params.cluster_size,
            "faults": self.params.faults,
            "bugs": self.params.bugs.iter().map(|b| b.name()).collect::<Vec<_>>(),
            "coverage": self.coverage.names(),
            "pre_vote": self.params.features.pre_vote,
            "leader_outages_us": self.leader_outages_us,
            "elections": self.elections,
        });
        match &self.outcome {
            Outcome::Pass => {}
            Outcome::Violation(report) => {
                value["invariant"] = json!(report.violation.invariant.name());
                value["step"] = json!(report.step);
                value["time_us"] = json!(report.time_us);
                value["nodes"] = json!(report.violation.nodes);
                value["expected"] = json!(report.violation.expected);
                value["seen"] = json!(report.violation.seen);
                value["replay"] = json!(replay_command(self.seed(), &self.options));
            }
            Outcome::Error(message) => {
                value["error"] = json!(message);
                value["replay"] = json!(replay_command(self.seed(), &self.options));
            }
            Outcome::Unknown(reason) => {
                value["unknown"] = json!(reason);
                value["replay"] = json!(replay_command(self.seed(), &self.options));
            }
        }
        // The failure as the text form prints it: the JSON fields alone do
        // not hold all of it (a violation's index and term), and `raftsim
        // merge` prints the text of shares that were written as JSON.
        if let Some(text) = self.failure_text() {
            value["text"] = json!(text);
        }
        value
    }

    /// What `raftsim run` prints of the outcome: the failure text, or for a
    /// pass one line with the events, virtual time, operations and trace hash.
    pub fn outcome_text(&self) -> String {
        self.failure_text().unwrap_or_else(|| {
            format!(
                "pass: {} events, {} virtual, {} operations ({}), trace hash {}",
                self.events,
                format_time(self.virtual_time_us),
                self.operations,
                self.linearizability.name(),
                self.trace_hash_hex()
            )
        })
    }

    /// A few lines for a person: what broke, and how to replay it.
    pub fn failure_text(&self) -> Option<String> {
        let replay = replay_command(self.seed(), &self.options);
        match &self.outcome {
            Outcome::Pass => None,
            Outcome::Violation(report) => Some(format!(
                "seed {} FAILED {}\n  {}\n  replay: {replay}",
                self.seed(),
                report.violation.invariant.name(),
                report
            )),
            Outcome::Error(message) => Some(format!(
                "seed {} ERROR {message}\n  replay: {replay}",
                self.seed()
            )),
            Outcome::Unknown(reason) => Some(format!(
                "seed {} UNKNOWN {reason}: neither passed nor failed\n  replay: {replay}",
                self.seed()
            )),
        }
    }
}

/// Where two runs of the same seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The first event (1-based) whose trace hash differs.
    pub event: u64,
    /// That event as the first run saw it.
    pub first: String,
    /// That event as the second run saw it.
    pub second: String,
}

/// Runs the seed twice; `None` if both gave the same trace, else where they split.
pub fn check_determinism(seed: u64, options: &RunOptions) -> Option<Divergence> {
    let hashed = WorldOptions {
        per_event_hashes: true,
        ..WorldOptions::default()
    };
    let (first, _) = execute(seed, options, hashed.clone());
    let (second, _) = execute(seed, options, hashed);
    let a = first.trace().per_event().expect("kept");
    let b = second.trace().per_event().expect("kept");
    let index = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))?;
    let event = index as u64 + 1;
    let describe = || {
        let options_until = WorldOptions {
            log_capacity: Some(1),
            max_events: event,
            ..WorldOptions::default()
        };
        let (sim, _) = execute(seed, options, options_until);
        sim.trace()
            .log_lines()
            .and_then(|(_, lines)| lines.last().cloned())
            .unwrap_or_default()
    };
    Some(Divergence {
        event,
        first: describe(),
        second: describe(),
    })
}
