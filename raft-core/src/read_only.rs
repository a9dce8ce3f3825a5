//! Linearizable reads that write nothing to the log: ReadIndex (§6.4 of
//! Ongaro's thesis, etcd's `read_only.go`).
//!
//! The leader takes its commit index as the read index, then confirms it still
//! leads: a majority must acknowledge a heartbeat round sent after the read
//! arrived (or a later round). The read is then released as a [`ReadState`];
//! the host answers it once it has applied up to the read index. Reads that
//! arrive while a round is in flight wait for the next round, so one round
//! confirms a batch of reads. A follower forwards its reads to the leader
//! (`ReadIndex`), which answers with `ReadIndexResponse` once confirmed.
//!
//! A leader serves no read before an entry of its own term has committed: until
//! then its commit index may lag behind entries an earlier leader committed
//! (§6.4, step 1). Such reads are queued, not refused, and served when the
//! no-op entry the leader appends on election commits.
//!
//! Nothing here is retried: a read whose round, forward or answer is lost, or
//! whose leader loses its office, is never answered. The host times out and
//! asks again.
//!
//! Lease reads (`ReadOnlyOption::LeaseBased`, only with CheckQuorum): every
//! heartbeat is a round, and a round a majority acknowledged gives the leader a
//! lease from the tick it was SENT, counted in the leader's own ticks, for
//! `election_timeout_ticks_min - max_clock_drift_ticks` ticks. While the lease
//! holds a read is released at once; once it expired, a read falls back to a
//! round. Why it is safe: each voter of that majority received the heartbeat
//! after it was sent, and under CheckQuorum grants no vote (nor raises its
//! term for a vote request) until an election timeout of its own ticks has
//! passed since it last heard from the leader; a new leader needs a vote from
//! one of them, so none is elected before the lease ends, and the leader's
//! commit index stays the latest. The drift bound covers the follower's clock
//! running faster than the leader's (its election timeout can elapse in fewer
//! of the leader's ticks) and the up-to-one tick by which the two clocks'
//! tick boundaries are shifted: the lease is only as safe as that bound. Two
//! holes are closed here: a leadership transfer suspends the lease (its
//! transferee campaigns past the vote lease), and a node that starts keeps the
//! vote lease for an election timeout (it may have acknowledged a round
//! before it crashed and forgot it).

use std::collections::VecDeque;

use crate::config::{Bug, ReadOnlyOption};
use crate::quorum;
use crate::raft::{Raft, RoleState};
use crate::raw_node::{ReadIndexError, ReadState};
use crate::types::{Index, MessageBody, NodeId, ReadVia};

/// At most this many reads wait at a leader (for a commit of its term or for a
/// round); past it a local read is refused and a forwarded one dropped.
pub(crate) const MAX_PENDING_READS: usize = 4096;

/// At most this many unconfirmed rounds keep their send tick for the lease; the
/// oldest is forgotten first. Forgetting is safe: a confirmed round whose send
/// tick is forgotten lends the lease the send tick of an earlier round, or none.
const MAX_UNCONFIRMED_ROUNDS: usize = 1024;

/// Who asked for a read.
#[derive(Clone, Copy, Debug)]
struct ReadRequest {
    /// The host's context, handed back with the read state.
    context: u64,
    /// The follower that forwarded it; `None` for the leader's own host.
    from: Option<NodeId>,
}

/// A read with its index, waiting for a round to confirm it.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    request: ReadRequest,
    /// The leader's commit index when the read was taken up.
    index: Index,
    /// The first round sent after the read arrived: it, or any later round,
    /// acknowledged by a majority confirms the read.
    round: u64,
    /// How the read will have been confirmed.
    via: ReadVia,
}

/// A leader's reads and its heartbeat rounds. Rounds are numbered from 1 within
/// the leader's term; round numbers travel as the heartbeat's `context`.
#[derive(Debug)]
pub(crate) struct ReadOnly {
    /// Reads that arrived before an entry of the leader's term committed.
    waiting_for_commit: VecDeque<ReadRequest>,
    /// Reads waiting for their round, in arrival order.
    // Invariant: rounds never decrease along the queue, and every round is at
    // most last_sent_round + 1.
    pending: VecDeque<PendingRead>,
    /// The last round sent (0: none yet).
    last_sent_round: u64,
    /// The latest round each member acknowledged, indexed by member position
    /// (a learner's acknowledgements are kept but never counted).
    // Invariant: acked_rounds[self] == last_sent_round.
    acked_rounds: Vec<u64>,
    /// The latest round a majority acknowledged.
    // Invariant: confirmed_round <= last_sent_round, never decreases.
    confirmed_round: u64,
    /// The leader's ticks since it took office: the lease's clock.
    now_tick: u64,
    /// Rounds sent and not yet confirmed, with the tick each was sent at.
    // Invariant: rounds and ticks increasing; every round > confirmed_round.
    unconfirmed_rounds: VecDeque<(u64, u64)>,
    /// The tick at which the latest round a majority acknowledged was sent:
    /// where the lease starts (`None`: no round confirmed yet).
    lease_start_tick: Option<u64>,
}

impl ReadOnly {
    /// No reads and no rounds, for a new leader of `member_count` members.
    pub(crate) fn new(member_count: usize) -> ReadOnly {
        ReadOnly {
            waiting_for_commit: VecDeque::new(),
            pending: VecDeque::new(),
            last_sent_round: 0,
            acked_rounds: vec![0; member_count],
            confirmed_round: 0,
            now_tick: 0,
            unconfirmed_rounds: VecDeque::new(),
            lease_start_tick: None,
        }
    }

    /// One tick of the leader's clock.
    pub(crate) fn on_tick(&mut self) {
        self.now_tick += 1;
    }

    /// Notes that `round` leaves now.
    fn record_round_sent(&mut self, round: u64) {
        if self.unconfirmed_rounds.len() >= MAX_UNCONFIRMED_ROUNDS {
            self.unconfirmed_rounds.pop_front();
        }
        self.unconfirmed_rounds.push_back((round, self.now_tick));
    }

    /// A majority acknowledged `confirmed`: the lease starts at the send tick of
    /// the latest round up to it whose send tick is known.
    fn extend_lease(&mut self, confirmed: u64) {
        let mut start = None;
        while let Some(&(round, sent_tick)) = self.unconfirmed_rounds.front() {
            if round > confirmed {
                break;
            }
            start = Some(sent_tick);
            self.unconfirmed_rounds.pop_front();
        }
        if let Some(start) = start {
            assert!(
                start <= self.now_tick,
                "a round is sent before it is confirmed"
            );
            self.lease_start_tick = self.lease_start_tick.max(Some(start));
        }
    }

    /// The configuration changed: `remap` moves each member's latest
    /// acknowledged round to its new position.
    pub(crate) fn rebuild_acked_rounds(&mut self, remap: impl FnOnce(Vec<u64>) -> Vec<u64>) {
        self.acked_rounds = remap(std::mem::take(&mut self.acked_rounds));
    }

    /// How many reads wait, for a commit or for a round.
    fn waiting(&self) -> usize {
        self.waiting_for_commit.len() + self.pending.len()
    }

    /// Whether a read waits for a round that was not sent yet.
    fn needs_a_new_round(&self) -> bool {
        self.pending
            .back()
            .is_some_and(|read| read.round > self.last_sent_round)
    }
}

impl Raft {
    /// The host asks for a linearizable read: a leader takes it up, a follower
    /// forwards it to the leader it knows. Errors if no leader is known or the
    /// leader's queue is full; the host retries later.
    pub(crate) fn read_index(&mut self, context: u64) -> Result<(), ReadIndexError> {
        if self.is_leader() {
            return self.leader_read(ReadRequest {
                context,
                from: None,
            });
        }
        let Some(leader) = self.leader else {
            return Err(ReadIndexError::NoLeader);
        };
        self.send(leader, MessageBody::ReadIndex { context });
        Ok(())
    }

    /// Leader: a follower forwarded a read. Anyone else ignores it (the leader
    /// changed while it travelled), and so does a leader whose queue is full:
    /// the follower's host times out and retries.
    pub(crate) fn handle_read_index_request(&mut self, from: NodeId, context: u64) {
        if self.is_leader() {
            let _refused_when_full = self.leader_read(ReadRequest {
                context,
                from: Some(from),
            });
        }
    }

    /// Follower: the leader confirmed a read we forwarded: hand it to the host.
    pub(crate) fn handle_read_index_response(&mut self, index: Index, context: u64, via: ReadVia) {
        if self.is_leader() {
            return; // Only the leader of our term answers reads: not addressed to us.
        }
        self.read_states.push(ReadState {
            index,
            context,
            via,
        });
    }

    /// Leader: takes up a read, or queues it until an entry of its term commits.
    fn leader_read(&mut self, request: ReadRequest) -> Result<(), ReadIndexError> {
        // BUG(ReadIndexBeforeTermCommit): the commit index is taken as the read
        // index at once, though it may lag behind an earlier leader's commits.
        let committed_in_term = self.log.term(self.commit) == Some(self.term)
            || self.config.bugs.has(Bug::ReadIndexBeforeTermCommit);
        let RoleState::Leader { reads, .. } = &mut self.role else {
            unreachable!("only a leader takes up reads");
        };
        if reads.waiting() >= MAX_PENDING_READS {
            return Err(ReadIndexError::TooManyPendingReads);
        }
        if committed_in_term {
            self.take_up_read(request);
        } else {
            reads.waiting_for_commit.push_back(request);
        }
        Ok(())
    }

    /// Leader: the commit index moved; once it covers an entry of the leader's
    /// term, takes up the reads that waited for it. (It may move to an entry of
    /// an earlier term only with the planted bug `CommitOldTerm`.)
    pub(crate) fn serve_reads_waiting_for_commit(&mut self) {
        if self.log.term(self.commit) != Some(self.term) {
            return;
        }
        let RoleState::Leader { reads, .. } = &mut self.role else {
            return;
        };
        let waiting = std::mem::take(&mut reads.waiting_for_commit);
        for request in waiting {
            self.take_up_read(request);
        }
    }

    /// Leader, with an entry of its term committed: the read index is the commit
    /// index; the read waits for the next round, which starts now unless a round
    /// is in flight (its confirmation or the next heartbeat starts it).
    fn take_up_read(&mut self, request: ReadRequest) {
        let index = self.commit;
        if self.config.bugs.has(Bug::ReadIndexNoHeartbeat) {
            // BUG(ReadIndexNoHeartbeat): released without confirming leadership: a
            // deposed leader that does not know it yet serves a stale read.
            self.release_read(request, index, ReadVia::Quorum);
            return;
        }
        let via = match self.config.read_only {
            ReadOnlyOption::Safe => ReadVia::Quorum,
            ReadOnlyOption::LeaseBased if self.lease_holds() => {
                self.release_read(request, index, ReadVia::Lease);
                return;
            }
            ReadOnlyOption::LeaseBased => ReadVia::QuorumLeaseExpired,
        };
        let RoleState::Leader { reads, .. } = &mut self.role else {
            unreachable!("only a leader takes up reads");
        };
        reads.pending.push_back(PendingRead {
            request,
            index,
            round: reads.last_sent_round + 1,
            via,
        });
        if reads.last_sent_round == reads.confirmed_round {
            self.start_read_round();
        }
    }

    /// Leader: whether the lease holds now (see the module doc): a round a
    /// majority acknowledged was sent less than `election_timeout_ticks_min -
    /// max_clock_drift_ticks` ticks ago, and no leadership transfer is under way.
    fn lease_holds(&self) -> bool {
        let RoleState::Leader { reads, .. } = &self.role else {
            return false;
        };
        if self.config.bugs.has(Bug::LeaseWithoutCheckQuorum) {
            // BUG(LeaseWithoutCheckQuorum): the lease never expires while this node
            // believes it leads, and it never steps down for want of a quorum
            // (see `Raft::tick`), so a leader cut off from the others serves
            // stale reads until it hears of a higher term.
            return true;
        }
        if self.lead_transferee().is_some() {
            return false; // The transferee campaigns past the vote lease.
        }
        let drift_ticks = self.config.max_clock_drift_ticks;
        let lease_ticks = u64::from(self.config.election_timeout_ticks_min - drift_ticks);
        reads
            .lease_start_tick
            .is_some_and(|start| reads.now_tick < start + lease_ticks)
    }

    /// Leader: whether the periodic heartbeat should start a read round: reads
    /// are waiting (a round may have been lost, so each heartbeat retries), or
    /// lease reads keep the lease renewed.
    pub(crate) fn heartbeat_starts_a_read_round(&self) -> bool {
        match &self.role {
            RoleState::Leader { reads, .. } => {
                self.config.read_only == ReadOnlyOption::LeaseBased || !reads.pending.is_empty()
            }
            _ => false,
        }
    }

    /// Leader: sends the heartbeats of a new round; a single voter confirms it at once.
    pub(crate) fn start_read_round(&mut self) {
        let self_position = self.self_position;
        let RoleState::Leader { reads, .. } = &mut self.role else {
            unreachable!("only a leader starts read rounds");
        };
        reads.last_sent_round += 1;
        let round = reads.last_sent_round;
        reads.acked_rounds[self_position] = round;
        reads.record_round_sent(round);
        self.broadcast_heartbeat(round);
        self.confirm_read_rounds();
    }

    /// Leader: the member at `position` acknowledged round `round`.
    pub(crate) fn on_read_round_ack(&mut self, position: usize, round: u64) {
        let RoleState::Leader { reads, .. } = &mut self.role else {
            return;
        };
        if round > reads.last_sent_round {
            return; // No round of ours: ignore rather than confirm reads early.
        }
        let acked = &mut reads.acked_rounds[position];
        *acked = (*acked).max(round);
        self.confirm_read_rounds();
    }

    /// Leader: releases every read whose round (or a later one) a majority has
    /// acknowledged; starts the round that reads arrived since then wait for.
    fn confirm_read_rounds(&mut self) {
        let RoleState::Leader { reads, .. } = &mut self.role else {
            return;
        };
        let confirmed = quorum::joint_acknowledged_round(&self.membership, &reads.acked_rounds);
        if confirmed <= reads.confirmed_round {
            return;
        }
        assert!(confirmed <= reads.last_sent_round);
        reads.confirmed_round = confirmed;
        reads.extend_lease(confirmed);
        let mut released = Vec::new();
        while reads.pending.front().is_some_and(|r| r.round <= confirmed) {
            released.extend(reads.pending.pop_front());
        }
        let needs_a_new_round = reads.needs_a_new_round();
        for read in released {
            self.release_read(read.request, read.index, read.via);
        }
        if needs_a_new_round {
            self.start_read_round();
        }
    }

    /// Leader: a read is confirmed: to the host if it is ours, else to the follower.
    fn release_read(&mut self, request: ReadRequest, index: Index, via: ReadVia) {
        let context = request.context;
        match request.from {
            None => self.read_states.push(ReadState {
                index,
                context,
                via,
            }),
            Some(from) => self.send(
                from,
                MessageBody::ReadIndexResponse {
                    index,
                    context,
                    via,
                },
            ),
        }
    }
}
