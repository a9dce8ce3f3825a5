//! Fast, deterministic hashing for the checker's private tables.
//!
//! The memo and the interners are hashed millions of times per check, and their
//! keys are small integers or strings that no adversary chooses, so SipHash's
//! flood resistance buys nothing here. This is the multiply-rotate hash of
//! rustc (FxHash), a few lines, with a fixed seed: the same history always
//! hashes the same way, which keeps budgets and step counts reproducible.

use std::hash::{BuildHasher, Hasher};

/// The multiplier of FxHash (from rustc): odd, with well spread bits.
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash state: one word, folded with each write.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Byte by byte: a copy of a variable length is a call to memcpy,
            // dearer than these few shifts.
            let word = rest
                .iter()
                .rev()
                .fold(0, |word, &byte| word << 8 | u64::from(byte));
            self.add(word);
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top 7 bits: mix once more so
        // that small keys (state ids) spread there too.
        mix64(self.hash)
    }
}

/// Builds [`FxHasher`]s; a unit type, so tables that use it cost nothing extra.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxBuildHasher;

impl BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;

    #[inline]
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

/// A hash map for membership and look-up only.
// allow-nondeterminism: membership only, never iterated
pub(crate) type FxHashMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>; // allow-nondeterminism: fixed-seed hasher, used for lookups only

/// A hash set for membership only.
// allow-nondeterminism: membership only, never iterated
pub(crate) type FxHashSet<K> = hashbrown::HashSet<K, FxBuildHasher>; // allow-nondeterminism: fixed-seed hasher, used for lookups only

/// SplitMix64's finalizer: a bijection on u64 with full avalanche. Used to give
/// each operation and each (partition, state) its own random-looking word for
/// the incremental (Zobrist) hash of a search configuration.
#[inline]
pub(crate) fn mix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_small_keys_spread() {
        let hash = |value: u32| FxBuildHasher.hash_one(value);
        assert_eq!(hash(7), hash(7));
        assert_ne!(hash(1) >> 57, hash(2) >> 57);
        assert_ne!(mix64(1), mix64(2));
    }
}
