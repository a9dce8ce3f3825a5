//! Flow oracles: a leader replicates and a candidate campaigns without
//! needless work. A Raft that resends what a follower already holds,
//! probes where the follower's own hint says the logs differ, keeps
//! campaigning after it lost, or asks its voters on every tick stays safe
//! and, faults permitting, live: only work done twice shows it. Each rule
//! is what etcd's design promises, checked against what the simulator
//! sees on the wire.
//!
//! **`append-flow`** (per leader, term and follower):
//!
//! - *Acknowledged entries are never sent again.* Once the follower
//!   acknowledged index `a` to the leader, no AppendEntries of the term to
//!   it carries an entry at or below `a` (etcd's `Progress.Next > Match`).
//! - *Nothing is resent unprompted.* An entry goes to the follower a second
//!   time only after the follower answered in a way that tells the leader
//!   to resend: a rejection, a heartbeat response (a probe resumes on it),
//!   an acknowledgement that is not stale (a probe answered at or past the
//!   match index starts pipelining from there, resending what the probe
//!   carried past it), or any answer about a snapshot. A pipelined append
//!   that repeats the entry before it with no answer between, or a probe
//!   that resends on a stale acknowledgement, is caught.
//! - *A probe follows the hint.* A follower that rejects says where to
//!   probe: its entry at `h` has term `ht`, and every entry of its below
//!   that has a term of at most `ht` (etcd's `findConflictByTerm`). The
//!   append the leader sends in answer never probes at `p <= h` with a term
//!   above `ht` (certain to fail) while the follower still differs there
//!   (holds another entry there, or none, and has not committed that far).
//!
//! - *A rejection is prompted.* A follower rejects no more than once for
//!   each append it took and each heartbeat whose commit it could not
//!   confirm (a heartbeat's commit past what it holds from this leader),
//!   per leader, in the ready after: a rejection tells the leader to
//!   probe again, and an unprompted one makes it resend.
//!
//! - *The hint is the follower's own.* A follower that rejects hints the
//!   largest index at or below the probe's (and its last) whose term is at
//!   most the probe's, with that term (0 past its snapshot): etcd's
//!   `findConflictByTerm` over the log it held when it took the append.
//!
//! - *A fresh follower is probed from the end of the log.* The first
//!   append a leader sends a follower after taking office goes right after
//!   its last entry before its no-op, and to a member it just added right
//!   after its last entry (etcd starts every new progress at `last + 1`),
//!   unless an answer from the follower came first.
//!
//! An acknowledgement counts from the leader's next ready on: a message
//! made before it may leave in that ready, after it arrived (the host
//! holds a leader's messages while its fsync runs); with nothing held, at
//! once.
//!
//! Knowledge of a follower is forgotten when it restarts, and a leader's
//! of a member when its configuration adds it (a member removed and added
//! again starts afresh): only ever more lenient.
//!
//! **`stale-term-answered`**: a node that takes an append, a heartbeat, a
//! vote or pre-vote request or a snapshot chunk of an older term from a
//! member answers it with its own term (§5.1), in the next ready it hands
//! out; a stale leader or candidate that is never told keeps trying.
//!
//! **`truncate-on-conflict`**: a node rewrites its log only from a
//! conflicting or new entry, never over an identical one it holds (§5.3);
//! checked against its disk as each ready's entries are written.
//!
//! **`election-pace`** (per candidate and term):
//!
//! - *A lost election ends at once.* A candidate whose refusals leave too
//!   few voters to win (in either half of a joint configuration) steps
//!   down on the answer that decided it, rather than waiting for its
//!   timeout (etcd's `poll` returning `VoteLost`).
//! - *Requests are paced.* Over `E` of its ticks as a candidate, a node
//!   asks each voter at most `1 + E / heartbeat` times: once as it
//!   campaigns, then again each heartbeat interval while the voter is
//!   silent. A voter whose answer (a grant or a refusal) it took is not
//!   asked again in the term, from its next ready on (an answer is final
//!   for the term: a voter grants once, and raft-core keeps a refusal).
//! - *A follower's timer runs out.* A follower that may campaign (a voter
//!   of the configuration it applied, no committed conf entry left to
//!   apply) campaigns by the `2E - 1`th of its ticks since its election
//!   timer last had to restart: it heard the leader of its term, granted
//!   a vote, campaigned, led or started (Figure 2; timeouts are drawn in
//!   `[E, 2E)`). Learning a higher term from a candidate it refuses does
//!   not restart the timer: stale candidates campaigning in turn would
//!   otherwise hold back the one voter they would all elect (seed
//!   31876217). From `E` ticks on a node that may not campaign counts
//!   afresh (raft-core restarts its timer then, without a campaign).
//!
//! **`heartbeat-pace`** (per leader, term and member): over `E` of its
//! ticks as leader, a leader sends each member at most `1 + E / heartbeat`
//! heartbeats that start no read round (one per heartbeat interval, as
//! etcd's `heartbeatElapsed` paces them; the one is slack for the tick
//! batch in which it took office). A read round's heartbeats go out on
//! demand, and are not counted; with ReadIndex reads (not lease reads) a
//! read round starts only while a read the leader took waits for one (a
//! round for nothing costs every member a message and an answer). And no
//! fewer: over `E` of its ticks as
//! leader with a member in its configuration, it sent that member at least
//! `E / heartbeat` heartbeats of any kind, judged as the leader is about
//! to tick with nothing of its held for an fsync (a leader that beats every
//! `interval + 1` ticks lets followers' timers run closer to an election).
//!
//! **`check-quorum`** (per leader and term, with CheckQuorum on): a leader
//! checks every `E` of its ticks (the shortest election timeout) whether a
//! quorum of each voter set answered it since the check before (an
//! append's, a heartbeat's or a snapshot chunk's answer; etcd's
//! `RecentActive`), and steps down if not. Its latest check came within
//! its last `E` ticks and counted answers taken after the one before, so
//! after its batch of ticks a leader `E` or more ticks in office that took
//! no such answer in its last `2E` ticks from a quorum of a voter set (it
//! counts itself) has stepped down. Not judged within `2E` ticks of a
//! configuration it applied (members it adds count as heard).

use std::collections::BTreeSet;

use invariants::{Invariant, Violation};
use raft_core::{ConfState, Index, Message, MessageBody, NodeId, Role, Term};

use crate::world::World;

/// What a leader knows of one follower in its term, and what it sent.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    /// The leader's term this is about (0: nothing known).
    term: Term,
    /// The highest index the follower acknowledged to the leader in `term`
    /// before the leader's latest ready: every message of its next ready
    /// was made knowing it.
    acked: Index,
    /// The highest index acknowledged to the leader in `term` so far (a
    /// message of the next ready may have been made before the last of it).
    acked_now: Index,
    /// The highest entry index sent to the follower since it last answered
    /// in a way that tells the leader to resend (0: none).
    sent: Index,
    /// Whether such an answer came since the leader's latest ready: a
    /// message of its next ready may answer it, whatever the order of the
    /// ready's messages.
    resend_allowed: bool,
    /// Where the leader's first append to the follower must start (after
    /// the leader's last index when it took office or added the follower:
    /// a fresh follower is probed from the end of the leader's log), until
    /// it is sent or the follower answers.
    first_prev: Option<Index>,
    /// The highest commit index an append to the follower carried.
    carried_commit: Index,
    /// Whether the follower's latest answer was a rejection, or it has
    /// not acknowledged anything yet (the leader probes it).
    probing_now: bool,
    /// `probing_now` as every message of the leader's next ready knows it
    /// (a rejection counts at once: the probe answering it may be among
    /// them).
    probing: bool,
    /// Heartbeats without a read round sent to the follower.
    heartbeats: u64,
    /// Heartbeats of any kind sent to the follower since `beats_since`.
    beats: u64,
    /// The leader's tick count from which its heartbeats to the follower
    /// are counted against the floor (`None`: not judged).
    beats_since: Option<u64>,
}

/// A candidate's election as the simulator tallies it.
#[derive(Clone, Debug, Default)]
struct Campaign {
    /// The term it campaigns in.
    term: Term,
    /// The node's tick count when it became a candidate (at the start of
    /// the tick batch that made it one).
    since_ticks: u64,
    /// The voters that granted (sorted; the candidate itself among them).
    granted: Vec<NodeId>,
    /// The voters that refused and did not grant later (sorted).
    refused: Vec<NodeId>,
    /// Vote requests sent, per voter.
    asked: Vec<(NodeId, u64)>,
    /// The voters whose answer the candidate took (sorted).
    answered_now: Vec<NodeId>,
    /// `answered_now` as the messages of the candidate's latest ready were
    /// made knowing it: none of them asks these voters again.
    answered: Vec<NodeId>,
    /// `answered_now` as the latest ready was taken, while the messages it
    /// holds for after its fsync have not left: they were made before it
    /// (seed 32871913: vote requests made on the tick that started the
    /// campaign, the ready taken after a refusal came in), so this binds
    /// only the next ready's.
    answered_at_ready: Option<Vec<NodeId>>,
}

/// A read a leader took: the follower that forwarded it (`None`: its own
/// host's), and its context.
type WaitingRead = (Option<NodeId>, u64);

/// The rejection a leader is taking now, and the hint it carries.
#[derive(Clone, Copy, Debug)]
struct Answering {
    leader: NodeId,
    follower: NodeId,
    hint_index: Index,
    hint_term: Term,
}

/// What the flow oracles keep between steps.
#[derive(Clone, Debug)]
pub(crate) struct Flow {
    nodes: usize,
    // Invariant: links[(l - 1) * nodes + (f - 1)] is leader l's of follower f.
    links: Vec<Link>,
    /// Per node (`n - 1`): its latest campaign as a candidate.
    campaigns: Vec<Campaign>,
    /// Per node (`n - 1`): ticks counted since the run began, and the count
    /// before its latest batch of ticks.
    ticks: Vec<(u64, u64)>,
    /// Per node (`n - 1`): the term it latest took office in as leader, and
    /// its tick count before the batch of ticks in which it did.
    offices: Vec<(Term, u64)>,
    answering: Option<Answering>,
    /// Answers nodes owe to stale requests: (node, to whom, the node's term
    /// then, the answer's kind). Checked in the node's next ready.
    owed: Vec<(NodeId, NodeId, Term, StaleAnswer)>,
    /// Rejections nodes owe: (node, to whom, the probe's index, the hint
    /// its log gives). Checked in the node's next ready.
    hints: Vec<(NodeId, NodeId, Index, (Index, Term))>,
    /// Rejections nodes may send: (node, to which leader), one for each
    /// append taken and each heartbeat whose commit it could not confirm
    /// since its last ready.
    rejectable: Vec<(NodeId, NodeId)>,
    /// Per node (`n - 1`): the reads it took as leader of its latest
    /// office and has not released, as (the follower that forwarded it,
    /// if any; the read's context), and the last read round it sent.
    reads_waiting: Vec<(Vec<WaitingRead>, u64)>,
    /// Votes nodes owe again: (node, the candidate it voted for, the term),
    /// asked again with a log still as up to date. Checked in the node's
    /// next ready.
    regrants: Vec<(NodeId, NodeId, Term)>,
    /// Per node (`n - 1`): ticks it counted as a follower since its
    /// election timer last had to restart.
    quiet_ticks: Vec<u32>,
    /// Per (leader, member), as `links`: the leader's term and tick count
    /// when it last took an answer that CheckQuorum counts (an append's,
    /// a heartbeat's or a snapshot chunk's) from the member.
    answered_at: Vec<(Term, u64)>,
    /// Per node (`n - 1`): its tick count when it took office, and when
    /// its configuration last changed.
    office_ticks: Vec<u64>,
    conf_ticks: Vec<u64>,
}

impl Flow {
    /// Nothing known, for nodes `1..=nodes`.
    pub(crate) fn new(nodes: usize) -> Flow {
        Flow {
            nodes,
            links: vec![Link::default(); nodes * nodes],
            campaigns: vec![Campaign::default(); nodes],
            ticks: vec![(0, 0); nodes],
            offices: vec![(0, 0); nodes],
            answering: None,
            owed: Vec::new(),
            hints: Vec::new(),
            rejectable: Vec::new(),
            reads_waiting: vec![(Vec::new(), 0); nodes],
            regrants: Vec::new(),
            quiet_ticks: vec![0; nodes],
            answered_at: vec![(0, 0); nodes * nodes],
            office_ticks: vec![0; nodes],
            conf_ticks: vec![0; nodes],
        }
    }

    /// Leader `leader` of `term` took an answer CheckQuorum counts from
    /// `member` (see the module documentation, `check-quorum`).
    pub(crate) fn note_quorum_answer(&mut self, leader: NodeId, member: NodeId, term: Term) {
        let now = self.ticks[leader as usize - 1].0;
        self.answered_at[(leader as usize - 1) * self.nodes + member as usize - 1] = (term, now);
    }

    /// Node `node` applied a configuration (a conf entry or a snapshot's).
    pub(crate) fn note_conf_applied(&mut self, node: NodeId) {
        self.conf_ticks[node as usize - 1] = self.ticks[node as usize - 1].0;
    }

    /// CheckQuorum (see the module documentation, `check-quorum`): for
    /// leader `leader` of `term`, whose check runs every `period` of its
    /// ticks, the voters of `voter_sets` it has not heard from since a
    /// check it must have made, if too few to be a quorum of each set;
    /// `None` while it cannot be judged (fewer than `period` ticks in
    /// office, or a configuration applied in the last `2 * period`).
    pub(crate) fn quorum_unheard(
        &self,
        (leader, term): (NodeId, Term),
        period: u64,
        voter_sets: [&[NodeId]; 2],
    ) -> Option<(u64, Vec<NodeId>)> {
        let at = leader as usize - 1;
        let now = self.ticks[at].0;
        if now < self.office_ticks[at] + period || now < self.conf_ticks[at] + 2 * period + 1 {
            return None;
        }
        // Its latest check came in the last `period` ticks and counted the
        // answers taken since the one before: all later than `now - 2 * period`.
        let heard = |member: NodeId| {
            member == leader || {
                let (answered_term, ticks) =
                    self.answered_at[at * self.nodes + member as usize - 1];
                answered_term == term && ticks + 2 * period > now
            }
        };
        let short = voter_sets.iter().any(|voters| {
            !voters.is_empty() && 2 * voters.iter().filter(|&&v| heard(v)).count() <= voters.len()
        });
        short.then(|| {
            let unheard = voter_sets
                .iter()
                .flat_map(|voters| voters.iter().copied())
                .filter(|&v| !heard(v))
                .collect::<BTreeSet<_>>();
            (now - self.office_ticks[at], unheard.into_iter().collect())
        })
    }

    /// Node `node`'s election timer had to restart: it heard its leader,
    /// granted a vote, or is not a follower.
    pub(crate) fn timer_restarted(&mut self, node: NodeId) {
        self.quiet_ticks[node as usize - 1] = 0;
    }

    /// Node `node` ticked `ticks` times at once.
    pub(crate) fn note_ticks(&mut self, node: NodeId, ticks: u32) {
        let (total, before) = &mut self.ticks[node as usize - 1];
        *before = *total;
        *total += u64::from(ticks);
    }

    /// Node `node` (re)started: leaders' knowledge of it is gone (it may
    /// have lost its disk), and so is its campaign.
    pub(crate) fn restarted(&mut self, node: NodeId) {
        for leader in 0..self.nodes {
            self.links[leader * self.nodes + node as usize - 1].forget();
        }
        self.campaigns[node as usize - 1] = Campaign::default();
        self.owed.retain(|owed| owed.0 != node);
        self.hints.retain(|hint| hint.0 != node);
        self.rejectable.retain(|r| r.0 != node);
        self.regrants.retain(|regrant| regrant.0 != node);
        self.quiet_ticks[node as usize - 1] = 0;
    }

    /// Leader `node`'s configuration changed, adding `member` (`None`: the
    /// members added are unknown): it follows that member afresh.
    pub(crate) fn conf_changed(&mut self, node: NodeId, member: Option<NodeId>) {
        let start = (node as usize - 1) * self.nodes;
        let now = self.ticks[node as usize - 1].0;
        for (k, link) in self.links[start..start + self.nodes].iter_mut().enumerate() {
            if member.is_none_or(|m| m as usize == k + 1) {
                link.forget();
                // Heartbeats to a member start when the leader adds it:
                // counted afresh from now.
                (link.beats, link.beats_since) = (0, link.beats_since.map(|_| now));
            }
        }
    }

    /// Node `node` took office as leader of `term`.
    pub(crate) fn took_office(&mut self, node: NodeId, term: Term) {
        self.offices[node as usize - 1] = (term, self.ticks[node as usize - 1].1);
        // Every tick counted so far came before the office (conservative
        // when it took office within a batch of ticks).
        self.office_ticks[node as usize - 1] = self.ticks[node as usize - 1].0;
        self.reads_waiting[node as usize - 1] = (Vec::new(), 0);
    }

    /// Leader `leader` took a read (forwarded by `follower`, if any).
    pub(crate) fn read_taken(&mut self, leader: NodeId, follower: Option<NodeId>, context: u64) {
        self.reads_waiting[leader as usize - 1]
            .0
            .push((follower, context));
    }

    /// Node `node` took an append from `leader`, or a heartbeat whose
    /// commit it could not confirm: its next ready may reject it.
    pub(crate) fn may_reject(&mut self, node: NodeId, leader: NodeId) {
        self.rejectable.push((node, leader));
    }

    /// Leader `leader` of `term` sent `member` fewer heartbeats than one
    /// per `heartbeat` ticks since it started counting them: (sent, due,
    /// ticks elapsed).
    fn heartbeat_shortfall(
        &self,
        leader: NodeId,
        member: NodeId,
        term: Term,
        heartbeat: u64,
    ) -> Option<(u64, u64, u64)> {
        let link = &self.links[(leader as usize - 1) * self.nodes + member as usize - 1];
        let since = link.beats_since.filter(|_| link.term == term)?;
        let elapsed = self.ticks[leader as usize - 1].0 - since;
        let due = elapsed / heartbeat;
        (link.beats < due).then_some((link.beats, due, elapsed))
    }

    /// Leader `leader` of `term` took office with `member` in its
    /// configuration: its heartbeats to it count from now.
    pub(crate) fn start_counting_beats(&mut self, leader: NodeId, member: NodeId, term: Term) {
        let now = self.ticks[leader as usize - 1].0;
        let link = self.link(leader, member, term);
        (link.beats, link.beats_since) = (0, Some(now));
    }

    /// Node `node` is a candidate in `term`: a campaign starts if it is new.
    pub(crate) fn note_candidate(&mut self, node: NodeId, term: Term) {
        let campaign = &mut self.campaigns[node as usize - 1];
        if campaign.term != term {
            *campaign = Campaign {
                term,
                since_ticks: self.ticks[node as usize - 1].1,
                granted: vec![node],
                refused: Vec::new(),
                asked: Vec::new(),
                answered_now: Vec::new(),
                answered: Vec::new(),
                answered_at_ready: None,
            };
        }
    }

    /// Leader `leader` of `term` is about to take `body` from `follower`;
    /// `flushed`: none of its messages wait to leave, so everything it
    /// sends from now on is made knowing the answer.
    pub(crate) fn note_answer(
        &mut self,
        (leader, follower, term): (NodeId, NodeId, Term),
        body: &MessageBody,
        flushed: bool,
    ) {
        let link = self.link(leader, follower, term);
        link.first_prev = None; // An answer may move where the leader probes.
        match *body {
            MessageBody::AppendEntriesResponse {
                reject: true,
                reject_hint_index,
                reject_hint_term,
                ..
            } => {
                link.allow_resend();
                (link.probing_now, link.probing) = (true, true);
                if reject_hint_term > 0 {
                    self.answering = Some(Answering {
                        leader,
                        follower,
                        hint_index: reject_hint_index,
                        hint_term: reject_hint_term,
                    });
                }
            }
            MessageBody::AppendEntriesResponse {
                reject: false,
                index,
                ..
            } => {
                // A probe answered at or past the match index moves the
                // follower to pipelining from there, resending what the
                // probe carried past it; a stale answer allows nothing.
                if index >= link.acked_now {
                    link.allow_resend();
                    link.probing_now = false;
                    if flushed {
                        link.probing = false;
                    }
                }
                link.acked_now = link.acked_now.max(index);
                if flushed {
                    link.acked = link.acked_now;
                }
            }
            MessageBody::HeartbeatResponse { .. } | MessageBody::InstallSnapshotResponse { .. } => {
                link.allow_resend()
            }
            _ => {}
        }
    }

    /// Leader `leader` of `term` starts following `follower` afresh (it
    /// took office, or added it): its first append goes after `prev`.
    pub(crate) fn expect_first_probe(
        &mut self,
        (leader, follower, term): (NodeId, NodeId, Term),
        prev: Index,
    ) {
        self.link(leader, follower, term).first_prev = Some(prev);
    }

    /// Leader `leader` sent the messages of a ready: the next ready's were
    /// all made knowing what its followers had said by now. (A candidate's
    /// vote requests wait for its fsync: see [`Flow::held_messages_sent`].)
    pub(crate) fn ready_sent(&mut self, leader: NodeId) {
        let start = (leader as usize - 1) * self.nodes;
        for link in &mut self.links[start..start + self.nodes] {
            link.acked = link.acked_now;
            link.probing = link.probing_now;
            link.resend_allowed = false;
        }
        let campaign = &mut self.campaigns[leader as usize - 1];
        campaign.answered_at_ready = Some(campaign.answered_now.clone());
    }

    /// Node `node` sent the messages its latest ready held for after its
    /// fsync: the answers its candidate had taken when that ready was
    /// taken bind the next ready's vote requests.
    pub(crate) fn held_messages_sent(&mut self, node: NodeId) {
        let campaign = &mut self.campaigns[node as usize - 1];
        if let Some(answered) = campaign.answered_at_ready.take() {
            campaign.answered = answered;
        }
    }

    /// The leader took the answer: its reply to a rejection was sent.
    pub(crate) fn answered(&mut self) {
        self.answering = None;
    }

    /// Candidate `candidate` of `term` took `voter`'s answer.
    pub(crate) fn note_vote(
        &mut self,
        candidate: NodeId,
        term: Term,
        voter: NodeId,
        granted: bool,
    ) {
        let campaign = &mut self.campaigns[candidate as usize - 1];
        if campaign.term != term {
            return;
        }
        if let Err(at) = campaign.answered_now.binary_search(&voter) {
            campaign.answered_now.insert(at, voter);
        }
        if granted {
            if let Err(at) = campaign.granted.binary_search(&voter) {
                campaign.granted.insert(at, voter);
            }
            if let Ok(at) = campaign.refused.binary_search(&voter) {
                campaign.refused.remove(at);
            }
        } else if campaign.granted.binary_search(&voter).is_err() {
            if let Err(at) = campaign.refused.binary_search(&voter) {
                campaign.refused.insert(at, voter);
            }
        }
    }

    /// Whether candidate `candidate`'s campaign in `term` is lost under
    /// `conf`: in some half of it, the voters that granted and those yet to
    /// answer make no majority.
    pub(crate) fn lost(&self, candidate: NodeId, term: Term, conf: &ConfState) -> bool {
        let campaign = &self.campaigns[candidate as usize - 1];
        if campaign.term != term {
            return false;
        }
        let lost_in = |voters: &[NodeId]| {
            let possible = voters
                .iter()
                .filter(|v| campaign.refused.binary_search(v).is_err())
                .count();
            !voters.is_empty() && possible < voters.len() / 2 + 1
        };
        lost_in(&conf.voters) || lost_in(&conf.outgoing_voters)
    }

    /// The link from `leader` to `follower`, reset if it was about another term.
    fn link(&mut self, leader: NodeId, follower: NodeId, term: Term) -> &mut Link {
        let link = &mut self.links[(leader as usize - 1) * self.nodes + follower as usize - 1];
        if link.term != term {
            *link = Link::fresh(term);
        }
        link
    }
}

impl Link {
    /// Knows nothing of the follower any more: messages made before may
    /// still leave with the leader's next ready, so they may resend.
    fn forget(&mut self) {
        *self = Link {
            resend_allowed: true,
            heartbeats: self.heartbeats,
            beats: self.beats,
            beats_since: self.beats_since,
            ..Link::fresh(self.term)
        };
    }

    /// Nothing known in `term`: the leader probes the follower.
    fn fresh(term: Term) -> Link {
        Link {
            term,
            probing_now: true,
            probing: true,
            ..Link::default()
        }
    }

    /// The follower answered in a way that tells the leader to resend.
    fn allow_resend(&mut self) {
        self.sent = 0;
        self.resend_allowed = true;
    }
}

impl World {
    /// Whether the flow oracles judge this run.
    pub(crate) fn flow_judged(&self) -> bool {
        self.oracles.on && self.checker.is_some()
    }

    /// A message is about to be delivered: the leader or candidate taking
    /// it learns what it says. Returns the voter, if it answers a
    /// candidate's vote request of its term.
    pub(crate) fn note_flow_answer(&mut self, message: &Message) -> Option<NodeId> {
        if !self.flow_judged() {
            return None;
        }
        let node = self.host_ref(message.to).node.as_ref()?;
        let status = node.status();
        if status.term > message.term {
            let conf = node.conf_state();
            let member = conf.is_voter(message.from) || conf.learners.contains(&message.from);
            if let (Some(kind), true) = (StaleAnswer::to(&message.body), member) {
                let owed = (message.to, message.from, status.term, kind);
                self.oracles.flow.owed.push(owed);
            }
            return None;
        }
        if let MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            ..
        } = message.body
        {
            if let Some(hint) = rejection_hint(node, prev_log_index, prev_log_term) {
                let owed = (message.to, message.from, prev_log_index, hint);
                self.oracles.flow.hints.push(owed);
            }
        }
        if let MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            ..
        } = message.body
        {
            let up_to_date =
                (last_log_term, last_log_index) >= (status.last_term, status.last_index);
            if status.term == message.term && status.vote == Some(message.from) && up_to_date {
                let owed = (message.to, message.from, message.term);
                self.oracles.flow.regrants.push(owed);
            }
        }
        if status.term != message.term {
            return None;
        }
        // With no ready waiting behind an fsync, the leader's earlier
        // messages all left: what it sends next is made knowing this answer.
        let flushed = !self.host_ref(message.to).is_awaiting_sync();
        let flow = &mut self.oracles.flow;
        match message.body {
            MessageBody::RequestVoteResponse { granted } if status.role == Role::Candidate => {
                flow.note_vote(message.to, message.term, message.from, granted);
                Some(message.from)
            }
            MessageBody::AppendEntriesResponse { .. }
            | MessageBody::HeartbeatResponse { .. }
            | MessageBody::InstallSnapshotResponse { .. }
                if status.role == Role::Leader =>
            {
                let answer = (message.to, message.from, message.term);
                flow.note_answer(answer, &message.body, flushed);
                None
            }
            _ => None,
        }
    }

    /// Candidate `id` of `term` took `voter`'s answer and is now `role`
    /// of `now_term`: if the answer lost it the election, it stepped down.
    pub(crate) fn check_lost_election(
        &mut self,
        id: NodeId,
        voter: NodeId,
        term: Term,
        (role, now_term): (Role, Term),
    ) {
        if now_term != term || role != Role::Candidate {
            return;
        }
        let Some(conf) = self.host_ref(id).node.as_ref().map(|n| n.conf_state()) else {
            return;
        };
        if !self.oracles.flow.lost(id, term, &conf) {
            return;
        }
        let campaign = &self.oracles.flow.campaigns[id as usize - 1];
        let tally = format!(
            "grants from {:?}, refusals from {:?}",
            campaign.granted, campaign.refused
        );
        let voters = format!("{:?}, outgoing {:?}", conf.voters, conf.outgoing_voters);
        self.report(Violation {
            invariant: Invariant::ElectionPace,
            nodes: vec![id, voter],
            index: None,
            term: Some(term),
            expected: format!(
                "n{id} to step down in term {term} once too few voters (of {voters}) remain to elect it"
            ),
            seen: format!("n{voter} refused it ({tally}) and it is still a candidate"),
        });
    }

    /// Node `id` asks `voter` for its vote in `term`: within its pace.
    pub(crate) fn check_vote_request_pace(&mut self, id: NodeId, voter: NodeId, term: Term) {
        if !self.flow_judged() {
            return;
        }
        let heartbeat = u64::from(self.params.heartbeat_interval_ticks);
        let flow = &mut self.oracles.flow;
        let ticks = flow.ticks[id as usize - 1].0;
        let campaign = &mut flow.campaigns[id as usize - 1];
        if campaign.term != term {
            // A campaign the host never saw begin (superseded within one
            // batch of ticks by the next): when it began is unknown.
            return;
        }
        let asked = match campaign.asked.iter_mut().find(|(v, _)| *v == voter) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                campaign.asked.push((voter, 1));
                1
            }
        };
        let elapsed = ticks - campaign.since_ticks;
        let allowed = 1 + elapsed / heartbeat;
        let expected = if campaign.answered.binary_search(&voter).is_ok() {
            format!("n{id} not to ask n{voter} again for its vote in term {term}: it took n{voter}'s answer")
        } else if asked > allowed {
            format!(
                "n{id} to ask n{voter} for its vote at most {allowed} times in its {elapsed} ticks as a candidate of term {term} (once, then once a heartbeat interval of {heartbeat} ticks)"
            )
        } else {
            return;
        };
        self.report(Violation {
            invariant: Invariant::ElectionPace,
            nodes: vec![id, voter],
            index: None,
            term: Some(term),
            expected,
            seen: format!("request {asked} left"),
        });
    }

    /// Leader `message.from` sends a heartbeat: within its pace (see the
    /// module documentation, `heartbeat-pace`).
    pub(crate) fn check_heartbeat_pace(&mut self, message: &Message) {
        let MessageBody::Heartbeat { context, .. } = message.body else {
            return;
        };
        if !self.flow_judged() {
            return;
        }
        let (leader, member, term) = (message.from, message.to, message.term);
        let heartbeat = u64::from(self.params.heartbeat_interval_ticks);
        let flow = &mut self.oracles.flow;
        let (office_term, since) = flow.offices[leader as usize - 1];
        let elapsed = flow.ticks[leader as usize - 1].0.saturating_sub(since);
        let link = flow.link(leader, member, term);
        link.beats += 1;
        // A read round's heartbeats go out on demand; an office the host
        // never saw begin has no known start.
        if context != 0 || office_term != term {
            return;
        }
        link.heartbeats += 1;
        let (sent, allowed) = (link.heartbeats, 1 + elapsed / heartbeat);
        if sent <= allowed {
            return;
        }
        self.report(Violation {
            invariant: Invariant::HeartbeatPace,
            nodes: vec![leader, member],
            index: None,
            term: Some(term),
            expected: format!(
                "n{leader} to send n{member} at most {allowed} heartbeats in its {elapsed} ticks as leader of term {term} (one a heartbeat interval of {heartbeat} ticks)"
            ),
            seen: format!("heartbeat {sent} left"),
        });
    }

    /// Leader `leader` is about to tick, every message it made handed out:
    /// each member it has counted heartbeats to since `s` got at least one
    /// per heartbeat interval of the ticks since (see the module
    /// documentation, `heartbeat-pace`).
    pub(crate) fn check_heartbeat_floor(&mut self, leader: NodeId) {
        if !self.flow_judged() {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        // Called on every tick of every node: the configuration is read
        // only for a leader.
        let status = node.status();
        let flow = &self.oracles.flow;
        if status.role != Role::Leader || flow.offices[leader as usize - 1].0 != status.term {
            return;
        }
        let conf = node.conf_state();
        let heartbeat = u64::from(self.params.heartbeat_interval_ticks);
        let members = conf
            .voters
            .iter()
            .chain(&conf.outgoing_voters)
            .chain(&conf.learners);
        let short = members.filter(|&&m| m != leader).find_map(|&member| {
            let (beats, due, elapsed) =
                flow.heartbeat_shortfall(leader, member, status.term, heartbeat)?;
            Some((member, beats, due, elapsed))
        });
        let Some((member, beats, due, elapsed)) = short else {
            return;
        };
        let term = status.term;
        self.report(Violation {
            invariant: Invariant::HeartbeatPace,
            nodes: vec![leader, member],
            index: None,
            term: Some(term),
            expected: format!(
                "n{leader} to have sent n{member} at least {due} heartbeats in {elapsed} ticks as leader of term {term} (one a heartbeat interval of {heartbeat} ticks)"
            ),
            seen: format!("{beats} heartbeats"),
        });
    }

    /// Leader `leader` ticked: with CheckQuorum, it heard a quorum of each
    /// voter set in its last `2E` ticks, or it would have stepped down (see
    /// the module documentation, `check-quorum`).
    pub(crate) fn check_quorum_step_down(&mut self, leader: NodeId) {
        if !self.flow_judged() {
            return;
        }
        let host = self.host_ref(leader);
        let Some(node) = host.node.as_ref().filter(|_| host.config.check_quorum) else {
            return;
        };
        let status = node.status();
        if status.role != Role::Leader
            || self.oracles.flow.offices[leader as usize - 1].0 != status.term
        {
            return;
        }
        let period = u64::from(host.config.election_timeout_ticks_min);
        let conf = node.conf_state();
        let key = (leader, status.term);
        let voter_sets = [&conf.voters[..], &conf.outgoing_voters[..]];
        let Some((in_office, unheard)) = self.oracles.flow.quorum_unheard(key, period, voter_sets)
        else {
            return;
        };
        let term = status.term;
        let names: Vec<String> = unheard.iter().map(|n| format!("n{n}")).collect();
        self.report(Violation {
            invariant: Invariant::CheckQuorum,
            nodes: vec![leader],
            index: None,
            term: Some(term),
            expected: format!(
                "n{leader}, with CheckQuorum, to step down when a quorum of its voters (voters {:?}, outgoing {:?}) did not answer it between two of its checks, made every {period} of its ticks",
                conf.voters, conf.outgoing_voters
            ),
            seen: format!(
                "still leader of term {term} after {in_office} ticks in office, with no answer in its last {} ticks from {}",
                2 * period,
                names.join(" ")
            ),
        });
    }

    /// Node `id` ticked `ticks` times (`led`: as leader before them): a
    /// follower that may campaign and
    /// counted `2E - 1` ticks since its timer last had to restart
    /// campaigned on them (see the module documentation).
    pub(crate) fn check_election_timer(&mut self, id: NodeId, ticks: u32, led: bool) {
        if !self.flow_judged() {
            return;
        }
        let host = self.host_ref(id);
        let Some(node) = host.node.as_ref() else {
            return;
        };
        let status = node.status();
        let min = host.config.election_timeout_ticks_min;
        let quiet = self.oracles.flow.quiet_ticks[id as usize - 1];
        let waited = quiet.saturating_add(ticks);
        // A leader that steps down for want of a quorum does so in a tick,
        // restarting its timer.
        let waited = if status.role != Role::Follower || led {
            0
        } else if waited < min {
            waited
        } else {
            // Read only past the shortest timeout: a follower hearing its
            // leader never gets here.
            let conf = node.conf_state();
            let voter = conf.voters.contains(&id) || conf.outgoing_voters.contains(&id);
            let conf_to_apply = node
                .log_entries_from(status.applied + 1)
                .iter()
                .take_while(|e| e.index <= status.commit)
                .any(|e| e.kind == raft_core::EntryKind::ConfChange);
            if voter && !conf_to_apply {
                waited
            } else {
                0
            }
        };
        self.oracles.flow.quiet_ticks[id as usize - 1] = waited;
        let longest = 2 * min - 1;
        if waited < longest {
            return;
        }
        self.report(Violation {
            invariant: Invariant::ElectionPace,
            nodes: vec![id],
            index: None,
            term: Some(status.term),
            expected: format!(
                "n{id}, a follower that may campaign, to campaign within {longest} of its ticks (timeouts are drawn below {}) of the last event that restarts its election timer: its leader heard, a vote granted, a campaign",
                2 * min
            ),
            seen: format!(
                "still a follower in term {} after {waited} ticks",
                status.term
            ),
        });
    }

    /// `leader` took office: it probes every other member from the end of
    /// its log, its no-op the first entry it sends.
    pub(crate) fn expect_first_probes(&mut self, leader: NodeId) {
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let (status, conf) = (node.status(), node.conf_state());
        self.oracles.flow.took_office(leader, status.term);
        let members = conf
            .voters
            .iter()
            .chain(&conf.outgoing_voters)
            .chain(&conf.learners);
        for &member in members.filter(|&&m| m != leader) {
            let link = (leader, member, status.term);
            // The no-op is its last entry.
            self.oracles
                .flow
                .expect_first_probe(link, status.last_index - 1);
            self.oracles
                .flow
                .start_counting_beats(leader, member, status.term);
        }
    }

    /// Leader `message.from` sends an AppendEntries: see the module
    /// documentation (`append-flow`).
    pub(crate) fn check_append_flow(&mut self, message: &Message) {
        if !self.flow_judged() {
            return;
        }
        let MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            ref entries,
            leader_commit,
        } = message.body
        else {
            return;
        };
        let (leader, follower, term) = (message.from, message.to, message.term);
        let answering = self.oracles.flow.answering;
        let leader_last = self.host_ref(leader).status().map_or(0, |s| s.last_index);
        let link = self.oracles.flow.link(leader, follower, term);
        let (acked, acked_now, sent) = (link.acked, link.acked_now, link.sent);
        let resend_allowed = link.resend_allowed;
        if let Some(expected) = link.first_prev.take() {
            if prev_log_index != expected {
                return self.report(Violation {
                    invariant: Invariant::AppendFlow,
                    nodes: vec![leader, follower],
                    index: Some(prev_log_index),
                    term: Some(term),
                    expected: format!(
                        "leader n{leader} to probe n{follower}, which it follows afresh in term {term}, from the end of its log (after index {expected})"
                    ),
                    seen: format!(
                        "its first append to n{follower} went after index {prev_log_index}"
                    ),
                });
            }
        }
        let news = leader_commit > link.carried_commit;
        link.carried_commit = link.carried_commit.max(leader_commit);
        let probing = link.probing;
        if entries.is_empty()
            && !news
            && !probing
            && prev_log_index == acked
            && acked == leader_last
        {
            return self.report(Violation {
                invariant: Invariant::AppendFlow,
                nodes: vec![leader, follower],
                index: Some(prev_log_index),
                term: Some(term),
                expected: format!(
                    "leader n{leader} to send n{follower}, which acknowledged its whole log (up to {acked}) and is not probed, an append only with entries or a commit index it has not carried yet"
                ),
                seen: format!(
                    "an empty append after index {prev_log_index} with commit {leader_commit}, carried already"
                ),
            });
        }
        let link = self.oracles.flow.link(leader, follower, term);
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            link.sent = sent.max(last.index);
            let seen = format!(
                "it sent entries {} to {} (after index {prev_log_index})",
                first.index, last.index
            );
            if first.index <= acked {
                return self.report(Violation {
                    invariant: Invariant::AppendFlow,
                    nodes: vec![leader, follower],
                    index: Some(first.index),
                    term: Some(term),
                    expected: format!(
                        "leader n{leader} to send n{follower} no entry it acknowledged in term {term} (up to {acked})"
                    ),
                    seen,
                });
            }
            if first.index <= sent && !resend_allowed {
                return self.report(Violation {
                    invariant: Invariant::AppendFlow,
                    nodes: vec![leader, follower],
                    index: Some(first.index),
                    term: Some(term),
                    expected: format!(
                        "leader n{leader} to resend n{follower} entries it sent (up to {sent}) only once n{follower} answered since (anything but a stale acknowledgement)"
                    ),
                    seen,
                });
            }
        }
        let Some(hint) = answering.filter(|a| a.leader == leader && a.follower == follower) else {
            return;
        };
        // A probe at an index the follower acknowledged is justified by the
        // acknowledgement, whatever an older hint said.
        if prev_log_index > hint.hint_index
            || prev_log_term <= hint.hint_term
            || prev_log_index <= acked_now
        {
            return;
        }
        let Some(node) = self.host_ref(follower).node.as_ref() else {
            return; // Down: whether the probe fails is for its restart to say.
        };
        let follower_term = log_term(node, prev_log_index);
        // Nor where the follower no longer differs: the same entry, or one
        // its commit covers (a snapshot it installed since the hint may
        // have compacted it away; seed 32753269).
        if follower_term == Some(prev_log_term) || prev_log_index <= node.status().commit {
            return;
        }
        self.report(Violation {
            invariant: Invariant::AppendFlow,
            nodes: vec![leader, follower],
            index: Some(prev_log_index),
            term: Some(term),
            expected: format!(
                "leader n{leader} to probe n{follower} where its hint allows: n{follower} rejected with its entry {} of term {} (none above that term before it), so no probe at or below {} with a higher term",
                hint.hint_index, hint.hint_term, hint.hint_index
            ),
            seen: format!(
                "it probed after index {prev_log_index} of term {prev_log_term}; n{follower} holds {}",
                follower_term.map_or("no entry there".to_owned(), |t| format!("term {t} there"))
            ),
        });
    }
}

/// What a request of an older term is answered with (raft-core's
/// `answer_stale`): an answer that carries the receiver's term, so that a
/// stale leader or candidate learns it. `None` for what needs no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StaleAnswer {
    Append,
    Heartbeat,
    Vote,
    Snapshot,
    PreVote,
}

impl StaleAnswer {
    /// The answer a stale `body` gets, if any.
    fn to(body: &MessageBody) -> Option<StaleAnswer> {
        match body {
            MessageBody::AppendEntries { .. } => Some(StaleAnswer::Append),
            MessageBody::Heartbeat { .. } => Some(StaleAnswer::Heartbeat),
            MessageBody::RequestVote { .. } => Some(StaleAnswer::Vote),
            MessageBody::InstallSnapshot(_) => Some(StaleAnswer::Snapshot),
            MessageBody::PreVote { .. } => Some(StaleAnswer::PreVote),
            _ => None,
        }
    }

    /// Whether `body` is this answer.
    fn is(self, body: &MessageBody) -> bool {
        match self {
            StaleAnswer::Append => matches!(body, MessageBody::AppendEntriesResponse { .. }),
            StaleAnswer::Heartbeat => matches!(body, MessageBody::HeartbeatResponse { .. }),
            StaleAnswer::Vote => matches!(body, MessageBody::RequestVoteResponse { .. }),
            StaleAnswer::Snapshot => matches!(body, MessageBody::InstallSnapshotResponse { .. }),
            StaleAnswer::PreVote => matches!(body, MessageBody::PreVoteResponse { .. }),
        }
    }
}

impl World {
    /// Node `id` hands out a ready holding `messages` (`None`: it has none
    /// to hand out): it answers each stale request it took since its last
    /// ready, with its term, to the stale sender (§5.1: "if a server
    /// receives a request with a stale term number, it rejects the
    /// request", and the reply carries its term).
    pub(crate) fn check_stale_requests_answered(&mut self, id: NodeId, messages: &[&[Message]]) {
        let mine = take_node(&mut self.oracles.flow.owed, id, |owed| owed.0);
        if mine.is_empty() || !self.flow_judged() {
            return;
        }
        for (_, to, term, kind) in mine {
            let answered = messages
                .iter()
                .flat_map(|m| m.iter())
                .any(|m| m.to == to && m.term >= term && kind.is(&m.body));
            if !answered {
                return self.report(Violation {
                    invariant: Invariant::StaleTermAnswered,
                    nodes: vec![id, to],
                    index: None,
                    term: Some(term),
                    expected: format!(
                        "n{id} to answer n{to}'s request of an older term with its term {term} ({kind:?} answer)"
                    ),
                    seen: "its next ready holds no such answer".to_owned(),
                });
            }
        }
    }

    /// Node `id` hands out a ready holding `messages`: each rejection it
    /// owes carries the hint its log gave when it took the append (see
    /// the module documentation, `append-flow`).
    pub(crate) fn check_rejection_hints(&mut self, id: NodeId, messages: &[&[Message]]) {
        let mine = take_node(&mut self.oracles.flow.hints, id, |hint| hint.0);
        if mine.is_empty() || !self.flow_judged() {
            return;
        }
        // The ready holds the answers of every append taken since the last
        // one, in order: the k-th rejection of a probe answers its k-th append.
        let mut rejections: Vec<(NodeId, Index, (Index, Term))> = messages
            .iter()
            .flat_map(|m| m.iter())
            .filter_map(|m| match m.body {
                MessageBody::AppendEntriesResponse {
                    reject: true,
                    index,
                    reject_hint_index,
                    reject_hint_term,
                } => Some((m.to, index, (reject_hint_index, reject_hint_term))),
                _ => None,
            })
            .collect();
        // A heartbeat a node cannot confirm is answered with a rejection
        // too: judged only where the counts leave no doubt which is which.
        let count = |key: (NodeId, Index)| {
            let owed = mine.iter().filter(|h| (h.1, h.2) == key).count();
            let given = rejections.iter().filter(|r| (r.0, r.1) == key).count();
            owed == given
        };
        let agreed: Vec<bool> = mine.iter().map(|h| count((h.1, h.2))).collect();
        for (&(_, leader, probe, expected), agreed) in mine.iter().zip(agreed) {
            if !agreed {
                continue;
            }
            let Some(at) = rejections
                .iter()
                .position(|&(to, index, _)| to == leader && index == probe)
            else {
                continue;
            };
            let (_, _, seen) = rejections.remove(at);
            if seen == expected {
                continue;
            }
            return self.report(Violation {
                invariant: Invariant::AppendFlow,
                nodes: vec![id, leader],
                index: Some(probe),
                term: None,
                expected: format!(
                    "n{id} to reject n{leader}'s append after index {probe} with the hint its log gives: index {}, term {}",
                    expected.0, expected.1
                ),
                seen: format!("the hint index {}, term {}", seen.0, seen.1),
            });
        }
    }

    /// Node `id` hands out a ready holding `messages`: it rejects no more
    /// than it took appends it may not match and heartbeats whose commit it
    /// cannot confirm, per leader (see the module documentation,
    /// `append-flow`).
    pub(crate) fn check_rejections_prompted(&mut self, id: NodeId, messages: &[&[Message]]) {
        // Unlike the checks above, owing nothing is judged too: then no
        // rejection may leave.
        let mine = take_node(&mut self.oracles.flow.rejectable, id, |r| r.0);
        if !self.flow_judged() {
            return;
        }
        let rejections: Vec<&Message> = messages
            .iter()
            .flat_map(|m| m.iter())
            .filter(|m| {
                matches!(
                    m.body,
                    MessageBody::AppendEntriesResponse { reject: true, .. }
                )
            })
            .collect();
        for rejection in &rejections {
            let leader = rejection.to;
            let given = rejections.iter().filter(|m| m.to == leader).count();
            let allowed = mine.iter().filter(|r| r.1 == leader).count();
            if given > allowed {
                return self.report(Violation {
                    invariant: Invariant::AppendFlow,
                    nodes: vec![id, leader],
                    index: None,
                    term: Some(rejection.term),
                    expected: format!(
                        "n{id} to reject n{leader} at most {allowed} times: once per append it took and heartbeat whose commit it could not confirm since its last ready"
                    ),
                    seen: format!("{given} rejections in its ready"),
                });
            }
        }
    }

    /// Leader `id` hands out a ready holding `messages` and releasing the
    /// reads of `contexts`: with ReadIndex reads, a heartbeat of a new read
    /// round goes out only while a read it took waits (see the module
    /// documentation, `heartbeat-pace`).
    pub(crate) fn check_read_rounds(
        &mut self,
        id: NodeId,
        messages: &[&[Message]],
        contexts: &[u64],
    ) {
        if !self.flow_judged() {
            return;
        }
        let host = self.host_ref(id);
        let Some(status) = host.status() else {
            return;
        };
        let office = self.oracles.flow.offices[id as usize - 1].0;
        if status.role != Role::Leader
            || status.term != office
            || host.config.read_only == raft_core::ReadOnlyOption::LeaseBased
        {
            return;
        }
        let (waiting, last_round) = &mut self.oracles.flow.reads_waiting[id as usize - 1];
        let all = || messages.iter().flat_map(|m| m.iter());
        let new_round = all()
            .filter_map(|m| match m.body {
                MessageBody::Heartbeat { context, .. } if context > *last_round => Some(context),
                _ => None,
            })
            .max();
        let idle = waiting.is_empty();
        // Released by this ready: the leader's own reads, and the answers to
        // forwarded ones.
        let own = contexts.iter().map(|&context| (None, context));
        let forwarded = all().filter_map(|m| match m.body {
            MessageBody::ReadIndexResponse { context, .. } => Some((Some(m.to), context)),
            _ => None,
        });
        for read in own.chain(forwarded) {
            if let Some(at) = waiting.iter().position(|&r| r == read) {
                waiting.remove(at);
            }
        }
        let Some(round) = new_round else {
            return;
        };
        *last_round = round;
        if !idle {
            return;
        }
        self.report(Violation {
            invariant: Invariant::HeartbeatPace,
            nodes: vec![id],
            index: None,
            term: Some(status.term),
            expected: format!(
                "n{id}, leader of term {} with ReadIndex reads, to start a read round only while a read it took waits",
                status.term
            ),
            seen: format!("round {round} started with no read waiting"),
        });
    }

    /// Node `id` hands out a ready holding `messages`: a candidate it voted
    /// for that asked again, its log still as up to date, gets the vote
    /// again (etcd's `canVote`: `r.Vote == m.From`); its answer may have
    /// been lost.
    pub(crate) fn check_votes_granted_again(&mut self, id: NodeId, messages: &[&[Message]]) {
        let mine = take_node(&mut self.oracles.flow.regrants, id, |regrant| regrant.0);
        if mine.is_empty() || !self.flow_judged() {
            return;
        }
        for &(_, candidate, term) in &mine {
            // The ready may also answer requests taken before the vote:
            // judged only when every answer to the candidate is owed again.
            let owed = mine
                .iter()
                .filter(|r| (r.1, r.2) == (candidate, term))
                .count();
            let answers = messages.iter().flat_map(|m| m.iter()).filter(|m| {
                m.to == candidate
                    && m.term == term
                    && matches!(m.body, MessageBody::RequestVoteResponse { .. })
            });
            let (given, refused) = answers.fold((0, false), |(given, refused), m| {
                let no = matches!(m.body, MessageBody::RequestVoteResponse { granted: false });
                (given + 1, refused || no)
            });
            if refused && given == owed {
                return self.report(Violation {
                    invariant: Invariant::OneVotePerTerm,
                    nodes: vec![id, candidate],
                    index: None,
                    term: Some(term),
                    expected: format!(
                        "n{id}, which voted for n{candidate} in term {term}, to grant it again when asked again with a log as up to date"
                    ),
                    seen: "it refused".to_owned(),
                });
            }
        }
    }

    /// Node `id` writes entries from `(index, term)` on: the log is
    /// truncated there, so its disk must not hold that very entry (§5.3: a
    /// follower deletes only from a conflict; an entry it holds already is
    /// skipped). Its disk holds every earlier write: a ready is taken only
    /// once the previous one's fsync completed.
    pub(crate) fn check_truncate_on_conflict(&mut self, id: NodeId, index: Index, term: Term) {
        if self.checker.is_none() {
            return;
        }
        let disk = &self.host_ref(id).disk;
        if index <= disk.snapshot_index() || !disk.durably_holds(index, term) {
            return;
        }
        let last = disk.durable_last_index();
        self.report(Violation {
            invariant: Invariant::TruncateOnConflict,
            nodes: vec![id],
            index: Some(index),
            term: Some(term),
            expected: format!(
                "n{id} to rewrite its log only from a conflicting or new entry (its disk holds entries up to {last})"
            ),
            seen: format!(
                "it truncated its log at {index} and wrote the entry of term {term} it already held there"
            ),
        });
    }
}

/// The hint `node` owes a rejection of an append after `(prev_index,
/// prev_term)`, if its log rejects it: the largest index at or below
/// `prev_index` and its last whose term is at most `prev_term`, with that
/// term (0 below its snapshot). `None` if it takes the append (its log
/// matches there, or its snapshot covers the point).
fn rejection_hint(
    node: &raft_core::RawNode,
    prev_index: Index,
    prev_term: Term,
) -> Option<(Index, Term)> {
    let status = node.status();
    let term_at = |index: Index| match index {
        0 if status.snapshot_index == 0 => Some(0),
        _ => log_term(node, index),
    };
    if prev_index < status.snapshot_index || term_at(prev_index) == Some(prev_term) {
        return None;
    }
    let mut index = prev_index.min(status.last_index);
    loop {
        match term_at(index) {
            Some(term) if term > prev_term => index -= 1,
            Some(term) => return Some((index, term)),
            None => return Some((index, 0)),
        }
    }
}

/// The term of `node`'s entry at `index`, if it holds one (or its snapshot
/// ends there).
fn log_term(node: &raft_core::RawNode, index: Index) -> Option<Term> {
    if let Some(meta) = node.snapshot_meta().filter(|m| m.index == index) {
        return Some(meta.term);
    }
    if index < node.first_index() {
        return None;
    }
    node.log_entries_from(index)
        .first()
        .filter(|e| e.index == index)
        .map(|e| e.term)
}

/// Takes the entries of `list` that node `id` owes in its next ready
/// (`node_of` says whose each is), leaving the others.
fn take_node<T>(list: &mut Vec<T>, id: NodeId, node_of: impl Fn(&T) -> NodeId) -> Vec<T> {
    if !list.iter().any(|entry| node_of(entry) == id) {
        return Vec::new();
    }
    let (mine, others) = std::mem::take(list)
        .into_iter()
        .partition(|entry| node_of(entry) == id);
    *list = others;
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(voters: &[NodeId], outgoing: &[NodeId]) -> ConfState {
        ConfState {
            voters: voters.to_vec(),
            outgoing_voters: outgoing.to_vec(),
            learners: Vec::new(),
        }
    }

    #[test]
    fn a_campaign_is_lost_once_refusals_leave_no_majority_in_either_half() {
        let mut flow = Flow::new(5);
        flow.note_candidate(1, 3);
        let five = conf(&[1, 2, 3, 4, 5], &[]);
        flow.note_vote(1, 3, 2, false);
        flow.note_vote(1, 3, 3, false);
        assert!(!flow.lost(1, 3, &five), "three of five may still grant");
        flow.note_vote(1, 3, 4, false);
        assert!(flow.lost(1, 3, &five));
        // A grant after a refusal (of an older request) counts as a grant.
        flow.note_vote(1, 3, 4, true);
        assert!(!flow.lost(1, 3, &five));
        // Joint: losing the outgoing half loses the election.
        let joint = conf(&[1, 2, 3], &[3, 4, 5]);
        flow.note_vote(1, 3, 5, false);
        flow.note_vote(1, 3, 3, false);
        assert!(flow.lost(1, 3, &joint));
        // Another term's tally says nothing.
        assert!(!flow.lost(1, 4, &joint));
    }

    #[test]
    fn a_campaign_starts_at_the_tick_batch_that_made_the_candidate() {
        let mut flow = Flow::new(3);
        flow.note_ticks(2, 5);
        flow.note_ticks(2, 4);
        flow.note_candidate(2, 7);
        assert_eq!(flow.campaigns[1].since_ticks, 5);
        flow.note_ticks(2, 1);
        flow.note_candidate(2, 7);
        assert_eq!(flow.campaigns[1].since_ticks, 5, "the same campaign");
    }

    #[test]
    fn an_answer_binds_the_candidate_from_its_next_ready_on() {
        let mut flow = Flow::new(3);
        flow.note_candidate(1, 3);
        flow.note_vote(1, 3, 2, false);
        assert!(
            flow.campaigns[0].answered.is_empty(),
            "a request made before may leave"
        );
        flow.ready_sent(1);
        assert!(
            flow.campaigns[0].answered.is_empty(),
            "the ready's held vote requests were made before it was taken"
        );
        // An answer while the ready's fsync runs binds only the ready after.
        flow.note_vote(1, 3, 3, false);
        flow.held_messages_sent(1);
        assert_eq!(flow.campaigns[0].answered, [2]);
        flow.ready_sent(1);
        flow.held_messages_sent(1);
        assert_eq!(flow.campaigns[0].answered, [2, 3]);
        // Another term's answer, or another node's ready, binds nothing.
        flow.note_vote(1, 4, 3, true);
        flow.ready_sent(2);
        flow.held_messages_sent(2);
        assert_eq!(flow.campaigns[0].answered, [2, 3]);
    }

    #[test]
    fn a_leader_is_judged_for_check_quorum_on_answers_of_its_last_two_periods() {
        let voters: &[NodeId] = &[1, 2, 3];
        let sets = [voters, &[][..]];
        let mut flow = Flow::new(3);
        flow.note_ticks(1, 30);
        flow.took_office(1, 4);
        flow.note_ticks(1, 9);
        // Fewer than a period in office: no check made yet.
        assert_eq!(flow.quorum_unheard((1, 4), 10, sets), None);
        flow.note_ticks(1, 1);
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, sets),
            Some((10, vec![2, 3]))
        );
        // One answer of its term makes a quorum with the leader.
        // (Taken after tick 40, whose check it missed: counted at 50.)
        flow.note_quorum_answer(1, 2, 4);
        flow.note_ticks(1, 19);
        assert_eq!(flow.quorum_unheard((1, 4), 10, sets), None);
        // The check at tick 60 counted nothing since the one at 50.
        flow.note_ticks(1, 1);
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, sets),
            Some((30, vec![2, 3]))
        );
        // An answer of an earlier term does not count.
        flow.note_quorum_answer(1, 3, 3);
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, sets),
            Some((30, vec![2, 3]))
        );
        // Joint: each set needs its own quorum.
        flow.note_quorum_answer(1, 3, 4);
        let outgoing: &[NodeId] = &[1, 3];
        assert_eq!(flow.quorum_unheard((1, 4), 10, [voters, outgoing]), None);
        let outgoing: &[NodeId] = &[2, 3];
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, [voters, outgoing]),
            Some((30, vec![2]))
        );
        let outgoing: &[NodeId] = &[2];
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, [&[1, 3][..], outgoing]),
            Some((30, vec![2]))
        );
        // A configuration applied in the last two periods: not judged.
        flow.note_conf_applied(1);
        flow.note_ticks(1, 20);
        assert_eq!(flow.quorum_unheard((1, 4), 10, sets), None);
        flow.note_ticks(1, 1);
        assert_eq!(
            flow.quorum_unheard((1, 4), 10, sets),
            Some((51, vec![2, 3]))
        );
    }

    #[test]
    fn heartbeats_are_due_one_per_interval_from_office_or_addition() {
        let mut flow = Flow::new(3);
        flow.note_ticks(1, 10);
        flow.start_counting_beats(1, 2, 4);
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), None);
        flow.note_ticks(1, 5);
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), Some((0, 2, 5)));
        flow.link(1, 2, 4).beats += 2;
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), None);
        // The follower restarted: the leader's heartbeats went on.
        flow.restarted(2);
        flow.note_ticks(1, 2);
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), Some((2, 3, 7)));
        // Added again: counted afresh from the addition.
        flow.conf_changed(1, Some(2));
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), None);
        flow.note_ticks(1, 3);
        assert_eq!(flow.heartbeat_shortfall(1, 2, 4, 2), Some((0, 1, 3)));
        // Not judged: a member never counted, another term.
        assert_eq!(flow.heartbeat_shortfall(1, 3, 4, 2), None);
        assert_eq!(flow.heartbeat_shortfall(1, 2, 5, 2), None);
    }

    #[test]
    fn resending_is_allowed_after_a_rejection_a_heartbeat_or_a_known_ack_only() {
        let mut flow = Flow::new(3);
        let link = flow.link(1, 2, 4);
        link.sent = 9;
        let ack = |index| MessageBody::AppendEntriesResponse {
            reject: false,
            index,
            reject_hint_index: 0,
            reject_hint_term: 0,
        };
        flow.note_answer((1, 2, 4), &ack(5), false);
        assert_eq!(
            (flow.link(1, 2, 4).acked_now, flow.link(1, 2, 4).sent),
            (5, 0)
        );
        assert_eq!(
            flow.link(1, 2, 4).acked,
            0,
            "known to messages of the next ready only"
        );
        flow.link(1, 2, 4).sent = 9;
        flow.note_answer((1, 2, 4), &ack(3), false);
        assert_eq!(flow.link(1, 2, 4).sent, 9, "a stale ack allows nothing");
        flow.note_answer((1, 2, 4), &ack(5), false);
        assert_eq!(flow.link(1, 2, 4).sent, 0, "an ack at the match index");
        flow.ready_sent(1);
        assert_eq!(flow.link(1, 2, 4).acked, 5);
        assert!(!flow.link(1, 2, 4).resend_allowed);
        flow.link(1, 2, 4).sent = 9;
        flow.note_answer(
            (1, 2, 4),
            &MessageBody::HeartbeatResponse { context: 0 },
            false,
        );
        assert_eq!(flow.link(1, 2, 4).sent, 0);
        assert!(flow.link(1, 2, 4).resend_allowed);
        assert_eq!(flow.link(1, 2, 5).acked, 0, "a new term knows nothing");
    }
}
