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

use super::hash::{mix64, FxHashMap};
use super::history::{OpHistory, Outcome};
use super::model::Model;

/// Marks "no entry" in the linked list and "rejected" in transition caches.
const NONE: u32 = u32::MAX;

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
    /// blocking return, then the calls invoked before it.
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
    /// Zobrist word of this call in the linearized set.
    zobrist: u64,
}

/// Interned model states and cached transitions.
struct StateTable<'m, M: Model> {
    model: &'m M,
    states: Vec<M::State>,
    // allow-nondeterminism: membership only, never iterated
    ids: FxHashMap<M::State, u32>,
    // allow-nondeterminism: membership only, never iterated
    transitions: FxHashMap<u64, u32>,
}

impl<'m, M: Model> StateTable<'m, M> {
    fn new(model: &'m M) -> Self {
        Self {
            model,
            states: Vec::new(),
            ids: FxHashMap::default(),
            transitions: FxHashMap::default(),
        }
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.states.push(state.clone());
        self.ids.insert(state, id);
        id
    }

    /// Next state id of `call` (number `index`) from state `from`, or `NONE`.
    fn step(&mut self, index: u32, call: &Call<'_, M>, from: u32) -> u32 {
        let key = (u64::from(index) << 32) | u64::from(from);
        if let Some(&next) = self.transitions.get(&key) {
            return next;
        }
        let state = &self.states[from as usize];
        let next = match call.output {
            Some(output) => self.model.step(state, call.input, output),
            None => Some(self.model.apply(state, call.input).0),
        };
        let next = next.map_or(NONE, |next| self.intern(next));
        self.transitions.insert(key, next);
        next
    }
}

/// Lowe's memo: the configurations already explored (all of them failed, or
/// the search would have stopped). Keys live in flat arenas.
struct Memo {
    table: HashTable<u32>,
    hashes: Vec<u64>,
    bits: Vec<u64>,
    states: Vec<u32>,
    words: usize,
    partitions: usize,
}

impl Memo {
    fn new(words: usize, partitions: usize) -> Self {
        Self {
            table: HashTable::new(),
            hashes: Vec::new(),
            bits: Vec::new(),
            states: Vec::new(),
            words,
            partitions,
        }
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Adds the configuration; false if it was already there.
    fn insert(&mut self, hash: u64, bits: &[u64], states: &[u32]) -> bool {
        let (words, partitions) = (self.words, self.partitions);
        let (hashes, arena_bits, arena_states) = (&self.hashes, &self.bits, &self.states);
        let found = self.table.find(hash, |&entry| {
            let entry = entry as usize;
            hashes[entry] == hash
                && arena_bits[entry * words..(entry + 1) * words] == *bits
                && arena_states[entry * partitions..(entry + 1) * partitions] == *states
        });
        if found.is_some() {
            return false;
        }
        let entry = u32::try_from(self.hashes.len()).expect("memo below 2^32 entries");
        self.hashes.push(hash);
        self.bits.extend_from_slice(bits);
        self.states.extend_from_slice(states);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, entry, |&entry| hashes[entry as usize]);
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
            let zobrist = mix64(u64::from(index) ^ 0x243f_6a88_85a3_08d3);
            calls.push(Call {
                history_index: member,
                partition,
                input: &op.input,
                output,
                zobrist,
            });
        }
        let returned_left = calls.iter().filter(|call| call.output.is_some()).count();
        let mut table = StateTable::new(model);
        let init = table.intern(model.init());
        let states = vec![init; partitions];
        let hash = (0u32..)
            .take(partitions)
            .fold(0, |hash, p| hash ^ zobrist_state(p, init));
        let words = members.len().div_ceil(64).max(1);
        Self {
            list: EntryList::new(events, calls.len()),
            calls,
            table,
            memo: Memo::new(words, partitions),
            bits: vec![0; words],
            states,
            hash,
            returned_left,
            stack: Vec::new(),
            deepest: Vec::new(),
            deepest_states: Vec::new(),
            deepest_stuck: Vec::new(),
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
        if self.stack.len() > self.deepest.len() {
            self.record_deepest();
        }
        true
    }

    /// Undoes the last linearized call; returns it, or `None` at the root.
    fn undo(&mut self) -> Option<u32> {
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
            }
            entry = self.list.next[entry as usize];
        }
    }

    fn failure(&self) -> Failure<M::State> {
        let history_index = |&call: &u32| self.calls[call as usize].history_index;
        let mut stuck: Vec<u32> = Vec::new();
        for index in self.deepest_stuck.iter().map(history_index) {
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
