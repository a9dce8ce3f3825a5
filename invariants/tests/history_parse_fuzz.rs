//! Mutation fuzzing of the history readers: the shared Jepsen and Porcupine
//! files, mutated (bytes flipped, lines cut, duplicated, deleted or swapped,
//! huge numbers, odd tokens, unbalanced braces and quotes, stray byte-order
//! marks), must never make a reader panic; every error must be located
//! (`file:line:`) and free of Rust debug output; whatever still parses must
//! go through the checker under a small budget without a panic.
//!
//! Deterministic: a fixed seed and a fixed number of mutants per file, so
//! every run does the same work (about a second in the test profile).

mod shared_histories;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use invariants::linearizability::parse::{parse_jepsen_etcd, parse_porcupine_kv, ParseError};
use invariants::linearizability::{check, check_kv, Budget, CasRegisterModel};
use shared_histories::{files, histories_dir};

/// Mutants made from each file.
const MUTANTS_PER_FILE: usize = 40;

/// The mutations' dice: ChaCha from a fixed seed, so the cases never change
/// from run to run.
struct Dice(ChaCha8Rng);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len())]
    }
}

/// Tokens that readers of these formats trip on.
const ODD_TOKENS: &[&str] = &[
    ":",
    "::",
    "nil",
    "[",
    "]",
    "[1",
    "2]",
    "[1 2 3]",
    "{",
    "}",
    "\"",
    "\\",
    "\\q",
    ",",
    ":hint",
    "-",
    "0x10",
    "1e9",
    "-0",
    "\u{feff}",
    "\t",
    "\r",
    "é",
    "🦀",
    ":invoke",
    ":ok",
    ":info",
    ":fail",
    ":read",
    ":write",
    ":cas",
    ":get",
    ":put",
    ":append",
    "INFO",
    "jepsen.util",
    ":process",
    ":type",
    ":key",
    ":value",
    ":f",
    "\"\"",
    "\"k\"",
    "{}",
    "{:process}",
];

/// Numbers too large for the readers' integers, and the edges around them.
const HUGE_NUMBERS: &[&str] = &[
    "99999999999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "4294967296",
];

/// One mutation of `text`.
fn mutate(text: &str, dice: &mut Dice) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line = |dice: &mut Dice| {
        dice.below(lines.len().max(1))
            .min(lines.len().saturating_sub(1))
    };
    match dice.below(9) {
        0 if !bytes.is_empty() => {
            let at = dice.below(bytes.len());
            bytes[at] = dice.next() as u8;
        }
        1 => bytes.truncate(dice.below(bytes.len() + 1)),
        2 if !lines.is_empty() => {
            let (from, to) = (line(dice), line(dice));
            let mut lines = lines.clone();
            lines.insert(to, lines[from]);
            return lines.concat();
        }
        3 if !lines.is_empty() => {
            let mut lines = lines.clone();
            lines.remove(line(dice));
            return lines.concat();
        }
        4 if !lines.is_empty() => {
            let mut lines = lines.clone();
            let (a, b) = (line(dice), line(dice));
            lines.swap(a, b);
            return lines.concat();
        }
        5 => return replace_a_number(text, dice.pick(HUGE_NUMBERS), dice),
        6 => {
            let at = dice.below(bytes.len() + 1);
            let token = format!(" {} ", dice.pick(ODD_TOKENS));
            bytes.splice(at..at, token.bytes());
        }
        7 => {
            let brackets = b"{}[]\"";
            let wanted = brackets[dice.below(brackets.len())];
            let found: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == wanted).collect();
            if found.is_empty() || dice.below(2) == 0 {
                let at = dice.below(bytes.len() + 1);
                bytes.insert(at, wanted);
            } else {
                bytes.remove(found[dice.below(found.len())]);
            }
        }
        _ => {
            let at = if dice.below(2) == 0 {
                0
            } else {
                dice.below(bytes.len() + 1)
            };
            bytes.splice(at..at, "\u{feff}".bytes());
        }
    }
    // The readers take text; invalid UTF-8 in a file is the CLI's to report.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `text` with one run of digits replaced by `number`.
fn replace_a_number(text: &str, number: &str, dice: &mut Dice) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| c.is_ascii_digit() && !text[..i].ends_with(|p: char| p.is_ascii_digit()))
        .map(|(i, _)| i)
        .collect();
    let Some(&start) = starts.get(dice.below(starts.len().max(1))) else {
        return format!("{number}\n{text}");
    };
    let end = text[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(text.len(), |n| start + n);
    format!("{}{number}{}", &text[..start], &text[end..])
}

/// Asserts that `error` names `file`, a line of `text`, and a column on it
/// if any, and that it reads as words, not Rust debug output.
fn assert_located(error: &ParseError, file: &str, text: &str, shown: &str) {
    let message = error.to_string();
    let prefix = format!("{file}:{}:", error.line);
    assert!(message.starts_with(&prefix), "{message}\n{shown}");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line = text.lines().nth(error.line.wrapping_sub(1));
    assert!(
        line.is_some(),
        "no line {} in the input: {message}\n{shown}",
        error.line
    );
    if let (Some(column), Some(line)) = (error.column, line) {
        let width = line.chars().count() + 1;
        assert!(
            (1..=width).contains(&column),
            "column past the line: {message}\n{shown}"
        );
    }
    // What the message quotes is the input's own text, which may hold anything.
    let unquoted: String = message.split('"').step_by(2).collect();
    for debug in ["Some(", "None", "Text(", "Keyword(", "Integer(", "Nil"] {
        assert!(
            !unquoted.contains(debug),
            "debug output in {message}\n{shown}"
        );
    }
}

/// The budget of a check of a mutant: enough to finish small histories,
/// little enough that a mutant that explodes the search stops at once.
fn small_budget() -> Budget {
    Budget {
        max_steps: 20_000,
        ..Budget::default()
    }
}

/// Parses `text` (and checks what parses) without a panic; returns whether it parsed.
fn read_and_check(format: &str, text: &str, file: &str, shown: &str) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| match format {
        "jepsen" => parse_jepsen_etcd(text, file).map(|history| {
            check(&CasRegisterModel, &history, small_budget());
        }),
        _ => parse_porcupine_kv(text, file).map(|history| {
            check_kv(&history, small_budget());
        }),
    }));
    match outcome {
        Err(_) => panic!("a panic reading or checking a mutant\n{shown}"),
        Ok(Err(error)) => {
            assert_located(&error, file, text, shown);
            false
        }
        Ok(Ok(())) => true,
    }
}

/// Mutates every file of `dir/sub` and reads each mutant; (mutants, parsed).
fn fuzz_folder(dir: &Path, sub: &str, extension: &str, seed: u64) -> (usize, usize) {
    let mut dice = Dice::new(seed);
    let (mut mutants, mut parsed) = (0, 0);
    for path in files(dir, sub, extension) {
        let original =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.display().to_string();
        for _ in 0..MUTANTS_PER_FILE {
            let mut text = original.clone();
            let rounds = 1 + dice.below(3);
            for _ in 0..rounds {
                text = mutate(&text, &mut dice);
            }
            let shown = format!("{file}, mutant {mutants} of seed {seed}");
            parsed += usize::from(read_and_check(sub, &text, &file, &shown));
            mutants += 1;
        }
    }
    (mutants, parsed)
}

#[test]
fn mutated_jepsen_logs_never_panic_and_every_error_is_located() {
    let (mutants, parsed) = fuzz_folder(&histories_dir(), "jepsen", "log", 1);
    // Both paths must be exercised: errors, and histories that go on to the checker.
    assert!(mutants > 4000, "only {mutants} mutants");
    assert!(
        parsed > mutants / 40 && parsed < mutants,
        "{parsed} of {mutants} parsed"
    );
}

#[test]
fn mutated_porcupine_kv_histories_never_panic_and_every_error_is_located() {
    let dir = histories_dir();
    let mut totals = (0, 0);
    // Few files here: more rounds of them, each from its own seed.
    for seed in 1..=10 {
        let (mutants, parsed) = fuzz_folder(&dir, "kv", "txt", seed);
        totals = (totals.0 + mutants, totals.1 + parsed);
    }
    let (mutants, parsed) = totals;
    assert!(mutants >= 1600, "only {mutants} mutants");
    assert!(
        parsed > mutants / 40 && parsed < mutants,
        "{parsed} of {mutants} parsed"
    );
}
