//! The campaign as the one test of a mutation run (`scripts/mutation-score`).
//!
//! cargo-mutants judges a mutant by `cargo test`, so this test runs
//! `raftsim fuzz --seeds A..B --stop-at-first-failure` on the `raftsim` binary
//! cargo built beside it (same profile, same mutated raft-core) and fails if
//! the campaign does not pass. It is ignored by default: `cargo test` has its
//! own campaigns (tests/campaign.rs), and this one is for the script, which
//! runs it with `--ignored`.
//!
//! What counts as a kill: exit 1 (a property broken), exit 4 (a panic in
//! raft-core or the harness caught and reported per seed, a limit of the
//! harness reached, or a run the linearizability checker could not decide),
//! exit 5 (every run passed, but the campaign never reached a situation a
//! swarm campaign must: the coverage floor), or death by a signal (a stack
//! overflow aborts). Each is the campaign
//! refusing to call the run a pass. The test prints which it was, with the
//! first failing seed, so the script can tell kills by a property from kills
//! by a panic. A hang is not a kill here: cargo-mutants' timeout ends it and
//! the script counts it apart.
//!
//! Environment (the script sets it): `RAFTSIM_MUTANTS_SEEDS` (default
//! `0..2000`), `RAFTSIM_MUTANTS_JOBS` (default: raftsim's own, every core).

use std::process::Command;

/// The line the script looks for in cargo-mutants' log of a mutant.
const VERDICT_PREFIX: &str = "mutation-campaign verdict:";

#[test]
#[ignore = "a whole campaign; run by scripts/mutation-score"]
fn campaign_passes() {
    let seeds = std::env::var("RAFTSIM_MUTANTS_SEEDS").unwrap_or_else(|_| "0..2000".into());
    let mut command = Command::new(env!("CARGO_BIN_EXE_raftsim"));
    command.args(["fuzz", "--seeds", &seeds, "--stop-at-first-failure"]);
    if let Ok(jobs) = std::env::var("RAFTSIM_MUTANTS_JOBS") {
        command.args(["--jobs", &jobs]);
    }
    // The flags say what runs; a share or seed range left in the caller's
    // environment must not quietly narrow it.
    for name in [
        "RAFTSIM_SEED",
        "RAFTSIM_SEEDS",
        "RAFTSIM_JOBS",
        "RAFTSIM_PARTITION",
    ] {
        command.env_remove(name);
    }
    let output = command.output().expect("raftsim runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let first_failure = stdout
        .lines()
        .find(|line| {
            line.starts_with("seed ")
                && (line.contains(" FAILED ")
                    || line.contains(" ERROR ")
                    || line.contains(" UNKNOWN "))
        })
        .or_else(|| {
            stdout
                .lines()
                .find(|line| line.starts_with("FAILED coverage"))
        })
        .unwrap_or("(no failing seed printed)");
    let last_line = stdout.lines().last().unwrap_or("(no output)");
    let verdict = match output.status.code() {
        Some(0) => "pass",
        Some(1) => "violation",
        Some(4) => "error-or-unknown",
        Some(5) => "coverage-floor",
        Some(_) => "harness-broken",
        None => "killed-by-signal",
    };
    println!("{VERDICT_PREFIX} {verdict}");
    println!("first failure: {first_failure}");
    println!("campaign: {last_line}");
    assert_ne!(
        verdict,
        "harness-broken",
        "raftsim fuzz --seeds {seeds} exited {:?}: a usage error or worse, not a verdict on the mutant\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        verdict, "pass",
        "raftsim fuzz --seeds {seeds} --stop-at-first-failure did not pass ({verdict}): {first_failure}"
    );
}
