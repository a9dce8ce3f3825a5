//! The record of a run: a hash chained over every event, optionally the hash
//! after each event (to find where two runs diverge) and a readable log of the
//! last events (for replay).

use std::collections::VecDeque;

use crate::kv::mix_into;

/// The trace of one run.
#[derive(Debug, Default)]
pub struct Trace {
    hash: u64,
    events: u64,
    per_event: Option<Vec<u64>>,
    log: Option<EventLog>,
}

/// The last lines of a readable event log.
#[derive(Debug)]
pub struct EventLog {
    capacity: usize,
    lines: VecDeque<String>,
    dropped: u64,
}

impl Trace {
    /// A trace that keeps the hash after every event if `per_event`, and the last
    /// `log_capacity` readable lines if given.
    pub fn new(per_event: bool, log_capacity: Option<usize>) -> Trace {
        Trace {
            hash: 0x5241_4654_5349_4d00, // "RAFTSIM\0": any fixed start will do
            events: 0,
            per_event: per_event.then(Vec::new),
            log: log_capacity.map(|capacity| EventLog {
                capacity,
                lines: VecDeque::new(),
                dropped: 0,
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

    /// Whether a readable log is being kept (so callers format lines only then).
    pub fn is_logging(&self) -> bool {
        self.log.is_some()
    }

    /// Adds a readable line to the log, if one is kept.
    pub fn log(&mut self, line: String) {
        if let Some(log) = &mut self.log {
            if log.lines.len() == log.capacity {
                log.lines.pop_front();
                log.dropped += 1;
            }
            log.lines.push_back(line);
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

    /// The kept log lines and how many earlier lines were dropped.
    pub fn log_lines(&self) -> Option<(u64, impl Iterator<Item = &String>)> {
        self.log.as_ref().map(|log| (log.dropped, log.lines.iter()))
    }
}
