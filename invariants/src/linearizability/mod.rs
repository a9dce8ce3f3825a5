//! Linearizability: is there one order of a history's calls, consistent with
//! real time, in which a sequential specification (a [`Model`]) produces every
//! result the clients saw?
//!
//! - [`check`] / [`check_kv`]: the whole-history search (Wing & Gong with
//!   Lowe's memoization), split per key (P-compositionality), under a
//!   [`Budget`]: out of budget is [`CheckOutcome::Unknown`], never a pass.
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
mod search;
mod witness;

pub use explain::{Explanation, OpSummary};
pub use history::{
    History, KvOp, KvResult, OpHistory, OpId, Operation, Outcome, RegisterHistory, RegisterOp,
    RegisterResult,
};
pub use model::{CasRegisterModel, KvModel, Model};
pub use online::{OnlineChecker, OnlineKvChecker};

use std::hash::BuildHasher;

use hashbrown::HashTable;

use search::{BudgetLeft, SearchVerdict};

/// Limits on one check. The search is NP-complete in general; a check that
/// reaches a limit says [`CheckOutcome::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Search steps (one per call considered), over all partitions together.
    pub max_steps: u64,
    /// Memoized configurations held at once (one partition at a time); each
    /// costs a few dozen bytes.
    pub max_memo_entries: usize,
}

impl Default for Budget {
    /// About ten seconds and a few hundred MB at most, far above what real
    /// histories need (the 102 Jepsen etcd histories need under 10^6 steps).
    fn default() -> Self {
        Self {
            max_steps: 200_000_000,
            max_memo_entries: 5_000_000,
        }
    }
}

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
pub fn check_with<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    partitioning: Partitioning,
) -> CheckOutcome {
    let groups = Groups::of(model, history, partitioning);
    let mut left = BudgetLeft {
        steps_left: budget.max_steps,
        max_memo_entries: budget.max_memo_entries,
    };
    let mut searcher = search::Searcher::new(model, history, groups.largest());
    let mut unknown = None;
    for group in 0..groups.spans.len() {
        match groups.search(&mut searcher, group, &mut left) {
            SearchVerdict::Linearizable => {}
            SearchVerdict::NotLinearizable(failure) => {
                return groups.explain::<M>(history, group, failure);
            }
            // Another partition may still show a violation: keep going.
            SearchVerdict::OutOfBudget(reason) => unknown = unknown.or(Some(reason)),
        }
    }
    match unknown {
        Some(reason) => CheckOutcome::Unknown { reason },
        None => CheckOutcome::Linearizable,
    }
}

/// The calls that matter, grouped for searching: one group per key, or one
/// in all. Groups are laid out one after another in flat arrays (a history
/// may have thousands of keys; a few vectors per key would cost more than
/// searching most of them).
struct Groups<'h> {
    /// History indices: each group's calls, in invocation order.
    members: Vec<u32>,
    /// Partition of each member: an index into its group's `keys`.
    partition_of: Vec<u32>,
    /// Each group's invocations and returns in real-time order: (position in
    /// the history, index among the group's members, true for an
    /// invocation). Calls of unknown outcome have no return.
    events: Vec<(u32, u32, bool)>,
    spans: Vec<Span<'h>>,
}

/// Where one group lies in [`Groups`].
struct Span<'h> {
    members: std::ops::Range<usize>,
    events: std::ops::Range<usize>,
    /// The group's keys (`None`: the model does not split).
    keys: Vec<Option<&'h str>>,
}

/// One group's calls, for explaining a failure.
struct Group<'g, 'h> {
    members: &'g [u32],
    partition_of: &'g [u32],
    keys: &'g [Option<&'h str>],
}

impl<'h> Groups<'h> {
    /// Failed calls and reads of unknown outcome constrain nothing: dropped.
    fn of<M: Model>(
        model: &M,
        history: &'h OpHistory<M::Input, M::Output>,
        partitioning: Partitioning,
    ) -> Self {
        let operations = history.operations();
        let mut spans: Vec<Span<'h>> = Vec::new();
        // Group ids by key; groups are numbered by first appearance.
        let mut group_of_key: HashTable<u32> = HashTable::new();
        // Per operation: (group or `NONE`, index among the group's members).
        let mut place = vec![(search::NONE, 0u32); operations.len()];
        // Per operation, without splitting: its key's partition.
        let mut partition_of_op = Vec::new();
        // Per group: its members, and its invocations and returns.
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for (index, op) in operations.iter().enumerate() {
            let returned = match &op.outcome {
                Some(Outcome::Ok(_)) => true,
                Some(Outcome::Fail) => continue,
                Some(Outcome::Unknown) | None if model.is_read_only(&op.input) => continue,
                Some(Outcome::Unknown) | None => false,
            };
            let key = model.partition(&op.input);
            let next = u32::try_from(spans.len()).expect("fewer than 2^32 keys");
            let group = match partitioning {
                Partitioning::PerKey => {
                    let hash = hash::FxBuildHasher.hash_one(key);
                    let known =
                        group_of_key.find(hash, |&group| spans[group as usize].keys[0] == key);
                    match known {
                        Some(&group) => group,
                        None => {
                            group_of_key.insert_unique(hash, next, |&group| {
                                hash::FxBuildHasher.hash_one(spans[group as usize].keys[0])
                            });
                            next
                        }
                    }
                }
                Partitioning::Whole => 0,
            };
            if group == next {
                spans.push(Span {
                    members: 0..0,
                    events: 0..0,
                    keys: Vec::new(),
                });
                counts.push((0, 0));
            }
            if partitioning == Partitioning::Whole || group == next {
                // Only one group has several keys (`Whole`): a short list.
                let keys = &mut spans[group as usize].keys;
                let partition = match keys.iter().position(|known| *known == key) {
                    Some(partition) => partition,
                    None => {
                        keys.push(key);
                        keys.len() - 1
                    }
                };
                if partitioning == Partitioning::Whole {
                    partition_of_op.push(u32::try_from(partition).expect("fewer than 2^32 keys"));
                }
            }
            let (members, events) = &mut counts[group as usize];
            place[index] = (group, *members);
            *members += 1;
            *events += 1 + u32::from(returned);
        }
        // Lay the groups out one after another; `counts` becomes where each
        // group's next event goes.
        let (mut member_at, mut event_at) = (0, 0);
        for (span, (members, events)) in spans.iter_mut().zip(&mut counts) {
            span.members = member_at..member_at + *members as usize;
            span.events = event_at..event_at + *events as usize;
            *events = u32::try_from(event_at).expect("fewer than 2^32 events");
            member_at = span.members.end;
            event_at = span.events.end;
        }
        let mut members = vec![0; member_at];
        let mut partition_of = vec![0; member_at];
        let mut at_position = vec![(search::NONE, false); history.events() as usize];
        let mut partitions = partition_of_op.iter();
        for (index, (op, &(group, member))) in (0u32..).zip(operations.iter().zip(&place)) {
            if group == search::NONE {
                continue;
            }
            let at = spans[group as usize].members.start + member as usize;
            members[at] = index;
            if let Some(&partition) = partitions.next() {
                partition_of[at] = partition;
            }
            at_position[op.invoke_position as usize] = (index, true);
            if let (Some(Outcome::Ok(_)), Some(position)) = (&op.outcome, op.complete_position) {
                at_position[position as usize] = (index, false);
            }
        }
        // Every group's events in real-time order, in one pass over the
        // history's positions (no sorting per group).
        let mut events = vec![(0, 0, false); event_at];
        for (position, &(index, is_call)) in (0u32..).zip(&at_position) {
            if index != search::NONE {
                let (group, member) = place[index as usize];
                let at = &mut counts[group as usize].1;
                events[*at as usize] = (position, member, is_call);
                *at += 1;
            }
        }
        Groups {
            members,
            partition_of,
            events,
            spans,
        }
    }

    /// Calls in the largest group.
    fn largest(&self) -> usize {
        let sizes = self.spans.iter().map(|span| span.members.len());
        sizes.max().unwrap_or(0)
    }

    /// Searches group number `group`.
    fn search<M: Model>(
        &self,
        searcher: &mut search::Searcher<'h, '_, M>,
        group: usize,
        left: &mut BudgetLeft,
    ) -> SearchVerdict<M::State> {
        let span = &self.spans[group];
        searcher.search(
            &self.members[span.members.clone()],
            &self.partition_of[span.members.clone()],
            &self.events[span.events.clone()],
            span.keys.len(),
            left,
        )
    }

    /// The outcome for a search of group number `group` that failed.
    fn explain<M: Model>(
        &self,
        history: &OpHistory<M::Input, M::Output>,
        group: usize,
        failure: search::Failure<M::State>,
    ) -> CheckOutcome {
        let span = &self.spans[group];
        let group = Group {
            members: &self.members[span.members.clone()],
            partition_of: &self.partition_of[span.members.clone()],
            keys: &span.keys,
        };
        CheckOutcome::NotLinearizable(explain::<M>(history, &group, failure))
    }
}

fn explain<M: Model>(
    history: &OpHistory<M::Input, M::Output>,
    group: &Group<'_, '_>,
    failure: search::Failure<M::State>,
) -> Explanation {
    let summary = |&index: &u32| OpSummary::of(history, OpId(index));
    let stuck: Vec<OpSummary> = failure.stuck.iter().map(summary).collect();
    // The key of the blocking call (the first stuck one) names the culprit.
    let blocking_key = failure.stuck.first().and_then(|&index| {
        let member = group.members.iter().position(|&m| m == index)?;
        group.keys[group.partition_of[member] as usize]
    });
    let state = match (failure.states.len(), blocking_key) {
        (1, _) => format!("{:?}", failure.states[0]),
        (_, Some(key)) => {
            let partition = group.keys.iter().position(|k| *k == Some(key)).unwrap_or(0);
            format!("{:?}", failure.states[partition])
        }
        _ => format!("{:?}", failure.states),
    };
    Explanation {
        key: blocking_key.map(str::to_owned),
        prefix: failure.prefix.iter().map(summary).collect(),
        state,
        stuck,
    }
}
