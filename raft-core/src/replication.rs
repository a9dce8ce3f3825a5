//! Log replication (§5.3, §5.4.2): proposals, AppendEntries and heartbeats on the
//! leader's side, the consistency check and commit rules on the follower's side.

use bytes::Bytes;

use crate::conf_change::ConfChangeEntry;
use crate::config::Bug;
use crate::progress::ProgressState;
use crate::quorum;
use crate::raft::{Raft, RoleState};
use crate::raw_node::ProposeError;
use crate::types::{Entry, EntryKind, Index, MessageBody, NodeId, Term};

impl Raft {
    /// Appends a command to the leader's log and sends it to followers that can take it.
    pub(crate) fn propose(&mut self, data: Bytes) -> Result<Index, ProposeError> {
        if !self.is_leader() {
            return Err(ProposeError::NotLeader {
                leader_hint: self.leader,
            });
        }
        if let Some(to) = self.transfer_blocks_proposals() {
            return Err(ProposeError::TransferInProgress { to });
        }
        if self.removal_pending() {
            // Leaving office: see `conf_change` ("Removing the leader").
            return Err(ProposeError::NotLeader { leader_hint: None });
        }
        let index = self.log.last_index() + 1;
        self.log.append_one(Entry {
            term: self.term,
            index,
            kind: EntryKind::Normal,
            data,
        });
        self.broadcast_append(false);
        Ok(index)
    }

    /// Sends AppendEntries to every follower and learner that is not paused
    /// (even with no entries, to carry the commit index, if `allow_empty`).
    pub(crate) fn broadcast_append(&mut self, allow_empty: bool) {
        for position in 0..self.member_count() {
            if position != self.self_position {
                self.send_append(position, allow_empty);
            }
        }
    }

    /// Sends one AppendEntries to the member at `position` if its flow control
    /// allows, or the next chunk of the snapshot if it needs entries this
    /// leader compacted. Returns whether a message was sent.
    pub(crate) fn send_append(&mut self, position: usize, allow_empty: bool) -> bool {
        assert_ne!(position, self.self_position);
        let snapshot_index = self.log.snapshot_index();
        let RoleState::Leader { progress, .. } = &mut self.role else {
            return false;
        };
        let peer = &mut progress[position];
        if peer.is_paused() {
            return false;
        }
        // Never an entry below the first index: what the follower needs next
        // is in the snapshot.
        if peer.pending_snapshot().is_some() || peer.next_index <= snapshot_index {
            return self.send_snapshot_chunk(position);
        }
        let prev_log_index = peer.next_index - 1;
        let Some(prev_log_term) = self.log.term(prev_log_index) else {
            return false;
        };
        let last_index = self.log.last_index();
        let entries = self
            .log
            .slice(
                peer.next_index,
                last_index,
                self.config.max_entries_per_message,
            )
            .to_vec();
        if entries.is_empty() && !allow_empty {
            return false;
        }
        peer.on_append_sent(entries.last().map(|e| e.index));
        let to = self.membership.members()[position];
        let body = MessageBody::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit,
        };
        self.send(to, body);
        true
    }

    /// Leader: one tick of the heartbeat timer.
    pub(crate) fn tick_heartbeat(&mut self) {
        let interval = self.config.heartbeat_interval_ticks;
        let RoleState::Leader {
            heartbeat_elapsed_ticks,
            ..
        } = &mut self.role
        else {
            return;
        };
        *heartbeat_elapsed_ticks += 1;
        if *heartbeat_elapsed_ticks < interval {
            return;
        }
        *heartbeat_elapsed_ticks = 0;
        if self.heartbeat_starts_a_read_round() {
            self.start_read_round();
        } else {
            self.broadcast_heartbeat(0);
        }
    }

    /// Leader: sends a heartbeat of read round `context` (0: none) to every
    /// follower and learner (a learner's answer confirms no round: see `quorum`).
    pub(crate) fn broadcast_heartbeat(&mut self, context: u64) {
        // The full commit index: each follower bounds it by what it confirmed with us.
        let commit = self.commit;
        for position in 0..self.member_count() {
            if position != self.self_position {
                let to = self.membership.members()[position];
                self.send(to, MessageBody::Heartbeat { commit, context });
            }
        }
    }

    /// Follower: the consistency check on `(prev_log_index, prev_log_term)`, then append.
    pub(crate) fn handle_append_entries(
        &mut self,
        from: NodeId,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) {
        if prev_log_index < self.log.snapshot_index() {
            // The snapshot covers the consistency point: everything up to the
            // commit index is committed, so it matches any leader's log (etcd).
            let body = MessageBody::AppendEntriesResponse {
                reject: false,
                index: self.commit,
                reject_hint_index: 0,
                reject_hint_term: 0,
            };
            self.send(from, body);
            return;
        }
        let last_new_index = prev_log_index + entries.len() as Index;
        if !self.log.matches(prev_log_index, prev_log_term) {
            self.reject_append(from, prev_log_index, prev_log_term);
            return;
        }
        if self.config.bugs.has(Bug::TruncateWithoutConflict) {
            self.planted_truncate_without_conflict(prev_log_index, &entries);
        } else if let Some(conflict) = self.log.find_conflict(&entries) {
            // Invariant (Log Matching): entries before the first conflict match and stay.
            let skip = (conflict - (prev_log_index + 1)) as usize;
            self.log.truncate_and_append(&entries[skip..]);
        }
        assert!(
            self.log.last_index() >= last_new_index,
            "the log now holds every entry of the message"
        );
        self.leader_confirmed_index = self.leader_confirmed_index.max(last_new_index);
        // BUG(CommitPastLastNewEntry): commit is capped by the whole log, not by the last
        // entry this message vouched for, so a stale conflicting tail can be committed.
        let commit_bound = if self.config.bugs.has(Bug::CommitPastLastNewEntry) {
            self.log.last_index()
        } else {
            last_new_index
        };
        self.commit_to(leader_commit.min(commit_bound));
        let body = MessageBody::AppendEntriesResponse {
            reject: false,
            index: last_new_index,
            reject_hint_index: 0,
            reject_hint_term: 0,
        };
        self.send(from, body);
    }

    /// BUG(TruncateWithoutConflict): drops matching entries after prev_log_index, so a
    /// stale or reordered AppendEntries erases entries this node already acknowledged.
    fn planted_truncate_without_conflict(&mut self, prev_log_index: Index, entries: &[Entry]) {
        self.log.truncate_from(prev_log_index + 1);
        self.log.truncate_and_append(entries);
    }

    /// Follower: the consistency check failed; hint where the leader should probe
    /// next (etcd's `findConflictByTerm`): the last index whose term is at most
    /// `prev_log_term`, skipping a whole term per round trip.
    fn reject_append(&mut self, from: NodeId, prev_log_index: Index, prev_log_term: Term) {
        let probe_from = prev_log_index.min(self.log.last_index());
        let (hint_index, hint_term) = self.log.find_conflict_by_term(probe_from, prev_log_term);
        assert!(hint_index <= prev_log_index);
        let body = MessageBody::AppendEntriesResponse {
            reject: true,
            index: prev_log_index,
            reject_hint_index: hint_index,
            reject_hint_term: hint_term,
        };
        self.send(from, body);
    }

    /// Follower: a heartbeat is an AppendEntries with no entries whose consistency
    /// point is the last entry this node confirmed with the leader, so it commits
    /// `min(commit, that entry)`: the "index of last new entry" of the rule in §5.3.
    pub(crate) fn handle_heartbeat(&mut self, from: NodeId, commit: Index, context: u64) {
        let last_index = self.log.last_index();
        // BUG(CommitPastLastNewEntry): commit is capped by the whole log, so a stale
        // tail the leader never confirmed (and may have overwritten) gets committed.
        let bound = if self.config.bugs.has(Bug::CommitPastLastNewEntry) {
            last_index
        } else {
            self.leader_confirmed_index.min(last_index)
        };
        self.commit_to(commit.min(bound));
        self.send(from, MessageBody::HeartbeatResponse { context });
        if self.commit < commit.min(last_index) {
            // This node holds entries the leader's commit covers but has not confirmed
            // them with this leader (it restarted, or the leader is new): ask for a probe
            // by rejecting an AppendEntries just past its log, as a short log would.
            let body = MessageBody::AppendEntriesResponse {
                reject: true,
                index: last_index + 1,
                reject_hint_index: last_index,
                reject_hint_term: self.log.last_term(),
            };
            self.send(from, body);
        }
    }

    /// Moves the commit index forward to `index` (never backwards).
    fn commit_to(&mut self, index: Index) {
        self.commit = self.commit.max(index);
    }

    /// Leader: a follower answered an AppendEntries of this term.
    pub(crate) fn handle_append_response(
        &mut self,
        from: NodeId,
        reject: bool,
        index: Index,
        hint_index: Index,
        hint_term: Term,
    ) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let RoleState::Leader { recent_active, .. } = &mut self.role else {
            return;
        };
        recent_active[position] = true;
        if reject {
            self.handle_append_rejection(position, index, hint_index, hint_term);
        } else {
            self.handle_append_ack(position, index);
        }
    }

    fn handle_append_rejection(
        &mut self,
        position: usize,
        rejected: Index,
        hint_index: Index,
        hint_term: Term,
    ) {
        // Skip every leader entry of a term above the follower's hint term: none can match.
        let next_probe = if hint_term > 0 {
            self.log.find_conflict_by_term(hint_index, hint_term).0
        } else {
            hint_index.min(self.log.last_index())
        };
        let RoleState::Leader { progress, .. } = &mut self.role else {
            return;
        };
        let peer = &mut progress[position];
        if peer.maybe_decrease_to(rejected, next_probe) {
            if peer.state == ProgressState::Replicate {
                peer.become_probe();
            }
            self.send_append(position, true);
        }
    }

    /// Leader: the member at `position` holds our log up to `index` (an
    /// AppendEntries or a snapshot transfer acknowledged).
    pub(crate) fn handle_append_ack(&mut self, position: usize, index: Index) {
        if index > self.log.last_index() {
            return; // Acknowledges entries this leader never had: not ours, ignore.
        }
        let snapshot_index = self.log.snapshot_index();
        let RoleState::Leader { progress, .. } = &mut self.role else {
            return;
        };
        let peer = &mut progress[position];
        let updated = peer.maybe_update(index);
        match peer.state {
            // A probe answered at the match index already known confirms it
            // too (etcd: `pr.Match == m.Index && pr.State == StateProbe`):
            // without this, a follower probed after its last acknowledgement
            // stays probed, and new entries reach it only on heartbeats.
            ProgressState::Probe { .. } if updated || peer.match_index == index => {
                peer.become_replicate()
            }
            // It holds what the snapshot covers (the snapshot was installed, or
            // not needed after all): the match index is exact, pipeline.
            ProgressState::Snapshot { .. } if peer.match_index >= snapshot_index => {
                peer.become_replicate()
            }
            _ => {}
        }
        if self.maybe_commit() {
            self.broadcast_append(true);
            self.serve_reads_waiting_for_commit();
        }
        // Fill the window; each send either pauses the peer or uses a slot.
        for _ in 0..self.config.max_inflight_messages {
            if !self.send_append(position, false) {
                break;
            }
        }
        self.maybe_send_timeout_now(position);
        self.maybe_hand_over_on_removal();
    }

    /// Leader: a follower answered a heartbeat; resume a paused probe and catch
    /// up a lagging follower; count its acknowledgement of a read round.
    pub(crate) fn handle_heartbeat_response(&mut self, from: NodeId, context: u64) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let last_index = self.log.last_index();
        let RoleState::Leader {
            progress,
            recent_active,
            ..
        } = &mut self.role
        else {
            return;
        };
        recent_active[position] = true;
        let peer = &mut progress[position];
        peer.on_heartbeat_response();
        // A probed follower is probed again (etcd), which also confirms its log
        // with this leader so that heartbeats can move its commit index.
        let probing = matches!(peer.state, ProgressState::Probe { .. });
        if peer.match_index < last_index || probing {
            self.send_append(position, true);
        }
        if context != 0 {
            self.on_read_round_ack(position, context);
        }
    }

    /// Leader: the host made the log durable up to `log.persisted()`: update our own
    /// match index, and commit what a majority now holds.
    pub(crate) fn on_persisted(&mut self) {
        let persisted = self.log.persisted();
        let self_position = self.self_position;
        let RoleState::Leader { progress, .. } = &mut self.role else {
            return;
        };
        progress[self_position].maybe_update(persisted);
        if self.maybe_commit() {
            self.broadcast_append(true);
            self.serve_reads_waiting_for_commit();
        }
    }

    /// Leader: commits the largest index a majority holds (of each voter set,
    /// in a joint configuration; learners never count), if it is of the current
    /// term (§5.4.2). Returns whether the commit index moved.
    fn maybe_commit(&mut self) -> bool {
        let RoleState::Leader { progress, .. } = &self.role else {
            return false;
        };
        let mut matches = std::mem::take(&mut self.match_scratch);
        matches.clear();
        matches.extend(progress.iter().map(|p| p.match_index));
        // BUG(LearnerInQuorum): the commit index is the majority of every
        // member's match index, the learners' included (progress covers them).
        let index = if self.config.bugs.has(Bug::LearnerInQuorum) {
            quorum::committed_index(&matches)
        } else {
            quorum::joint_committed_index(&self.membership, &matches)
        };
        self.match_scratch = matches;
        if index <= self.commit {
            return false;
        }
        let of_current_term = self.log.term(index) == Some(self.term);
        // BUG(CommitOldTerm): counting replicas of an entry of an earlier term (Figure 8):
        // a later leader that never saw it can still overwrite it.
        if !of_current_term && !self.config.bugs.has(Bug::CommitOldTerm) {
            return false;
        }
        assert!(
            index <= self.log.last_index(),
            "a majority holds only entries the leader has"
        );
        self.commit = index;
        true
    }
}

/// Whether `entries` can follow `(prev_log_index, prev_log_term)` in the log
/// of a leader of `term`: consecutive indexes, terms not decreasing, none
/// above `term`, no index past `u64::MAX`, and every conf entry one that
/// decodes to a valid configuration (it would take effect once applied).
pub(crate) fn is_well_formed_append(
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    entries: &[Entry],
) -> bool {
    let fits = prev_log_index
        .checked_add(entries.len() as Index + 1)
        .is_some();
    if !fits || prev_log_term > term {
        return false;
    }
    let mut previous = (prev_log_index, prev_log_term);
    entries.iter().all(|e| {
        let follows = e.index == previous.0 + 1 && e.term >= previous.1 && e.term <= term;
        previous = (e.index, e.term);
        follows && (e.kind != EntryKind::ConfChange || ConfChangeEntry::decode(&e.data).is_ok())
    })
}
