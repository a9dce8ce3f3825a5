//! The fault schedule of the chaos phase, and the heal phase that follows it.
//!
//! Message faults (drops, duplicates, jitter) are continuous network settings;
//! the nemesis adds discrete actions at random intervals: partitions (isolate a
//! node, split in two, cut one direction of a link, heal), crashes with restarts,
//! and (only when asked for) disk loss. At most a minority is down at once, so the
//! cluster can make progress between faults.

use invariants::Invariant;
use raft_core::{NodeId, Role};

use crate::event::Event;
use crate::params::FaultKind;
use crate::rng::Ratio;
use crate::sim::{Outcome, Phase, Sim};

/// How often the heal phase checks for convergence.
const HEAL_CHECK_INTERVAL_US: u64 = 100_000;
/// The longest downtime of a quick bounce.
const BOUNCE_US_MAX: u64 = 20_000;
/// A healed cluster must have a leader within this long.
const HEAL_LEADER_BOUND_US: u64 = 10_000_000;

/// When a crash around an fsync strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FsyncCrash {
    /// Before the fsync completes: a prefix of its writes may be lost.
    Before,
    /// Just after the writes are durable and the waiting messages left.
    After,
}

/// Why a node crashes, as the replay log tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashCause {
    /// The nemesis crashes it (and, with disk loss, wipes its disk).
    Nemesis { wipe_disk: bool },
    /// A crash strikes around one of its fsyncs.
    Fsync(FsyncCrash),
}

impl CrashCause {
    fn describe(self, node: NodeId) -> String {
        match self {
            CrashCause::Nemesis { wipe_disk: false } => format!("nemesis: n{node} crashes"),
            CrashCause::Nemesis { wipe_disk: true } => {
                format!("nemesis: n{node} crashes and loses its disk")
            }
            CrashCause::Fsync(FsyncCrash::Before) => format!(
                "n{node} crashes before its fsync completes (a prefix of the unsynced writes survives)"
            ),
            CrashCause::Fsync(FsyncCrash::After) => {
                format!("n{node} crashes just after its fsync")
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Partition,
    Crash,
    DiskLoss,
}

impl Sim {
    pub(crate) fn schedule_nemesis(&mut self) {
        let gap = self
            .nemesis_rng
            .range_inclusive(1, 2 * self.params.nemesis_interval_us_mean);
        self.queue.push(self.now_us + gap, Event::Nemesis);
    }

    pub(crate) fn on_nemesis(&mut self) {
        if self.phase != Phase::Chaos {
            return;
        }
        let mut actions = Vec::with_capacity(3);
        if self.params.has_fault(FaultKind::Partition) {
            actions.push(Action::Partition);
        }
        if self.params.has_fault(FaultKind::Crash) {
            actions.push(Action::Crash);
        }
        if self.params.has_fault(FaultKind::DiskLoss) {
            actions.push(Action::DiskLoss);
        }
        if !actions.is_empty() {
            match actions[self.nemesis_rng.index(actions.len())] {
                Action::Partition => self.partition(),
                Action::Crash => self.crash_some_node(false),
                Action::DiskLoss => self.crash_some_node(true),
            }
        }
        self.schedule_nemesis();
    }

    fn partition(&mut self) {
        let n = self.params.cluster_size;
        match self.nemesis_rng.index(5) {
            0 => {
                let isolated = self.nemesis_rng.range_inclusive(1, n);
                self.network.partition(&[vec![isolated]]);
            }
            4 => {
                // Jepsen's favourite: cut the leader off with a minority, where it
                // keeps taking writes it cannot commit.
                if let Some(leader) = self.current_leader() {
                    self.isolate_with_minority(leader);
                }
                return;
            }
            1 => {
                let mut nodes: Vec<u64> = (1..=n).collect();
                for i in (1..nodes.len()).rev() {
                    nodes.swap(i, self.nemesis_rng.index(i + 1));
                }
                let split = self.nemesis_rng.range_inclusive(1, n - 1) as usize;
                self.network.partition(&[nodes[..split].to_vec()]);
            }
            2 => {
                let from = self.nemesis_rng.range_inclusive(1, n);
                let to = self.nemesis_rng.range_inclusive(1, n);
                if from != to {
                    self.network.set_cut(from, to, true);
                }
            }
            _ => self.network.heal_partitions(),
        }
        self.log_cuts();
    }

    /// Logs the links cut now, in the event log and the story of the run.
    fn log_cuts(&mut self) {
        if !self.trace.is_logging() {
            return;
        }
        let line = match self.network.describe_partition().as_str() {
            "none" => "nemesis: every link works again".to_string(),
            cuts => format!("nemesis: {cuts}"),
        };
        self.trace.log_detail(&line);
        let story = format!("{} {line}", self.now_label());
        self.trace.log_story(story);
    }

    /// Whether one more node may go down: at most a minority is down at once.
    fn may_crash_another(&self) -> bool {
        let down = self.hosts.iter().filter(|h| !h.is_up()).count() as u64;
        down < (self.params.cluster_size - 1) / 2
    }

    /// Whether (and when) the fsync completing now is struck by a crash.
    pub(crate) fn crash_at_fsync(&mut self, hard_state_written: bool) -> Option<FsyncCrash> {
        if self.phase != Phase::Chaos
            || !self.params.has_fault(FaultKind::Crash)
            || !self.may_crash_another()
        {
            return None;
        }
        let ratio = if hard_state_written {
            self.params.hard_state_crash_ratio
        } else {
            self.params.fsync_crash_ratio
        };
        if !self.nemesis_rng.chance(ratio) {
            return None;
        }
        Some(if self.nemesis_rng.chance(Ratio::new(1, 2)) {
            FsyncCrash::Before
        } else {
            FsyncCrash::After
        })
    }

    fn crash_some_node(&mut self, wipe_disk: bool) {
        if !self.may_crash_another() {
            return;
        }
        let up: Vec<NodeId> = self
            .hosts
            .iter()
            .filter(|h| h.is_up())
            .map(|h| h.id())
            .collect();
        // Half the time the leader: leader crashes mid-replication are where
        // commit rules are tested (Figure 8).
        let leader = self
            .current_leader()
            .filter(|_| self.nemesis_rng.chance(Ratio::new(1, 2)));
        let victim = leader.unwrap_or_else(|| up[self.nemesis_rng.index(up.len())]);
        self.crash_and_schedule_restart(victim, CrashCause::Nemesis { wipe_disk });
    }

    /// Crashes `victim` now and schedules its restart after a drawn downtime.
    pub(crate) fn crash_and_schedule_restart(&mut self, victim: NodeId, cause: CrashCause) {
        let wipe_disk = cause == CrashCause::Nemesis { wipe_disk: true };
        self.crash_node(victim, wipe_disk);
        // A third of the crashes are quick bounces (a supervisor restarts the
        // process at once): a node back within one election is where forgotten
        // votes and lost unsynced writes show.
        let downtime_max = if self.nemesis_rng.chance(Ratio::new(1, 3)) {
            BOUNCE_US_MAX
        } else {
            self.params.crash_downtime_us_max
        };
        let downtime = self.nemesis_rng.range_inclusive(1, downtime_max);
        if self.trace.is_logging() {
            let line = format!(
                "{}; it restarts in {}",
                cause.describe(victim),
                crate::sim::format_time(downtime)
            );
            self.trace.log_detail(&line);
            let story = format!("{} {line}", self.now_label());
            self.trace.log_story(story);
        }
        let incarnation = self.host(victim).incarnation;
        self.queue.push(
            self.now_us + downtime,
            Event::Restart {
                node: victim,
                incarnation,
            },
        );
    }

    /// A node just won an election: sometimes cut it off with a minority at once,
    /// dropping its first messages in flight (a fault injected at a chosen
    /// protocol point, as FoundationDB's BUGGIFY does).
    pub(crate) fn on_new_leader(&mut self, leader: NodeId) {
        if self.phase != Phase::Chaos || !self.params.has_fault(FaultKind::Partition) {
            return;
        }
        if !self
            .nemesis_rng
            .chance(self.params.new_leader_isolation_ratio)
        {
            return;
        }
        self.isolate_with_minority(leader);
    }

    /// A leader's commit index just advanced: sometimes cut it off at once, so
    /// the decision is known to it alone (catalogue: "leader crashes after
    /// replicating to a majority but before telling anyone it committed").
    pub(crate) fn on_leader_commit(&mut self, leader: NodeId) {
        if self.phase != Phase::Chaos || !self.params.has_fault(FaultKind::Partition) {
            return;
        }
        if self.nemesis_rng.chance(self.params.commit_isolation_ratio) {
            self.isolate_with_minority(leader);
        }
    }

    /// Cuts `node` off together with a random number of others, still a minority.
    fn isolate_with_minority(&mut self, node: NodeId) {
        let n = self.params.cluster_size;
        let others: Vec<u64> = (1..=n).filter(|&id| id != node).collect();
        let extra = self.nemesis_rng.range_inclusive(0, (n - 1) / 2 - 1) as usize;
        let mut minority = vec![node];
        minority.extend(others.iter().take(extra));
        self.network.partition(&[minority]);
        self.log_cuts();
    }

    /// The leader of the highest term among running nodes, if any.
    pub(crate) fn current_leader(&self) -> Option<NodeId> {
        self.hosts
            .iter()
            .filter_map(|h| h.status())
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    pub(crate) fn on_restart(&mut self, id: NodeId, incarnation: u64) {
        let host = self.host(id);
        if host.incarnation == incarnation && !host.is_up() {
            self.start_node(id);
        }
    }

    pub(crate) fn on_heal_start(&mut self) {
        if self.trace.is_logging() {
            let story = format!(
                "{} heal: faults stop, every node restarts",
                self.now_label()
            );
            self.trace.log_story(story);
        }
        self.phase = Phase::Heal;
        self.heal_started_us = self.now_us;
        self.network.heal();
        let down: Vec<NodeId> = self
            .hosts
            .iter()
            .filter(|h| !h.is_up())
            .map(|h| h.id())
            .collect();
        for id in down {
            self.start_node(id);
        }
        self.queue
            .push(self.now_us + HEAL_CHECK_INTERVAL_US, Event::HealCheck);
    }

    pub(crate) fn on_heal_check(&mut self) {
        let elapsed = self.now_us - self.heal_started_us;
        let statuses: Vec<_> = self.hosts.iter().filter_map(|h| h.status()).collect();
        let leaders: Vec<_> = statuses.iter().filter(|s| s.role == Role::Leader).collect();
        let max_term = statuses.iter().map(|s| s.term).max().unwrap_or(0);
        let leader = leaders.iter().find(|s| s.term == max_term).copied();
        let busy_clients = self.clients.iter().filter(|c| c.is_busy()).count();
        if let Some(leader) = leader {
            let converged = statuses.iter().all(|s| {
                s.term == leader.term
                    && s.last_index == leader.last_index
                    && s.last_term == leader.last_term
                    && s.commit == leader.last_index
                    && s.applied == s.commit
            });
            if converged && busy_clients == 0 {
                self.outcome = Some(Outcome::Pass);
                return;
            }
        } else if elapsed > HEAL_LEADER_BOUND_US {
            let terms: Vec<String> = statuses
                .iter()
                .map(|s| format!("n{} term {}", s.id, s.term))
                .collect();
            let seen = format!(
                "no leader {} after the heal; {}",
                crate::sim::format_time(elapsed),
                terms.join(", ")
            );
            self.liveness(
                Invariant::LivenessLeader,
                "a leader within 10s of the heal",
                seen,
            );
            return;
        }
        if elapsed > self.params.heal_duration_us_max {
            self.report_no_convergence(busy_clients);
            return;
        }
        self.queue
            .push(self.now_us + HEAL_CHECK_INTERVAL_US, Event::HealCheck);
    }

    fn report_no_convergence(&mut self, busy_clients: usize) {
        let bound = crate::sim::format_time(self.params.heal_duration_us_max);
        if busy_clients > 0 {
            let seen =
                format!("{busy_clients} client operations still pending {bound} after the heal");
            self.liveness(
                Invariant::LivenessClients,
                "every client operation completes",
                seen,
            );
        } else {
            let summary: Vec<String> = self
                .hosts
                .iter()
                .filter_map(|h| h.status())
                .map(|s| {
                    format!(
                        "n{}:{}/t{}/last{}/commit{}",
                        s.id,
                        s.role.name(),
                        s.term,
                        s.last_index,
                        s.commit
                    )
                })
                .collect();
            let seen = format!(
                "not converged {bound} after the heal: {}",
                summary.join(" ")
            );
            self.liveness(
                Invariant::LivenessConvergence,
                "all live nodes hold one log, all committed",
                seen,
            );
        }
    }
}
