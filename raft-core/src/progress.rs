//! What a leader knows of each follower's log: next/match indexes and flow control.
//!
//! A follower is probed (one AppendEntries at a time, until the leader finds
//! where their logs agree), replicated to (AppendEntries pipelined, at most a
//! window of them unacknowledged), or sent the leader's snapshot (one chunk at
//! a time), as etcd's `tracker.Progress`.
//!
//! The transitions (etcd's):
//! - A new leader starts every follower in Probe, from its own last index + 1.
//! - Probe -> Replicate: an AppendEntries was acknowledged (`maybe_update`),
//!   so the logs agree up to the match index.
//! - Replicate -> Probe: a rejection (the follower lost or never had what the
//!   leader assumed): back to one message at a time from match + 1.
//! - Probe or Replicate -> Snapshot: the entry the follower needs next is at
//!   or below the leader's snapshot index (compacted away), whether a probe,
//!   a rejection's hint or a pipeline brought `next_index` there.
//! - Snapshot -> Replicate: the follower reports the transfer done (it
//!   installed the snapshot, or its commit index was already as far), or an
//!   AppendEntries acknowledgement shows it holds the leader's log past the
//!   snapshot after all; the match index is then exact, so pipelining starts.
//!   A restart of the transfer (the leader compacted again and holds a newer
//!   snapshot) goes Snapshot -> Snapshot from offset 0.
//!
//! Probe and Snapshot pause after each message and resume on its answer or on
//! a heartbeat response (the retry of a message that was lost: no timer of its
//! own); Replicate pauses when the inflight window is full.

use std::collections::VecDeque;

use crate::types::Index;

/// How the leader sends to one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgressState {
    /// Looking for the point where the logs agree; one AppendEntries in flight at most.
    Probe {
        /// An AppendEntries was sent and neither a response nor a heartbeat response came back.
        paused: bool,
    },
    /// The logs agree up to `match_index`; AppendEntries are pipelined.
    Replicate,
    /// The follower needs entries the leader compacted: the leader sends its
    /// snapshot ending at `pending_index`, one chunk in flight at most.
    Snapshot {
        /// The index of the snapshot being sent.
        pending_index: Index,
        /// Where the next chunk starts: the bytes the follower said it holds.
        offset: u64,
        /// A chunk was sent and neither its answer nor a heartbeat response came back.
        paused: bool,
    },
}

/// The leader's view of one voter (itself included).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// The highest index known to match the leader's log.
    // Invariant: match_index < next_index.
    pub(crate) match_index: Index,
    /// The index of the next entry to send.
    pub(crate) next_index: Index,
    /// Probe, replicate or snapshot.
    pub(crate) state: ProgressState,
    /// Last index of each unacknowledged AppendEntries sent in replicate state, oldest first.
    // Invariant: inflight.len() <= max_inflight, increasing.
    inflight: VecDeque<Index>,
    /// The inflight window size.
    max_inflight: usize,
}

impl Progress {
    /// A fresh progress for a follower whose log is unknown: probe from `next_index`.
    pub(crate) fn new(next_index: Index, max_inflight: usize) -> Progress {
        assert!(next_index >= 1 && max_inflight >= 1);
        Progress {
            match_index: 0,
            next_index,
            state: ProgressState::Probe { paused: false },
            inflight: VecDeque::with_capacity(max_inflight),
            max_inflight,
        }
    }

    /// Whether the leader must hold further AppendEntries to this follower.
    pub(crate) fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe { paused } | ProgressState::Snapshot { paused, .. } => paused,
            ProgressState::Replicate => self.inflight.len() >= self.max_inflight,
        }
    }

    /// The snapshot being sent, if in Snapshot state.
    pub(crate) fn pending_snapshot(&self) -> Option<Index> {
        match self.state {
            ProgressState::Snapshot { pending_index, .. } => Some(pending_index),
            _ => None,
        }
    }

    /// Starts sending the snapshot ending at `pending_index`, from its first
    /// byte. Once installed the follower will need `pending_index + 1`.
    pub(crate) fn become_snapshot(&mut self, pending_index: Index) {
        assert!(
            pending_index >= self.match_index,
            "a snapshot moves forward"
        );
        self.state = ProgressState::Snapshot {
            pending_index,
            offset: 0,
            paused: false,
        };
        self.next_index = pending_index + 1;
        self.inflight.clear();
    }

    /// Records that the chunk starting at the current offset was sent.
    pub(crate) fn on_snapshot_chunk_sent(&mut self) {
        let ProgressState::Snapshot { paused, .. } = &mut self.state else {
            panic!("a chunk is sent only in Snapshot state");
        };
        assert!(!*paused, "one chunk in flight at most");
        *paused = true;
    }

    /// The offset the next chunk starts at, in Snapshot state.
    pub(crate) fn snapshot_offset(&self) -> Option<u64> {
        match self.state {
            ProgressState::Snapshot { offset, .. } => Some(offset),
            _ => None,
        }
    }

    /// The follower holds `next_offset` bytes of the snapshot ending at
    /// `index`. Returns whether the chunk from there must be sent: not if the
    /// answer is about another snapshot, or if that very chunk is in flight
    /// already (a duplicated or late answer).
    pub(crate) fn on_snapshot_chunk_ack(&mut self, index: Index, next_offset: u64) -> bool {
        let ProgressState::Snapshot {
            pending_index,
            offset,
            paused,
        } = &mut self.state
        else {
            return false;
        };
        if *pending_index != index || (*paused && *offset == next_offset) {
            return false;
        }
        // Forward as a rule; backward only if the follower lost what it held
        // (it restarted) or the answer is late, which costs one chunk.
        *offset = next_offset;
        *paused = false;
        true
    }

    /// Back to probing from just after the match index.
    pub(crate) fn become_probe(&mut self) {
        self.state = ProgressState::Probe { paused: false };
        self.next_index = self.match_index + 1;
        self.inflight.clear();
    }

    /// The logs agree up to the match index: start pipelining.
    pub(crate) fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.next_index = self.match_index + 1;
        self.inflight.clear();
    }

    /// Records that an AppendEntries carrying entries up to `last_sent` (or no
    /// entries, if `None`) was sent.
    pub(crate) fn on_append_sent(&mut self, last_sent: Option<Index>) {
        match self.state {
            ProgressState::Snapshot { .. } => panic!("no AppendEntries in Snapshot state"),
            ProgressState::Probe { .. } => self.state = ProgressState::Probe { paused: true },
            ProgressState::Replicate => {
                if let Some(last) = last_sent {
                    assert!(
                        last >= self.next_index && !self.is_paused(),
                        "pipelined past the window"
                    );
                    self.next_index = last + 1;
                    self.inflight.push_back(last);
                }
            }
        }
    }

    /// The follower holds the leader's log up to `index`. Returns whether that was news.
    pub(crate) fn maybe_update(&mut self, index: Index) -> bool {
        let updated = index > self.match_index;
        if updated {
            self.match_index = index;
            if let ProgressState::Probe { .. } = self.state {
                self.state = ProgressState::Probe { paused: false };
            }
        }
        self.next_index = self.next_index.max(index + 1);
        while self.inflight.front().is_some_and(|&last| last <= index) {
            self.inflight.pop_front();
        }
        updated
    }

    /// The follower rejected an AppendEntries after `rejected`; `match_hint` is
    /// where the leader should probe next. Returns false if the rejection is stale.
    pub(crate) fn maybe_decrease_to(&mut self, rejected: Index, match_hint: Index) -> bool {
        match self.state {
            // The rejection answers an AppendEntries sent before the snapshot:
            // the snapshot already goes where any hint would lead.
            ProgressState::Snapshot { .. } => return false,
            ProgressState::Replicate => {
                if rejected <= self.match_index {
                    return false;
                }
                self.next_index = self.match_index + 1;
            }
            ProgressState::Probe { .. } => {
                // A rejection at or below the match index is stale (or comes from a
                // follower that lost acknowledged entries, which correct Raft rules
                // out): answering it would resend the same probe forever, and with
                // duplicated messages the resends multiply.
                if self.next_index - 1 != rejected || rejected <= self.match_index {
                    return false;
                }
                self.next_index = rejected
                    .min(match_hint.saturating_add(1))
                    .max(self.match_index + 1);
                self.state = ProgressState::Probe { paused: false };
            }
        }
        assert!(self.match_index < self.next_index);
        true
    }

    /// A heartbeat response came back: the follower is reachable again.
    pub(crate) fn on_heartbeat_response(&mut self) {
        match self.state {
            ProgressState::Probe { .. } => self.state = ProgressState::Probe { paused: false },
            // The chunk in flight or its answer may be lost: resend from the
            // offset the follower last confirmed (resumed, not restarted).
            ProgressState::Snapshot { ref mut paused, .. } => *paused = false,
            ProgressState::Replicate => {
                // Responses may have been lost: free one slot so the pipeline cannot stall forever.
                if self.inflight.len() >= self.max_inflight {
                    self.inflight.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_transfer_keeps_one_chunk_in_flight_and_resumes_from_the_answer() {
        let mut peer = Progress::new(10, 4);
        peer.become_snapshot(7);
        assert!(!peer.is_paused());
        peer.on_snapshot_chunk_sent();
        assert!(peer.is_paused(), "one chunk in flight");
        assert!(
            peer.on_snapshot_chunk_ack(7, 4),
            "the next chunk starts at 4"
        );
        assert_eq!(peer.snapshot_offset(), Some(4));
        peer.on_snapshot_chunk_sent();
        assert!(
            !peer.on_snapshot_chunk_ack(7, 4),
            "a duplicate answer: 4 is in flight"
        );
        assert!(
            !peer.on_snapshot_chunk_ack(6, 8),
            "an answer about another snapshot"
        );
        peer.on_heartbeat_response();
        assert!(!peer.is_paused(), "a heartbeat response retries");
        assert_eq!(peer.snapshot_offset(), Some(4), "from the confirmed offset");
        assert!(
            !peer.maybe_decrease_to(3, 2),
            "rejections wait for the snapshot"
        );
        peer.maybe_update(7);
        assert_eq!(
            peer.pending_snapshot(),
            Some(7),
            "the leader decides when it ends"
        );
        peer.become_replicate();
        assert_eq!((peer.next_index, peer.pending_snapshot()), (8, None));
    }
}
