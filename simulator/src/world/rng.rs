//! Seeded randomness: one ChaCha8 stream per subsystem and per node.
//!
//! Every draw of a run comes from a stream derived from the run's seed and a
//! fixed stream id, so turning one fault kind off does not reshuffle the draws of
//! every other subsystem (what makes a failing run shrinkable). The algorithm is
//! pinned (ChaCha8 from rand_chacha 0.3): changing it changes every trace hash.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The subsystems that draw randomness, each on its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The swarm parameters of the run.
    Params,
    /// The key of message delays.
    Network,
    /// Node `i`'s fsync latency and what a crash keeps of its unsynced writes.
    Disk(u64),
    /// The fault schedule.
    Nemesis,
    /// The key of which messages the nemesis drops or duplicates.
    MessageFaults,
    /// The key of the clients' operations and pauses.
    Workload,
    /// Node `i`'s election timeouts (handed to raft-core).
    Node(u64),
    /// The key of the nodes' clock rates.
    Clock,
    /// Which leader messages get a malformed twin, and which defect.
    Garble,
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Params => 1,
            Stream::Network => 2,
            Stream::Disk(node) => 3_000 + node,
            Stream::Nemesis => 4,
            Stream::MessageFaults => 6,
            Stream::Workload => 5,
            Stream::Node(i) => 1_000 + i,
            Stream::Clock => 7,
            Stream::Garble => 8,
        }
    }
}

/// A deterministic random source for one subsystem of one run.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

impl Rng {
    /// The stream `stream` of the run with seed `seed`.
    pub fn new(seed: u64, stream: Stream) -> Rng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream.id());
        Rng { inner }
    }

    /// A uniform u64.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform value in `[low, high]` (inclusive). Uses rejection so every value
    /// is equally likely; no floats.
    pub fn range_inclusive(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "empty range {low}..={high}");
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        let bound = span + 1;
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let draw = self.next_u64();
            if draw < zone {
                return low + draw % bound;
            }
        }
    }

    /// An index in `[0, len)`.
    pub fn index(&mut self, len: usize) -> usize {
        assert!(len > 0, "cannot pick from an empty set");
        self.range_inclusive(0, len as u64 - 1) as usize
    }

    /// True with probability `ratio.numerator / ratio.denominator`.
    pub fn chance(&mut self, ratio: Ratio) -> bool {
        ratio.numerator > 0 && self.range_inclusive(0, ratio.denominator - 1) < ratio.numerator
    }

    /// The inner generator, boxed for raft-core (which takes any `RngCore`).
    pub fn into_rng_core(self) -> Box<dyn RngCore + Send> {
        Box::new(self.inner)
    }
}

/// A probability as an integer ratio (no floats in anything that changes a run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ratio {
    /// Favourable outcomes.
    pub numerator: u64,
    /// All outcomes; never zero.
    pub denominator: u64,
}

impl Ratio {
    /// `numerator / denominator`.
    pub const fn new(numerator: u64, denominator: u64) -> Ratio {
        assert!(denominator > 0 && numerator <= denominator);
        Ratio {
            numerator,
            denominator,
        }
    }

    /// Never.
    pub const ZERO: Ratio = Ratio::new(0, 1);
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_seed_are_independent_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, Stream::Network);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, Stream::Network);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, Stream::Disk(1));
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn range_stays_in_bounds_and_chance_respects_extremes() {
        let mut r = Rng::new(1, Stream::Workload);
        for _ in 0..1000 {
            let v = r.range_inclusive(3, 9);
            assert!((3..=9).contains(&v));
        }
        assert!(!(0..100).any(|_| r.chance(Ratio::ZERO)));
        assert!((0..100).all(|_| r.chance(Ratio::new(1, 1))));
    }
}
