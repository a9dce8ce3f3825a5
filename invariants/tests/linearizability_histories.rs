//! Every third-party history in the shared folder (`$RAFTSIM_HISTORIES`, else
//! `../shared/histories` from the workspace root) gets the verdict that
//! `EXPECTED.tsv` records (Porcupine's tests, and Knossos where it finished),
//! from the whole-history check, the whole-history check without splitting per
//! key, and the online checker.

mod shared_histories;

use std::path::Path;

use invariants::linearizability::parse::{parse_jepsen_etcd, parse_porcupine_kv};
use invariants::linearizability::{
    check, check_with, Budget, CasRegisterModel, CheckOutcome, KvModel, Model, OnlineChecker,
    OpHistory, OpId, Outcome, Partitioning,
};
use shared_histories::histories_dir;

/// (file, expected linearizable) rows of EXPECTED.tsv, skipping `NA`.
fn expected(dir: &Path) -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv is readable");
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        assert!(columns.len() >= 3, "EXPECTED.tsv: short row {line:?}");
        let verdict = match columns[2] {
            "true" => true,
            "false" => false,
            "NA" => continue,
            other => panic!("EXPECTED.tsv: verdict {other:?}"),
        };
        rows.push((columns[0].to_owned(), columns[1].to_owned(), verdict));
    }
    rows
}

/// Replays `history` into the online checker, in real-time order.
fn online<M: Model>(model: M, history: &OpHistory<M::Input, M::Output>) -> CheckOutcome {
    let mut events = Vec::new();
    for (index, op) in (0u32..).zip(history.operations()) {
        events.push((op.invoke_position, index, true));
        if let Some(position) = op.complete_position {
            events.push((position, index, false));
        }
    }
    events.sort_unstable();
    let mut checker = OnlineChecker::with_model(model, Budget::default());
    for (_, index, is_call) in events {
        let op = &history.operations()[index as usize];
        if is_call {
            checker.on_invoke(OpId(index), op.client, &op.input, op.invoke_us);
        } else {
            let outcome: Outcome<M::Output> = op.outcome.clone().expect("completed");
            let _ = checker.on_complete(OpId(index), &outcome, op.complete_us.unwrap_or(0));
        }
    }
    checker.finish()
}

#[test]
fn every_shared_history_gets_the_expected_verdict() {
    let dir = histories_dir();
    let rows = expected(&dir);
    assert!(
        rows.len() > 100,
        "EXPECTED.tsv lists {} histories",
        rows.len()
    );
    let mut mismatches = Vec::new();
    for (file, model, want) in rows {
        let path = dir.join(&file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let verdicts: Vec<(&str, CheckOutcome)> = match model.as_str() {
            "etcd-cas-register" => {
                let history = parse_jepsen_etcd(&text, &file).unwrap_or_else(|e| panic!("{e}"));
                vec![
                    (
                        "check",
                        check(&CasRegisterModel, &history, Budget::default()),
                    ),
                    ("online", online(CasRegisterModel, &history)),
                ]
            }
            "kv-append-put-get" => {
                let history = parse_porcupine_kv(&text, &file).unwrap_or_else(|e| panic!("{e}"));
                let model = KvModel::absent_is_empty();
                vec![
                    ("check", check(&model, &history, Budget::default())),
                    (
                        "whole",
                        check_with(&model, &history, Budget::default(), Partitioning::Whole),
                    ),
                    ("online", online(model, &history)),
                ]
            }
            other => panic!("EXPECTED.tsv: unknown model {other:?}"),
        };
        for (how, verdict) in verdicts {
            let got = match &verdict {
                CheckOutcome::Linearizable => Some(true),
                CheckOutcome::NotLinearizable(_) => Some(false),
                CheckOutcome::Unknown { .. } => None,
            };
            if got != Some(want) {
                mismatches.push(format!(
                    "{file} ({how}): expected linearizable={want}, got {verdict:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
