//! The hash chain of a log: `chain[i] = H(chain[i - 1], term[i], digest[i])`,
//! with `chain[0] = GENESIS`. Two logs agree up to index `i` exactly when their
//! chains agree at `i` (up to a 64-bit collision), so comparing prefixes is O(1).

use super::Term;

/// The chain value of the empty prefix (index 0).
pub(crate) const GENESIS: u64 = 0;

/// The chain value after appending an entry of `term` and `digest` to a prefix
/// whose chain value is `previous`. Deterministic (no per-process seed): the
/// splitmix64 finalizer applied twice, once per absorbed word.
pub(crate) fn chain_step(previous: u64, term: Term, digest: u64) -> u64 {
    let absorbed_term = mix(previous ^ term.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    mix(absorbed_term ^ digest.rotate_left(29) ^ 0xD6E8_FEB8_6659_FD93)
}

/// The splitmix64 finalizer: a bijection on u64 with good avalanche.
fn mix(word: u64) -> u64 {
    let mut z = word;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_depends_on_prefix_term_and_digest() {
        let base = chain_step(GENESIS, 1, 7);
        assert_ne!(base, chain_step(GENESIS, 2, 7));
        assert_ne!(base, chain_step(GENESIS, 1, 8));
        assert_ne!(chain_step(base, 1, 7), chain_step(GENESIS, 1, 7));
        // Swapping term and digest must not collide.
        assert_ne!(chain_step(GENESIS, 7, 1), base);
        assert_eq!(base, chain_step(GENESIS, 1, 7));
    }
}
