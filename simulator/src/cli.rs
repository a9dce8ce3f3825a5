//! Argument parsing and the subcommands. Exit codes: 0 all passed, 1 a violation
//! found, 2 usage or input error, 3 nondeterminism detected, 4 internal error.

use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use raft_core::Bug;
use simulator::campaign::{run_campaign, write_summary, Campaign};
use simulator::params::{FaultKind, Profile, RunOptions};
use simulator::run::{check_determinism, execute, run_seed};
use simulator::sim::{format_time, SimOptions};

/// Deterministic simulation testing for Raft: one seed, one reproducible run.
#[derive(Parser, Debug)]
#[command(
    name = "raftsim",
    version,
    about = "Deterministic simulation testing for Raft: one seed, one reproducible run",
    after_help = "Examples:\n  raftsim fuzz                               default campaign (seeds 0..10000, all cores)\n  raftsim fuzz --seeds 0..2000 --bug double-vote\n  raftsim replay --seed 42 --events 200      what happened, event by event\n  raftsim run --seed 42 --check-determinism\n  raftsim scenario scenarios/\n\nExit codes: 0 all passed, 1 violation, 2 usage/input error, 3 nondeterminism, 4 internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one seed and report pass or the violation found.
    Run(RunArgs),
    /// Run a campaign of seeds across cores; exit 1 if any run breaks a property.
    Fuzz(FuzzArgs),
    /// Run one seed again with a readable event log and the nodes' final state.
    Replay(ReplayArgs),
    /// List the planted bugs.
    Bugs,
    /// Measure simulated events per second, with and without per-step checks.
    Bench(BenchArgs),
    /// Replay the regression corpus (seeds/) and check every pinned outcome.
    Corpus(CorpusArgs),
    /// Check third-party histories for linearizability (exit 0 all linearizable,
    /// 1 any not or undecided, 2 unreadable file).
    CheckHistory(simulator::check_history::CheckHistoryArgs),
    /// Run scenario files (or directories of them); exit 1 if any fails, 2 if
    /// one cannot be read or parsed. See scenarios/README.md.
    Scenario(ScenarioArgs),
}

#[derive(Args, Debug)]
struct ScenarioArgs {
    /// Rewrite each file's expected output with the actual output (review the diff).
    #[arg(long, env = "RAFTSIM_UPDATE_SCENARIOS", value_parser = clap::builder::BoolishValueParser::new())]
    update: bool,
    /// Print the JSON form of one scenario file instead of running it.
    #[arg(long, conflicts_with_all = ["from_json", "update"])]
    to_json: bool,
    /// Print the text form of one scenario in JSON form instead of running it.
    #[arg(long, conflicts_with = "update")]
    from_json: bool,
    /// Scenario files or directories (searched for *.scen).
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    paths: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct WorldArgs {
    /// Switch on a planted bug (repeatable); `raftsim bugs` lists them.
    #[arg(long = "bug", value_name = "NAME", value_parser = parse_bug)]
    bugs: Vec<Bug>,
    /// Force a fault kind on in every run (repeatable): drop, duplicate, reorder,
    /// partition, crash, disk-loss. Disk loss is only ever on when asked for.
    #[arg(long = "fault", value_name = "KIND", value_parser = parse_fault)]
    faults: Vec<FaultKind>,
    /// swarm: each seed draws cluster size and fault kinds; standard: 5 voters, all faults but disk loss.
    #[arg(long, value_name = "PROFILE", default_value = "swarm", value_parser = parse_profile)]
    profile: Profile,
}

impl WorldArgs {
    fn options(&self) -> RunOptions {
        RunOptions {
            profile: self.profile,
            bugs: self.bugs.iter().copied().collect(),
            forced_faults: self.faults.clone(),
        }
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The seed (decimal or 0x-prefixed hex).
    #[arg(long, env = "RAFTSIM_SEED", value_parser = parse_seed)]
    seed: u64,
    #[command(flatten)]
    world: WorldArgs,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Run twice and compare trace hashes; exit 3 naming the first divergent event.
    #[arg(long)]
    check_determinism: bool,
}

#[derive(Args, Debug)]
struct FuzzArgs {
    /// Seeds to run, half-open `A..B` (or a single seed `N`).
    #[arg(long, env = "RAFTSIM_SEEDS", default_value = "0..10000", value_parser = parse_seed_range)]
    seeds: Range<u64>,
    /// Worker threads (each run is single-threaded). Default: all cores.
    #[arg(long, env = "RAFTSIM_JOBS", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    #[command(flatten)]
    world: WorldArgs,
    /// JSON lines on stdout: one object per run, then a summary object.
    #[arg(long)]
    json: bool,
    /// Stop at the first failing seed.
    #[arg(long)]
    stop_at_first_failure: bool,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// The seed (decimal or 0x-prefixed hex).
    #[arg(long, env = "RAFTSIM_SEED", value_parser = parse_seed)]
    seed: u64,
    #[command(flatten)]
    world: WorldArgs,
    /// How many events to show, counted back from the end of the run.
    #[arg(long, default_value_t = 400)]
    events: usize,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Seeds per measurement.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    runs: u64,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct CorpusArgs {
    /// The corpus directory.
    #[arg(default_value = "seeds")]
    dir: PathBuf,
    /// Instead of checking, write an entry for this seed (with --bug/--fault) into the directory.
    #[arg(long, value_parser = parse_seed)]
    record: Option<u64>,
    #[command(flatten)]
    world: WorldArgs,
    /// With --record: why the entry is kept.
    #[arg(long, default_value = "")]
    note: String,
}

/// Parses arguments, runs the command, and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    simulator::run::quiet_panics();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("raftsim: internal error: {error:#}");
            4
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args),
        Command::Fuzz(args) => fuzz(args),
        Command::Replay(args) => replay(args),
        Command::Bugs => {
            for bug in Bug::ALL {
                println!("{:<28} {}", bug.name(), bug.description());
            }
            Ok(0)
        }
        Command::Bench(args) => {
            let result = simulator::bench::bench(args.runs);
            if args.json {
                println!("{}", result.to_json());
            } else {
                println!("{}", result.to_text());
            }
            Ok(0)
        }
        Command::Corpus(args) => corpus(args),
        Command::Scenario(args) => {
            simulator::scenario::cli(args.paths, args.update, args.to_json, args.from_json)
        }
        Command::CheckHistory(args) => simulator::check_history::run(&args),
    }
}

fn run(args: RunArgs) -> anyhow::Result<i32> {
    let options = args.world.options();
    if args.check_determinism {
        return Ok(match check_determinism(args.seed, &options) {
            None => {
                let report = run_seed(args.seed, &options);
                println!(
                    "deterministic: seed {} ran twice with trace hash {}",
                    args.seed,
                    report.trace_hash_hex()
                );
                0
            }
            Some(divergence) => {
                println!(
                    "NONDETERMINISM: seed {} diverged at event {}",
                    args.seed, divergence.event
                );
                println!("  first run:  {}", divergence.first);
                println!("  second run: {}", divergence.second);
                3
            }
        });
    }
    let report = run_seed(args.seed, &options);
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.params);
        match report.failure_text() {
            Some(text) => println!("{text}"),
            None => println!(
                "pass: {} events, {} virtual, {} operations ({}), trace hash {}",
                report.events,
                format_time(report.virtual_time_us),
                report.operations,
                report.linearizability.name(),
                report.trace_hash_hex()
            ),
        }
    }
    Ok(report.exit_code())
}

fn fuzz(args: FuzzArgs) -> anyhow::Result<i32> {
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let campaign = Campaign {
        seeds: args.seeds,
        jobs,
        options: args.world.options(),
        json: args.json,
        stop_at_first_failure: args.stop_at_first_failure,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let summary = run_campaign(&campaign, &mut out).context("running the campaign")?;
    write_summary(campaign.json, &summary, &mut out)?;
    out.flush()?;
    Ok(summary.exit_code())
}

fn replay(args: ReplayArgs) -> anyhow::Result<i32> {
    let options = args.world.options();
    let sim_options = SimOptions {
        log_capacity: Some(args.events.max(1)),
        ..SimOptions::default()
    };
    let (sim, report) = execute(args.seed, &options, sim_options);
    println!("{}", report.params);
    let (dropped, lines) = sim.trace().log_lines().expect("replay keeps a log");
    if dropped > 0 {
        println!("... {dropped} earlier events not shown (--events to see more)");
    }
    for line in lines {
        println!("{line}");
    }
    println!(
        "--- state of every node at the end (t={}, event {}) ---",
        format_time(sim.now_us()),
        report.events
    );
    for line in sim.describe_nodes() {
        println!("  {line}");
    }
    match report.failure_text() {
        Some(text) => println!("{text}"),
        None => println!("pass: trace hash {}", report.trace_hash_hex()),
    }
    Ok(report.exit_code())
}

fn corpus(args: CorpusArgs) -> anyhow::Result<i32> {
    if let Some(seed) = args.record {
        let report = run_seed(seed, &args.world.options());
        let entry = simulator::corpus::CorpusEntry::from_report(&report, &args.note);
        let label = entry
            .bugs
            .first()
            .cloned()
            .unwrap_or_else(|| "clean".into());
        let path = args.dir.join(format!("{label}-{seed}.json"));
        std::fs::create_dir_all(&args.dir)?;
        std::fs::write(&path, serde_json::to_string_pretty(&entry)? + "\n")?;
        println!(
            "wrote {} ({} {:?})",
            path.display(),
            entry.expected_outcome,
            entry.expected_invariant
        );
        return Ok(0);
    }
    let entries = match simulator::corpus::load(&args.dir) {
        Ok(entries) => entries,
        Err(message) => {
            eprintln!("raftsim: {message}");
            return Ok(2);
        }
    };
    let mut failed = 0;
    for (path, entry) in &entries {
        match entry.verify() {
            Ok(()) => println!("ok   {}", path.display()),
            Err(message) => {
                failed += 1;
                println!("FAIL {}: {message}", path.display());
            }
        }
    }
    println!("{} passed, {} failed", entries.len() - failed, failed);
    Ok(if failed > 0 { 1 } else { 0 })
}

fn parse_seed(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    parsed.map_err(|_| {
        format!("{text:?} is not a seed: expected an unsigned 64-bit integer, decimal or 0x-hex")
    })
}

fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let Some((start, end)) = text.split_once("..") else {
        let seed = parse_seed(text)?;
        let end = seed.checked_add(1).ok_or("the seed range would overflow")?;
        return Ok(seed..end);
    };
    let start = if start.is_empty() {
        0
    } else {
        parse_seed(start)?
    };
    let end = parse_seed(end)?;
    if end <= start {
        return Err(format!(
            "{text:?} is an empty range: write A..B with A < B (B is excluded)"
        ));
    }
    Ok(start..end)
}

fn parse_bug(text: &str) -> Result<Bug, String> {
    Bug::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!(
            "unknown bug {text:?}; planted bugs are: {}",
            names.join(", ")
        )
    })
}

fn parse_fault(text: &str) -> Result<FaultKind, String> {
    FaultKind::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "unknown fault kind {text:?}; fault kinds are: {}",
            names.join(", ")
        )
    })
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    match text {
        "swarm" => Ok(Profile::Swarm),
        "standard" => Ok(Profile::Standard),
        _ => Err(format!(
            "unknown profile {text:?}; profiles are: swarm, standard"
        )),
    }
}
