//! The node's protocol state: term, vote, role and log, and the dispatch of inputs.
//!
//! Owns the role transitions (`become_follower`, `become_candidate`,
//! `become_leader`, each asserting it is legal), the election timer, the term
//! rules every message passes through first, and the outbox. What each role does
//! with a message lives in `election` and `replication`.

use rand_core::RngCore;

use crate::conf_change::NOT_A_MEMBER;
use crate::config::{Bug, Config, ReadOnlyOption};
use crate::log::RaftLog;
use crate::membership::Membership;
use crate::progress::Progress;
use crate::raw_node::ReadState;
use crate::read_only::ReadOnly;
use crate::snapshot::Snapshots;
use crate::transfer::LeaderTransfer;
use crate::types::{
    ConfState, Entry, EntryKind, HardState, Index, Message, MessageBody, NodeId, RestoredState,
    SnapshotChunk, Term,
};

/// A role and the data only that role has.
#[derive(Debug)]
pub(crate) enum RoleState {
    /// Follows `Raft::leader` (or waits for one).
    Follower,
    /// Asks for pre-votes for `Raft::term + 1`, without having raised its term
    /// (PreVote): it becomes a candidate only once a majority would vote for it.
    PreCandidate {
        /// Each member's answer, indexed by member position (`None`: no answer
        /// yet; only the voters' answers are counted).
        // Invariant: votes.len() == members.len() and votes[self] == Some(true).
        votes: Vec<Option<bool>>,
    },
    /// Campaigns in `Raft::term`.
    Candidate {
        /// Each member's answer, indexed by member position (`None`: no answer
        /// yet; only the voters' answers are counted).
        // Invariant: votes.len() == members.len() and votes[self] == Some(true).
        votes: Vec<Option<bool>>,
        /// The leader asked for this campaign (TimeoutNow): its vote requests
        /// say so, to pass CheckQuorum's vote lease.
        leadership_transfer: bool,
    },
    /// Leads `Raft::term`.
    Leader {
        /// The leader's view of every member's log (learners too: they are
        /// replicated to), indexed by member position.
        // Invariant: progress.len() == members.len(); progress[self].match_index == log.persisted().
        progress: Vec<Progress>,
        /// Ticks since the last heartbeat.
        heartbeat_elapsed_ticks: u32,
        /// CheckQuorum: which members were heard from (an AppendEntries or heartbeat
        /// response) since the last quorum check, indexed by member position.
        // Invariant: recent_active.len() == members.len() and recent_active[self].
        recent_active: Vec<bool>,
        /// Ticks since the leader took office or last checked its quorum.
        // Invariant: below election_timeout_ticks_min between ticks.
        quorum_check_elapsed_ticks: u32,
        /// Reads waiting to be confirmed, and the heartbeat rounds that confirm them
        /// (boxed, so the leader's variant does not dwarf the others).
        reads: Box<ReadOnly>,
        /// The leadership transfer under way, if any.
        transfer: Option<LeaderTransfer>,
    },
}

/// One Raft node's protocol state.
pub(crate) struct Raft {
    /// The node's configuration.
    pub(crate) config: Config,
    /// Who is in the cluster: initially `config.voters` and `config.learners`
    /// (nobody, for a joining node); replaced when a conf entry is applied
    /// (see `conf_change`).
    pub(crate) membership: Membership,
    /// Position of `config.id` among `membership.members()`, or
    /// `NOT_A_MEMBER` (a joining or removed node).
    // Invariant: a member's position for a leader, candidate or
    // pre-candidate (each is a voter), so their indexing by it is sound.
    pub(crate) self_position: usize,
    /// Leader: the index of the last conf entry it appended, or its last
    /// index when it took office (a predecessor's change may be there); no
    /// change is accepted until the host applied it (etcd's `pendingConfIndex`).
    pub(crate) pending_conf_index: Index,
    /// Leader only: the configuration it applied, in which it is no voter,
    /// while it leads on until a voter of it holds its whole log (see
    /// `conf_change`); `membership` then lists it as a learner if needed.
    // Invariant: None unless this node leads.
    pub(crate) leaving_conf_state: Option<ConfState>,
    /// The highest index the host applied (as `RawNode`'s, set at `advance`).
    // Invariant: applied <= commit.
    pub(crate) applied: Index,
    /// The current term.
    // Invariant: never decreases.
    pub(crate) term: Term,
    /// The vote cast in `term`.
    // Invariant: a candidate or leader voted for itself (unless a planted bug says otherwise).
    pub(crate) vote: Option<NodeId>,
    /// The leader of `term`, if known.
    pub(crate) leader: Option<NodeId>,
    /// The role and its data.
    pub(crate) role: RoleState,
    /// The log.
    pub(crate) log: RaftLog,
    /// The highest index known committed.
    // Invariant: never decreases.
    pub(crate) commit: Index,
    /// The last index this node's log is known to share with the log of the
    /// leader of `term`: the last new entry of the latest AppendEntries it
    /// accepted in this term. Volatile: 0 after a restart or a change of term.
    /// A heartbeat (an AppendEntries with no entries, §5.3) commits at most this far.
    // Invariant: 0 unless this node follows a leader of `term`.
    pub(crate) leader_confirmed_index: Index,
    /// Ticks since the election timer was last reset.
    election_elapsed_ticks: u32,
    /// Ticks since this node last heard from a leader (of any term): an
    /// AppendEntries or heartbeat it accepted. `None`: not since it started.
    /// Unlike the election timer it is not reset by granting a vote, and unlike
    /// `leader` it survives a change of term: it answers "has a leader spoken
    /// within an election timeout?", which PreVote and CheckQuorum ask before
    /// letting a vote disrupt that leader. Read only when one of them is on.
    // Invariant: saturates at election_timeout_ticks_min (all that is asked is
    // whether it is below).
    pub(crate) leader_contact_elapsed_ticks: Option<u32>,
    /// The current randomized election timeout.
    // Invariant: min <= election_timeout_ticks < 2 * min.
    election_timeout_ticks: u32,
    /// Draws election timeouts.
    rng: Box<dyn RngCore + Send>,
    /// Messages that may leave at once.
    pub(crate) messages: Vec<Message>,
    /// Messages that may leave only once the current state is durable.
    pub(crate) persisted_messages: Vec<Message>,
    /// Reused buffer for match indexes when computing the commit index.
    pub(crate) match_scratch: Vec<Index>,
    /// Reads confirmed and not yet handed to the host (in the next `Ready`).
    pub(crate) read_states: Vec<ReadState>,
    /// The node's snapshot, one being received, one for the host (see `snapshot`).
    pub(crate) snapshots: Snapshots,
}

/// The index of the last conf entry in `log` that a later conf entry follows
/// (0 if none). It is committed whatever the hard state says: a leader appends
/// a conf entry only once the previous one is applied (rule 1 of
/// `conf_change`), and a log holding the later entry matches that leader's log
/// up to it. A torn write can keep both entries and lose the hard state whose
/// commit covered the first; restarted on its stale commit, the node would
/// act on (and campaign with) a configuration two steps behind the cluster's.
fn superseded_conf_index(log: &RaftLog) -> Index {
    let unsnapshotted = log.entries_from(log.first_index());
    let mut conf_indexes = unsnapshotted
        .iter()
        .rev()
        .filter(|e| e.kind == EntryKind::ConfChange)
        .map(|e| e.index);
    conf_indexes.nth(1).unwrap_or(0)
}

impl Raft {
    /// A follower rebuilt from what its host restored (nothing, for a new node).
    pub(crate) fn new(
        config: Config,
        restored: RestoredState,
        rng: Box<dyn RngCore + Send>,
    ) -> Raft {
        let membership = match config.joining {
            true => Membership::empty(),
            false => Membership::new(config.voters.clone(), config.learners.clone()),
        };
        let self_position = membership.position_of(config.id).unwrap_or(NOT_A_MEMBER);
        assert!(
            config.joining || self_position != NOT_A_MEMBER,
            "validated: id is a voter or a learner"
        );
        let snapshot_end = restored
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.index, s.meta.term));
        let log = RaftLog::restored_after(snapshot_end, restored.entries);
        let mut hard_state = restored.hard_state;
        if log.last_term() > hard_state.term {
            // The disk kept entries of a term whose hard state it lost: adopt the term, no vote.
            hard_state = HardState {
                term: log.last_term(),
                vote: None,
                commit: hard_state.commit,
            };
        }
        // Lease reads: a node that just started may have acknowledged a leader's
        // heartbeat before it crashed and forgot it; it keeps that leader's vote
        // lease for an election timeout, as if it had heard from it at start.
        let leader_contact_elapsed_ticks =
            (config.read_only == ReadOnlyOption::LeaseBased).then_some(0);
        let mut raft = Raft {
            membership,
            self_position,
            pending_conf_index: 0,
            leaving_conf_state: None,
            applied: 0,
            term: hard_state.term,
            vote: hard_state.vote,
            leader: None,
            role: RoleState::Follower,
            // The durable commit may run ahead of the durable log if the host wrote
            // the hard state first; commit only what this node holds. The
            // snapshot is committed (it may be newer than the hard state), and
            // so is every conf entry the log holds a later one after.
            commit: hard_state
                .commit
                .min(log.last_index())
                .max(snapshot_end.0)
                .max(superseded_conf_index(&log)),
            leader_confirmed_index: 0,
            log,
            election_elapsed_ticks: 0,
            leader_contact_elapsed_ticks,
            election_timeout_ticks: config.election_timeout_ticks_min,
            rng,
            messages: Vec::new(),
            persisted_messages: Vec::new(),
            match_scratch: Vec::with_capacity(config.voters.len() + config.learners.len()),
            read_states: Vec::new(),
            snapshots: Snapshots::restored(restored.snapshot),
            config,
        };
        if let Some(meta) = raft.snapshots.current_meta() {
            let conf_state = meta.conf_state.clone();
            raft.apply_conf_state(&conf_state);
        }
        raft.reset_election_timer();
        raft
    }

    /// This node's id.
    pub(crate) fn id(&self) -> NodeId {
        self.config.id
    }

    /// Term, vote and commit as they are now.
    pub(crate) fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.commit,
        }
    }

    /// Whether this node leads its term.
    pub(crate) fn is_leader(&self) -> bool {
        matches!(self.role, RoleState::Leader { .. })
    }

    /// The position of `id` among the members (voters and learners), if it is one.
    pub(crate) fn position_of(&self, id: NodeId) -> Option<usize> {
        self.membership.position_of(id)
    }

    /// How many members there are: the length of every per-member vector.
    pub(crate) fn member_count(&self) -> usize {
        self.membership.members().len()
    }

    /// Whether this node may campaign: it is a voter. A learner never
    /// campaigns (etcd's `promotable`): it is counted in no election.
    pub(crate) fn is_promotable(&self) -> bool {
        self.is_elector(self.id())
    }

    /// Queues a message to `to` in the current term, in the outbox its kind requires.
    pub(crate) fn send(&mut self, to: NodeId, body: MessageBody) {
        self.send_in_term(to, self.term, body);
    }

    /// Queues a message to `to` whose envelope carries `term`: the current term,
    /// except for PreVote and its grant, which speak of the term to come.
    pub(crate) fn send_in_term(&mut self, to: NodeId, term: Term, body: MessageBody) {
        assert_ne!(to, self.id(), "a node never messages itself");
        if term != self.term {
            assert!(
                matches!(
                    body,
                    MessageBody::PreVote { .. } | MessageBody::PreVoteResponse { granted: true }
                ),
                "only a pre-vote and its grant speak of another term"
            );
        }
        let after_persist = match body {
            MessageBody::RequestVote { .. } | MessageBody::RequestVoteResponse { .. } => true,
            // BUG(AckBeforeFsync): the acknowledgement leaves before the entries it
            // acknowledges are durable; a crash can then lose entries a leader counted.
            MessageBody::AppendEntriesResponse { .. } => !self.config.bugs.has(Bug::AckBeforeFsync),
            // The end of a transfer vouches for the snapshot (or the entries) it leaves durable.
            MessageBody::InstallSnapshotResponse { done, .. } => done,
            // A pre-vote changes no durable state on either side: nothing to wait for.
            MessageBody::AppendEntries { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::HeartbeatResponse { .. }
            | MessageBody::PreVote { .. }
            | MessageBody::PreVoteResponse { .. }
            | MessageBody::ReadIndex { .. }
            | MessageBody::ReadIndexResponse { .. }
            | MessageBody::TimeoutNow
            | MessageBody::InstallSnapshot(_) => false,
        };
        let message = Message {
            from: self.id(),
            to,
            term,
            body,
        };
        if after_persist {
            self.persisted_messages.push(message);
        } else {
            self.messages.push(message);
        }
    }

    /// Draws a new election timeout and restarts the timer.
    pub(crate) fn reset_election_timer(&mut self) {
        let min = self.config.election_timeout_ticks_min;
        // Uniform in [min, 2 * min); the modulo bias of a 64-bit draw is below 2^-32.
        let extra = (self.rng.next_u64() % u64::from(min)) as u32;
        self.election_timeout_ticks = min + extra;
        self.election_elapsed_ticks = 0;
        assert!(self.election_timeout_ticks >= min && self.election_timeout_ticks < 2 * min);
    }

    /// One tick of the logical clock.
    pub(crate) fn tick(&mut self) {
        if self.is_leader() {
            self.tick_leader();
            return;
        }
        self.election_elapsed_ticks += 1;
        let min = self.config.election_timeout_ticks_min;
        self.leader_contact_elapsed_ticks = self
            .leader_contact_elapsed_ticks
            .map(|elapsed| (elapsed + 1).min(min));
        if self.election_elapsed_ticks >= self.election_timeout_ticks {
            if self.may_campaign() {
                self.campaign();
            } else {
                // A learner never campaigns (etcd's `promotable`), nor does a
                // node with a committed conf entry to apply. Its timer
                // restarts without a draw: no timeout of its is ever acted on.
                self.election_elapsed_ticks = 0;
            }
        } else if matches!(
            self.role,
            RoleState::Candidate { .. } | RoleState::PreCandidate { .. }
        ) && self
            .election_elapsed_ticks
            .is_multiple_of(self.config.heartbeat_interval_ticks)
        {
            self.request_votes();
        }
    }

    /// Leader: one tick. Every election timeout, CheckQuorum asks whether a
    /// majority was heard from; then the heartbeat timer.
    fn tick_leader(&mut self) {
        let min = self.config.election_timeout_ticks_min;
        let RoleState::Leader {
            quorum_check_elapsed_ticks,
            reads,
            ..
        } = &mut self.role
        else {
            unreachable!("tick_leader is called on a leader");
        };
        reads.on_tick();
        *quorum_check_elapsed_ticks += 1;
        self.tick_transfer();
        let RoleState::Leader {
            quorum_check_elapsed_ticks,
            ..
        } = &mut self.role
        else {
            unreachable!("a transfer does not end leadership");
        };
        if *quorum_check_elapsed_ticks >= min {
            *quorum_check_elapsed_ticks = 0;
            // BUG(LeaseWithoutCheckQuorum): the leader's half of CheckQuorum is
            // off; cut off from a majority it leads on, on its lease.
            let checks =
                self.config.check_quorum && !self.config.bugs.has(Bug::LeaseWithoutCheckQuorum);
            if checks && !self.check_quorum() {
                self.step_down_without_quorum();
                return;
            }
        }
        self.tick_heartbeat();
    }

    /// Handles one message: the term rules first, then the role's handler.
    pub(crate) fn step(&mut self, message: Message) {
        let Message {
            from,
            to,
            term,
            body,
        } = message;
        if to != self.id() || from == self.id() || from == 0 {
            return; // Not for us: ignore.
        }
        if !is_well_formed(term, &body) {
            // No correct leader sends this: dropped whole, its term included,
            // rather than let it move the term, the timers or the log.
            return;
        }
        if self.position_of(from).is_none() && !self.accepts_from_non_member(&body) {
            return; // From outside our configuration, and no leader's message: ignore.
        }
        if term > self.term {
            if self.ignores_disruptive_vote(&body) {
                return;
            }
            match body {
                // A pre-vote speaks of a term to come: it never changes ours (etcd).
                MessageBody::PreVote { .. } => {}
                // A grant carries the term we would campaign in; a refusal at a
                // higher term is news of that term and makes us follow it.
                MessageBody::PreVoteResponse { granted: true } => {}
                _ if body.is_from_leader() || self.is_leader() => {
                    self.become_follower(term, body.is_from_leader().then_some(from));
                }
                // Word of a term from a node that does not lead it (a
                // candidate, a voter's answer): follow the term but keep the
                // timer running. Figure 2 restarts a follower's timer only
                // for its leader or a vote it grants; restarting it here (as
                // etcd does) lets voters with stale logs, campaigning in
                // turn, hold back the one voter they would all elect, for
                // any number of rounds without PreVote (seed 31876217).
                _ => self.follow_term(term),
            }
        } else if term < self.term {
            self.answer_stale(from, &body);
            return;
        }
        match body {
            MessageBody::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.handle_vote_request(from, last_log_index, last_log_term),
            MessageBody::RequestVoteResponse { granted } => {
                self.handle_vote_response(from, granted)
            }
            MessageBody::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                if self.accept_leader(from) {
                    self.handle_append_entries(
                        from,
                        prev_log_index,
                        prev_log_term,
                        entries,
                        leader_commit,
                    );
                }
            }
            MessageBody::Heartbeat { commit, context } => {
                if self.accept_leader(from) {
                    self.handle_heartbeat(from, commit, context);
                }
            }
            MessageBody::AppendEntriesResponse {
                reject,
                index,
                reject_hint_index,
                reject_hint_term,
            } => self.handle_append_response(
                from,
                reject,
                index,
                reject_hint_index,
                reject_hint_term,
            ),
            MessageBody::HeartbeatResponse { context } => {
                self.handle_heartbeat_response(from, context)
            }
            MessageBody::PreVote {
                last_log_index,
                last_log_term,
            } => self.handle_pre_vote_request(from, term, last_log_index, last_log_term),
            MessageBody::PreVoteResponse { granted } => {
                self.handle_pre_vote_response(from, term, granted)
            }
            MessageBody::ReadIndex { context } => self.handle_read_index_request(from, context),
            MessageBody::ReadIndexResponse {
                index,
                context,
                via,
            } => self.handle_read_index_response(index, context, via),
            MessageBody::TimeoutNow => self.handle_timeout_now(),
            MessageBody::InstallSnapshot(chunk) => {
                if self.accept_leader(from) {
                    let SnapshotChunk {
                        meta,
                        offset,
                        data,
                        done,
                    } = *chunk;
                    self.handle_install_snapshot(from, meta, offset, data, done);
                }
            }
            MessageBody::InstallSnapshotResponse {
                index,
                next_offset,
                done,
            } => self.handle_install_snapshot_response(from, index, next_offset, done),
        }
    }

    /// Whether a leader spoke within the base election timeout: this node leads,
    /// or it accepted an AppendEntries or heartbeat less than
    /// `election_timeout_ticks_min` ticks ago (etcd's `electionElapsed <
    /// electionTimeout`, counted from the leader's message alone).
    pub(crate) fn heard_from_leader_recently(&self) -> bool {
        self.is_leader()
            || self
                .leader_contact_elapsed_ticks
                .is_some_and(|elapsed| elapsed < self.config.election_timeout_ticks_min)
    }

    /// CheckQuorum's vote lease: a node that heard from a leader within the
    /// election timeout ignores a vote request (or pre-vote) of a higher term:
    /// it neither grants nor raises its term, since a node with a working leader
    /// has no reason to elect another (etcd's `inLease`). Always false with
    /// CheckQuorum off.
    fn ignores_disruptive_vote(&self, body: &MessageBody) -> bool {
        let disruptive = matches!(
            body,
            MessageBody::RequestVote {
                leadership_transfer: false,
                ..
            } | MessageBody::PreVote { .. }
        );
        self.config.check_quorum && disruptive && self.heard_from_leader_recently()
    }

    /// A message from an older term: tell a stale leader or candidate our term so
    /// it steps down; ignore anything else.
    fn answer_stale(&mut self, from: NodeId, body: &MessageBody) {
        let answer = match body {
            // An acknowledgement of index 0 is news to no leader: only the term matters.
            MessageBody::AppendEntries { .. } => MessageBody::AppendEntriesResponse {
                reject: false,
                index: 0,
                reject_hint_index: 0,
                reject_hint_term: 0,
            },
            MessageBody::Heartbeat { context, .. } => {
                MessageBody::HeartbeatResponse { context: *context }
            }
            MessageBody::RequestVote { .. } => MessageBody::RequestVoteResponse { granted: false },
            // As for AppendEntries: the answer only carries our term.
            MessageBody::InstallSnapshot(_) => MessageBody::InstallSnapshotResponse {
                index: 0,
                next_offset: 0,
                done: false,
            },
            // A pre-candidate behind our term learns it and catches up (etcd): dropping
            // its pre-votes could leave it asking at a stale term forever.
            MessageBody::PreVote { .. } => MessageBody::PreVoteResponse { granted: false },
            _ => return,
        };
        self.send(from, answer);
    }

    /// A leader of the current term spoke: follow it. Returns false if this node
    /// leads the term itself (two leaders in a term only happen with a planted bug).
    fn accept_leader(&mut self, from: NodeId) -> bool {
        match self.role {
            RoleState::Leader { .. } => false,
            RoleState::Candidate { .. } | RoleState::PreCandidate { .. } => {
                self.become_follower(self.term, Some(from));
                self.leader_contact_elapsed_ticks = Some(0);
                true
            }
            RoleState::Follower => {
                self.leader = Some(from);
                self.reset_election_timer();
                self.leader_contact_elapsed_ticks = Some(0);
                true
            }
        }
    }

    /// Becomes a follower in `term` (a higher term, or the current one for a
    /// candidate) and restarts its election timer.
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        self.step_down_to_follower(term, leader);
        self.reset_election_timer();
    }

    /// Follows the higher `term` a non-leader spoke of, knowing no leader.
    /// The new term draws a new timeout, as every term does (nodes that
    /// timed out together in one term should not again in the next), but
    /// the ticks waited without a leader still count. Never for a leader,
    /// whose timer stood still while it led.
    fn follow_term(&mut self, term: Term) {
        assert!(
            !self.is_leader(),
            "a leader steps down through become_follower"
        );
        assert!(term > self.term, "only a higher term is followed");
        self.step_down_to_follower(term, None);
        let waited = self.election_elapsed_ticks;
        self.reset_election_timer();
        if self.config.bugs.has(Bug::RefusalRestartsTimer) {
            self.planted_refusal_restarts_timer();
            return;
        }
        self.election_elapsed_ticks = waited;
    }

    /// BUG(RefusalRestartsTimer): the ticks waited without a leader are
    /// forgotten on a term a candidate brought (the timeout drawn stands).
    fn planted_refusal_restarts_timer(&mut self) {
        self.election_elapsed_ticks = 0;
    }

    /// Becomes a follower in `term`; the timer is the caller's.
    fn step_down_to_follower(&mut self, term: Term, leader: Option<NodeId>) {
        assert!(term >= self.term, "terms never go backwards");
        if self.is_leader() {
            // Its own leadership is no leader it heard from: a deposed leader does
            // not hold PreVote's or CheckQuorum's vote lease for itself.
            self.leader_contact_elapsed_ticks = None;
        }
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.leader_confirmed_index = 0;
        } else {
            assert!(
                !self.is_leader(),
                "a leader steps down only for a higher term"
            );
        }
        self.role = RoleState::Follower;
        self.leader = leader;
        self.on_leaving_office();
    }

    /// CheckQuorum: a leader that did not hear from a majority within an election
    /// timeout steps down to follower in its own term, knowing no leader. It may
    /// be cut off from the others, which then elect a new leader; stepping down
    /// stops it serving clients it can no longer serve.
    pub(crate) fn step_down_without_quorum(&mut self) {
        assert!(self.is_leader(), "only a leader steps down");
        assert!(
            self.config.check_quorum,
            "only CheckQuorum steps a leader down in its term"
        );
        self.leader_contact_elapsed_ticks = None;
        self.role = RoleState::Follower;
        self.leader = None;
        self.on_leaving_office();
        self.reset_election_timer();
    }

    /// BUG(PreVoteBumpsTerm): the pre-candidate raises its term as a candidate
    /// would, so a node cut off from the cluster inflates its term anyway.
    /// (Planted-bug code lives in `planted_` functions, which the mutation
    /// measure leaves out: no campaign of it runs them.)
    fn planted_pre_vote_bumps_term(&mut self) {
        self.term += 1;
        self.vote = None;
    }

    /// Starts a pre-vote for the next term (PreVote) without raising its term or
    /// changing its vote: only the role changes, and the leader is forgotten.
    pub(crate) fn become_pre_candidate(&mut self) {
        assert!(!self.is_leader(), "a leader does not campaign");
        assert!(
            self.config.pre_vote,
            "pre-candidates exist only with PreVote"
        );
        if self.config.bugs.has(Bug::PreVoteBumpsTerm) {
            self.planted_pre_vote_bumps_term();
        }
        self.leader = None;
        self.leader_confirmed_index = 0;
        assert!(self.is_promotable(), "a learner never campaigns");
        let mut votes = vec![None; self.member_count()];
        votes[self.self_position] = Some(true);
        self.role = RoleState::PreCandidate { votes };
        self.reset_election_timer();
    }

    /// Starts an election in the next term, voting for itself; at the leader's
    /// request if `leadership_transfer`.
    pub(crate) fn become_candidate(&mut self, leadership_transfer: bool) {
        assert!(!self.is_leader(), "a leader does not campaign");
        self.term += 1;
        self.vote = Some(self.id());
        self.leader = None;
        self.leader_confirmed_index = 0;
        assert!(self.is_promotable(), "a learner never campaigns");
        let mut votes = vec![None; self.member_count()];
        votes[self.self_position] = Some(true);
        self.role = RoleState::Candidate {
            votes,
            leadership_transfer,
        };
        self.reset_election_timer();
    }

    /// Takes the lead of the current term (a majority voted for it): appends the
    /// term's no-op entry and starts replicating it.
    pub(crate) fn become_leader(&mut self) {
        assert!(
            matches!(self.role, RoleState::Candidate { .. }),
            "only a candidate becomes leader"
        );
        assert_eq!(self.vote, Some(self.id()), "a leader voted for itself");
        let next_index = self.log.last_index() + 1;
        // A predecessor's conf entry may be among them: no change until applied.
        self.pending_conf_index = next_index - 1;
        let window = self.config.max_inflight_messages;
        let mut progress = vec![Progress::new(next_index, window); self.member_count()];
        progress[self.self_position].maybe_update(self.log.persisted());
        let mut recent_active = vec![false; self.member_count()];
        recent_active[self.self_position] = true;
        self.role = RoleState::Leader {
            progress,
            heartbeat_elapsed_ticks: 0,
            recent_active,
            quorum_check_elapsed_ticks: 0,
            reads: Box::new(ReadOnly::new(self.member_count())),
            transfer: None,
        };
        self.leader = Some(self.id());
        let noop = Entry {
            term: self.term,
            index: next_index,
            kind: EntryKind::Normal,
            data: bytes::Bytes::new(),
        };
        self.log.append_one(noop);
        self.broadcast_append(true);
    }
}

/// Whether a message of `term` could come from a correct peer, as far as its
/// own content tells: a leader's entries follow one another in its log, and
/// its snapshot has a real index and a configuration a node can be built
/// from. Other messages carry nothing to check.
fn is_well_formed(term: Term, body: &MessageBody) -> bool {
    match body {
        MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            ..
        } => crate::replication::is_well_formed_append(
            term,
            *prev_log_index,
            *prev_log_term,
            entries,
        ),
        MessageBody::InstallSnapshot(chunk) => crate::snapshot::is_well_formed(&chunk.meta, term),
        _ => true,
    }
}
