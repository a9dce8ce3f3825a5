//! Fuzzes the scenario language from a fixed seed: mutated copies of the
//! checked-in `scenarios/*.scen` (flipped bytes, huge numbers, odd tokens,
//! invalid UTF-8, odd commands and settings, lines duplicated, deleted and
//! swapped, truncations) go through the whole `raftsim scenario` path in
//! process: decoding, parsing, execution and the transcript check. Whatever
//! the bytes, the run must end without a panic, within its step limits, and
//! every error must name `file:line:col`. Parsed cases must also survive the
//! round trip through the JSON form, and an `--update` rewrite must read back
//! as a transcript that passes its own output check.
//!
//! The seed and the number of cases are fixed, so a run is the same on every
//! machine; the step limits are small, so it takes a few seconds. For a
//! longer hunt on one's own machine, `RAFTSIM_SCENARIO_FUZZ_SEED` and
//! `RAFTSIM_SCENARIO_FUZZ_CASES` override both (a failure names its seed).

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::mpsc;
use std::time::Duration;

use simulator::commands::scenario::{self, check_bytes, Scenario, StepLimits};

/// The seed of every mutation (`RAFTSIM_SCENARIO_FUZZ_SEED` overrides it).
const SEED: u64 = 0x5ce7_a210_f022_2024;
/// Mutated files tried (`RAFTSIM_SCENARIO_FUZZ_CASES` overrides it).
const CASES: usize = 8_000;

/// The seed and case count of this run: the constants, unless overridden.
fn seed_and_cases() -> (u64, usize) {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = number("RAFTSIM_SCENARIO_FUZZ_SEED").unwrap_or(SEED);
    let cases = number("RAFTSIM_SCENARIO_FUZZ_CASES").map_or(CASES, |n| n as usize);
    (seed, cases)
}
/// Small limits: a runaway step is cut short after a few milliseconds, while
/// every checked-in scenario runs to its end within them.
const LIMITS: StepLimits = StepLimits {
    events_max: 10_000,
    pending_events_max: 10_000,
};
/// A case that runs longer than this is reported as a hang, with its
/// mutations. Only a broken build gets near it (a case takes milliseconds):
/// it turns a hang into a named failure rather than a CI timeout.
const CASE_SILENCE_MAX: Duration = Duration::from_secs(120);

/// Numbers at the edges: of u32, u64, the limits, and of what parses.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "+1",
    "007",
    "100000",
    "100001",
    "1000000000",
    "4294967295",
    "4294967296",
    "86400",
    "86401",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "0.000001",
    "1.9999999",
    "1e9",
];

/// Tokens the language gives a meaning to, in the wrong places, and text
/// that is not ASCII.
const TOKENS: &[&str] = &[
    "*",
    "->",
    "|",
    ",",
    "#",
    "----",
    "=",
    "==",
    "n0",
    "n10",
    "n-1",
    "nn1",
    "op0",
    "op",
    "verbose",
    "within",
    "done",
    "nil",
    "empty",
    "lose-unsynced",
    "\t",
    "\u{feff}",
    "\u{a0}",
    "é",
    "💥",
    "\\",
    "\"",
    "t1x",
    "t0x0",
    "1,2|",
    "->n1",
    "\r",
];

/// Whole commands that push a step to its limits or use a node oddly.
const COMMANDS: &[&str] = &[
    "tick n1 100000",
    "tick 100000",
    "tick n2 0",
    "campaign n1",
    "campaign n9",
    "run 86400s",
    "run 0us",
    "run 1.5s verbose",
    "run-until converged within 86400s",
    "run-until violation",
    "run-until op1 done",
    "run-until committed n1 18446744073709551615 within 1s",
    "release * *->* 18446744073709551615",
    "release * *->*",
    "held",
    "status",
    "heal",
    "crash n1 lose-unsynced",
    "wipe n1",
    "restart n1",
    "pause n1",
    "resume n1",
    "partition 1|2|3",
    "partition 1,1",
    "isolate n2",
    "cut n1->n1",
    "drop * *->*",
    "hold * *->*",
    "duplicate * *->*",
    "put n1 k v",
    "cas n1 k nil v",
    "get n2 k",
    "append n1 k v",
    "expect log n1 empty",
    "expect value k nil",
    "expect violation election-safety",
    "expect committed 18446744073709551615",
    "cluster 3",
    "----",
    "",
    "  ",
];

/// Cluster settings at and past their ranges.
const SETTINGS: &[&str] = &[
    "election-ticks=4294967296",
    "election-ticks=10000",
    "heartbeat-ticks=9999",
    "max-inflight=18446744073709551615",
    "max-inflight=1000",
    "max-entries-per-message=100000",
    "tick=1us",
    "tick=0us",
    "delay=86400s",
    "jitter=86400s",
    "fsync=86400s",
    "drop=100%",
    "duplicate=100%",
    "ticks=manual",
    "seed=18446744073709551615",
    "bug=commit-old-term",
    "bug=",
    "=",
    "x",
];

/// Byte sequences that are not UTF-8: a stray continuation, a truncated
/// sequence, an encoded surrogate, a code point past U+10FFFF, an overlong form.
const INVALID_UTF8: &[&[u8]] = &[
    &[0xff],
    &[0x80],
    &[0xc3],
    &[0xe2, 0x82],
    &[0xed, 0xa0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
    &[0xc0, 0xaf],
];

/// The mutations' dice: ChaCha from a fixed seed, fully determined by it.
struct Dice(ChaCha8Rng);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "nothing to choose from");
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// The file split into lines (without their `\n`), and joined back.
fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.join(&b'\n')
}

/// Inserts `piece` into a random line, at a random byte or after a space.
fn insert_in_line(dice: &mut Dice, bytes: &mut Vec<u8>, piece: &[u8], spaced: bool) {
    let mut lines = lines_of(bytes);
    let line = dice.below(lines.len());
    let at = dice.below(lines[line].len() + 1);
    let mut inserted = piece.to_vec();
    if spaced {
        inserted.insert(0, b' ');
        inserted.push(b' ');
    }
    lines[line].splice(at..at, inserted);
    *bytes = join(&lines);
}

/// Replaces a random run of digits (a count, a node, a duration, a setting).
fn replace_number(dice: &mut Dice, bytes: &mut Vec<u8>, number: &str) -> bool {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return false;
    }
    let run = runs[dice.below(runs.len())].clone();
    bytes.splice(run, number.bytes());
    true
}

/// Applies one random mutation; returns what it did.
fn mutate(dice: &mut Dice, bytes: &mut Vec<u8>) -> String {
    match dice.below(12) {
        0 if !bytes.is_empty() => {
            let at = dice.below(bytes.len());
            let bit = 1u8 << dice.below(8);
            bytes[at] ^= bit;
            format!("flip bit {bit:#04x} of byte {at}")
        }
        1 => {
            let number = dice.pick(NUMBERS);
            if replace_number(dice, bytes, number) {
                format!("replace a number with {number}")
            } else {
                insert_in_line(dice, bytes, number.as_bytes(), true);
                format!("insert {number}")
            }
        }
        2 => {
            let number = dice.pick(NUMBERS);
            insert_in_line(dice, bytes, number.as_bytes(), true);
            format!("insert {number}")
        }
        3 => {
            let token = dice.pick(TOKENS);
            let spaced = dice.below(2) == 0;
            insert_in_line(dice, bytes, token.as_bytes(), spaced);
            format!("insert token {token:?}")
        }
        4 => {
            let invalid = dice.pick(INVALID_UTF8);
            insert_in_line(dice, bytes, invalid, false);
            format!("insert bytes {invalid:02x?}")
        }
        5 => {
            let command = dice.pick(COMMANDS);
            let mut lines = lines_of(bytes);
            let at = dice.below(lines.len() + 1);
            lines.insert(at, command.as_bytes().to_vec());
            *bytes = join(&lines);
            format!("insert line {at}: {command:?}")
        }
        6 => {
            let setting = dice.pick(SETTINGS);
            let mut lines = lines_of(bytes);
            // The cluster line, if the file has one where expected.
            let first = lines.iter().position(|l| l.starts_with(b"cluster"));
            let line = first.unwrap_or_else(|| dice.below(lines.len()));
            lines[line].push(b' ');
            lines[line].extend_from_slice(setting.as_bytes());
            *bytes = join(&lines);
            format!("append setting {setting} to line {line}")
        }
        7 => {
            let mut lines = lines_of(bytes);
            let from = dice.below(lines.len());
            let to = dice.below(lines.len() + 1);
            let copy = lines[from].clone();
            lines.insert(to, copy);
            *bytes = join(&lines);
            format!("duplicate line {from} at {to}")
        }
        8 => {
            let mut lines = lines_of(bytes);
            let at = dice.below(lines.len());
            lines.remove(at);
            *bytes = join(&lines);
            format!("delete line {at}")
        }
        9 => {
            let mut lines = lines_of(bytes);
            let (a, b) = (dice.below(lines.len()), dice.below(lines.len()));
            lines.swap(a, b);
            *bytes = join(&lines);
            format!("swap lines {a} and {b}")
        }
        10 => {
            let at = dice.below(bytes.len() + 1);
            bytes.truncate(at);
            format!("truncate at byte {at}")
        }
        _ => {
            let at = dice.below(bytes.len() + 1);
            let byte = dice.next() as u8;
            bytes.insert(at, byte);
            format!("insert byte {byte:#04x} at {at}")
        }
    }
}

/// Whether `message` starts `name:LINE:COL: ` with a real line and column.
fn is_located(name: &str, message: &str) -> bool {
    let Some(rest) = message.strip_prefix(name).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<usize>().ok());
    let (line, col) = (number(parts.next()), number(parts.next()));
    let tail_ok = parts.next().is_some_and(|t| t.starts_with(' '));
    matches!((line, col), (Some(l), Some(c)) if l >= 1 && c >= 1) && tail_ok
}

/// How a mutated file fared, when it broke no rule.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// Refused before running (not UTF-8, or did not parse).
    refused: usize,
    /// Ran, and passed.
    passed: usize,
    /// Ran, and failed (an expectation, an output, a command, a violation).
    failed: usize,
    /// Ran until a step reached a limit.
    limited: usize,
}

/// Everything one mutated file must satisfy; `Err` says what broke.
fn check_case(name: &str, bytes: &[u8], tally: &mut Tally) -> Result<(), String> {
    let ran = std::panic::catch_unwind(|| check_bytes(name, bytes, false, LIMITS));
    let checked = match ran {
        Err(_) => return Err("panicked (outside the guarded run)".into()),
        Ok(Err(error)) => {
            tally.refused += 1;
            let shown = error.to_string();
            return match error.location {
                Some(_) if is_located(name, &shown) => Ok(()),
                _ => Err(format!("an input error without file:line:col: {shown}")),
            };
        }
        Ok(Ok(checked)) => checked,
    };
    if checked.failures.iter().any(|f| f.contains(": stopped ")) {
        tally.limited += 1;
    } else if checked.passed() {
        tally.passed += 1;
    } else {
        tally.failed += 1;
    }
    if let Some(internal) = &checked.internal_error {
        return Err(format!("an internal error (a panic): {internal}"));
    }
    if let Some(unlocated) = checked.failures.iter().find(|f| !is_located(name, f)) {
        return Err(format!("a failure without file:line:col: {unlocated}"));
    }
    let text = scenario::decode(name, bytes).map_err(|e| e.to_string())?;
    round_trips(text)?;
    update_reads_back(name, bytes)
}

/// The parsed scenario goes to JSON and back to text, and parses the same.
fn round_trips(text: &str) -> Result<(), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parsed = scenario::parse(text).map_err(|e| format!("parsed, then not: {e}"))?;
    let json = serde_json::to_string(&parsed).map_err(|e| e.to_string())?;
    let mut back: Scenario = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    back.steps.iter_mut().for_each(|s| s.source = None);
    let printed = back.to_string();
    let reparsed = scenario::parse(&printed)
        .map_err(|e| format!("its JSON form printed as text does not parse: {e}\n{printed}"))?;
    let same = parsed.steps.len() == reparsed.steps.len()
        && parsed
            .steps
            .iter()
            .zip(&reparsed.steps)
            .all(|(a, b)| a.command == b.command && a.output == b.output);
    if !same {
        return Err(format!(
            "text -> JSON -> text changed the scenario:\n{printed}"
        ));
    }
    Ok(())
}

/// With `--update`, the rewritten transcript parses and its output matches.
fn update_reads_back(name: &str, bytes: &[u8]) -> Result<(), String> {
    let updated = check_bytes(name, bytes, true, LIMITS).map_err(|e| e.to_string())?;
    let Some(rewritten) = updated.rewritten else {
        return Ok(());
    };
    let again = check_bytes(name, rewritten.as_bytes(), false, LIMITS)
        .map_err(|e| format!("the rewritten file does not parse: {e}\n{rewritten}"))?;
    match again.failures.iter().find(|f| f.contains(": output of `")) {
        Some(diff) => Err(format!(
            "the rewritten file's output differs: {diff}\n{rewritten}"
        )),
        None => Ok(()),
    }
}

/// The checked-in scenarios, by file name, sorted.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = scenario::collect_files(&[dir]).expect("scenarios/ is readable");
    let corpus: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|path| {
            let name = path.file_name().expect("a file").to_string_lossy().into();
            (
                name,
                std::fs::read(path).expect("a scenario file is readable"),
            )
        })
        .collect();
    assert!(corpus.len() >= 10, "the catalogue is the fuzz corpus");
    corpus
}

/// Runs `cases` cases from `seed`; sends the number of each case before it starts.
fn run_cases(seed: u64, cases: usize, started: mpsc::Sender<usize>) -> (Tally, Vec<String>) {
    let corpus = corpus();
    // The limits must leave the catalogue itself whole, or every mutation
    // would stop at its first long step and the fuzz would test little.
    for (name, bytes) in &corpus {
        let checked = check_bytes(name, bytes, true, LIMITS).expect("the catalogue parses");
        let limited = checked.failures.iter().find(|f| f.contains("stopped "));
        assert!(
            limited.is_none(),
            "{name} hits the fuzz limits: {limited:?}"
        );
    }
    let mut dice = Dice::new(seed);
    let mut broken = Vec::new();
    let mut tally = Tally::default();
    for case in 0..cases {
        let _ = started.send(case);
        let (name, original) = &corpus[dice.below(corpus.len())];
        let mut bytes = original.clone();
        // One mutation half the time, two a quarter, ... at most four: most
        // files still parse, so the fuzz reaches execution, and some are
        // mangled thoroughly.
        let count = 1 + (dice.next() | 1 << 3).trailing_zeros() as usize;
        let mutations: Vec<String> = (0..count).map(|_| mutate(&mut dice, &mut bytes)).collect();
        if let Err(what) = check_case(name, &bytes, &mut tally) {
            broken.push(format!(
                "case {case}: {name} after [{}]: {what}",
                mutations.join("; ")
            ));
        }
    }
    (tally, broken)
}

#[test]
fn mutated_scenarios_end_without_panics_or_hangs_and_every_error_is_located() {
    let (seed, cases) = seed_and_cases();
    let (started, progress) = mpsc::channel();
    let worker = std::thread::spawn(move || run_cases(seed, cases, started));
    let mut last = None;
    loop {
        match progress.recv_timeout(CASE_SILENCE_MAX) {
            Ok(case) => last = Some(case),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("case {last:?} ran for over {CASE_SILENCE_MAX:?}: a hang (seed {seed})")
            }
        }
    }
    let (tally, broken) = worker.join().expect("the fuzz loop itself does not panic");
    eprintln!("{cases} mutated scenarios from seed {seed}: {tally:?}");
    assert!(
        broken.is_empty(),
        "{} of {cases} mutated scenarios from seed {seed} broke a rule:\n\n{}",
        broken.len(),
        broken.join("\n\n")
    );
    // The mutations must not all stop at the parser: many files must run.
    let ran = tally.passed + tally.failed + tally.limited;
    assert!(ran * 3 > cases, "too few mutated files ran: {tally:?}");
    assert!(
        tally.limited > 0,
        "no mutated file reached a step limit: {tally:?}"
    );
}
