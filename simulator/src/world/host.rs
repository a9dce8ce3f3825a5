//! A server: a raft-core node, its disk, its clock and its key-value store, and
//! how the simulator carries out what the node asks for (the Ready contract).

use std::collections::{BTreeMap, BTreeSet};

use invariants::linearizability::KvResult;
use raft_core::{
    CompactError, ConfChange, ConfChangeEntry, ConfState, Config, Entry, EntryKind, Index, Message,
    MessageBody, NodeId, RawNode, ReadOnlyOption, ReadVia, Role, Snapshot, Status,
};

use crate::drivers::{About, DiskFate, Point};
use crate::world::coverage::Sometimes;
use crate::world::describe::{describe_body, describe_log, describe_node, describe_status_change};
use crate::world::disk::Disk;
use crate::world::event::{Event, Reply};
use crate::world::faults::CrashCause;
use crate::world::kv::{digest, mix_into, Applied, Command, KvStore};
use crate::world::network::{keyed, Delivery, Endpoint};
use crate::world::params::{Params, ReadPath};
use crate::world::rng::{Rng, Stream};
use crate::world::timeline::Sent;
use crate::world::{Phase, World};

/// The part of a `Ready` that waits for its fsync.
#[derive(Debug)]
struct AwaitingSync {
    number: u64,
    // Whether the writes include a new hard state (term, vote or commit).
    hard_state_written: bool,
    persisted_messages: Vec<Message>,
    committed_entries: Vec<Entry>,
    /// The index of the snapshot from the leader this ready writes, if any.
    installs_snapshot: Option<Index>,
}

/// One server of the cluster.
pub struct Host {
    id: NodeId,
    /// The running node; `None` while crashed.
    pub(crate) node: Option<RawNode>,
    // Invariant: bumped on every crash, so events of an earlier life are ignored.
    pub(crate) incarnation: u64,
    pub(crate) disk: Disk,
    /// This node's disk draws (fsync latency, what a crash keeps): a stream
    /// of its own, so other nodes' writes do not shift them.
    pub(crate) disk_rng: Rng,
    pub(crate) store: KvStore,
    awaiting_sync: Option<AwaitingSync>,
    // Client operations this node proposed and must answer once applied.
    waiting_clients: BTreeSet<(u64, u64)>,
    // What the checkers last saw of this node.
    pub(crate) last_status: Option<Status>,
    // What the replay log last showed of this node (kept only while logging).
    shown_status: Option<Status>,
    /// The node's clock: see [`Host::next_tick_interval_us`].
    clock: Clock,
    /// A clock fault: the rate of this node's clock, off true time in parts
    /// per thousand, past the drift bound (`None`: within it).
    pub(crate) skew_ppt: Option<i64>,
    /// When the node's next tick is due (a paused node's tick comes late).
    tick_due_us: u64,
    // The last term this node was seen to lead (to notice a fresh leader).
    led_term: u64,
    // The commit index last seen on this node while it led (to notice a commit).
    led_commit: u64,
    // Whether the node led when its last input was handled (to notice a step-down).
    leading: bool,
    /// The context of the next read this node asks raft-core for.
    pub(crate) next_read_context: u64,
    /// Reads asked for and not yet confirmed, by context.
    pub(crate) pending_reads: BTreeMap<u64, PendingRead>,
    /// Reads confirmed at a read index, waiting until the node applied that
    /// far, in the order confirmed.
    confirmed_reads: Vec<(Index, ReadVia, PendingRead)>,
    /// The last log index applied to the store.
    applied: Index,
    pub(crate) config: Config,
    /// Whether the node ever ran (a spare id is idle until it joins).
    pub(crate) started: bool,
    /// Whether the identity is dead for good (its disk was lost and a new
    /// node replaced it): it never runs again.
    pub(crate) retired: bool,
    /// Whether this node's disk was ever lost (what it acknowledged may be
    /// gone from it).
    pub(crate) disk_lost: bool,
    /// The configuration of the last conf entry applied in this life, since
    /// the last snapshot installed (`None`: none applied since).
    pub(crate) applied_conf: Option<ConfState>,
    /// The number of the last ready taken in this life.
    last_ready_number: Option<u64>,
}

/// The `max_clock_drift_ticks` a lease needs when every clock runs within
/// `bound_ppt` parts per thousand of true time: over a follower's election
/// timeout of `election_ticks` ticks, a leader whose clock is slow by the
/// bound while the follower's is fast by it counts
/// `election_ticks * (1000 - b) / (1000 + b)` ticks, `2b / (1000 + b)` of
/// them short; one tick more for their unaligned tick boundaries.
pub fn lease_drift_ticks(election_ticks: u32, bound_ppt: i64) -> u32 {
    let bound = bound_ppt.max(0) as u64;
    let short = (u64::from(election_ticks) * 2 * bound).div_ceil(1000 + bound);
    u32::try_from(short + 1).unwrap_or(u32::MAX)
}

/// A client's get that waits for its read index.
#[derive(Clone, Debug)]
pub(crate) struct PendingRead {
    /// The event at which the node took the read up (the trace's count).
    pub(crate) asked_event: u64,
    /// The time it took the read up.
    pub(crate) asked_us: u64,
    /// Whether the node led when it took the read up (else it forwarded it).
    pub(crate) asked_as_leader: bool,
    /// Whether its lease held then, by what the simulator saw: the read
    /// must be served on it.
    pub(crate) lease_must_hold: bool,
    pub(crate) client: u64,
    pub(crate) seq: u64,
    pub(crate) attempt: u32,
    pub(crate) key: String,
}

impl Host {
    /// A host for node `id`, not yet started.
    pub fn new(id: NodeId, params: &Params) -> Host {
        // Spare ids have no clock drift of their own drawn: theirs is zero.
        let drift = params
            .clock_drift_ppt
            .get(id as usize - 1)
            .copied()
            .unwrap_or(0);
        let mut config = match id <= params.cluster_size {
            true => Config::new(id, params.node_ids().collect()),
            false => Config::joining(id),
        };
        config.snapshot_chunk_bytes = params.snapshot_chunk_bytes;
        config.election_timeout_ticks_min = params.election_timeout_ticks_min;
        config.heartbeat_interval_ticks = params.heartbeat_interval_ticks;
        config.bugs = params.bugs;
        config.max_entries_per_message = params.max_entries_per_message;
        config.max_inflight_messages = params.max_inflight_messages;
        config.pre_vote = params.features.pre_vote;
        config.check_quorum = params.features.check_quorum;
        if params.features.read_path == ReadPath::Lease {
            config.read_only = ReadOnlyOption::LeaseBased;
            config.max_clock_drift_ticks = lease_drift_ticks(
                params.election_timeout_ticks_min,
                params.clock_drift_bound_ppt,
            );
        }
        Host {
            id,
            node: None,
            incarnation: 0,
            disk: Disk::default(),
            disk_rng: Rng::new(params.seed, Stream::Disk(id)),
            store: KvStore::default(),
            awaiting_sync: None,
            waiting_clients: BTreeSet::new(),
            last_status: None,
            shown_status: None,
            clock: Clock {
                tick_us: params.tick_us,
                base_ppt: drift,
                wander_ppt: params.clock_wander_ppt,
                key: mix_into(Rng::new(params.seed, Stream::Clock).next_u64(), id),
                ticks: 0,
            },
            skew_ppt: None,
            tick_due_us: 0,
            led_term: 0,
            led_commit: 0,
            leading: false,
            next_read_context: 0,
            pending_reads: BTreeMap::new(),
            confirmed_reads: Vec::new(),
            applied: 0,
            applied_conf: None,
            last_ready_number: None,
            config,
            started: false,
            retired: false,
            disk_lost: false,
        }
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether a ready of the node waits for its fsync (the messages it
    /// made since wait behind it).
    pub fn is_awaiting_sync(&self) -> bool {
        self.awaiting_sync.is_some()
    }

    /// Whether the node is running.
    pub fn is_up(&self) -> bool {
        self.node.is_some()
    }

    /// The index of the last snapshot this node took or installed (0: none).
    pub fn snapshot_index(&self) -> Index {
        let meta = self.node.as_ref().and_then(|n| n.snapshot_meta());
        meta.map_or(0, |meta| meta.index)
    }

    /// The node's status, if it runs.
    pub fn status(&self) -> Option<Status> {
        self.node.as_ref().map(|n| n.status())
    }
}

/// A node's clock: its rate is off true time by a constant of its own plus
/// a wander, each within half the run's drift bound; the wander is drawn
/// anew every [`WANDER_TICKS`] ticks, keyed by the node and the tick count
/// so that it does not depend on anything else in the run.
#[derive(Clone, Debug)]
struct Clock {
    tick_us: u64,
    base_ppt: i64,
    wander_ppt: i64,
    key: u64,
    /// Ticks counted so far, across restarts (the machine's clock, not the process's).
    ticks: u64,
}

/// How many ticks a node's clock keeps one rate.
const WANDER_TICKS: u64 = 16;

impl Host {
    /// The virtual time until this node's next tick: its clock's rate now,
    /// or the rate a skew fault forces.
    fn next_tick_interval_us(&mut self) -> u64 {
        let clock = &mut self.clock;
        let ppt = match self.skew_ppt {
            Some(ppt) => ppt,
            None if clock.wander_ppt == 0 => clock.base_ppt,
            None => {
                let span = 2 * clock.wander_ppt as u64 + 1;
                let draw = keyed(clock.key, clock.ticks / WANDER_TICKS) % span;
                clock.base_ppt + draw as i64 - clock.wander_ppt
            }
        };
        clock.ticks += 1;
        (clock.tick_us as i64 * (1000 + ppt) / 1000).max(1) as u64
    }
}

impl World {
    /// Starts (or restarts) node `id` from what its disk holds.
    pub(crate) fn start_node(&mut self, id: NodeId) {
        let (seed, now_us) = (self.params.seed, self.now_us);
        self.oracles.disturb_node(id, now_us);
        self.oracles.forget_members(id);
        self.oracles.note_leader_contact(id, false);
        let host = self.host(id);
        assert!(host.node.is_none(), "node {id} is already running");
        assert!(!host.retired, "node {id}'s identity was retired");
        host.started = true;
        let restored = host.disk.restore();
        let rng = Rng::new(seed, Stream::Node(id << 20 | host.incarnation)).into_rng_core();
        let mut node = RawNode::new(host.config.clone(), restored.clone(), rng)
            .expect("the simulator builds valid configs");
        // The restored log and snapshot are reported through on_restart below;
        // raft-core must report the restored entries as changed (its contract).
        let changed = node.take_log_changes();
        let named = node.id();
        let restored_from = restored.entries.first().map(|e| e.index);
        node.take_installed_snapshot();
        host.last_status = Some(node.status());
        host.shown_status = Some(node.status());
        host.node = Some(node);
        let base = restored
            .snapshot
            .as_ref()
            .map(|s| (s.meta.index, s.meta.term));
        match &restored.snapshot {
            Some(snapshot) => {
                host.store = KvStore::decode(&snapshot.data)
                    .expect("a durable snapshot holds a store this host encoded");
                host.applied = snapshot.meta.index;
            }
            None => host.store = KvStore::default(),
        }
        let (incarnation, tick) = (host.incarnation, host.next_tick_interval_us());
        host.tick_due_us = now_us + tick;
        let hard = restored.hard_state;
        if self.trace.is_logging() && incarnation > 0 {
            let disk = format!(
                "term {}, vote {}, commit {}, log [{}]",
                hard.term,
                describe_node(hard.vote),
                hard.commit,
                describe_log(&restored.entries)
            );
            self.trace.log_detail(&format!("its disk holds {disk}"));
            let story = format!("{} n{id} restarts: {disk}", self.now_label());
            self.trace.log_story(story);
        }
        if named != id {
            self.contract_broken(format!("n{id} says its id is {named}"));
        }
        if changed != restored_from {
            self.contract_broken(format!(
                "n{id} restarted with its log from {restored_from:?} on its disk but reported its log changed from {changed:?}"
            ));
        }
        if let Some(checker) = &mut self.checker {
            let log = restored.entries.iter().map(|e| (e.term, digest(&e.data)));
            let mut result = checker.on_restart(id, hard.term, hard.commit, base, log);
            // raft-core may know more committed than its hard state says (a
            // conf entry its log holds a later one after): a commit like any other.
            let status = self.hosts[id as usize - 1].last_status.expect("just set");
            if result.is_ok() && status.commit > hard.commit {
                result = checker.on_commit(id, status.term, status.commit);
            }
            if let (Ok(()), Some((index, _))) = (&result, base) {
                // The durable snapshot's data must be the state it stands for.
                let state = self.hosts[id as usize - 1].store.state_digest();
                result = checker.on_state_restored(id, index, state);
            }
            self.check(result);
        }
        self.queue.push(
            self.now_us + tick,
            Event::Tick {
                node: id,
                incarnation,
            },
        );
        self.timeline_status(id);
        self.drive(id);
    }

    /// Crashes node `id`: volatile state is gone, the disk keeps what a crash keeps.
    pub(crate) fn crash_node(&mut self, id: NodeId, disk: DiskFate) {
        let host = &mut self.hosts[id as usize - 1];
        assert!(host.node.is_some(), "node {id} is already down");
        host.node = None;
        host.leading = false;
        host.pending_reads.clear();
        host.confirmed_reads.clear();
        host.applied = 0;
        host.applied_conf = None;
        host.last_ready_number = None;
        host.incarnation += 1;
        host.awaiting_sync = None;
        host.waiting_clients.clear();
        host.last_status = None;
        host.shown_status = None;
        match disk {
            DiskFate::Kept => host.disk.sync(),
            DiskFate::Synced => host.disk.lose_unsynced(),
            DiskFate::Prefix => {
                host.disk.crash(&mut host.disk_rng);
            }
            DiskFate::Lost => {
                host.disk.wipe();
                host.disk_lost = true;
            }
        }
        self.oracles.disturb_node(id, self.now_us);
        if let Some(checker) = &mut self.checker {
            checker.on_crash(id);
        }
    }

    pub(crate) fn on_tick(&mut self, id: NodeId, incarnation: u64) {
        let now_us = self.now_us;
        let host = self.host(id);
        if host.incarnation != incarnation {
            return;
        }
        // A paused node's tick waited, but its clock did not stop: the ticks
        // it counted meanwhile happen at once when it resumes, as a process
        // sees the time that passed during a stop-the-world pause. Past
        // twice the longest election timeout more ticks change nothing.
        if host.awaiting_sync.is_none() {
            // Every message the leader made so far has left.
            self.check_heartbeat_floor(id);
        }
        let host = self.host(id);
        let interval = host.clock.tick_us;
        let missed = (now_us.saturating_sub(host.tick_due_us) / interval)
            .min(4 * u64::from(host.config.election_timeout_ticks_min));
        let node = host
            .node
            .as_mut()
            .expect("a node of the current incarnation runs");
        let led = node.status().role == Role::Leader;
        for _ in 0..=missed {
            node.tick();
        }
        let tick = host.next_tick_interval_us();
        host.tick_due_us = now_us + tick;
        self.oracles.note_ticks(id, missed as u32 + 1, led);
        self.check_election_timer(id, missed as u32 + 1, led);
        if led {
            self.check_quorum_step_down(id);
        }
        self.queue.push(
            self.now_us + tick,
            Event::Tick {
                node: id,
                incarnation,
            },
        );
        self.after_input(id);
    }

    pub(crate) fn on_deliver(&mut self, message: Message) {
        // A partition drops what is still in flight when it starts, as a
        // firewall rule at the receiver does (Jepsen's iptables partitions).
        if self.network.is_cut(message.from, message.to) {
            self.oracles
                .disturb_link(message.from, message.to, self.now_us);
            if self.trace.is_logging() {
                let (from, to) = (message.from, message.to);
                let line = format!("lost: the link n{from} -> n{to} was cut while it flew");
                self.trace.log_detail(&line);
            }
            return;
        }
        let id = message.to;
        let checked = self.checker.is_some();
        let Some(node) = self.host(id).node.as_mut() else {
            if self.trace.is_logging() {
                self.trace.log_detail(&format!("lost: n{id} is down"));
            }
            return;
        };
        let ack_from = match message.body {
            MessageBody::AppendEntriesResponse { reject: false, .. } => Some(message.from),
            _ => None,
        };
        let asked = message.body.candidate_last_log();
        if let Some(candidate_log) = asked.filter(|_| checked) {
            let status = node.status();
            let disruptive = !matches!(
                message.body,
                MessageBody::RequestVote {
                    leadership_transfer: true,
                    ..
                }
            );
            let pre = matches!(message.body, MessageBody::PreVote { .. });
            let config = &self.host_ref(id).config;
            let lease_applies = config.check_quorum && disruptive && message.term > status.term;
            let min_ticks = config.election_timeout_ticks_min;
            self.oracles.note_lease_request(
                (message.to, message.from, message.term, pre),
                lease_applies,
                min_ticks,
                status.role == Role::Leader,
            );
            let key = (message.to, message.from, message.term);
            if pre {
                let could_vote = message.term > status.term
                    || status.vote == Some(message.from)
                    || (status.vote.is_none() && status.leader.is_none());
                self.oracles.note_pre_vote_request(key, could_vote);
            }
            self.oracles.note_vote_request(
                key,
                candidate_log,
                (status.last_term, status.last_index),
            );
        }
        let (from, term) = (message.from, message.term);
        let forwarded_read = match message.body {
            MessageBody::ReadIndex { context } => Some(context),
            _ => None,
        };
        // The answers raft-core's CheckQuorum counts (`recent_active`).
        let quorum_answer = matches!(
            message.body,
            MessageBody::AppendEntriesResponse { .. }
                | MessageBody::HeartbeatResponse { .. }
                | MessageBody::InstallSnapshotResponse { .. }
        );
        let round_answered = match message.body {
            MessageBody::HeartbeatResponse { context } if context > 0 => Some(context),
            _ => None,
        };
        if let MessageBody::AppendEntries { .. } | MessageBody::InstallSnapshot(_) = message.body {
            self.oracles.note_append_delivered(from, id);
        }
        self.probe_garbled(&message);
        let vote_answer = self.note_flow_answer(&message);
        let timeout_now = matches!(message.body, MessageBody::TimeoutNow);
        let granted_to = match message.body {
            MessageBody::RequestVote { .. } => Some(message.from),
            _ => None,
        };
        let from_leader = message.body.is_from_leader();
        let flow_judged = self.flow_judged();
        let node = self.host(id).node.as_mut().expect("checked above");
        // What a rejection may answer: any append, or a heartbeat whose
        // commit this node cannot confirm (judged after it took it).
        let rejectable = match message.body {
            _ if !flow_judged => None,
            MessageBody::AppendEntries { .. } => Some(Index::MAX),
            MessageBody::Heartbeat { commit, .. } => Some(commit.min(node.status().last_index)),
            _ => None,
        };
        node.step(message);
        let status = node.status();
        if rejectable.is_some_and(|unconfirmed| status.commit < unconfirmed) {
            self.oracles.flow.may_reject(id, from);
        }
        let leads = status.role == Role::Leader;
        if from_leader
            && status.role == Role::Follower
            && status.term == term
            && status.leader == Some(from)
        {
            self.oracles.note_leader_contact(id, true);
            self.oracles.flow.timer_restarted(id);
        }
        if granted_to.is_some_and(|candidate| status.vote == Some(candidate) && status.term == term)
        {
            self.oracles.flow.timer_restarted(id);
        }
        if timeout_now && status.role == Role::Candidate && status.term == term + 1 {
            // A campaign the leader asked for, known before its vote requests
            // leave (they wait for the vote's fsync).
            self.transferred_term = Some(status.term);
        }
        if checked && leads && status.term == term {
            if let Some(context) = forwarded_read {
                self.oracles.flow.read_taken(id, Some(from), context);
            }
            self.note_heard(id, from, forwarded_read);
            if quorum_answer {
                self.oracles.flow.note_quorum_answer(id, from, term);
            }
            if let Some(round) = round_answered {
                self.oracles.note_round_ack(id, from, term, round);
            }
        }
        if let (Some(follower), true) = (ack_from, leads) {
            self.pending_points
                .push((Point::AckCounted { node: id, nth: 0 }, Some(follower)));
        }
        if let Some(voter) = vote_answer {
            self.check_lost_election(id, voter, term, (status.role, status.term));
        }
        self.after_input(id);
        // The leader's reply to a rejection has left (or waits behind an
        // fsync, unjudged).
        self.oracles.flow.answered();
    }

    /// After any input to a node: carry out its ready, then show the checkers.
    pub(crate) fn after_input(&mut self, id: NodeId) {
        let was_leader = self.host_ref(id).leading;
        if self.trace.is_logging() {
            self.log_status_change(id);
        }
        self.drive(id);
        self.observe(id);
        self.check_acked_entries_kept(id);
        self.timeline_status(id);
        // One status for all that follows: noting a loss or a transfer's end
        // changes nothing in the node.
        let status = self.host_ref(id).status();
        let leads = status.is_some_and(|s| s.role == Role::Leader);
        if status.is_some_and(|s| s.role != Role::Follower) {
            // A campaign, or an office: the timer restarts on leaving either.
            self.oracles.flow.timer_restarted(id);
        }
        if let Some(s) = status.filter(|s| s.role == Role::Candidate && self.phase == Phase::Chaos)
        {
            self.chaos_campaign_term = self.chaos_campaign_term.max(s.term);
        }
        if was_leader && !leads {
            // A leader's own office lends it no vote lease once it is over.
            self.oracles.note_leader_contact(id, false);
            // A leader that hands over its office was not lost.
            if !self.is_transferring_from(id) {
                self.note_leader_loss();
            }
            // Without a new term, a leader steps down only by CheckQuorum, or
            // because the configuration in force no longer counts it.
            let still_voter = self
                .host_ref(id)
                .node
                .as_ref()
                .is_some_and(|node| node.conf_state().is_voter(id));
            if status.map(|s| s.term) == Some(self.host_ref(id).led_term) && still_voter {
                self.reached(Sometimes::CheckQuorumStepDown);
            }
        }
        if let Some(status) = status.filter(|_| leads) {
            self.note_transfer_end(id, status.lead_transferee);
        }
        if let Some(status) = status.filter(|s| s.role == Role::Candidate) {
            self.oracles.flow.note_candidate(id, status.term);
        }

        let host = self.host(id);
        host.leading = leads;
        if let Some(status) = status {
            if status.role == Role::Leader && status.term != host.led_term {
                host.led_term = status.term;
                host.led_commit = status.commit;
                if self.trace.is_logging() {
                    let story = format!(
                        "{} n{id} becomes LEADER of term {} (log up to {}, commit {})",
                        self.now_label(),
                        status.term,
                        status.last_index,
                        status.commit
                    );
                    self.trace.log_story(story);
                }
                self.on_new_leader(id);
            } else if status.role == Role::Leader && status.commit > host.led_commit {
                host.led_commit = status.commit;
                self.check_durable_commit(id, status.commit);
                self.on_leader_commit(id);
            }
        }
    }

    /// Takes and carries out readies until one waits for an fsync.
    pub(crate) fn drive(&mut self, id: NodeId) {
        loop {
            let host = self.host(id);
            if host.awaiting_sync.is_some() {
                return;
            }
            let Some(node) = host.node.as_mut() else {
                return;
            };
            if !node.has_ready() {
                self.check_stale_requests_answered(id, &[]);
                self.check_rejection_hints(id, &[]);
                self.check_rejections_prompted(id, &[]);
                self.check_votes_granted_again(id, &[]);
                self.probe_no_ready(id);
                return;
            }
            let first_index = node.first_index();
            let mut ready = node.ready();
            let (number, status) = (ready.number, node.status());
            let previous = host.last_ready_number.replace(number);
            if previous.is_some_and(|previous| number <= previous)
                || first_index != status.snapshot_index + 1
            {
                self.contract_broken(format!(
                    "n{id}'s ready {number} follows ready {previous:?}; its first index is {first_index} with its snapshot at {}",
                    status.snapshot_index
                ));
                return;
            }
            let contexts: Vec<u64> = ready.read_states.iter().map(|r| r.context).collect();
            self.check_read_rounds(id, &[&ready.messages, &ready.persisted_messages], &contexts);
            let host = self.host(id);
            let mut read_indexes = Vec::new();
            let mut released = Vec::new();
            let mut lease_unused = None;
            for read in std::mem::take(&mut ready.read_states) {
                read_indexes.push(read.index);
                if let Some(pending) = host.pending_reads.remove(&read.context) {
                    if pending.asked_as_leader {
                        released.push(((pending.asked_event, pending.asked_us), read.via));
                    }
                    if pending.lease_must_hold && read.via != ReadVia::Lease {
                        lease_unused = Some(read.via);
                    }
                    host.confirmed_reads.push((read.index, read.via, pending));
                }
            }
            for index in read_indexes {
                self.check_read_index(id, index);
            }
            for (asked, via) in released {
                self.check_read_confirmed(id, asked, via);
            }
            if let Some(via) = lease_unused {
                self.report_lease_unused(id, via);
            }
            self.check_stale_requests_answered(id, &[&ready.messages, &ready.persisted_messages]);
            self.check_rejection_hints(id, &[&ready.messages, &ready.persisted_messages]);
            self.check_rejections_prompted(id, &[&ready.messages, &ready.persisted_messages]);
            self.check_votes_granted_again(id, &[&ready.messages, &ready.persisted_messages]);
            let host = self.host(id);
            let immediate = std::mem::take(&mut ready.messages);
            let awaiting = AwaitingSync {
                number: ready.number,
                hard_state_written: ready.hard_state.is_some(),
                persisted_messages: std::mem::take(&mut ready.persisted_messages),
                committed_entries: std::mem::take(&mut ready.committed_entries),
                installs_snapshot: ready.snapshot.as_ref().map(|s| s.meta.index),
            };
            let mut restored = None;
            if let Some(snapshot) = &ready.snapshot {
                // The state machine is replaced now; the snapshot is durable
                // with this ready's other writes. Bytes that decode to no
                // store are a corrupt snapshot: the store restarts empty and
                // the check below reports it.
                let decoded = KvStore::decode(&snapshot.data);
                let corrupt = decoded.is_none();
                host.store = decoded.unwrap_or_default();
                host.applied = snapshot.meta.index;
                host.applied_conf = None;
                restored = Some((snapshot.meta.clone(), host.store.state_digest(), corrupt));
            }
            if let Some((meta, _, _)) = &restored {
                self.oracles
                    .note_conf_changed(id, self.trace.events(), self.now_us);
                let conf = meta.conf_state.clone();
                self.note_members(id, &conf);
            }
            if let Some((meta, state, corrupt)) = restored {
                if corrupt && self.checker.is_some() {
                    self.report(invariants::Violation {
                        invariant: invariants::Invariant::StateMachineSafety,
                        nodes: vec![id],
                        index: Some(meta.index),
                        term: Some(meta.term),
                        expected: format!(
                            "node {id} to restore the state machine the leader snapshotted at index {}",
                            meta.index
                        ),
                        seen: "the snapshot it installed holds bytes that are no state machine (corrupt)".into(),
                    });
                } else if let Some(checker) = &mut self.checker {
                    let result = checker.on_state_restored(id, meta.index, state);
                    self.check(result);
                }
            }
            if let Some(first) = ready.entries.first().filter(|_| ready.snapshot.is_none()) {
                self.check_truncate_on_conflict(id, first.index, first.term);
            }
            let must_persist = ready.must_persist();
            let writes =
                ready.hard_state.is_some() || !ready.entries.is_empty() || ready.snapshot.is_some();
            if must_persist != writes {
                self.contract_broken(format!(
                    "n{id}'s ready {} says it must persist: {must_persist}, and it {} something to write",
                    ready.number,
                    if writes { "has" } else { "has not" }
                ));
                return;
            }
            let host = self.host(id);
            if must_persist {
                host.disk.write(
                    ready.snapshot.take(),
                    ready.hard_state,
                    std::mem::take(&mut ready.entries),
                );
                host.awaiting_sync = Some(awaiting);
                let (low, high) = (self.params.fsync_us_min, self.params.fsync_us_max);
                let fsync = self.host(id).disk_rng.range_inclusive(low, high);
                let incarnation = self.host(id).incarnation;
                self.queue.push(
                    self.now_us + fsync,
                    Event::FsyncDone {
                        node: id,
                        incarnation,
                    },
                );
                self.send_all(immediate);
                self.oracles.flow.ready_sent(id);
                return;
            }
            self.send_all(immediate);
            self.oracles.flow.ready_sent(id);
            self.finish_ready(id, awaiting);
        }
    }

    pub(crate) fn on_fsync_done(&mut self, id: NodeId, incarnation: u64) {
        let host = self.host(id);
        if host.incarnation != incarnation {
            return;
        }
        let hard_state_written = host
            .awaiting_sync
            .as_ref()
            .is_some_and(|a| a.hard_state_written);
        let crash = self.fsync_crash(id, hard_state_written);
        if let Some((true, downtime)) = crash {
            self.crash(id, CrashCause::Fsync { before: true }, Some(downtime));
            return;
        }
        let host = self.host(id);
        host.disk.sync();
        let awaiting = host
            .awaiting_sync
            .take()
            .expect("an fsync completes only for a pending ready");
        self.finish_ready(id, awaiting);
        self.after_input(id);
        if let Some((false, downtime)) = crash {
            self.crash(id, CrashCause::Fsync { before: false }, Some(downtime));
        }
    }

    /// The writes of a ready are durable: release its messages, apply, advance.
    fn finish_ready(&mut self, id: NodeId, awaiting: AwaitingSync) {
        if let (Some(index), Some(checker)) = (awaiting.installs_snapshot, &mut self.checker) {
            // The snapshot the leader sent is durable now.
            let result = checker.on_compacted(id, index);
            self.check(result);
        }
        self.send_all(awaiting.persisted_messages);
        self.oracles.flow.held_messages_sent(id);
        for entry in &awaiting.committed_entries {
            self.apply(id, entry);
        }
        self.serve_reads(id);
        let node = self
            .host(id)
            .node
            .as_mut()
            .expect("a node with a ready runs");
        node.advance(awaiting.number);
        if let Some(every) = self.params.compact_every {
            let host = self.host_ref(id);
            if host.applied >= host.snapshot_index() + every {
                self.compact(id);
            }
        }
    }

    /// Node `id` snapshots its store at its applied index, makes the
    /// snapshot durable and compacts its log (nothing if it is down or
    /// paused, or applied nothing past its last snapshot).
    pub(crate) fn compact(&mut self, id: NodeId) {
        let (paused, snapshot_index) = (self.is_paused(id), self.host_ref(id).snapshot_index());
        let host = self.host(id);
        let applied = host.applied;
        let Some(node) = host.node.as_mut() else {
            return;
        };
        if paused || applied <= snapshot_index || node.status().applied != applied {
            return;
        }
        let data = host.store.encode();
        match node.compact(applied, data.clone()) {
            Ok(()) => {}
            // A joining node that applied no conf entry knows no configuration.
            Err(CompactError::NoConfiguration { .. }) => return,
            // Applied entries are committed and durable: only a planted bug
            // (one that truncates what it applied) has raft-core refuse them.
            Err(_) if !self.params.bugs.is_empty() => return,
            Err(error) => {
                self.contract_broken(format!(
                    "n{id} refused to compact at its applied index {applied}: {error}"
                ));
                return;
            }
        }
        let meta = node
            .snapshot_meta()
            .cloned()
            .expect("a node that compacted holds its snapshot");
        host.disk.compact(Snapshot { meta, data });
        self.pending_points
            .push((Point::SnapshotTaken { node: id, nth: 0 }, None));
        if self.trace.is_logging() {
            self.trace.log_detail(&format!(
                "n{id} snapshots its state and compacts its log up to {applied}"
            ));
        }
        if let Some(checker) = &mut self.checker {
            let result = checker.on_compacted(id, applied);
            self.check(result);
        }
    }

    /// Answers the confirmed reads whose read index this node has applied.
    fn serve_reads(&mut self, id: NodeId) {
        let read_before_apply = self.params.bugs.has(raft_core::Bug::ReadBeforeApply);
        let host = self.host(id);
        if host.confirmed_reads.is_empty() {
            return;
        }
        // BUG(ReadBeforeApply): a confirmed read is answered at once, from
        // whatever this node has applied so far.
        let applied = match read_before_apply {
            true => Index::MAX,
            false => host.applied,
        };
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut host.confirmed_reads)
            .into_iter()
            .partition(|(index, _, _)| *index <= applied);
        host.confirmed_reads = waiting;
        let truly_applied = host.applied;
        for (index, via, read) in ready {
            if index > truly_applied {
                self.check_read_after_apply(id, index, truly_applied);
            }
            // By who asked: a read forwarded by a follower is the follower
            // path even if this node leads by the time it serves it.
            let situation = match (read.asked_as_leader, via) {
                (false, _) => Sometimes::ReadByFollowerReadIndex,
                (true, ReadVia::Quorum) => Sometimes::ReadByReadIndex,
                (true, ReadVia::Lease) => Sometimes::ReadByLease,
                (true, ReadVia::QuorumLeaseExpired) => Sometimes::ReadLeaseExpired,
            };
            self.reached(situation);
            let value = self.host(id).store.read(&read.key);
            self.reply(
                id,
                read.client,
                read.seq,
                read.attempt,
                Reply::Done(KvResult::Value(value)),
            );
        }
    }

    fn apply(&mut self, id: NodeId, entry: &Entry) {
        self.host(id).applied = entry.index;
        if entry.kind == EntryKind::ConfChange {
            self.oracles
                .note_conf_changed(id, self.trace.events(), self.now_us);
            self.check_apply(id, entry);
            let decoded = ConfChangeEntry::decode(&entry.data)
                .expect("a conf entry holds what raft-core encoded");
            // The documented layout: the change's own encoding first, which
            // `ConfChange::decode` reads back, alone or from the whole entry.
            let change = &decoded.change;
            let encoded = change.encode();
            if !entry.data.starts_with(&encoded)
                || ConfChange::decode(&encoded).as_ref() != Ok(change)
                || ConfChange::decode(&entry.data).as_ref() != Ok(change)
            {
                self.contract_broken(format!(
                    "n{id}'s conf entry {} does not start with its change's encoding, or ConfChange::decode does not read that change back: {change:?}",
                    entry.index
                ));
            }
            self.check_conf_entry_applied(id, entry.index, &decoded);
            let conf = decoded.conf_state;
            self.note_members(id, &conf);
            self.on_conf_applied(entry.index, conf);
            return;
        }
        let command = Command::decode(&entry.data);
        let host = self.host(id);
        let result = match command.as_ref().map(|c| host.store.apply(c)) {
            Some(Applied::Executed(result) | Applied::Duplicate(result)) => Some(result),
            Some(Applied::Superseded) | None => None,
        };
        self.check_apply(id, entry);
        let (Some(command), Some(result)) = (command, result) else {
            return;
        };
        let host = self.host(id);
        if host.waiting_clients.remove(&(command.client, command.seq)) {
            self.reply(
                id,
                command.client,
                command.seq,
                u32::MAX,
                Reply::Done(result),
            );
        }
    }

    /// Shows the checker the entry node `id` just applied, with the state
    /// its store reached.
    fn check_apply(&mut self, id: NodeId, entry: &Entry) {
        let state_digest = self.hosts[id as usize - 1].store.state_digest();
        if let Some(checker) = &mut self.checker {
            let result = checker.on_apply(
                id,
                entry.index,
                entry.term,
                digest(&entry.data),
                state_digest,
            );
            self.check(result);
        }
    }

    /// Registers that node `id` proposed a client's operation and must answer it.
    pub(crate) fn await_apply(&mut self, id: NodeId, client: u64, seq: u64) {
        self.host(id).waiting_clients.insert((client, seq));
    }

    fn send_all(&mut self, messages: Vec<Message>) {
        let mut shown = Vec::new();
        for message in messages {
            if !self.trace.is_logging() {
                self.send_message(message, true);
                continue;
            }
            let (from, to) = (message.from, message.to);
            // Votes are shown as they leave (after the fsync of the vote):
            // a node granting two votes in a term shows here.
            let is_vote = matches!(message.body, MessageBody::RequestVoteResponse { .. });
            let what = format!("t{} {}", message.term, describe_body(&message.body));
            let delivery = self.send_message(message, true);
            if !matches!(delivery, Delivery::Once(_)) || is_vote {
                shown.push((delivery_kind(delivery), from, to, what));
            }
        }
        self.log_sent(shown);
    }

    /// Sends a Raft message over the network now; with `ask_driver`, the
    /// driver decides its fate as every message's (a message a scenario
    /// releases was decided already). Returns what became of it.
    pub(crate) fn send_message(&mut self, message: Message, ask_driver: bool) -> Delivery {
        if matches!(
            message.body,
            MessageBody::PreVoteResponse { granted: false }
        ) && self
            .host_ref(message.from)
            .status()
            .is_some_and(|s| s.leader.is_some())
        {
            self.reached(Sometimes::PreVoteRefusedLeaderKnown);
        }
        if let MessageBody::RequestVote {
            leadership_transfer: true,
            ..
        } = message.body
        {
            self.transferred_term = Some(message.term);
        }
        if let MessageBody::InstallSnapshot(chunk) = &message.body {
            self.note_snapshot_chunk(message.from, message.to, chunk.meta.index, chunk.offset);
        }
        if let MessageBody::Heartbeat { context, .. } = message.body {
            if context > 0 && self.checker.is_some() {
                let now_us = self.now_us;
                self.oracles
                    .note_round_sent(message.from, message.term, context, now_us);
            }
        }
        self.check_durable_answer(&message);
        if ask_driver {
            // A message a scenario held and now releases left once already.
            self.check_append_flow(&message);
            self.check_heartbeat_pace(&message);
            if let MessageBody::RequestVote { .. } = message.body {
                self.check_vote_request_pace(message.from, message.to, message.term);
            }
        }
        if let MessageBody::ReadIndexResponse {
            index,
            context,
            via,
        } = message.body
        {
            self.check_read_index(message.from, index);
            self.check_forwarded_read_confirmed(message.from, message.to, context, via);
        }
        if let MessageBody::AppendEntriesResponse {
            reject: false,
            index,
            ..
        } = message.body
        {
            self.note_acked(message.from, message.term, index);
        }
        if let MessageBody::RequestVoteResponse { granted: true }
        | MessageBody::PreVoteResponse { granted: true } = message.body
        {
            self.check_vote_log(&message);
            self.check_vote_lease(&message);
            self.check_pre_vote_promise(&message);
        }
        if let MessageBody::RequestVote { .. } = message.body {
            // A candidate's vote for itself is a vote of its term like any
            // other, and it is on its disk once its requests leave.
            self.note_vote_granted(message.term, message.from, message.from);
        }
        if let MessageBody::RequestVoteResponse { granted: true } = message.body {
            self.note_vote_granted(message.term, message.to, message.from);
            let point = Point::VoteGranted {
                node: message.from,
                nth: 0,
            };
            self.pending_points.push((point, Some(message.to)));
        }
        let (from, to) = (Endpoint::Node(message.from), Endpoint::Node(message.to));
        let about = About::of_raft(&message);
        let delivery = self.transmit(from, to, about, Some(&message), ask_driver);
        let number = self.messages_sent - 1;
        self.timeline_sent(number, (from, to), Sent::Raft(&message), delivery);
        match delivery {
            Delivery::Once(delay) => self
                .queue
                .push(self.now_us + delay, Event::Deliver(message)),
            Delivery::Twice(first, second) => {
                self.queue
                    .push(self.now_us + first, Event::Deliver(message.clone()));
                self.queue
                    .push(self.now_us + second, Event::Deliver(message));
            }
            Delivery::Cut | Delivery::Dropped | Delivery::Held => {}
        }
        delivery
    }

    /// Logs the messages sent that a reader of the replay wants to see:
    /// those a fault struck, and votes. One line for the same message to
    /// several nodes (a leader's heartbeats into a partition).
    fn log_sent(&mut self, mut shown: Vec<(&'static str, NodeId, NodeId, String)>) {
        while !shown.is_empty() {
            let (why, from, _, what) = shown[0].clone();
            let (same, rest): (Vec<_>, Vec<_>) = shown
                .into_iter()
                .partition(|(w, s, _, m)| (*w, *s, m) == (why, from, &what));
            shown = rest;
            let to: Vec<String> = same.iter().map(|(_, _, to, _)| format!("n{to}")).collect();
            let line = format!("sent n{from} -> {} {what}{why}", to.join(" "));
            self.trace.log_detail(&line);
        }
    }

    /// Logs what changed on node `id` since the log last showed it (role,
    /// term, vote, leader, commit).
    fn log_status_change(&mut self, id: NodeId) {
        let host = self.host(id);
        let Some(after) = host.node.as_ref().map(|n| n.status()) else {
            return;
        };
        let before = host.shown_status.replace(after);
        if let Some(line) = before.and_then(|before| describe_status_change(&before, &after)) {
            self.trace.log_detail(&line);
        }
    }

    /// Shows the checkers what changed on node `id` in this step.
    pub(crate) fn observe(&mut self, id: NodeId) {
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        let host = &mut self.hosts[id as usize - 1];
        let Some(node) = host.node.as_mut() else {
            return;
        };
        let mut result = Ok(());
        if let Some(meta) = node.take_installed_snapshot() {
            self.coverage = self.coverage.with(Sometimes::SnapshotInstalled);
            // The host restores its store when it takes the ready that
            // carries the snapshot (maybe later): its state is checked then.
            let state = invariants::STATE_DIGEST_UNKNOWN;
            result = checker.on_snapshot(id, meta.index, meta.term, state);
        }
        if let Some(from) = node.take_log_changes().filter(|_| result.is_ok()) {
            let entries = node
                .log_entries_from(from)
                .iter()
                .map(|e| (e.term, digest(&e.data)));
            result = checker.on_log_rewritten(id, from, entries);
        }
        let status = node.status();
        let last = host
            .last_status
            .replace(status)
            .expect("a running node has a last status");
        if result.is_ok() && status.term != last.term {
            result = checker.on_term(id, status.term);
        }
        if result.is_ok()
            && status.role == Role::Leader
            && (last.role != Role::Leader || last.term != status.term)
        {
            result = checker.on_leader(id, status.term);
        }
        if result.is_ok() && status.commit != last.commit {
            result = checker.on_commit(id, status.term, status.commit);
        }
        self.check(result);
    }
}

/// What became of a message, as the replay log says it after the message.
fn delivery_kind(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Once(_) => "",
        Delivery::Cut => ": lost, the link is cut",
        Delivery::Dropped => ": dropped by the network",
        Delivery::Twice(..) => ": duplicated, it will arrive twice",
        Delivery::Held => ": held by a scenario rule",
    }
}

#[cfg(test)]
mod tests {
    use super::lease_drift_ticks;

    #[test]
    fn the_lease_gives_up_the_ticks_a_drifting_clock_can_lose_and_one_more() {
        // No drift: only the tick alignment.
        assert_eq!(lease_drift_ticks(10, 0), 1);
        // 5%: over 10 follower ticks a slow leader counts 10 * 0.95 / 1.05 =
        // 9.05, under one tick short.
        assert_eq!(lease_drift_ticks(10, 50), 2);
        // 16%: 10 * 0.84 / 1.16 = 7.2, under three ticks short.
        assert_eq!(lease_drift_ticks(10, 160), 4);
        // A bound that leaves no lease at a short timeout is caught by the caller.
        assert!(lease_drift_ticks(3, 500) >= 3);
    }
}
