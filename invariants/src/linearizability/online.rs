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
    object_of_key: FxHashMap<String, u32>,
    /// The object of calls the model puts in no partition.
    object_of_none: Option<u32>,
    objects: Vec<Object<M>>,
    steps: u64,
    /// Why online checking stopped, if it did.
    degraded: Option<String>,
    violation: Option<Explanation>,
}

/// A configuration: the open calls linearized (bit = slot), the state id, and
/// for each linearized call that has not returned, the state it was applied
/// to (its result follows from that state: checked when it returns).
#[derive(Clone, PartialEq, Eq)]
struct Config {
    bits: u128,
    state: u32,
    /// (slot, state before the call), sorted by slot.
    predicted: Vec<(u8, u32)>,
}

impl Hash for Config {
    fn hash<H: Hasher>(&self, hasher: &mut H) {
        // Predictions are rare and follow from the rest in practice: leave
        // them to equality.
        self.bits.hash(hasher);
        self.state.hash(hasher);
    }
}

/// An open call in a slot (its input is in the history, at `call`).
struct Slot<M: Model> {
    call: u32,
    /// Transitions computed for this call: (from, to, output).
    transitions: Vec<(u32, u32, M::Output)>,
}

/// Configurations one completion may visit on one key before the online check
/// gives up and leaves the verdict to the whole-history search at `finish`.
/// Simulator histories need a few dozen; this bounds the cost of one event.
const VISITED_PER_COMPLETION_MAX: usize = 4096;

/// One key's state of the online check.
struct Object<M: Model> {
    key: Option<String>,
    states: Vec<M::State>,
    // allow-nondeterminism: membership only, never iterated
    state_ids: FxHashMap<M::State, u32>,
    slots: Vec<Option<Slot<M>>>,
    /// Bit set: free slots.
    free: u128,
    /// Bit set: slots whose call ended with an unknown outcome (open for ever).
    // Invariant: a subset of the open slots (`!free`).
    unknown: u128,
    // Invariant: never empty unless a violation was reported.
    frontier: Vec<Config>,
    /// Scratch space of `complete_ok` and `normalize`, kept across events so
    /// that a completion allocates nothing in the common case.
    scratch: Scratch,
}

/// Buffers reused across completions.
#[derive(Default)]
struct Scratch {
    // allow-nondeterminism: membership only, never iterated
    visited: FxHashSet<Config>,
    next: Vec<Config>,
    queue: Vec<Config>,
}

impl<M: Model> Object<M> {
    fn new(model: &M, key: Option<String>) -> Self {
        let mut object = Self {
            key,
            states: Vec::new(),
            state_ids: FxHashMap::default(),
            slots: (0..SLOTS).map(|_| None).collect(),
            free: u128::MAX,
            unknown: 0,
            frontier: Vec::new(),
            scratch: Scratch::default(),
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

    /// The state after the call in `slot` from state `from`, and the index
    /// of that transition in the slot's cache (where its result is).
    fn apply(&mut self, model: &M, input: &M::Input, slot: u8, from: u32) -> u32 {
        let open = self.slots[slot as usize].as_ref().expect("slot is open");
        if let Some(&(_, to, _)) = open.transitions.iter().find(|t| t.0 == from) {
            return to;
        }
        let (next, output) = model.apply(&self.states[from as usize], input);
        let to = self.intern(next);
        let open = self.slots[slot as usize].as_mut().expect("slot is open");
        open.transitions.push((from, to, output));
        to
    }

    fn open_mask(&self) -> u128 {
        !self.free
    }

    fn release(&mut self, slot: u8) {
        self.slots[slot as usize] = None;
        self.free |= 1u128 << slot;
        self.unknown &= !(1u128 << slot);
    }

    /// Drops duplicate configurations, and those that only add an unknown
    /// call to another one with the same state (the other can do all they
    /// can: the unknown call may still go later, or never).
    fn normalize(&mut self) {
        let seen = &mut self.scratch.visited;
        seen.clear();
        self.frontier.retain(|config| seen.insert(config.clone()));
        let unknown_mask = self.unknown;
        if unknown_mask != 0 {
            self.frontier
                .retain(|config| !subsumed(seen, config, config.bits & unknown_mask));
        }
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
}

/// Whether the call in `slot`, applied to state `from`, returns `result`
/// (the transition is in the slot's cache: `Object::apply` put it there).
fn returns<M: Model>(slots: &[Option<Slot<M>>], slot: u8, from: u32, result: &M::Output) -> bool {
    let open = slots[slot as usize].as_ref().expect("slot is open");
    open.transitions
        .iter()
        .find(|t| t.0 == from)
        .is_some_and(|t| t.2 == *result)
}

/// Whether `seen` holds `config` without one of the unknown calls `extra`.
// allow-nondeterminism: membership only, never iterated
fn subsumed(seen: &FxHashSet<Config>, config: &Config, mut extra: u128) -> bool {
    while extra != 0 {
        let bit = extra & extra.wrapping_neg();
        extra &= !bit;
        let smaller = Config {
            bits: config.bits & !bit,
            state: config.state,
            predicted: config.predicted.clone(),
        };
        if seen.contains(&smaller) {
            return true;
        }
    }
    false
}

fn remove_prediction(config: &mut Config, slot: u8) -> Option<u32> {
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
            object_of_none: None,
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
        let object = self.object_of(self.model.partition(input));
        let state = &mut self.objects[object as usize];
        if state.free == 0 {
            self.degrade(format!("more than {SLOTS} calls open on one key"));
            return;
        }
        let slot = state.free.trailing_zeros() as u8;
        state.free &= !(1u128 << slot);
        state.slots[slot as usize] = Some(Slot {
            call: internal.0,
            transitions: Vec::new(),
        });
        self.slot_of[internal.0 as usize] = (object, slot);
    }

    /// The object of `key`, created on first use.
    fn object_of(&mut self, key: Option<&str>) -> u32 {
        let known = match key {
            Some(key) => self.object_of_key.get(key).copied(),
            None => self.object_of_none,
        };
        if let Some(object) = known {
            return object;
        }
        let object = u32::try_from(self.objects.len()).expect("fewer than 2^32 keys");
        self.objects
            .push(Object::new(&self.model, key.map(str::to_owned)));
        match key {
            Some(key) => {
                self.object_of_key.insert(key.to_owned(), object);
            }
            None => self.object_of_none = Some(object),
        }
        object
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
        let bit = 1u128 << slot;
        match outcome {
            Outcome::Ok(result) => {
                if let Err(reason) = self.complete_ok(object, slot, result) {
                    self.degrade(reason);
                    return Ok(());
                }
            }
            Outcome::Fail => {
                state.frontier.retain(|config| config.bits & bit == 0);
                state.release(slot);
            }
            Outcome::Unknown => {
                let input = &self.history.operations()[internal as usize].input;
                let read_only = self.model.is_read_only(input);
                for config in &mut state.frontier {
                    remove_prediction(config, slot);
                    if read_only {
                        config.bits &= !bit;
                    }
                }
                if read_only {
                    state.release(slot);
                } else {
                    state.unknown |= bit;
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
    ///
    /// Breadth first, so that a configuration with fewer unknown calls is
    /// seen before the ones that only add unknown calls to it (those are
    /// pruned: the smaller one can do all they can).
    fn complete_ok(&mut self, object: u32, slot: u8, result: &M::Output) -> Result<(), String> {
        let model = &self.model;
        let operations = self.history.operations();
        let state = &mut self.objects[object as usize];
        let bit = 1u128 << slot;
        let open = state.open_mask();
        let unknown = state.unknown;
        let mut scratch = std::mem::take(&mut state.scratch);
        scratch.visited.clear();
        scratch.next.clear();
        scratch.queue.clear();
        for mut config in state.frontier.drain(..) {
            if config.bits & bit != 0 {
                // Linearized before it returned: keep it if it predicted right.
                let from = remove_prediction(&mut config, slot).expect("linearized call predicted");
                if returns(&state.slots, slot, from, result) {
                    config.bits &= !bit;
                    scratch.next.push(config);
                }
                continue;
            }
            if scratch.visited.insert(config.clone()) {
                scratch.queue.push(config);
            }
        }
        let mut head = 0;
        while head < scratch.queue.len() {
            let config = scratch.queue[head].clone();
            head += 1;
            let mut candidates = open & !config.bits;
            while candidates != 0 {
                let candidate = candidates.trailing_zeros() as u8;
                candidates &= candidates - 1;
                self.steps += 1;
                if self.steps > self.budget.max_steps {
                    state.scratch = scratch;
                    return Err("step budget exhausted".into());
                }
                let call = state.slots[candidate as usize].as_ref().expect("open").call;
                let input = &operations[call as usize].input;
                let candidate_bit = 1u128 << candidate;
                let to = state.apply(model, input, candidate, config.state);
                if unknown & candidate_bit != 0 && to == config.state {
                    // An unknown call that changes nothing here: the
                    // parent can do all the child can.
                    continue;
                }
                if candidate == slot {
                    if returns(&state.slots, slot, config.state, result) {
                        scratch.next.push(Config {
                            bits: config.bits,
                            state: to,
                            predicted: config.predicted.clone(),
                        });
                    }
                    continue;
                }
                let mut predicted = config.predicted.clone();
                if unknown & candidate_bit == 0 {
                    let at = predicted.partition_point(|(s, _)| *s < candidate);
                    predicted.insert(at, (candidate, config.state));
                }
                let child = Config {
                    bits: config.bits | candidate_bit,
                    state: to,
                    predicted,
                };
                let extra = child.bits & unknown;
                if !scratch.visited.contains(&child) && !subsumed(&scratch.visited, &child, extra) {
                    scratch.visited.insert(child.clone());
                    scratch.queue.push(child);
                }
            }
            let visited = scratch.visited.len() + scratch.next.len();
            if visited > self.budget.max_memo_entries || visited > VISITED_PER_COMPLETION_MAX {
                state.scratch = scratch;
                return Err(format!(
                    "online search wider than {visited} configurations at one completion"
                ));
            }
        }
        std::mem::swap(&mut state.frontier, &mut scratch.next);
        state.scratch = scratch;
        state.release(slot);
        Ok(())
    }

    fn degrade(&mut self, reason: String) {
        self.degraded = Some(reason);
        self.objects.clear();
        self.object_of_key.clear();
        self.object_of_none = None;
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
