//! Speed of the linearizability checker: the online checker per invoke and
//! complete on simulator-like histories and on Porcupine's kv files, and the
//! whole-history check per key on the kv files.
//!
//! `cargo bench -p invariants --bench linearizability` (the file rows read
//! the shared histories folder, found as the tests find it). Best of several
//! runs: the machine is shared, and the best run is the one least disturbed.

#[path = "../tests/shared_histories/mod.rs"]
mod shared_histories;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Duration;

use invariants::linearizability::parse::parse_porcupine_kv;
use invariants::linearizability::{
    check, Budget, CheckOutcome, History, KvModel, KvOp, KvResult, Model, OnlineChecker, OpHistory,
    OpId, Outcome,
};

/// Runs of each measurement; the best is kept.
const RUNS: u32 = 15;

/// A seeded generator for the synthetic workloads.
struct Rng(ChaCha8Rng);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// One client's progress through its current call.
enum ClientState {
    Idle,
    /// Invoked; will take effect (or not) later.
    Invoked {
        id: OpId,
        op: KvOp,
        fate: Fate,
    },
    /// Took effect (or decided not to); completes later with this outcome.
    Decided {
        id: OpId,
        outcome: Outcome<KvResult>,
    },
}

#[derive(Clone, Copy)]
enum Fate {
    Ok,
    Fail,
    UnknownApplied,
    UnknownLost,
}

/// A linearizable history like the simulator's: `clients` clients with one
/// call in flight each, `keys` keys, unique written values, the operation mix
/// of the simulator's workload, 2% failed calls and `unknown_per_mille`
/// unknown outcomes (half of them took effect).
fn simulator_like(seed: u64, clients: u64, keys: u64, ops: u32, unknown_per_mille: u64) -> History {
    let mut rng = Rng::new(seed);
    let mut history = History::new();
    let model = KvModel::absent_is_none();
    let mut store: Vec<Option<String>> = vec![None; keys as usize];
    let mut last_seen: Vec<Option<String>> = vec![None; keys as usize];
    let mut states: Vec<ClientState> = (0..clients).map(|_| ClientState::Idle).collect();
    let mut invoked = 0;
    let mut time_us = 0;
    loop {
        time_us += 1 + rng.below(100);
        let client = rng.below(clients);
        let state = std::mem::replace(&mut states[client as usize], ClientState::Idle);
        states[client as usize] = match state {
            ClientState::Idle if invoked < ops => {
                invoked += 1;
                let key_index = rng.below(keys) as usize;
                let key = format!("k{key_index}");
                let value = format!("c{client}.{invoked}");
                let op = match rng.below(10) {
                    0..=2 => KvOp::Get { key },
                    3..=4 => KvOp::Put { key, value },
                    5..=7 => KvOp::Append {
                        key,
                        value: format!("{value};"),
                    },
                    _ => KvOp::Cas {
                        key,
                        expected: last_seen[key_index].clone(),
                        new: value,
                    },
                };
                let fate = match rng.below(1000) {
                    draw if draw < unknown_per_mille / 2 => Fate::UnknownApplied,
                    draw if draw < unknown_per_mille => Fate::UnknownLost,
                    draw if draw < unknown_per_mille + 20 => Fate::Fail,
                    _ => Fate::Ok,
                };
                let id = history.invoke(client, op.clone(), time_us);
                ClientState::Invoked { id, op, fate }
            }
            ClientState::Idle => ClientState::Idle,
            ClientState::Invoked { id, op, fate } => {
                let key_index: usize = op.key()[1..].parse().expect("key k<n>");
                let outcome = match fate {
                    Fate::Fail => Outcome::Fail,
                    Fate::UnknownLost => Outcome::Unknown,
                    Fate::Ok | Fate::UnknownApplied => {
                        let (next, result) = model.apply(&store[key_index], &op);
                        store[key_index] = next;
                        last_seen[key_index] = store[key_index].clone();
                        match fate {
                            Fate::Ok => Outcome::Ok(result),
                            _ => Outcome::Unknown,
                        }
                    }
                };
                ClientState::Decided { id, outcome }
            }
            ClientState::Decided { id, outcome } => {
                history.complete(id, outcome, time_us);
                ClientState::Idle
            }
        };
        if invoked == ops && history.pending() == 0 {
            return history;
        }
    }
}

/// The history's events in real-time order: (operation, is invocation).
fn events<I, O>(history: &OpHistory<I, O>) -> Vec<(u32, bool)> {
    let mut events = Vec::new();
    for (index, op) in (0u32..).zip(history.operations()) {
        events.push((op.invoke_position, index, true));
        if let Some(position) = op.complete_position {
            events.push((position, index, false));
        }
    }
    events.sort_unstable();
    events
        .into_iter()
        .map(|(_, index, is_call)| (index, is_call))
        .collect()
}

/// Feeds `history` to an online checker of `model`; the verdict.
fn replay_online<M: Model + Clone>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    events: &[(u32, bool)],
) -> CheckOutcome {
    let mut checker = OnlineChecker::with_model(model.clone(), Budget::default());
    for &(index, is_call) in events {
        let op = &history.operations()[index as usize];
        if is_call {
            checker.on_invoke(OpId(index), op.client, &op.input, op.invoke_us);
        } else {
            let outcome = op.outcome.as_ref().expect("completed");
            let time_us = op.complete_us.expect("completed");
            // A violation is reported once; the verdict comes from `finish`.
            let _ = checker.on_complete(OpId(index), outcome, time_us);
        }
    }
    if let Some(reason) = checker.degraded() {
        DEGRADED.with(|cell| cell.borrow_mut().push(reason.to_owned()));
    }
    checker.finish()
}

thread_local! {
    /// Why online checks stopped early, for the report.
    static DEGRADED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_degraded() -> Vec<String> {
    DEGRADED.with(|cell| std::mem::take(&mut *cell.borrow_mut()))
}

/// Best wall time of `RUNS` runs of `work`, and its last result.
#[allow(clippy::disallowed_methods)]
fn best_of<T>(mut work: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..RUNS {
        // allow-nondeterminism: a benchmark measures wall time
        let start = std::time::Instant::now(); // allow-nondeterminism: timing display only
        result = Some(std::hint::black_box(work()));
        best = best.min(start.elapsed());
    }
    (result.expect("at least one run"), best)
}

fn per_event_ns(duration: Duration, events: usize) -> f64 {
    duration.as_secs_f64() * 1e9 / events as f64
}

fn bench_online_synthetic(unknown_per_mille: u64) {
    println!(
        "online checker, simulator-like histories, {unknown_per_mille}/1000 unknown (best of {RUNS}):"
    );
    let mut total = Duration::ZERO;
    let mut total_offline = Duration::ZERO;
    let mut total_events = 0;
    for (clients, keys) in [(1, 1), (3, 1), (3, 2), (5, 1), (5, 4), (5, 2)] {
        for seed in 0..4 {
            let seed = seed * 7919 + clients * 31 + keys;
            let history = simulator_like(seed, clients, keys, 400, unknown_per_mille);
            let events = events(&history);
            let model = KvModel::absent_is_none();
            let (outcome, best) = best_of(|| replay_online(&model, &history, &events));
            assert!(
                outcome.is_linearizable(),
                "synthetic history is linearizable: {outcome:?}"
            );
            let (offline, offline_best) = best_of(|| check(&model, &history, Budget::default()));
            assert!(offline.is_linearizable(), "{offline:?}");
            total_offline += offline_best;
            total += best;
            total_events += events.len();
            let degraded = take_degraded();
            if seed == 0 || !degraded.is_empty() {
                println!(
                    "  {clients} clients {keys} keys seed {seed} {} events: {:.0} ns/event (whole history {:.3} ms){}",
                    events.len(),
                    per_event_ns(best, events.len()),
                    offline_best.as_secs_f64() * 1e3,
                    degraded
                        .first()
                        .map(|reason| format!(" (degraded: {reason})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    println!(
        "  all: {total_events} events, online {:.0} ns/event, whole history {:.0} ns/event",
        per_event_ns(total, total_events),
        per_event_ns(total_offline, total_events)
    );
}

fn bench_kv_files() {
    // The folder the tests read (missing data fails, it is not skipped).
    let dir = shared_histories::histories_dir();
    println!("Porcupine kv files (best of {RUNS}):");
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad"] {
        let path = dir.join("kv").join(format!("{name}.txt"));
        let text = std::fs::read_to_string(&path).expect("kv history is readable");
        let history = parse_porcupine_kv(&text, &path.display().to_string()).expect("parses");
        let model = KvModel::absent_is_empty();
        let events = events(&history);
        let (offline, offline_best) = best_of(|| check(&model, &history, Budget::default()));
        let (online, online_best) = best_of(|| replay_online(&model, &history, &events));
        assert_eq!(offline.is_linearizable(), online.is_linearizable());
        let degraded = take_degraded();
        println!(
            "  {name}: per key {:.3} ms; online {:.3} ms ({:.0} ns/event){}",
            offline_best.as_secs_f64() * 1e3,
            online_best.as_secs_f64() * 1e3,
            per_event_ns(online_best, events.len()),
            degraded
                .first()
                .map(|reason| format!(" (degraded: {reason})"))
                .unwrap_or_default()
        );
    }
}

fn main() {
    bench_online_synthetic(0);
    bench_online_synthetic(10);
    bench_online_synthetic(40);
    bench_kv_files();
}
