//! The fast path for histories whose written values are unique: a read names
//! the write it saw, so a key's linearizability is decided in O(n log n)
//! without a search (Gibbons & Korach's read-mapping, 1997; Lee & Mathur,
//! OOPSLA 2025; Elle's "write order from reads").
//!
//! # When it applies (detected per key, never assumed)
//!
//! Every call on the key is a read, a put or an append ([`Access`]; any other
//! kind, a compare-and-set, sends the key to the general search); every
//! written value, of calls that failed or ended unknown too, is distinct from
//! every other and from the key's initial value; if the key has appends, no
//! written text is empty or a prefix of another (a prefix code: a value read
//! splits into written values in at most one way, found greedily) and the
//! initial value is absent or empty. Otherwise the key goes to the general
//! search, which is always sound.
//!
//! # The argument
//!
//! A state of the key is a *base* (the initial value, or the value of the
//! last put) followed by the appends made since. With unique values and a
//! prefix code, a read's value names its base and, in order, the appends
//! after it (or no base exists and the read is impossible). Call the calls
//! between one base and the next its *block*: the put (for the initial
//! value, a virtual call that ends before everything), then its appends and
//! reads. Reads of one block see a chain of prefixes of one append sequence
//! (else they disagree: impossible), which fixes the order inside the block:
//! rank 0 the put, rank 1 the reads of the base alone, rank 2 the first
//! append, rank 3 the reads that end with it, and so on. Reads of equal rank
//! go in any order. A write no read saw that returned is a block of its own
//! (as a block placed between two others, an append is the tail of the block
//! before it: nothing reads it, and a put resets nothing anyone reads); one
//! that ended unknown or failed is dropped: it may never have happened. A
//! value read that a failed call wrote, or that no call wrote, is a violation.
//!
//! So a linearization is an order of blocks, each contiguous and in its own
//! rank order, the initial block first. Times are event positions, distinct
//! (a call of unknown outcome returns at +infinity; the virtual put at
//! -infinity). Call *x precedes y in real time* when x returned before y was
//! invoked: an interval order, so acyclic.
//!
//! **Lemma (ranks).** Given a weak order `rank` on calls, some total order
//! extends both `rank` and real time iff there is no *inversion*: x, y with
//! rank(y) < rank(x) while x precedes y in real time. Only if: plain. If:
//! along a cycle of the union, rank never decreases, so it is constant, so
//! every edge is real time, which has no cycle.
//!
//! For a block B let f(B) be the earliest return of its calls and s(B) the
//! latest invocation. If f < s, B's *forward zone* is [f, s]: the call that
//! returned at f is linearized before f, the one invoked at s after s, so
//! B's span (from its first linearization point to its last) covers [f, s].
//! If s < f, its *backward zone* is [s, f], where all its calls are pending
//! at once; B's span meets it (it starts before f and ends after s).
//!
//! **Theorem.** The key is linearizable iff (1) no block has an inversion
//! inside it, (2) no two forward zones meet, (3) no backward zone lies inside
//! a forward zone.
//!
//! Only if: (1) by the lemma; spans of blocks are disjoint and a forward span
//! covers its zone, so (2); a backward span meets its zone, so inside
//! another's forward zone it meets that block's span, so (3).
//!
//! If: forward zones are disjoint, so ordered; a backward zone not inside one
//! holds a point `t` outside all of them (two closed zones that are disjoint
//! leave a gap between them). Order blocks by the start of their forward
//! zone, or by `t`, and each block by its ranks. An inversion across blocks
//! B before C needs x in C, y in B with x returning before y is invoked; but
//! x returns after f(C) and y is invoked before s(B), and both orderings
//! (forward and forward: s(B) < f(C); forward B before point t of C: s(B) <
//! t ≤ f(C); point t of B before forward C: s(B) ≤ t < f(C); two points:
//! s(B) ≤ t(B) < t(C) ≤ f(C)) put s(B) before f(C). Within a block (1)
//! holds. By the lemma a linearization exists.
//!
//! The check computes exactly these conditions, and a violation names the
//! calls that break one (a person can check them by hand).

use hashbrown::HashTable;

use std::hash::BuildHasher;

use super::explain::{Explanation, OpSummary};
use super::hash::{FxBuildHasher, FxHashMap};
use super::history::{OpHistory, OpId, Outcome};
use super::model::Model;

/// A value as the fast path compares it: what a read returned or a write
/// wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value<'a> {
    /// No value (an absent key, a register never written).
    Absent,
    /// Text (the key-value store).
    Text(&'a str),
    /// A number (Jepsen's register).
    Integer(i64),
}

/// What a call does, as the fast path for unique values sees it
/// ([`Model::access`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access<'a> {
    /// Returns the state (`None`: its result is unknown).
    Read(Option<Value<'a>>),
    /// Sets the state to the value.
    Put(Value<'a>),
    /// Appends the text to the state (absent counts as empty).
    Append(&'a str),
    /// Anything else (compare-and-set): the key goes to the general search.
    Other,
}

/// The fast path's verdict on one key.
pub(crate) enum KeyVerdict {
    /// Linearizable.
    Linearizable,
    /// Not linearizable, and why.
    Violation(Violation),
    /// The key does not qualify: search it.
    Search,
}

/// Why a key is not linearizable: the calls that show it, and a sentence.
pub(crate) struct Violation {
    /// History indices of the calls involved, the one to look at first.
    calls: Vec<u32>,
    reason: String,
}

impl Violation {
    /// A violation that calls `calls` (history indices) show.
    pub(crate) fn new(calls: Vec<u32>, reason: &str) -> Self {
        Self {
            calls,
            reason: reason.into(),
        }
    }
}

/// Time of the virtual put of the initial value, and of returns that never
/// came (calls of unknown outcome).
const BEFORE_ALL: i64 = i64::MIN;
const NEVER: i64 = i64::MAX;

/// The virtual call that wrote the initial value.
const INITIAL: u32 = u32::MAX;

/// One call placed in a block.
#[derive(Clone, Copy)]
struct Placed {
    call: u32,
    rank: u32,
    invoked: i64,
    returned: i64,
}

/// Decides the calls `calls` (history indices of one key, in invocation
/// order) of `history`, if they qualify.
pub(crate) fn check_key<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    calls: &[u32],
) -> KeyVerdict {
    let Some(initial) = model.initial_access() else {
        return KeyVerdict::Search;
    };
    let Some(key) = Key::of(model, history, calls, initial) else {
        // Not unique: perhaps a stale read still shows in the values that
        // are (see `refute`); else searched.
        return match super::refute::refute(model, history, calls) {
            Some(violation) => KeyVerdict::Violation(violation),
            None => KeyVerdict::Search,
        };
    };
    match key.blocks(history) {
        Ok(blocks) => match check_blocks(&blocks) {
            Ok(()) => KeyVerdict::Linearizable,
            Err(violation) => KeyVerdict::Violation(violation),
        },
        Err(violation) => KeyVerdict::Violation(violation),
    }
}

/// The explanation of a violation the fast path found on `key`.
pub(crate) fn explain<I: std::fmt::Display, O: std::fmt::Display>(
    history: &OpHistory<I, O>,
    key: Option<&str>,
    violation: Violation,
) -> Explanation {
    let mut stuck: Vec<OpSummary> = Vec::new();
    for &call in &violation.calls {
        if call != INITIAL && !stuck.iter().any(|summary| summary.id == OpId(call)) {
            stuck.push(OpSummary::of(history, OpId(call)));
        }
    }
    Explanation {
        key: key.map(str::to_owned),
        prefix: Vec::new(),
        state: violation.reason,
        stuck,
    }
}

/// A key's calls, classified.
struct Key<'h> {
    initial: Value<'h>,
    /// (history index, access, outcome) of every call that is not a failed
    /// or unknown read.
    calls: Vec<(u32, Access<'h>, Kind)>,
    /// Writer of each written value (history index).
    writers: FxHashMap<Value<'h>, u32>,
    /// Written texts in order, for the prefix search (only with appends).
    texts: Vec<(&'h str, u32)>,
    has_appends: bool,
}

/// How a call ended, as the fast path needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Returned,
    Failed,
    Unknown,
}

impl<'h> Key<'h> {
    /// The key's calls, if they qualify (see the module doc).
    fn of<M: Model>(
        model: &M,
        history: &'h OpHistory<M::Input, M::Output>,
        calls: &[u32],
        initial: Value<'h>,
    ) -> Option<Self> {
        let operations = history.operations();
        let mut key = Key {
            initial,
            calls: Vec::with_capacity(calls.len()),
            writers: FxHashMap::default(),
            texts: Vec::new(),
            has_appends: false,
        };
        for &call in calls {
            let op = &operations[call as usize];
            let (kind, output) = match &op.outcome {
                Some(Outcome::Ok(output)) => (Kind::Returned, Some(output)),
                Some(Outcome::Fail) => (Kind::Failed, None),
                Some(Outcome::Unknown) | None => (Kind::Unknown, None),
            };
            let access = model.access(&op.input, output);
            let written = match access {
                Access::Read(_) if kind != Kind::Returned => continue,
                Access::Read(_) => None,
                Access::Put(value) => Some(value),
                Access::Append(text) => {
                    key.has_appends = true;
                    Some(Value::Text(text))
                }
                Access::Other => return None,
            };
            if let Some(value) = written {
                if value == initial || key.writers.insert(value, call).is_some() {
                    return None; // not unique
                }
            }
            key.calls.push((call, access, kind));
        }
        if key.has_appends && !key.is_prefix_code() {
            return None;
        }
        Some(key)
    }

    /// With appends: the initial value is absent or empty, and the written
    /// values are non-empty texts none of which starts another. Sorted, a
    /// text that starts another starts the one right after it.
    fn is_prefix_code(&mut self) -> bool {
        if !matches!(self.initial, Value::Absent | Value::Text("")) {
            return false;
        }
        let mut texts = Vec::with_capacity(self.writers.len());
        for (value, &writer) in &self.writers {
            match value {
                Value::Text(text) if !text.is_empty() => texts.push((*text, writer)),
                _ => return false,
            }
        }
        texts.sort_unstable();
        let prefix_free = texts
            .windows(2)
            .all(|pair| !pair[1].0.starts_with(pair[0].0));
        self.texts = texts;
        prefix_free
    }

    /// The written text that starts `text`, if any: the greatest one not
    /// above it (any text between a prefix of `text` and `text` starts with
    /// that prefix, and none does).
    fn word_starting(&self, text: &str) -> Option<(&'h str, u32)> {
        let after = self.texts.partition_point(|&(word, _)| word <= text);
        let &(word, writer) = self.texts.get(after.checked_sub(1)?)?;
        text.starts_with(word).then_some((word, writer))
    }

    /// The base (writer, or [`INITIAL`]) of the value a read returned, and
    /// where its appends start, or a violation.
    fn base_of(&self, read: u32, value: Value<'h>) -> Result<(u32, usize), Violation> {
        let impossible = || Violation {
            calls: vec![read],
            reason: format!("no call wrote the value read ({})", show(value)),
        };
        if value == self.initial {
            return Ok((INITIAL, 0));
        }
        if !self.has_appends {
            // The whole value is the base: no appends follow it.
            let length = match value {
                Value::Text(text) => text.len(),
                _ => 0,
            };
            let writer = self.writers.get(&value).ok_or_else(impossible)?;
            return Ok((*writer, length));
        }
        let Value::Text(text) = value else {
            return Err(impossible());
        };
        let (word, writer) = self.word_starting(text).ok_or_else(impossible)?;
        match self.calls_access(writer) {
            Access::Put(_) => Ok((writer, word.len())),
            // Appends straight onto the initial value (absent or empty).
            _ => Ok((INITIAL, 0)),
        }
    }

    fn calls_access(&self, call: u32) -> Access<'h> {
        let at = self.calls.partition_point(|&(index, _, _)| index < call);
        self.calls[at].1
    }

    fn kind_of(&self, call: u32) -> Kind {
        let at = self.calls.partition_point(|&(index, _, _)| index < call);
        self.calls[at].2
    }

    /// The blocks of the key (see the module doc), each in rank order, or a
    /// violation found while building them.
    fn blocks<I, O>(&self, history: &OpHistory<I, O>) -> Result<Vec<Vec<Placed>>, Violation> {
        let operations = history.operations();
        let times = |call: u32| {
            let op = &operations[call as usize];
            let returned = match (&op.outcome, op.complete_position) {
                (Some(Outcome::Ok(_)), Some(position)) => i64::from(position),
                _ => NEVER,
            };
            (i64::from(op.invoke_position), returned)
        };
        // Reads grouped by base, each with its value's length.
        let mut bases: Vec<u32> = Vec::new();
        let mut base_numbers: HashTable<u32> = HashTable::new();
        let mut reads_of: Vec<Vec<(u32, Value<'h>, usize)>> = Vec::new();
        for &(call, access, _) in &self.calls {
            let Access::Read(Some(value)) = access else {
                continue;
            };
            let (base, start) = self.base_of(call, value)?;
            let hash = FxBuildHasher.hash_one(base);
            let number = match base_numbers.find(hash, |&n| bases[n as usize] == base) {
                Some(&number) => number,
                None => {
                    let number = bases.len() as u32;
                    base_numbers.insert_unique(hash, number, |&n| {
                        FxBuildHasher.hash_one(bases[n as usize])
                    });
                    bases.push(base);
                    reads_of.push(Vec::new());
                    number
                }
            };
            reads_of[number as usize].push((call, value, start));
        }
        // Appends seen, by the base they were seen on.
        let mut seen: FxHashMap<u32, u32> = FxHashMap::default();
        let mut blocks: Vec<Vec<Placed>> = Vec::new();
        let mut initial_block = None;
        for (number, &base) in bases.iter().enumerate() {
            let block = self.block(base, &reads_of[number], &mut seen, &times)?;
            if base == INITIAL {
                initial_block = Some(blocks.len());
            }
            blocks.push(block);
        }
        if initial_block.is_none() {
            blocks.push(vec![Placed {
                call: INITIAL,
                rank: 0,
                invoked: BEFORE_ALL,
                returned: BEFORE_ALL,
            }]);
        }
        // Writes no read saw: a block each if they returned, else dropped.
        for &(call, access, kind) in &self.calls {
            let is_write = matches!(access, Access::Put(_) | Access::Append(_));
            let is_base = base_numbers
                .find(FxBuildHasher.hash_one(call), |&n| bases[n as usize] == call)
                .is_some();
            if is_write && kind == Kind::Returned && !is_base && !seen.contains_key(&call) {
                let (invoked, returned) = times(call);
                blocks.push(vec![Placed {
                    call,
                    rank: 0,
                    invoked,
                    returned,
                }]);
            }
        }
        Ok(blocks)
    }

    /// The block of `base` with its reads `reads` (value, where its appends
    /// start), in rank order; records the appends it saw in `seen`.
    fn block(
        &self,
        base: u32,
        reads: &[(u32, Value<'h>, usize)],
        seen: &mut FxHashMap<u32, u32>,
        times: &impl Fn(u32) -> (i64, i64),
    ) -> Result<Vec<Placed>, Violation> {
        if base != INITIAL && self.kind_of(base) == Kind::Failed {
            return Err(Violation {
                calls: vec![reads[0].0, base],
                reason: "a read saw the value of a put that failed".into(),
            });
        }
        let text = |value: Value<'h>| match value {
            Value::Text(text) => text,
            _ => "",
        };
        // The longest read: every other is a prefix of it.
        let longest = reads
            .iter()
            .max_by_key(|(call, value, _)| (text(*value).len(), std::cmp::Reverse(*call)))
            .expect("a base has a read");
        let full = text(longest.1);
        for &(call, value, _) in reads {
            if !full.starts_with(text(value)) {
                return Err(Violation {
                    calls: vec![call, longest.0],
                    reason: "two reads saw values no one order of appends makes".into(),
                });
            }
        }
        // Its appends, and the length of the value after each.
        let mut appends: Vec<(usize, u32)> = Vec::new();
        let mut at = longest.2;
        while at < full.len() {
            let rest = &full[at..];
            let impossible = |reason: &str| Violation {
                calls: vec![longest.0],
                reason: reason.into(),
            };
            let (word, writer) = self
                .word_starting(rest)
                .ok_or_else(|| impossible("no order of the appends makes the value read"))?;
            if !matches!(self.calls_access(writer), Access::Append(_)) {
                return Err(impossible(
                    "the value read has a put's value after its start",
                ));
            }
            if self.kind_of(writer) == Kind::Failed {
                return Err(Violation {
                    calls: vec![longest.0, writer],
                    reason: "a read saw the value of an append that failed".into(),
                });
            }
            if let Some(&other) = seen.get(&writer) {
                return Err(Violation {
                    calls: vec![longest.0, other, writer],
                    reason: "one append was seen after two different puts".into(),
                });
            }
            seen.insert(writer, longest.0);
            at += word.len();
            appends.push((at, writer));
        }
        let mut placed = Vec::with_capacity(1 + appends.len() + reads.len());
        let (invoked, returned) = match base {
            INITIAL => (BEFORE_ALL, BEFORE_ALL),
            _ => times(base),
        };
        placed.push(Placed {
            call: base,
            rank: 0,
            invoked,
            returned,
        });
        for (number, &(_, writer)) in (1u32..).zip(&appends) {
            let (invoked, returned) = times(writer);
            placed.push(Placed {
                call: writer,
                rank: 2 * number,
                invoked,
                returned,
            });
        }
        let start = longest.2;
        for &(call, value, _) in reads {
            let length = text(value).len();
            let count = match length == start {
                true => 0,
                false => match appends.binary_search_by_key(&length, |&(end, _)| end) {
                    Ok(index) => index + 1,
                    Err(_) => {
                        return Err(Violation {
                            calls: vec![call],
                            reason: "no order of the appends makes the value read".into(),
                        })
                    }
                },
            };
            let (invoked, returned) = times(call);
            placed.push(Placed {
                call,
                rank: 2 * count as u32 + 1,
                invoked,
                returned,
            });
        }
        placed.sort_by_key(|placed| (placed.rank, placed.call));
        Ok(placed)
    }
}

fn show(value: Value<'_>) -> String {
    match value {
        Value::Absent => "nil".into(),
        Value::Text(text) => format!("{text:?}"),
        Value::Integer(number) => number.to_string(),
    }
}

/// A block's zone: (earliest return, latest invocation) and the calls at
/// each end.
struct Zone {
    first_return: (i64, u32),
    last_invoke: (i64, u32),
}

/// Checks conditions (1) to (3) of the module doc on `blocks`.
fn check_blocks(blocks: &[Vec<Placed>]) -> Result<(), Violation> {
    let mut forward: Vec<Zone> = Vec::new();
    let mut backward: Vec<Zone> = Vec::new();
    for block in blocks {
        check_ranks(block)?;
        let first_return = block
            .iter()
            .map(|placed| (placed.returned, placed.call))
            .min()
            .expect("a block has a call");
        let last_invoke = block
            .iter()
            .map(|placed| (placed.invoked, placed.call))
            .max()
            .expect("a block has a call");
        let zone = Zone {
            first_return,
            last_invoke,
        };
        if first_return.0 < last_invoke.0 {
            forward.push(zone);
        } else if last_invoke.0 < first_return.0 {
            backward.push(zone);
        }
        // Equal only for the initial block with no reads: it holds no call.
    }
    forward.sort_unstable_by_key(|zone| zone.first_return);
    for pair in forward.windows(2) {
        if pair[1].first_return.0 < pair[0].last_invoke.0 {
            return Err(Violation {
                calls: vec![
                    pair[0].first_return.1,
                    pair[0].last_invoke.1,
                    pair[1].first_return.1,
                    pair[1].last_invoke.1,
                ],
                reason: "two values were each seen both before and after the other".into(),
            });
        }
    }
    for zone in &backward {
        let (start, end) = (zone.last_invoke.0, zone.first_return.0);
        let before = forward.partition_point(|other| other.first_return.0 <= start);
        if let Some(other) = before.checked_sub(1).map(|at| &forward[at]) {
            if end <= other.last_invoke.0 {
                return Err(Violation {
                    calls: vec![
                        zone.last_invoke.1,
                        zone.first_return.1,
                        other.first_return.1,
                        other.last_invoke.1,
                    ],
                    reason: "a value was written and read while another had to hold".into(),
                });
            }
        }
    }
    Ok(())
}

/// Condition (1): no call of a block returned before a call of lower rank
/// was invoked.
fn check_ranks(block: &[Placed]) -> Result<(), Violation> {
    // The latest invocation among lower ranks, and the one before it.
    let mut latest_below: Option<(i64, u32)> = None;
    let mut latest_here: Option<(i64, u32)> = None;
    let mut rank = 0;
    for placed in block {
        if placed.rank != rank {
            latest_below = latest_below.max(latest_here);
            rank = placed.rank;
        }
        if let Some((invoked, earlier)) = latest_below {
            if placed.returned < invoked {
                return Err(Violation {
                    calls: vec![placed.call, earlier],
                    reason: "a call returned before one it must follow was invoked".into(),
                });
            }
        }
        latest_here = latest_here.max(Some((placed.invoked, placed.call)));
    }
    Ok(())
}

/// Every key of a history numbered in order of first appearance, and the
/// number of each operation's key: what the fast path counted, handed to
/// the search so that it does not hash every key again (kv c10-bad: a
/// fifth of a check's instructions).
pub(crate) struct KeyNumbers<'h> {
    /// The keys, by number.
    pub(crate) keys: Vec<Option<&'h str>>,
    /// Per operation of the history: its key's number.
    // Invariant: every number is below `keys.len()`.
    pub(crate) of_operation: Vec<u32>,
}

/// What [`check_keys`] found.
pub(crate) enum KeyChecks<'h> {
    /// No key has `calls_min` calls: none was checked on the fast path.
    AllShort(KeyNumbers<'h>),
    /// Per key in order of first appearance: its calls and its verdict.
    Checked(Vec<(Option<&'h str>, Vec<u32>, KeyVerdict)>),
}

/// Checks the keys of `history` on the fast path; returns, per key in
/// order of first appearance, its verdict, with the key's calls. Keys of
/// fewer than `calls_min` calls are left to the search (it decides them in
/// microseconds, faster than the fast path's tables are built); after the
/// first violation, the other keys too.
pub(crate) fn check_keys<'h, M: Model>(
    model: &M,
    history: &'h OpHistory<M::Input, M::Output>,
    calls_min: usize,
) -> KeyChecks<'h> {
    // Key numbers per call, and calls per key: one hash per call, no list
    // per key until one is long enough.
    let mut keys: Vec<(Option<&'h str>, u32)> = Vec::new();
    let mut numbers: HashTable<u32> = HashTable::new();
    let mut number_of: Vec<u32> = Vec::with_capacity(history.len());
    for op in history.operations() {
        let key = model.partition(&op.input);
        let hash = FxBuildHasher.hash_one(key);
        let number = match numbers.find(hash, |&n| keys[n as usize].0 == key) {
            Some(&number) => number,
            None => {
                let number = keys.len() as u32;
                numbers.insert_unique(hash, number, |&n| {
                    FxBuildHasher.hash_one(keys[n as usize].0)
                });
                keys.push((key, 0));
                number
            }
        };
        keys[number as usize].1 += 1;
        number_of.push(number);
    }
    if keys.iter().all(|&(_, calls)| (calls as usize) < calls_min) {
        return KeyChecks::AllShort(KeyNumbers {
            keys: keys.into_iter().map(|(key, _)| key).collect(),
            of_operation: number_of,
        });
    }
    let mut calls_of: Vec<Vec<u32>> = keys
        .iter()
        .map(|&(_, calls)| Vec::with_capacity(calls as usize))
        .collect();
    for (index, &number) in (0u32..).zip(&number_of) {
        calls_of[number as usize].push(index);
    }
    let mut violated = false;
    let checked = keys
        .into_iter()
        .zip(calls_of)
        .map(|((key, _), calls)| {
            let verdict = match violated || calls.len() < calls_min {
                true => KeyVerdict::Search,
                false => check_key(model, history, &calls),
            };
            violated |= matches!(verdict, KeyVerdict::Violation(_));
            (key, calls, verdict)
        })
        .collect();
    KeyChecks::Checked(checked)
}
