//! How long the common observations take: run with
//! `cargo test --release -p invariants --test safety_speed -- --ignored --nocapture`.
//! Ignored by default: wall time says nothing about correctness.

use invariants::SafetyChecker;

/// One leader replicating to four followers, one entry at a time: per entry,
/// five appends, five commits and five applies.
#[test]
#[ignore = "a measurement, not a check"]
// The wall clock only times this measurement; nothing it reads reaches a run.
#[allow(clippy::disallowed_methods)]
fn measure_the_common_observations() {
    let entry_count: u64 = 200_000;
    let mut checker = SafetyChecker::new(&[1, 2, 3, 4, 5]);
    checker.on_leader(1, 1).unwrap();
    let started = std::time::Instant::now(); // allow-nondeterminism: timing display only
    for index in 1..=entry_count {
        let digest = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let state_digest = digest.rotate_left(17) | 1;
        for node in 1..=5 {
            checker
                .on_log_rewritten(node, index, [(1, digest)])
                .unwrap();
        }
        for node in 1..=5 {
            checker.on_commit(node, 1, index).unwrap();
        }
        for node in 1..=5 {
            checker
                .on_apply(node, index, 1, digest, state_digest)
                .unwrap();
        }
    }
    let observation_count = entry_count * 15;
    let nanoseconds = started.elapsed().as_nanos() / u128::from(observation_count);
    println!("{observation_count} observations, {nanoseconds} ns each");
    assert_eq!(checker.committed_index(), entry_count);
}
