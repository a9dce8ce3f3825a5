//! The whole-history search: Wing & Gong's backtracking over the calls that
//! may take effect next, with Lowe's memoization of (linearized set, state).
//!
//! Engineering, in the spirit of Porcupine but cheaper per step:
//! - the history is a doubly linked list of call and return entries; a
//!   linearized call is lifted out (dancing links), so the calls that may go
//!   next are exactly the call entries before the first return entry;
//! - model states are interned to `u32`, and each (operation, state)
//!   transition is computed once (a one-entry cache per operation, then a map);
//! - a configuration is hashed incrementally (Zobrist: XOR of one random word
//!   per linearized call and per (partition, state)), so a memo probe costs
//!   O(1) hashing; the memo keeps its keys in an arena and compares in place;
//! - calls whose result is unknown have no return entry and need not be
//!   linearized at all: the search succeeds once every call that returned is
//!   placed. A failed call, or an unknown read, is dropped before the search.
//!
//! Several partitions can be searched together (one state per partition): that
//! is how a key-value history is checked without splitting it per key.

use hashbrown::HashTable;

use std::hash::{BuildHasher, Hash};

use super::hash::{mix64, FxBuildHasher, FxHashMap};
use super::history::{OpHistory, Outcome};
use super::model::Model;

/// Marks "no entry" in the linked list and "rejected" in transition caches.
const NONE: u32 = u32::MAX;

/// Unknown calls listed with the stuck ones in an explanation, at most.
const UNKNOWN_SHOWN_MAX: usize = 3;

/// What is left of a [`super::Budget`] across the partitions of one check.
#[derive(Clone, Debug)]
pub(crate) struct BudgetLeft {
    pub steps_left: u64,
    pub max_memo_entries: usize,
}

/// A search that found no linearization: the deepest configuration reached.
#[derive(Clone, Debug)]
pub(crate) struct Failure<S> {
    /// History indices in linearization order.
    pub prefix: Vec<u32>,
    /// State of each partition after `prefix`.
    pub states: Vec<S>,
    /// History indices of the calls that could not be placed next: the first
    /// blocking return, then the calls invoked before it, then the latest few
    /// calls of unknown outcome that could have gone there.
    pub stuck: Vec<u32>,
}

/// The verdict of one search.
#[derive(Clone, Debug)]
pub(crate) enum SearchVerdict<S> {
    Linearizable,
    NotLinearizable(Failure<S>),
    OutOfBudget(String),
}

/// One call of the searched sub-history.
struct Call<'h, M: Model> {
    history_index: u32,
    partition: u32,
    input: &'h M::Input,
    /// `None`: unknown result (no return entry, need not be linearized).
    output: Option<&'h M::Output>,
    /// The model says this call never changes the state.
    read_only: bool,
    /// Zobrist word of this call in the linearized set.
    zobrist: u64,
}

/// Interned model states and cached transitions.
struct StateTable<'m, M: Model> {
    model: &'m M,
    states: Vec<M::State>,
    /// State ids, hashed by state: the state itself lives in `states` only.
    ids: HashTable<u32>,
    /// Per call: the last transition computed (from, to), the common case.
    last: Vec<(u32, u32)>,
    // allow-nondeterminism: membership only, never iterated
    transitions: FxHashMap<u64, u32>,
}

fn hash_state<S: Hash>(state: &S) -> u64 {
    FxBuildHasher.hash_one(state)
}

impl<'m, M: Model> StateTable<'m, M> {
    fn new(model: &'m M, calls: usize) -> Self {
        Self {
            model,
            states: Vec::new(),
            ids: HashTable::with_capacity(calls + 1),
            last: vec![(NONE, NONE); calls],
            transitions: FxHashMap::default(),
        }
    }

    fn intern(&mut self, state: M::State) -> u32 {
        let hash = hash_state(&state);
        let states = &self.states;
        if let Some(&id) = self.ids.find(hash, |&id| states[id as usize] == state) {
            return id;
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.ids
            .insert_unique(hash, id, |&id| hash_state(&states[id as usize]));
        self.states.push(state);
        id
    }

    /// Next state id of `call` (number `index`) from state `from`, or `NONE`.
    fn step(&mut self, index: u32, call: &Call<'_, M>, from: u32) -> u32 {
        let (last_from, last_to) = self.last[index as usize];
        if last_from == from {
            return last_to;
        }
        let key = |from: u32| (u64::from(index) << 32) | u64::from(from);
        let next = match self.transitions.get(&key(from)) {
            Some(&next) => next,
            None => self.compute(call, from),
        };
        // The map keeps what the one-entry cache lets go: a search that sees
        // one state per call (the common case) never touches the map.
        if last_from != NONE {
            self.transitions.insert(key(last_from), last_to);
        }
        self.last[index as usize] = (from, next);
        next
    }

    fn compute(&mut self, call: &Call<'_, M>, from: u32) -> u32 {
        let state = &self.states[from as usize];
        match call.output {
            // A read leaves the state as it is: no new state to build.
            Some(output) if call.read_only => {
                if self.model.observes(state, call.input, output) {
                    from
                } else {
                    NONE
                }
            }
            Some(output) => match self.model.step(state, call.input, output) {
                Some(next) => self.intern(next),
                None => NONE,
            },
            None => {
                let next = self.model.apply(state, call.input).0;
                self.intern(next)
            }
        }
    }
}

/// Lowe's memo: the configurations already explored (all of them failed, or
/// the search would have stopped), with subsumption for unknown calls.
///
/// A configuration that linearized a superset of the unknown calls of an
/// explored one, with the same definite calls and the same state, can do
/// nothing the explored one could not (an unknown call may go later, or never),
/// so it is pruned too. Entries are grouped in chains by (definite calls,
/// state); keys live in flat arenas and are compared in place.
struct Memo {
    /// Chain head per (definite calls, state).
    table: HashTable<u32>,
    hashes: Vec<u64>,
    /// Per entry: the next (older) entry of its chain, or `NONE`.
    chain_next: Vec<u32>,
    bits: Vec<u64>,
    states: Vec<u32>,
    /// Bit set of the calls with an unknown result.
    unknown: Vec<u64>,
    words: usize,
    partitions: usize,
}

impl Memo {
    fn new(unknown: Vec<u64>, partitions: usize, capacity: usize) -> Self {
        let words = unknown.len();
        Self {
            table: HashTable::with_capacity(capacity),
            hashes: Vec::with_capacity(capacity),
            chain_next: Vec::with_capacity(capacity),
            bits: Vec::with_capacity(capacity * words),
            states: Vec::with_capacity(capacity * partitions),
            unknown,
            words,
            partitions,
        }
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Adds the configuration; false if it, or one that subsumes it, was
    /// already there. `hash` covers the definite calls and the states only.
    fn insert(&mut self, hash: u64, bits: &[u64], states: &[u32]) -> bool {
        let (words, partitions) = (self.words, self.partitions);
        let (hashes, arena_bits, arena_states, unknown) =
            (&self.hashes, &self.bits, &self.states, &self.unknown);
        let same_key = |entry: u32| {
            let entry = entry as usize;
            hashes[entry] == hash
                && arena_states[entry * partitions..(entry + 1) * partitions] == *states
                && arena_bits[entry * words..(entry + 1) * words]
                    .iter()
                    .zip(bits)
                    .zip(unknown)
                    .all(|((old, new), unknown)| (old ^ new) & !unknown == 0)
        };
        let new_entry = u32::try_from(self.hashes.len()).expect("memo below 2^32 entries");
        let head = self.table.find_mut(hash, |&entry| same_key(entry));
        let next = match head {
            Some(head) => {
                // One pass: prune if an older entry subsumes this one; else
                // unlink the older entries this one subsumes, so that a chain
                // stays an antichain and short.
                let subset = |small: &[u64], large: &[u64]| {
                    small.iter().zip(large).all(|(s, l)| s & !l == 0)
                };
                let mut previous = NONE;
                let mut entry = *head;
                while entry != NONE {
                    let at = entry as usize * words;
                    let old = &arena_bits[at..at + words];
                    let following = self.chain_next[entry as usize];
                    if subset(old, bits) {
                        return false;
                    }
                    if subset(bits, old) {
                        if previous == NONE {
                            *head = following;
                        } else {
                            self.chain_next[previous as usize] = following;
                        }
                    } else {
                        previous = entry;
                    }
                    entry = following;
                }
                let next = *head;
                *head = new_entry;
                next
            }
            None => {
                let hashes = &self.hashes;
                self.table
                    .insert_unique(hash, new_entry, |&entry| hashes[entry as usize]);
                NONE
            }
        };
        self.hashes.push(hash);
        self.chain_next.push(next);
        self.bits.extend_from_slice(bits);
        self.states.extend_from_slice(states);
        true
    }
}

/// The linked list of call and return entries, in history order.
struct EntryList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per entry: the call it belongs to.
    call_of: Vec<u32>,
    /// Per entry: true for a call entry.
    is_call: Vec<bool>,
    /// Per call: its call entry and return entry (`NONE` if unknown).
    call_entry: Vec<u32>,
    return_entry: Vec<u32>,
    head: u32,
}

impl EntryList {
    /// `events`: (history position, call index, is_call), any order.
    fn new(mut events: Vec<(u32, u32, bool)>, calls: usize) -> Self {
        events.sort_unstable_by_key(|event| event.0);
        let count = events.len();
        let head = u32::try_from(count).expect("fewer than 2^32 entries");
        let mut list = Self {
            next: Vec::with_capacity(count + 1),
            prev: Vec::with_capacity(count + 1),
            call_of: Vec::with_capacity(count),
            is_call: Vec::with_capacity(count),
            call_entry: vec![NONE; calls],
            return_entry: vec![NONE; calls],
            head,
        };
        for (entry, &(_, call, is_call)) in (0u32..).zip(&events) {
            list.call_of.push(call);
            list.is_call.push(is_call);
            if is_call {
                list.call_entry[call as usize] = entry;
            } else {
                list.return_entry[call as usize] = entry;
            }
        }
        // A circular list through the head sentinel.
        for entry in 0..=head {
            list.next.push(if entry == head { 0 } else { entry + 1 });
            list.prev.push(if entry == 0 { head } else { entry - 1 });
        }
        if count == 0 {
            list.next[0] = head;
        }
        list
    }

    fn unlink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = next;
        self.prev[next as usize] = prev;
    }

    fn relink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = entry;
        self.prev[next as usize] = entry;
    }

    /// Takes a linearized call out of the list.
    fn lift(&mut self, call: u32) {
        self.unlink(self.call_entry[call as usize]);
        let ret = self.return_entry[call as usize];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Undoes the last `lift` (dancing links: exact reverse order).
    fn unlift(&mut self, call: u32) {
        let ret = self.return_entry[call as usize];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(self.call_entry[call as usize]);
    }

    fn first(&self) -> u32 {
        self.next[self.head as usize]
    }
}

/// Searches the calls `members` (history indices, in invocation order) of
/// `history`; `partition_of[i]` is the partition of `members[i]`, below
/// `partitions`.
pub(crate) fn search<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    members: &[u32],
    partition_of: &[u32],
    partitions: usize,
    budget: &mut BudgetLeft,
) -> SearchVerdict<M::State> {
    assert_eq!(members.len(), partition_of.len());
    let mut search = Search::new(model, history, members, partition_of, partitions);
    search.run(budget)
}

struct Search<'h, 'm, M: Model> {
    calls: Vec<Call<'h, M>>,
    list: EntryList,
    table: StateTable<'m, M>,
    memo: Memo,
    /// Current configuration: linearized set, state per partition, and hash.
    bits: Vec<u64>,
    states: Vec<u32>,
    hash: u64,
    /// Calls with a known result not yet linearized; zero means success.
    returned_left: usize,
    /// (call, state id of its partition before it) for each linearized call.
    stack: Vec<(u32, u32)>,
    deepest: Vec<u32>,
    deepest_states: Vec<u32>,
    deepest_stuck: Vec<u32>,
    /// Calls of unknown outcome that could still have gone next there.
    deepest_unknown: Vec<u32>,
    /// The stack is deeper than `deepest` and not recorded yet.
    at_new_depth: bool,
}

fn zobrist_state(partition: u32, state: u32) -> u64 {
    mix64((u64::from(partition) << 32 | u64::from(state)) ^ 0x6a09_e667_f3bc_c908)
}

impl<'h, 'm, M: Model> Search<'h, 'm, M> {
    fn new(
        model: &'m M,
        history: &'h OpHistory<M::Input, M::Output>,
        members: &[u32],
        partition_of: &[u32],
        partitions: usize,
    ) -> Self {
        let operations = history.operations();
        let mut calls = Vec::with_capacity(members.len());
        let mut events = Vec::with_capacity(members.len() * 2);
        for (index, (&member, &partition)) in (0u32..).zip(members.iter().zip(partition_of)) {
            let op = &operations[member as usize];
            let output = match &op.outcome {
                Some(Outcome::Ok(output)) => Some(output),
                Some(Outcome::Unknown) | None => None,
                Some(Outcome::Fail) => unreachable!("failed calls are dropped before the search"),
            };
            events.push((op.invoke_position, index, true));
            if let (Some(_), Some(position)) = (output, op.complete_position) {
                events.push((position, index, false));
            }
            // Unknown calls stay out of the hash: the memo groups
            // configurations by their definite calls (see `Memo`).
            let zobrist = match output {
                Some(_) => mix64(u64::from(index) ^ 0x243f_6a88_85a3_08d3),
                None => 0,
            };
            calls.push(Call {
                history_index: member,
                partition,
                input: &op.input,
                output,
                read_only: model.is_read_only(&op.input),
                zobrist,
            });
        }
        let returned_left = calls.iter().filter(|call| call.output.is_some()).count();
        let mut table = StateTable::new(model, members.len());
        let init = table.intern(model.init());
        let states = vec![init; partitions];
        let hash = (0u32..)
            .take(partitions)
            .fold(0, |hash, p| hash ^ zobrist_state(p, init));
        let words = members.len().div_ceil(64).max(1);
        let mut unknown = vec![0u64; words];
        for (index, call) in calls.iter().enumerate() {
            if call.output.is_none() {
                unknown[index / 64] |= 1 << (index % 64);
            }
        }
        Self {
            list: EntryList::new(events, calls.len()),
            calls,
            table,
            memo: Memo::new(unknown, partitions, members.len() * 4),
            bits: vec![0; words],
            states,
            hash,
            returned_left,
            stack: Vec::new(),
            deepest: Vec::new(),
            deepest_states: Vec::new(),
            deepest_stuck: Vec::new(),
            deepest_unknown: Vec::new(),
            at_new_depth: false,
        }
    }

    fn run(&mut self, budget: &mut BudgetLeft) -> SearchVerdict<M::State> {
        self.record_deepest();
        let mut entry = self.list.first();
        loop {
            if self.returned_left == 0 {
                return SearchVerdict::Linearizable;
            }
            if budget.steps_left == 0 {
                return SearchVerdict::OutOfBudget("step budget exhausted".into());
            }
            budget.steps_left -= 1;
            // Invariant: a return entry is still listed, so the walk meets one
            // before it comes back to the head.
            debug_assert_ne!(entry, self.list.head);
            let call = self.list.call_of[entry as usize];
            if self.list.is_call[entry as usize] {
                if self.try_linearize(call) {
                    if self.memo.len() > budget.max_memo_entries {
                        return SearchVerdict::OutOfBudget("memo budget exhausted".into());
                    }
                    entry = self.list.first();
                } else {
                    entry = self.list.next[entry as usize];
                }
            } else {
                // The earliest pending return: nothing can be linearized past
                // it before its call, so undo the last choice.
                let Some(undone) = self.undo() else {
                    return SearchVerdict::NotLinearizable(self.failure());
                };
                entry = self.list.next[self.list.call_entry[undone as usize] as usize];
            }
        }
    }

    /// Linearizes `call` next if the model allows it and the resulting
    /// configuration is new.
    fn try_linearize(&mut self, call: u32) -> bool {
        let (partition, zobrist) = {
            let c = &self.calls[call as usize];
            (c.partition, c.zobrist)
        };
        let from = self.states[partition as usize];
        let to = self.table.step(call, &self.calls[call as usize], from);
        if to == NONE {
            return false;
        }
        if to == from && self.calls[call as usize].output.is_none() {
            // An unknown call that changes nothing here: the current
            // configuration can do all that the next one could.
            return false;
        }
        let hash =
            self.hash ^ zobrist ^ zobrist_state(partition, from) ^ zobrist_state(partition, to);
        let (word, bit) = ((call / 64) as usize, 1u64 << (call % 64));
        self.bits[word] |= bit;
        self.states[partition as usize] = to;
        if !self.memo.insert(hash, &self.bits, &self.states) {
            self.bits[word] &= !bit;
            self.states[partition as usize] = from;
            return false;
        }
        self.hash = hash;
        self.stack.push((call, from));
        self.list.lift(call);
        if self.calls[call as usize].output.is_some() {
            self.returned_left -= 1;
        }
        // The deepest configuration is recorded when the search backs off
        // it (`undo`): a search that never backtracks records nothing.
        self.at_new_depth |= self.stack.len() > self.deepest.len();
        true
    }

    /// Undoes the last linearized call; returns it, or `None` at the root.
    fn undo(&mut self) -> Option<u32> {
        if self.at_new_depth {
            self.record_deepest();
            self.at_new_depth = false;
        }
        let (call, from) = self.stack.pop()?;
        let c = &self.calls[call as usize];
        let partition = c.partition as usize;
        let to = self.states[partition];
        self.hash ^= c.zobrist ^ zobrist_state(c.partition, from) ^ zobrist_state(c.partition, to);
        self.states[partition] = from;
        self.bits[(call / 64) as usize] &= !(1u64 << (call % 64));
        if c.output.is_some() {
            self.returned_left += 1;
        }
        self.list.unlift(call);
        Some(call)
    }

    /// Remembers the deepest configuration and what blocked it.
    fn record_deepest(&mut self) {
        self.deepest.clear();
        self.deepest
            .extend(self.stack.iter().map(|&(call, _)| call));
        self.deepest_states.clone_from(&self.states);
        self.deepest_stuck.clear();
        self.deepest_unknown.clear();
        let mut entry = self.list.first();
        while entry != self.list.head {
            let call = self.list.call_of[entry as usize];
            if !self.list.is_call[entry as usize] {
                // The blocking call first: it is what no order can meet.
                self.deepest_stuck.insert(0, call);
                break;
            }
            if self.calls[call as usize].output.is_some() {
                self.deepest_stuck.push(call);
            } else {
                self.deepest_unknown.push(call);
            }
            entry = self.list.next[entry as usize];
        }
    }

    fn failure(&self) -> Failure<M::State> {
        let history_index = |&call: &u32| self.calls[call as usize].history_index;
        let mut stuck: Vec<u32> = Vec::new();
        // The latest few unknown calls too: a person wonders whether one of
        // them took effect (none can: the search tried).
        let unknown_shown = self.deepest_unknown.len().saturating_sub(UNKNOWN_SHOWN_MAX);
        let unknown = self.deepest_unknown[unknown_shown..].iter();
        for index in self.deepest_stuck.iter().chain(unknown).map(history_index) {
            if !stuck.contains(&index) {
                stuck.push(index);
            }
        }
        Failure {
            prefix: self.deepest.iter().map(history_index).collect(),
            states: self
                .deepest_states
                .iter()
                .map(|&id| self.table.states[id as usize].clone())
                .collect(),
            stuck,
        }
    }
}
