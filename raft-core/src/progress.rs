//! What a leader knows of each follower's log: next/match indexes and flow control.
//!
//! A follower is probed (one AppendEntries at a time, until the leader finds
//! where their logs agree) or replicated to (AppendEntries pipelined, at most a
//! window of them unacknowledged), as etcd's `tracker.Progress`.

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
}

/// The leader's view of one voter (itself included).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// The highest index known to match the leader's log.
    // Invariant: match_index < next_index.
    pub(crate) match_index: Index,
    /// The index of the next entry to send.
    pub(crate) next_index: Index,
    /// Probe or replicate.
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
            ProgressState::Probe { paused } => paused,
            ProgressState::Replicate => self.inflight.len() >= self.max_inflight,
        }
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
            ProgressState::Replicate => {
                // Responses may have been lost: free one slot so the pipeline cannot stall forever.
                if self.inflight.len() >= self.max_inflight {
                    self.inflight.pop_front();
                }
            }
        }
    }
}
