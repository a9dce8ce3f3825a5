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

use std::collections::VecDeque;

use crate::config::Bug;
use crate::quorum;
use crate::raft::{Raft, RoleState};
use crate::raw_node::{ReadIndexError, ReadState};
use crate::types::{Index, MessageBody, NodeId, ReadVia};

/// At most this many reads wait at a leader (for a commit of its term or for a
/// round); past it a local read is refused and a forwarded one dropped.
pub(crate) const MAX_PENDING_READS: usize = 4096;

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
    /// The latest round each voter acknowledged, indexed by voter position.
    // Invariant: acked_rounds[self] == last_sent_round.
    acked_rounds: Vec<u64>,
    /// The latest round a majority acknowledged.
    // Invariant: confirmed_round <= last_sent_round, never decreases.
    confirmed_round: u64,
}

impl ReadOnly {
    /// No reads and no rounds, for a new leader of `voter_count` voters.
    pub(crate) fn new(voter_count: usize) -> ReadOnly {
        ReadOnly {
            waiting_for_commit: VecDeque::new(),
            pending: VecDeque::new(),
            last_sent_round: 0,
            acked_rounds: vec![0; voter_count],
            confirmed_round: 0,
        }
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
        let committed_in_term = self.log.term(self.commit) == Some(self.term);
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
        let RoleState::Leader { reads, .. } = &mut self.role else {
            unreachable!("only a leader takes up reads");
        };
        reads.pending.push_back(PendingRead {
            request,
            index,
            round: reads.last_sent_round + 1,
            via: ReadVia::Quorum,
        });
        if reads.last_sent_round == reads.confirmed_round {
            self.start_read_round();
        }
    }

    /// Leader: whether the periodic heartbeat should start a read round: reads
    /// are waiting (a round may have been lost, so each heartbeat retries).
    pub(crate) fn heartbeat_starts_a_read_round(&self) -> bool {
        match &self.role {
            RoleState::Leader { reads, .. } => !reads.pending.is_empty(),
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
        self.broadcast_heartbeat(round);
        self.confirm_read_rounds();
    }

    /// Leader: the voter at `position` acknowledged round `round`.
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
        let confirmed = quorum::acknowledged_round(&reads.acked_rounds);
        if confirmed <= reads.confirmed_round {
            return;
        }
        assert!(confirmed <= reads.last_sent_round);
        reads.confirmed_round = confirmed;
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
