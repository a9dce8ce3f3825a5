//! Linearizability: is there one order of a history's calls, consistent with
//! real time, in which a sequential specification (a [`Model`]) produces every
//! result the clients saw?
//!
//! - [`check`] / [`check_kv`]: the whole-history search (Wing & Gong with
//!   Lowe's memoization), split per key (P-compositionality), under a
//!   [`Budget`]: out of budget is [`CheckOutcome::Unknown`], never a pass.
//! - the fast path for unique values (`unique`): a key whose written
//!   values are all distinct is decided in O(n log n), without a search;
//!   the other keys are searched.
//! - [`OnlineKvChecker`]: the same question asked after every completion, so a
//!   violation is reported at the very response that caused it.
//! - [`parse`]: Jepsen's etcd logs and Porcupine's kv histories.
//!
//! Calls that ended [`Outcome::Unknown`] (or are still pending at the end) may
//! take effect at any time after their invocation, or never; calls that ended
//! [`Outcome::Fail`] did not happen.

mod explain;
mod hash;
mod history;
mod model;
mod online;
pub mod parse;
mod refute;
mod search;
mod unique;
mod unread;
mod witness;

pub use explain::{Explanation, OpSummary};
pub use history::{
    History, KvOp, KvResult, OpHistory, OpId, Operation, Outcome, RegisterHistory, RegisterOp,
    RegisterResult,
};
pub use model::{CasRegisterModel, HistoryOf, KvModel, Model};
pub use online::{OnlineChecker, OnlineKvChecker};
pub use unique::{Access, Value};

use std::hash::BuildHasher;

use hashbrown::HashTable;

use search::{BudgetLeft, Exhausted, SearchVerdict};

/// Limits on one check. The search is NP-complete in general; a check that
/// reaches a limit says [`CheckOutcome::Unknown`].
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Search steps (one per call considered), over all partitions together.
    pub max_steps: u64,
    /// Bytes the search's tables may hold at once (one partition at a time):
    /// the memo of failed configurations, the model states it met (a long
    /// append-only value is a large state) and the cached transitions.
    pub max_memory_bytes: usize,
    /// Asked every few thousand steps; `true` stops the check, which then
    /// says unknown ("interrupted"). The checker keeps no clock: a caller
    /// with a time limit passes a function that reads one.
    pub interrupt: Option<fn() -> bool>,
}

impl Default for Budget {
    /// A few minutes and 2 GiB at most, far above what real histories need
    /// (the 102 Jepsen etcd histories need under 10^6 steps).
    fn default() -> Self {
        Self {
            max_steps: 200_000_000,
            max_memory_bytes: 2 << 30,
            interrupt: None,
        }
    }
}

/// The reason of a [`CheckOutcome::Unknown`] when [`Budget::interrupt`]
/// stopped the check.
pub const INTERRUPTED: &str = "interrupted";

/// The verdict of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Some order of the calls fits the model.
    Linearizable,
    /// None does; the explanation shows why.
    NotLinearizable(Explanation),
    /// The budget ran out first: no verdict. Never count this as a pass.
    Unknown {
        /// What ran out.
        reason: String,
    },
}

impl CheckOutcome {
    /// True only for [`CheckOutcome::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, CheckOutcome::Linearizable)
    }
}

/// How a check treats the model's partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Partitioning {
    /// Search each partition (key) apart: exponentially cheaper, same verdict.
    #[default]
    PerKey,
    /// Search the whole history at once (one state per key); for comparison
    /// with checkers that do not split, and to test the splitting.
    Whole,
}

/// Checks the simulator's key-value history (absent keys read as `None`).
pub fn check_kv(history: &History, budget: Budget) -> CheckOutcome {
    check(&KvModel::absent_is_none(), history, budget)
}

/// Checks `history` against `model`, per key.
pub fn check<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
) -> CheckOutcome {
    check_with(model, history, budget, Partitioning::PerKey)
}

/// Checks `history` against `model` with the given partitioning.
///
/// Per key, the keys whose written values are unique are decided by the
/// fast path (see `unique`), and only the others are searched.
pub fn check_with<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    partitioning: Partitioning,
) -> CheckOutcome {
    if partitioning == Partitioning::Whole {
        return check_by_search(model, history, budget, partitioning, Searched::All);
    }
    let keys = match unique::check_keys(model, history, FAST_PATH_CALLS_MIN) {
        unique::KeyChecks::AllShort(numbers) => {
            let searched = Searched::KeysNumbered(&numbers);
            return check_by_search(model, history, budget, partitioning, searched);
        }
        unique::KeyChecks::Checked(keys) => keys,
    };
    let decided = keys
        .iter()
        .any(|(_, _, verdict)| !matches!(verdict, unique::KeyVerdict::Search));
    if !decided {
        return check_by_search(model, history, budget, partitioning, Searched::All);
    }
    // Only the keys the fast path could not decide are searched.
    let mut dropped = vec![true; history.len()];
    let mut searched = false;
    let mut violations = Vec::new();
    for (key, calls, verdict) in keys {
        match verdict {
            unique::KeyVerdict::Linearizable => {}
            unique::KeyVerdict::Violation(violation) => violations.push((key, calls, violation)),
            unique::KeyVerdict::Search => {
                searched = true;
                for &call in &calls {
                    dropped[call as usize] = false;
                }
            }
        }
    }
    if !violations.is_empty() {
        return explain_violations(model, history, budget, violations);
    }
    match searched {
        false => CheckOutcome::Linearizable,
        true => check_by_search(
            model,
            history,
            budget,
            partitioning,
            Searched::AllBut(&dropped),
        ),
    }
}

/// Keys of fewer calls are searched without trying the fast path first:
/// the search decides them in microseconds (kv c10-ok, 30 to 40 calls a key,
/// took twice as long through the fast path's tables).
const FAST_PATH_CALLS_MIN: usize = 64;

/// Checks `history` by the general search alone, without the fast path for
/// unique values (to compare the two; a caller wants [`check`]).
pub fn check_searching<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
) -> CheckOutcome {
    check_by_search(model, history, budget, Partitioning::PerKey, Searched::All)
}

/// The fast path's verdict if every key of `history` qualifies for it,
/// else `None` (to compare the two; a caller wants [`check`]).
pub fn check_unique_values<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
) -> Option<CheckOutcome> {
    let keys = match unique::check_keys(model, history, 0) {
        // With no minimum, only a history without calls has no key long
        // enough: nothing to check.
        unique::KeyChecks::AllShort(_) => return Some(CheckOutcome::Linearizable),
        unique::KeyChecks::Checked(keys) => keys,
    };
    for (key, _, verdict) in keys {
        match verdict {
            unique::KeyVerdict::Linearizable => {}
            unique::KeyVerdict::Violation(violation) => {
                let explanation = unique::explain(history, key, violation);
                return Some(CheckOutcome::NotLinearizable(explanation));
            }
            unique::KeyVerdict::Search => return None,
        }
    }
    Some(CheckOutcome::Linearizable)
}

/// Steps the search may take to explain a violation the fast path found,
/// per key: its explanation (a longest linearizable prefix) reads better,
/// and on the small keys of simulated runs it is found at once.
const EXPLAIN_STEPS_MAX: u64 = 2_000;

/// Keys whose violation the search is asked to explain, at most.
const EXPLAINED_KEYS_MAX: usize = 1;

/// The outcome for the violations the fast path found (per key, with its
/// calls, in order of the keys' first appearance): the first the search
/// explains within [`EXPLAIN_STEPS_MAX`] steps, else the fast path's
/// explanation of the first.
fn explain_violations<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    violations: Vec<(Option<&str>, Vec<u32>, unique::Violation)>,
) -> CheckOutcome {
    let small = Budget {
        max_steps: budget.max_steps.min(EXPLAIN_STEPS_MAX),
        ..budget
    };
    for (key, calls, _) in violations.iter().take(EXPLAINED_KEYS_MAX) {
        let mut dropped = vec![true; history.len()];
        for &call in calls {
            dropped[call as usize] = false;
        }
        let searched = Searched::AllBut(&dropped);
        match check_by_search(model, history, small, Partitioning::PerKey, searched) {
            CheckOutcome::NotLinearizable(explanation) => {
                return CheckOutcome::NotLinearizable(explanation)
            }
            CheckOutcome::Linearizable => {
                unreachable!("the fast path and the search disagree on key {key:?}")
            }
            CheckOutcome::Unknown { .. } => {}
        }
    }
    let (key, _, violation) = violations.into_iter().next().expect("a violation");
    CheckOutcome::NotLinearizable(unique::explain(history, key, violation))
}

/// Which calls the search takes.
#[derive(Clone, Copy)]
enum Searched<'a, 'h> {
    /// All of them.
    All,
    /// All of them, with the numbers of their keys already known.
    KeysNumbered(&'a unique::KeyNumbers<'h>),
    /// All but those `dropped` says (by history index).
    AllBut(&'a [bool]),
}

/// The search over the calls `searched`.
fn check_by_search<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    partitioning: Partitioning,
    searched: Searched<'_, '_>,
) -> CheckOutcome {
    // The model's rewrite, if it has one, is searched instead; an
    // explanation still names the operations as the history has them.
    match model.reduce(history) {
        Some((reduced_model, reduced)) => search_groups(
            &reduced_model,
            &reduced,
            history,
            budget,
            partitioning,
            searched,
        ),
        None => search_groups(model, history, history, budget, partitioning, searched),
    }
}

/// Searches `history` (explaining a failure with the operations of
/// `shown`, which has the same shape).
fn search_groups<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    shown: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    partitioning: Partitioning,
    searched: Searched<'_, '_>,
) -> CheckOutcome {
    let groups = Groups::of(model, history, partitioning, searched);
    let mut searcher = search::Searcher::new(model, groups.largest());
    // Partitions are searched in rounds, each with a step allowance that
    // grows fourfold per round, until each is decided: one hard partition
    // that is linearizable must not hide, for minutes, a violation that
    // another shows in milliseconds (Porcupine's c50-bad: one key takes
    // 100 s, the others fail in 10 ms). A search cut short starts over in
    // the next round; a partition alone gets all that is left.
    //
    // A partition with calls of unknown outcome is first searched placing at
    // most one of them, then two, then three (those tried last), before the
    // search without limit: when a few of many timed-out writes took effect,
    // the search without limit wanders through which of them did (a
    // simulated run of 47 calls, 35 timed out: 5 s), while a limited one
    // finds them at once. A limited search proves a violation only if the
    // limit never kept a call out.
    let mut pending: Vec<(usize, usize)> = (0..groups.spans.len())
        .filter(|&group| !groups.spans[group].calls.is_empty())
        .map(|group| {
            (
                group,
                if groups.has_unknown(group) {
                    0
                } else {
                    UNKNOWN_CAPS.len()
                },
            )
        })
        .collect();
    let mut steps_left = budget.max_steps;
    let mut allowance = FIRST_ROUND_STEPS;
    let mut unknown = None;
    while !pending.is_empty() {
        let alone = pending.len() == 1;
        let mut still_pending = Vec::new();
        for &(group, stage) in &pending {
            let unknown_cap = UNKNOWN_CAPS.get(stage).copied();
            let round_steps = if alone && unknown_cap.is_none() {
                steps_left
            } else {
                allowance.min(steps_left)
            };
            let mut left = BudgetLeft {
                steps_left: round_steps,
                max_memory_bytes: budget.max_memory_bytes,
                interrupt: budget.interrupt,
            };
            let verdict = groups.search(&mut searcher, group, unknown_cap, &mut left);
            steps_left -= round_steps - left.steps_left;
            match verdict {
                SearchVerdict::Linearizable => {}
                SearchVerdict::NotLinearizable(failure) => {
                    return groups.explain(model, shown, group, failure);
                }
                SearchVerdict::OutOfBudget(Exhausted::Steps | Exhausted::UnknownCap)
                    if steps_left > 0 =>
                {
                    still_pending.push((group, (stage + 1).min(UNKNOWN_CAPS.len())));
                }
                SearchVerdict::OutOfBudget(Exhausted::Interrupted) => {
                    return CheckOutcome::Unknown {
                        reason: Exhausted::Interrupted.reason().into(),
                    };
                }
                // Another partition may still show a violation: keep going.
                SearchVerdict::OutOfBudget(exhausted) => {
                    unknown = unknown.or(Some(exhausted.reason()));
                }
            }
        }
        pending = still_pending;
        allowance = allowance.saturating_mul(4);
    }
    match unknown {
        Some(reason) => CheckOutcome::Unknown {
            reason: reason.into(),
        },
        None => CheckOutcome::Linearizable,
    }
}

/// Steps each partition may take in the first round of a check.
const FIRST_ROUND_STEPS: u64 = 40_000;

/// The limits on calls of unknown outcome placed, round after round, before
/// the search without limit.
const UNKNOWN_CAPS: [u32; 3] = [1, 2, 3];

/// The calls that matter, grouped for searching: one group per key, or one
/// in all. Groups are laid out one after another in flat arrays (a history
/// may have thousands of keys; a few vectors per key would cost more than
/// searching most of them), built in one pass over the operations and one
/// over the events.
struct Groups<'h, M: Model> {
    /// Each group's calls in invocation order.
    calls: Vec<search::Call<'h, M>>,
    /// Each group's invocations and returns in real-time order: the call's
    /// index among the group's calls, shifted left by one, with the low bit
    /// set for a return. Calls of unknown outcome have no return.
    entries: Vec<u32>,
    /// Every key, in order of first appearance (`None`: the model does not
    /// split).
    keys: Vec<Option<&'h str>>,
    spans: Vec<Span>,
}

/// Where one group lies in [`Groups`].
struct Span {
    calls: std::ops::Range<usize>,
    entries: std::ops::Range<usize>,
    /// The group's keys, in `keys`: a call's partition is its key's index
    /// in this range.
    keys: std::ops::Range<usize>,
}

impl<'h, M: Model> Groups<'h, M> {
    /// Failed calls and reads of unknown outcome constrain nothing: dropped,
    /// as are the calls that `searched` leaves out (their keys were decided
    /// without a search). Where `searched` numbers the keys, a group per
    /// key number (some may be empty).
    fn of(
        model: &M,
        history: &'h OpHistory<M::Input, M::Output>,
        partitioning: Partitioning,
        searched: Searched<'_, 'h>,
    ) -> Self {
        let operations = history.operations();
        let per_key = partitioning == Partitioning::PerKey;
        let (dropped, numbered) = match searched {
            Searched::All => (None, None),
            Searched::AllBut(dropped) => (Some(dropped), None),
            Searched::KeysNumbered(numbers) => (None, Some(numbers)),
        };
        if let Some(numbers) = numbered {
            assert_eq!(
                numbers.of_operation.len(),
                operations.len(),
                "numbered keys of this history"
            );
        }
        let mut keys: Vec<Option<&'h str>> = numbered.map_or_else(Vec::new, |n| n.keys.clone());
        // Key numbers (indices into `keys`) by key.
        let mut key_numbers: HashTable<u32> = HashTable::new();
        // Per operation: its key number, or `NONE` if dropped; and its index
        // among its group's calls, shifted left by one, with the low bit set
        // if it returned.
        let mut place: Vec<(u32, u32)> = Vec::with_capacity(operations.len());
        // Per group: its calls, and its invocations and returns.
        let mut counts: Vec<(u32, u32)> = match (numbered, per_key) {
            (Some(numbers), true) => vec![(0, 0); numbers.keys.len()],
            _ => Vec::new(),
        };
        for (index, op) in operations.iter().enumerate() {
            if dropped.is_some_and(|dropped| dropped[index]) {
                place.push((search::NONE, 0));
                continue;
            }
            let returned = match &op.outcome {
                Some(Outcome::Ok(_)) => Some(true),
                Some(Outcome::Fail) => None,
                Some(Outcome::Unknown) | None if model.is_read_only(&op.input) => None,
                Some(Outcome::Unknown) | None => Some(false),
            };
            let Some(returned) = returned else {
                place.push((search::NONE, 0));
                continue;
            };
            let key = model.partition(&op.input);
            let number = match numbered {
                Some(numbers) => numbers.of_operation[index],
                None => number_key(&mut key_numbers, &mut keys, key),
            };
            let group = if per_key { number as usize } else { 0 };
            if group == counts.len() {
                counts.push((0, 0));
            }
            let (calls, entries) = &mut counts[group];
            place.push((number, *calls << 1 | u32::from(returned)));
            *calls += 1;
            *entries += 1 + u32::from(returned);
        }
        // Lay the groups out one after another; `counts` becomes where each
        // group's next call and entry go.
        let (mut call_at, mut entry_at) = (0, 0);
        let mut spans = Vec::with_capacity(counts.len());
        for (group, (calls, entries)) in counts.iter_mut().enumerate() {
            spans.push(Span {
                calls: call_at..call_at + *calls as usize,
                entries: entry_at..entry_at + *entries as usize,
                keys: if per_key {
                    group..group + 1
                } else {
                    0..keys.len()
                },
            });
            (*calls, *entries) = (call_at as u32, entry_at as u32);
            call_at += spans[group].calls.len();
            entry_at += spans[group].entries.len();
        }
        let group_and_partition = |number: u32| match per_key {
            true => (number as usize, 0),
            false => (0, number),
        };
        // Each group's operations in invocation order (every slot is written
        // below), then their calls.
        let mut members = vec![search::NONE; call_at];
        for (index, &(number, _)) in (0u32..).zip(&place) {
            if number != search::NONE {
                let at = &mut counts[group_and_partition(number).0].0;
                members[*at as usize] = index;
                *at += 1;
            }
        }
        let mut calls: Vec<search::Call<'h, M>> = members
            .iter()
            .map(|&index| {
                let (number, tagged) = place[index as usize];
                let operation = &operations[index as usize];
                let partition = group_and_partition(number).1;
                search::Call::new(model, operation, index, tagged >> 1, partition)
            })
            .collect();
        for span in &spans {
            let group = &mut calls[span.calls.clone()];
            if group.iter().any(search::Call::is_unknown) {
                search::Call::link_twins(group);
            }
        }
        // Every group's entries in real-time order, in one pass over the
        // history's events (no sorting per group). Every slot is written
        // below (filled with `NONE`, not zero: a zeroed allocation takes
        // mimalloc's slow path).
        let mut entries = vec![search::NONE; entry_at];
        for (op, is_return) in history.event_order() {
            let (number, tagged) = place[op.0 as usize];
            if number == search::NONE || (is_return && tagged & 1 == 0) {
                continue;
            }
            let at = &mut counts[group_and_partition(number).0].1;
            entries[*at as usize] = (tagged & !1) | u32::from(is_return);
            *at += 1;
        }
        Groups {
            calls,
            entries,
            keys,
            spans,
        }
    }

    /// Calls in the largest group.
    fn largest(&self) -> usize {
        let sizes = self.spans.iter().map(|span| span.calls.len());
        sizes.max().unwrap_or(0)
    }

    /// True if group number `group` has calls of unknown outcome.
    fn has_unknown(&self, group: usize) -> bool {
        let calls = &self.calls[self.spans[group].calls.clone()];
        calls.iter().any(search::Call::is_unknown)
    }

    /// Searches group number `group`, placing at most `unknown_cap` calls of
    /// unknown outcome.
    fn search(
        &self,
        searcher: &mut search::Searcher<'h, '_, M>,
        group: usize,
        unknown_cap: Option<u32>,
        left: &mut BudgetLeft,
    ) -> SearchVerdict<M::State> {
        let span = &self.spans[group];
        searcher.search(
            &self.calls[span.calls.clone()],
            &self.entries[span.entries.clone()],
            span.keys.len(),
            unknown_cap,
            left,
        )
    }

    /// The outcome for a search of group number `group` that failed.
    fn explain(
        &self,
        model: &M,
        history: &OpHistory<M::Input, M::Output>,
        group: usize,
        failure: search::Failure<M::State>,
    ) -> CheckOutcome {
        let span = &self.spans[group];
        let calls = &self.calls[span.calls.clone()];
        let keys = &self.keys[span.keys.clone()];
        CheckOutcome::NotLinearizable(explain(model, history, calls, keys, failure))
    }
}

fn explain<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    calls: &[search::Call<'_, M>],
    keys: &[Option<&str>],
    failure: search::Failure<M::State>,
) -> Explanation {
    let summary = |&index: &u32| OpSummary::of(history, OpId(index));
    let stuck: Vec<OpSummary> = failure.stuck.iter().map(summary).collect();
    // The key of the blocking call (the first stuck one) names the culprit.
    let blocking_partition = failure.stuck.first().and_then(|&index| {
        let call = calls.iter().find(|call| call.history_index() == index)?;
        Some(call.partition() as usize)
    });
    let state = match (failure.states.len(), blocking_partition) {
        (1, _) => model.describe_state(&failure.states[0]),
        (_, Some(partition)) => model.describe_state(&failure.states[partition]),
        _ => describe_states(model, keys, &failure.states),
    };
    Explanation {
        key: blocking_partition.and_then(|partition| keys[partition].map(str::to_owned)),
        prefix: failure.prefix.iter().map(summary).collect(),
        state,
        stuck,
    }
}

/// The number of `key` in `keys` (in order of first appearance), found in
/// `key_numbers` or given now.
fn number_key<'h>(
    key_numbers: &mut HashTable<u32>,
    keys: &mut Vec<Option<&'h str>>,
    key: Option<&'h str>,
) -> u32 {
    let hash = hash::FxBuildHasher.hash_one(key);
    if let Some(&number) = key_numbers.find(hash, |&number| keys[number as usize] == key) {
        return number;
    }
    let number = u32::try_from(keys.len()).expect("fewer than 2^32 keys");
    key_numbers.insert_unique(hash, number, |&number| {
        hash::FxBuildHasher.hash_one(keys[number as usize])
    });
    keys.push(key);
    number
}

/// The state of every partition, e.g. `"x" = "1", "y" = nil`.
fn describe_states<M: Model>(model: &M, keys: &[Option<&str>], states: &[M::State]) -> String {
    let described = keys.iter().zip(states).map(|(key, state)| {
        let state = model.describe_state(state);
        match key {
            Some(key) => format!("{key:?} = {state}"),
            None => state,
        }
    });
    described.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key-value model without its shortcuts (no rewrite, no stranded
    /// reads): a search that must try every order, to test the budget.
    struct PlainKv(KvModel);

    impl Model for PlainKv {
        type Input = KvOp;
        type Output = KvResult;
        type State = Option<String>;

        fn init(&self) -> Self::State {
            self.0.init()
        }

        fn apply(&self, state: &Self::State, input: &KvOp) -> (Self::State, KvResult) {
            self.0.apply(state, input)
        }

        fn partition<'a>(&self, input: &'a KvOp) -> Option<&'a str> {
            self.0.partition(input)
        }

        fn is_read_only(&self, input: &KvOp) -> bool {
            self.0.is_read_only(input)
        }

        fn state_bytes(&self, state: &Self::State) -> usize {
            self.0.state_bytes(state)
        }
    }

    fn check_plain(history: &History, budget: Budget) -> CheckOutcome {
        check(&PlainKv(KvModel::absent_is_none()), history, budget)
    }

    /// `writers` appends, all concurrent and all returned, then a read of a
    /// value no order of them makes: every order is tried, each a new state.
    fn concurrent_appends_then_an_impossible_read(writers: u64) -> History {
        let mut history = History::new();
        let ids: Vec<OpId> = (0..writers)
            .map(|client| {
                let value = format!("w{client};");
                let append = KvOp::Append {
                    key: "k".into(),
                    value,
                };
                history.invoke(client, append, 0)
            })
            .collect();
        for id in ids {
            history.complete(id, Outcome::Ok(KvResult::Done), 1);
        }
        let read = history.invoke(writers, KvOp::Get { key: "k".into() }, 2);
        let never = KvResult::Value(Some("never".into()));
        history.complete(read, Outcome::Ok(never), 3);
        history
    }

    /// Twelve appends of unknown outcome, all concurrent, then a read that
    /// saw them all in the order `order`.
    fn unknown_appends_then_a_read(order: &[usize]) -> History {
        let mut history = History::new();
        for client in 0..12u64 {
            let value = format!("a{client};");
            history.invoke(
                client,
                KvOp::Append {
                    key: "k".into(),
                    value,
                },
                0,
            );
        }
        let read = history.invoke(12, KvOp::Get { key: "k".into() }, 1);
        let seen: String = order.iter().map(|client| format!("a{client};")).collect();
        history.complete(read, Outcome::Ok(KvResult::Value(Some(seen))), 2);
        history
    }

    #[test]
    fn a_state_that_strands_a_read_is_left_at_once() {
        // Twelve unknown appends read in one order: 12! orders to try for a
        // search that finds a wrong one only at the read.
        let steps = Budget {
            max_steps: 20_000,
            ..Budget::default()
        };
        let order: Vec<usize> = (0..12).rev().collect();
        let history = unknown_appends_then_a_read(&order);
        assert_eq!(check_kv(&history, steps), CheckOutcome::Linearizable);
        // A value read twice: no order of the appends makes it.
        let mut twice = order.clone();
        twice[11] = twice[0];
        let history = unknown_appends_then_a_read(&twice);
        assert!(matches!(
            check_kv(&history, steps),
            CheckOutcome::NotLinearizable(_)
        ));
    }

    #[test]
    fn an_interrupt_stops_the_check_as_unknown() {
        fn always() -> bool {
            true
        }
        let history = concurrent_appends_then_an_impossible_read(14);
        let budget = Budget {
            interrupt: Some(always),
            ..Budget::default()
        };
        assert_eq!(
            check_plain(&history, budget),
            CheckOutcome::Unknown {
                reason: INTERRUPTED.into()
            }
        );
    }

    #[test]
    fn past_the_memory_budget_the_check_is_unknown() {
        // 2^14 sets of appends, each a state of its own: far past 4 MiB.
        let history = concurrent_appends_then_an_impossible_read(14);
        let budget = Budget {
            max_memory_bytes: 4 << 20,
            ..Budget::default()
        };
        assert_eq!(
            check_plain(&history, budget),
            CheckOutcome::Unknown {
                reason: "memory budget exhausted".into()
            }
        );
        let small = concurrent_appends_then_an_impossible_read(6);
        assert!(matches!(
            check_plain(&small, budget),
            CheckOutcome::NotLinearizable(_)
        ));
    }
}
