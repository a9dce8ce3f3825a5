//! Snapshots and log compaction (§7 of the Raft paper; etcd's snapshot path).
//!
//! Owns the node's snapshot (the latest one it compacted to, installed or
//! restored), the snapshot a follower is receiving chunk by chunk, and the
//! snapshot waiting to be handed to the host in a `Ready`.
//!
//! **Compaction.** The host snapshots its state machine at its applied index
//! and calls `RawNode::compact(applied, data)`. The node records the snapshot
//! (the term of the entry at that index, and its current configuration, which
//! is the one in force at the applied index: hence compaction exactly at the
//! applied index, see [`CompactError::NotAtApplied`]) and drops the entries up
//! to it from memory. The host must have made the snapshot durable before it
//! calls `compact` (the node may send it to a follower at once), and may drop
//! its durable entries up to the index afterwards.
//!
//! **Sending (leader).** A follower whose next entry is at or below the
//! leader's snapshot index is moved to `Snapshot { pending_index }` and sent
//! the snapshot in chunks of `Config::snapshot_chunk_bytes`, one chunk in
//! flight at a time. Each chunk's answer carries the bytes the follower holds
//! (`next_offset`); the next chunk starts there. A lost chunk or answer is
//! resent, from the follower's last confirmed offset (resumed, not restarted),
//! when a heartbeat response comes back: no timer of its own. If the leader
//! compacts again meanwhile, the transfer restarts with the newer snapshot.
//!
//! **Receiving (follower).** Chunks are accumulated in order, keyed by the
//! leader's term and the snapshot's `(index, term)`; a chunk that does not start
//! where the held data ends is not written (the answer says where it should
//! have started), and a chunk of another key discards what was held. A
//! snapshot not newer than the follower's commit index is not needed (a
//! snapshot never moves commit or applied backwards): the follower answers at
//! once that its log matches the leader's up to its commit index. When the last
//! chunk arrives:
//! - if the log holds the snapshot's last entry (same index and term), it holds
//!   every entry the snapshot covers (Log Matching): the follower keeps its log,
//!   entries after the snapshot included, and only commits up to the snapshot's
//!   index; the entries are applied as usual and the host gets no snapshot (as
//!   etcd's `restore` declining a snapshot whose last entry it holds);
//! - otherwise it installs the snapshot: the log is replaced by the snapshot,
//!   commit moves up to its index, the membership becomes its `ConfState`, and
//!   the next `Ready` carries it in `Ready::snapshot`.
//!
//! Either way the answer that tells the leader the new match index goes out in
//! `persisted_messages`: after the snapshot (or the entries it vouches for) are
//! durable.

use bytes::Bytes;

use crate::config::Bug;
use crate::raft::{Raft, RoleState};
use crate::types::{Index, MessageBody, NodeId, Snapshot, SnapshotChunk, SnapshotMeta, Term};

/// Why [`crate::RawNode::compact`] refused to compact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// This node knows no configuration yet (it joined and applied no conf
    /// entry), so it cannot say which one is in force at `index`.
    #[error("no configuration known yet to snapshot at index {index}")]
    NoConfiguration {
        /// The index asked for.
        index: Index,
    },
    /// The log no longer holds `index` as committed and durable (only a
    /// planted bug truncates entries the host applied).
    #[error("the log no longer holds index {index} committed and durable")]
    NotHeld {
        /// The index asked for.
        index: Index,
    },
    /// The log is already compacted at or past `index`.
    #[error("the log is already compacted to {snapshot_index}, at or past {index}")]
    AlreadyCompacted {
        /// The index asked for.
        index: Index,
        /// The index of the node's snapshot.
        snapshot_index: Index,
    },
    /// The host has not applied `index` yet: its state machine cannot have
    /// been snapshotted there.
    #[error("index {index} is not applied yet (applied: {applied})")]
    NotApplied {
        /// The index asked for.
        index: Index,
        /// The node's applied index.
        applied: Index,
    },
    /// The host applied past `index`. The node knows only its current
    /// configuration, the one in force at the applied index, not the one at
    /// `index`; snapshot the state machine at the applied index instead.
    #[error("compaction must be at the applied index {applied}, not {index}")]
    NotAtApplied {
        /// The index asked for.
        index: Index,
        /// The node's applied index.
        applied: Index,
    },
}

/// A snapshot being received, chunk by chunk.
#[derive(Debug)]
struct IncomingSnapshot {
    /// The term of the leader sending it.
    leader_term: Term,
    /// What it covers.
    meta: SnapshotMeta,
    /// The data received so far.
    // Invariant: contiguous from offset 0 (unless a planted bug writes chunks anywhere).
    data: Vec<u8>,
}

/// The node's snapshots: its own, one being received, one for the host.
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    /// The node's latest snapshot: compacted to, installed, or restored. A
    /// leader sends it to followers behind its first index.
    // Invariant: Some iff the log's snapshot index > 0, with the same index.
    current: Option<Snapshot>,
    /// A follower's partly received snapshot.
    incoming: Option<IncomingSnapshot>,
    /// Installed from a leader and not yet handed to the host in a `Ready`.
    for_host: Option<Snapshot>,
    /// Installed or restored and not yet reported to the observer.
    for_observer: Option<SnapshotMeta>,
}

impl Snapshots {
    /// The snapshots of a node that starts with `restored` (reported to the
    /// observer as a restore).
    pub(crate) fn restored(restored: Option<Snapshot>) -> Snapshots {
        Snapshots {
            for_observer: restored.as_ref().map(|s| s.meta.clone()),
            current: restored,
            incoming: None,
            for_host: None,
        }
    }

    /// The node's latest snapshot's description.
    pub(crate) fn current_meta(&self) -> Option<&SnapshotMeta> {
        self.current.as_ref().map(|s| &s.meta)
    }

    /// Whether a snapshot waits to be handed to the host.
    pub(crate) fn has_for_host(&self) -> bool {
        self.for_host.is_some()
    }

    /// The snapshot to hand to the host in the next `Ready`, taken.
    pub(crate) fn take_for_host(&mut self) -> Option<Snapshot> {
        self.for_host.take()
    }

    /// The snapshot installed or restored since the last call, taken.
    pub(crate) fn take_for_observer(&mut self) -> Option<SnapshotMeta> {
        self.for_observer.take()
    }
}

/// Whether `meta` could come from a leader of `term`: a real index, a term
/// not above the leader's, a configuration a node can be built from.
pub(crate) fn is_well_formed(meta: &SnapshotMeta, term: Term) -> bool {
    let conf = &meta.conf_state;
    let sorted_unique = |ids: &[NodeId]| ids.windows(2).all(|w| w[0] < w[1]);
    meta.index > 0
        && meta.term > 0
        && meta.term <= term
        && !conf.voters.is_empty()
        && sorted_unique(&conf.voters)
        && sorted_unique(&conf.outgoing_voters)
        && sorted_unique(&conf.learners)
        && !conf.is_voter(0)
        && !conf.learners.contains(&0)
        && conf.learners.iter().all(|l| !conf.is_voter(*l))
}

impl Raft {
    /// Host: the state machine was snapshotted at `index` (the applied index
    /// `applied`) as `data`. Records the snapshot and drops the entries it covers.
    pub(crate) fn compact(
        &mut self,
        index: Index,
        applied: Index,
        data: Bytes,
    ) -> Result<(), CompactError> {
        let snapshot_index = self.log.snapshot_index();
        if index <= snapshot_index {
            return Err(CompactError::AlreadyCompacted {
                index,
                snapshot_index,
            });
        }
        if index > applied {
            return Err(CompactError::NotApplied { index, applied });
        }
        if index < applied {
            return Err(CompactError::NotAtApplied { index, applied });
        }
        let conf_state = self.membership.conf_state();
        if conf_state.voters.is_empty() {
            // A joining node that has not applied a conf entry yet does not
            // know the configuration at `index`: a snapshot of its empty one
            // would, sent on once it leads, be refused by every follower.
            return Err(CompactError::NoConfiguration { index });
        }
        // Applied entries are committed and durable; only a planted bug
        // (one that truncates what it applied) breaks that.
        let term = self
            .log
            .term(index)
            .filter(|_| index <= self.commit && index <= self.log.persisted());
        let Some(term) = term else {
            return Err(CompactError::NotHeld { index });
        };
        self.log.compact_to(index);
        let meta = SnapshotMeta {
            index,
            term,
            conf_state,
        };
        self.snapshots.current = Some(Snapshot { meta, data });
        assert_eq!(self.log.snapshot_index(), index);
        Ok(())
    }

    /// Leader: sends the next chunk of its snapshot to the member at
    /// `position`, whose next entry it no longer holds, moving it to Snapshot
    /// state first (or restarting the transfer if a newer snapshot replaced
    /// the one under way). Returns whether a chunk was sent.
    pub(crate) fn send_snapshot_chunk(&mut self, position: usize) -> bool {
        let chunk_bytes = self.config.snapshot_chunk_bytes as u64;
        let snapshot = self
            .snapshots
            .current
            .as_ref()
            .expect("a compacted log has a snapshot");
        let RoleState::Leader { progress, .. } = &mut self.role else {
            return false;
        };
        let peer = &mut progress[position];
        if peer.is_paused() {
            return false;
        }
        if peer.pending_snapshot() != Some(snapshot.meta.index) {
            peer.become_snapshot(snapshot.meta.index);
        }
        let length = snapshot.data.len() as u64;
        let start = peer
            .snapshot_offset()
            .expect("in Snapshot state")
            .min(length);
        let end = start.saturating_add(chunk_bytes).min(length);
        peer.on_snapshot_chunk_sent();
        let body = MessageBody::InstallSnapshot(Box::new(SnapshotChunk {
            meta: snapshot.meta.clone(),
            offset: start,
            data: snapshot.data.slice(start as usize..end as usize),
            done: end == length,
        }));
        let to = self.membership.members()[position];
        self.send(to, body);
        true
    }

    /// Follower: one chunk of the leader's snapshot.
    pub(crate) fn handle_install_snapshot(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Bytes,
        done: bool,
    ) {
        // BUG(SnapshotRegressesCommit): a snapshot not newer than the commit
        // index is installed anyway, moving commit and applied back.
        let stale = meta.index <= self.commit;
        if stale && !self.config.bugs.has(Bug::SnapshotRegressesCommit) {
            // The log already matches the leader's up to the commit index.
            self.snapshots.incoming = None;
            self.answer_snapshot_done(from, self.commit);
            return;
        }
        let index = meta.index;
        let Some(snapshot) = self.receive_chunk(meta, offset, data, done) else {
            let next_offset = self.snapshots.incoming.as_ref().map_or(0, |i| i.data.len());
            let body = MessageBody::InstallSnapshotResponse {
                index,
                next_offset: next_offset as u64,
                done: false,
            };
            self.send(from, body);
            return;
        };
        self.restore(snapshot, stale);
        self.answer_snapshot_done(from, index);
    }

    /// Tells the leader the transfer is over and the log matches its own up to
    /// `index`; the answer leaves once what it vouches for is durable.
    fn answer_snapshot_done(&mut self, to: NodeId, index: Index) {
        let body = MessageBody::InstallSnapshotResponse {
            index,
            next_offset: 0,
            done: true,
        };
        self.send(to, body);
    }

    /// Writes one chunk into the snapshot being received. Returns the whole
    /// snapshot once its last chunk is in.
    fn receive_chunk(
        &mut self,
        meta: SnapshotMeta,
        offset: u64,
        data: Bytes,
        done: bool,
    ) -> Option<Snapshot> {
        let term = self.term;
        let same = |i: &IncomingSnapshot| i.leader_term == term && i.meta == meta;
        if !self.snapshots.incoming.as_ref().is_some_and(same) {
            // Another transfer (or none): what was held is of no use.
            self.snapshots.incoming = (offset == 0).then(|| IncomingSnapshot {
                leader_term: term,
                meta,
                data: Vec::new(),
            });
        }
        let ignores_offset = self.config.bugs.has(Bug::SnapshotChunkIgnoresOffset);
        let incoming = self.snapshots.incoming.as_mut()?;
        let held = incoming.data.len() as u64;
        // BUG(SnapshotChunkIgnoresOffset): every chunk is appended, so one
        // re-sent after a lost answer is written twice.
        if offset != held && !ignores_offset {
            return None; // A duplicate, a late chunk or a gap: the answer says where to go on.
        }
        incoming.data.extend_from_slice(&data);
        if !done {
            return None;
        }
        let incoming = self.snapshots.incoming.take().expect("held above");
        Some(Snapshot {
            meta: incoming.meta,
            data: Bytes::from(incoming.data),
        })
    }

    /// Follower: the whole snapshot arrived and is newer than the commit index
    /// (unless `stale`, which only a planted bug lets through).
    fn restore(&mut self, snapshot: Snapshot, stale: bool) {
        let SnapshotMeta { index, term, .. } = snapshot.meta;
        assert!(
            !stale || self.config.bugs.has(Bug::SnapshotRegressesCommit),
            "a snapshot never moves commit back"
        );
        // BUG(SnapshotDropsNewerEntries): the log is replaced even when it
        // holds the snapshot's last entry, losing acknowledged entries after it.
        let keeps_log = !stale
            && self.log.matches(index, term)
            && !self.config.bugs.has(Bug::SnapshotDropsNewerEntries);
        self.leader_confirmed_index = self.leader_confirmed_index.max(index);
        if keeps_log {
            // Log Matching: the log holds every entry the snapshot covers.
            self.commit = self.commit.max(index);
            return;
        }
        self.log.restore_snapshot(index, term);
        self.leader_confirmed_index = index;
        // BUG(SnapshotRegressesCommit): with a stale snapshot this moves commit back.
        self.commit = if stale { index } else { self.commit.max(index) };
        self.apply_conf_state(&snapshot.meta.conf_state);
        self.snapshots.for_observer = Some(snapshot.meta.clone());
        self.snapshots.for_host = Some(snapshot.clone());
        self.snapshots.current = Some(snapshot);
        assert!(self.commit >= index && self.log.last_index() == index);
    }

    /// Leader: a follower answered a chunk of the snapshot under way.
    pub(crate) fn handle_install_snapshot_response(
        &mut self,
        from: NodeId,
        index: Index,
        next_offset: u64,
        done: bool,
    ) {
        let Some(position) = self.position_of(from) else {
            return;
        };
        let RoleState::Leader {
            progress,
            recent_active,
            ..
        } = &mut self.role
        else {
            return;
        };
        recent_active[position] = true;
        if done {
            // Its log matches ours up to `index`: an acknowledgement like
            // AppendEntries', which also ends the Snapshot state.
            self.handle_append_ack(position, index);
        } else if progress[position].on_snapshot_chunk_ack(index, next_offset) {
            self.send_snapshot_chunk(position);
        }
    }
}
