//! `raftsim check-history`: the linearizability checker on histories that no
//! one here recorded (Jepsen's etcd logs, Porcupine's kv histories).
//!
//! For each file: the verdict and the check time (parsing excluded). Exit code
//! 0 if every file is linearizable, 1 if any is not (or has no verdict within
//! the budget: that is never a pass), 2 if a file cannot be read or parsed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use invariants::linearizability::parse::{parse_jepsen_etcd, parse_porcupine_kv, ParseError};
use invariants::linearizability::{
    check, check_with, Budget, CasRegisterModel, CheckOutcome, History, KvModel, Partitioning,
    RegisterHistory, INTERRUPTED,
};

/// The formats `check-history` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// Jepsen's etcd log: a compare-and-set register (`jepsen-etcd`).
    JepsenEtcd,
    /// Porcupine's kv history: get / put / append, keys start as "" (`porcupine-kv`).
    PorcupineKv,
}

/// Repetitions of each check under `--bench`, at least; the best time is
/// kept (the least disturbed run on a shared machine).
const BENCH_RUNS: u32 = 20;

/// Under `--bench`, each check is repeated until this much time was spent on
/// it (and at least `BENCH_RUNS` times): a check of a few microseconds needs
/// hundreds of runs before one runs undisturbed.
const BENCH_TIME: Duration = Duration::from_millis(100);

/// The arguments of `raftsim check-history`.
#[derive(clap::Args, Debug)]
pub struct CheckHistoryArgs {
    /// The history format.
    #[arg(long, value_enum)]
    pub format: HistoryFormat,
    /// Repeat each check and print best per-file times and the total.
    #[arg(long)]
    pub bench: bool,
    /// Under `--bench`, skip the kv search without splitting per key (on a
    /// long history of many clients it takes minutes).
    #[arg(long, requires = "bench")]
    pub split_only: bool,
    /// Give up on a file after this long: its verdict is then unknown (exit
    /// 1). E.g. `30s`, `2m`, `500ms`; a bare number is seconds. Default: no
    /// time limit (the step and memory limits still hold).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,
    /// Memory the check of one file may take (peak resident size of the
    /// process, of which 48M are kept for the process and the parsed history,
    /// the rest for the search's tables); past it the verdict is unknown.
    /// E.g. `512M`, `2G`; a bare number is bytes; at least 64M.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size, allow_hyphen_values = true)]
    pub memory: usize,
    /// History files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// What `--memory` keeps back from the search for the rest of the process.
const PROCESS_RESERVE_BYTES: usize = 48 << 20;

/// A parsed history.
enum Parsed {
    Register(RegisterHistory),
    Kv(History),
}

/// Checks the files in their format; with `--bench`, repeats each check and
/// prints the best times and their total. Returns the process exit code.
pub fn run(args: &CheckHistoryArgs) -> anyhow::Result<i32> {
    let (format, files, bench) = (args.format, &args.files, args.bench);
    let budget = Budget {
        // The process itself (code, the parsed history, the allocator's
        // slack) takes some of what the user allows: measured, a few dozen
        // megabytes.
        max_memory_bytes: args
            .memory
            .saturating_sub(PROCESS_RESERVE_BYTES)
            .max(1 << 20),
        interrupt: args.timeout.map(|_| past_deadline as fn() -> bool),
        ..Budget::default()
    };
    let mut exit_code = 0;
    let mut total = Duration::ZERO;
    let mut total_whole = Duration::ZERO;
    for path in files {
        let parsed = match read(format, path) {
            Ok(parsed) => parsed,
            Err(error) => {
                eprintln!("{error}");
                exit_code = 2;
                continue;
            }
        };
        let (outcome, best) = timed(bench, args.timeout, || match &parsed {
            Parsed::Register(history) => check(&CasRegisterModel, history, budget),
            Parsed::Kv(history) => check(&KvModel::absent_is_empty(), history, budget),
        });
        total += best;
        let mut line = format!(
            "{}\t{}\t{}",
            path.display(),
            verdict(&outcome),
            millis(best)
        );
        if let (true, false, Parsed::Kv(history)) = (bench, args.split_only, &parsed) {
            // The same history searched without splitting per key.
            let (whole, best_whole) = timed(bench, args.timeout, || {
                check_with(
                    &KvModel::absent_is_empty(),
                    history,
                    budget,
                    Partitioning::Whole,
                )
            });
            total_whole += best_whole;
            line.push_str(&format!(
                "\twithout splitting per key: {} {}",
                verdict(&whole),
                millis(best_whole)
            ));
        }
        println!("{line}");
        if let CheckOutcome::NotLinearizable(explanation) = &outcome {
            for explanation_line in explanation.to_string().lines() {
                println!("    {explanation_line}");
            }
        }
        if !outcome.is_linearizable() && exit_code == 0 {
            exit_code = 1;
        }
    }
    if bench {
        println!(
            "total\t{} files\t{} (best of at least {BENCH_RUNS} runs and {} ms per file, parsing excluded)",
            files.len(),
            millis(total),
            BENCH_TIME.as_millis()
        );
        if format == HistoryFormat::PorcupineKv && !args.split_only {
            println!("total without splitting per key\t{}", millis(total_whole));
        }
    }
    Ok(exit_code)
}

fn read(format: HistoryFormat, path: &Path) -> Result<Parsed, String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| format!("{name}: cannot read: {error}"))?;
    let text = utf8(&bytes).map_err(|(line, column)| {
        format!("{name}:{line}:{column}: not UTF-8 text (a history file is text)")
    })?;
    let parsed = match format {
        HistoryFormat::JepsenEtcd => parse_jepsen_etcd(text, &name).map(Parsed::Register),
        HistoryFormat::PorcupineKv => parse_porcupine_kv(text, &name).map(Parsed::Kv),
    };
    parsed.map_err(|error: ParseError| error.to_string())
}

/// `bytes` as text, or the line and column (1-based, in characters) of the
/// first byte that is not UTF-8.
fn utf8(bytes: &[u8]) -> Result<&str, (usize, usize)> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let line_start = valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        // The valid part is UTF-8, so its characters can be counted.
        let column = 1 + String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count();
        (line, column)
    })
}

fn verdict(outcome: &CheckOutcome) -> String {
    match outcome {
        CheckOutcome::Linearizable => "linearizable".into(),
        CheckOutcome::NotLinearizable(_) => "NOT linearizable".into(),
        CheckOutcome::Unknown { reason } => format!("unknown ({reason})"),
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

/// Runs `check` once, or under `--bench` at least `BENCH_RUNS` times and for
/// `BENCH_TIME`; its last outcome and the best wall time. Each run may take
/// `timeout` at most (see [`past_deadline`]).
#[allow(clippy::disallowed_methods)]
fn timed(
    bench: bool,
    timeout: Option<Duration>,
    mut check: impl FnMut() -> CheckOutcome,
) -> (CheckOutcome, Duration) {
    let mut best = Duration::MAX;
    let mut spent = Duration::ZERO;
    let mut outcome = CheckOutcome::Linearizable;
    // One run without `--bench`; with it, at least `BENCH_RUNS` and `BENCH_TIME`.
    let mut run = 0;
    while run == 0 || (bench && (run < BENCH_RUNS || spent < BENCH_TIME)) {
        let start = std::time::Instant::now(); // allow-nondeterminism: timing display, --timeout
        DEADLINE.set(timeout.map(|timeout| start + timeout));
        outcome = check();
        DEADLINE.set(None);
        let took = start.elapsed();
        best = best.min(took);
        spent += took;
        run += 1;
        if matches!(outcome, CheckOutcome::Unknown { .. }) {
            break; // repeating a check that ran out proves nothing more
        }
    }
    if let (Some(timeout), CheckOutcome::Unknown { reason }) = (timeout, &mut outcome) {
        if reason == INTERRUPTED {
            *reason = format!("no verdict within --timeout {}", show_duration(timeout));
        }
    }
    (outcome, best)
}

thread_local! {
    /// When the check under way must stop (`--timeout`), if it must.
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> =
        const { std::cell::Cell::new(None) };
}

/// The checker's interrupt: true once the check under way is past its
/// deadline. The checker itself keeps no clock.
#[allow(clippy::disallowed_methods)]
fn past_deadline() -> bool {
    let now = std::time::Instant::now(); // allow-nondeterminism: the --timeout limit
    DEADLINE.get().is_some_and(|deadline| now >= deadline)
}

/// A duration as given to `--timeout`: `500ms`, `30s`, `2m`, `1h`, or bare
/// seconds (fractions allowed).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "{text:?} is not a duration: write e.g. 30s, 500ms or 2m"
        ));
    }
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 30s, 500ms or 2m"))?;
    Duration::try_from_secs_f64(number * seconds_per_unit)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text:?}: the duration must be above zero and finite"))
}

/// A size as given to `--memory`: `512M`, `2G`, `64K`, or bare bytes.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!("{text:?} is not a size: write e.g. 512M or 2G"));
    }
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{text:?}: the unit must be K, M, G or T")),
    };
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: write e.g. 512M or 2G"))?;
    number
        .checked_mul(1 << shift)
        .filter(|&bytes| bytes >= 64 << 20)
        .ok_or_else(|| format!("{text:?}: the size must be at least 64M (and below 2^64 bytes)"))
}

/// A duration as a person writes it.
fn show_duration(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_that_is_not_utf8_is_located_by_line_and_column() {
        assert_eq!(utf8(b"ok\n\xc3\xa9t\xffe"), Err((2, 3)));
        assert_eq!(utf8(b"\xff"), Err((1, 1)));
        assert_eq!(utf8("d\u{e9}j\u{e0}".as_bytes()), Ok("d\u{e9}j\u{e0}"));
    }

    #[test]
    fn durations_and_sizes_read_as_people_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "", "s", "3 days", "1e9999", "-1s", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("67108864"), Ok(64 << 20));
        for bad in ["1M", "", "G", "12Q", "99999999999999999999T", "-5G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
