//! `raftsim gen-history`: its histories are what it says (linearizable, or
//! not with `--bad`), the same for the same seed, and the fast path for
//! unique values agrees with the general search on every one of them.

use std::process::Command;

use invariants::linearizability::parse::{parse_jepsen_etcd, parse_porcupine_kv};
use invariants::linearizability::{
    check, check_searching, check_unique_values, Budget, CasRegisterModel, CheckOutcome, KvModel,
    Model, OpHistory,
};
use simulator::commands::gen_history::{generate, GenHistoryArgs, HistoryFormat};

fn args(
    clients: u32,
    keys: u32,
    ops: u32,
    seed: u64,
    bad: bool,
    format: HistoryFormat,
) -> GenHistoryArgs {
    GenHistoryArgs {
        clients,
        keys,
        ops,
        seed,
        bad,
        format,
        output: None,
    }
}

/// Fast path and search agree on `history`, and say `linearizable`.
fn assert_verdicts<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    linearizable: bool,
    what: &str,
) {
    let fast = check_unique_values(model, history).expect("generated values are unique");
    let searched = check_searching(model, history, Budget::default());
    assert!(
        !matches!(searched, CheckOutcome::Unknown { .. }),
        "{what}: the search ran out"
    );
    assert_eq!(
        fast.is_linearizable(),
        linearizable,
        "{what}: fast path {fast:?}"
    );
    assert_eq!(
        searched.is_linearizable(),
        linearizable,
        "{what}: search {searched:?}"
    );
    assert_eq!(
        check(model, history, Budget::default()).is_linearizable(),
        linearizable,
        "{what}"
    );
}

#[test]
fn generated_histories_are_linearizable_unless_bad_and_both_checkers_agree() {
    for seed in 0..60 {
        let clients = 2 + (seed % 7) as u32;
        let ops = 20 + (seed % 5) as u32 * 10;
        for bad in [false, true] {
            let what = format!("seed {seed} clients {clients} ops {ops} bad {bad}");
            let kv = generate(&args(
                clients,
                1 + (seed % 3) as u32,
                ops,
                seed,
                bad,
                HistoryFormat::PorcupineKv,
            ));
            let Ok(kv) = kv else {
                assert!(bad, "{what}: {kv:?}");
                continue; // too short to plant a stale read
            };
            let history = parse_porcupine_kv(&kv, "generated").expect("generated kv parses");
            assert_verdicts(&KvModel::absent_is_empty(), &history, !bad, &what);
            let log = generate(&args(clients, 1, ops, seed, bad, HistoryFormat::JepsenEtcd));
            let Ok(log) = log else { continue };
            let history = parse_jepsen_etcd(&log, "generated").expect("generated log parses");
            assert_verdicts(&CasRegisterModel, &history, !bad, &what);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let one = args(20, 3, 500, 42, true, HistoryFormat::PorcupineKv);
    assert_eq!(generate(&one), generate(&one));
    let other = args(20, 3, 500, 43, true, HistoryFormat::PorcupineKv);
    assert_ne!(generate(&one), generate(&other));
}

#[test]
fn bad_arguments_exit_2_naming_the_argument() {
    let output = Command::new(env!("CARGO_BIN_EXE_raftsim"))
        .args(["gen-history", "--format", "jepsen-etcd", "--keys", "3"])
        .output()
        .expect("raftsim runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--keys must be 1"), "{stderr}");
}
