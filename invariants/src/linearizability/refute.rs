//! Cheap proofs of a violation on keys the fast path for unique values does
//! not take (some value is written twice), before the search: most
//! violations are stale reads, and a stale read shows in the few values
//! that are written once.
//!
//! A read r returned value v. Split v into written texts (the texts form a
//! prefix code, as in `unique`, so the split is unique); its first text is
//! its *base*: a put's value, or, if it is an append's, the initial value
//! (absent or empty). Take only bases written by one call. Then, in every
//! linearization, the base's put p (or the start) comes before r, and no
//! other put between them (a put's value would start the value). So:
//!
//! - **a put that must come between** shows r stale: a put p' that
//!   returned, was invoked after p returned and returned before r was
//!   invoked (any put, after the start), and whose value is not p's;
//! - **an append that must come between** and is not in v does too: an
//!   append that returned, written by one call only, invoked after p
//!   returned and returned before r was invoked, whose text v lacks.
//!
//! Both are necessary conditions only: a history that passes them is
//! searched. Quadratic per key in the worst case (reads times writes), a
//! small cost beside a search that needs thousands of steps to find the
//! same violation.

use super::hash::FxHashMap;
use super::history::{OpHistory, Outcome};
use super::model::Model;
use super::unique::{Access, Value, Violation};

/// A write of the key: its text, whether it is a put, and its interval
/// (`None` return: it did not return).
struct Write<'h> {
    call: u32,
    text: &'h str,
    is_put: bool,
    invoked: u32,
    returned: Option<u32>,
}

/// A violation of the calls `calls` (history indices of one key) that the
/// conditions of the module doc prove, if any.
pub(crate) fn refute<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    calls: &[u32],
) -> Option<Violation> {
    if !matches!(model.initial_access()?, Value::Absent | Value::Text("")) {
        return None;
    }
    let operations = history.operations();
    let mut writes: Vec<Write<'_>> = Vec::new();
    let mut reads: Vec<(u32, Value<'_>)> = Vec::new();
    for &call in calls {
        let op = &operations[call as usize];
        let returned = match (&op.outcome, op.complete_position) {
            (Some(Outcome::Ok(_)), Some(position)) => Some(position),
            _ => None,
        };
        let output = match &op.outcome {
            Some(Outcome::Ok(output)) => Some(output),
            _ => None,
        };
        let (text, is_put) = match model.access(&op.input, output) {
            Access::Read(Some(value)) if returned.is_some() => {
                reads.push((call, value));
                continue;
            }
            Access::Read(_) => continue,
            Access::Put(Value::Text(text)) => (text, true),
            Access::Append(text) => (text, false),
            Access::Put(_) | Access::Other => return None,
        };
        if text.is_empty() {
            return None;
        }
        let invoked = op.invoke_position;
        writes.push(Write {
            call,
            text,
            is_put,
            invoked,
            returned,
        });
    }
    // Those that returned first, in order of return; then the others.
    writes.sort_by_key(|write| (write.returned.unwrap_or(u32::MAX), write.call));
    let words = Words::of(&writes)?;
    let mut stamps = vec![0; words.info.len()];
    reads
        .iter()
        .find_map(|&(read, value)| stale(history, &writes, &words, &mut stamps, read, value))
}

/// The written texts: each with its number, how many calls write it, and
/// whether one of them is a put.
struct Words<'h> {
    // allow-nondeterminism: lookups only, never iterated
    info: FxHashMap<&'h str, WordInfo>,
    /// The lengths of the texts, in increasing order: a value is split by
    /// looking up its next few bytes at each length (a prefix code has at
    /// most one match).
    lengths: Vec<usize>,
}

#[derive(Clone, Copy)]
struct WordInfo {
    number: u32,
    writers: u32,
    has_put: bool,
    /// A write of it (in `writes`), the only one if `writers` is 1.
    write: usize,
}

/// Texts of more distinct lengths than this are not split (the lookups
/// per text would cost more than the search saves): the key is searched.
const LENGTHS_MAX: usize = 16;

impl<'h> Words<'h> {
    /// The texts of `writes`, if they form a prefix code.
    fn of(writes: &[Write<'h>]) -> Option<Self> {
        let mut info: FxHashMap<&'h str, WordInfo> = FxHashMap::default();
        let mut lengths: Vec<usize> = Vec::new();
        for (index, write) in writes.iter().enumerate() {
            let number = info.len() as u32;
            let entry = info.entry(write.text).or_insert_with(|| WordInfo {
                number,
                writers: 0,
                has_put: false,
                write: index,
            });
            entry.writers += 1;
            entry.has_put |= write.is_put;
            if !lengths.contains(&write.text.len()) {
                if lengths.len() == LENGTHS_MAX {
                    return None;
                }
                lengths.push(write.text.len());
            }
        }
        lengths.sort_unstable();
        let words = Words { info, lengths };
        // A prefix code: no text starts with a shorter one.
        let prefix_free = writes.iter().all(|write| {
            let shorter = words
                .lengths
                .iter()
                .take_while(|&&length| length < write.text.len());
            shorter
                .filter_map(|&length| write.text.get(..length))
                .all(|start| !words.info.contains_key(start))
        });
        prefix_free.then_some(words)
    }

    /// The written text that starts `text`, if any, with its facts.
    fn starting(&self, text: &'h str) -> Option<(&'h str, WordInfo)> {
        self.lengths.iter().find_map(|&length| {
            let start = text.get(..length)?;
            self.info.get(start).map(|&info| (start, info))
        })
    }
}

/// A violation that read `read` of `value` shows, if the conditions of the
/// module doc prove one. `stamps` (per text number) marks the texts of the
/// value read with `read + 1`.
fn stale<'h, I, O>(
    history: &OpHistory<I, O>,
    writes: &[Write<'h>],
    words: &Words<'h>,
    stamps: &mut [u32],
    read: u32,
    value: Value<'h>,
) -> Option<Violation> {
    let mut text = match value {
        Value::Text(text) => text,
        Value::Absent => "",
        Value::Integer(_) => return None,
    };
    // Split the value, marking its texts; the first is the base.
    let mut first = None;
    while !text.is_empty() {
        let (word, info) = words.starting(text)?;
        stamps[info.number as usize] = read + 1;
        first = first.or(Some(info));
        text = &text[word.len()..];
    }
    // The base: its put (written by one call), or the start (`None`).
    let base = match first {
        Some(info) if info.writers == 1 && info.has_put => Some(&writes[info.write]),
        Some(info) if !info.has_put => None,
        Some(_) => return None,
        None => None,
    };
    let after = match base {
        Some(put) => put.returned?,
        None => 0,
    };
    let read_invoked = history.operations()[read as usize].invoke_position;
    // Writes that returned before the read was invoked, in `writes` sorted
    // by return.
    let before = writes.partition_point(|write| write.returned.is_some_and(|r| r < read_invoked));
    for write in &writes[..before] {
        if base.is_some() && write.invoked < after {
            continue;
        }
        if base.is_some_and(|put| put.call == write.call) {
            continue;
        }
        let info = words.info[write.text];
        let missing =
            write.is_put || (info.writers == 1 && stamps[info.number as usize] != read + 1);
        if missing {
            let mut calls = vec![read, write.call];
            calls.extend(base.map(|put| put.call));
            let reason = match write.is_put {
                true => "a read missed a put that came before it",
                false => "a read missed an append that came before it",
            };
            return Some(Violation::new(calls, reason));
        }
    }
    None
}
