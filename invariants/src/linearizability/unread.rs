//! Writes no one read: a key-value history rewritten so that the search need
//! not guess which of them took effect.
//!
//! A simulated run that loses its leader for a while ends with many writes of
//! unknown outcome (clients gave up waiting). The search must consider every
//! subset of them, in every order, and reads far later tell which took effect:
//! a 34-operation history with 18 such writes took minutes. Most of those
//! writes are never seen by any read, and then their values do not matter.
//!
//! The argument. Call a written value `w` *unread* if it occurs (as a
//! substring) in no value a `get` returned and no value a `cas` expected, on
//! its key. From the moment a write of `w` takes effect until the next put or
//! successful cas, every state of the key contains `w`: an append keeps it,
//! and a cas cannot succeed (it would have to expect a value containing
//! `w`). So in all those states every `get` fails to fit, every `cas` fails,
//! appends keep such a state, and only a put (or nothing) follows. All states
//! that contain an unread value behave alike; one state, [`UNREAD`], stands
//! for them all: the rewritten history replaces the values of such writes
//! with it, and the model keeps any state that contains it equal to it (see
//! `KvModel::folding_unread`). Nothing a client saw changes, so the verdict
//! does not change.
//!
//! The payoff: every rewritten write of unknown outcome becomes the same
//! call, `put UNREAD` (an append or put of an unread value does the same to
//! every state), and the search tries calls of unknown outcome with equal
//! inputs in one order only (see `search::Call::twin_before`). Eighteen
//! such writes no longer mean 2^18 subsets, only how many of them went first.
//!
//! Only writes of unknown outcome are rewritten: a write that returned must
//! be placed anyway, and its own value costs nothing more.

use std::collections::BTreeMap;

use aho_corasick::AhoCorasick;

use super::history::{History, KvOp, KvResult, OpId, Operation, Outcome};

/// The value that stands for every value no read saw. No history the
/// rewrite applies to contains its character anywhere.
pub(crate) const UNREAD: &str = "\u{0}";

/// The history with the values of unread writes of unknown outcome replaced
/// by [`UNREAD`], or `None` if no write qualifies (or some value already
/// holds `UNREAD`'s character, so the rewrite could confuse them).
pub(crate) fn fold_unread_writes(history: &History) -> Option<History> {
    // Most histories have no write of unknown outcome: they cost one pass.
    let unknown_write = |op: &Operation<KvOp, KvResult>| {
        !matches!(op.input, KvOp::Get { .. })
            && !matches!(op.outcome, Some(Outcome::Ok(_) | Outcome::Fail))
    };
    if !history.operations().iter().any(unknown_write) {
        return None;
    }
    let mut keys: BTreeMap<&str, Key<'_>> = BTreeMap::new();
    for (index, op) in (0u32..).zip(history.operations()) {
        if mentions_unread(&op.input, op.outcome.as_ref()) {
            return None;
        }
        let key = keys.entry(op.input.key()).or_default();
        match (&op.input, &op.outcome) {
            (_, Some(Outcome::Fail)) => {}
            (KvOp::Get { .. }, Some(Outcome::Ok(KvResult::Value(Some(value))))) => {
                key.observed.push(value);
            }
            (KvOp::Get { .. }, _) => {}
            (KvOp::Cas { expected, new, .. }, outcome) => {
                key.observed.extend(expected.as_deref());
                if !matches!(outcome, Some(Outcome::Ok(_))) {
                    key.unknown_writes.push((OpId(index), new));
                }
            }
            (KvOp::Put { value, .. } | KvOp::Append { value, .. }, outcome) => {
                if !matches!(outcome, Some(Outcome::Ok(_))) {
                    key.unknown_writes.push((OpId(index), value));
                }
            }
        }
    }
    let mut folded = None;
    for key in keys.values() {
        for id in key.unread_writes() {
            let history = folded.get_or_insert_with(|| history.clone());
            let op = history.operations()[id.0 as usize].input.clone();
            history.set_input(id, with_unread_value(op));
        }
    }
    folded
}

/// What one key's calls observed and which of its writes have an unknown
/// outcome.
#[derive(Default)]
struct Key<'h> {
    /// Values read, and values a cas expected.
    observed: Vec<&'h str>,
    /// Writes (put, append, cas) of unknown outcome, with the value written.
    unknown_writes: Vec<(OpId, &'h str)>,
}

impl Key<'_> {
    /// The writes of unknown outcome whose value occurs in nothing observed.
    fn unread_writes(&self) -> Vec<OpId> {
        if self.unknown_writes.is_empty() {
            return Vec::new();
        }
        let patterns = self.unknown_writes.iter().map(|&(_, value)| value);
        let automaton = AhoCorasick::new(patterns).expect("values of a history fit the automaton");
        let mut seen = vec![false; self.unknown_writes.len()];
        let mut distinct: Vec<&str> = self.observed.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for observed in distinct {
            for found in automaton.find_overlapping_iter(observed) {
                seen[found.pattern().as_usize()] = true;
            }
        }
        let writes = self.unknown_writes.iter().zip(seen);
        writes
            .filter(|(_, seen)| !seen)
            .map(|((id, _), _)| *id)
            .collect()
    }
}

/// True if `input` or `outcome` already holds [`UNREAD`]'s character.
fn mentions_unread(input: &KvOp, outcome: Option<&Outcome<KvResult>>) -> bool {
    let has = |text: &str| text.contains(UNREAD);
    let input_has = match input {
        KvOp::Get { key } => has(key),
        KvOp::Put { key, value } | KvOp::Append { key, value } => has(key) || has(value),
        KvOp::Cas { key, expected, new } => {
            has(key) || has(new) || expected.as_deref().is_some_and(has)
        }
    };
    let outcome_has = matches!(
        outcome,
        Some(Outcome::Ok(KvResult::Value(Some(value)))) if has(value)
    );
    input_has || outcome_has
}

/// The same write with the value it writes replaced by [`UNREAD`]. A put and
/// an append of an unread value do the same to every state, so both become
/// the same put (and equal inputs let the search treat them as twins).
fn with_unread_value(op: KvOp) -> KvOp {
    match op {
        KvOp::Put { key, .. } | KvOp::Append { key, .. } => KvOp::Put {
            key,
            value: UNREAD.into(),
        },
        KvOp::Cas { key, expected, .. } => KvOp::Cas {
            key,
            expected,
            new: UNREAD.into(),
        },
        KvOp::Get { .. } => unreachable!("only writes are rewritten"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::history::RegisterHistory;
    use crate::linearizability::{
        check, check_kv, Budget, CasRegisterModel, CheckOutcome, RegisterOp, RegisterResult,
    };

    fn put(key: &str, value: &str) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    fn append(key: &str, value: &str) -> KvOp {
        KvOp::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    fn get(key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    fn read(value: &str) -> Outcome<KvResult> {
        Outcome::Ok(KvResult::Value(Some(value.into())))
    }

    /// Calls invoked and completed one after another, each `(client, op,
    /// outcome)`; `None` leaves the call pending.
    fn sequential(calls: Vec<(u64, KvOp, Option<Outcome<KvResult>>)>) -> History {
        let mut history = History::new();
        for (time, (client, op, outcome)) in (0u64..).zip(calls) {
            let id = history.invoke(client, op, 2 * time);
            if let Some(outcome) = outcome {
                history.complete(id, outcome, 2 * time + 1);
            }
        }
        history
    }

    #[test]
    fn only_unknown_writes_no_read_saw_are_rewritten() {
        let history = sequential(vec![
            (0, append("k", "a;"), Some(Outcome::Unknown)),
            (1, append("k", "b;"), Some(Outcome::Unknown)),
            (2, put("k", "c"), Some(Outcome::Ok(KvResult::Done))),
            (3, append("k", "d;"), None),
            (4, get("k"), Some(read("cd;"))),
            (5, put("j", "b;"), Some(Outcome::Unknown)),
        ]);
        let folded = fold_unread_writes(&history).expect("two writes qualify");
        let inputs: Vec<&KvOp> = folded.operations().iter().map(|op| &op.input).collect();
        assert_eq!(inputs[0], &put("k", UNREAD), "unread, unknown: rewritten");
        assert_eq!(
            inputs[1],
            &put("k", UNREAD),
            "an append becomes the same put"
        );
        assert_eq!(inputs[2], &put("k", "c"), "returned: kept");
        assert_eq!(inputs[3], &append("k", "d;"), "read: kept");
        assert_eq!(
            inputs[5],
            &put("j", UNREAD),
            "what another key read does not count"
        );
    }

    #[test]
    fn a_value_a_cas_expected_counts_as_read() {
        let history = sequential(vec![
            (0, put("k", "a"), Some(Outcome::Unknown)),
            (
                1,
                KvOp::Cas {
                    key: "k".into(),
                    expected: Some("a".into()),
                    new: "b".into(),
                },
                Some(Outcome::Ok(KvResult::CasFailed)),
            ),
        ]);
        assert!(fold_unread_writes(&history).is_none());
    }

    #[test]
    fn a_history_holding_the_marker_is_left_alone() {
        let history = sequential(vec![
            (0, put("k", "a"), Some(Outcome::Unknown)),
            (1, get("k"), Some(read(UNREAD))),
        ]);
        assert!(fold_unread_writes(&history).is_none());
    }

    #[test]
    fn an_unread_write_can_still_make_a_cas_fail() {
        // The cas fails only if the unread put went first: the rewrite must
        // keep it able to do that.
        let history = sequential(vec![
            (0, put("k", "a"), Some(Outcome::Ok(KvResult::Done))),
            (1, put("k", "lost"), Some(Outcome::Unknown)),
            (
                2,
                KvOp::Cas {
                    key: "k".into(),
                    expected: Some("a".into()),
                    new: "b".into(),
                },
                Some(Outcome::Ok(KvResult::CasFailed)),
            ),
        ]);
        assert!(fold_unread_writes(&history).is_some());
        assert_eq!(
            check_kv(&history, Budget::default()),
            CheckOutcome::Linearizable
        );
    }

    #[test]
    fn many_unread_unknown_writes_are_decided_at_once() {
        // Forty writes of unknown outcome no read saw, then a read that
        // needs none of them and one that no order explains: 2^40 subsets
        // for a search that tells the writes apart.
        let mut calls = Vec::new();
        for client in 0..40 {
            calls.push((client, append("k", &format!("w{client};")), None));
        }
        calls.push((40, put("k", "v"), Some(Outcome::Ok(KvResult::Done))));
        calls.push((41, get("k"), Some(read("v"))));
        let linearizable = sequential(calls.clone());
        let steps = Budget {
            max_steps: 10_000,
            ..Budget::default()
        };
        assert_eq!(check_kv(&linearizable, steps), CheckOutcome::Linearizable);
        calls.push((42, get("k"), Some(read("never written"))));
        let not = sequential(calls);
        assert!(matches!(
            check_kv(&not, steps),
            CheckOutcome::NotLinearizable(_)
        ));
    }

    #[test]
    fn twins_of_unknown_outcome_may_both_take_effect() {
        // Two identical writes of unknown outcome; the reads need both: one
        // before the write of 2, one after it.
        let history = |twins: usize| {
            let mut history = RegisterHistory::new();
            for client in 0..twins as u64 {
                history.invoke(client, RegisterOp::Write(1), 0);
            }
            let mut call = |client, op, result, time| {
                let id = history.invoke(client, op, time);
                history.complete(id, Outcome::Ok(result), time + 1);
            };
            call(10, RegisterOp::Read, RegisterResult::Value(Some(1)), 2);
            call(10, RegisterOp::Write(2), RegisterResult::Done, 4);
            call(10, RegisterOp::Read, RegisterResult::Value(Some(2)), 6);
            call(10, RegisterOp::Read, RegisterResult::Value(Some(1)), 8);
            history
        };
        let budget = Budget::default();
        assert!(check(&CasRegisterModel, &history(2), budget).is_linearizable());
        assert!(matches!(
            check(&CasRegisterModel, &history(1), budget),
            CheckOutcome::NotLinearizable(_)
        ));
    }
}
