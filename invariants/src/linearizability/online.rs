//! The online checker: linearizability asked after every completion.
//!
//! Per object (key) it keeps a frontier of configurations (which open calls are
//! already linearized, the state, and the results predicted for linearized
//! calls that have not returned yet). Every configuration consistent with the
//! history so far is reachable from the frontier by linearizing more open
//! calls, so a completion only has to extend the frontier until the completed
//! call is placed with the result it returned. An empty frontier is a
//! violation, found at the completion that caused it. Completed calls leave the
//! configurations at once (their slot is reused), so a configuration is a
//! 128-bit set of open calls, a state id and usually no predictions.
//!
//! Past its budget (or with more than 128 calls open on one key) the checker
//! stops checking online and `finish` runs the whole-history search instead:
//! never a false pass, never a false violation.

use std::hash::{Hash, Hasher};

use super::explain::{Explanation, OpSummary};
use super::hash::{FxHashMap, FxHashSet};
use super::history::{OpHistory, OpId, Outcome};
use super::model::{KvModel, Model};
use super::{check, check_with, Budget, CheckOutcome, Partitioning};

/// Calls open at once on one key, at most (the width of a configuration).
const SLOTS: u32 = 128;

/// The online checker for the simulator's key-value store.
pub type OnlineKvChecker = OnlineChecker<KvModel>;

impl OnlineChecker<KvModel> {
    /// An online checker of the simulator's store (absent keys read as `None`).
    pub fn new(budget: Budget) -> Self {
        Self::with_model(KvModel::absent_is_none(), budget)
    }
}

/// Checks a history as it is recorded; see the module documentation.
pub struct OnlineChecker<M: Model> {
    model: M,
    budget: Budget,
    /// Everything seen, for `finish`'s fallback and for explanations.
    history: OpHistory<M::Input, M::Output>,
    /// Caller's id -> index in `history`.
    internal_of: Vec<u32>,
    /// Index in `history` -> caller's id.
    external_of: Vec<OpId>,
    /// Index in `history` -> (object, slot) while the call is open.
    slot_of: Vec<(u32, u8)>,
    // allow-nondeterminism: membership only, never iterated
    object_of_key: FxHashMap<Option<String>, u32>,
    objects: Vec<Object<M>>,
    steps: u64,
    /// Why online checking stopped, if it did.
    degraded: Option<String>,
    violation: Option<Explanation>,
}

/// A configuration: the open calls linearized (bit = slot), the state id, and
/// the result predicted for each linearized call that has not returned.
#[derive(Clone, PartialEq, Eq)]
struct Config<O> {
    bits: u128,
    state: u32,
    /// Sorted by slot.
    predicted: Vec<(u8, O)>,
}

impl<O> Hash for Config<O> {
    fn hash<H: Hasher>(&self, hasher: &mut H) {
        // Predictions are rare and follow from the rest in practice: leave
        // them to equality.
        self.bits.hash(hasher);
        self.state.hash(hasher);
    }
}

/// An open call in a slot.
struct Slot<M: Model> {
    call: u32,
    input: M::Input,
    /// Ended with an unknown outcome: stays open for ever, no prediction.
    unknown: bool,
    /// Transitions computed for this call: (from, to, output).
    transitions: Vec<(u32, u32, M::Output)>,
}

/// One key's state of the online check.
struct Object<M: Model> {
    key: Option<String>,
    states: Vec<M::State>,
    // allow-nondeterminism: membership only, never iterated
    state_ids: FxHashMap<M::State, u32>,
    slots: Vec<Option<Slot<M>>>,
    /// Bit set: free slots.
    free: u128,
    // Invariant: never empty unless a violation was reported.
    frontier: Vec<Config<M::Output>>,
}

impl<M: Model> Object<M> {
    fn new(model: &M, key: Option<String>) -> Self {
        let mut object = Self {
            key,
            states: Vec::new(),
            state_ids: FxHashMap::default(),
            slots: (0..SLOTS).map(|_| None).collect(),
            free: u128::MAX,
            frontier: Vec::new(),
        };
        let init = object.intern(model.init());
        object.frontier.push(Config {
            bits: 0,
            state: init,
            predicted: Vec::new(),
        });
        object
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.state_ids.get(&state) {
            return id;
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.states.push(state.clone());
        self.state_ids.insert(state, id);
        id
    }

    /// The state and result of the call in `slot` from state `from`.
    fn apply(&mut self, model: &M, slot: u8, from: u32) -> (u32, M::Output) {
        let open = self.slots[slot as usize].as_ref().expect("slot is open");
        if let Some((_, to, output)) = open.transitions.iter().find(|t| t.0 == from) {
            return (*to, output.clone());
        }
        let (next, output) = model.apply(&self.states[from as usize], &open.input);
        let to = self.intern(next);
        let open = self.slots[slot as usize].as_mut().expect("slot is open");
        open.transitions.push((from, to, output.clone()));
        (to, output)
    }

    fn open_mask(&self) -> u128 {
        !self.free
    }

    fn release(&mut self, slot: u8) {
        self.slots[slot as usize] = None;
        self.free |= 1u128 << slot;
    }

    /// Drops duplicate configurations, and those that only add an unknown
    /// call to another one with the same state (the other can do all they
    /// can: the unknown call may still go later, or never).
    fn normalize(&mut self) {
        // allow-nondeterminism: membership only, never iterated
        let mut seen: FxHashSet<Config<M::Output>> = FxHashSet::default();
        self.frontier.retain(|config| seen.insert(config.clone()));
        let unknown_mask = self.unknown_mask();
        self.frontier.retain(|config| {
            let mut extra = config.bits & unknown_mask;
            while extra != 0 {
                let bit = extra & extra.wrapping_neg();
                extra &= !bit;
                let smaller = Config {
                    bits: config.bits & !bit,
                    ..config.clone()
                };
                if seen.contains(&smaller) {
                    return false;
                }
            }
            true
        });
        // An unknown call linearized in every configuration is history: free it.
        let everywhere = self
            .frontier
            .iter()
            .fold(unknown_mask, |mask, c| mask & c.bits);
        if everywhere != 0 && !self.frontier.is_empty() {
            for config in &mut self.frontier {
                config.bits &= !everywhere;
            }
            let mut rest = everywhere;
            while rest != 0 {
                let slot = rest.trailing_zeros() as u8;
                rest &= rest - 1;
                self.release(slot);
            }
        }
    }

    fn unknown_mask(&self) -> u128 {
        let mut mask = 0;
        for (slot, open) in self.slots.iter().enumerate() {
            if open.as_ref().is_some_and(|open| open.unknown) {
                mask |= 1u128 << slot;
            }
        }
        mask
    }
}

fn remove_prediction<O>(config: &mut Config<O>, slot: u8) -> Option<O> {
    let at = config.predicted.iter().position(|(s, _)| *s == slot)?;
    Some(config.predicted.remove(at).1)
}

impl<M: Model> OnlineChecker<M> {
    /// An online checker of `model`.
    pub fn with_model(model: M, budget: Budget) -> Self {
        Self {
            model,
            budget,
            history: OpHistory::new(),
            internal_of: Vec::new(),
            external_of: Vec::new(),
            slot_of: Vec::new(),
            object_of_key: FxHashMap::default(),
            objects: Vec::new(),
            steps: 0,
            degraded: None,
            violation: None,
        }
    }

    /// Why online checking stopped early (then `finish` searches the whole
    /// history), if it did.
    pub fn degraded(&self) -> Option<&str> {
        self.degraded.as_deref()
    }

    /// Records that `client` invoked `input`; `id` is the caller's name for it.
    pub fn on_invoke(&mut self, id: OpId, client: u64, input: &M::Input, time_us: u64) {
        let internal = self.history.invoke(client, input.clone(), time_us);
        let external = id.0 as usize;
        if self.internal_of.len() <= external {
            self.internal_of.resize(external + 1, u32::MAX);
        }
        self.internal_of[external] = internal.0;
        self.external_of.push(id);
        self.slot_of.push((u32::MAX, 0));
        if self.degraded.is_some() || self.violation.is_some() {
            return;
        }
        let key = self.model.partition(input);
        let object = match self.object_of_key.get(&key.map(str::to_owned)) {
            Some(&object) => object,
            None => {
                let object = u32::try_from(self.objects.len()).expect("fewer than 2^32 keys");
                self.objects
                    .push(Object::new(&self.model, key.map(str::to_owned)));
                self.object_of_key.insert(key.map(str::to_owned), object);
                object
            }
        };
        let state = &mut self.objects[object as usize];
        if state.free == 0 {
            self.degrade(format!("more than {SLOTS} calls open on one key"));
            return;
        }
        let slot = state.free.trailing_zeros() as u8;
        state.free &= !(1u128 << slot);
        state.slots[slot as usize] = Some(Slot {
            call: internal.0,
            input: input.clone(),
            unknown: false,
            transitions: Vec::new(),
        });
        self.slot_of[internal.0 as usize] = (object, slot);
    }

    /// Records how call `id` ended; `Err` at the completion that made the
    /// history non-linearizable (only the first time).
    ///
    /// # Panics
    /// If `id` was never invoked or already completed.
    pub fn on_complete(
        &mut self,
        id: OpId,
        outcome: &Outcome<M::Output>,
        time_us: u64,
    ) -> Result<(), Explanation> {
        let internal = *self
            .internal_of
            .get(id.0 as usize)
            .filter(|&&i| i != u32::MAX)
            .expect("completed call was invoked");
        self.history
            .complete(OpId(internal), outcome.clone(), time_us);
        let (object, slot) = self.slot_of[internal as usize];
        if self.degraded.is_some() || self.violation.is_some() || object == u32::MAX {
            return Ok(());
        }
        let state = &mut self.objects[object as usize];
        debug_assert_eq!(
            state.slots[slot as usize].as_ref().map(|s| s.call),
            Some(internal)
        );
        match outcome {
            Outcome::Ok(result) => {
                if let Err(reason) = self.complete_ok(object, slot, result) {
                    self.degrade(reason);
                    return Ok(());
                }
            }
            Outcome::Fail => {
                let bit = 1u128 << slot;
                state.frontier.retain(|config| config.bits & bit == 0);
                state.release(slot);
            }
            Outcome::Unknown => {
                let bit = 1u128 << slot;
                let read_only = self
                    .model
                    .is_read_only(&state.slots[slot as usize].as_ref().expect("open").input);
                for config in &mut state.frontier {
                    remove_prediction(config, slot);
                    if read_only {
                        config.bits &= !bit;
                    }
                }
                if read_only {
                    state.release(slot);
                } else {
                    state.slots[slot as usize].as_mut().expect("open").unknown = true;
                }
            }
        }
        let state = &mut self.objects[object as usize];
        state.normalize();
        if state.frontier.is_empty() {
            let explanation = self.explain_violation(object, internal);
            self.violation = Some(explanation.clone());
            return Err(explanation);
        }
        Ok(())
    }

    /// Extends the frontier of `object` until the call in `slot` is placed
    /// with `result`; `Err` if the budget runs out.
    fn complete_ok(&mut self, object: u32, slot: u8, result: &M::Output) -> Result<(), String> {
        let model = &self.model;
        let state = &mut self.objects[object as usize];
        let bit = 1u128 << slot;
        let open = state.open_mask();
        let unknown = state.unknown_mask();
        let old = std::mem::take(&mut state.frontier);
        let mut next = Vec::new();
        // allow-nondeterminism: membership only, never iterated
        let mut visited: FxHashSet<Config<M::Output>> = FxHashSet::default();
        let mut stack = Vec::new();
        for mut config in old {
            if config.bits & bit != 0 {
                // Linearized before it returned: keep it if it predicted right.
                if remove_prediction(&mut config, slot).as_ref() == Some(result) {
                    config.bits &= !bit;
                    next.push(config);
                }
                continue;
            }
            stack.push(config);
            while let Some(config) = stack.pop() {
                let mut candidates = open & !config.bits;
                while candidates != 0 {
                    let candidate = candidates.trailing_zeros() as u8;
                    candidates &= candidates - 1;
                    self.steps += 1;
                    if self.steps > self.budget.max_steps {
                        return Err("step budget exhausted".into());
                    }
                    let (to, output) = state.apply(model, candidate, config.state);
                    let candidate_bit = 1u128 << candidate;
                    if unknown & candidate_bit != 0 && to == config.state {
                        // An unknown call that changes nothing here: the
                        // parent can do all the child can.
                        continue;
                    }
                    if candidate == slot {
                        if output == *result {
                            next.push(Config {
                                bits: config.bits,
                                state: to,
                                predicted: config.predicted.clone(),
                            });
                        }
                        continue;
                    }
                    let mut predicted = config.predicted.clone();
                    if unknown & (1u128 << candidate) == 0 {
                        let at = predicted.partition_point(|(s, _)| *s < candidate);
                        predicted.insert(at, (candidate, output));
                    }
                    let child = Config {
                        bits: config.bits | 1u128 << candidate,
                        state: to,
                        predicted,
                    };
                    if visited.insert(child.clone()) {
                        stack.push(child);
                    }
                }
                if visited.len() + next.len() > self.budget.max_memo_entries {
                    return Err("memo budget exhausted".into());
                }
            }
        }
        state.frontier = next;
        state.release(slot);
        Ok(())
    }

    fn degrade(&mut self, reason: String) {
        self.degraded = Some(reason);
        self.objects.clear();
        self.object_of_key.clear();
    }

    /// Explains the violation found at the completion of `call` on `object`:
    /// the whole-history search of that key, cut just after that completion.
    fn explain_violation(&self, object: u32, call: u32) -> Explanation {
        let key = self.objects[object as usize].key.clone();
        let cut = self.history.operations()[call as usize]
            .complete_position
            .expect("completed");
        let mut events: Vec<(u32, u32, bool)> = Vec::new();
        for (index, op) in (0u32..).zip(self.history.operations()) {
            if self.model.partition(&op.input).map(str::to_owned) != key || op.invoke_position > cut
            {
                continue;
            }
            events.push((op.invoke_position, index, true));
            if let Some(position) = op.complete_position.filter(|&p| p <= cut) {
                events.push((position, index, false));
            }
        }
        events.sort_unstable();
        let mut prefix = OpHistory::new();
        let mut new_of_old = FxHashMap::default();
        let mut old_of_new = Vec::new();
        for (_, index, is_call) in events {
            let op = &self.history.operations()[index as usize];
            if is_call {
                new_of_old.insert(
                    index,
                    prefix.invoke(op.client, op.input.clone(), op.invoke_us),
                );
                old_of_new.push(index);
            } else {
                let outcome = op.outcome.clone().expect("completed");
                prefix.complete(
                    new_of_old[&index],
                    outcome,
                    op.complete_us.unwrap_or(op.invoke_us),
                );
            }
        }
        let rename = |summary: OpSummary| OpSummary {
            id: self.external_of[old_of_new[summary.id.0 as usize] as usize],
            ..summary
        };
        match check_with(&self.model, &prefix, self.budget, Partitioning::PerKey) {
            CheckOutcome::NotLinearizable(explanation) => Explanation {
                prefix: explanation.prefix.into_iter().map(rename).collect(),
                stuck: explanation.stuck.into_iter().map(rename).collect(),
                ..explanation
            },
            other => {
                debug_assert!(
                    !other.is_linearizable(),
                    "online and whole-history checks disagree"
                );
                let mut culprit = OpSummary::of(&self.history, OpId(call));
                culprit.id = self.external_of[call as usize];
                Explanation {
                    key,
                    prefix: Vec::new(),
                    state: "unknown (explanation out of budget)".into(),
                    stuck: vec![culprit],
                }
            }
        }
    }

    /// The verdict on everything recorded; calls still pending count as
    /// unknown. Falls back to the whole-history search if online checking
    /// stopped early.
    pub fn finish(self) -> CheckOutcome {
        if let Some(violation) = self.violation {
            return CheckOutcome::NotLinearizable(violation);
        }
        if self.degraded.is_none() {
            return CheckOutcome::Linearizable;
        }
        let outcome = check(&self.model, &self.history, self.budget);
        match outcome {
            CheckOutcome::NotLinearizable(explanation) => {
                let rename = |summary: OpSummary| OpSummary {
                    id: self.external_of[summary.id.0 as usize],
                    ..summary
                };
                CheckOutcome::NotLinearizable(Explanation {
                    prefix: explanation.prefix.into_iter().map(rename).collect(),
                    stuck: explanation.stuck.into_iter().map(rename).collect(),
                    ..explanation
                })
            }
            other => other,
        }
    }

    /// The history recorded so far.
    pub fn history(&self) -> &OpHistory<M::Input, M::Output> {
        &self.history
    }
}
