//! The online checker: linearizability asked after every completion.
//!
//! Per object (key) it keeps one witness: a linearization of the calls so far
//! that fits the model (see [`super::witness`]). A completion usually extends
//! the witness in O(1); otherwise the depth-first search resumes from the
//! witness, with the memo of configurations already shown to fail kept from
//! one completion to the next. A search that backs off the root is a
//! violation, found at the completion that caused it, and confirmed by the
//! whole-history search of the prefix (which also explains it).
//!
//! Past its budget the checker stops checking online and `finish` runs the
//! whole-history search instead: never a false pass, never a false violation.

use super::explain::{Explanation, OpSummary};
use super::hash::FxHashMap;
use super::history::{OpHistory, OpId, Outcome};
use super::model::{KvModel, Model};
use super::witness::{OutOfSteps, Repair, Witness};
use super::{check, check_with, Budget, CheckOutcome, Partitioning};

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
    /// Index in `history` -> (object, index of the call in the object).
    call_of: Vec<(u32, u32)>,
    // allow-nondeterminism: membership only, never iterated
    object_of_key: FxHashMap<String, u32>,
    /// The object of calls the model puts in no partition.
    object_of_none: Option<u32>,
    objects: Vec<Witness<M>>,
    steps: u64,
    /// Why online checking stopped, if it did.
    degraded: Option<String>,
    violation: Option<Explanation>,
}

/// Search steps one completion may take on one key before the online check
/// gives up and leaves the verdict to the whole-history search at `finish`.
/// Simulator histories need a few dozen; this bounds the cost of one event.
const STEPS_PER_COMPLETION_MAX: u64 = 50_000;

/// Memo entries one key keeps at most; past it the memo is forgotten (it is a
/// cache of failures: forgetting it costs time, never correctness).
const MEMO_ENTRIES_PER_KEY_MAX: usize = 1 << 16;

/// Bytes of one entry of a witness's memo (a key and a control byte).
const WITNESS_MEMO_ENTRY_BYTES: usize = size_of::<(u128, u32)>() + 1;

impl<M: Model> OnlineChecker<M> {
    /// An online checker of `model`.
    pub fn with_model(model: M, budget: Budget) -> Self {
        Self {
            model,
            budget,
            history: OpHistory::new(),
            internal_of: Vec::new(),
            external_of: Vec::new(),
            call_of: Vec::new(),
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
        if self.degraded.is_some() || self.violation.is_some() {
            self.call_of.push((u32::MAX, u32::MAX));
            return;
        }
        let object = self.object_of(self.model.partition(input));
        let read_only = self.model.is_read_only(input);
        let position = self.history.operations()[internal.0 as usize].invoke_position;
        let call = self.objects[object as usize].invoke(internal.0, position, read_only);
        self.call_of.push((object, call));
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
            .push(Witness::new(&self.model, key.map(str::to_owned)));
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
        let (object, call) = self.call_of[internal as usize];
        if self.degraded.is_some() || self.violation.is_some() || object == u32::MAX {
            return Ok(());
        }
        let cap = self.budget.max_steps.saturating_sub(self.steps);
        let mut steps_left = cap.min(STEPS_PER_COMPLETION_MAX);
        let steps_given = steps_left;
        let operations = self.history.operations();
        let witness = &mut self.objects[object as usize];
        let repair = match outcome {
            Outcome::Ok(_) => {
                let position = operations[internal as usize]
                    .complete_position
                    .expect("just completed");
                witness.complete_returned(&self.model, operations, call, position, &mut steps_left)
            }
            Outcome::Fail => {
                witness.complete_failed(&self.model, operations, call, &mut steps_left)
            }
            Outcome::Unknown => {
                witness.complete_unknown(call);
                Ok(Repair::Found)
            }
        };
        self.steps += steps_given - steps_left;
        let out_of_steps = if steps_given < STEPS_PER_COMPLETION_MAX {
            "step budget exhausted".to_owned()
        } else {
            format!("online search longer than {STEPS_PER_COMPLETION_MAX} steps at one completion")
        };
        self.conclude(object, internal, repair.map_err(|OutOfSteps| out_of_steps))
    }

    /// Acts on the repair of `object` after the completion of `call`.
    fn conclude(
        &mut self,
        object: u32,
        call: u32,
        repair: Result<Repair, String>,
    ) -> Result<(), Explanation> {
        match repair {
            Ok(Repair::Found) => {
                let witness = &mut self.objects[object as usize];
                let entries_max = self.budget.max_memory_bytes / WITNESS_MEMO_ENTRY_BYTES;
                if witness.memo_len() > MEMO_ENTRIES_PER_KEY_MAX.min(entries_max) {
                    witness.forget_memo();
                }
                Ok(())
            }
            Ok(Repair::Violation) => match self.explain_violation(object, call) {
                Some(explanation) => {
                    self.violation = Some(explanation.clone());
                    Err(explanation)
                }
                None => {
                    self.degrade("online and whole-history checks disagree".into());
                    Ok(())
                }
            },
            Err(reason) => {
                self.degrade(reason);
                Ok(())
            }
        }
    }

    fn degrade(&mut self, reason: String) {
        self.degraded = Some(reason);
        self.objects.clear();
        self.object_of_key.clear();
        self.object_of_none = None;
    }

    /// Explains the violation found at the completion of `call` on `object`:
    /// the whole-history search of that key, cut just after that completion.
    /// `None` if that search finds the cut history linearizable (then the
    /// online search is wrong: a bug, or two linearized sets whose signatures
    /// collide), so that no false violation is ever reported.
    fn explain_violation(&self, object: u32, call: u32) -> Option<Explanation> {
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
            CheckOutcome::NotLinearizable(explanation) => Some(Explanation {
                prefix: explanation.prefix.into_iter().map(rename).collect(),
                stuck: explanation.stuck.into_iter().map(rename).collect(),
                ..explanation
            }),
            CheckOutcome::Linearizable => {
                debug_assert!(false, "online and whole-history checks disagree");
                None
            }
            CheckOutcome::Unknown { .. } => {
                let mut culprit = OpSummary::of(&self.history, OpId(call));
                culprit.id = self.external_of[call as usize];
                Some(Explanation {
                    key,
                    prefix: Vec::new(),
                    state: "unknown (explanation out of budget)".into(),
                    stuck: vec![culprit],
                })
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
