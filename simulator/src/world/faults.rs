//! How the world carries out the faults its driver injects (partitions,
//! crashes, restarts), and the heal phase that ends them: faults stop,
//! crashed nodes restart, and within a bound the cluster must have a leader,
//! one log on every node, all of it committed and applied, and every client
//! operation complete.

use invariants::Invariant;
use raft_core::{NodeId, Role};

use crate::drivers::DiskFate;
use crate::world::event::Event;
use crate::world::{Outcome, Phase, World};

/// How often the heal phase checks for convergence.
const HEAL_CHECK_INTERVAL_US: u64 = 100_000;
/// A healed cluster must have a leader within this long.
const HEAL_LEADER_BOUND_US: u64 = 10_000_000;

/// Why a node crashed, as the replay log tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashCause {
    /// A crash fault; its disk keeps what the fault says.
    Fault(DiskFate),
    /// A crash right around an fsync: before it completed, or just after.
    Fsync {
        /// Before the fsync completed.
        before: bool,
    },
}

impl CrashCause {
    fn describe(self, node: NodeId) -> String {
        match self {
            CrashCause::Fault(DiskFate::Lost) => format!("n{node} crashes and loses its disk"),
            CrashCause::Fault(DiskFate::Synced) => {
                format!("n{node} crashes and loses what it had not synced")
            }
            CrashCause::Fault(DiskFate::Kept | DiskFate::Prefix) => format!("n{node} crashes"),
            CrashCause::Fsync { before: true } => format!(
                "n{node} crashes before its fsync completes (a prefix of the unsynced writes survives)"
            ),
            CrashCause::Fsync { before: false } => {
                format!("n{node} crashes just after its fsync")
            }
        }
    }
}

impl World {
    /// Crashes `node` as a fault says (a node already down only loses its
    /// disk, if the fault says so), and schedules its restart.
    pub(crate) fn crash_by_fault(&mut self, node: NodeId, disk: DiskFate, restart: Option<u64>) {
        if !self.hosts[node as usize - 1].is_up() {
            if disk == DiskFate::Lost {
                self.hosts[node as usize - 1].disk.wipe();
            }
            return;
        }
        self.crash(node, CrashCause::Fault(disk), restart);
    }

    /// Crashes `node` now for `cause`, and schedules its restart after
    /// `restart` if given.
    pub(crate) fn crash(&mut self, node: NodeId, cause: CrashCause, restart: Option<u64>) {
        if self
            .host_ref(node)
            .status()
            .is_some_and(|s| s.role == Role::Leader)
        {
            self.reached(crate::world::coverage::Sometimes::LeaderCrashed);
            self.note_leader_loss();
        }
        let disk = match cause {
            CrashCause::Fault(disk) => disk,
            CrashCause::Fsync { .. } => DiskFate::Prefix,
        };
        self.crash_node(node, disk);
        self.forget_paused(node);
        self.timeline_down(node, || cause.describe(node));
        if self.trace.is_logging() {
            let when = match restart {
                Some(after) => format!("; it restarts in {}", crate::world::format_time(after)),
                None => String::new(),
            };
            let line = format!("{}{when}", cause.describe(node));
            self.trace.log_detail(&line);
            let story = format!("{} {line}", self.now_label());
            self.trace.log_story(story);
        }
        if let Some(after) = restart {
            let incarnation = self.host(node).incarnation;
            self.queue
                .push(self.now_us + after, Event::Restart { node, incarnation });
        }
    }

    /// Logs the links cut now, in the event log and the story of the run
    /// (and the timeline, if one is kept).
    pub(crate) fn log_cuts(&mut self) {
        self.note_network_change();
        self.timeline_links();
        if !self.trace.is_logging() {
            return;
        }
        let line = match self.network.describe_partition().as_str() {
            "none" => "every link works again".to_string(),
            cuts => cuts.to_string(),
        };
        self.trace.log_detail(&line);
        let story = format!("{} {line}", self.now_label());
        self.trace.log_story(story);
    }

    /// Whether one more voter may go down: at most a minority of the
    /// voters in force is down at once (of each half, while joint).
    pub fn may_crash_another(&self) -> bool {
        // A paused node counts as down: it does no more for the others; a
        // retired identity is down for good.
        let down = |voters: &[NodeId]| {
            voters
                .iter()
                .filter(|&&id| !self.host_ref(id).is_up() || self.is_paused(id))
                .count()
        };
        let conf = self.configuration();
        let fits = |voters: &[NodeId]| voters.is_empty() || down(voters) < (voters.len() - 1) / 2;
        fits(&conf.voters) && fits(&conf.outgoing_voters)
    }

    /// The leader of the highest term among running nodes, if any.
    pub fn current_leader(&self) -> Option<NodeId> {
        self.hosts
            .iter()
            .filter_map(|h| h.status())
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    pub(crate) fn on_restart(&mut self, id: NodeId, incarnation: u64) {
        let host = self.host(id);
        if host.incarnation == incarnation && !host.is_up() && !host.retired {
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
        self.note_network_change();
        for k in 0..self.hosts.len() {
            if self.hosts[k].skew_ppt.take().is_some() {
                self.oracles.note_clock_skewed(k as NodeId + 1, self.now_us);
            }
        }
        self.timeline_links();
        // Spares that never joined stay idle; a retired identity stays dead.
        let down: Vec<NodeId> = self
            .hosts
            .iter()
            .filter(|h| !h.is_up() && h.started && !h.retired)
            .map(|h| h.id())
            .collect();
        for id in down {
            self.start_node(id);
        }
        for id in self.params.all_node_ids() {
            if self.is_paused(id) {
                self.resume(id);
            }
        }
        self.queue
            .push(self.now_us + HEAL_CHECK_INTERVAL_US, Event::HealCheck);
    }

    pub(crate) fn on_heal_check(&mut self) {
        let elapsed = self.now_us - self.heal_started_us;
        // Only the members of the configuration in force must converge: a
        // removed node may never learn it was removed.
        let statuses: Vec<_> = self
            .hosts
            .iter()
            .filter(|h| self.is_member(h.id()))
            .filter_map(|h| h.status())
            .collect();
        let membership_settled = self.membership_settled();
        let leaders: Vec<_> = statuses.iter().filter(|s| s.role == Role::Leader).collect();
        let max_term = statuses.iter().map(|s| s.term).max().unwrap_or(0);
        let leader = leaders.iter().find(|s| s.term == max_term).copied();
        let busy_clients = self.clients.iter().filter(|c| c.is_busy()).count();
        if self.params.features.pre_vote && self.params.features.check_quorum {
            self.check_stable_leader(max_term, leader.map(|s| (s.id, s.term)));
            if self.outcome.is_some() {
                return;
            }
        }
        if let Some(leader) = leader {
            let converged = statuses.iter().all(|s| {
                s.term == leader.term
                    && s.last_index == leader.last_index
                    && s.last_term == leader.last_term
                    && s.commit == leader.last_index
                    && s.applied == s.commit
            });
            if converged && busy_clients == 0 && membership_settled.is_ok() {
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
                crate::world::format_time(elapsed),
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

    /// With PreVote and CheckQuorum, a healed cluster's leader, once every
    /// node has heard it for two election timeouts, is not forced out: a
    /// rejoining node asks for pre-votes the others refuse while they hear
    /// the leader. `leader` is the leader of `max_term`, if any.
    fn check_stable_leader(&mut self, max_term: u64, leader: Option<(NodeId, u64)>) {
        let stable_us = 2 * u64::from(self.params.election_timeout_ticks_min) * self.params.tick_us;
        if let Some((id, term, since)) = self.heal_leader {
            // A leader's TimeoutNow (a transfer the operator asked for before
            // the heal, maybe arriving late through a link clogged then, or a
            // removed leader's handover) deposes it by its own request.
            // The campaign may still be under way: no leader of max_term yet.
            let handed_over = Some(max_term) == self.transferred_term;
            // A term a candidate reached before the heal (seed 36145059: a
            // node that campaigned in term 9 during the chaos and then lost
            // its disk; its refusals of term 9, still in flight on a slow
            // link, landed after the heal) deposes the leader of a lower one,
            // as Raft requires. Not so a term a pre-candidate raised by
            // itself (`prevote-bumps-term`).
            let reached_before_heal = max_term <= self.chaos_campaign_term;
            if max_term > term
                && self.now_us - since >= stable_us
                && !handed_over
                && !reached_before_heal
            {
                let seen = format!(
                    "n{id} led term {term} for {} after the heal; now a node is in term {max_term}",
                    crate::world::format_time(self.now_us - since)
                );
                self.liveness(
                    Invariant::LivenessStableLeader,
                    "with PreVote and CheckQuorum, a healed cluster keeps its leader",
                    seen,
                );
                return;
            }
        }
        match (self.heal_leader, leader) {
            (Some((id, term, _)), Some(now)) if (id, term) == now => {}
            (_, Some((id, term))) => self.heal_leader = Some((id, term, self.now_us)),
            (_, None) => self.heal_leader = None,
        }
    }

    /// Whether the membership came to rest: no joint configuration left
    /// behind, and no member whose identity is retired (a replacement the
    /// operator left half done). The reason if not.
    fn membership_settled(&self) -> Result<(), String> {
        let conf = self.configuration();
        if conf.is_joint() {
            return Err(format!(
                "the configuration is still joint: {}",
                crate::world::membership::describe_conf(conf)
            ));
        }
        let retired: Vec<String> = conf
            .voters
            .iter()
            .chain(&conf.learners)
            .filter(|&&id| self.host_ref(id).retired)
            .map(|id| format!("n{id}"))
            .collect();
        match retired.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "{} lost their disks and are still members",
                retired.join(" ")
            )),
        }
    }

    fn report_no_convergence(&mut self, busy_clients: usize) {
        let bound = crate::world::format_time(self.params.heal_duration_us_max);
        if let Err(why) = self.membership_settled() {
            let seen = format!("membership not settled {bound} after the heal: {why}");
            self.liveness(
                Invariant::LivenessConvergence,
                "no joint configuration left behind, every replacement finished",
                seen,
            );
            return;
        }
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
