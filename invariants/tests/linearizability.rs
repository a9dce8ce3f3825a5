//! The linearizability checker on small hand-made histories, and the online
//! checker against the whole-history search on random ones.

mod pinned;

use invariants::linearizability::{
    check, check_kv, check_with, Budget, CasRegisterModel, CheckOutcome, History, KvModel, KvOp,
    KvResult, Model, OnlineKvChecker, OpId, Outcome, Partitioning, RegisterHistory, RegisterOp,
    RegisterResult,
};
use pinned::pinned;
use proptest::prelude::*;

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

fn read(value: Option<&str>) -> Outcome<KvResult> {
    Outcome::Ok(KvResult::Value(value.map(Into::into)))
}

/// Client 1 puts "a", then, after it returned, client 2 reads `seen`.
fn put_then_get(put_outcome: Outcome<KvResult>, seen: Option<&str>) -> History {
    let mut history = History::new();
    let p = history.invoke(1, put("k", "a"), 10);
    history.complete(p, put_outcome, 20);
    let g = history.invoke(2, get("k"), 30);
    history.complete(g, read(seen), 40);
    history
}

#[test]
fn a_read_after_a_write_returned_must_see_it() {
    assert_eq!(
        check_kv(
            &put_then_get(Outcome::Ok(KvResult::Done), Some("a")),
            Budget::default()
        ),
        CheckOutcome::Linearizable
    );
    let stale = check_kv(
        &put_then_get(Outcome::Ok(KvResult::Done), None),
        Budget::default(),
    );
    assert!(
        matches!(stale, CheckOutcome::NotLinearizable(_)),
        "{stale:?}"
    );
}

#[test]
fn a_failed_write_did_not_happen() {
    assert!(check_kv(&put_then_get(Outcome::Fail, None), Budget::default()).is_linearizable());
    let seen = check_kv(&put_then_get(Outcome::Fail, Some("a")), Budget::default());
    assert!(matches!(seen, CheckOutcome::NotLinearizable(_)), "{seen:?}");
}

#[test]
fn an_unknown_write_may_take_effect_later_or_never() {
    assert!(check_kv(&put_then_get(Outcome::Unknown, None), Budget::default()).is_linearizable());
    assert!(check_kv(
        &put_then_get(Outcome::Unknown, Some("a")),
        Budget::default()
    )
    .is_linearizable());
    // Even long after the client gave up.
    let mut history = put_then_get(Outcome::Unknown, None);
    let g = history.invoke(3, get("k"), 50);
    history.complete(g, read(Some("a")), 60);
    assert!(check_kv(&history, Budget::default()).is_linearizable());
    // But once seen, it cannot be unseen.
    let g = history.invoke(3, get("k"), 70);
    history.complete(g, read(None), 80);
    assert!(!check_kv(&history, Budget::default()).is_linearizable());
}

#[test]
fn a_pending_call_at_the_end_counts_as_unknown() {
    let mut history = History::new();
    history.invoke(1, put("k", "a"), 10);
    let g = history.invoke(2, get("k"), 30);
    history.complete(g, read(Some("a")), 40);
    assert_eq!(history.pending(), 1);
    assert!(check_kv(&history, Budget::default()).is_linearizable());
}

#[test]
fn out_of_budget_is_unknown_never_a_pass() {
    // "a" written twice: values are not unique, so the key is searched (the
    // fast path for unique values takes no steps).
    let mut history = put_then_get(Outcome::Ok(KvResult::Done), Some("a"));
    let again = history.invoke(3, put("k", "a"), 50);
    history.complete(again, Outcome::Ok(KvResult::Done), 60);
    let outcome = check_kv(
        &history,
        Budget {
            max_steps: 1,
            max_memory_bytes: 1 << 20,
            interrupt: None,
        },
    );
    assert!(
        matches!(outcome, CheckOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}

/// Key "slow": ten appends, all concurrent, then forty compare-and-sets
/// that fail, then a read of a value no order of the appends makes:
/// deciding it means trying every order (millions of steps; the read is too
/// far down the history for the search to see early that it cannot fit).
/// Key "stale": a read that missed a write that had returned (a few steps).
fn a_slow_key_then_a_stale_key() -> History {
    let mut history = History::new();
    let appends: Vec<OpId> = (0..10)
        .map(|client| {
            let value = format!("v{client}");
            history.invoke(
                client,
                KvOp::Append {
                    key: "slow".into(),
                    value,
                },
                10,
            )
        })
        .collect();
    for append in appends {
        history.complete(append, Outcome::Ok(KvResult::Done), 20);
    }
    for time in 0..40 {
        let cas = KvOp::Cas {
            key: "slow".into(),
            expected: Some("never written".into()),
            new: "never either".into(),
        };
        let cas = history.invoke(30, cas, 21 + 2 * time);
        history.complete(cas, Outcome::Ok(KvResult::CasFailed), 22 + 2 * time);
    }
    let impossible = history.invoke(20, get("slow"), 101);
    history.complete(impossible, read(Some("no order gives this")), 102);
    let write = history.invoke(21, put("stale", "new"), 110);
    history.complete(write, Outcome::Ok(KvResult::Done), 120);
    let stale = history.invoke(22, get("stale"), 130);
    history.complete(stale, read(None), 140);
    history
}

#[test]
fn a_slow_key_does_not_hide_a_violation_on_another() {
    // Searched one key after the other, "slow" (first in the history) would
    // spend the whole budget and the check would end unknown.
    let budget = Budget {
        max_steps: 100_000,
        ..Budget::default()
    };
    match check_kv(&a_slow_key_then_a_stale_key(), budget) {
        CheckOutcome::NotLinearizable(explanation) => {
            assert_eq!(explanation.key.as_deref(), Some("stale"));
        }
        other => panic!("expected the stale read, got {other:?}"),
    }
}

#[test]
fn the_explanation_names_the_read_that_cannot_be_placed() {
    let history = put_then_get(Outcome::Ok(KvResult::Done), Some("b"));
    let CheckOutcome::NotLinearizable(explanation) = check_kv(&history, Budget::default()) else {
        panic!("expected a violation");
    };
    assert_eq!(explanation.key.as_deref(), Some("k"));
    assert_eq!(explanation.stuck[0].id, OpId(1));
    assert_eq!(explanation.prefix.len(), 1);
    let text = explanation.to_string();
    assert!(
        text.contains("client 2 [30..40] get \"k\" -> \"b\""),
        "{text}"
    );
    assert!(text.lines().count() <= 6, "{text}");
}

#[test]
fn keys_are_independent_objects() {
    let mut history = History::new();
    let a = history.invoke(1, put("x", "1"), 1);
    let b = history.invoke(2, put("y", "2"), 2);
    history.complete(a, Outcome::Ok(KvResult::Done), 3);
    history.complete(b, Outcome::Ok(KvResult::Done), 4);
    let g = history.invoke(1, get("y"), 5);
    history.complete(g, read(Some("2")), 6);
    let g = history.invoke(1, get("x"), 7);
    history.complete(g, read(None), 8);
    let CheckOutcome::NotLinearizable(explanation) = check_kv(&history, Budget::default()) else {
        panic!("expected a violation");
    };
    assert_eq!(explanation.key.as_deref(), Some("x"));
    let whole = check_with(
        &KvModel::absent_is_none(),
        &history,
        Budget::default(),
        Partitioning::Whole,
    );
    assert!(matches!(whole, CheckOutcome::NotLinearizable(_)));
}

#[test]
fn the_register_compares_and_sets() {
    let mut history = RegisterHistory::new();
    let w = history.invoke(0, RegisterOp::Write(1), 1);
    let c = history.invoke(1, RegisterOp::Cas(1, 2), 2);
    history.complete(c, Outcome::Ok(RegisterResult::CasOk), 3);
    history.complete(w, Outcome::Ok(RegisterResult::Done), 4);
    let r = history.invoke(2, RegisterOp::Read, 5);
    history.complete(r, Outcome::Ok(RegisterResult::Value(Some(2))), 6);
    assert!(check(&CasRegisterModel, &history, Budget::default()).is_linearizable());
    let r = history.invoke(2, RegisterOp::Read, 7);
    history.complete(r, Outcome::Ok(RegisterResult::Value(Some(1))), 8);
    assert!(!check(&CasRegisterModel, &history, Budget::default()).is_linearizable());
}

#[test]
fn the_online_checker_stops_at_the_completion_that_breaks_it() {
    let mut online = OnlineKvChecker::new(Budget::default());
    online.on_invoke(OpId(0), 1, &put("k", "a"), 10);
    assert!(online
        .on_complete(OpId(0), &Outcome::Ok(KvResult::Done), 20)
        .is_ok());
    online.on_invoke(OpId(1), 2, &get("k"), 30);
    online.on_invoke(OpId(2), 3, &put("k", "b"), 31);
    let explanation = online
        .on_complete(OpId(1), &read(Some("c")), 40)
        .unwrap_err();
    assert_eq!(explanation.stuck[0].id, OpId(1));
    assert!(matches!(online.finish(), CheckOutcome::NotLinearizable(_)));
}

/// The seed of the proptests below. Chosen among seeds that take well under
/// a second; others take minutes: their time is dominated by the rare
/// history whose many unknown appends make the whole-history search explode
/// (with seeds 0..25: seeds 9 and 14 of the last test ran past 30 s and 1.7
/// to 3 GB; seed 11 of the one before it took 21 s).
const PROPTEST_SEED: u64 = 1;

/// A random event of a small history: (client, action) where action picks
/// invoke (with an op) or complete (with an outcome) for that client.
fn op_strategy() -> impl Strategy<Value = KvOp> {
    let key = prop_oneof![Just("x"), Just("y")];
    let value = prop_oneof![Just("1"), Just("2"), Just("3")];
    (
        0u8..4,
        key,
        value,
        proptest::option::of(prop_oneof![Just("1"), Just("2")]),
    )
        .prop_map(|(kind, key, value, expected)| match kind {
            0 => get(key),
            1 => put(key, value),
            2 => KvOp::Append {
                key: key.into(),
                value: value.into(),
            },
            _ => KvOp::Cas {
                key: key.into(),
                expected: expected.map(Into::into),
                new: value.into(),
            },
        })
}

/// Outcome of a call: what the model would say from some state (so that
/// both verdicts occur), or fail, or unknown.
fn outcome_strategy() -> impl Strategy<Value = (u8, u8)> {
    (0u8..8, 0u8..4)
}

fn outcome_for(op: &KvOp, (kind, pick): (u8, u8)) -> Outcome<KvResult> {
    match kind {
        0 => Outcome::Fail,
        1 => Outcome::Unknown,
        _ => Outcome::Ok(match op {
            KvOp::Get { .. } => KvResult::Value(
                [None, Some("1"), Some("2"), Some("13")][pick as usize].map(Into::into),
            ),
            KvOp::Put { .. } | KvOp::Append { .. } => KvResult::Done,
            KvOp::Cas { .. } if pick % 2 == 0 => KvResult::CasOk,
            KvOp::Cas { .. } => KvResult::CasFailed,
        }),
    }
}

proptest! {
    #![proptest_config(pinned(400, PROPTEST_SEED))]

    #[test]
    fn online_and_whole_history_verdicts_agree(
        script in proptest::collection::vec((0u64..3, op_strategy(), outcome_strategy(), any::<bool>()), 1..14)
    ) {
        let mut history = History::new();
        let mut online = OnlineKvChecker::new(Budget::default());
        let mut open: Vec<Option<(OpId, KvOp)>> = vec![None; 3];
        let mut first_error_at = None;
        for (step, (client, op, outcome, complete_first)) in script.into_iter().enumerate() {
            let time = step as u64;
            let slot = &mut open[client as usize];
            if let (true, Some((id, op))) = (complete_first || slot.is_some(), slot.take()) {
                let outcome = outcome_for(&op, outcome);
                history.complete(id, outcome.clone(), time);
                let reported = online.on_complete(id, &outcome, time).is_err();
                if reported && first_error_at.is_none() {
                    first_error_at = Some(history.events());
                }
                // Exactly at the completion that breaks it: before it the
                // history was linearizable, at it, it is not.
                if first_error_at.is_none() || reported {
                    let prefix = check_kv(&history, Budget::default());
                    prop_assert_eq!(prefix.is_linearizable(), !reported, "at event {}: {:?}", history.events(), history);
                }
            } else {
                let id = history.invoke(client, op.clone(), time);
                online.on_invoke(id, client, &op, time);
                *slot = Some((id, op));
            }
        }
        let offline = check_kv(&history, Budget::default());
        let online_verdict = online.finish();
        prop_assert_eq!(offline.is_linearizable(), online_verdict.is_linearizable(), "offline {:?}\nonline {:?}\n{:?}", offline, online_verdict, history);
        let out_of_budget = matches!(offline, CheckOutcome::Unknown { .. });
        prop_assert!(!out_of_budget, "out of budget");
        prop_assert_eq!(first_error_at.is_some(), !offline.is_linearizable());
    }
}

#[test]
fn the_explanation_lists_unknown_writes_that_could_have_gone_there() {
    // A cas of unknown outcome that can change nothing (its expected value is
    // not there) stays unplaced; a person reading the explanation sees it was
    // considered.
    let mut history = History::new();
    let cas = KvOp::Cas {
        key: "k".into(),
        expected: Some("x".into()),
        new: "c".into(),
    };
    let u = history.invoke(1, cas, 10);
    history.complete(u, Outcome::Unknown, 20);
    let g = history.invoke(2, get("k"), 30);
    history.complete(g, read(Some("c")), 40);
    let CheckOutcome::NotLinearizable(explanation) = check_kv(&history, Budget::default()) else {
        panic!("expected a violation");
    };
    assert_eq!(explanation.stuck[0].id, OpId(1));
    assert_eq!(explanation.stuck.len(), 2, "{explanation}");
    assert_eq!(explanation.stuck[1].id, OpId(0));
    assert_eq!(explanation.stuck[1].result, "unknown", "{explanation}");
    assert!(
        explanation.to_string().lines().count() <= 6,
        "{explanation}"
    );
}

/// One client's call in a generated run: invoked, then applied to the store
/// (or not), then completed.
#[derive(Clone, Debug)]
enum Stage {
    Idle,
    Invoked(OpId, KvOp, u8),
    Decided(OpId, Outcome<KvResult>),
}

/// An event of a generated run: an invocation (with its op and client), or a
/// completion (with its outcome).
type RunEvent = (OpId, Option<(KvOp, u64)>, Outcome<KvResult>);

/// A run of `clients` concurrent clients on one key, mostly appends, where
/// each call takes effect at some moment between its invocation and its
/// completion (so the history is linearizable), except that a call may end
/// unknown (applied or not), fail, or (`stale`) read an older value.
///
/// Each step is (client, op kind, fate): fate 0 fails, 1 and 2 end unknown
/// (applied, lost), 3 reads a stale value, else ok.
fn concurrent_run(steps: &[(u8, u8, u8)], clients: u8) -> Vec<RunEvent> {
    let model = KvModel::absent_is_none();
    let mut store: Option<String> = None;
    let mut older: Option<String> = None;
    let mut stages = vec![Stage::Idle; clients as usize];
    let mut next_id = 0;
    let mut events = Vec::new();
    for (n, &(client, kind, fate)) in steps.iter().enumerate() {
        let client = (client % clients) as usize;
        stages[client] = match std::mem::replace(&mut stages[client], Stage::Idle) {
            Stage::Idle => {
                let value = format!("{n};");
                let op = match kind % 8 {
                    0..=3 => KvOp::Append {
                        key: "k".into(),
                        value,
                    },
                    4 | 5 => get("k"),
                    6 => put("k", &value),
                    // Half expect the value before the latest write: most
                    // of those fail.
                    _ => KvOp::Cas {
                        key: "k".into(),
                        expected: if kind & 8 == 0 {
                            store.clone()
                        } else {
                            older.clone()
                        },
                        new: value,
                    },
                };
                let id = OpId(next_id);
                next_id += 1;
                events.push((id, Some((op.clone(), client as u64)), Outcome::Fail));
                Stage::Invoked(id, op, fate)
            }
            Stage::Invoked(id, op, fate) => {
                let outcome = match fate % 16 {
                    0 => Outcome::Fail,
                    2 => Outcome::Unknown,
                    _ => {
                        let (next, result) = model.apply(&store, &op);
                        if next != store {
                            older = std::mem::replace(&mut store, next);
                        }
                        match (fate % 16, result) {
                            (1, _) => Outcome::Unknown,
                            (3, KvResult::Value(_)) => Outcome::Ok(KvResult::Value(older.clone())),
                            (_, result) => Outcome::Ok(result),
                        }
                    }
                };
                Stage::Decided(id, outcome)
            }
            Stage::Decided(id, outcome) => {
                events.push((id, None, outcome));
                Stage::Idle
            }
        };
    }
    events
}

/// Replays `events` into the online checker and, after every completion,
/// checks the same prefix with the whole-history search: the online checker
/// must report a violation at exactly the first completion after which the
/// prefix is not linearizable.
fn online_matches_every_prefix(events: &[RunEvent]) -> Result<(), TestCaseError> {
    let mut history = History::new();
    let mut online = OnlineKvChecker::new(Budget::default());
    let mut reported = false;
    for (time, (id, invoke, outcome)) in (0u64..).zip(events) {
        if let Some((op, client)) = invoke {
            let recorded = history.invoke(*client, op.clone(), time);
            prop_assert_eq!(recorded, *id);
            online.on_invoke(*id, *client, op, time);
            continue;
        }
        history.complete(*id, outcome.clone(), time);
        let now = online.on_complete(*id, outcome, time).is_err();
        // Past its step budget the checker stops checking online (by design)
        // and leaves the verdict to `finish`.
        if !reported && online.degraded().is_none() {
            let whole = check_kv(&history, Budget::default());
            let out_of_budget = matches!(whole, CheckOutcome::Unknown { .. });
            prop_assert!(!out_of_budget);
            prop_assert_eq!(
                whole.is_linearizable(),
                !now,
                "at event {}: {:?}",
                history.events(),
                history
            );
        }
        reported |= now;
    }
    let whole = check_kv(&history, Budget::default());
    let verdict = online.finish();
    prop_assert_eq!(verdict.is_linearizable(), whole.is_linearizable());
    Ok(())
}

proptest! {
    #![proptest_config(pinned(200, PROPTEST_SEED))]

    /// Many concurrent appends on one key, some of unknown outcome, some
    /// stale reads: the cases where the witness must be repaired.
    #[test]
    fn online_agrees_on_concurrent_appends_with_unknowns(
        steps in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 20..120),
        clients in 2u8..7,
    ) {
        online_matches_every_prefix(&concurrent_run(&steps, clients))?;
    }

    /// The same with a third of the calls ending unknown.
    #[test]
    fn online_agrees_when_many_calls_end_unknown(
        steps in proptest::collection::vec((any::<u8>(), any::<u8>(), 0u8..6), 10..80),
        clients in 2u8..6,
    ) {
        online_matches_every_prefix(&concurrent_run(&steps, clients))?;
    }
}

/// put "a"; then a cas a -> b and a put "b" run concurrently with a get that
/// reads "b".
fn cas_race(online: &mut OnlineKvChecker) {
    online.on_invoke(OpId(0), 0, &put("k", "a"), 1);
    online
        .on_complete(OpId(0), &Outcome::Ok(KvResult::Done), 2)
        .expect("a put on its own is linearizable");
    let cas = KvOp::Cas {
        key: "k".into(),
        expected: Some("a".into()),
        new: "b".into(),
    };
    online.on_invoke(OpId(1), 1, &cas, 3);
    online.on_invoke(OpId(2), 2, &put("k", "b"), 4);
    online.on_invoke(OpId(3), 3, &get("k"), 5);
    online
        .on_complete(OpId(3), &read(Some("b")), 6)
        .expect("either the cas or the put wrote \"b\"");
}

#[test]
fn a_call_linearized_while_open_is_moved_when_it_returns_otherwise() {
    // The read made the checker place one of the open writes before it; the
    // cas then reports it failed: the put wrote "b" first.
    let mut online = OnlineKvChecker::new(Budget::default());
    cas_race(&mut online);
    assert!(online
        .on_complete(OpId(1), &Outcome::Ok(KvResult::CasFailed), 7)
        .is_ok());
    assert!(online
        .on_complete(OpId(2), &Outcome::Ok(KvResult::Done), 8)
        .is_ok());
    assert!(online.finish().is_linearizable());
}

#[test]
fn a_violation_is_reported_when_the_last_possible_writer_fails() {
    let mut online = OnlineKvChecker::new(Budget::default());
    cas_race(&mut online);
    assert!(online
        .on_complete(OpId(1), &Outcome::Ok(KvResult::CasFailed), 7)
        .is_ok());
    // The put did not happen either: nothing wrote "b".
    let explanation = online
        .on_complete(OpId(2), &Outcome::Fail, 8)
        .expect_err("nothing wrote the value read");
    assert_eq!(explanation.key.as_deref(), Some("k"));
    assert!(matches!(online.finish(), CheckOutcome::NotLinearizable(_)));
}

/// `rounds` rounds in which 12 clients append to one key at once (all
/// invoked, then all returned), then a client reads the key: it saw each
/// round's appends in reverse order of the clients. With `twice`, the last
/// read saw the last round's first append twice, which no order makes.
/// Appends repeat across rounds (client `c` appends `c;` every round), so
/// the key is searched, not decided by the fast path for unique values.
fn rounds_of_concurrent_appends(rounds: u64, twice: bool) -> History {
    const WRITERS: u64 = 12;
    let mut history = History::new();
    let mut seen = String::new();
    for round in 0..rounds {
        let time_us = round * 10;
        let ids: Vec<OpId> = (0..WRITERS)
            .map(|client| {
                let append = KvOp::Append {
                    key: "k".into(),
                    value: format!("{client};"),
                };
                history.invoke(client, append, time_us)
            })
            .collect();
        for id in ids {
            history.complete(id, Outcome::Ok(KvResult::Done), time_us + 1);
        }
        for client in (0..WRITERS).rev() {
            seen.push_str(&format!("{client};"));
        }
        if twice && round + 1 == rounds {
            seen.push_str(&format!("{};", WRITERS - 1));
        }
        let reader = history.invoke(WRITERS, get("k"), time_us + 2);
        history.complete(reader, read(Some(&seen)), time_us + 3);
    }
    history
}

#[test]
fn an_order_of_returned_appends_that_strands_the_next_read_is_left_at_once() {
    // Each round's 12 appends go in one order of 12! that the read allows;
    // a search that learns it only at the read backtracks through many of
    // them per round. Once the search has backtracked twice per call, an
    // append that makes the key no prefix of the next read is left as soon
    // as it is placed, and the whole history takes a few thousand steps.
    let steps = Budget {
        max_steps: 20_000,
        ..Budget::default()
    };
    let model = KvModel::absent_is_none();
    let good = rounds_of_concurrent_appends(6, false);
    assert_eq!(
        invariants::linearizability::check_searching(&model, &good, steps),
        CheckOutcome::Linearizable
    );
    assert_eq!(check_kv(&good, steps), CheckOutcome::Linearizable);
    let bad = rounds_of_concurrent_appends(6, true);
    assert!(matches!(
        invariants::linearizability::check_searching(&model, &bad, steps),
        CheckOutcome::NotLinearizable(_)
    ));
    assert!(matches!(
        check_kv(&bad, steps),
        CheckOutcome::NotLinearizable(_)
    ));
}

#[test]
fn a_key_whose_every_call_failed_does_not_shift_the_key_named_in_a_violation() {
    // Key "a" appears first, and only in a failed put; key "b" has a stale
    // read. The keys are numbered once, before the search, over every call:
    // the violation must still be reported on "b".
    let mut history = History::new();
    let failed = history.invoke(1, put("a", "1"), 0);
    history.complete(failed, Outcome::Fail, 1);
    let write = history.invoke(2, put("b", "1"), 2);
    history.complete(write, Outcome::Ok(KvResult::Done), 3);
    let stale = history.invoke(3, get("b"), 4);
    history.complete(stale, read(None), 5);
    let CheckOutcome::NotLinearizable(explanation) = check_kv(&history, Budget::default()) else {
        panic!("a read after a put returned missed it");
    };
    assert_eq!(explanation.key.as_deref(), Some("b"));
}

#[test]
fn a_history_without_calls_is_linearizable_on_every_path() {
    let empty = History::new();
    let model = KvModel::absent_is_none();
    assert_eq!(
        check_kv(&empty, Budget::default()),
        CheckOutcome::Linearizable
    );
    assert_eq!(
        invariants::linearizability::check_searching(&model, &empty, Budget::default()),
        CheckOutcome::Linearizable
    );
    assert_eq!(
        invariants::linearizability::check_unique_values(&model, &empty),
        Some(CheckOutcome::Linearizable)
    );
}
