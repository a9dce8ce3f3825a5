//! The record of a run: a hash chained over every event, optionally the hash
//! after each event (to find where two runs diverge), a readable log of the
//! last events and the story of the whole run (for replay).
//!
//! Nothing readable goes into the hash: the log and the story are written only
//! when asked for, and a run with them has the trace hash of a run without.

use std::collections::VecDeque;

use crate::world::kv::mix_into;

/// At most this many story lines are kept; past it they are counted.
const STORY_LINES_MAX: usize = 10_000;

/// The trace of one run.
#[derive(Debug, Default)]
pub struct Trace {
    hash: u64,
    events: u64,
    per_event: Option<Vec<u64>>,
    log: Option<EventLog>,
}

/// The last events of a run as readable text, and the story of the whole run.
#[derive(Debug)]
pub struct EventLog {
    capacity: usize,
    // Each entry is one event: its line, then the lines of what it caused.
    entries: VecDeque<String>,
    dropped: u64,
    // An event logged as hidden (a tick): shown only if it causes something.
    hidden: Option<String>,
    story: Vec<String>,
    story_dropped: u64,
}

impl Trace {
    /// A trace that keeps the hash after every event if `per_event`, and the last
    /// `log_capacity` readable events if given.
    pub fn new(per_event: bool, log_capacity: Option<usize>) -> Trace {
        Trace {
            hash: 0x5241_4654_5349_4d00, // "RAFTSIM\0": any fixed start will do
            events: 0,
            per_event: per_event.then(Vec::new),
            log: log_capacity.map(|capacity| EventLog {
                capacity: capacity.max(1),
                entries: VecDeque::new(),
                dropped: 0,
                hidden: None,
                story: Vec::new(),
                story_dropped: 0,
            }),
        }
    }

    /// Folds one event (already digested) into the chain.
    pub fn record(&mut self, digest: u64) {
        self.hash = mix_into(self.hash, digest);
        self.events += 1;
        if let Some(per_event) = &mut self.per_event {
            per_event.push(self.hash);
        }
    }

    /// Folds something that happened between events (a fault a driver
    /// injected at its timer, or at a point of an event) into the chain,
    /// without counting an event.
    pub fn mix(&mut self, digest: u64) {
        self.hash = mix_into(self.hash, digest);
    }

    /// Whether a readable log is being kept (so callers format lines only then).
    pub fn is_logging(&self) -> bool {
        self.log.is_some()
    }

    /// Starts the log entry of an event with its line, if a log is kept.
    pub fn log(&mut self, line: String) {
        self.log_event(line, true);
    }

    /// Starts the log entry of an event; a `shown: false` event (a tick) is
    /// kept only if a detail is logged while it is handled, so a quiet tick
    /// costs no room in the log.
    pub fn log_event(&mut self, line: String, shown: bool) {
        let Some(log) = &mut self.log else {
            return;
        };
        log.hidden = None;
        if shown {
            log.push(line);
        } else {
            log.hidden = Some(line);
        }
    }

    /// Adds a line about what the current event caused (indented under it).
    pub fn log_detail(&mut self, detail: &str) {
        let Some(log) = &mut self.log else {
            return;
        };
        if let Some(line) = log.hidden.take() {
            log.push(line);
        }
        match log.entries.back_mut() {
            Some(entry) => {
                entry.push_str("\n    ");
                entry.push_str(detail);
            }
            // Before the first event: the world being built (nodes starting).
            None => log.push(format!("    {detail}")),
        }
    }

    /// Adds a line to the story of the whole run (elections and faults),
    /// which is kept from the start whatever the log's capacity.
    pub fn log_story(&mut self, line: String) {
        let Some(log) = &mut self.log else {
            return;
        };
        if log.story.len() < STORY_LINES_MAX {
            log.story.push(line);
        } else {
            log.story_dropped += 1;
        }
    }

    /// The chained hash so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Events recorded so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash after each event, if kept.
    pub fn per_event(&self) -> Option<&[u64]> {
        self.per_event.as_deref()
    }

    /// The kept log entries (one an event, its details on further lines) and
    /// how many earlier entries were dropped.
    pub fn log_lines(&self) -> Option<(u64, impl Iterator<Item = &String>)> {
        self.log
            .as_ref()
            .map(|log| (log.dropped, log.entries.iter()))
    }

    /// The story of the whole run, and how many lines past its limit were not kept.
    pub fn story(&self) -> Option<(&[String], u64)> {
        self.log
            .as_ref()
            .map(|log| (log.story.as_slice(), log.story_dropped))
    }
}

impl EventLog {
    fn push(&mut self, entry: String) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_event_is_shown_only_when_it_causes_something() {
        let mut trace = Trace::new(false, Some(10));
        trace.log_event("tick 1".into(), false);
        trace.log_event("tick 2".into(), false);
        trace.log_detail("n1 becomes candidate in term 2");
        trace.log_event("deliver".into(), true);
        let (dropped, entries) = trace.log_lines().expect("a log is kept");
        let entries: Vec<&String> = entries.collect();
        assert_eq!(dropped, 0);
        assert_eq!(
            entries,
            ["tick 2\n    n1 becomes candidate in term 2", "deliver"]
        );
    }

    #[test]
    fn the_log_keeps_the_last_events_and_counts_the_rest() {
        let mut trace = Trace::new(false, Some(2));
        for n in 0..5 {
            trace.log(format!("event {n}"));
        }
        let (dropped, entries) = trace.log_lines().expect("a log is kept");
        assert_eq!(dropped, 3);
        assert_eq!(entries.collect::<Vec<_>>(), ["event 3", "event 4"]);
    }

    #[test]
    fn logging_never_changes_the_hash() {
        let mut plain = Trace::new(false, None);
        let mut logged = Trace::new(true, Some(1));
        for digest in 0..100 {
            plain.record(digest);
            logged.record(digest);
            logged.log(format!("event {digest}"));
            logged.log_detail("detail");
            logged.log_story("story".into());
        }
        assert_eq!(plain.hash(), logged.hash());
        assert_eq!(logged.per_event().map(|h| h.len()), Some(100));
    }
}
