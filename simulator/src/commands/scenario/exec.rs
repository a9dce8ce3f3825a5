//! Carries out a parsed scenario on a scripted world and records what each
//! command printed, which expectations failed, and which violations were not
//! expected.

use std::collections::BTreeSet;

use raft_core::{Bug, Bugs, NodeId, Role};

use super::ast::{
    ClientOp, ClusterSpec, Command, Condition, ConfSpec, Expectation, Scenario, Step,
};
use crate::drivers::script::{ControlError, OpState, Scripted, ScriptedWorld, StepLimits};
use crate::drivers::Fault;
use crate::world::describe::{describe_body, describe_log, describe_op};
use crate::world::rng::Ratio;
use crate::world::timeline::TimelineLimits;

/// A reason a scenario fails, at a command of its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The 1-based line of the command at fault (or that caused a violation).
    pub line: usize,
    /// The 1-based column where that command starts.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// What running a scenario produced.
#[derive(Clone, Debug, Default)]
pub struct Execution {
    /// The output of every step, in order (steps that did not run have none).
    pub outputs: Vec<Vec<String>>,
    /// Failed expectations, commands that could not be carried out, unexpected violations.
    pub failures: Vec<Failure>,
    /// A panic in the harness or in raft-core while a step ran: a bug of
    /// raftsim, not of the scenario. The scenario stopped at that step.
    pub internal_error: Option<Failure>,
}

/// What the transcript remembers of a node, to print what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct View {
    role: Role,
    term: u64,
    commit: u64,
    log_terms: Vec<u64>,
}

/// The state of one execution.
struct Executor {
    world: Scripted,
    views: Vec<Option<View>>,
    // Invariant: claimed.len() == world.violations().len().
    claimed: Vec<bool>,
    // Where the step that caused violation i starts: (line, col).
    causes: Vec<(usize, usize)>,
    failures: Vec<Failure>,
    // Where the step being run starts.
    line: usize,
    col: usize,
    // Invariants whose first violation was printed; later ones are counted only.
    printed: BTreeSet<&'static str>,
}

/// The world a cluster spec describes.
pub fn world_of(spec: &ClusterSpec) -> ScriptedWorld {
    let bugs: Bugs = spec
        .bugs
        .iter()
        .filter_map(|name| Bug::from_name(name))
        .collect();
    ScriptedWorld {
        cluster_size: spec.size,
        seed: spec.seed,
        bugs,
        max_entries_per_message: spec.max_entries_per_message,
        max_inflight_messages: spec.max_inflight,
        election_timeout_ticks_min: spec.election_ticks,
        heartbeat_interval_ticks: spec.heartbeat_ticks,
        tick_us: spec.tick_us,
        delay_us: spec.delay_us,
        jitter_us: spec.jitter_us,
        fsync_us: spec.fsync_us,
        drop_ratio: Ratio::new(spec.drop_percent, 100),
        duplicate_ratio: Ratio::new(spec.duplicate_percent, 100),
        manual_ticks: spec.manual_ticks,
        features: spec.features,
        max_drift_ppt: spec.max_drift_ppt,
        spare_nodes: spec.spares,
        compact_every: spec.compact_every,
        snapshot_chunk_bytes: spec.snapshot_chunk_bytes,
    }
}

/// Runs `scenario` (which the parser checked: it starts with `cluster`), each
/// step within the default [`StepLimits`].
pub fn execute(scenario: &Scenario) -> Execution {
    execute_with(scenario, StepLimits::default())
}

/// Runs `scenario`, each step within `limits`. A step that reaches a limit
/// fails and ends the scenario; a panic ends it with an internal error.
pub fn execute_with(scenario: &Scenario, limits: StepLimits) -> Execution {
    execute_recording(scenario, limits, None).0
}

/// [`execute_with`], with the world's timeline recorded within `timeline`
/// if given (`raftsim scenario --html`), and the scripted world handed back
/// as it ended; `None` for a recorded run (`world seed=N`), whose world is
/// a run of its own, or a world that never started.
pub fn execute_recording(
    scenario: &Scenario,
    limits: StepLimits,
    timeline: Option<TimelineLimits>,
) -> (Execution, Option<Scripted>) {
    let mut execution = Execution::default();
    let Some(first) = scenario.steps.first() else {
        execution.failures.push(Failure {
            line: 1,
            col: 1,
            message: "a scenario starts with `cluster N`".into(),
        });
        return (execution, None);
    };
    let spec = match &first.command {
        Command::Cluster(spec) => spec,
        Command::World(spec) => return (super::recorded::execute(scenario, spec), None),
        _ => {
            execution.failures.push(Failure {
                line: first.line,
                col: command_col(first),
                message: "a scenario starts with `cluster N` (or `world seed=N`)".into(),
            });
            return (execution, None);
        }
    };
    let started = guarded(|| Scripted::new(&world_of(spec), limits));
    let world = match started {
        Ok(mut world) => {
            if let Some(limits) = timeline {
                world.record_timeline(limits);
            }
            world
        }
        Err(message) => {
            execution.internal_error = Some(failure_at(first, message));
            return (execution, None);
        }
    };
    let mut executor = Executor {
        views: vec![None; (spec.size + spec.spares) as usize],
        world,
        claimed: Vec::new(),
        causes: Vec::new(),
        failures: Vec::new(),
        line: first.line,
        col: command_col(first),
        printed: BTreeSet::new(),
    };
    executor.refresh_views();
    execution.outputs.push(Vec::new());
    for step in &scenario.steps[1..] {
        (executor.line, executor.col) = (step.line, command_col(step));
        let mut out = Vec::new();
        let ran = guarded(|| executor.run_step(&step.command, &mut out));
        execution.outputs.push(out);
        match ran {
            Ok(true) => {}
            Ok(false) => break,
            Err(message) => {
                execution.internal_error = Some(failure_at(step, message));
                execution.failures = executor.failures;
                return (execution, Some(executor.world));
            }
        }
    }
    let reported = guarded(|| executor.report_unclaimed());
    if let Err(message) = reported {
        execution.internal_error = Some(failure_at(first, message));
    }
    execution.failures = executor.failures;
    (execution, Some(executor.world))
}

/// The column where a step's command starts (1 for a step built, not parsed).
fn command_col(step: &Step) -> usize {
    step.source.as_deref().map_or(1, |source| {
        source.chars().take_while(|c| c.is_whitespace()).count() + 1
    })
}

pub(super) fn failure_at(step: &Step, message: String) -> Failure {
    Failure {
        line: step.line,
        col: command_col(step),
        message,
    }
}

/// Runs `f`; a panic becomes `internal error: MESSAGE`. A panic is a broken
/// assertion in raftsim or raft-core: reported, not propagated, so that the
/// runner can name the file and line and go on with the next file.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = crate::commands::run::panic_message(&payload);
        format!("internal error (a bug of raftsim, please report it): panic: {message}")
    })
}

/// A virtual time for transcripts: `@12.5ms`, `@1.25s`.
fn at(time_us: u64) -> String {
    let (whole, fraction, unit) = if time_us >= 1_000_000 {
        (time_us / 1_000_000, time_us % 1_000_000, (6, "s"))
    } else {
        (time_us / 1_000, time_us % 1_000, (3, "ms"))
    };
    let mut text = format!("@{whole}");
    if fraction > 0 {
        let digits = format!("{fraction:0width$}", width = unit.0);
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text.push_str(unit.1);
    text
}

impl Executor {
    fn fail(&mut self, message: String) {
        self.failures.push(Failure {
            line: self.line,
            col: self.col,
            message,
        });
    }

    /// Runs one step (not `cluster`) within the step limits; `false` when the
    /// scenario cannot go on (a limit was reached).
    fn run_step(&mut self, command: &Command, out: &mut Vec<String>) -> bool {
        self.world.begin_step();
        let result = self.step(command, out);
        self.note_violations(out);
        match result {
            Ok(()) => true,
            Err(error) if error.is_fatal() => {
                self.fail(format!(
                    "`{command}`: {error}; the scenario stops here, nothing after this step ran"
                ));
                false
            }
            Err(error) => {
                self.fail(format!("`{command}`: {error}"));
                true
            }
        }
    }

    fn step(&mut self, command: &Command, out: &mut Vec<String>) -> Result<(), ControlError> {
        match command {
            Command::Cluster(_) => unreachable!("the parser allows one cluster, first"),
            Command::Tick { node, count } => self.tick(*node, *count, out)?,
            Command::Campaign { node } => {
                self.world.campaign(*node)?;
                self.print_changes(out, false);
            }
            Command::Run {
                duration_us,
                verbose,
            } => {
                let deadline = self.world.now_us().saturating_add(*duration_us);
                self.run(deadline, None, *verbose, out)?;
            }
            Command::RunUntil {
                until,
                within_us,
                verbose,
            } => self.run_until(until, *within_us, *verbose, out)?,
            Command::Status => self.status(out),
            Command::Held => self.held(out),
            Command::Expect(expectation) => self.expect(expectation),
            Command::Client { node, op } => self.client(*node, op, out)?,
            _ => self.fault(command, out)?,
        }
        Ok(())
    }

    /// Network and node faults.
    fn fault(&mut self, command: &Command, out: &mut Vec<String>) -> Result<(), ControlError> {
        match command {
            Command::Partition { groups } => self.world.partition(groups),
            Command::Isolate { node } => self.world.partition(&[vec![*node]]),
            Command::Cut { from, to } => self.world.set_cut(*from, *to, true),
            Command::Restore { from, to } => self.world.set_cut(*from, *to, false),
            Command::Rule { action, pattern } => self.world.add_rule(*action, pattern.clone()),
            Command::Release { pattern, count } => {
                let released = self.world.release(pattern, *count);
                let plural = if released == 1 { "" } else { "s" };
                out.push(format!("released {released} message{plural}"));
            }
            Command::Heal => self.world.heal(),
            Command::Crash {
                node,
                lose_unsynced,
            } => {
                self.world.crash(*node, *lose_unsynced)?;
                out.push(format!("n{node} down; {}", self.disk_line(*node)));
            }
            Command::Wipe { node } => {
                self.world.wipe(*node)?;
                out.push(format!("n{node} down; disk wiped"));
            }
            Command::Restart { node } => {
                self.world.restart(*node)?;
                out.push(format!("n{node} up: {}", self.node_line(*node, false)));
            }
            Command::Pause { node } => self.world.pause(*node)?,
            Command::Resume { node } => self.world.resume(*node)?,
            Command::Skew { node, ppt } => self.world.inject(Fault::Skew {
                node: *node,
                ppt: *ppt,
            }),
            Command::Unskew { node } => self.world.inject(Fault::Unskew { node: *node }),
            Command::Transfer { from, to } => self.world.transfer(*from, *to)?,
            Command::Clog { from, to, delay_us } => self.world.inject(Fault::Clog {
                from: *from,
                to: *to,
                extra_delay_us: *delay_us,
            }),
            Command::Unclog { from, to } => self.world.inject(Fault::Unclog {
                from: *from,
                to: *to,
            }),
            Command::Stall { from, to, for_us } => self.world.inject(Fault::Stall {
                from: *from,
                to: *to,
                for_us: *for_us,
            }),
            Command::Join { node } => {
                self.world.join(*node)?;
                out.push(format!("n{node} up: {}", self.node_line(*node, false)));
            }
            Command::Replace { node, by } => {
                self.world.replace(*node, *by)?;
                out.push(format!(
                    "n{node} retired, its disk lost; n{by} up: {}",
                    self.node_line(*by, false)
                ));
            }
            Command::Change { at, changes } => {
                let line = match self.world.change(*at, changes.clone())? {
                    Ok(index) => format!("n{at} appends the change at index {index}"),
                    Err(error) => format!("n{at} refuses: {error}"),
                };
                out.push(line);
            }
            Command::Compact { node } => {
                let line = match self.world.compact(*node)? {
                    Some(index) => format!("n{node} snapshots up to index {index}"),
                    None => format!("n{node} has applied nothing past its last snapshot"),
                };
                out.push(line);
            }
            _ => unreachable!("handled in step"),
        }
        self.refresh_views();
        Ok(())
    }

    fn tick(
        &mut self,
        node: Option<NodeId>,
        count: u32,
        out: &mut Vec<String>,
    ) -> Result<(), ControlError> {
        match node {
            Some(id) => self.world.tick(id, count)?,
            None => {
                for _ in 0..count {
                    for id in 1..=self.world.node_count() {
                        if self.world.status(id).is_some() && !self.world.is_paused(id) {
                            self.world.tick(id, 1)?;
                        }
                    }
                }
            }
        }
        self.print_changes(out, false);
        Ok(())
    }

    fn run(
        &mut self,
        deadline_us: u64,
        until: Option<&Condition>,
        verbose: bool,
        out: &mut Vec<String>,
    ) -> Result<bool, ControlError> {
        let violations_before = self.world.violations().len();
        let mut stop =
            |world: &Scripted| until.is_some_and(|c| condition_holds(world, c, violations_before));
        let views = &mut self.views;
        let printed = &mut self.printed;
        let mut shown = violations_before;
        let mut observe = |world: &mut Scripted, delivery: Option<&str>| {
            let time = at(world.now_us());
            if let (true, Some(line)) = (verbose, delivery) {
                let what = line.split_once("] ").map_or(line, |(_, what)| what);
                out.push(format!("{time} {what}"));
            }
            for change in changes(world, views) {
                out.push(format!("{time} {change}"));
            }
            for note in world.take_notes() {
                out.push(format!("{time} {note}"));
            }
            for report in &world.violations()[shown..] {
                if printed.insert(report.violation.invariant.name()) {
                    // A linearizability violation explains itself over several lines.
                    let text = format!("{time} VIOLATION {}", report.violation);
                    out.extend(text.lines().map(str::to_string));
                }
            }
            shown = world.violations().len();
        };
        self.world.run_until(deadline_us, &mut stop, &mut observe)
    }

    fn run_until(
        &mut self,
        until: &Condition,
        within_us: u64,
        verbose: bool,
        out: &mut Vec<String>,
    ) -> Result<(), ControlError> {
        let start = self.world.now_us();
        let reached = self.run(start.saturating_add(within_us), Some(until), verbose, out)?;
        let elapsed = self.world.now_us() - start;
        if reached {
            let after = at(elapsed);
            out.push(format!("{until}: reached after {}", &after[1..]));
        } else {
            let within = super::ast::format_duration(within_us);
            out.push(format!("{until}: NOT reached within {within}"));
            self.fail(format!("run-until {until}: not reached within {within}"));
        }
        Ok(())
    }

    fn client(
        &mut self,
        node: NodeId,
        op: &ClientOp,
        out: &mut Vec<String>,
    ) -> Result<(), ControlError> {
        let number = self.world.propose(node, op.clone())?;
        let op = describe_op(op);
        let line = match &self.world.ops()[number - 1].state {
            OpState::Pending(index) => {
                format!("op{number}: n{node} proposed {op} at index {index}")
            }
            OpState::Refused(hint) => {
                let leader = hint.map_or("no leader known".into(), |l| format!("leader n{l}"));
                format!("op{number}: n{node} refused {op}: not the leader ({leader})")
            }
            OpState::Reading => format!("op{number}: n{node} serves {op} without the log"),
            OpState::Done(_) => unreachable!("an answer needs time to pass"),
        };
        out.push(line);
        self.print_changes(out, false);
        Ok(())
    }

    /// Prints what changed on the nodes since the views were taken.
    fn print_changes(&mut self, out: &mut Vec<String>, timed: bool) {
        let time = at(self.world.now_us());
        for change in changes(&self.world, &mut self.views) {
            out.push(if timed {
                format!("{time} {change}")
            } else {
                change
            });
        }
    }

    fn refresh_views(&mut self) {
        for id in 1..=self.world.node_count() {
            self.views[id as usize - 1] = view(&self.world, id);
        }
    }

    /// Attributes violations seen in this step to its line and prints those the
    /// step's own output has not shown yet.
    fn note_violations(&mut self, out: &mut Vec<String>) {
        let all = self.world.violations();
        for report in &all[self.claimed.len()..] {
            if self.printed.insert(report.violation.invariant.name()) {
                let text = format!("VIOLATION {}", report.violation);
                out.extend(text.lines().map(str::to_string));
            }
            self.causes.push((self.line, self.col));
        }
        self.claimed.resize(all.len(), false);
    }

    /// One failure per invariant with unclaimed violations, at the line that
    /// caused the first of them.
    fn report_unclaimed(&mut self) {
        let all = self.world.violations().to_vec();
        let mut reported = BTreeSet::new();
        for (i, report) in all.iter().enumerate() {
            let name = report.violation.invariant.name();
            if self.claimed[i] || !reported.insert(name) {
                continue;
            }
            let more = all[i + 1..]
                .iter()
                .filter(|r| r.violation.invariant.name() == name)
                .count();
            let more = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            let (line, col) = self.causes[i];
            self.failures.push(Failure {
                line,
                col,
                message: format!(
                    "unexpected violation {}, at step {}{more}; if it is the point, add `expect violation {name}`",
                    report.violation, report.step
                ),
            });
        }
    }

    fn disk_line(&self, id: NodeId) -> String {
        let disk = self.world.disk_state(id);
        let hard = disk.hard_state;
        let snapshot = match &disk.snapshot {
            Some(snapshot) => format!(" snapshot {}", snapshot.meta.index),
            None => String::new(),
        };
        format!(
            "disk holds term {} vote {} commit {}{snapshot} log [{}]",
            hard.term,
            hard.vote.map_or("-".into(), |v| format!("n{v}")),
            hard.commit,
            describe_log(&disk.entries)
        )
    }

    /// A node's state in one line; `pad` aligns the role column (for `status`).
    fn node_line(&self, id: NodeId, pad: bool) -> String {
        let host = &self.world.sim().hosts()[id as usize - 1];
        if host.retired {
            return "retired: its disk is gone, another node took its place".into();
        }
        if !host.started {
            return "spare: idle until it joins".into();
        }
        let Some(s) = self.world.status(id) else {
            return format!("down; {}", self.disk_line(id));
        };
        let mut log = host
            .node
            .as_ref()
            .map(|n| describe_log(n.log_entries_from(1)))
            .unwrap_or_default();
        if host.snapshot_index() > 0 {
            // Entries up to the snapshot are gone from the log.
            log = match log.as_str() {
                "" | "empty" => format!("snapshot {}", host.snapshot_index()),
                entries => format!("snapshot {} + {entries}", host.snapshot_index()),
            };
        }
        let width = if pad { 9 } else { 0 };
        format!(
            "{:<width$} term {} vote {} commit {} applied {} log [{}]",
            s.role.name(),
            s.term,
            s.vote.map_or("-".into(), |v| format!("n{v}")),
            s.commit,
            s.applied,
            log
        )
    }

    fn status(&mut self, out: &mut Vec<String>) {
        for id in 1..=self.world.node_count() {
            let paused = if self.world.is_paused(id) {
                " (paused)"
            } else {
                ""
            };
            out.push(format!("n{id}{paused} {}", self.node_line(id, true)));
        }
        let conf = self.world.sim().configuration();
        let initial: Vec<NodeId> = self.world.sim().params().node_ids().collect();
        if conf.voters != initial || conf.is_joint() || !conf.learners.is_empty() {
            out.push(format!(
                "configuration: {}",
                crate::world::membership::describe_conf(conf)
            ));
        }
        let cuts = self.world.describe_cuts();
        if cuts != "none" {
            out.push(format!("cut: {cuts}"));
        }
        let rules: Vec<String> = self
            .world
            .filter()
            .rules()
            .iter()
            .map(|(action, pattern)| {
                format!("{} {}", action.name(), super::ast::format_pattern(pattern))
            })
            .collect();
        if !rules.is_empty() {
            out.push(format!("rules: {}", rules.join("; ")));
        }
        let held = self.world.filter().held().len();
        if held > 0 {
            let plural = if held == 1 { "" } else { "s" };
            out.push(format!("held: {held} message{plural} (`held` lists them)"));
        }
    }

    fn held(&mut self, out: &mut Vec<String>) {
        for message in self.world.filter().held() {
            out.push(format!(
                "n{} -> n{} t{} {}",
                message.from,
                message.to,
                message.term,
                describe_body(&message.body)
            ));
        }
        if out.is_empty() {
            out.push("no message held".into());
        }
        let overflowed = self.world.overflowed();
        if overflowed > 0 {
            out.push(format!(
                "{overflowed} more were dropped: the held buffer is full"
            ));
        }
    }
}

fn view(world: &Scripted, id: NodeId) -> Option<View> {
    let status = world.status(id)?;
    let node = world.sim().hosts()[id as usize - 1].node.as_ref()?;
    Some(View {
        role: status.role,
        term: status.term,
        commit: status.commit,
        log_terms: node.log_entries_from(1).iter().map(|e| e.term).collect(),
    })
}

fn runs(terms: &[u64]) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &term in terms {
        match runs.last_mut() {
            Some((t, count)) if *t == term => *count += 1,
            _ => runs.push((term, 1)),
        }
    }
    if runs.is_empty() {
        return "empty".into();
    }
    let words: Vec<String> = runs.iter().map(|(t, c)| format!("t{t}x{c}")).collect();
    words.join(" ")
}

/// One line per node whose role, term, commit changed or whose log lost entries;
/// updates the views.
fn changes(world: &Scripted, views: &mut [Option<View>]) -> Vec<String> {
    let mut lines = Vec::new();
    for id in 1..=world.node_count() {
        let slot = id as usize - 1;
        let now = view(world, id);
        let (Some(old), Some(new)) = (&views[slot], &now) else {
            views[slot] = now;
            continue;
        };
        let mut parts = Vec::new();
        if old.role != new.role || old.term != new.term {
            parts.push(format!("{} term {}", new.role.name(), new.term));
        }
        let kept = old.log_terms.len().min(new.log_terms.len());
        let agree = (0..kept)
            .take_while(|&i| old.log_terms[i] == new.log_terms[i])
            .count();
        if agree < old.log_terms.len() {
            parts.push(format!(
                "log [{}] -> [{}]",
                runs(&old.log_terms),
                runs(&new.log_terms)
            ));
        }
        if old.commit != new.commit {
            parts.push(format!("commit {}", new.commit));
        }
        if !parts.is_empty() {
            lines.push(format!("n{id} {}", parts.join(", ")));
        }
        views[slot] = now;
    }
    lines
}

fn leaders(world: &Scripted) -> Vec<(NodeId, u64)> {
    (1..=world.node_count())
        .filter_map(|id| world.status(id))
        .filter(|s| s.role == Role::Leader)
        .map(|s| (s.id, s.term))
        .collect()
}

/// The leader of the highest term among live nodes, if there is one.
fn current_leader(world: &Scripted) -> Option<NodeId> {
    leaders(world)
        .into_iter()
        .max_by_key(|&(_, term)| term)
        .map(|(id, _)| id)
}

/// Whether the configuration in force is exactly `conf` (and not joint).
fn conf_matches(world: &Scripted, conf: &ConfSpec) -> Result<(), String> {
    let seen = world.sim().configuration();
    match !seen.is_joint() && seen.voters == conf.voters && seen.learners == conf.learners {
        true => Ok(()),
        false => Err(format!(
            "the configuration in force is {}",
            crate::world::membership::describe_conf(seen)
        )),
    }
}

fn condition_holds(world: &Scripted, condition: &Condition, violations_before: usize) -> bool {
    // A removed node may never learn it was removed: only members count.
    let live: Vec<_> = (1..=world.node_count())
        .filter(|&id| world.sim().is_member(id))
        .filter_map(|id| world.status(id))
        .collect();
    match condition {
        Condition::LeaderExists => !leaders(world).is_empty(),
        Condition::Leader { node } => current_leader(world) == Some(*node),
        Condition::Committed {
            node: Some(node),
            index,
        } => world.status(*node).is_some_and(|s| s.commit >= *index),
        Condition::Committed { node: None, index } => live.iter().all(|s| s.commit >= *index),
        Condition::OpDone { op } => world
            .ops()
            .get(op - 1)
            .is_some_and(|o| matches!(o.state, OpState::Done(_))),
        Condition::Converged => {
            current_leader(world).is_some()
                && live.iter().all(|s| {
                    (s.last_index, s.last_term) == (live[0].last_index, live[0].last_term)
                        && s.commit == s.last_index
                        && s.applied == s.commit
                })
        }
        Condition::Violation => world.violations().len() > violations_before,
        Condition::Config(conf) => conf_matches(world, conf).is_ok(),
    }
}

impl Executor {
    fn expect(&mut self, expectation: &Expectation) {
        if let Err(message) = self.check(expectation) {
            self.fail(format!("expect {expectation}: {message}"));
        }
    }

    fn check(&mut self, expectation: &Expectation) -> Result<(), String> {
        let world = &self.world;
        match expectation {
            Expectation::Leader { node } => {
                let leaders = leaders(world);
                match current_leader(world) {
                    Some(id) if id == *node => Ok(()),
                    _ => Err(format!("leaders seen: {}", describe_leaders(&leaders))),
                }
            }
            Expectation::NoLeader => match leaders(world).as_slice() {
                [] => Ok(()),
                leaders => Err(format!("leaders seen: {}", describe_leaders(leaders))),
            },
            Expectation::Role { node, role } => {
                let seen = world.status(*node).map_or("down", |s| s.role.name());
                (seen == role)
                    .then_some(())
                    .ok_or(format!("n{node} is {seen}"))
            }
            Expectation::Term { node, term } => {
                let seen = world.status(*node).ok_or(format!("n{node} is down"))?.term;
                (seen == *term)
                    .then_some(())
                    .ok_or(format!("n{node} is in term {seen}"))
            }
            Expectation::Committed { node, index } => self.check_committed(*node, *index),
            Expectation::Log {
                node,
                runs: expected,
            } => {
                let seen = view(world, *node).ok_or(format!("n{node} is down"))?;
                let seen = runs(&seen.log_terms);
                (seen == *expected)
                    .then_some(())
                    .ok_or(format!("n{node} holds [{seen}]"))
            }
            Expectation::Value { node, key, value } => {
                self.check_value(*node, key, value.as_deref())
            }
            Expectation::Violation { invariant } => self.claim(invariant),
            Expectation::Config(conf) => conf_matches(world, conf),
            Expectation::NoViolation => {
                let unclaimed: Vec<String> = world
                    .violations()
                    .iter()
                    .zip(&self.claimed)
                    .filter(|(_, claimed)| !**claimed)
                    .map(|(report, _)| report.violation.to_string())
                    .collect();
                match unclaimed.first() {
                    None => Ok(()),
                    Some(first) => Err(format!("{} violation(s), first: {first}", unclaimed.len())),
                }
            }
        }
    }

    fn live_or_one(&self, node: Option<NodeId>) -> Result<Vec<NodeId>, String> {
        match node {
            Some(id) if self.world.status(id).is_none() => Err(format!("n{id} is down")),
            Some(id) => Ok(vec![id]),
            None => Ok((1..=self.world.node_count())
                .filter(|&id| self.world.status(id).is_some())
                .collect()),
        }
    }

    fn check_committed(&self, node: Option<NodeId>, index: u64) -> Result<(), String> {
        let wrong: Vec<String> = self
            .live_or_one(node)?
            .into_iter()
            .filter_map(|id| self.world.status(id))
            .filter(|s| s.commit != index)
            .map(|s| format!("n{} commit {}", s.id, s.commit))
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join(", "))
        }
    }

    fn check_value(
        &self,
        node: Option<NodeId>,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), String> {
        let wrong: Vec<String> = self
            .live_or_one(node)?
            .into_iter()
            .filter_map(|id| {
                let seen = self.world.read(id, key);
                (seen.as_deref() != value)
                    .then(|| format!("n{id} has {key}={}", seen.as_deref().unwrap_or("nil")))
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join(", "))
        }
    }

    fn claim(&mut self, invariant: &str) -> Result<(), String> {
        let mut found = false;
        for (i, report) in self.world.violations().iter().enumerate() {
            if report.violation.invariant.name() == invariant {
                self.claimed[i] = true;
                found = true;
            }
        }
        if found {
            return Ok(());
        }
        let seen: Vec<&str> = self
            .world
            .violations()
            .iter()
            .map(|r| r.violation.invariant.name())
            .collect();
        Err(format!(
            "no {invariant} violation was seen (seen: [{}])",
            seen.join(", ")
        ))
    }
}

fn describe_leaders(leaders: &[(NodeId, u64)]) -> String {
    if leaders.is_empty() {
        return "none".into();
    }
    let words: Vec<String> = leaders
        .iter()
        .map(|(id, term)| format!("n{id} (term {term})"))
        .collect();
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_not_an_unwind() {
        let caught = guarded(|| -> u32 { panic!("boom") });
        let message = caught.unwrap_err();
        assert!(message.starts_with("internal error"), "{message}");
        assert!(message.ends_with("panic: boom"), "{message}");
        assert_eq!(guarded(|| 7), Ok(7));
    }

    #[test]
    fn a_step_that_reaches_its_limit_ends_the_scenario_at_its_line() {
        let scenario = super::super::parse("cluster 3 tick=1us\n  run 86400s\nstatus\n").unwrap();
        let limits = StepLimits {
            events_max: 500,
            ..StepLimits::default()
        };
        let execution = execute_with(&scenario, limits);
        let [failure] = execution.failures.as_slice() else {
            panic!("one failure expected: {:?}", execution.failures);
        };
        assert_eq!((failure.line, failure.col), (2, 3));
        assert!(
            failure.message.contains("stopped after 500 events"),
            "{failure:?}"
        );
        // `status` never ran: no output for it.
        assert_eq!(execution.outputs.len(), 2);
        assert!(execution.internal_error.is_none());
    }

    #[test]
    fn times_print_in_the_largest_unit() {
        assert_eq!(at(1_100), "@1.1ms");
        assert_eq!(at(2_500_000), "@2.5s");
        assert_eq!(at(0), "@0ms");
    }
}
