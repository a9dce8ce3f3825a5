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
    RegisterHistory,
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
    /// History files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// A parsed history.
enum Parsed {
    Register(RegisterHistory),
    Kv(History),
}

/// Checks the files in their format; with `--bench`, repeats each check and
/// prints the best times and their total. Returns the process exit code.
pub fn run(args: &CheckHistoryArgs) -> anyhow::Result<i32> {
    let (format, files, bench) = (args.format, &args.files, args.bench);
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
        let (outcome, best) = timed(bench, || match &parsed {
            Parsed::Register(history) => check(&CasRegisterModel, history, Budget::default()),
            Parsed::Kv(history) => check(&KvModel::absent_is_empty(), history, Budget::default()),
        });
        total += best;
        let mut line = format!(
            "{}\t{}\t{}",
            path.display(),
            verdict(&outcome),
            millis(best)
        );
        if let (true, Parsed::Kv(history)) = (bench, &parsed) {
            // The same history searched without splitting per key.
            let (whole, best_whole) = timed(bench, || {
                check_with(
                    &KvModel::absent_is_empty(),
                    history,
                    Budget::default(),
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
        if format == HistoryFormat::PorcupineKv {
            println!("total without splitting per key\t{}", millis(total_whole));
        }
    }
    Ok(exit_code)
}

fn read(format: HistoryFormat, path: &Path) -> Result<Parsed, String> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{name}: cannot read: {error}"))?;
    let parsed = match format {
        HistoryFormat::JepsenEtcd => parse_jepsen_etcd(&text, &name).map(Parsed::Register),
        HistoryFormat::PorcupineKv => parse_porcupine_kv(&text, &name).map(Parsed::Kv),
    };
    parsed.map_err(|error: ParseError| error.to_string())
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
/// `BENCH_TIME`; its last outcome and the best wall time.
#[allow(clippy::disallowed_methods)]
fn timed(bench: bool, mut check: impl FnMut() -> CheckOutcome) -> (CheckOutcome, Duration) {
    let mut best = Duration::MAX;
    let mut spent = Duration::ZERO;
    let mut outcome = CheckOutcome::Linearizable;
    // One run without `--bench`; with it, at least `BENCH_RUNS` and `BENCH_TIME`.
    let mut run = 0;
    while run == 0 || (bench && (run < BENCH_RUNS || spent < BENCH_TIME)) {
        // allow-nondeterminism: timing display only
        let start = std::time::Instant::now(); // allow-nondeterminism: timing display only
        outcome = check();
        let took = start.elapsed();
        best = best.min(took);
        spent += took;
        run += 1;
    }
    (outcome, best)
}
