//! One key's online check: a single witness (a valid linearization of the
//! key's calls so far) and an incremental depth-first search that repairs it.
//!
//! The witness is the stack of a Wing & Gong search that stopped at success:
//! every call that returned is placed, with the result it returned, in an
//! order that respects real time; calls still open or of unknown outcome may
//! be placed too (an open call's result is then predicted by the model, and
//! checked when it returns). Most completions cost O(1): the call fits at the
//! end of the witness, or was already placed with the right prediction.
//! Otherwise a repair, cheapest first:
//! 1. move the call (or drop a failed one) within the end of the witness,
//!    replaying the calls after it through the model;
//! 2. trials: the search below, from a little further down each time, placing
//!    at most one call of unknown outcome along a path;
//! 3. the complete search, resumed from where the trials stopped, exactly
//!    like a whole-history search that had reached that configuration.
//!
//! Lowe's memo of the complete search survives between completions: it only
//! holds configurations (linearized set, state) backed off after every call
//! that may go next was tried, and a configuration that fails on a history
//! fails on every extension of it (the new calls were invoked after every
//! call that returned, so a continuation of the longer history starts with a
//! continuation of the shorter one). Open calls count as unknown there:
//! optional, any result. The witness itself is never in the memo. The search
//! skips an optional call that changes nothing (the configuration without it
//! can do all it could), and a configuration whose call of unknown outcome,
//! placed by this search, could be taken out to reach a configuration known
//! to fail (that call may also never take effect).
//!
//! A configuration's set is kept as a 128-bit signature (a XOR of one random
//! word per call). Two sets that collide could only prune a configuration
//! that could still succeed, so a collision could report a violation, never
//! hide one; the caller confirms every violation with the whole-history
//! search (see `OnlineChecker::on_complete`).

use hashbrown::HashTable;

use std::hash::BuildHasher;

use super::hash::{mix64, FxBuildHasher, FxHashSet};
use super::history::{Operation, Outcome};
use super::model::Model;

/// Marks "none" in call and frame indices, and a rejected transition.
pub(crate) const NONE: u32 = u32::MAX;

/// Calls at the end of the witness among which a completed call may be moved
/// before a search (see `Witness::move_call`).
const REPLACE_WINDOW: usize = 48;

/// How far back from the top of the witness the trials of a repair start,
/// in turn (see `Witness::repair`).
const TRIAL_BACKOFFS: [usize; 4] = [0, 4, 16, 64];

/// Calls of unknown outcome a trial places at most along one path.
const TRIAL_UNKNOWN_MAX: usize = 1;

/// How far a search may go.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// Everywhere: a configuration it backs off is known to fail (the memo
    /// keeps it), and backing off the root is a violation.
    Complete,
    /// A quick try that does not back off below `floor` and places at most
    /// `TRIAL_UNKNOWN_MAX` calls of unknown outcome along a path. Most
    /// repairs reorder a few recent calls, or place one call of unknown
    /// outcome: a trial finds them without first proving that every order of
    /// every call of unknown outcome fails above them. Its failures prove
    /// nothing beyond its own limits: they go to a memo of their own.
    Trial { floor: usize },
}

/// Transitions remembered per call (from-state, to-state); older ones are
/// recomputed when needed.
const TRANSITIONS_KEPT: usize = 4;

/// Where a call of the key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Invoked, not returned: may be linearized (result predicted) or not.
    Open,
    /// Returned a result: must be linearized, with that result.
    Returned,
    /// Ended unknown: may be linearized (any result) or never.
    Unknown,
    /// Did not happen (failed, or a read of unknown outcome): never placed.
    Dropped,
}

/// One call of the key, by its index in the key's invocation order.
struct Call {
    /// Index in the checker's history (where the input and outcome are).
    history_index: u32,
    invoke_position: u32,
    /// Position of the completion; `NONE` unless `Returned`.
    complete_position: u32,
    status: Status,
    read_only: bool,
    /// Position in the witness, or `NONE`.
    frame: u32,
    /// Cached transitions (from, to), `to == NONE` for rejected; unused
    /// entries have `from == NONE`. Replaced round robin.
    transitions: [(u32, u32); TRANSITIONS_KEPT],
}

/// One linearized call of the witness.
#[derive(Clone, Copy)]
struct Frame {
    call: u32,
    /// State after it.
    state: u32,
    /// Signature of the linearized set up to and including it.
    signature: u128,
    /// The search that pushed it (0: placed without a search). When a frame
    /// of the current search is backed off, the calls before it in its
    /// parent's order were already tried in this search; otherwise the
    /// parent tries every call again (the memo answers the failed ones).
    search: u32,
}

/// Where a call stands in the order the search tries calls in: its rank (see
/// `Witness::rank_of`), and the call.
type TryKey = (usize, u32);

const RANK_RETURNED: usize = 0;
const RANK_OPEN: usize = 1;
const RANK_UNKNOWN: usize = 2;

/// Why a search stopped without an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutOfSteps;

/// The verdict of a repair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Repair {
    /// The witness is valid again.
    Found,
    /// No order of the calls fits: the history is not linearizable.
    Violation,
}

/// One key's witness, memo and calls.
pub(crate) struct Witness<M: Model> {
    pub(crate) key: Option<String>,
    states: Vec<M::State>,
    /// State ids, hashed by state: the state itself lives in `states` only.
    state_ids: HashTable<u32>,
    calls: Vec<Call>,
    /// Calls that may still be linearized and are not, by rank (see
    /// `rank_of`): returned calls (during a search), open writes, calls of
    /// unknown outcome. Each list sorted.
    // Invariant: exactly the calls with `frame == NONE` whose status is
    // `Returned`, `Unknown`, or `Open` and not read-only.
    floating: [Vec<u32>; 3],
    /// Returned calls not linearized; empty whenever no search runs.
    pending: Vec<u32>,
    stack: Vec<Frame>,
    /// Configurations (signature, state) known to fail.
    // allow-nondeterminism: membership only, never iterated
    memo: FxHashSet<(u128, u32)>,
    /// Configurations (signature, state, may still place a call of unknown
    /// outcome) a trial of the current repair backed off.
    // allow-nondeterminism: membership only, never iterated
    trial_memo: FxHashSet<(u128, u32, bool)>,
    searches: u32,
    /// Frames of calls of unknown outcome pushed by the current search.
    placed_unknown: Vec<u32>,
    scratch: Scratch,
}

/// Buffers reused across completions, so that a repair allocates nothing in
/// the common case.
#[derive(Default)]
struct Scratch {
    rest: Vec<u32>,
    sequence: Vec<u32>,
    states: Vec<u32>,
}

fn signature_word(call: u32) -> u128 {
    let low = mix64(u64::from(call) ^ 0x243f_6a88_85a3_08d3);
    let high = mix64(u64::from(call) ^ 0x1319_8a2e_0370_7344);
    u128::from(high) << 64 | u128::from(low)
}

impl<M: Model> Witness<M> {
    pub(crate) fn new(model: &M, key: Option<String>) -> Self {
        let mut witness = Self {
            key,
            states: Vec::new(),
            state_ids: HashTable::new(),
            calls: Vec::new(),
            floating: [Vec::new(), Vec::new(), Vec::new()],
            pending: Vec::new(),
            stack: Vec::new(),
            memo: FxHashSet::default(),
            trial_memo: FxHashSet::default(),
            searches: 0,
            placed_unknown: Vec::new(),
            scratch: Scratch::default(),
        };
        let init = witness.intern(model.init());
        assert_eq!(init, 0, "the initial state is state 0");
        witness
    }

    fn intern(&mut self, state: M::State) -> u32 {
        let hash = FxBuildHasher.hash_one(&state);
        let states = &self.states;
        if let Some(&id) = self
            .state_ids
            .find(hash, |&id| states[id as usize] == state)
        {
            return id;
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.state_ids
            .insert_unique(hash, id, |&id| FxBuildHasher.hash_one(&states[id as usize]));
        self.states.push(state);
        id
    }

    /// Memo entries held.
    pub(crate) fn memo_len(&self) -> usize {
        self.memo.len()
    }

    /// Forgets the memo: it is only a cache of failures, so forgetting it
    /// costs time, never correctness.
    pub(crate) fn forget_memo(&mut self) {
        self.memo.clear();
        self.memo.shrink_to(1024);
    }

    fn top_state(&self) -> u32 {
        self.stack.last().map_or(0, |frame| frame.state)
    }

    fn top_signature(&self) -> u128 {
        self.stack.last().map_or(0, |frame| frame.signature)
    }

    fn state_before(&self, frame: usize) -> u32 {
        if frame == 0 {
            0
        } else {
            self.stack[frame - 1].state
        }
    }

    /// Records a new call; returns its index in this key.
    pub(crate) fn invoke(
        &mut self,
        history_index: u32,
        invoke_position: u32,
        read_only: bool,
    ) -> u32 {
        let call = u32::try_from(self.calls.len()).expect("fewer than 2^32 calls per key");
        self.calls.push(Call {
            history_index,
            invoke_position,
            complete_position: NONE,
            status: Status::Open,
            read_only,
            frame: NONE,
            transitions: [(NONE, NONE); TRANSITIONS_KEPT],
        });
        // An open read changes nothing and constrains nothing: it floats
        // only once it returned.
        if !read_only {
            self.floating[RANK_OPEN].push(call);
        }
        call
    }

    /// Which list of `floating` holds the call, and in which order the
    /// search tries it: returned calls first, then open calls, then calls of
    /// unknown outcome. Most repairs place a returned call or an open one.
    fn rank_of(&self, call: u32) -> usize {
        match self.calls[call as usize].status {
            Status::Returned => RANK_RETURNED,
            Status::Open => RANK_OPEN,
            Status::Unknown => RANK_UNKNOWN,
            Status::Dropped => unreachable!("a dropped call never floats"),
        }
    }

    fn float(&mut self, call: u32) {
        let list = &mut self.floating[self.rank_of(call)];
        let at = list.partition_point(|&c| c < call);
        debug_assert!(list.get(at) != Some(&call));
        list.insert(at, call);
    }

    fn unfloat(&mut self, call: u32) {
        let list = &mut self.floating[self.rank_of(call)];
        let at = list.partition_point(|&c| c < call);
        assert_eq!(list.get(at), Some(&call), "call {call} floats");
        list.remove(at);
    }

    /// Changes the status of an open call, keeping `floating` in step.
    fn set_status(&mut self, call: u32, status: Status) {
        assert_eq!(self.calls[call as usize].status, Status::Open);
        if self.floats(call) {
            self.unfloat(call);
        }
        self.calls[call as usize].status = status;
        if self.floats(call) {
            self.float(call);
        }
    }

    /// Whether `call` is in `floating` given its status (the invariant).
    fn floats(&self, call: u32) -> bool {
        let c = &self.calls[call as usize];
        c.frame == NONE
            && match c.status {
                Status::Returned | Status::Unknown => true,
                Status::Open => !c.read_only,
                Status::Dropped => false,
            }
    }

    /// The call ended unknown (`read_only`: then it is dropped).
    pub(crate) fn complete_unknown(&mut self, call: u32) {
        let status = if self.calls[call as usize].read_only {
            Status::Dropped
        } else {
            Status::Unknown
        };
        self.set_status(call, status);
    }

    /// The call did not happen; returns the repair needed, if the witness
    /// had placed it.
    pub(crate) fn complete_failed(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        call: u32,
        steps_left: &mut u64,
    ) -> Result<Repair, OutOfSteps> {
        let frame = self.calls[call as usize].frame;
        self.set_status(call, Status::Dropped);
        if frame == NONE {
            return Ok(Repair::Found);
        }
        // Usually the rest of the witness still fits without it.
        let frame = frame as usize;
        if self.stack.len() - frame <= REPLACE_WINDOW {
            let mut rest = std::mem::take(&mut self.scratch.rest);
            rest.clear();
            rest.extend(self.stack[frame + 1..].iter().map(|f| f.call));
            let fits = self.try_sequence(model, operations, frame, &rest, steps_left);
            self.scratch.rest = rest;
            if fits? {
                return Ok(Repair::Found);
            }
        }
        self.truncate(frame);
        self.repair(model, operations, steps_left)
    }

    /// The call returned `result`; returns whether the witness still holds
    /// (or was repaired) or no order fits any more.
    pub(crate) fn complete_returned(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        call: u32,
        complete_position: u32,
        steps_left: &mut u64,
    ) -> Result<Repair, OutOfSteps> {
        self.set_status(call, Status::Returned);
        let c = &mut self.calls[call as usize];
        c.complete_position = complete_position;
        // Open, it was cached with no result to meet.
        c.transitions = [(NONE, NONE); TRANSITIONS_KEPT];
        let (frame, history_index) = (c.frame, c.history_index);
        let op = &operations[history_index as usize];
        let Some(Outcome::Ok(result)) = &op.outcome else {
            panic!("call {history_index} returned a result");
        };
        if frame != NONE {
            // Placed while open: right if the model predicts what it returned.
            let from = &self.states[self.state_before(frame as usize) as usize];
            if model.step(from, &op.input, result).is_some() {
                return Ok(Repair::Found);
            }
        } else {
            self.pending.push(call);
            debug_assert_eq!(self.pending.len(), 1, "the witness placed every return");
            // The cheap path: the witness, then this call.
            let to = self.transition(model, operations, call, self.top_state());
            if to != NONE {
                self.push(call, to, 0);
                return Ok(Repair::Found);
            }
        }
        if self.move_call(model, operations, call, steps_left)? {
            return Ok(Repair::Found);
        }
        if frame != NONE {
            self.truncate(frame as usize);
        }
        self.repair(model, operations, steps_left)
    }

    /// Tries to place the returned `call` (taken out of the witness if it
    /// was in it) among the last `REPLACE_WINDOW` calls of the witness,
    /// latest position first; true if the witness fits again.
    ///
    /// This is only a shortcut before the search: a long read usually saw a
    /// state the witness went through, and a mispredicted call usually fits a
    /// little earlier or later.
    fn move_call(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        call: u32,
        steps_left: &mut u64,
    ) -> Result<bool, OutOfSteps> {
        let frame = self.calls[call as usize].frame;
        let low = self.stack.len().saturating_sub(REPLACE_WINDOW);
        if frame != NONE && (frame as usize) < low {
            return Ok(false);
        }
        let mut rest = std::mem::take(&mut self.scratch.rest);
        let mut sequence = std::mem::take(&mut self.scratch.sequence);
        rest.clear();
        rest.extend(
            self.stack[low..]
                .iter()
                .map(|f| f.call)
                .filter(|&c| c != call),
        );
        let moved = self.move_call_within(
            model,
            operations,
            call,
            (low, &rest),
            &mut sequence,
            steps_left,
        );
        self.scratch.rest = rest;
        self.scratch.sequence = sequence;
        moved
    }

    /// `move_call` over `rest`: the calls of the witness from frame `low`
    /// on, without `call`.
    fn move_call_within(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        call: u32,
        (low, rest): (usize, &[u32]),
        sequence: &mut Vec<u32>,
        steps_left: &mut u64,
    ) -> Result<bool, OutOfSteps> {
        let frame = self.calls[call as usize].frame;
        let invoked = self.calls[call as usize].invoke_position;
        let read_only = self.calls[call as usize].read_only;
        for at in (0..=rest.len()).rev() {
            if let Some(&after) = rest.get(at) {
                // `after` goes after the call: it must not have returned
                // before the call was invoked.
                if self.calls[after as usize].complete_position < invoked {
                    break;
                }
            }
            let start = match frame {
                NONE => low + at,
                frame => (low + at).min(frame as usize),
            };
            if frame == NONE && read_only {
                // A read changes nothing: only the state before it matters.
                *steps_left = steps_left.checked_sub(1).ok_or(OutOfSteps)?;
                let before = self.state_before(low + at);
                if self.transition(model, operations, call, before) == NONE {
                    continue;
                }
            }
            sequence.clear();
            sequence.extend_from_slice(&rest[start - low..at]);
            sequence.push(call);
            sequence.extend_from_slice(&rest[at..]);
            if self.try_sequence(model, operations, start, sequence, steps_left)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Replaces the witness from frame `start` on by `sequence`, if every
    /// call there fits the model in that order (real time is the caller's
    /// concern); true if it did.
    fn try_sequence(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        start: usize,
        sequence: &[u32],
        steps_left: &mut u64,
    ) -> Result<bool, OutOfSteps> {
        let mut states = std::mem::take(&mut self.scratch.states);
        states.clear();
        let mut state = self.state_before(start);
        for &call in sequence {
            if *steps_left == 0 {
                self.scratch.states = states;
                return Err(OutOfSteps);
            }
            *steps_left -= 1;
            state = self.transition(model, operations, call, state);
            if state == NONE {
                self.scratch.states = states;
                return Ok(false);
            }
            states.push(state);
        }
        self.truncate(start);
        for (&call, &state) in sequence.iter().zip(&states) {
            self.push(call, state, 0);
        }
        self.scratch.states = states;
        Ok(true)
    }

    /// Backs the witness off to its first `length` calls, without recording
    /// anything in the memo (those configurations were never shown to fail).
    fn truncate(&mut self, length: usize) {
        while self.stack.len() > length {
            self.pop();
        }
    }

    fn push(&mut self, call: u32, to: u32, search: u32) {
        self.unfloat(call);
        let c = &mut self.calls[call as usize];
        if c.status == Status::Returned {
            let at = self
                .pending
                .iter()
                .position(|&p| p == call)
                .expect("a returned call not placed is pending");
            self.pending.swap_remove(at);
        }
        c.frame = u32::try_from(self.stack.len()).expect("fewer than 2^32 frames");
        if search != 0 && c.status == Status::Unknown {
            self.placed_unknown.push(c.frame);
        }
        let signature = self.top_signature() ^ signature_word(call);
        self.stack.push(Frame {
            call,
            state: to,
            signature,
            search,
        });
    }

    fn pop(&mut self) -> Frame {
        let frame = self.stack.pop().expect("a frame to pop");
        let c = &mut self.calls[frame.call as usize];
        if self.placed_unknown.last() == Some(&c.frame) {
            self.placed_unknown.pop();
        }
        c.frame = NONE;
        if c.status == Status::Returned {
            self.pending.push(frame.call);
        }
        if self.floats(frame.call) {
            self.float(frame.call);
        }
        frame
    }

    /// The state after `call` from state `from`, or `NONE` if the call cannot
    /// go there (it returned something else).
    fn transition(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        call: u32,
        from: u32,
    ) -> u32 {
        let c = &self.calls[call as usize];
        if let Some(&(_, to)) = c.transitions.iter().find(|t| t.0 == from) {
            return to;
        }
        let op = &operations[c.history_index as usize];
        let state = &self.states[from as usize];
        let to = match (&op.outcome, c.status) {
            (Some(Outcome::Ok(result)), Status::Returned) if c.read_only => {
                if model.observes(state, &op.input, result) {
                    from
                } else {
                    NONE
                }
            }
            (Some(Outcome::Ok(result)), Status::Returned) => {
                match model.step(state, &op.input, result) {
                    Some(next) => self.intern(next),
                    None => NONE,
                }
            }
            _ => {
                let next = model.apply(state, &op.input).0;
                self.intern(next)
            }
        };
        let transitions = &mut self.calls[call as usize].transitions;
        transitions.rotate_right(1);
        transitions[0] = (from, to);
        to
    }

    /// Makes the witness valid again after it lost calls or gained a
    /// returned call it could not place: quick trials first, backing off
    /// further each time, then the complete search.
    fn repair(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        steps_left: &mut u64,
    ) -> Result<Repair, OutOfSteps> {
        self.trial_memo.clear();
        let top = self.stack.len();
        for back in TRIAL_BACKOFFS {
            let floor = top.saturating_sub(back);
            self.truncate(floor);
            if self.search(model, operations, Scope::Trial { floor }, steps_left)? {
                return Ok(Repair::Found);
            }
            if floor == 0 {
                break;
            }
        }
        Ok(
            match self.search(model, operations, Scope::Complete, steps_left)? {
                true => Repair::Found,
                false => Repair::Violation,
            },
        )
    }

    /// Searches depth first from the witness until every returned call is
    /// placed again (true), or the search backs off its floor (false).
    fn search(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        scope: Scope,
        steps_left: &mut u64,
    ) -> Result<bool, OutOfSteps> {
        self.searches = self
            .searches
            .checked_add(1)
            .expect("fewer than 2^32 searches");
        let search = self.searches;
        self.placed_unknown.clear();
        let floor = match scope {
            Scope::Complete => 0,
            Scope::Trial { floor } => floor,
        };
        let mut resume_after: Option<TryKey> = None;
        loop {
            if self.pending.is_empty() {
                return Ok(true);
            }
            let next = self.next_call(model, operations, scope, resume_after, steps_left)?;
            if let Some((call, to)) = next {
                self.push(call, to, search);
                resume_after = None;
                continue;
            }
            // Every call that may go next was tried from here: it fails.
            if self.stack.len() <= floor {
                return Ok(false);
            }
            let failed = (self.top_signature(), self.top_state());
            match scope {
                Scope::Complete => self.memo.insert(failed),
                Scope::Trial { .. } => self.trial_memo.insert(self.trial_key(failed)),
            };
            let frame = self.pop();
            resume_after = (frame.search == search).then(|| self.try_key(frame.call));
        }
    }

    /// A trial's memo key: a configuration, and whether the trial may still
    /// place a call of unknown outcome below it.
    fn trial_key(&self, (signature, state): (u128, u32)) -> (u128, u32, bool) {
        (
            signature,
            state,
            self.placed_unknown.len() < TRIAL_UNKNOWN_MAX,
        )
    }

    fn try_key(&self, call: u32) -> TryKey {
        (self.rank_of(call), call)
    }

    /// The first call after `resume_after` (in `TryKey` order) that may go
    /// next from the top of the witness into a configuration not known to
    /// fail, with the state after it.
    fn next_call(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        scope: Scope,
        resume_after: Option<TryKey>,
        steps_left: &mut u64,
    ) -> Result<Option<(u32, u32)>, OutOfSteps> {
        // Nothing goes before a returned call that is not placed yet and
        // returned before it was invoked.
        let bound = self
            .pending
            .iter()
            .map(|&call| self.calls[call as usize].complete_position)
            .min()
            .unwrap_or(NONE);
        let first_rank = resume_after.map_or(RANK_RETURNED, |key| key.0);
        let last_rank = match scope {
            Scope::Trial { .. } if self.placed_unknown.len() >= TRIAL_UNKNOWN_MAX => RANK_OPEN,
            _ => RANK_UNKNOWN,
        };
        for rank in first_rank..=last_rank {
            let count = self.floating[rank].len();
            // Calls of unknown outcome newest first: one that took effect
            // usually shows in the next read. The others in invocation order.
            let skip = match resume_after {
                Some((after_rank, after)) if after_rank == rank => {
                    let list = &self.floating[rank];
                    if rank == RANK_UNKNOWN {
                        count - list.partition_point(|&c| c < after)
                    } else {
                        list.partition_point(|&c| c <= after)
                    }
                }
                _ => 0,
            };
            for at in skip..count {
                let index = if rank == RANK_UNKNOWN {
                    count - 1 - at
                } else {
                    at
                };
                let call = self.floating[rank][index];
                if self.calls[call as usize].invoke_position > bound {
                    if rank == RANK_UNKNOWN {
                        continue;
                    }
                    break;
                }
                *steps_left = steps_left.checked_sub(1).ok_or(OutOfSteps)?;
                if let Some(to) = self.try_call(model, operations, scope, call, rank) {
                    return Ok(Some((call, to)));
                }
            }
        }
        Ok(None)
    }

    /// The state after `call` from the top of the witness, if the call may go
    /// there and the configuration after it is not known to fail.
    fn try_call(
        &mut self,
        model: &M,
        operations: &[Operation<M::Input, M::Output>],
        scope: Scope,
        call: u32,
        rank: usize,
    ) -> Option<u32> {
        let from = self.top_state();
        let to = self.transition(model, operations, call, from);
        if to == NONE || (rank != RANK_RETURNED && to == from) {
            // Rejected; or optional and changes nothing here (the
            // configuration without it can do all it could).
            return None;
        }
        let signature = self.top_signature() ^ signature_word(call);
        if self.memo.contains(&(signature, to)) {
            return None;
        }
        if let Scope::Trial { .. } = scope {
            let unknown = u32::from(self.calls[call as usize].status == Status::Unknown);
            let below = self.placed_unknown.len() + unknown as usize;
            let key = (signature, to, below < TRIAL_UNKNOWN_MAX);
            return (!self.trial_memo.contains(&key)).then_some(to);
        }
        // The same configuration without one of the calls of unknown outcome
        // this search placed, failed: this one can do no more (that call may
        // also never take effect).
        let subsumed = self.placed_unknown.iter().any(|&frame| {
            let placed = self.stack[frame as usize].call;
            self.memo
                .contains(&(signature ^ signature_word(placed), to))
        });
        (!subsumed).then_some(to)
    }
}
