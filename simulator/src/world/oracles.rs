//! Oracles that judge the run as it goes, beyond the safety checkers:
//! durability at commit, and progress while the network is calm
//! (TigerBeetle's liveness mode, stated as bounds).
//!
//! **Durability at commit.** When a leader's commit index advances, the
//! entry there must be on the *disks* of a quorum of the leader's
//! configuration (of both halves while joint): durable, not only in some
//! node's memory. A follower that acknowledges before its fsync, or a
//! leader that counts an acknowledgement it should not, breaks this at the
//! very step it commits, long before a crash could show it.
//!
//! **Progress, judged only where Raft promises it.** A fault disturbs a
//! link (a message on it dropped, duplicated, held, cut or clogged) or a
//! node (crashed, restarted, paused, resumed, its clock pushed past the
//! drift bound). The oracles judge only what no disturbance touched:
//!
//! - *Commit.* A leader takes a proposal at index `i` while a quorum of its
//!   configuration (itself included) holds its log up to `i - 1` durably,
//!   in its term, and neither those nodes nor their links to the leader
//!   were disturbed for a settling time before. Unless one of them is
//!   disturbed, the leader loses office or its configuration changes
//!   before the deadline, `i` is committed within [`Bounds::commit_us`]:
//!   the entry goes out at once (etcd's `bcastAppend`), each follower
//!   writes and acknowledges it, the leader writes it too. A leader that
//!   leaves new entries for its next heartbeat is caught here.
//! - *Read.* A leader's own host asks it for a read index while a quorum
//!   of its configuration follows it in its term, calm as above. Once an
//!   entry of the leader's term has committed (reads wait for that), the
//!   read is released within [`Bounds::read_us`]: a heartbeat round at
//!   most (one in flight may have been lost before the calm), its
//!   acknowledgements, the fsyncs they wait behind. A leader that never
//!   takes up the reads that waited for its first commit is caught here.
//! - *Transfer.* A leader is asked to hand its office to a voter that
//!   holds its whole log durably, with a quorum following it and calm on
//!   the links to both. Unless disturbed, the transferee leads within
//!   [`Bounds::transfer_us`]: TimeoutNow goes out at once, the transferee
//!   campaigns (no PreVote, past the vote lease) and wins, since no voter
//!   holds more than it does. A leader that believes it sent TimeoutNow
//!   when it did not is caught here.
//! - *Election.* The voters that run (not crashed, paused or skewed) and
//!   reach one another form a group; when it holds a quorum of the
//!   configuration in force and of the one each member applied, no other running node can send to it, and
//!   nothing disturbed it, one of its members leads (in the highest term
//!   among them) within [`Bounds::election_us`] of the calm's start, however
//!   the nodes outside it campaign. Judged only in runs that meet Raft's
//!   timing requirement (a vote round trip and its fsyncs within the
//!   shortest election timeout, [`Bounds::elections_timely`]).
//!
//! - *New member.* A leader that applies a configuration adding a node
//!   sends it entries (or its snapshot) at once (etcd's `bcastAppend` on a
//!   conf change), not at its next heartbeat: unless the link or either
//!   end is disturbed, an append reaches the new member within
//!   [`Bounds::new_member_us`].
//!
//! Only the run's own faults disturb; the background delays (up to the
//! drawn jitter) and fsync latencies are part of the bounds.

use invariants::{Invariant, Violation};
use raft_core::{ConfState, Index, Message, MessageBody, NodeId, ReadVia, Role, Term};

use crate::world::coverage::Sometimes;
use crate::world::params::Params;
use crate::world::World;

/// The bounds of one run, derived from its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The longest round trip without faults: twice the largest delay.
    pub round_trip_us: u64,
    /// How long a link and its ends stay undisturbed before a proposal is
    /// judged: a heartbeat round repairs what a lost message left behind (a
    /// follower's progress probing or paused), twice over.
    pub settle_us: u64,
    /// A judged proposal commits within this: the leader's ready waits for
    /// at most one fsync before the entry goes out; the append's round
    /// trip, the follower's wait and its own fsync; a second round trip
    /// and its fsyncs for a follower whose last acknowledgement was still
    /// in flight (its progress moves from probing to replicating on it).
    pub commit_us: u64,
    /// A calm quorum elects a leader within this: the longest election
    /// timeout a drifting clock gives, for as many rounds as split votes
    /// may take (each round a PreVote and a vote round trip).
    pub election_us: u64,
    /// A judged read is released within this once its leader has
    /// committed an entry of its term: a heartbeat interval (a round in
    /// flight before the calm may have been lost: the next heartbeat
    /// retries), two round trips and their fsyncs, plus 1 ms.
    pub read_us: u64,
    /// A judged read whose leader had an entry of its term committed when
    /// asked, and no round in flight sent before the calm, is released
    /// within this: its round starts at once, or as soon as the round in
    /// flight (sent in the calm) is confirmed; two round trips and their
    /// fsyncs, plus 1 ms, and no heartbeat interval.
    pub read_prompt_us: u64,
    /// A judged transfer ends with the transferee leading within this:
    /// TimeoutNow's way behind one fsync of the leader, the transferee's
    /// fsync of its new term, a vote round trip and the voters' fsyncs;
    /// twice that, plus 1 ms.
    pub transfer_us: u64,
    /// An append reaches a member the leader just added within this: the
    /// leader's ready behind at most two fsyncs, then the network's
    /// longest delay, plus 1 ms.
    pub new_member_us: u64,
    /// The longest a tick of a clock within the drift bound lasts.
    pub slow_tick_us: u64,
    /// The shortest a tick of a clock within the drift bound lasts.
    pub fast_tick_us: u64,
    /// Whether the run meets Raft's timing requirement (§5.6: broadcast
    /// time well below the election timeout) at least so far that a vote
    /// round trip and its fsyncs fit in the shortest election timeout. Only
    /// then does Raft promise elections a bound: past it a new leader's
    /// first heartbeat may reach its voters after their timers fired, and
    /// split votes may go on for any number of rounds (seed 24354810:
    /// delays up to 49 ms, timeouts from 75 ms, four voters of seven that
    /// had to agree on the one with the longest log).
    pub elections_timely: bool,
}

/// Rounds of split votes the election bound allows.
const ELECTION_ROUNDS: u64 = 12;

impl Bounds {
    /// The bounds of the run `params` describes.
    pub fn of(params: &Params) -> Bounds {
        let round_trip_us = 2 * (params.delay_us_min + params.delay_jitter_us);
        let drift_ppt = params.clock_drift_bound_ppt.clamp(0, 999) as u64;
        let tick_us = params.tick_us * (1000 + drift_ppt) / 1000 + 1;
        let fast_tick_us = params.tick_us * (1000 - drift_ppt) / 1000;
        let heartbeat_us = u64::from(params.heartbeat_interval_ticks) * tick_us;
        let fsync_us = params.fsync_us_max;
        let settle_us = 2 * (heartbeat_us + round_trip_us + 2 * fsync_us);
        let commit_us = 2 * round_trip_us + 6 * fsync_us + 1_000;
        let election_timeout_us = 2 * u64::from(params.election_timeout_ticks_min) * tick_us;
        let election_us =
            ELECTION_ROUNDS * (election_timeout_us + 2 * round_trip_us + 4 * fsync_us) + settle_us;
        let read_us = heartbeat_us + 2 * round_trip_us + 6 * fsync_us + 1_000;
        let read_prompt_us = 2 * round_trip_us + 6 * fsync_us + 1_000;
        let transfer_us = 3 * round_trip_us + 8 * fsync_us + 1_000;
        let new_member_us = 2 * fsync_us + round_trip_us / 2 + 1_000;
        let shortest_timeout_us = u64::from(params.election_timeout_ticks_min) * fast_tick_us;
        let elections_timely = round_trip_us + 2 * fsync_us < shortest_timeout_us;
        Bounds {
            round_trip_us,
            settle_us,
            commit_us,
            election_us,
            read_us,
            read_prompt_us,
            transfer_us,
            new_member_us,
            slow_tick_us: tick_us,
            fast_tick_us,
            elections_timely,
        }
    }
}

/// A proposal the commit oracle judges.
#[derive(Clone, Debug)]
struct Obligation {
    leader: NodeId,
    term: Term,
    index: Index,
    proposed_us: u64,
    /// The quorum that held the log up to `index - 1` (the leader too).
    quorum: Vec<NodeId>,
    conf: ConfState,
}

/// A read the read oracle judges: asked of `leader`'s own host.
#[derive(Clone, Debug)]
struct ReadObligation {
    leader: NodeId,
    term: Term,
    /// The host's read context (the key of its pending reads).
    context: u64,
    asked_us: u64,
    /// When it is judged: [`Bounds::read_us`] after it was asked, pushed
    /// on while the leader has not committed an entry of its term.
    due_us: u64,
    /// The voters that followed the leader, calm, when it was asked.
    quorum: Vec<NodeId>,
    conf: ConfState,
    /// Whether the leader was seen to have committed an entry of its term
    /// (at the ask or at a look since): the bound runs from that sight.
    commit_seen: bool,
    /// Whether the prompt bound applies ([`Bounds::read_prompt_us`]).
    prompt: bool,
}

/// A leadership transfer the transfer oracle judges.
#[derive(Clone, Debug)]
struct TransferObligation {
    from: NodeId,
    to: NodeId,
    term: Term,
    asked_us: u64,
    /// The voters that followed `from`, calm with both ends, when asked.
    quorum: Vec<NodeId>,
    conf: ConfState,
}

/// A vote or pre-vote request as a voter handled it: the candidate's last
/// log (term, index), the voter's shortest as it handled a copy.
type VoteRequest = ((Term, Index), (Term, Index));

/// What the oracles keep between steps.
#[derive(Clone, Debug)]
pub(crate) struct Oracles {
    /// Whether the oracles judge (off: a scenario that ticks by hand).
    pub(crate) on: bool,
    bounds: Bounds,
    nodes: usize,
    // Invariant: link_disturbed_us[(a - 1) * nodes + (b - 1)] is the last
    // time a fault touched a message from a to b.
    link_disturbed_us: Vec<u64>,
    // Invariant: node_disturbed_us[n - 1] is the last time a fault touched
    // node n.
    node_disturbed_us: Vec<u64>,
    // Invariant: clock_skewed_us[n - 1] is the last time a skew fault
    // started or ended on node n (0: never).
    clock_skewed_us: Vec<u64>,
    // Invariant: sorted by proposal time, so by deadline (the proposal
    // time plus one bound for all).
    obligations: std::collections::VecDeque<Obligation>,
    // Invariant: sorted by `due_us` (`push_by_due`).
    reads: std::collections::VecDeque<ReadObligation>,
    /// The transfer under judgement (a world has one transfer at a time).
    transfer: Option<TransferObligation>,
    /// The group the election oracle last judged, and since when it was
    /// that group.
    group: Vec<NodeId>,
    group_since_us: u64,
    /// Since when the group has had no leader (`None`: it has one).
    leaderless_since_us: Option<u64>,
    next_election_check_us: u64,
    /// The votes granted so far, by term and candidate (never pruned: a
    /// candidate of an old term may still win on a late vote; a run holds
    /// a few hundred elections at most).
    votes: std::collections::BTreeMap<(Term, NodeId), Vec<NodeId>>,
    /// The vote and pre-vote requests voters handled, by (voter,
    /// candidate, term): per candidate last log (term, index) asked with,
    /// the least the voter held as it handled a copy (kept for the run: a
    /// grant may answer an early copy after a later one was handled).
    vote_requests: std::collections::BTreeMap<(NodeId, NodeId, Term), Vec<VoteRequest>>,
    // Invariant: heard[(l - 1) * nodes + (v - 1)] is the (event, time) at
    // which leader l last took a message of its term from v.
    heard: Vec<(u64, u64)>,
    /// Reads followers forwarded to a leader, by (leader, follower,
    /// context): the event at which the leader took each up.
    forwarded_reads: std::collections::BTreeMap<(NodeId, NodeId, u64), (u64, u64)>,
    /// Per node (`n - 1`), the highest index it acknowledged to a leader,
    /// and that leader's term.
    acked: Vec<(Term, Index)>,
    /// Per node (`n - 1`), the (event, time) its configuration last changed
    /// (a conf entry applied, a snapshot installed).
    conf_changed: Vec<(u64, u64)>,
    /// Per node (`n - 1`), the members (voters and learners) of the
    /// configuration it last applied, if known since it started.
    members: Vec<Option<Vec<NodeId>>>,
    // Invariant: sorted by `added_us` (so by deadline).
    new_members: std::collections::VecDeque<NewMember>,
    /// Per leader (`n - 1`): its term, and the heartbeat rounds it sent in
    /// it with when each first left (the latest [`ROUNDS_KEPT`]).
    rounds_sent: Vec<(Term, std::collections::VecDeque<(u64, u64)>)>,
    // Invariant: round_acks[(l - 1) * nodes + (v - 1)] is (term, the
    // highest round of leader l in that term that v answered).
    round_acks: Vec<(Term, u64)>,
    /// Per node (`n - 1`), the ticks it counted since it last took a
    /// message from the leader of its term (`None`: none since it started
    /// or last led), as raft-core's vote lease counts them.
    contact_ticks: Vec<Option<u32>>,
    /// The vote and pre-vote requests voters handled, by (voter,
    /// candidate, term, pre-vote): whether some copy came when the vote
    /// lease let the voter grant it.
    lease_requests: std::collections::BTreeMap<(NodeId, NodeId, Term, bool), bool>,
    /// The flow oracles' state (`append-flow`, `election-pace`).
    pub(crate) flow: crate::world::flow::Flow,
    /// The pre-vote requests voters handled, by (voter, candidate, term):
    /// whether some copy came when the voter could have voted for the
    /// candidate in that term.
    pre_vote_could: std::collections::BTreeMap<(NodeId, NodeId, Term), bool>,
}

/// Heartbeat rounds kept per leader for the lease-use oracle (a lease
/// spans a few rounds; older ones lend it nothing).
const ROUNDS_KEPT: usize = 64;

/// A member a leader added, owed an append.
#[derive(Clone, Copy, Debug)]
struct NewMember {
    leader: NodeId,
    term: Term,
    member: NodeId,
    added_us: u64,
}

impl Oracles {
    /// The oracles of the run `params` describes; `on` false keeps them
    /// quiet (a scenario that ticks its nodes by hand).
    pub(crate) fn new(params: &Params, on: bool) -> Oracles {
        let nodes = params.node_capacity() as usize;
        Oracles {
            on,
            bounds: Bounds::of(params),
            nodes,
            link_disturbed_us: vec![0; nodes * nodes],
            node_disturbed_us: vec![0; nodes],
            clock_skewed_us: vec![0; nodes],
            obligations: std::collections::VecDeque::new(),
            reads: std::collections::VecDeque::new(),
            transfer: None,
            group: Vec::new(),
            group_since_us: 0,
            leaderless_since_us: None,
            next_election_check_us: 0,
            votes: std::collections::BTreeMap::new(),
            vote_requests: std::collections::BTreeMap::new(),
            heard: vec![(0, 0); nodes * nodes],
            forwarded_reads: std::collections::BTreeMap::new(),
            acked: vec![(0, 0); nodes],
            conf_changed: vec![(0, 0); nodes],
            members: vec![None; nodes],
            new_members: std::collections::VecDeque::new(),
            rounds_sent: vec![(0, std::collections::VecDeque::new()); nodes],
            round_acks: vec![(0, 0); nodes * nodes],
            contact_ticks: vec![None; nodes],
            lease_requests: std::collections::BTreeMap::new(),
            flow: crate::world::flow::Flow::new(nodes),
            pre_vote_could: std::collections::BTreeMap::new(),
        }
    }

    /// Node `node` ticked `ticks` times; `led` whether it led before.
    pub(crate) fn note_ticks(&mut self, node: NodeId, ticks: u32, led: bool) {
        self.flow.note_ticks(node, ticks);
        let contact = &mut self.contact_ticks[node as usize - 1];
        if !led {
            *contact = contact.map(|elapsed| elapsed.saturating_add(ticks));
        }
    }

    /// Node `node` took a message from the leader of its term (`true`), or
    /// holds no vote lease any more (`false`: it stopped leading, restarted).
    pub(crate) fn note_leader_contact(&mut self, node: NodeId, heard: bool) {
        self.contact_ticks[node as usize - 1] = heard.then_some(0);
    }

    /// Voter `key.0` handled a vote (`key.3` false) or pre-vote request of
    /// candidate `key.1` for term `key.2`. `lease_applies`: CheckQuorum is
    /// on, the request is of a higher term and no transfer's; then the
    /// lease binds the voter to refuse if it leads (`leads`) or heard its
    /// leader fewer than `min_ticks` ticks ago.
    pub(crate) fn note_lease_request(
        &mut self,
        key: (NodeId, NodeId, Term, bool),
        lease_applies: bool,
        min_ticks: u32,
        leads: bool,
    ) {
        let voter = key.0;
        let in_lease =
            leads || self.contact_ticks[voter as usize - 1].is_some_and(|e| e < min_ticks);
        let permitted = !(lease_applies && in_lease);
        *self.lease_requests.entry(key).or_insert(false) |= permitted;
    }

    /// A fault touched a message from `from` to `to` that arrives (or
    /// would have) at `until_us`.
    pub(crate) fn disturb_link(&mut self, from: NodeId, to: NodeId, until_us: u64) {
        let slot = self.pair(from, to);
        let slot = &mut self.link_disturbed_us[slot];
        *slot = (*slot).max(until_us);
    }

    /// A fault touched node `node` now.
    pub(crate) fn disturb_node(&mut self, node: NodeId, now_us: u64) {
        self.node_disturbed_us[node as usize - 1] = now_us;
    }

    /// A skew fault started or ended on `node`: its ticks ran, or still
    /// run, at a rate the bounds' drift bound does not cover.
    pub(crate) fn note_clock_skewed(&mut self, node: NodeId, now_us: u64) {
        self.clock_skewed_us[node as usize - 1] = now_us;
    }

    /// Voter `key.0` handles a vote or pre-vote request of candidate
    /// `key.1` in term `key.2`, the candidate's last log (term, index)
    /// `candidate_log`, its own `voter_log`.
    pub(crate) fn note_vote_request(
        &mut self,
        key: (NodeId, NodeId, Term),
        candidate_log: (Term, Index),
        voter_log: (Term, Index),
    ) {
        let requests = self.vote_requests.entry(key).or_default();
        match requests
            .iter_mut()
            .find(|(asked, _)| *asked == candidate_log)
        {
            // Of copies, the voter's shortest log: a grant must beat that one.
            Some((_, shortest)) => *shortest = (*shortest).min(voter_log),
            None => requests.push((candidate_log, voter_log)),
        }
    }

    /// Voter `key.0` handles a pre-vote request of candidate `key.1` for
    /// term `key.2`; `could_vote` whether it could vote for it in that term
    /// (the term is ahead of its own, or it voted for the candidate, or for
    /// no one and knows no leader: etcd's `canVote`).
    pub(crate) fn note_pre_vote_request(&mut self, key: (NodeId, NodeId, Term), could_vote: bool) {
        *self.pre_vote_could.entry(key).or_default() |= could_vote;
    }

    /// Node `node`'s configuration changed at `event`, `now_us`.
    pub(crate) fn note_conf_changed(&mut self, node: NodeId, event: u64, now_us: u64) {
        self.conf_changed[node as usize - 1] = (event, now_us);
        self.flow.note_conf_applied(node);
    }

    /// Leader `leader` of `term` sent heartbeat round `round` now.
    pub(crate) fn note_round_sent(&mut self, leader: NodeId, term: Term, round: u64, now_us: u64) {
        let (kept_term, rounds) = &mut self.rounds_sent[leader as usize - 1];
        if *kept_term != term {
            *kept_term = term;
            rounds.clear();
        }
        if rounds.back().is_some_and(|&(last, _)| last >= round) {
            return; // Another heartbeat of a round already sent.
        }
        if rounds.len() == ROUNDS_KEPT {
            rounds.pop_front();
        }
        rounds.push_back((round, now_us));
    }

    /// Voter `voter` answered round `round` of leader `leader` of `term`.
    pub(crate) fn note_round_ack(&mut self, leader: NodeId, voter: NodeId, term: Term, round: u64) {
        // An answer of this term to a heartbeat of an earlier one carries a
        // round of that term's count: no round of this leader (raft-core
        // takes none past the last it sent).
        let (sent_term, sent) = &self.rounds_sent[leader as usize - 1];
        if *sent_term != term || sent.back().is_none_or(|&(last, _)| round > last) {
            return;
        }
        let slot = self.pair(leader, voter);
        let slot = &mut self.round_acks[slot];
        *slot = match *slot {
            (t, r) if t == term => (t, r.max(round)),
            _ => (term, round),
        };
    }

    /// Node `node` (re)started: what configuration it applied is unknown
    /// until it applies one.
    pub(crate) fn forget_members(&mut self, node: NodeId) {
        self.members[node as usize - 1] = None;
        self.flow.restarted(node);
    }

    /// An append or a snapshot chunk from `from` reached `to`: a member
    /// `from` added is served.
    pub(crate) fn note_append_delivered(&mut self, from: NodeId, to: NodeId) {
        if !self.new_members.is_empty() {
            self.new_members
                .retain(|n| !(n.leader == from && n.member == to));
        }
    }

    /// The slot of the ordered pair (`a`, `b`) in a per-pair table.
    fn pair(&self, a: NodeId, b: NodeId) -> usize {
        (a as usize - 1) * self.nodes + (b as usize - 1)
    }

    /// The last time a fault touched `node` or its links with `peer`.
    fn disturbed_us(&self, node: NodeId, peer: NodeId) -> u64 {
        let (a, b) = (node as usize - 1, peer as usize - 1);
        self.node_disturbed_us[a]
            .max(self.node_disturbed_us[b])
            .max(self.link_disturbed_us[a * self.nodes + b])
            .max(self.link_disturbed_us[b * self.nodes + a])
    }
}

/// Every voter of `conf`, of either half, each once, in order.
fn voters_of(conf: &ConfState) -> Vec<NodeId> {
    let mut voters: Vec<NodeId> = conf
        .voters
        .iter()
        .chain(&conf.outgoing_voters)
        .copied()
        .collect();
    voters.sort_unstable();
    voters.dedup();
    voters
}

/// The front of `queue` (sorted by deadline) if its deadline `due` is
/// past `now_us`.
/// Queues a read obligation in order of its due time.
fn push_by_due(reads: &mut std::collections::VecDeque<ReadObligation>, read: ReadObligation) {
    let at = reads.partition_point(|r| r.due_us <= read.due_us);
    reads.insert(at, read);
}

fn pop_due<T>(
    queue: &mut std::collections::VecDeque<T>,
    now_us: u64,
    due: impl Fn(&T) -> u64,
) -> Option<T> {
    if queue.front().is_some_and(|item| due(item) < now_us) {
        queue.pop_front()
    } else {
        None
    }
}

/// Whether `node`, at commit index `commit`, has committed an entry of `term`.
fn committed_in_term(node: &raft_core::RawNode, commit: Index, term: Term) -> bool {
    node.log_entries_from(commit)
        .first()
        .is_some_and(|e| e.index == commit && e.term == term)
}

/// Whether `holders` include a majority of `voters` (an empty half asks for none).
fn majority_of(voters: &[NodeId], holders: &[NodeId]) -> bool {
    let held = voters.iter().filter(|v| holders.contains(v)).count();
    voters.is_empty() || 2 * held > voters.len()
}

/// Whether `holders` are a quorum of `conf` (of both halves while joint).
fn quorum_of(conf: &ConfState, holders: &[NodeId]) -> bool {
    !conf.voters.is_empty()
        && majority_of(&conf.voters, holders)
        && majority_of(&conf.outgoing_voters, holders)
}

impl World {
    /// Leader `leader`'s commit index just advanced to `commit`: the entry
    /// there must be on the disks of a quorum of its configuration.
    pub(crate) fn check_durable_commit(&mut self, leader: NodeId, commit: Index) {
        if self.checker.is_none() {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let Some(term) = node
            .log_entries_from(commit)
            .first()
            .filter(|e| e.index == commit)
            .map(|e| e.term)
        else {
            return;
        };
        let leader_term = node.status().term;
        if term != leader_term {
            self.report(Violation {
                invariant: Invariant::CommitCurrentTerm,
                nodes: vec![leader],
                index: Some(commit),
                term: Some(leader_term),
                expected: format!(
                    "leader {leader} of term {leader_term} to move its commit index only onto an entry of term {leader_term}"
                ),
                seen: format!("it committed up to index {commit}, an entry of term {term}"),
            });
            return;
        }
        let conf = node.conf_state();
        // A voter whose disk was lost holds nothing we can read; it may
        // have acknowledged before it lost it (its acknowledgement in
        // flight): it is given the benefit of the doubt.
        let (holders, lacking): (Vec<NodeId>, Vec<NodeId>) =
            voters_of(&conf).into_iter().partition(|&v| {
                let host = self.host_ref(v);
                host.disk_lost || host.disk.durably_holds(commit, term)
            });
        if quorum_of(&conf, &holders) {
            return;
        }
        let missing: Vec<String> = lacking.iter().map(|v| format!("n{v}")).collect();
        self.report(Violation {
            invariant: Invariant::DurableCommit,
            nodes: vec![leader],
            index: Some(commit),
            term: Some(term),
            expected: format!(
                "the entry at index {commit} (term {term}) durable on a quorum of {} when leader {leader} commits it",
                crate::world::membership::describe_conf(&conf)
            ),
            seen: format!(
                "durable only on [{}]; not on the disks of [{}]",
                holders
                    .iter()
                    .map(|v| format!("n{v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                missing.join(" ")
            ),
        });
    }

    /// `voter` granted `candidate` its vote in `term`: counted when the
    /// candidate leads (see [`World::check_election_quorum`]).
    pub(crate) fn note_vote_granted(&mut self, term: Term, candidate: NodeId, voter: NodeId) {
        if self.checker.is_none() {
            return;
        }
        let earlier = self
            .oracles
            .votes
            .range((term, 0)..=(term, NodeId::MAX))
            .find(|((_, other), voters)| *other != candidate && voters.contains(&voter))
            .map(|((_, other), _)| *other);
        let voters = self.oracles.votes.entry((term, candidate)).or_default();
        if !voters.contains(&voter) {
            voters.push(voter);
        }
        // A node whose disk was wiped and that restarted under its old
        // identity (the amnesia fault) may vote again: Raft does not
        // survive that, and other checks report what follows.
        if let Some(other) = earlier.filter(|_| !self.host_ref(voter).disk_lost) {
            self.report(Violation {
                invariant: Invariant::OneVotePerTerm,
                nodes: vec![voter, other, candidate],
                index: None,
                term: Some(term),
                expected: format!(
                    "n{voter} to grant one vote at most in term {term}, crashes and restarts included (its vote is on its disk before it answers)"
                ),
                seen: format!("it granted n{other} and then n{candidate}"),
            });
        }
    }

    /// Node `leader` just became leader: the votes granted to it in its
    /// term must make a quorum of its configuration, itself a voter.
    pub(crate) fn check_election_quorum(&mut self, leader: NodeId) {
        if self.checker.is_none() {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let (term, conf) = (node.status().term, node.conf_state());
        let mut granted = self
            .oracles
            .votes
            .get(&(term, leader))
            .cloned()
            .unwrap_or_default();
        granted.push(leader);
        if conf.is_voter(leader) && quorum_of(&conf, &granted) {
            return;
        }
        granted.sort_unstable();
        granted.dedup();
        let names: Vec<String> = granted.iter().map(|v| format!("n{v}")).collect();
        self.report(Violation {
            invariant: Invariant::ElectionQuorum,
            nodes: vec![leader],
            index: None,
            term: Some(term),
            expected: format!(
                "n{leader} to lead term {term} only with the votes of a quorum of {}, itself a voter",
                crate::world::membership::describe_conf(&conf)
            ),
            seen: format!(
                "it leads with the votes of [{}] (itself counted){}",
                names.join(" "),
                if conf.is_voter(leader) { "" } else { ", and is no voter" }
            ),
        });
    }

    /// Leader `leader` hands out read index `index` now: an entry of its
    /// term must have committed.
    pub(crate) fn check_read_index(&mut self, leader: NodeId, index: Index) {
        if self.checker.is_none() {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let status = node.status();
        if status.role != Role::Leader {
            return;
        }
        // Below the first index held the term is the snapshot's: unknown
        // here, and never the leader's own (its first entry is after it).
        let term = node
            .log_entries_from(index)
            .first()
            .filter(|e| e.index == index)
            .map(|e| e.term);
        let Some(term) = term.filter(|&t| t != status.term) else {
            return;
        };
        self.report(Violation {
            invariant: Invariant::ReadIndexCurrentTerm,
            nodes: vec![leader],
            index: Some(index),
            term: Some(status.term),
            expected: format!(
                "leader {leader} of term {} to hand out a read index only once an entry of its term has committed",
                status.term
            ),
            seen: format!(
                "read index {index}, an entry of term {term} (its commit index {})",
                status.commit
            ),
        });
    }

    /// A vote granted or entries acknowledged leave now: what the answer
    /// promises must be on the sender's disk already.
    pub(crate) fn check_durable_answer(&mut self, message: &Message) {
        if self.checker.is_none() {
            return;
        }
        let disk = &self.host_ref(message.from).disk;
        let (promised, durable) = match message.body {
            MessageBody::RequestVoteResponse { granted: true } => {
                let hard = disk.durable_hard_state();
                let kept = hard.term > message.term
                    || (hard.term == message.term && hard.vote == Some(message.to));
                (
                    format!("its vote for n{} in term {}", message.to, message.term),
                    kept.then_some(()).ok_or_else(|| {
                        format!(
                            "its disk holds term {} vote {}",
                            hard.term,
                            hard.vote.map_or("none".to_string(), |v| format!("n{v}"))
                        )
                    }),
                )
            }
            MessageBody::AppendEntriesResponse {
                reject: false,
                index,
                ..
            } if disk.durable_hard_state().term <= message.term => {
                // An acknowledgement that leaves after its sender moved to a
                // newer term (one ready carries both) may name entries that
                // term's leader overwrote: harmless, as that leader's
                // election shows no quorum held them.
                let last = disk.durable_last_index();
                (
                    format!("its log up to index {index}"),
                    (last >= index)
                        .then_some(())
                        .ok_or_else(|| format!("its disk holds the log up to index {last}")),
                )
            }
            _ => return,
        };
        let Err(seen) = durable else {
            return;
        };
        self.report(Violation {
            invariant: Invariant::DurableAnswer,
            nodes: vec![message.from],
            index: None,
            term: Some(message.term),
            expected: format!(
                "n{} to answer n{} only once {promised} is on its disk",
                message.from, message.to
            ),
            seen: format!("the answer left while {seen}"),
        });
    }

    /// A vote or pre-vote grant leaves: some copy of the request it answers
    /// must have come when the vote lease let the voter grant it.
    pub(crate) fn check_vote_lease(&mut self, grant: &Message) {
        if self.checker.is_none() {
            return;
        }
        let pre = matches!(grant.body, MessageBody::PreVoteResponse { .. });
        let key = (grant.from, grant.to, grant.term, pre);
        if self.oracles.lease_requests.get(&key) != Some(&false) {
            return;
        }
        let kind = if pre { "pre-vote" } else { "vote" };
        self.report(Violation {
            invariant: Invariant::VoteLease,
            nodes: vec![grant.from, grant.to],
            index: None,
            term: Some(grant.term),
            expected: format!(
                "n{} to grant no {kind} of a higher term while it led or had heard from its leader within the election timeout (CheckQuorum's vote lease)",
                grant.from
            ),
            seen: format!(
                "it granted n{} its {kind} for term {}, asked while the lease held",
                grant.to, grant.term
            ),
        });
    }

    /// A pre-vote grant leaves: it promises the vote the voter would give
    /// (thesis §9.6), so some copy of the request must have come when the
    /// voter could vote for the candidate in that term; one that voted for
    /// another in it, or follows a leader of it, grants no pre-vote for it.
    pub(crate) fn check_pre_vote_promise(&mut self, grant: &Message) {
        if self.checker.is_none() || !matches!(grant.body, MessageBody::PreVoteResponse { .. }) {
            return;
        }
        let key = (grant.from, grant.to, grant.term);
        if self.oracles.pre_vote_could.get(&key) != Some(&false) {
            return;
        }
        self.report(Violation {
            invariant: Invariant::OneVotePerTerm,
            nodes: vec![grant.from, grant.to],
            index: None,
            term: Some(grant.term),
            expected: format!(
                "n{} to grant a pre-vote for term {} only if it could vote for n{} in that term",
                grant.from, grant.term, grant.to
            ),
            seen: "it granted it, though every copy came when it had voted for another in that term or followed a leader of it".to_owned(),
        });
    }

    /// A vote or pre-vote grant leaves: the candidate's log, as its
    /// request gave it, must be at least as up to date as the voter's when
    /// it handled the request (§5.4.1; PreVote asks the same, §9.6).
    pub(crate) fn check_vote_log(&mut self, grant: &Message) {
        if self.checker.is_none() {
            return;
        }
        let key = (grant.from, grant.to, grant.term);
        // The grant answers one of the requests handled (which, the message
        // does not say): a violation only if it could answer none.
        let Some(requests) = self.oracles.vote_requests.get(&key) else {
            return;
        };
        if requests.iter().any(|(asked, held)| asked >= held) {
            return;
        }
        let Some(&(candidate_log, voter_log)) = requests.iter().max() else {
            return;
        };
        let kind = match grant.body {
            MessageBody::PreVoteResponse { .. } => "pre-vote",
            _ => "vote",
        };
        self.report(Violation {
            invariant: Invariant::VoteLogCheck,
            nodes: vec![grant.from, grant.to],
            index: Some(voter_log.1),
            term: Some(grant.term),
            expected: format!(
                "n{} to grant its {kind} only to a candidate whose log is at least as up to date as its own (last entry term {}, index {})",
                grant.from, voter_log.0, voter_log.1
            ),
            seen: format!(
                "it granted n{} in term {}, whose log ends at term {}, index {}",
                grant.to, grant.term, candidate_log.0, candidate_log.1
            ),
        });
    }

    /// Leader `leader` took a proposal at `index`: judged if a quorum was
    /// caught up and calm.
    pub(crate) fn note_proposal(&mut self, leader: NodeId, index: Index) {
        if !self.oracles.on || self.checker.is_none() || index < 2 {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let status = node.status();
        let Some(previous_term) = node
            .log_entries_from(index - 1)
            .first()
            .filter(|e| e.index == index - 1)
            .map(|e| e.term)
        else {
            return;
        };
        let conf = node.conf_state();
        let caught_up = |world: &World, v: NodeId| {
            let host = world.host_ref(v);
            host.status()
                .is_some_and(|s| s.last_index == index - 1 && s.last_term == previous_term)
                && host.disk.durably_holds(index - 1, previous_term)
        };
        let quorum = self.calm_followers(leader, status.term, None, &conf, caught_up);
        if !quorum.contains(&leader) || !quorum_of(&conf, &quorum) {
            return;
        }
        self.oracles.obligations.push_back(Obligation {
            leader,
            term: status.term,
            index,
            proposed_us: self.now_us,
            quorum,
            conf,
        });
    }

    /// The voters of `leader`'s configuration that follow it in `term`,
    /// run unpaused and have had no fault on their links with `leader` (and
    /// with `also`, if named) for the settling time; `leader` itself if it
    /// had none either. `keep` may ask more of a follower.
    fn calm_followers(
        &self,
        leader: NodeId,
        term: Term,
        also: Option<NodeId>,
        conf: &ConfState,
        keep: impl Fn(&World, NodeId) -> bool,
    ) -> Vec<NodeId> {
        let now = self.now_us;
        let settled = |disturbed: u64| disturbed + self.oracles.bounds.settle_us <= now;
        voters_of(conf)
            .into_iter()
            .filter(|&v| {
                if v == leader {
                    return settled(self.oracles.node_disturbed_us[v as usize - 1]);
                }
                let follows = self
                    .host_ref(v)
                    .status()
                    .is_some_and(|s| s.term == term && s.leader == Some(leader));
                follows
                    && !self.is_paused(v)
                    && settled(self.oracles.disturbed_us(leader, v))
                    && also.is_none_or(|other| {
                        other == v || settled(self.oracles.disturbed_us(other, v))
                    })
                    && keep(self, v)
            })
            .collect()
    }

    /// Leader `leader`'s own host asked it for the read `context`: judged
    /// if a quorum followed it, calm.
    pub(crate) fn note_read(&mut self, leader: NodeId, context: u64) {
        if !self.oracles.on || self.checker.is_none() {
            return;
        }
        let Some(node) = self.host_ref(leader).node.as_ref() else {
            return;
        };
        let status = node.status();
        if status.role != Role::Leader {
            return;
        }
        let conf = node.conf_state();
        let commit_seen = committed_in_term(node, status.commit, status.term);
        let quorum = self.calm_followers(leader, status.term, None, &conf, |_, _| true);
        if !quorum.contains(&leader) || !quorum_of(&conf, &quorum) {
            return;
        }
        // A round the leader sent before the calm may be lost: the read then
        // waits for the next heartbeat's round. One sent since is confirmed
        // within a round trip, and the read's round follows at once.
        let calm_since = self.now_us - self.oracles.bounds.settle_us.min(self.now_us);
        let (rounds_term, rounds) = &self.oracles.rounds_sent[leader as usize - 1];
        let last_round_sent_us = rounds
            .back()
            .filter(|_| *rounds_term == status.term)
            .map(|r| r.1);
        // A configuration change remaps who must confirm the round in flight.
        let conf_settled = self.oracles.conf_changed[leader as usize - 1].1 < calm_since;
        let prompt =
            commit_seen && conf_settled && last_round_sent_us.is_none_or(|sent| sent >= calm_since);
        let bound = match prompt {
            true => self.oracles.bounds.read_prompt_us,
            false => self.oracles.bounds.read_us,
        };
        push_by_due(
            &mut self.oracles.reads,
            ReadObligation {
                commit_seen,
                prompt,
                leader,
                term: status.term,
                context,
                asked_us: self.now_us,
                due_us: self.now_us + bound,
                quorum,
                conf,
            },
        );
    }

    /// Leader `from` took up a transfer of its office to `to`: judged if
    /// `to` holds its whole log durably and a quorum followed it, calm.
    pub(crate) fn note_transfer(&mut self, from: NodeId, to: NodeId) {
        if !self.oracles.on || self.checker.is_none() {
            return;
        }
        let Some(node) = self.host_ref(from).node.as_ref() else {
            return;
        };
        let status = node.status();
        let conf = node.conf_state();
        if status.role != Role::Leader || !voters_of(&conf).contains(&to) {
            return;
        }
        // raft-core gives a transfer up after an election timeout of the
        // leader's ticks (etcd): judged only where the bound ends first.
        let gives_up_us = u64::from(self.host_ref(from).config.election_timeout_ticks_min)
            * self.oracles.bounds.fast_tick_us;
        if self.oracles.bounds.transfer_us >= gives_up_us {
            return;
        }
        // The transferee must also be able to obey TimeoutNow when it comes:
        // a voter in the configuration it applied, which is the leader's,
        // with no conf entry past what it applied (a node that may have a
        // committed conf change to apply does not campaign, as in etcd;
        // seed 28907321: a learner just promoted, its commit behind).
        let caught_up = |world: &World, v: NodeId| {
            v != to || {
                let host = world.host_ref(v);
                let may_campaign = host.node.as_ref().is_some_and(|node| {
                    let applied = node.status().applied;
                    node.conf_state() == conf
                        && !node
                            .log_entries_from(applied + 1)
                            .iter()
                            .any(|e| e.kind == raft_core::EntryKind::ConfChange)
                });
                may_campaign
                    && host.status().is_some_and(|s| {
                        s.last_index == status.last_index && s.last_term == status.last_term
                    })
                    && host.disk.durably_holds(status.last_index, status.last_term)
            }
        };
        let quorum = self.calm_followers(from, status.term, Some(to), &conf, caught_up);
        if !quorum.contains(&from) || !quorum.contains(&to) || !quorum_of(&conf, &quorum) {
            return;
        }
        self.oracles.transfer = Some(TransferObligation {
            from,
            to,
            term: status.term,
            asked_us: self.now_us,
            quorum,
            conf,
        });
    }

    /// Judges what is due before the event at `now_us` happens.
    pub(crate) fn judge_progress(&mut self) {
        if !self.oracles.on || self.checker.is_none() || self.outcome.is_some() {
            return;
        }
        let (now, bounds) = (self.now_us, self.oracles.bounds);
        while let Some(obligation) = pop_due(&mut self.oracles.obligations, now, |o| {
            o.proposed_us + bounds.commit_us
        }) {
            self.judge_commit(obligation);
        }
        while let Some(owed) = pop_due(&mut self.oracles.new_members, now, |n| {
            n.added_us + bounds.new_member_us
        }) {
            self.judge_new_member(owed);
        }
        while let Some(read) = pop_due(&mut self.oracles.reads, now, |r| r.due_us) {
            self.judge_read(read);
        }
        if self
            .oracles
            .transfer
            .as_ref()
            .is_some_and(|t| t.asked_us + self.oracles.bounds.transfer_us < self.now_us)
        {
            let transfer = self.oracles.transfer.take().expect("checked");
            self.judge_transfer(transfer);
        }
        if self.now_us >= self.oracles.next_election_check_us {
            // Once per shortest election timeout: the bound is a dozen of
            // them, so a leaderless stretch is seen at most one late.
            let every = u64::from(self.params.election_timeout_ticks_min) * self.params.tick_us;
            self.oracles.next_election_check_us = self.now_us + every;
            self.judge_election();
        }
    }

    fn judge_commit(&mut self, obligation: Obligation) {
        let Some(node) = self.host_ref(obligation.leader).node.as_ref() else {
            return;
        };
        let status = node.status();
        if status.role != Role::Leader
            || status.term != obligation.term
            || node.conf_state() != obligation.conf
        {
            return;
        }
        let calm_since = obligation.proposed_us - self.oracles.bounds.settle_us;
        if !self.calm_since(obligation.leader, None, &obligation.quorum, calm_since) {
            return;
        }
        if status.commit >= obligation.index {
            self.reached(Sometimes::CalmCommitJudged);
            return;
        }
        let quorum: Vec<String> = obligation.quorum.iter().map(|v| format!("n{v}")).collect();
        let bounds = self.oracles.bounds;
        self.report(Violation {
            invariant: Invariant::ProgressCommit,
            nodes: vec![obligation.leader],
            index: Some(obligation.index),
            term: Some(obligation.term),
            expected: format!(
                "the entry leader {} took at index {} at {} committed within {} (2 round trips of {} and 6 fsyncs of {}, plus 1 ms): [{}] held its log before it and no fault touched them or their links",
                obligation.leader,
                obligation.index,
                crate::world::format_time(obligation.proposed_us),
                crate::world::format_time(bounds.commit_us),
                crate::world::format_time(bounds.round_trip_us),
                crate::world::format_time(self.params.fsync_us_max),
                quorum.join(" ")
            ),
            seen: format!(
                "its commit index still {} at {}",
                status.commit,
                crate::world::format_time(self.now_us)
            ),
        });
    }

    /// Whether no fault touched `leader`, nor any of `quorum` or its links
    /// with `leader` (and with `also`), since `calm_since`.
    fn calm_since(
        &self,
        leader: NodeId,
        also: Option<NodeId>,
        quorum: &[NodeId],
        calm_since: u64,
    ) -> bool {
        let oracles = &self.oracles;
        oracles.node_disturbed_us[leader as usize - 1] <= calm_since
            && quorum.iter().all(|&v| {
                v == leader
                    || (oracles.disturbed_us(leader, v) <= calm_since
                        && also.is_none_or(|o| o == v || oracles.disturbed_us(o, v) <= calm_since))
            })
    }

    fn judge_read(&mut self, mut read: ReadObligation) {
        let Some(node) = self.host_ref(read.leader).node.as_ref() else {
            return;
        };
        let status = node.status();
        if status.role != Role::Leader || status.term != read.term || node.conf_state() != read.conf
        {
            return;
        }
        let calm_since = read.asked_us - self.oracles.bounds.settle_us.min(read.asked_us);
        if !self.calm_since(read.leader, None, &read.quorum, calm_since) {
            return;
        }
        // The bound counts the leader's heartbeat interval at the drift
        // bound: a skewed clock beats slower (seed 27573200).
        if self.host_ref(read.leader).skew_ppt.is_some()
            || self.oracles.clock_skewed_us[read.leader as usize - 1] > calm_since
        {
            return;
        }
        if !self
            .host_ref(read.leader)
            .pending_reads
            .contains_key(&read.context)
        {
            self.reached(Sometimes::CalmReadJudged);
            return;
        }
        let committed = committed_in_term(node, status.commit, read.term);
        if !committed || !read.commit_seen {
            // Reads wait for the leader's first commit (the commit oracle's
            // to judge); the bound runs from when it is first seen, which is
            // at or after it happened. Look again one bound later.
            read.commit_seen = committed;
            read.prompt = false;
            read.due_us = self.now_us + self.oracles.bounds.read_us;
            push_by_due(&mut self.oracles.reads, read);
            return;
        }
        let quorum: Vec<String> = read.quorum.iter().map(|v| format!("n{v}")).collect();
        let bounds = self.oracles.bounds;
        self.report(Violation {
            invariant: Invariant::ProgressRead,
            nodes: vec![read.leader],
            index: Some(status.commit),
            term: Some(read.term),
            expected: format!(
                "the read leader {} was asked at {} released within {} of its first commit in its term ({}2 round trips of {} and 6 fsyncs of {}, plus 1 ms): [{}] followed it and no fault touched them or their links",
                read.leader,
                crate::world::format_time(read.asked_us),
                crate::world::format_time(match read.prompt {
                    true => bounds.read_prompt_us,
                    false => bounds.read_us,
                }),
                match read.prompt {
                    true => "no round in flight from before the calm: ",
                    false => "a heartbeat interval, ",
                },
                crate::world::format_time(bounds.round_trip_us),
                crate::world::format_time(self.params.fsync_us_max),
                quorum.join(" ")
            ),
            seen: format!(
                "still waiting at {}, an entry of term {} committed (commit index {})",
                crate::world::format_time(self.now_us),
                read.term,
                status.commit
            ),
        });
    }

    fn judge_transfer(&mut self, transfer: TransferObligation) {
        let calm_since = transfer.asked_us - self.oracles.bounds.settle_us.min(transfer.asked_us);
        if !self.calm_since(
            transfer.from,
            Some(transfer.to),
            &transfer.quorum,
            calm_since,
        ) {
            return;
        }
        let to = self.host_ref(transfer.to).status();
        if to.is_some_and(|s| s.role == Role::Leader && s.term > transfer.term) {
            self.reached(Sometimes::CalmTransferJudged);
            return;
        }
        let Some(node) = self.host_ref(transfer.from).node.as_ref() else {
            return;
        };
        let status = node.status();
        // A transfer to another node replaced this one (etcd's rule): the
        // new one has its own clock (judged only if it started afresh).
        let superseded = status.lead_transferee.is_some_and(|to| to != transfer.to);
        if status.role != Role::Leader
            || status.term != transfer.term
            || node.conf_state() != transfer.conf
            || superseded
        {
            // It left office, but not to its transferee: not this oracle's to judge.
            return;
        }
        let quorum: Vec<String> = transfer.quorum.iter().map(|v| format!("n{v}")).collect();
        let bounds = self.oracles.bounds;
        self.report(Violation {
            invariant: Invariant::ProgressTransfer,
            nodes: vec![transfer.from, transfer.to],
            index: Some(status.last_index),
            term: Some(transfer.term),
            expected: format!(
                "n{} leading within {} (3 round trips of {} and 8 fsyncs of {}, plus 1 ms) of leader n{} taking up the transfer to it at {}: it held the leader's whole log on its disk, [{}] followed the leader and no fault touched them or their links",
                transfer.to,
                crate::world::format_time(bounds.transfer_us),
                crate::world::format_time(bounds.round_trip_us),
                crate::world::format_time(self.params.fsync_us_max),
                transfer.from,
                crate::world::format_time(transfer.asked_us),
                quorum.join(" ")
            ),
            seen: format!(
                "n{} still leads term {} at {}{}",
                transfer.from,
                transfer.term,
                crate::world::format_time(self.now_us),
                match status.lead_transferee {
                    Some(t) => format!(", still handing over to n{t}"),
                    None => ", the transfer given up".to_string(),
                }
            ),
        });
    }

    /// Node `id` applied a configuration whose members are `conf`'s: if it
    /// leads, each member it did not have before is owed an append.
    pub(crate) fn note_members(&mut self, id: NodeId, conf: &ConfState) {
        let mut members: Vec<NodeId> = voters_of(conf);
        members.extend(&conf.learners);
        members.sort_unstable();
        members.dedup();
        let before = self.oracles.members[id as usize - 1].replace(members.clone());
        if !self.oracles.on || self.checker.is_none() {
            return;
        }
        let Some(status) = self.host_ref(id).status() else {
            return;
        };
        let Some(before) = before else {
            // Who is new is unknown: a leader forgets what it knew of all.
            self.oracles.flow.conf_changed(id, None);
            return;
        };
        if status.role != Role::Leader {
            return;
        }
        for member in members {
            if member != id && !before.contains(&member) {
                let link = (id, member, status.term);
                // A member added anew is followed afresh (raft-core keeps
                // what it knew of the others).
                self.oracles.flow.conf_changed(id, Some(member));
                self.oracles
                    .flow
                    .expect_first_probe(link, status.last_index);
                self.oracles
                    .flow
                    .start_counting_beats(id, member, status.term);
                self.oracles.new_members.push_back(NewMember {
                    leader: id,
                    term: status.term,
                    member,
                    added_us: self.now_us,
                });
            }
        }
    }

    fn judge_new_member(&mut self, owed: NewMember) {
        let (leader, member) = (owed.leader, owed.member);
        // Strictly before: a fault in the very step the member was added
        // may have struck the append itself.
        let calm = self.oracles.disturbed_us(leader, member) < owed.added_us;
        let up = |world: &World, id: NodeId| world.host_ref(id).is_up() && !world.is_paused(id);
        let still_leads = self
            .host_ref(leader)
            .status()
            .is_some_and(|s| s.role == Role::Leader && s.term == owed.term);
        if !calm || !up(self, leader) || !up(self, member) || !still_leads {
            return;
        }
        let bound = self.oracles.bounds.new_member_us;
        self.report(Violation {
            invariant: Invariant::ProgressNewMember,
            nodes: vec![leader, member],
            index: None,
            term: Some(owed.term),
            expected: format!(
                "leader n{leader}, having applied at {} a configuration that adds n{member}, to send it entries or its snapshot within {} (2 fsyncs of {} and the longest delay, plus 1 ms)",
                crate::world::format_time(owed.added_us),
                crate::world::format_time(bound),
                crate::world::format_time(self.params.fsync_us_max)
            ),
            seen: format!("none reached it by {}", crate::world::format_time(self.now_us)),
        });
    }

    /// Leader `leader` took a message of its term from `from` (a read
    /// `from` forwarded, if `forwarded_read` names its context).
    pub(crate) fn note_heard(&mut self, leader: NodeId, from: NodeId, forwarded_read: Option<u64>) {
        let event = self.trace.events();
        let slot = self.oracles.pair(leader, from);
        self.oracles.heard[slot] = (event, self.now_us);
        if let Some(context) = forwarded_read {
            // Of copies (a duplicated forward), the first: the answer to
            // it may come before a later copy's round is confirmed.
            self.oracles
                .forwarded_reads
                .entry((leader, from, context))
                .or_insert((event, self.now_us));
        }
    }

    /// Leader `leader` answers the read `context` that `follower`
    /// forwarded: judged as a read of its own (see
    /// [`World::check_read_confirmed`]).
    pub(crate) fn check_forwarded_read_confirmed(
        &mut self,
        leader: NodeId,
        follower: NodeId,
        context: u64,
        via: ReadVia,
    ) {
        if let Some((asked_event, asked_us)) = self
            .oracles
            .forwarded_reads
            .remove(&(leader, follower, context))
        {
            self.check_read_confirmed(leader, (asked_event, asked_us), via);
        }
    }

    /// The host takes from leader `leader` a read it took up at `asked`
    /// (event, time). Confirmed by a round (§6.4 step 3), a quorum of its
    /// configuration must have answered it after the read arrived: each
    /// voter's answer to a round sent after it is a message taken after
    /// it. On a lease, a quorum must have answered within the lease before
    /// raft-core released the read, at some time from the ask to now (the
    /// host takes a released read with its next ready, which may wait
    /// behind an fsync or a pause): the lease runs from a round's sending,
    /// and the answers came after it. Necessary conditions only (a message
    /// is not told from an answer to the right round), so a correct leader
    /// never fails them.
    pub(crate) fn check_read_confirmed(&mut self, leader: NodeId, asked: (u64, u64), via: ReadVia) {
        let (asked_event, asked_us) = asked;
        if self.checker.is_none() {
            return;
        }
        let host = self.host_ref(leader);
        let Some(node) = host.node.as_ref() else {
            return;
        };
        if host.skew_ppt.is_some() {
            return; // Its clock is outside the bound a lease counts on.
        }
        let conf = node.conf_state();
        // Confirmed under one configuration and judged under another, a read
        // needs the overlap of their quorums, which this check does not
        // follow: a read whose window saw a change is not judged.
        let (changed_event, changed_us) = self.oracles.conf_changed[leader as usize - 1];
        let heard = |v: NodeId| self.oracles.heard[self.oracles.pair(leader, v)];
        let (holders, promise): (Vec<NodeId>, String) = match via {
            ReadVia::Quorum | ReadVia::QuorumLeaseExpired if changed_event >= asked_event => return,
            ReadVia::Quorum | ReadVia::QuorumLeaseExpired => (
                voters_of(&conf)
                    .into_iter()
                    .filter(|&v| v == leader || heard(v).0 > asked_event)
                    .collect(),
                "a quorum's answers to a heartbeat round sent after the read arrived".to_string(),
            ),
            ReadVia::Lease => {
                let config = &host.config;
                let lease_ticks =
                    u64::from(config.election_timeout_ticks_min - config.max_clock_drift_ticks);
                let window_us = (lease_ticks + 1) * self.oracles.bounds.slow_tick_us + 1_000;
                let since = asked_us.saturating_sub(window_us);
                if changed_us >= since && changed_event > 0 {
                    return;
                }
                (
                    voters_of(&conf)
                        .into_iter()
                        .filter(|&v| v == leader || heard(v).1 >= since)
                        .collect(),
                    format!(
                        "a lease: a quorum's answers within its {lease_ticks} ticks (at most {} here)",
                        crate::world::format_time(window_us)
                    ),
                )
            }
        };
        if quorum_of(&conf, &holders) {
            return;
        }
        let names: Vec<String> = holders.iter().map(|v| format!("n{v}")).collect();
        self.report(Violation {
            invariant: Invariant::ReadConfirmed,
            nodes: vec![leader],
            index: None,
            term: Some(node.status().term),
            expected: format!(
                "leader n{leader} to release a read only on {promise}, from a quorum of {}",
                crate::world::membership::describe_conf(&conf)
            ),
            seen: format!("it released one having heard only [{}]", names.join(" ")),
        });
    }

    /// Whether leader `leader`'s lease must hold now, by what the simulator
    /// saw: lease reads with CheckQuorum, no transfer under way, an entry
    /// of its term committed, its clock within the bound and undisturbed,
    /// no configuration change lately, and the round a quorum has answered
    /// sent recently enough that its lease, counted in the leader's
    /// fastest ticks less one for the tick boundary, has not run out.
    pub(crate) fn lease_must_hold(&self, leader: NodeId) -> bool {
        if !self.oracles.on || self.checker.is_none() {
            return false;
        }
        let host = self.host_ref(leader);
        let Some(node) = host.node.as_ref() else {
            return false;
        };
        let config = &host.config;
        let status = node.status();
        if config.read_only != raft_core::ReadOnlyOption::LeaseBased
            || !config.check_quorum
            || status.role != Role::Leader
            || status.lead_transferee.is_some()
            || host.skew_ppt.is_some()
            || !committed_in_term(node, status.commit, status.term)
        {
            return false;
        }
        let (term, rounds) = &self.oracles.rounds_sent[leader as usize - 1];
        let Some(&(last_round, _)) = rounds.back().filter(|_| *term == status.term) else {
            return false;
        };
        let conf = node.conf_state();
        let acked = |v: NodeId| {
            if v == leader {
                return last_round;
            }
            match self.oracles.round_acks[self.oracles.pair(leader, v)] {
                (t, round) if t == status.term => round,
                _ => 0,
            }
        };
        // The highest round a quorum answered: of each half, the
        // majority-th highest answer; the lower of the two halves.
        let confirmed_in = |voters: &[NodeId]| -> u64 {
            if voters.is_empty() {
                return u64::MAX;
            }
            let mut rounds: Vec<u64> = voters.iter().map(|&v| acked(v)).collect();
            rounds.sort_unstable_by(|a, b| b.cmp(a));
            rounds[voters.len() / 2]
        };
        let confirmed = confirmed_in(&conf.voters).min(confirmed_in(&conf.outgoing_voters));
        let Some(&(_, sent_us)) = rounds.iter().find(|&&(round, _)| round == confirmed) else {
            return false;
        };
        let lease_ticks =
            u64::from(config.election_timeout_ticks_min - config.max_clock_drift_ticks);
        let fast_tick_us = self.oracles.bounds.fast_tick_us;
        let (changed_event, changed_us) = self.oracles.conf_changed[leader as usize - 1];
        let calm_since = self.oracles.node_disturbed_us[leader as usize - 1];
        // The host sends a round's heartbeats with the ready raft-core made
        // them in, which may wait behind an fsync: raft-core's count of the
        // lease may start up to that much before `sent_us`.
        let ready_lag_us = 2 * self.params.fsync_us_max;
        lease_ticks > 2
            && self.now_us - sent_us + ready_lag_us < (lease_ticks - 2) * fast_tick_us
            && calm_since < sent_us
            && (changed_event == 0 || changed_us < sent_us)
    }

    /// Leader `leader` released a read on a round although its lease held
    /// when the read was asked (see [`World::lease_must_hold`]).
    pub(crate) fn report_lease_unused(&mut self, leader: NodeId, via: ReadVia) {
        self.report(Violation {
            invariant: Invariant::ReadLeaseUsed,
            nodes: vec![leader],
            index: None,
            term: self.host_ref(leader).status().map(|s| s.term),
            expected: format!(
                "leader n{leader} to serve the read on its lease: a quorum had answered a round it sent within the lease, with a tick to spare"
            ),
            seen: format!("it confirmed the read by {via:?} instead"),
        });
    }

    /// Node `id` answers a read confirmed at `index` while its state
    /// machine has applied only `applied` (§6.4 step 4 asks it to wait).
    pub(crate) fn check_read_after_apply(&mut self, id: NodeId, index: Index, applied: Index) {
        if self.checker.is_none() {
            return;
        }
        self.report(Violation {
            invariant: Invariant::ReadAfterApply,
            nodes: vec![id],
            index: Some(index),
            term: None,
            expected: format!(
                "n{id} to answer a read at read index {index} only once it applied that far"
            ),
            seen: format!("it answered with {applied} applied"),
        });
    }

    /// Node `id` acknowledged entries up to `index` to the leader of `term`.
    pub(crate) fn note_acked(&mut self, id: NodeId, term: Term, index: Index) {
        let acked = &mut self.oracles.acked[id as usize - 1];
        *acked = match *acked {
            (t, i) if t == term => (t, i.max(index)),
            _ => (term, index),
        };
    }

    /// What node `id` acknowledged to the leader of its term stays in its
    /// log while that term lasts: a leader never rewrites its own entries,
    /// so nothing of its term may take them away (a snapshot of its log
    /// keeps what follows it). Acknowledged entries are durable, so a
    /// restart keeps them too.
    pub(crate) fn check_acked_entries_kept(&mut self, id: NodeId) {
        if self.checker.is_none() {
            return;
        }
        let (term, index) = self.oracles.acked[id as usize - 1];
        let host = self.host_ref(id);
        let Some(status) = host.status() else {
            return;
        };
        if status.term != term || status.last_index >= index || host.disk_lost {
            return;
        }
        self.report(Violation {
            invariant: Invariant::AckedEntriesKept,
            nodes: vec![id],
            index: Some(index),
            term: Some(term),
            expected: format!(
                "n{id} to keep the entries up to {index} it acknowledged in term {term} while it stays in that term"
            ),
            seen: format!("its log ends at {} in term {term}", status.last_index),
        });
    }

    /// The election oracle: see the module documentation.
    fn judge_election(&mut self) {
        if !self.oracles.bounds.elections_timely {
            return;
        }
        let configuration = self.configuration().clone();
        // A node with its clock pushed past the drift bound may send but is
        // no member of a calm group: its timers are outside the bound.
        let sends = |world: &World, id: NodeId| world.host_ref(id).is_up() && !world.is_paused(id);
        let running =
            |world: &World, id: NodeId| sends(world, id) && world.host_ref(id).skew_ppt.is_none();
        let mut group: Vec<NodeId> = voters_of(&configuration);
        group.retain(|&v| running(self, v));
        // Drop the member with most cut links until every pair hears
        // each other (the highest id first among equals: deterministic).
        loop {
            let cuts = |a: NodeId| {
                group
                    .iter()
                    .filter(|&&b| {
                        b != a && (self.network.is_cut(a, b) || self.network.is_cut(b, a))
                    })
                    .count()
            };
            let Some((worst, count)) = group
                .iter()
                .map(|&a| (a, cuts(a)))
                .max_by_key(|&(a, count)| (count, a))
            else {
                break;
            };
            if count == 0 {
                break;
            }
            group.retain(|&a| a != worst);
        }
        let isolated = self.hosts.iter().all(|host| {
            let x = host.id();
            group.contains(&x)
                || !sends(self, x)
                || group.iter().all(|&g| self.network.is_cut(x, g))
        });
        let now = self.now_us;
        if group != self.oracles.group {
            self.oracles.group = group.clone();
            self.oracles.group_since_us = now;
            self.oracles.leaderless_since_us = None;
        }
        // Each member counts votes by the configuration it applied, which
        // may lag the newest one in force: the group must be a quorum of
        // every member's too, or Raft owes it no leader yet.
        let quorum_for_each = group.iter().all(|&m| {
            self.host_ref(m)
                .node
                .as_ref()
                .is_some_and(|node| quorum_of(&node.conf_state(), &group))
        });
        if !isolated || !quorum_of(&configuration, &group) || !quorum_for_each {
            self.oracles.group_since_us = now;
            self.oracles.leaderless_since_us = None;
            return;
        }
        let statuses: Vec<_> = group
            .iter()
            .filter_map(|&g| self.host_ref(g).status())
            .collect();
        let top_term = statuses.iter().map(|s| s.term).max().unwrap_or(0);
        let led = statuses
            .iter()
            .any(|s| s.role == Role::Leader && s.term == top_term);
        let leaderless_since = match self.oracles.leaderless_since_us {
            Some(since) => since,
            None if led => return,
            None => *self.oracles.leaderless_since_us.insert(now),
        };
        let mut calm_since = self.oracles.group_since_us.max(leaderless_since);
        for &a in &group {
            for &b in &group {
                calm_since = calm_since.max(self.oracles.disturbed_us(a, b));
            }
        }
        if led {
            // A calm leaderless stretch judged: a leader came within the bound.
            self.oracles.leaderless_since_us = None;
            if calm_since == leaderless_since {
                self.reached(Sometimes::CalmElectionJudged);
            }
            return;
        }
        let bound = self.oracles.bounds.election_us;
        if now.saturating_sub(calm_since) <= bound {
            return;
        }
        let members: Vec<String> = group.iter().map(|v| format!("n{v}")).collect();
        let roles: Vec<String> = statuses
            .iter()
            .map(|s| format!("n{} {:?} term {}", s.id, s.role, s.term))
            .collect();
        self.report(Violation {
            invariant: Invariant::ProgressLeader,
            nodes: group.clone(),
            index: None,
            term: Some(top_term),
            expected: format!(
                "a leader among [{}] (a quorum of {}, up, connected, cut off from every other node, no fault since {}) within {} ({} election timeouts with their vote rounds)",
                members.join(" "),
                crate::world::membership::describe_conf(&configuration),
                crate::world::format_time(calm_since),
                crate::world::format_time(bound),
                ELECTION_ROUNDS
            ),
            seen: format!(
                "none at {}: {}",
                crate::world::format_time(now),
                roles.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Oracles;
    use crate::world::params::{Params, RunOptions};

    fn fresh() -> Oracles {
        Oracles::new(&Params::draw(1, &RunOptions::default()), true)
    }

    /// Whether voter 1's grant to candidate 2 in term 5 would be judged
    /// permitted after the requests noted.
    fn permitted(oracles: &Oracles) -> Option<bool> {
        oracles.lease_requests.get(&(1, 2, 5, false)).copied()
    }

    #[test]
    fn the_vote_lease_holds_for_an_election_timeout_of_the_voters_ticks() {
        let mut oracles = fresh();
        // Never heard a leader: no lease.
        oracles.note_lease_request((1, 2, 5, false), true, 3, false);
        assert_eq!(permitted(&oracles), Some(true));
        let mut oracles = fresh();
        oracles.note_leader_contact(1, true);
        oracles.note_ticks(1, 2, false);
        oracles.note_lease_request((1, 2, 5, false), true, 3, false);
        assert_eq!(permitted(&oracles), Some(false), "2 ticks of 3: in lease");
        // A later copy, once the third tick passed, lets the grant through.
        oracles.note_ticks(1, 1, false);
        oracles.note_lease_request((1, 2, 5, false), true, 3, false);
        assert_eq!(permitted(&oracles), Some(true));
    }

    #[test]
    fn a_leader_holds_the_lease_and_loses_it_with_its_office() {
        let mut oracles = fresh();
        oracles.note_lease_request((1, 2, 5, false), true, 3, true);
        assert_eq!(permitted(&oracles), Some(false));
        // Its ticks as leader count for nothing; stepping down ends the lease.
        oracles.note_leader_contact(1, true);
        oracles.note_ticks(1, 10, true);
        assert_eq!(oracles.contact_ticks[0], Some(0));
        oracles.note_leader_contact(1, false);
        oracles.note_lease_request((1, 2, 5, false), true, 3, false);
        assert_eq!(permitted(&oracles), Some(true));
    }

    #[test]
    fn a_request_the_lease_does_not_apply_to_is_permitted() {
        // A transfer's, a request of the voter's own term, CheckQuorum off.
        let mut oracles = fresh();
        oracles.note_leader_contact(1, true);
        oracles.note_lease_request((1, 2, 5, false), false, 3, true);
        assert_eq!(permitted(&oracles), Some(true));
    }
}
