//! The whole-history search: Wing & Gong's backtracking over the calls that
//! may take effect next, with Lowe's memoization of (linearized set, state).
//!
//! Fewer steps than Porcupine (see `Search::open_frame`):
//! - a read that fits is placed without branching (any linearization can be
//!   reordered to place it first);
//! - the other choices are tried calls of unknown outcome first, then the
//!   earliest return first (a search limited to a few unknown calls tries
//!   them last: see `check_with`);
//! - without unknown calls, a configuration enters the memo only when it
//!   fails (a search that never backtracks records nothing);
//! - calls of unknown outcome with equal inputs (twins) are placed in
//!   invocation order only: any linearization can swap them;
//! - a call of unknown outcome is not placed where its new state strands a
//!   read that returns soon: the model says only a reset could lead from
//!   there to what the read saw (an append-only value that no longer
//!   starts the value read), and no reset is left to go before it.
//!
//! And cheaper steps:
//! - the history is a doubly linked list of call and return entries; a
//!   linearized call is lifted out (dancing links), so the calls that may go
//!   next are exactly the call entries before the first return entry;
//! - model states are interned to `u32`, and each (operation, state)
//!   transition is computed once (a few cached beside each call, then a map);
//! - one searcher serves every key of a history, reusing its tables, and its
//!   pool of states keeps their allocations;
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
use super::history::{Operation, Outcome};
use super::model::Model;

/// Marks "no entry" in the linked list and "rejected" in transition caches.
pub(crate) const NONE: u32 = u32::MAX;

/// Transitions of each call kept beside it, before the shared map.
const RECENT_WAYS: usize = 4;

/// Entries of the history list (from its start) searched for reads that the
/// state a call of unknown outcome makes may strand (see
/// `Search::strands_a_read`).
const STRANDED_READ_SCAN_ENTRIES: usize = 64;

/// Failed configurations per call after which a search without calls of
/// unknown outcome checks every call it places for stranding a read (see
/// `Search::count_backtrack`). Porcupine's 50-client kv keys pass it after
/// a few hundred steps; kv c10-ok's keys never do.
const STRAND_CHECK_BACKTRACKS_PER_CALL: usize = 2;

/// Unknown calls listed with the stuck ones in an explanation, at most.
const UNKNOWN_SHOWN_MAX: usize = 3;

/// What is left of a [`super::Budget`] across the partitions of one check.
#[derive(Clone, Debug)]
pub(crate) struct BudgetLeft {
    pub steps_left: u64,
    pub max_memory_bytes: usize,
    /// Polled every [`INTERRUPT_POLL_STEPS`] steps: true stops the search.
    pub interrupt: Option<fn() -> bool>,
}

/// Steps between two polls of [`BudgetLeft::interrupt`].
pub(crate) const INTERRUPT_POLL_STEPS: u64 = 1 << 12;

/// Steps between two counts of the memory a search holds. A step adds at
/// most a memo entry, a state and a transition, so a count reckons with
/// that many of each ahead; what it cannot foresee is the size of the new
/// states themselves (long appended values), a few megabytes at most.
const MEMORY_POLL_STEPS: u64 = 64;

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
    OutOfBudget(Exhausted),
}

/// Which limit stopped a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Steps,
    Memory,
    /// The caller's interrupt said stop (a time limit, say).
    Interrupted,
    /// No linearization places at most the allowed number of calls of
    /// unknown outcome; one that places more may exist.
    UnknownCap,
}

impl Exhausted {
    /// What a person is told.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Exhausted::Steps => "step budget exhausted",
            Exhausted::Memory => "memory budget exhausted",
            Exhausted::Interrupted => super::INTERRUPTED,
            Exhausted::UnknownCap => "undecided with few calls of unknown outcome placed",
        }
    }
}

/// One call of a searched sub-history.
pub(crate) struct Call<'h, M: Model> {
    history_index: u32,
    partition: u32,
    input: &'h M::Input,
    /// `None`: unknown result (no return entry, need not be linearized).
    output: Option<&'h M::Output>,
    /// The call has a known result, and wherever it fits it leaves the state
    /// as it is (a read, a compare-and-set that failed).
    leaves_state: bool,
    /// Zobrist word of this call in the linearized set.
    zobrist: u64,
    /// Where it comes among the choices at a configuration (see
    /// `open_frame`): the position of its return, or 0 for a call of unknown
    /// outcome.
    rank: u32,
    /// For a call of unknown outcome: the latest call invoked before it with
    /// the same input and an unknown outcome too (its twin), or `NONE`. Twins
    /// do the same to every state and none has a return to meet, so any
    /// linearization can swap them: the search places a call only after its
    /// twin, and so tries one order of twins, not all of them.
    twin_before: u32,
}

// By hand: derived impls would ask `M` itself to be `Copy`.
impl<M: Model> Clone for Call<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: Model> Copy for Call<'_, M> {}

impl<'h, M: Model> Call<'h, M> {
    /// Call number `index` of its sub-history: operation `history_index`,
    /// which did not fail (failed calls are dropped before the search), in
    /// `partition`.
    pub(crate) fn new(
        model: &M,
        operation: &'h Operation<M::Input, M::Output>,
        history_index: u32,
        index: u32,
        partition: u32,
    ) -> Self {
        let (output, rank) = match (&operation.outcome, operation.complete_position) {
            (Some(Outcome::Ok(output)), Some(position)) => (Some(output), position),
            (Some(Outcome::Fail), _) => unreachable!("failed calls are dropped before the search"),
            _ => (None, 0),
        };
        Self {
            history_index,
            partition,
            input: &operation.input,
            output,
            leaves_state: output.is_some_and(|output| model.leaves_state(&operation.input, output)),
            // Unknown calls stay out of the hash: the memo groups
            // configurations by their definite calls (see `Memo`).
            zobrist: match output {
                Some(_) => mix64(u64::from(index) ^ 0x243f_6a88_85a3_08d3),
                None => 0,
            },
            rank,
            twin_before: NONE,
        }
    }

    /// Links each call of unknown outcome in `calls` (one sub-history, in
    /// invocation order) to its twin before it, if any (see `twin_before`).
    pub(crate) fn link_twins(calls: &mut [Call<'h, M>]) {
        let mut latest: HashTable<u32> = HashTable::new();
        let hash = |call: &Call<'h, M>| FxBuildHasher.hash_one(call.input);
        for index in 0..calls.len() {
            if calls[index].output.is_some() {
                continue;
            }
            let input = calls[index].input;
            let index = u32::try_from(index).expect("fewer than 2^32 calls");
            let found = latest.find_mut(hash(&calls[index as usize]), |&other| {
                calls[other as usize].input == input
            });
            match found {
                Some(twin) => {
                    calls[index as usize].twin_before = *twin;
                    *twin = index;
                }
                None => {
                    latest.insert_unique(hash(&calls[index as usize]), index, |&other| {
                        hash(&calls[other as usize])
                    });
                }
            }
        }
    }

    /// Its index in the history.
    pub(crate) fn history_index(&self) -> u32 {
        self.history_index
    }

    /// Its partition in the search.
    pub(crate) fn partition(&self) -> u32 {
        self.partition
    }

    /// True if its outcome is unknown.
    pub(crate) fn is_unknown(&self) -> bool {
        self.output.is_none()
    }
}

/// The choices at one configuration of the search path.
struct Frame {
    /// Where its choices start in `Search::candidates` (they run to the end,
    /// or to the next frame's start).
    start: u32,
    /// The next choice to try.
    next: u32,
}

/// Interned model states and cached transitions.
struct StateTable<'m, M: Model> {
    model: &'m M,
    /// The states by id; entries from `used` on are left over from earlier
    /// searches, kept so that their allocations are reused (`clone_from`).
    states: Vec<M::State>,
    used: usize,
    /// Zobrist word of each state id (in partition 0), kept across searches.
    zobrist: Vec<u64>,
    /// Where the model writes a next state before it is looked up.
    scratch: M::State,
    /// State ids, hashed by state: the state itself lives in `states` only.
    ids: HashTable<u32>,
    /// Per call: its last few transitions (from, to), and which goes next.
    /// Most calls are tried from a few states only, and then never reach
    /// the map.
    recent: Vec<[(u32, u32); RECENT_WAYS]>,
    recent_next: Vec<u8>,
    // allow-nondeterminism: membership only, never iterated
    transitions: FxHashMap<u64, u32>,
    /// Bytes the states in use hold (`Model::state_bytes`).
    state_bytes: usize,
}

/// States of an earlier search are kept for their allocations up to this
/// many bytes; past it they are freed.
const LEFTOVER_STATE_BYTES_MAX: usize = 16 << 20;

fn hash_state<S: Hash>(state: &S) -> u64 {
    FxBuildHasher.hash_one(state)
}

impl<'m, M: Model> StateTable<'m, M> {
    fn new(model: &'m M) -> Self {
        Self {
            model,
            states: Vec::new(),
            used: 0,
            zobrist: Vec::new(),
            scratch: model.init(),
            ids: HashTable::new(),
            recent: Vec::new(),
            recent_next: Vec::new(),
            transitions: FxHashMap::default(),
            state_bytes: 0,
        }
    }

    /// Bytes held: the states in use, their ids and zobrist words, and the
    /// cached transitions, counted as [`held`] counts them.
    fn bytes(&self) -> usize {
        let ahead = MEMORY_POLL_STEPS as usize;
        self.state_bytes
            + held(&self.states, ahead)
            + held(&self.zobrist, ahead)
            + held_table(self.ids.len(), self.ids.capacity(), ahead, size_of::<u32>())
            + held_table(
                self.transitions.len(),
                self.transitions.capacity(),
                ahead,
                size_of::<(u64, u32)>(),
            )
            + held(&self.recent, 0)
            + held(&self.recent_next, 0)
    }

    /// Forgets every state and transition, keeping the allocations (but not
    /// large ones: what a search holds is counted against its budget, and
    /// the states left from an earlier search are not).
    fn reset(&mut self, calls: usize) {
        if self.state_bytes > LEFTOVER_STATE_BYTES_MAX {
            self.states.clear();
            self.states.shrink_to_fit();
        }
        self.state_bytes = 0;
        self.used = 0;
        clear_keeping_room(&mut self.ids, calls + 1);
        self.recent.clear();
        self.recent.resize(calls, [(NONE, NONE); RECENT_WAYS]);
        self.recent_next.clear();
        self.recent_next.resize(calls, 0);
        self.transitions.clear();
        // A few transitions per call are kept in the map at most.
        if too_roomy(self.transitions.capacity(), 4 * calls) {
            self.transitions.shrink_to(4 * calls);
        }
    }

    /// The state with id `id`.
    fn state(&self, id: u32) -> &M::State {
        &self.states[..self.used][id as usize]
    }

    /// The id of the state in `scratch`, new or not.
    fn intern_scratch(&mut self) -> u32 {
        let hash = hash_state(&self.scratch);
        let (states, scratch) = (&self.states, &self.scratch);
        if let Some(&id) = self.ids.find(hash, |&id| states[id as usize] == *scratch) {
            return id;
        }
        let id = u32::try_from(self.used).expect("fewer than 2^32 states");
        self.ids
            .insert_unique(hash, id, |&id| hash_state(&states[id as usize]));
        // The new state keeps the scratch's allocation, and the scratch takes
        // the slot's old one: no copy.
        match self.states.get_mut(self.used) {
            Some(slot) => std::mem::swap(slot, &mut self.scratch),
            None => self.states.push(self.scratch.clone()),
        }
        self.state_bytes += self.model.state_bytes(&self.states[self.used]);
        if self.zobrist.len() == self.used {
            self.zobrist
                .push(mix64(u64::from(id) ^ 0x6a09_e667_f3bc_c908));
        }
        self.used += 1;
        id
    }

    /// Zobrist word of state `state` in partition `partition`.
    fn zobrist(&self, partition: u32, state: u32) -> u64 {
        let word = self.zobrist[state as usize];
        match partition {
            0 => word,
            // Only a search of several partitions gets here.
            _ => mix64(word ^ u64::from(partition) << 32),
        }
    }

    /// The id of the model's initial state.
    fn intern_init(&mut self) -> u32 {
        // `clone_from` keeps the scratch's allocation for the next states.
        self.scratch.clone_from(&self.model.init());
        self.intern_scratch()
    }

    /// Next state id of `call` (number `index`) from state `from`, or `NONE`.
    fn step(&mut self, index: u32, call: &Call<'_, M>, from: u32) -> u32 {
        let recent = &self.recent[index as usize];
        if let Some(&(_, to)) = recent.iter().find(|&&(known, _)| known == from) {
            return to;
        }
        let key = |from: u32| (u64::from(index) << 32) | u64::from(from);
        let next = match self.transitions.get(&key(from)) {
            Some(&next) => next,
            None => self.compute(call, from),
        };
        // The map keeps what the recent ones let go.
        let way = &mut self.recent_next[index as usize];
        let slot = &mut self.recent[index as usize][usize::from(*way)];
        *way = (*way + 1) % RECENT_WAYS as u8;
        if slot.0 != NONE {
            self.transitions.insert(key(slot.0), slot.1);
        }
        *slot = (from, next);
        next
    }

    fn compute(&mut self, call: &Call<'_, M>, from: u32) -> u32 {
        // Calls that leave the state are placed without asking (see
        // `Search::try_linearize`).
        debug_assert!(!call.leaves_state);
        let state = &self.states[from as usize];
        if self
            .model
            .step_into(state, call.input, call.output, &mut self.scratch)
        {
            self.intern_scratch()
        } else {
            NONE
        }
    }
}

/// The set of linearized calls, one bit per call, with where its leading
/// full words end and its trailing empty words begin. A search linearizes
/// calls roughly in invocation order, so a set is mostly a run of full words
/// and a few words of frontier: the memo keeps only those (a long history of
/// 20,000 calls would otherwise cost 2.5 KB per memo entry).
struct CallSet {
    words: Vec<u64>,
    /// `lead` and `top` are kept (a set of a few words is kept whole: the
    /// bookkeeping would cost more than it saves).
    trimmed: bool,
    /// The first word that is not full (`words.len()` if none).
    lead: usize,
    /// One past the last word that is not empty (0 if none).
    top: usize,
}

impl CallSet {
    fn new() -> Self {
        Self {
            words: Vec::new(),
            trimmed: false,
            lead: 0,
            top: 0,
        }
    }

    /// Empties the set, for calls `0..calls`.
    fn reset(&mut self, calls: usize) {
        self.words.clear();
        self.words.resize(calls.div_ceil(64).max(1), 0);
        self.trimmed = self.words.len() > TRIMMED_SETS_FROM_WORDS;
        (self.lead, self.top) = (0, 0);
    }

    #[inline]
    fn insert(&mut self, call: u32) {
        let word = (call / 64) as usize;
        self.words[word] |= 1 << (call % 64);
        if !self.trimmed {
            return;
        }
        while self.lead < self.words.len() && self.words[self.lead] == !0 {
            self.lead += 1;
        }
        self.top = self.top.max(word + 1);
    }

    #[inline]
    fn contains(&self, call: u32) -> bool {
        self.words[(call / 64) as usize] & 1 << (call % 64) != 0
    }

    #[inline]
    fn remove(&mut self, call: u32) {
        let word = (call / 64) as usize;
        self.words[word] &= !(1 << (call % 64));
        if !self.trimmed {
            return;
        }
        self.lead = self.lead.min(word);
        while self.top > 0 && self.words[self.top - 1] == 0 {
            self.top -= 1;
        }
    }

    /// The set in the memo's form.
    #[inline]
    fn compact(&self) -> Compact<'_> {
        match self.trimmed {
            true => Compact {
                lead: self.lead,
                rest: &self.words[self.lead..self.top.max(self.lead)],
            },
            false => Compact {
                lead: 0,
                rest: &self.words,
            },
        }
    }
}

/// Sets of at most this many words are not trimmed.
const TRIMMED_SETS_FROM_WORDS: usize = 4;

/// A set of calls as `lead` full words, then the words `rest`, then empty
/// words. Within one search every set has exactly one such form (trimmed:
/// `rest` neither starts full nor ends empty; else `lead` is 0 and `rest` is
/// every word), so equal sets have equal forms.
#[derive(Clone, Copy)]
struct Compact<'a> {
    lead: usize,
    rest: &'a [u64],
}

impl Compact<'_> {
    #[inline]
    fn word(&self, index: usize) -> u64 {
        match index.checked_sub(self.lead) {
            None => !0,
            Some(at) => self.rest.get(at).copied().unwrap_or(0),
        }
    }

    /// The words where `self` and `other` may differ.
    fn differing_range(&self, other: &Compact<'_>) -> std::ops::Range<usize> {
        let end = |set: &Compact<'_>| set.lead + set.rest.len();
        self.lead.min(other.lead)..end(self).max(end(other))
    }

    /// The words of both, side by side, if both are whole (untrimmed).
    #[inline]
    fn both_whole<'s>(&'s self, other: &'s Compact<'_>) -> Option<(&'s [u64], &'s [u64])> {
        let whole = self.lead == 0 && other.lead == 0 && self.rest.len() == other.rest.len();
        whole.then_some((self.rest, other.rest))
    }

    /// True if every call of `self` is in `large`.
    #[inline]
    fn is_subset(&self, large: &Compact<'_>) -> bool {
        if let Some((small, large)) = self.both_whole(large) {
            return small.iter().zip(large).all(|(s, l)| s & !l == 0);
        }
        // Below `large.lead` every call is in `large`; past the end of
        // `self`, no call is in `self`.
        (large.lead..self.lead + self.rest.len())
            .all(|index| self.word(index) & !large.word(index) == 0)
    }
}

/// Lowe's memo: the configurations that failed, with subsumption for
/// unknown calls.
///
/// A configuration that linearized a superset of the unknown calls of a
/// failed one, with the same definite calls and the same state, can do
/// nothing the failed one could not (an unknown call may go later, or never),
/// so it fails too. Entries are grouped in chains by (definite calls,
/// state); keys live in flat arenas, in [`Compact`] form, and are compared in
/// place.
struct Memo {
    /// Chain head per (definite calls, state).
    table: HashTable<u32>,
    hashes: Vec<u64>,
    /// Per entry: the next (older) entry of its chain, or `NONE`.
    chain_next: Vec<u32>,
    /// Per entry: its set's full words, and where its other words start in
    /// `words` (they end where the next entry's start; one more start marks
    /// the end of the last).
    leads: Vec<u32>,
    starts: Vec<u32>,
    words: Vec<u64>,
    states: Vec<u32>,
    /// Bit set of the calls with an unknown result.
    unknown: Vec<u64>,
    /// No call has an unknown result: keys are equal only if their sets are.
    no_unknown: bool,
    /// Sets are whole, of this many words (`leads` and `starts` unused).
    whole_words: Option<usize>,
    partitions: usize,
    /// Words of the largest set: what one entry may add to `words`.
    set_words_max: usize,
}

impl Memo {
    fn new() -> Self {
        Self {
            table: HashTable::new(),
            hashes: Vec::new(),
            chain_next: Vec::new(),
            leads: Vec::new(),
            starts: vec![0],
            words: Vec::new(),
            states: Vec::new(),
            unknown: Vec::new(),
            no_unknown: true,
            whole_words: None,
            partitions: 0,
            set_words_max: 0,
        }
    }

    /// Empties the memo for a search whose unknown calls are `unknown` (one
    /// bit per call), keeping the allocations.
    fn reset(
        &mut self,
        unknown: &[u64],
        whole_words: Option<usize>,
        partitions: usize,
        capacity: usize,
    ) {
        self.whole_words = whole_words;
        clear_keeping_room(&mut self.table, capacity);
        self.hashes.clear();
        self.chain_next.clear();
        self.leads.clear();
        self.starts.clear();
        self.starts.push(0);
        self.words.clear();
        self.states.clear();
        self.unknown.clear();
        self.unknown.extend_from_slice(unknown);
        self.no_unknown = unknown.iter().all(|&word| word == 0);
        self.partitions = partitions;
        self.set_words_max = unknown.len();
    }

    /// Bytes its entries take: their keys, hashes and chain links, and a
    /// slot of the table each.
    /// Bytes its tables hold, counted as [`held`] counts them.
    fn bytes(&self) -> usize {
        let ahead = MEMORY_POLL_STEPS as usize;
        let set_words = self.set_words_max;
        held_table(
            self.table.len(),
            self.table.capacity(),
            ahead,
            size_of::<u32>(),
        ) + held(&self.hashes, ahead)
            + held(&self.chain_next, ahead)
            + held(&self.leads, ahead)
            + held(&self.starts, ahead)
            + held(&self.words, ahead * set_words)
            + held(&self.states, ahead * self.partitions)
    }

    /// The set of entry `entry`.
    #[inline(always)]
    fn entry_set(&self, entry: u32) -> Compact<'_> {
        let entry = entry as usize;
        if let Some(words) = self.whole_words {
            return Compact {
                lead: 0,
                rest: &self.words[entry * words..(entry + 1) * words],
            };
        }
        Compact {
            lead: self.leads[entry] as usize,
            rest: &self.words[self.starts[entry] as usize..self.starts[entry + 1] as usize],
        }
    }

    /// True if entry `entry` has the same key: hash, states, and definite
    /// calls (unknown calls may differ).
    #[inline]
    fn same_key(&self, entry: u32, hash: u64, set: &Compact<'_>, states: &[u32]) -> bool {
        let partitions = self.partitions;
        let at = entry as usize * partitions;
        if self.hashes[entry as usize] != hash || self.states[at..at + partitions] != *states {
            return false;
        }
        let old = self.entry_set(entry);
        if self.no_unknown {
            // Word by word: a key is a word or two, and comparing slices
            // would call memcmp.
            return old.lead == set.lead
                && old.rest.len() == set.rest.len()
                && old.rest.iter().zip(set.rest).all(|(old, new)| old == new);
        }
        if let Some((old, new)) = old.both_whole(set) {
            return old
                .iter()
                .zip(new)
                .zip(&self.unknown)
                .all(|((old, new), unknown)| (old ^ new) & !unknown == 0);
        }
        old.differing_range(set).all(|index| {
            let unknown = self.unknown.get(index).copied().unwrap_or(0);
            (old.word(index) ^ set.word(index)) & !unknown == 0
        })
    }

    /// The first entry of the chain with this key, if any.
    fn chain(&self, hash: u64, set: &Compact<'_>, states: &[u32]) -> Option<u32> {
        if self.hashes.is_empty() {
            return None;
        }
        let found = self
            .table
            .find(hash, |&entry| self.same_key(entry, hash, set, states));
        found.copied()
    }

    /// True if an entry of the chain that starts at `first` subsumes `set`.
    fn chain_subsumes(&self, first: Option<u32>, set: &Compact<'_>) -> bool {
        if self.no_unknown {
            // A chain holds only this very set.
            return first.is_some();
        }
        let mut entry = first.unwrap_or(NONE);
        while entry != NONE {
            if self.entry_set(entry).is_subset(set) {
                return true;
            }
            entry = self.chain_next[entry as usize];
        }
        false
    }

    /// True if a failed configuration subsumes this one (so it fails too).
    /// `hash` covers the definite calls and the states only.
    fn subsumes(&self, hash: u64, set: &Compact<'_>, states: &[u32]) -> bool {
        self.chain_subsumes(self.chain(hash, set, states), set)
    }

    /// Records a configuration reached, unless one recorded subsumes it;
    /// false if one does. The chain is looked up once for both.
    fn insert_new(&mut self, hash: u64, set: &Compact<'_>, states: &[u32]) -> bool {
        let first = self.chain(hash, set, states);
        let new = !self.chain_subsumes(first, set);
        if new {
            self.insert_into(first, hash, set, states);
        }
        new
    }

    /// Records a configuration (none recorded subsumes it).
    fn insert(&mut self, hash: u64, set: &Compact<'_>, states: &[u32]) {
        let first = self.chain(hash, set, states);
        self.insert_into(first, hash, set, states);
    }

    /// Records a configuration at the head of its chain, which starts at
    /// `first` (`None`: a new chain).
    fn insert_into(&mut self, first: Option<u32>, hash: u64, set: &Compact<'_>, states: &[u32]) {
        let new_entry = u32::try_from(self.hashes.len()).expect("memo below 2^32 entries");
        let next = match first {
            Some(old_first) => {
                // Unlink the entries this one subsumes, so that a chain stays
                // an antichain and short.
                let (mut previous, mut entry, mut first) = (NONE, old_first, old_first);
                while entry != NONE {
                    let following = self.chain_next[entry as usize];
                    if set.is_subset(&self.entry_set(entry)) {
                        if previous == NONE {
                            first = following;
                        } else {
                            self.chain_next[previous as usize] = following;
                        }
                    } else {
                        previous = entry;
                    }
                    entry = following;
                }
                let head = self.table.find_mut(hash, |&entry| entry == old_first);
                *head.expect("the chain is listed") = new_entry;
                first
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
        // Pushed one by one: most keys are a word or two, and a call to
        // memcpy costs more than copying them.
        for &word in set.rest {
            self.words.push(word);
        }
        if self.whole_words.is_none() {
            self.leads
                .push(u32::try_from(set.lead).expect("fewer than 2^32 words"));
            self.starts
                .push(u32::try_from(self.words.len()).expect("memo below 2^32 words"));
        }
        for &state in states {
            self.states.push(state);
        }
    }
}

/// The linked list of call and return entries, in history order.
struct EntryList {
    /// Per entry, and last the head sentinel: its neighbours and what it is.
    entries: Vec<Entry>,
    /// Per call: its call entry and return entry (`NONE` if unknown).
    ends: Vec<[u32; 2]>,
    head: u32,
}

/// One entry of an [`EntryList`].
#[derive(Clone, Copy)]
struct Entry {
    prev: u32,
    next: u32,
    /// The call it belongs to, shifted left by one, with the low bit set for
    /// a return entry.
    encoded: u32,
}

impl EntryList {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            ends: Vec::new(),
            head: 0,
        }
    }

    /// Rebuilds the list from `encoded` entries (in real-time order, encoded
    /// as in `Entry::encoded`), keeping the allocations.
    fn rebuild(&mut self, encoded: &[u32], calls: usize) {
        let head = u32::try_from(encoded.len()).expect("fewer than 2^32 entries");
        self.head = head;
        self.ends.clear();
        self.ends.resize(calls, [NONE, NONE]);
        self.entries.clear();
        // A circular list through the head sentinel.
        self.entries
            .extend((0u32..).zip(encoded).map(|(entry, &encoded)| Entry {
                prev: entry.checked_sub(1).unwrap_or(head),
                next: entry + 1,
                encoded,
            }));
        self.entries.push(Entry {
            prev: head.checked_sub(1).unwrap_or(head),
            next: 0,
            encoded: NONE,
        });
        for (entry, &encoded) in (0u32..).zip(encoded) {
            self.ends[(encoded >> 1) as usize][(encoded & 1) as usize] = entry;
        }
    }

    /// The call of entry `entry`.
    fn call_of(&self, entry: u32) -> u32 {
        self.entries[entry as usize].encoded >> 1
    }

    /// True if entry `entry` is a call entry (not a return).
    fn is_call(&self, entry: u32) -> bool {
        self.entries[entry as usize].encoded & 1 == 0
    }

    /// The entry after `entry`.
    fn next(&self, entry: u32) -> u32 {
        self.entries[entry as usize].next
    }

    #[inline]
    fn unlink(&mut self, entry: u32) {
        let Entry { prev, next, .. } = self.entries[entry as usize];
        self.entries[prev as usize].next = next;
        self.entries[next as usize].prev = prev;
    }

    #[inline]
    fn relink(&mut self, entry: u32) {
        let Entry { prev, next, .. } = self.entries[entry as usize];
        self.entries[prev as usize].next = entry;
        self.entries[next as usize].prev = entry;
    }

    /// Takes a linearized call out of the list.
    #[inline]
    fn lift(&mut self, call: u32) {
        let [call_entry, return_entry] = self.ends[call as usize];
        self.unlink(call_entry);
        if return_entry != NONE {
            self.unlink(return_entry);
        }
    }

    /// Undoes the last `lift` (dancing links: exact reverse order).
    #[inline]
    fn unlift(&mut self, call: u32) {
        let [call_entry, return_entry] = self.ends[call as usize];
        if return_entry != NONE {
            self.relink(return_entry);
        }
        self.relink(call_entry);
    }

    fn first(&self) -> u32 {
        self.next(self.head)
    }
}

/// Bytes a vector holds, counting the moment it grows: a vector with less
/// room left than `room` more elements will double at the next push, and
/// then holds its old buffer and one twice as large at once. Counting that
/// ahead lets a search stop before a growth would take it past its budget.
fn held<T>(vector: &Vec<T>, room: usize) -> usize {
    let bytes = vector.capacity() * size_of::<T>();
    match vector.capacity() - vector.len() < room {
        true => 3 * bytes,
        false => bytes,
    }
}

/// Bytes a hash table of `len` entries of `entry` bytes holds, with room for
/// `capacity`, counted as [`held`] counts a vector: its buckets (an eighth
/// more than its capacity, and a control byte each), tripled when fewer than
/// `room` more entries fit.
fn held_table(len: usize, capacity: usize, room: usize, entry: usize) -> usize {
    let bytes = (capacity + capacity / 7) * (entry + 1);
    match capacity - len < room {
        true => 3 * bytes,
        false => bytes,
    }
}

/// Empties `table`, keeping room for `needed` entries but not much more: a
/// small search after a large one should not pay to clear a large table.
fn clear_keeping_room<T>(table: &mut HashTable<T>, needed: usize) {
    table.clear();
    if too_roomy(table.capacity(), needed) {
        table.shrink_to(needed, |_| unreachable!("the table is empty"));
    }
}

/// True if a table of `capacity` is worth shrinking for `needed` entries.
fn too_roomy(capacity: usize, needed: usize) -> bool {
    capacity > 4 * needed.max(64)
}

/// Searches sub-histories of one history one after another, reusing its
/// tables and buffers (a key-value history has many small keys, and
/// allocating per key would cost more than searching it).
pub(crate) struct Searcher<'h, 'm, M: Model> {
    search: Search<'h, 'm, M>,
}

impl<'h, 'm, M: Model> Searcher<'h, 'm, M> {
    /// A searcher for sub-histories of at most `largest` calls (a hint:
    /// tables are sized for it once, instead of growing per search).
    pub(crate) fn new(model: &'m M, largest: usize) -> Self {
        let mut search = Search::new(model);
        search.reserve(largest);
        Self { search }
    }

    /// Searches `calls` (numbered in invocation order, each in a partition
    /// below `partitions`); `entries` are their invocations and returns in
    /// real-time order (the call's number shifted left by one, with the low
    /// bit set for a return), with no return for a call of unknown outcome.
    pub(crate) fn search(
        &mut self,
        calls: &[Call<'h, M>],
        entries: &[u32],
        partitions: usize,
        unknown_cap: Option<u32>,
        budget: &mut BudgetLeft,
    ) -> SearchVerdict<M::State> {
        self.search.reset(calls, entries, partitions);
        self.search.unknown_cap = unknown_cap;
        self.search.run(budget)
    }
}

struct Search<'h, 'm, M: Model> {
    calls: Vec<Call<'h, M>>,
    /// Scratch: one bit per call of unknown outcome.
    unknown: Vec<u64>,
    list: EntryList,
    table: StateTable<'m, M>,
    memo: Memo,
    /// Current configuration: linearized set, state per partition, and hash.
    set: CallSet,
    states: Vec<u32>,
    hash: u64,
    /// Calls with a known result not yet linearized; zero means success.
    returned_left: usize,
    /// (call, state id of its partition before it) for each linearized call.
    stack: Vec<(u32, u32)>,
    /// When configurations enter the memo. Without calls of unknown outcome,
    /// only when they fail: no configuration is reached twice on one path
    /// (each adds a call), so this prunes the same, and a search that never
    /// backtracks records nothing. With unknown calls, on arrival: then a
    /// descendant that placed more unknown calls and came back to the same
    /// definite calls and state is pruned while its ancestor is still open.
    memo_on_arrival: bool,
    /// At most this many calls of unknown outcome are placed, tried after
    /// the others (see `check_with`); `None`: no limit, tried first.
    unknown_cap: Option<u32>,
    unknown_placed: u32,
    /// The limit kept a call out somewhere: a failure proves nothing.
    cap_bound: bool,
    /// One frame per configuration on the path from the root: the choices
    /// there, in `candidates`.
    frames: Vec<Frame>,
    candidates: Vec<u32>,
    deepest: Vec<u32>,
    deepest_states: Vec<u32>,
    deepest_stuck: Vec<u32>,
    /// Calls of unknown outcome that could still have gone next there.
    deepest_unknown: Vec<u32>,
    /// The stack is deeper than `deepest` and not recorded yet.
    at_new_depth: bool,
    /// Configurations that failed so far in this search.
    backtracks: usize,
    /// Calls that returned are checked for stranding a read too, not only
    /// calls of unknown outcome (see `try_linearize`).
    // Invariant: set only in a search without calls of unknown outcome
    // that backtracked more than `STRAND_CHECK_BACKTRACKS_PER_CALL` times
    // per call.
    strands_checked_for_all: bool,
}

impl<'h, 'm, M: Model> Search<'h, 'm, M> {
    fn new(model: &'m M) -> Self {
        Self {
            calls: Vec::new(),
            unknown: Vec::new(),
            list: EntryList::new(),
            table: StateTable::new(model),
            memo: Memo::new(),
            set: CallSet::new(),
            states: Vec::new(),
            hash: 0,
            returned_left: 0,
            stack: Vec::new(),
            memo_on_arrival: false,
            frames: Vec::new(),
            candidates: Vec::new(),
            deepest: Vec::new(),
            deepest_states: Vec::new(),
            deepest_stuck: Vec::new(),
            deepest_unknown: Vec::new(),
            at_new_depth: false,
            backtracks: 0,
            strands_checked_for_all: false,
            unknown_cap: None,
            unknown_placed: 0,
            cap_bound: false,
        }
    }

    /// Makes room for a search of `calls` calls and a few states per call.
    fn reserve(&mut self, calls: usize) {
        let words = calls.div_ceil(64).max(1);
        self.calls.reserve(calls);
        self.unknown.reserve(words);
        self.set.words.reserve(words);
        self.stack.reserve(calls);
        self.deepest.reserve(calls);
        let list = &mut self.list;
        list.entries.reserve(2 * calls + 1);
        list.ends.reserve(calls);
        let table = &mut self.table;
        table.states.reserve(calls + 1);
        table
            .ids
            .reserve(2 * calls + 1, |_| unreachable!("the table is empty"));
        table.recent.reserve(calls);
        table.recent_next.reserve(calls);
        table.transitions.reserve(4 * calls);
        let memo = &mut self.memo;
        memo.table
            .reserve(4 * calls, |_| unreachable!("the table is empty"));
        memo.hashes.reserve(4 * calls);
        memo.chain_next.reserve(4 * calls);
        memo.leads.reserve(4 * calls);
        memo.starts.reserve(4 * calls + 1);
        memo.words.reserve(4 * calls);
        memo.states.reserve(4 * calls);
    }

    /// Prepares a search of `calls`, forgetting the previous one.
    fn reset(&mut self, calls: &[Call<'h, M>], entries: &[u32], partitions: usize) {
        self.calls.clear();
        self.calls.extend_from_slice(calls);
        let words = calls.len().div_ceil(64).max(1);
        self.unknown.clear();
        self.unknown.resize(words, 0);
        self.returned_left = 0;
        for (index, call) in calls.iter().enumerate() {
            match call.output {
                Some(_) => self.returned_left += 1,
                None => self.unknown[index / 64] |= 1 << (index % 64),
            }
        }
        self.list.rebuild(entries, calls.len());
        self.table.reset(calls.len());
        let init = self.table.intern_init();
        self.states.clear();
        self.states.resize(partitions, init);
        self.hash = (0u32..)
            .take(partitions)
            .fold(0, |hash, p| hash ^ self.table.zobrist(p, init));
        self.set.reset(calls.len());
        let whole_words = (!self.set.trimmed).then_some(self.set.words.len());
        self.memo
            .reset(&self.unknown, whole_words, partitions, calls.len() * 4);
        self.memo_on_arrival = self.unknown.iter().any(|&word| word != 0);
        self.stack.clear();
        self.deepest.clear();
        self.deepest_states.clear();
        self.deepest_stuck.clear();
        self.deepest_unknown.clear();
        self.at_new_depth = false;
        self.unknown_placed = 0;
        self.cap_bound = false;
        self.backtracks = 0;
        self.strands_checked_for_all = false;
    }

    fn run(&mut self, budget: &mut BudgetLeft) -> SearchVerdict<M::State> {
        self.record_deepest();
        self.frames.clear();
        self.candidates.clear();
        self.open_frame();
        loop {
            if self.returned_left == 0 {
                return SearchVerdict::Linearizable;
            }
            if budget.steps_left == 0 {
                return SearchVerdict::OutOfBudget(Exhausted::Steps);
            }
            if budget.steps_left.is_multiple_of(INTERRUPT_POLL_STEPS)
                && budget.interrupt.is_some_and(|interrupt| interrupt())
            {
                return SearchVerdict::OutOfBudget(Exhausted::Interrupted);
            }
            budget.steps_left -= 1;
            let frame = self.frames.last_mut().expect("the root frame is open");
            let Some(&call) = self.candidates.get(frame.next as usize) else {
                // Every choice here failed: so does this configuration.
                let start = frame.start as usize;
                self.candidates.truncate(start);
                self.frames.pop();
                if self.stack.is_empty() {
                    if self.cap_bound {
                        return SearchVerdict::OutOfBudget(Exhausted::UnknownCap);
                    }
                    return SearchVerdict::NotLinearizable(self.failure());
                }
                if !self.memo_on_arrival {
                    self.memo
                        .insert(self.hash, &self.set.compact(), &self.states);
                    self.count_backtrack();
                }
                self.undo();
                continue;
            };
            frame.next += 1;
            if self.try_linearize(call) {
                // Polled, not counted at every step: a poll counts what the
                // steps until the next one may add (see `held`).
                let poll = budget.steps_left.is_multiple_of(MEMORY_POLL_STEPS);
                if poll && self.memo.bytes() + self.table.bytes() > budget.max_memory_bytes {
                    return SearchVerdict::OutOfBudget(Exhausted::Memory);
                }
                self.open_frame();
            }
        }
    }

    /// Counts a failed configuration of a search without calls of unknown
    /// outcome; past [`STRAND_CHECK_BACKTRACKS_PER_CALL`] per call, calls
    /// that returned are checked for stranding a read too.
    ///
    /// Where many clients append to one key (Porcupine's 50-client kv
    /// histories), the search places appends in an order that only the
    /// next read refutes, after it placed every call invoked before that
    /// read's return: it backtracks thousands of times per key (c50-ok:
    /// 78,000 steps on its 9 searched keys; 2,300 with every call checked
    /// from the start; `raftsim check-history` on the file, parsing
    /// included, 117 -> 52 million instructions with this threshold).
    /// Checked, such an order is left as soon as it is made. Where the
    /// search seldom backtracks (kv c10-ok, most etcd histories) the check
    /// costs more than it saves (checked from the start, c10-ok took twice
    /// as long), so it starts only once the search has shown itself hard; in searches
    /// with calls of unknown outcome (etcd_057, etcd_099), where those
    /// calls are checked anyway, it saved nothing and cost 6%.
    fn count_backtrack(&mut self) {
        debug_assert!(!self.memo_on_arrival, "counted only without unknown calls");
        self.backtracks += 1;
        if self.backtracks > STRAND_CHECK_BACKTRACKS_PER_CALL * self.calls.len() {
            self.strands_checked_for_all = true;
        }
    }

    /// Lists the choices at the configuration just reached: the calls that
    /// may go next (invoked before the earliest pending return).
    ///
    /// Any order of the choices finds a linearization if there is one, but
    /// the order decides how much the search backtracks. Calls of unknown
    /// outcome come first, in invocation order: such a call may take effect
    /// as soon as it is invoked; tried last instead, a write that did take
    /// effect is found only after the other orders failed (on random
    /// simulator-like histories, ten times slower; on Jepsen's etcd
    /// histories, where most timed-out writes never happened, faster). Then
    /// the calls that returned, earliest return first: the call that must be
    /// placed soonest is most often placed first (Porcupine's kv histories:
    /// 581 steps instead of 895 in invocation order; etcd: the same).
    ///
    /// A call that may go next and leaves the state as it is (a read that
    /// fits here) is the only choice: it can be moved to the front of any
    /// linearization from here, since it is already invoked, every call that
    /// returned before its invocation is already placed, and its absence
    /// changes no later state. If it fails, this configuration fails.
    // Called once per step from two places; left to itself, LLVM keeps the
    // call (1.3% more instructions per kv check, measured with callgrind).
    #[inline(always)]
    fn open_frame(&mut self) {
        let start = self.candidates.len();
        let mut entry = self.list.first();
        while entry != self.list.head {
            // Each entry and call read once (one bounds check each).
            let Entry { next, encoded, .. } = self.list.entries[entry as usize];
            if encoded & 1 != 0 {
                break;
            }
            let call = encoded >> 1;
            let c = self.calls[call as usize];
            if c.leaves_state {
                let from = self.states[c.partition as usize];
                // Asked of the model directly, not through the transition
                // cache: whether a read sees a value costs a comparison,
                // no more than a cache probe, and these reads are asked
                // again at every configuration until one fits.
                let output = c.output.expect("a call that leaves the state returned");
                if self
                    .table
                    .model
                    .observes(self.table.state(from), c.input, output)
                {
                    self.candidates.truncate(start);
                    self.candidates.push(call);
                    break;
                }
                // It does not fit here, and nothing placed here changes that.
            } else if c.output.is_none()
                && self
                    .unknown_cap
                    .is_some_and(|cap| self.unknown_placed >= cap)
            {
                self.cap_bound = true;
            } else if c.twin_before == NONE || self.set.contains(c.twin_before) {
                self.candidates.push(call);
            }
            entry = next;
        }
        let (calls, capped) = (&self.calls, self.unknown_cap.is_some());
        self.candidates[start..].sort_unstable_by_key(|&call| {
            let c = &calls[call as usize];
            // Under a limit, calls of unknown outcome go last: placed only
            // where nothing else can go.
            let rank = if capped && c.output.is_none() {
                u32::MAX
            } else {
                c.rank
            };
            (rank, call)
        });
        let start = u32::try_from(start).expect("fewer than 2^32 choices");
        self.frames.push(Frame { start, next: start });
    }

    /// Linearizes `call` next if the model allows it and the resulting
    /// configuration is new.
    fn try_linearize(&mut self, call: u32) -> bool {
        let c = self.calls[call as usize];
        let partition = c.partition;
        let from = self.states[partition as usize];
        // A call that leaves the state is a choice only where it fits (see
        // `open_frame`): no need to ask the model again.
        let to = match c.leaves_state {
            true => from,
            false => self.table.step(call, &c, from),
        };
        if to == NONE {
            return false;
        }
        if to == from && c.output.is_none() {
            // An unknown call that changes nothing here: the current
            // configuration can do all that the next one could.
            return false;
        }
        let hash = self.hash
            ^ c.zobrist
            ^ self.table.zobrist(partition, from)
            ^ self.table.zobrist(partition, to);
        self.set.insert(call);
        self.states[partition as usize] = to;
        let seen = if self.memo_on_arrival {
            !self
                .memo
                .insert_new(hash, &self.set.compact(), &self.states)
        } else {
            self.memo.subsumes(hash, &self.set.compact(), &self.states)
        };
        if seen {
            self.set.remove(call);
            self.states[partition as usize] = from;
            return false;
        }
        self.hash = hash;
        self.stack.push((call, from));
        self.list.lift(call);
        match c.output {
            Some(_) => self.returned_left -= 1,
            None => self.unknown_placed += 1,
        }
        // The deepest configuration is recorded when the search backs off
        // it (`undo`): a search that never backtracks records nothing.
        self.at_new_depth |= self.stack.len() > self.deepest.len();
        // Calls of unknown outcome are checked: they may go anywhere, and a
        // wrong place shows only at a read far later. A call that returned
        // is held near its return, and is checked only once the search has
        // backtracked a lot (see `count_backtrack`).
        let checked = c.output.is_none() || self.strands_checked_for_all;
        if checked && to != from && self.strands_a_read(partition, to) {
            // Entered and left at once, so that an explanation can still
            // show this configuration and the read it strands.
            self.undo();
            return false;
        }
        true
    }

    /// True if, with `partition` in state `state`, a read pending there can
    /// no longer fit: the model says no call but a
    /// reset can lead from `state` to what it read
    /// (`Model::may_lead_to`), and no call that may reset for it is left
    /// to go before it returns. Only the first few entries of the list are
    /// looked at, so the reads checked are the ones that return soonest.
    fn strands_a_read(&self, partition: u32, state: u32) -> bool {
        let model = self.table.model;
        let now = self.table.state(state);
        let mut entry = self.list.first();
        for _ in 0..STRANDED_READ_SCAN_ENTRIES {
            if entry == self.list.head {
                break;
            }
            let Entry { next, encoded, .. } = self.list.entries[entry as usize];
            let c = &self.calls[(encoded >> 1) as usize];
            if encoded & 1 != 0 && c.leaves_state && c.partition == partition {
                let output = c.output.expect("a call with a return entry returned");
                if !model.may_lead_to(now, c.input, output)
                    && !self.reset_goes_before(partition, entry, output)
                {
                    return true;
                }
            }
            entry = next;
        }
        false
    }

    /// True if a call not yet placed, invoked before the list entry `until`,
    /// may reset `partition` for a read that returned `output`.
    fn reset_goes_before(&self, partition: u32, until: u32, output: &M::Output) -> bool {
        let model = self.table.model;
        let mut entry = self.list.first();
        while entry != until {
            let Entry { next, encoded, .. } = self.list.entries[entry as usize];
            let call = encoded >> 1;
            let c = &self.calls[call as usize];
            if encoded & 1 == 0
                && c.partition == partition
                && !c.leaves_state
                && model.may_reset_for(c.input, output)
            {
                return true;
            }
            entry = next;
        }
        false
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
        self.hash ^=
            c.zobrist ^ self.table.zobrist(c.partition, from) ^ self.table.zobrist(c.partition, to);
        self.states[partition] = from;
        self.set.remove(call);
        match c.output {
            Some(_) => self.returned_left += 1,
            None => self.unknown_placed -= 1,
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
            let call = self.list.call_of(entry);
            if !self.list.is_call(entry) {
                // The blocking call first: it is what no order can meet.
                self.deepest_stuck.insert(0, call);
                break;
            }
            if self.calls[call as usize].output.is_some() {
                self.deepest_stuck.push(call);
            } else {
                self.deepest_unknown.push(call);
            }
            entry = self.list.next(entry);
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
                .map(|&id| self.table.state(id).clone())
                .collect(),
            stuck,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn set_of(calls: usize, members: &BTreeSet<u32>) -> CallSet {
        let mut set = CallSet::new();
        set.reset(calls);
        for &call in members {
            set.insert(call);
        }
        set
    }

    fn members_of(set: &Compact<'_>, calls: usize) -> BTreeSet<u32> {
        (0..calls as u32)
            .filter(|&call| set.word((call / 64) as usize) & 1 << (call % 64) != 0)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// However a set was reached (calls added and taken back in any
        /// order), its memo form holds its calls and is the same as the form
        /// of the set built directly: the memo compares forms.
        #[test]
        fn a_set_has_one_form_whatever_its_path(
            calls in 1usize..800,
            dense in 0usize..800,
            steps in proptest::collection::vec((0u16..256, any::<bool>()), 0..400),
        ) {
            let mut set = CallSet::new();
            set.reset(calls);
            let mut reference = BTreeSet::new();
            // A dense run from 0, as a search makes, then calls added and
            // taken back around its end (inside full words too).
            let dense = dense.min(calls) as u32;
            for call in 0..dense {
                reference.insert(call);
                set.insert(call);
            }
            for (pick, add) in steps {
                let call = (dense.saturating_sub(128) + u32::from(pick)) % calls as u32;
                if add && reference.insert(call) {
                    set.insert(call);
                } else if !add && reference.remove(&call) {
                    set.remove(call);
                }
                let form = set.compact();
                prop_assert_eq!(members_of(&form, calls), reference.clone());
                let direct = set_of(calls, &reference);
                let direct = direct.compact();
                prop_assert_eq!((form.lead, form.rest), (direct.lead, direct.rest));
            }
        }

        /// Subsumption in the memo: a recorded failure subsumes a
        /// configuration with the same state and the same definite calls
        /// that placed at least its unknown calls.
        #[test]
        fn the_memo_subsumes_as_defined(
            calls in 1usize..700,
            unknown_every in 0u32..9,
            recorded in proptest::collection::vec(
                (proptest::collection::btree_set(0u32..700, 0..40), 0u32..3), 0..12),
            probe in (proptest::collection::btree_set(0u32..700, 0..40), 0u32..3),
            dense in 0usize..700,
        ) {
            let in_range = |members: &BTreeSet<u32>| -> BTreeSet<u32> {
                // A dense prefix as well, so that long sets get trimmed.
                members.iter().map(|&call| call % calls as u32)
                    .chain(0..dense.min(calls) as u32).collect()
            };
            let unknown_calls: BTreeSet<u32> =
                (0..calls as u32).filter(|call| unknown_every != 0 && call % unknown_every == 0).collect();
            let unknown = set_of(calls, &unknown_calls);
            let mut memo = Memo::new();
            memo.reset(&unknown.words, None, 1, 16);
            let definite = |members: &BTreeSet<u32>| -> BTreeSet<u32> {
                members.difference(&unknown_calls).copied().collect()
            };
            // The zobrist hash of the search covers definite calls and state.
            let hash = |members: &BTreeSet<u32>, state: u32| -> u64 {
                definite(members).iter().fold(mix64(u64::from(state)), |hash, &call| {
                    hash ^ mix64(u64::from(call) ^ 0x243f_6a88_85a3_08d3)
                })
            };
            let mut failures: Vec<(BTreeSet<u32>, u32)> = Vec::new();
            for (members, state) in &recorded {
                let members = in_range(members);
                let set = set_of(calls, &members);
                memo.insert_new(hash(&members, *state), &set.compact(), &[*state]);
                failures.push((members, *state));
            }
            let (members, state) = (in_range(&probe.0), probe.1);
            let expected = failures.iter().any(|(failed, failed_state)| {
                *failed_state == state
                    && definite(failed) == definite(&members)
                    && failed.is_subset(&members)
            });
            let set = set_of(calls, &members);
            prop_assert_eq!(memo.subsumes(hash(&members, state), &set.compact(), &[state]), expected);
        }
    }
}
