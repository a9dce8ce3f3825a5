//! The same seed gives the same run, byte for byte: same trace hash on every
//! run, whatever the campaign's thread count.

use simulator::commands::campaign::{run_campaign, Campaign};
use simulator::commands::run::{check_determinism, run_seed};
use simulator::world::params::RunOptions;

#[test]
fn a_seed_run_twice_gives_the_same_trace_hash() {
    for seed in [0, 1, 7, 42, 1234, u64::MAX] {
        let first = run_seed(seed, &RunOptions::default());
        let second = run_seed(seed, &RunOptions::default());
        assert_eq!(first.trace_hash, second.trace_hash, "seed {seed}");
        assert_eq!(first.events, second.events, "seed {seed}");
        assert!(
            first.events > 100,
            "seed {seed} ran only {} events",
            first.events
        );
    }
}

#[test]
fn different_seeds_give_different_traces() {
    let hashes: std::collections::BTreeSet<u64> = (0..20)
        .map(|seed| run_seed(seed, &RunOptions::default()).trace_hash)
        .collect();
    assert_eq!(hashes.len(), 20);
}

#[test]
fn check_determinism_finds_no_divergence() {
    for seed in [3, 99] {
        assert_eq!(
            check_determinism(seed, &RunOptions::default()),
            None,
            "seed {seed}"
        );
    }
}

fn campaign_hashes(jobs: usize) -> Vec<String> {
    let campaign = Campaign {
        seeds: 100..164,
        jobs,
        options: RunOptions::default(),
        json: true,
        stop_at_first_failure: false,
    };
    let mut out = Vec::new();
    run_campaign(&campaign, &mut out).expect("campaign runs");
    let text = String::from_utf8(out).expect("utf-8");
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json line");
            format!("{} {}", value["seed"], value["trace_hash"])
        })
        .collect()
}

#[test]
fn campaign_results_do_not_depend_on_the_thread_count() {
    let single = campaign_hashes(1);
    let double = campaign_hashes(2);
    assert_eq!(single.len(), 64);
    assert_eq!(single, double);
}
