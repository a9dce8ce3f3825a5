//! Faults at protocol points, as FoundationDB's BUGGIFY: named points where
//! an interleaving matters, each with a chance the seed draws (swarm
//! testing: a point is off in some seeds, frequent in others), and each
//! firing counted in the campaign's coverage report.
//!
//! A point is a moment of the protocol, not of the clock: an fsync
//! completing, a node winning an election, a leader's commit index
//! advancing, a vote granted, an acknowledgement counted, a snapshot taken.
//! What strikes there is the fault that makes the moment matter: a crash
//! around the write that must be durable, the leader cut off before anyone
//! hears what it decided, a crash before a vote or an acknowledgement can be
//! repeated. The nemesis ([`crate::drivers::nemesis`]) carries them out; a
//! recorded schedule replays each at its point.

use std::fmt;

use crate::world::coverage::Sometimes;
use crate::world::rng::{Ratio, Rng};

/// A named protocol point where the nemesis may strike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BuggifyPoint {
    /// A crash right around an fsync (before it completes, or just after
    /// the messages waiting for it left): where persistence bugs show.
    FsyncCrash,
    /// The same when the fsync makes a new term or vote durable: the
    /// metadata writes whose loss or survival decides elections.
    HardStateCrash,
    /// A node cut off with a minority the moment it wins an election,
    /// before its first entries arrive (Figure 8's in-flight messages).
    NewLeaderIsolation,
    /// A leader cut off with a minority the moment its commit index
    /// advances, before anyone hears of it.
    CommitIsolation,
    /// A node that just granted a vote crashes and comes back at once: it
    /// must remember the vote (a second vote in the term elects two).
    VoteGrantedCrash,
    /// Right after a leader counted an acknowledgement, the follower that
    /// sent it crashes and comes back at once: what it acknowledged must
    /// have been durable; or the leader crashes, its decision half told.
    AckCountedCrash,
    /// A node that just snapshotted crashes and comes back at once, from
    /// the snapshot and the log after it.
    SnapshotTakenCrash,
}

impl BuggifyPoint {
    /// Every point, in report order.
    pub const ALL: [BuggifyPoint; 7] = [
        BuggifyPoint::FsyncCrash,
        BuggifyPoint::HardStateCrash,
        BuggifyPoint::NewLeaderIsolation,
        BuggifyPoint::CommitIsolation,
        BuggifyPoint::VoteGrantedCrash,
        BuggifyPoint::AckCountedCrash,
        BuggifyPoint::SnapshotTakenCrash,
    ];

    /// The name in parameters and reports.
    pub fn name(self) -> &'static str {
        match self {
            BuggifyPoint::FsyncCrash => "fsync-crash",
            BuggifyPoint::HardStateCrash => "hard-state-crash",
            BuggifyPoint::NewLeaderIsolation => "new-leader-isolation",
            BuggifyPoint::CommitIsolation => "commit-isolation",
            BuggifyPoint::VoteGrantedCrash => "vote-granted-crash",
            BuggifyPoint::AckCountedCrash => "ack-counted-crash",
            BuggifyPoint::SnapshotTakenCrash => "snapshot-taken-crash",
        }
    }

    /// The coverage entry that counts the runs where it fired.
    pub fn fired(self) -> Sometimes {
        match self {
            BuggifyPoint::FsyncCrash => Sometimes::BuggifyFsyncCrash,
            BuggifyPoint::HardStateCrash => Sometimes::BuggifyHardStateCrash,
            BuggifyPoint::NewLeaderIsolation => Sometimes::BuggifyNewLeaderIsolation,
            BuggifyPoint::CommitIsolation => Sometimes::BuggifyCommitIsolation,
            BuggifyPoint::VoteGrantedCrash => Sometimes::BuggifyVoteGrantedCrash,
            BuggifyPoint::AckCountedCrash => Sometimes::BuggifyAckCountedCrash,
            BuggifyPoint::SnapshotTakenCrash => Sometimes::BuggifySnapshotTakenCrash,
        }
    }
}

/// The chance of each point in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Buggify {
    // Invariant: ratios[i] is the chance of BuggifyPoint::ALL[i].
    ratios: [Ratio; 7],
}

impl Default for Buggify {
    fn default() -> Buggify {
        Buggify {
            ratios: [Ratio::ZERO; 7],
        }
    }
}

impl Buggify {
    /// The chance of `point` (zero when the seed turned it off).
    pub fn ratio(&self, point: BuggifyPoint) -> Ratio {
        self.ratios[point as usize]
    }

    /// Sets the chance of `point`.
    pub fn set(&mut self, point: BuggifyPoint, ratio: Ratio) {
        self.ratios[point as usize] = ratio;
    }

    /// Draws the chances of the points added after the first four (which
    /// the parameters draw where they always did): each on in half the
    /// seeds, at up to `max_per_mille` per thousand.
    pub fn draw_protocol_points(&mut self, rng: &mut Rng) {
        for (point, max_per_mille) in [
            (BuggifyPoint::VoteGrantedCrash, 200),
            (BuggifyPoint::AckCountedCrash, 20),
            (BuggifyPoint::SnapshotTakenCrash, 100),
        ] {
            let on = rng.chance(Ratio::new(1, 2));
            let per_mille = rng.range_inclusive(1, max_per_mille);
            self.set(
                point,
                if on {
                    Ratio::new(per_mille, 1000)
                } else {
                    Ratio::ZERO
                },
            );
        }
    }
}

impl fmt::Display for Buggify {
    /// `fsync-crash 7/1000, vote-granted-crash 50/1000` (the points on).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<String> = BuggifyPoint::ALL
            .into_iter()
            .filter(|&p| self.ratio(p) != Ratio::ZERO)
            .map(|p| format!("{} {}", p.name(), self.ratio(p)))
            .collect();
        match on.is_empty() {
            true => f.write_str("none"),
            false => f.write_str(&on.join(", ")),
        }
    }
}
