//! Sequential specifications: what one object does when calls reach it one at a
//! time. The search never looks inside a model; a new model is a few lines.

use std::fmt;
use std::hash::Hash;

use super::history::{KvOp, KvResult, OpHistory, RegisterOp, RegisterResult};
use super::unique::{Access, Value};
use super::unread::{fold_unread_writes, UNREAD};

/// A history of calls on model `M`.
pub type HistoryOf<M> = OpHistory<<M as Model>::Input, <M as Model>::Output>;

/// A deterministic sequential specification.
///
/// `apply` says what a call does to a state and what it returns; from it the
/// checker derives `step` (is this result possible here, and what follows) and
/// predicts results of calls still in flight (the online checker needs that).
pub trait Model {
    /// What a client asks. Equal inputs do the same to every state (the
    /// search treats calls of unknown outcome with equal inputs as
    /// interchangeable).
    type Input: Clone + Eq + Hash + fmt::Display;
    /// What it gets back.
    type Output: Clone + Eq + fmt::Display;
    /// The object's state. The checker interns states into small integers, so a
    /// large state costs one hash per new state, not one per search step.
    type State: Clone + Eq + Hash + fmt::Debug;

    /// The state before any call.
    fn init(&self) -> Self::State;

    /// The state after `input`, and what it returns.
    fn apply(&self, state: &Self::State, input: &Self::Input) -> (Self::State, Self::Output);

    /// The state after `input` if it may return `output` in `state`, else `None`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State> {
        let (next, expected) = self.apply(state, input);
        (expected == *output).then_some(next)
    }

    /// Like `step` (or `apply` when `output` is `None`: the result is
    /// unknown), but writes the next state into `next`, whose old value is
    /// only room to reuse: a model with large states overrides it to build
    /// the next state without allocating. False if `output` is impossible.
    fn step_into(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
        next: &mut Self::State,
    ) -> bool {
        step_or_apply(self, state, input, output)
            .map(|stepped| *next = stepped)
            .is_some()
    }

    /// For a call that [`Model::leaves_state`]: whether it may return
    /// `output` in `state`. Override it to avoid building the unchanged state
    /// that `step` returns.
    fn observes(&self, state: &Self::State, input: &Self::Input, output: &Self::Output) -> bool {
        self.step(state, input, output).is_some()
    }

    /// True if `input`, having returned `output`, leaves the state as it was
    /// wherever that result is possible (a read; a compare-and-set that
    /// failed). The search places such calls without branching. Saying false
    /// is always safe; saying true wrongly makes the checker unsound.
    fn leaves_state(&self, input: &Self::Input, output: &Self::Output) -> bool {
        let _ = output;
        self.is_read_only(input)
    }

    /// P-compositionality: the independent object a call touches (a key), or
    /// `None` if the whole history is one object. A history is linearizable iff
    /// each object's sub-history is, so the checker searches them apart.
    fn partition<'a>(&self, input: &'a Self::Input) -> Option<&'a str> {
        let _ = input;
        None
    }

    /// True if `input` never changes the state (a read). A read whose result
    /// is unknown constrains nothing, so the checker drops it.
    fn is_read_only(&self, input: &Self::Input) -> bool {
        let _ = input;
        false
    }

    /// A necessary condition for a read (`input` returned `output`, and
    /// [`Model::leaves_state`] says so) to fit after `state`, when no call
    /// that [`Model::may_reset_for`] it comes between: e.g. that an
    /// append-only value read later starts with the value now. The search
    /// drops a configuration whose earliest pending read fails it with no
    /// such call left to place before that read returns.
    ///
    /// For this to be sound, every call that `may_reset_for` a read denies
    /// must keep a state that fails the condition failing it. `true` (the
    /// default) claims nothing.
    fn may_lead_to(&self, state: &Self::State, input: &Self::Input, output: &Self::Output) -> bool {
        let _ = (state, input, output);
        true
    }

    /// Whether `write` may set the state to one from which the read that
    /// returned `output` fits again, from any state that fails
    /// [`Model::may_lead_to`] for that read (the only states it is asked
    /// of). `true` (the default) claims nothing.
    fn may_reset_for(&self, write: &Self::Input, output: &Self::Output) -> bool {
        let _ = (write, output);
        true
    }

    /// A rewrite of `history` that has the same verdict and is cheaper to
    /// search, with the model that checks it (operations keep their ids, so
    /// an explanation names the original ones); `None` if there is none.
    fn reduce(&self, history: &HistoryOf<Self>) -> Option<(Self, HistoryOf<Self>)>
    where
        Self: Sized,
    {
        let _ = history;
        None
    }

    /// Bytes `state` holds, on the heap too: the search counts them against
    /// its memory budget.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        size_of::<Self::State>()
    }

    /// What `input` does as the fast path for unique values sees it (a read
    /// and what it returned, a put, an append), given its result if it
    /// returned. [`Access::Other`] (the default) sends the key to the
    /// general search; so must any call this does not describe exactly.
    fn access<'a>(&self, input: &'a Self::Input, output: Option<&'a Self::Output>) -> Access<'a> {
        let _ = (input, output);
        Access::Other
    }

    /// The value every key starts with, for the fast path; `None` (the
    /// default) keeps the fast path off for this model.
    fn initial_access(&self) -> Option<Value<'_>> {
        None
    }

    /// A state as a person reads it (an explanation shows it).
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// The state after `input` if it may return `output` (`None`: unknown, any
/// result) in `state`; what [`Model::step_into`] writes.
fn step_or_apply<M: Model + ?Sized>(
    model: &M,
    state: &M::State,
    input: &M::Input,
    output: Option<&M::Output>,
) -> Option<M::State> {
    match output {
        Some(output) => model.step(state, input, output),
        None => Some(model.apply(state, input).0),
    }
}

/// The simulator's key-value store, one key at a time (the checker splits the
/// history per key; state is the value of one key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvModel {
    /// What a key holds before anything is written to it: `None` (absent) for
    /// the simulator, `Some("")` for Porcupine's kv histories.
    pub initial: Option<String>,
    /// Checks a history whose unread writes were rewritten (see
    /// `super::unread`): a state that contains their value is that value.
    folds_unread: bool,
}

impl KvModel {
    /// An absent key reads as `None` (the simulator's store).
    pub fn absent_is_none() -> Self {
        Self {
            initial: None,
            folds_unread: false,
        }
    }

    /// Every key starts as the empty string (Porcupine's kv histories).
    pub fn absent_is_empty() -> Self {
        Self {
            initial: Some(String::new()),
            folds_unread: false,
        }
    }

    /// This model for a history whose unread writes were rewritten.
    fn folding_unread(&self) -> Self {
        Self {
            folds_unread: true,
            ..self.clone()
        }
    }

    /// Whether appending `value` to `state` gives [`UNREAD`]: either holds it.
    #[inline]
    fn appends_to_unread(&self, state: &Option<String>, value: &str) -> bool {
        self.folds_unread && (value == UNREAD || state.as_deref() == Some(UNREAD))
    }
}

impl Model for KvModel {
    type Input = KvOp;
    type Output = KvResult;
    type State = Option<String>;

    fn init(&self) -> Option<String> {
        self.initial.clone()
    }

    fn apply(&self, state: &Option<String>, input: &KvOp) -> (Option<String>, KvResult) {
        match input {
            KvOp::Get { .. } => (state.clone(), KvResult::Value(state.clone())),
            KvOp::Put { value, .. } => (Some(value.clone()), KvResult::Done),
            KvOp::Append { value, .. } if self.appends_to_unread(state, value) => {
                (Some(UNREAD.into()), KvResult::Done)
            }
            KvOp::Append { value, .. } => {
                // One allocation of the final size: states only grow.
                let old = state.as_deref().unwrap_or_default();
                let mut next = String::with_capacity(old.len() + value.len());
                next.push_str(old);
                next.push_str(value);
                (Some(next), KvResult::Done)
            }
            KvOp::Cas { expected, new, .. } => {
                if state == expected {
                    (Some(new.clone()), KvResult::CasOk)
                } else {
                    (state.clone(), KvResult::CasFailed)
                }
            }
        }
    }

    fn step(&self, state: &Option<String>, input: &KvOp, output: &KvResult) -> Option<Self::State> {
        // Same as `apply`, without cloning a value only to compare it.
        match (input, output) {
            (KvOp::Get { .. }, KvResult::Value(read)) => (read == state).then(|| state.clone()),
            (KvOp::Cas { expected, .. }, KvResult::CasFailed) => {
                (state != expected).then(|| state.clone())
            }
            _ => {
                let (next, expected) = self.apply(state, input);
                (expected == *output).then_some(next)
            }
        }
    }

    #[inline]
    fn step_into(
        &self,
        state: &Option<String>,
        input: &KvOp,
        output: Option<&KvResult>,
        next: &mut Option<String>,
    ) -> bool {
        // Writes the new value into `next`'s buffer: no allocation once the
        // buffer is as long as the longest value.
        fn assign(next: &mut Option<String>, [first, second]: [&str; 2]) {
            let len = first.len() + second.len();
            let buffer = next.get_or_insert_with(String::new);
            buffer.clear();
            if buffer.capacity() < len {
                // A fresh buffer (growing would copy the old one for
                // nothing), with room to spare: values only grow, and the
                // search's buffers are reused for ever longer values.
                *buffer = String::with_capacity(len.next_power_of_two().max(64));
            }
            buffer.push_str(first);
            buffer.push_str(second);
        }
        let written = matches!(output, None | Some(KvResult::Done));
        match input {
            KvOp::Put { value, .. } if written => assign(next, [value, ""]),
            KvOp::Append { value, .. } if written && self.appends_to_unread(state, value) => {
                assign(next, [UNREAD, ""]);
            }
            KvOp::Append { value, .. } if written => {
                assign(next, [state.as_deref().unwrap_or_default(), value]);
            }
            _ => match step_or_apply(self, state, input, output) {
                Some(stepped) => *next = stepped,
                None => return false,
            },
        }
        true
    }

    #[inline]
    fn observes(&self, state: &Option<String>, input: &KvOp, output: &KvResult) -> bool {
        match (input, output) {
            (KvOp::Get { .. }, KvResult::Value(read)) => read == state,
            (KvOp::Cas { expected, .. }, KvResult::CasFailed) => state != expected,
            _ => self.step(state, input, output).is_some(),
        }
    }

    fn partition<'a>(&self, input: &'a KvOp) -> Option<&'a str> {
        Some(input.key())
    }

    fn is_read_only(&self, input: &KvOp) -> bool {
        matches!(input, KvOp::Get { .. })
    }

    fn leaves_state(&self, input: &KvOp, output: &KvResult) -> bool {
        matches!(
            (input, output),
            (KvOp::Get { .. }, _) | (KvOp::Cas { .. }, KvResult::CasFailed)
        )
    }

    /// A value only grows by appends (an absent key grows into any value):
    /// a read of `v` can fit later only if `v` starts with the value now.
    fn may_lead_to(&self, state: &Option<String>, input: &KvOp, output: &KvResult) -> bool {
        match (input, output, state) {
            (KvOp::Get { .. }, KvResult::Value(read), Some(now)) => read
                .as_deref()
                .is_some_and(|read| read.starts_with(now.as_str())),
            _ => true,
        }
    }

    /// Only a put or a cas sets a value from scratch; no call makes a key
    /// absent again.
    fn may_reset_for(&self, write: &KvOp, output: &KvResult) -> bool {
        let KvResult::Value(Some(read)) = output else {
            return !matches!(output, KvResult::Value(None));
        };
        match write {
            // A cas from nil sets a value only from nil; a state that fails
            // `may_lead_to` is a value, and no call makes a key absent
            // again: from there such a cas never takes effect. (Seed
            // 2152835: unknown appends before an unknown cas from nil were
            // tried in every order, 3.3 s; now 78 us.)
            KvOp::Cas { expected: None, .. } => false,
            KvOp::Put { value, .. } | KvOp::Cas { new: value, .. } => {
                read.starts_with(value.as_str())
            }
            KvOp::Append { .. } | KvOp::Get { .. } => false,
        }
    }

    fn reduce(
        &self,
        history: &OpHistory<KvOp, KvResult>,
    ) -> Option<(Self, OpHistory<KvOp, KvResult>)> {
        if self.folds_unread {
            return None;
        }
        fold_unread_writes(history).map(|folded| (self.folding_unread(), folded))
    }

    fn state_bytes(&self, state: &Option<String>) -> usize {
        size_of::<Option<String>>() + state.as_ref().map_or(0, String::capacity)
    }

    fn access<'a>(&self, input: &'a KvOp, output: Option<&'a KvResult>) -> Access<'a> {
        let text = |value: &'a Option<String>| value.as_deref().map_or(Value::Absent, Value::Text);
        match (input, output) {
            (KvOp::Get { .. }, Some(KvResult::Value(read))) => Access::Read(Some(text(read))),
            (KvOp::Get { .. }, None) => Access::Read(None),
            (KvOp::Put { value, .. }, None | Some(KvResult::Done)) => {
                Access::Put(Value::Text(value))
            }
            (KvOp::Append { value, .. }, None | Some(KvResult::Done)) => Access::Append(value),
            _ => Access::Other,
        }
    }

    fn initial_access(&self) -> Option<Value<'_>> {
        // A model whose unread writes were folded (see `reduce`) holds a
        // stand-in value: it is searched, never taken by the fast path.
        let value = self.initial.as_deref().map_or(Value::Absent, Value::Text);
        (!self.folds_unread).then_some(value)
    }

    fn describe_state(&self, state: &Option<String>) -> String {
        match state.as_deref() {
            None => "nil".into(),
            Some(UNREAD) if self.folds_unread => "a value no read saw".into(),
            Some(value) => format!("{value:?}"),
        }
    }
}

/// A single compare-and-set register that starts as nil (Jepsen's etcd test).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CasRegisterModel;

impl Model for CasRegisterModel {
    type Input = RegisterOp;
    type Output = RegisterResult;
    type State = Option<i64>;

    fn init(&self) -> Option<i64> {
        None
    }

    fn apply(&self, state: &Option<i64>, input: &RegisterOp) -> (Option<i64>, RegisterResult) {
        match *input {
            RegisterOp::Read => (*state, RegisterResult::Value(*state)),
            RegisterOp::Write(value) => (Some(value), RegisterResult::Done),
            RegisterOp::Cas(from, to) if *state == Some(from) => (Some(to), RegisterResult::CasOk),
            RegisterOp::Cas(..) => (*state, RegisterResult::CasFailed),
        }
    }

    fn is_read_only(&self, input: &RegisterOp) -> bool {
        matches!(input, RegisterOp::Read)
    }

    /// Only a write or a cas changes the register: a read of `v` fits later
    /// only if the register holds `v` now, or one of them writes it.
    fn may_lead_to(
        &self,
        state: &Option<i64>,
        input: &RegisterOp,
        output: &RegisterResult,
    ) -> bool {
        match (input, output) {
            (RegisterOp::Read, RegisterResult::Value(read)) => read == state,
            _ => true,
        }
    }

    fn may_reset_for(&self, write: &RegisterOp, output: &RegisterResult) -> bool {
        let RegisterResult::Value(read) = output else {
            return true;
        };
        match *write {
            RegisterOp::Write(value) | RegisterOp::Cas(_, value) => *read == Some(value),
            RegisterOp::Read => false,
        }
    }

    fn access<'a>(&self, input: &'a RegisterOp, output: Option<&'a RegisterResult>) -> Access<'a> {
        match (input, output) {
            (RegisterOp::Read, Some(RegisterResult::Value(read))) => {
                Access::Read(Some(read.map_or(Value::Absent, Value::Integer)))
            }
            (RegisterOp::Read, None) => Access::Read(None),
            (RegisterOp::Write(value), None | Some(RegisterResult::Done)) => {
                Access::Put(Value::Integer(*value))
            }
            _ => Access::Other,
        }
    }

    fn initial_access(&self) -> Option<Value<'_>> {
        Some(Value::Absent)
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        state.map_or_else(|| "nil".into(), |value| value.to_string())
    }

    fn leaves_state(&self, input: &RegisterOp, output: &RegisterResult) -> bool {
        matches!(
            (input, output),
            (RegisterOp::Read, _) | (RegisterOp::Cas(..), RegisterResult::CasFailed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    /// The contract of `may_lead_to` and `may_reset_for`, over a small
    /// domain exhaustively: from a state that fails a read's condition, a
    /// call that `may_reset_for` denies leaves a state that fails it too.
    #[test]
    fn kv_a_denied_reset_keeps_a_stranded_read_stranded() {
        let text = |v: &str| Some(v.to_string());
        let values = ["", "a", "ab", "abc", "b", "ba"];
        let mut states: Vec<Option<String>> = vec![None];
        states.extend(values.iter().map(|v| text(v)));
        let mut reads = vec![KvResult::Value(None)];
        reads.extend(values.iter().map(|v| KvResult::Value(text(v))));
        let key = || "k".to_string();
        let mut writes = Vec::new();
        for v in values {
            writes.push(KvOp::Put {
                key: key(),
                value: v.into(),
            });
            writes.push(KvOp::Append {
                key: key(),
                value: v.into(),
            });
            for expected in std::iter::once(None).chain(values.iter().map(|e| text(e))) {
                writes.push(KvOp::Cas {
                    key: key(),
                    expected,
                    new: v.into(),
                });
            }
        }
        let mut denied = 0;
        for model in [KvModel::absent_is_none(), KvModel::absent_is_empty()] {
            for state in &states {
                for read in &reads {
                    if model.may_lead_to(state, &get("k"), read) {
                        continue;
                    }
                    for write in &writes {
                        if model.may_reset_for(write, read) {
                            continue;
                        }
                        denied += 1;
                        let (after, _) = model.apply(state, write);
                        assert!(
                            !model.may_lead_to(&after, &get("k"), read),
                            "{state:?} then {write:?} may lead to reading {read:?}"
                        );
                    }
                }
            }
        }
        assert!(
            denied > 100,
            "the domain exercises the rule ({denied} cases)"
        );
    }

    #[test]
    fn kv_absent_key_reads_as_the_models_initial_value() {
        let sim = KvModel::absent_is_none();
        assert_eq!(
            sim.step(&sim.init(), &get("k"), &KvResult::Value(None)),
            Some(None)
        );
        let porcupine = KvModel::absent_is_empty();
        let empty = KvResult::Value(Some(String::new()));
        assert!(porcupine
            .step(&porcupine.init(), &get("k"), &empty)
            .is_some());
        assert!(sim.step(&sim.init(), &get("k"), &empty).is_none());
    }

    #[test]
    fn kv_append_put_and_cas_follow_the_store() {
        let model = KvModel::absent_is_none();
        let append = KvOp::Append {
            key: "k".into(),
            value: "ab".into(),
        };
        let (state, out) = model.apply(&None, &append);
        assert_eq!((state.as_deref(), out), (Some("ab"), KvResult::Done));
        let (state, _) = model.apply(&state, &append);
        assert_eq!(state.as_deref(), Some("abab"));
        let cas = |expected: Option<&str>| KvOp::Cas {
            key: "k".into(),
            expected: expected.map(Into::into),
            new: "n".into(),
        };
        assert_eq!(model.apply(&state, &cas(Some("abab"))).1, KvResult::CasOk);
        assert_eq!(model.apply(&state, &cas(None)).1, KvResult::CasFailed);
        assert_eq!(
            model.apply(&None, &cas(None)),
            (Some("n".into()), KvResult::CasOk)
        );
        assert!(model.step(&state, &cas(None), &KvResult::CasOk).is_none());
        let put = KvOp::Put {
            key: "k".into(),
            value: "v".into(),
        };
        assert_eq!(model.apply(&state, &put).0.as_deref(), Some("v"));
    }

    #[test]
    fn register_starts_nil_and_cas_compares() {
        let model = CasRegisterModel;
        assert_eq!(
            model.apply(&None, &RegisterOp::Read).1,
            RegisterResult::Value(None)
        );
        assert_eq!(
            model.apply(&None, &RegisterOp::Cas(1, 2)).1,
            RegisterResult::CasFailed
        );
        assert_eq!(
            model.apply(&Some(1), &RegisterOp::Cas(1, 2)),
            (Some(2), RegisterResult::CasOk)
        );
        assert_eq!(
            model.step(&Some(1), &RegisterOp::Write(3), &RegisterResult::Done),
            Some(Some(3))
        );
        assert!(model.is_read_only(&RegisterOp::Read));
    }
}
