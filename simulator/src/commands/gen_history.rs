//! `raftsim gen-history`: hard histories for the linearizability checker,
//! linearizable by construction, or with one planted stale read.
//!
//! Many clients call a simulated store that is linearizable by construction:
//! each call takes effect at a point drawn inside its interval, in one event
//! loop over virtual time, and returns what the store held at that point.
//! Calls are long and overlap (a tenth of them last twenty times longer than
//! the others), few keys share many clients, and some writes end unknown
//! (the client gave up): such a write takes effect inside its interval, later
//! (after the client gave up), or never. Every written value is unique.
//!
//! `--bad` plants one stale read: a read is made to return the value its key
//! held before a write that returned before the read was invoked. With
//! unique values that state never comes back, so no order fits it.
//!
//! Everything is drawn from the seed (ChaCha8); no hash map is iterated, so
//! the same arguments give the same file, byte for byte.

use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::path::PathBuf;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The formats `gen-history` writes (the ones `check-history` reads).
pub use super::check_history::HistoryFormat;

/// The arguments of `raftsim gen-history`.
#[derive(clap::Args, Debug, Clone)]
pub struct GenHistoryArgs {
    /// Concurrent clients (processes).
    #[arg(long, default_value_t = 50)]
    pub clients: u32,
    /// Keys the clients share (`jepsen-etcd` is one register: 1).
    #[arg(long, default_value_t = 10)]
    pub keys: u32,
    /// Operations in all.
    #[arg(long, default_value_t = 10_000)]
    pub ops: u32,
    /// The seed: the same seed and arguments give the same file.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Plant one stale read (the history is then not linearizable).
    #[arg(long)]
    pub bad: bool,
    /// The format written.
    #[arg(long, value_enum, default_value = "porcupine-kv")]
    pub format: HistoryFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Upper bounds on the arguments: a history is held in memory whole.
const CLIENTS_MAX: u32 = 100_000;
const KEYS_MAX: u32 = 1_000_000;
const OPS_MAX: u32 = 50_000_000;

/// Virtual time units of a short call, at most; long ones (one in
/// `LONG_CALL_ONE_IN`) last up to `LONG_CALL_FACTOR` times longer.
const CALL_TIME_MAX: u64 = 100;
const LONG_CALL_ONE_IN: u64 = 10;
const LONG_CALL_FACTOR: u64 = 20;
/// Time between a client's calls, at most.
const THINK_TIME_MAX: u64 = 20;
/// One write in this many ends unknown (the client gave up); half of those
/// never take effect, the others at a point up to a long call's time later.
const UNKNOWN_WRITE_ONE_IN: u64 = 20;
/// One read in this many ends unknown (its result is lost).
const UNKNOWN_READ_ONE_IN: u64 = 50;

/// What a call asks.
#[derive(Clone, Debug)]
enum Call {
    Read,
    Put(u64),
    Append(u64),
}

/// One call as generated: its key, client, what it asked, what it saw.
struct Op {
    client: u32,
    key: u32,
    call: Call,
    /// What a read returned: the key's appended values after its base (the
    /// put value, or none for the initial value).
    read: Option<(Option<u64>, Vec<u64>)>,
    unknown: bool,
}

/// An event of the generator's loop, ordered by (time, sequence).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Invoke { client: u32 },
    TakeEffect { op: u32 },
    Return { op: u32 },
}

/// A key's state: its base (put value; `None`: the initial value) and the
/// values appended since, in order.
#[derive(Clone, Default)]
struct State {
    base: Option<u64>,
    appended: Vec<u64>,
}

/// Checks the arguments; an error says which is wrong.
fn validate(args: &GenHistoryArgs) -> Result<(), String> {
    if args.clients == 0 || args.clients > CLIENTS_MAX {
        return Err(format!("--clients must be 1..={CLIENTS_MAX}"));
    }
    if args.keys == 0 || args.keys > KEYS_MAX {
        return Err(format!("--keys must be 1..={KEYS_MAX}"));
    }
    if args.ops == 0 || args.ops > OPS_MAX {
        return Err(format!("--ops must be 1..={OPS_MAX}"));
    }
    if args.format == HistoryFormat::JepsenEtcd && args.keys != 1 {
        return Err("--format jepsen-etcd is one register: --keys must be 1".into());
    }
    Ok(())
}

/// Runs `raftsim gen-history`; the process exit code (2 for bad arguments
/// or a file that cannot be written).
pub fn run(args: &GenHistoryArgs) -> anyhow::Result<i32> {
    let text = match generate(args) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("gen-history: {error}");
            return Ok(2);
        }
    };
    match &args.output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, text) {
                eprintln!("gen-history: cannot write {}: {error}", path.display());
                return Ok(2);
            }
        }
        None => print!("{text}"),
    }
    Ok(0)
}

/// The history `args` describe, as text in its format.
pub fn generate(args: &GenHistoryArgs) -> Result<String, String> {
    validate(args)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let (ops, events) = simulate(args, &mut rng);
    let mut ops = ops;
    if args.bad {
        plant_stale_read(&mut ops, &events, &mut rng)?;
    }
    Ok(write(args.format, &ops, &events))
}

/// A number below `bound` (at least 1).
fn below(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    rng.next_u64() % bound.max(1)
}

/// The store and its clients in one event loop; every call, and the
/// history's events (invocations and returns, the op's index and whether it
/// is a return) in real-time order.
fn simulate(args: &GenHistoryArgs, rng: &mut ChaCha8Rng) -> (Vec<Op>, Vec<(u32, bool)>) {
    let mut queue: BinaryHeap<std::cmp::Reverse<(u64, u64, Event)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, time: u64, event: Event| {
        sequence += 1;
        queue.push(std::cmp::Reverse((time, sequence, event)));
    };
    for client in 0..args.clients {
        let start = below(rng, THINK_TIME_MAX * 4);
        push(&mut queue, start, Event::Invoke { client });
    }
    let mut states = vec![State::default(); args.keys as usize];
    let mut ops: Vec<Op> = Vec::with_capacity(args.ops as usize);
    let mut events: Vec<(u32, bool)> = Vec::with_capacity(2 * args.ops as usize);
    let mut next_value = 0u64;
    while let Some(std::cmp::Reverse((now, _, event))) = queue.pop() {
        match event {
            Event::Invoke { client } if ops.len() < args.ops as usize => {
                let op = ops.len() as u32;
                let key = below(rng, u64::from(args.keys)) as u32;
                let appends = args.format == HistoryFormat::PorcupineKv;
                let call = match below(rng, 10) {
                    0..=4 => Call::Read,
                    5..=7 if appends => Call::Append(next_value),
                    _ => Call::Put(next_value),
                };
                next_value += u64::from(!matches!(call, Call::Read));
                let long = below(rng, LONG_CALL_ONE_IN) == 0;
                let duration =
                    2 + below(rng, CALL_TIME_MAX * if long { LONG_CALL_FACTOR } else { 1 });
                let unknown_one_in = match call {
                    Call::Read => UNKNOWN_READ_ONE_IN,
                    _ => UNKNOWN_WRITE_ONE_IN,
                };
                let unknown = below(rng, unknown_one_in) == 0;
                // Strictly inside the interval (in the loop's order too).
                let mut effect = Some(now + 1 + below(rng, duration - 1));
                if unknown && !matches!(call, Call::Read) {
                    effect = match below(rng, 2) {
                        0 => None,
                        _ => Some(now + 1 + below(rng, CALL_TIME_MAX * LONG_CALL_FACTOR)),
                    };
                }
                ops.push(Op {
                    client,
                    key,
                    call,
                    read: None,
                    unknown,
                });
                events.push((op, false));
                if let Some(at) = effect {
                    push(&mut queue, at, Event::TakeEffect { op });
                }
                push(&mut queue, now + duration, Event::Return { op });
            }
            Event::Invoke { .. } => {}
            Event::TakeEffect { op } => {
                let op = &mut ops[op as usize];
                let state = &mut states[op.key as usize];
                match op.call {
                    Call::Read => op.read = Some((state.base, state.appended.clone())),
                    Call::Put(value) => {
                        state.base = Some(value);
                        state.appended.clear();
                    }
                    Call::Append(value) => state.appended.push(value),
                }
            }
            Event::Return { op } => {
                events.push((op, true));
                let client = ops[op as usize].client;
                let think = below(rng, THINK_TIME_MAX);
                push(&mut queue, now + think, Event::Invoke { client });
            }
        }
    }
    (ops, events)
}

/// Makes one read r (drawn from the seed) return what an earlier read r0
/// of its key returned, where r0 returned before some write w was invoked,
/// and w returned before r was invoked. Every linearization orders r0, w, r
/// so; w writes a value never written before, and a state once left never
/// comes back (a put's value is written once; appends only lengthen a value
/// until the next put), so r cannot see what r0 saw.
fn plant_stale_read(
    ops: &mut [Op],
    events: &[(u32, bool)],
    rng: &mut ChaCha8Rng,
) -> Result<(), String> {
    let keys = ops.iter().map(|op| op.key as usize + 1).max().unwrap_or(0);
    // Per key: the latest read that returned, and the latest r0 of a w that
    // returned. Per write: the read that had returned when it was invoked.
    let mut last_read = vec![None; keys];
    let mut stale_source: Vec<Option<u32>> = vec![None; keys];
    let mut read_before_write: Vec<Option<u32>> = vec![None; ops.len()];
    let mut candidates: Vec<(u32, u32)> = Vec::new(); // (r, r0)
    for &(op, is_return) in events {
        let o = &ops[op as usize];
        let key = o.key as usize;
        match (&o.call, is_return) {
            _ if o.unknown => {}
            (Call::Read, false) => {
                if let Some(source) = stale_source[key] {
                    candidates.push((op, source));
                }
            }
            (Call::Read, true) => last_read[key] = Some(op),
            (Call::Put(_) | Call::Append(_), false) => {
                read_before_write[op as usize] = last_read[key];
            }
            (Call::Put(_) | Call::Append(_), true) => {
                if let Some(source) = read_before_write[op as usize] {
                    stale_source[key] = Some(source);
                }
            }
        }
    }
    if candidates.is_empty() {
        return Err("no read can be made stale: use more operations".into());
    }
    let (read, source) = candidates[below(rng, candidates.len() as u64) as usize];
    let stale = ops[source as usize].read.clone();
    assert!(
        stale != ops[read as usize].read,
        "a state once left never comes back"
    );
    ops[read as usize].read = stale;
    Ok(())
}

/// The value text of `value` in the kv format: `x N y` never starts
/// another such text (it ends at its only `y`), so values are a prefix code.
fn text_of(value: u64) -> String {
    format!("x {value} y")
}

/// What a read saw, as text (`None`: the initial value, "").
fn read_text(read: &(Option<u64>, Vec<u64>)) -> String {
    let mut text = read.0.map(text_of).unwrap_or_default();
    for &value in &read.1 {
        text.push_str(&text_of(value));
    }
    text
}

/// The history in `format`.
fn write(format: HistoryFormat, ops: &[Op], events: &[(u32, bool)]) -> String {
    let mut out = String::with_capacity(events.len() * 80);
    for &(op, is_return) in events {
        let o = &ops[op as usize];
        match format {
            HistoryFormat::PorcupineKv => write_kv(&mut out, o, is_return),
            HistoryFormat::JepsenEtcd => write_jepsen(&mut out, o, is_return),
        }
    }
    out
}

/// The event type both formats name: a call, its answer, or an answer of
/// unknown outcome.
fn event_kind(op: &Op, is_return: bool) -> &'static str {
    match (is_return, op.unknown) {
        (false, _) => "invoke",
        (true, false) => "ok",
        (true, true) => "info",
    }
}

fn write_kv(out: &mut String, op: &Op, is_return: bool) {
    let kind = event_kind(op, is_return);
    let (f, value) = match &op.call {
        Call::Read => {
            let value = match (&op.read, is_return && !op.unknown) {
                (Some(read), true) => format!("{:?}", read_text(read)),
                _ => "nil".into(),
            };
            ("get", value)
        }
        Call::Put(value) => ("put", format!("{:?}", text_of(*value))),
        Call::Append(value) => ("append", format!("{:?}", text_of(*value))),
    };
    let _ = writeln!(
        out,
        "{{:process {}, :type :{kind}, :f :{f}, :key \"{}\", :value {value}}}",
        op.client, op.key
    );
}

fn write_jepsen(out: &mut String, op: &Op, is_return: bool) {
    let kind = event_kind(op, is_return);
    let (f, value) = match &op.call {
        Call::Read => {
            let value = match (&op.read, is_return && !op.unknown) {
                (Some((Some(value), _)), true) => value.to_string(),
                _ => "nil".into(),
            };
            (":read", value)
        }
        Call::Put(value) | Call::Append(value) => (":write", value.to_string()),
    };
    let _ = writeln!(
        out,
        "INFO  jepsen.util - {}\t:{kind}\t{f}\t{value}",
        op.client
    );
}
