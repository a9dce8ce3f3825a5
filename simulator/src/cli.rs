//! Argument parsing and the subcommands. Exit codes: 0 all passed, 1 a violation
//! found, 2 usage or input error, 3 nondeterminism detected, 4 internal error,
//! 5 a campaign left a situation unreached (its coverage floor).

use std::io::Write;
use std::num::IntErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use raft_core::Bug;
use simulator::commands::campaign::{run_share, write_summary, Campaign, Partition, Progress};
use simulator::commands::run::{check_determinism, execute, run_seed, RunReport};
use simulator::commands::shrink;
use simulator::commands::timeline;
use simulator::world::params::{FaultKind, Profile, RunOptions};
use simulator::world::trace::Trace;
use simulator::world::{format_time, World, WorldOptions};

/// Deterministic simulation testing for Raft: one seed, one reproducible run.
#[derive(Parser, Debug)]
#[command(
    name = "raftsim",
    version,
    about = "Deterministic simulation testing for Raft: one seed, one reproducible run",
    after_help = "Examples:\n  raftsim fuzz                               default campaign (seeds 0..10000, all cores)\n  raftsim fuzz --seeds 0..2000 --bug double-vote\n  raftsim replay --seed 42 --events 200      what happened, event by event\n  raftsim run --seed 42 --check-determinism\n  raftsim scenario scenarios/\n  raftsim shrink --seed 23 --bug stale-read -o sr.scen --html sr.html   a smaller run that still fails\n\nExit codes: 0 all passed, 1 violation, 2 usage/input error, 3 nondeterminism, 4 internal error, 5 a swarm campaign of 1000+ runs left a situation unreached."
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
    ///
    /// Ends with the coverage (how many runs reached each situation the checks
    /// are about; any never reached is flagged), the elections and the time to
    /// a new leader after a leader loss, then `N passed, N failed, N unknown`.
    Fuzz(FuzzArgs),
    /// Put together the `fuzz --json` files of a split campaign's shares as
    /// the unsplit campaign would have printed them; exit code as `fuzz`'s.
    Merge(MergeArgs),
    /// Run one seed again with a readable event log and the nodes' final state.
    Replay(ReplayArgs),
    /// List the planted bugs and the property that catches each.
    Bugs,
    /// Measure simulated events per second, with and without per-step checks.
    Bench(BenchArgs),
    /// Replay the regression corpus (seeds/) and check every pinned outcome.
    Corpus(CorpusArgs),
    /// Check third-party histories for linearizability (exit 0 all linearizable,
    /// 1 any not or undecided, 2 unreadable file).
    CheckHistory(simulator::commands::check_history::CheckHistoryArgs),
    /// Write a hard history for the linearizability checker (many clients,
    /// few keys, long calls, unknown outcomes, unique values), linearizable
    /// by construction or with one stale read (`--bad`).
    GenHistory(simulator::commands::gen_history::GenHistoryArgs),
    /// Run scenario files (or directories of them); exit 1 if any fails, 2 if
    /// one cannot be read or parsed. See scenarios/README.md.
    Scenario(ScenarioArgs),
    /// Reduce a failing seed to a small run that breaks the same property,
    /// written as a scenario file that `raftsim scenario` reproduces.
    Shrink(ShrinkArgs),
}

#[derive(Args, Debug)]
struct ShrinkArgs {
    /// The failing seed (decimal or 0x-prefixed hex).
    #[arg(long, env = "RAFTSIM_SEED", value_parser = parse_seed, allow_hyphen_values = true)]
    seed: u64,
    #[command(flatten)]
    world: WorldArgs,
    /// Write the scenario to this file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Stop after this many seconds with the smallest failing run found so
    /// far (it then says it may not be minimal).
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time: u64,
    /// Also write the shrunk run as one self-contained HTML timeline page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the shrunk run as Chrome trace-event JSON, for the Perfetto UI.
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
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
    /// Also write the scenario's run as one self-contained HTML page (one
    /// scenario file only).
    #[arg(long, value_name = "OUT", conflicts_with_all = ["update", "to_json", "from_json"])]
    html: Option<PathBuf>,
    /// Also write the scenario's run as Chrome trace-event JSON, for the
    /// Perfetto UI (one scenario file only).
    #[arg(long, value_name = "OUT", conflicts_with_all = ["update", "to_json", "from_json"])]
    perfetto: Option<PathBuf>,
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
    /// partition, crash, disk-loss, disk-loss-amnesia, membership, pause, clog,
    /// clock-skew. disk-loss replaces a wiped node under a new identity through
    /// membership changes (drawn by the swarm); disk-loss-amnesia restarts it
    /// under its old one, which Raft does not survive (only when asked for). The
    /// swarm skews clocks only in runs without lease reads (a clock past the
    /// drift bound breaks a lease by design).
    #[arg(long = "fault", value_name = "KIND", value_parser = parse_fault)]
    faults: Vec<FaultKind>,
    /// swarm: each seed draws cluster size, fault kinds (membership changes and disk loss among them), compaction and Raft features (PreVote, CheckQuorum, read path, transfers); standard: 5 voters, the five classic faults (not pauses, clogs, skews, membership changes or disk loss), compaction every 64 entries, features drawn.
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
    #[arg(long, allow_hyphen_values = true, env = "RAFTSIM_SEED", value_parser = parse_seed)]
    seed: u64,
    #[command(flatten)]
    world: WorldArgs,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Run twice and compare trace hashes (also on a seed that breaks a
    /// property). Exit 3 naming the first divergent event if they differ;
    /// otherwise the run's own exit code (0 pass, 1 violation, 4 internal
    /// error). With --json: one object with seed, deterministic, trace_hash.
    #[arg(long)]
    check_determinism: bool,
}

#[derive(Args, Debug)]
struct FuzzArgs {
    /// Seeds to run, half-open `A..B` (or a single seed `N`).
    #[arg(long, allow_hyphen_values = true, env = "RAFTSIM_SEEDS", value_name = "A..B", default_value = "0..10000", value_parser = parse_seed_range)]
    seeds: Range<u64>,
    /// Worker threads (each run is single-threaded). Default: all cores.
    #[arg(long, allow_negative_numbers = true, env = "RAFTSIM_JOBS", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    #[command(flatten)]
    world: WorldArgs,
    /// JSON lines on stdout: one object per run, then a summary object.
    #[arg(long)]
    json: bool,
    /// Stop at the first failing seed.
    #[arg(long)]
    stop_at_first_failure: bool,
    /// Without a terminal (CI logs), print a progress line to stderr every
    /// this many seconds of wall time (0: after every 64 seeds); on a
    /// terminal a progress bar shows instead.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    progress_every: u64,
    /// Run share I of N of the seeds, counted from 1 as in cargo-nextest
    /// (1/4 .. 4/4): the seeds S with S % N == I - 1. The summary counts the
    /// share; `raftsim merge` puts the shares' --json files together.
    #[arg(long, allow_hyphen_values = true, env = "RAFTSIM_PARTITION", value_name = "I/N", value_parser = Partition::parse)]
    partition: Option<Partition>,
    /// Also write the results as JUnit XML to FILE for CI: one test case per
    /// seed, a violation as a failure, a harness error or an undecided run as
    /// an error.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// After the campaign, shrink each failing seed (at most 20) and write
    /// its scenario file into this folder (`seed-N.scen`), for CI to keep.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// With --artifacts: how long each shrink may take, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    artifacts_time: u64,
}

/// With `fuzz --artifacts`: at most this many failing seeds are shrunk (the
/// others are named, not shrunk).
const ARTIFACTS_MAX: usize = 20;

#[derive(Args, Debug)]
struct MergeArgs {
    /// JSON lines on stdout (the runs in seed order, then the summary
    /// object) instead of text.
    #[arg(long)]
    json: bool,
    /// The files that `raftsim fuzz --partition I/N --json` wrote, one per share.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// The seed (decimal or 0x-prefixed hex).
    #[arg(long, allow_hyphen_values = true, env = "RAFTSIM_SEED", value_parser = parse_seed)]
    seed: u64,
    #[command(flatten)]
    world: WorldArgs,
    /// How many events to show, counted back from the end of the run.
    #[arg(long, allow_negative_numbers = true, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    events: u64,
    /// Show every clock tick (by default a tick is shown only when it changed
    /// something: a timeout, a heartbeat lost to a fault).
    #[arg(long)]
    ticks: bool,
    /// Also write the run as one self-contained HTML page: a lane per node
    /// (role and term), messages as arrows, faults, client operations, the
    /// violation; zoom and hover.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the run as Chrome trace-event JSON, for the Perfetto UI.
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Seeds per measurement.
    #[arg(long, allow_negative_numbers = true, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
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
    #[arg(long, allow_hyphen_values = true, value_parser = parse_seed)]
    record: Option<u64>,
    #[command(flatten)]
    world: WorldArgs,
    /// With --record: why the entry is kept.
    #[arg(long, default_value = "")]
    note: String,
    /// With --record: overwrite an entry of the same name.
    #[arg(long, requires = "record")]
    force: bool,
}

/// Parses arguments, runs the command, and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() => {
            eprintln!("{}", usage_error_text(&error));
            return 2;
        }
        Err(help_or_version) => {
            let _ = help_or_version.print();
            return 0;
        }
    };
    simulator::commands::run::quiet_panics();
    // A panic outside a run's own catch (building a world, a worker thread)
    // would otherwise end the process silently: the quiet hook prints nothing.
    let dispatched =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli.command)));
    match dispatched {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            eprintln!("raftsim: internal error: {error:#}");
            4
        }
        Err(payload) => {
            eprintln!(
                "raftsim: internal error: a panic outside any run's report: {}",
                simulator::commands::run::panic_message(&payload)
            );
            4
        }
    }
}

/// A usage error as one line when clap's message is about one value (the
/// usual case, and what a script greps for): its lines joined, the pointer to
/// `--help` kept at the end. Errors that show the usage or a tip in sections
/// of their own keep clap's layout.
fn usage_error_text(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let text = text.trim_end();
    let hint = "\n\nFor more information, try '--help'.";
    let message = text.strip_suffix(hint).unwrap_or(text);
    if message.contains("\n\n") {
        return text.to_string();
    }
    let lines: Vec<&str> = message.lines().map(str::trim).collect();
    format!("{} (see --help)", lines.join(" "))
}

fn dispatch(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args),
        Command::Fuzz(args) => fuzz(args),
        Command::Merge(args) => merge(args),
        Command::Shrink(args) => shrink(args),
        Command::Replay(args) => replay(args),
        Command::Bugs => {
            for bug in Bug::ALL {
                println!("{:<30} {}", bug.name(), bug.description());
                let caught = simulator::world::bugs::caught_by_text(bug);
                println!("{:<30} caught by: {caught}", "");
            }
            println!();
            println!("not found by the campaign in 2,000 seeds (raft-core's tests show each; --bug takes them):");
            for bug in Bug::RAFT_CORE_ONLY {
                println!("{:<30} {}", bug.name(), bug.description());
            }
            Ok(0)
        }
        Command::Bench(args) => {
            let result = simulator::commands::bench::bench(args.runs);
            if args.json {
                println!("{}", result.to_json());
            } else {
                println!("{}", result.to_text());
            }
            Ok(0)
        }
        Command::Corpus(args) => corpus(args),
        Command::Scenario(args) => simulator::commands::scenario::cli(
            args.paths,
            args.update,
            args.to_json,
            args.from_json,
            (args.html, args.perfetto),
        ),
        Command::CheckHistory(args) => simulator::commands::check_history::run(&args),
        Command::GenHistory(args) => simulator::commands::gen_history::run(&args),
    }
}

fn run(args: RunArgs) -> anyhow::Result<i32> {
    let options = args.world.options();
    if args.check_determinism {
        return Ok(run_twice(args.seed, &options, args.json));
    }
    let report = run_seed(args.seed, &options);
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.params);
        println!("{}", report.outcome_text());
    }
    Ok(report.exit_code())
}

/// `run --check-determinism`: the seed twice, compared event by event, then
/// once more for its report. Exit 3 on a divergence, else the run's own code:
/// a seed that breaks a property is as much worth checking as one that passes.
fn run_twice(seed: u64, options: &RunOptions, json: bool) -> i32 {
    let divergence = check_determinism(seed, options);
    let report = run_seed(seed, options);
    let code = if divergence.is_some() {
        3
    } else {
        report.exit_code()
    };
    if json {
        let mut value = serde_json::json!({
            "seed": seed,
            "deterministic": divergence.is_none(),
            "trace_hash": report.trace_hash_hex(),
            "outcome": report.outcome_name(),
            "exit_code": code,
        });
        if let Some(invariant) = report.invariant() {
            value["invariant"] = serde_json::json!(invariant.name());
        }
        if let Some(divergence) = &divergence {
            value["divergent_event"] = serde_json::json!(divergence.event);
            value["first"] = serde_json::json!(divergence.first);
            value["second"] = serde_json::json!(divergence.second);
        }
        println!("{value}");
        return code;
    }
    match divergence {
        None => println!(
            "deterministic: seed {seed} ran twice with trace hash {}",
            report.trace_hash_hex()
        ),
        Some(divergence) => {
            println!(
                "NONDETERMINISM: seed {seed} diverged at event {}",
                divergence.event
            );
            println!("  first run:  {}", divergence.first);
            println!("  second run: {}", divergence.second);
        }
    }
    if let Some(text) = report.failure_text() {
        println!("{text}");
    }
    code
}

fn fuzz(args: FuzzArgs) -> anyhow::Result<i32> {
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Created before the campaign, so that a path that cannot be written is
    // refused at once rather than after the campaign's minutes.
    let junit = match &args.junit {
        None => None,
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((path, std::io::BufWriter::new(file))),
            Err(error) => {
                eprintln!(
                    "raftsim: --junit {}: cannot create it: {error}",
                    path.display()
                );
                return Ok(2);
            }
        },
    };
    if let Some(dir) = &args.artifacts {
        if let Err(error) = std::fs::create_dir_all(dir) {
            eprintln!(
                "raftsim: --artifacts {}: cannot create the folder: {error}",
                dir.display()
            );
            return Ok(2);
        }
    }
    let campaign = Campaign {
        seeds: args.seeds,
        jobs,
        options: args.world.options(),
        json: args.json,
        stop_at_first_failure: args.stop_at_first_failure,
    };
    let partition = args.partition.unwrap_or(Partition::WHOLE);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let progress = match Progress::for_stderr() {
        Progress::Lines(_) => Progress::Lines(Duration::from_secs(args.progress_every)),
        shown => shown,
    };
    let summary =
        run_share(&campaign, partition, &mut out, progress).context("running the campaign")?;
    write_summary(campaign.json, &summary, &mut out)?;
    out.flush()?;
    if let Some((path, mut file)) = junit {
        simulator::commands::junit::write_junit(&summary, &mut file)
            .and_then(|()| file.flush())
            .with_context(|| format!("writing the JUnit file {}", path.display()))?;
    }
    if let Some(dir) = &args.artifacts {
        let violations = summary
            .failures
            .iter()
            .filter(|report| report.invariant().is_some());
        let seeds: Vec<u64> = violations.map(|report| report.seed()).collect();
        write_artifacts(dir, &seeds, &campaign.options, args.artifacts_time)?;
    }
    Ok(summary.exit_code())
}

/// Shrinks each of `seeds` (at most `ARTIFACTS_MAX`) and writes its
/// scenario into `dir`.
fn write_artifacts(
    dir: &Path,
    seeds: &[u64],
    options: &RunOptions,
    secs: u64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--artifacts {}: cannot create the folder", dir.display()))?;
    for &seed in seeds.iter().take(ARTIFACTS_MAX) {
        let path = dir.join(format!("seed-{seed}.scen"));
        let mut out_of_time = deadline(secs);
        let mut quiet = |_: &shrink::Progress<'_>| {};
        match shrink::shrink(seed, options, &mut out_of_time, &mut quiet) {
            Ok(shrunk) => {
                let command = shrink::shrink_command(seed, options);
                let text = shrink::scenario_text(&shrunk, &command, &path.display().to_string())?;
                std::fs::write(&path, text)
                    .with_context(|| format!("{}: cannot write", path.display()))?;
                let page = dir.join(format!("seed-{seed}.html"));
                let recording = timeline::recording(WorldOptions::default());
                let (world, report) = shrink::rerun(&shrunk, options, recording);
                let drawn = timeline::page_of_shrunk(&world, &report, Some(&path))?;
                timeline::write_page(&drawn, Some(&page), None)?;
                eprintln!(
                    "artifacts: seed {seed}: {} faults -> {}{}; wrote {} and {}",
                    shrunk.original.0,
                    shrunk.reduced.0,
                    if shrunk.complete {
                        ""
                    } else {
                        " (stopped by --artifacts-time)"
                    },
                    path.display(),
                    page.display()
                );
            }
            Err(error) => eprintln!("artifacts: seed {seed}: {error}"),
        }
    }
    if seeds.len() > ARTIFACTS_MAX {
        let rest: Vec<String> = seeds[ARTIFACTS_MAX..].iter().map(u64::to_string).collect();
        eprintln!(
            "artifacts: not shrunk (past the first {ARTIFACTS_MAX}): seeds {}",
            rest.join(", ")
        );
    }
    Ok(())
}

/// A function that says when `secs` seconds of wall time have passed.
#[allow(clippy::disallowed_methods)] // a time limit on shrinking, never part of a run
fn deadline(secs: u64) -> impl FnMut() -> bool {
    let started = std::time::Instant::now(); // allow-nondeterminism: the --time limit of a search
    let limit = Duration::from_secs(secs);
    move || started.elapsed() >= limit
}

/// `merge FILES`: every file read and checked first; exit 2 naming the file
/// and line of the first thing wrong, else the unsplit campaign's output and
/// exit code.
fn merge(args: MergeArgs) -> anyhow::Result<i32> {
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(contents) => files.push((path.display().to_string(), contents)),
            Err(error) => {
                eprintln!("{}: cannot read: {error}", path.display());
                return Ok(2);
            }
        }
    }
    let shares = files
        .iter()
        .map(|(name, contents)| simulator::commands::merge::read_share(name, contents))
        .collect::<Result<Vec<_>, _>>();
    let merged = match &shares {
        Ok(shares) => simulator::commands::merge::merge(shares),
        Err(error) => Err(error.clone()),
    };
    let merged = match merged {
        Ok(merged) => merged,
        Err(error) => {
            eprintln!("{error}");
            return Ok(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    merged.write(args.json, &mut out)?;
    out.flush()?;
    Ok(merged.summary.exit_code())
}

fn replay(args: ReplayArgs) -> anyhow::Result<i32> {
    let options = args.world.options();
    let mut sim_options = WorldOptions {
        log_capacity: Some(usize::try_from(args.events).unwrap_or(usize::MAX)),
        log_ticks: args.ticks,
        ..WorldOptions::default()
    };
    if args.html.is_some() || args.perfetto.is_some() {
        sim_options = timeline::recording(sim_options);
    }
    let (sim, report) = execute(args.seed, &options, sim_options);
    println!("{}", report.params);
    print_story(sim.trace());
    print_last_events(sim.trace(), args.ticks);
    println!(
        "--- state of every node at the end (t={}, event {}) ---",
        format_time(sim.now_us()),
        report.events
    );
    for line in sim.describe_nodes() {
        println!("  {line}");
    }
    if let Some(code) = write_timeline(&sim, &report, (&args.html, &args.perfetto))? {
        return Ok(code);
    }
    match report.failure_text() {
        Some(text) => println!("{text}"),
        None => println!("pass: trace hash {}", report.trace_hash_hex()),
    }
    Ok(report.exit_code())
}

/// Writes the timeline files asked for; `Some(2)` if one cannot be written
/// (the path is named), `None` when all went well.
fn write_timeline(
    sim: &World,
    report: &RunReport,
    files: (&Option<PathBuf>, &Option<PathBuf>),
) -> anyhow::Result<Option<i32>> {
    if files.0.is_none() && files.1.is_none() {
        return Ok(None);
    }
    let page = timeline::page_of_run(sim, report)?;
    Ok(write_page_files(&page, files, false))
}

/// Writes `page` to the files asked for and says so (on stderr when stdout
/// holds something else, a scenario file); `Some(2)` if one cannot be
/// written.
fn write_page_files(
    page: &timeline::Page,
    (html, perfetto): (&Option<PathBuf>, &Option<PathBuf>),
    notes_on_stderr: bool,
) -> Option<i32> {
    if let Err(error) = timeline::write_page(page, html.as_deref(), perfetto.as_deref()) {
        eprintln!("raftsim: {error}");
        return Some(2);
    }
    for (what, path) in [("timeline page", html), ("Perfetto trace", perfetto)] {
        if let Some(path) = path {
            let note = format!("wrote the {what} to {}", path.display());
            match notes_on_stderr {
                true => eprintln!("{note}"),
                false => println!("{note}"),
            }
        }
    }
    None
}

/// The story of the whole run: who led which term, and every fault.
fn print_story(trace: &Trace) {
    let Some((story, not_kept)) = trace.story() else {
        return;
    };
    println!("--- the whole run: leaders and faults ---");
    for line in story {
        println!("  {line}");
    }
    if not_kept > 0 {
        println!("  ... and {not_kept} more, not kept");
    }
}

/// The last events, each with what it caused indented under it.
fn print_last_events(trace: &Trace, ticks: bool) {
    let Some((dropped, entries)) = trace.log_lines() else {
        return;
    };
    let ticks_note = if ticks {
        ""
    } else {
        ", quiet ticks hidden (--ticks shows them)"
    };
    println!("--- the last events{ticks_note} ---");
    if dropped > 0 {
        println!("... {dropped} earlier events not shown (--events to see more)");
    }
    for entry in entries {
        println!("{entry}");
    }
}

#[allow(clippy::disallowed_methods)] // the --time limit and progress display only
fn shrink(args: ShrinkArgs) -> anyhow::Result<i32> {
    let options = args.world.options();
    // A file that cannot be written is said before the search, not after it.
    for path in [&args.output, &args.html, &args.perfetto]
        .into_iter()
        .flatten()
    {
        if let Err(error) = std::fs::File::create(path) {
            eprintln!("raftsim: {}: cannot write: {error}", path.display());
            return Ok(2);
        }
    }
    let started = std::time::Instant::now(); // allow-nondeterminism: the elapsed time shown
    let mut out_of_time = deadline(args.time);
    let mut last_stage = String::new();
    let mut progress = |p: &shrink::Progress<'_>| {
        if p.stage != last_stage {
            last_stage = p.stage.to_string();
            eprintln!("shrink: {} ({} faults, {} runs)", p.stage, p.faults, p.runs);
        }
    };
    let shrunk = match shrink::shrink(args.seed, &options, &mut out_of_time, &mut progress) {
        Ok(shrunk) => shrunk,
        Err(error @ shrink::ShrinkError::NoViolation(..)) => {
            eprintln!("raftsim: {error}");
            return Ok(2);
        }
        Err(error) => {
            eprintln!("raftsim: {error}");
            return Ok(4);
        }
    };
    let command = shrink::shrink_command(args.seed, &options);
    let name = args
        .output
        .as_ref()
        .map_or("shrunk.scen".to_string(), |p| p.display().to_string());
    let text = shrink::scenario_text(&shrunk, &command, &name)?;
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .map_err(|error| anyhow::anyhow!("{}: cannot write: {error}", path.display()))?,
        None => print!("{text}"),
    }
    let elapsed = started.elapsed().as_secs_f64(); // allow-nondeterminism: display
    eprintln!(
        "shrunk seed {}: {} faults -> {}, {} events -> {}, {} runs in {elapsed:.1} s{}",
        args.seed,
        shrunk.original.0,
        shrunk.reduced.0,
        shrunk.original.1,
        shrunk.reduced.1,
        shrunk.runs,
        if shrunk.complete {
            "; 1-minimal"
        } else {
            "; stopped by --time, may not be minimal"
        }
    );
    if let Some(path) = &args.output {
        eprintln!(
            "wrote {}: `raftsim scenario {}` reproduces it",
            path.display(),
            path.display()
        );
    }
    if args.html.is_some() || args.perfetto.is_some() {
        let recording = timeline::recording(WorldOptions::default());
        let (world, report) = shrink::rerun(&shrunk, &options, recording);
        let page = timeline::page_of_shrunk(&world, &report, args.output.as_deref())?;
        if let Some(code) = write_page_files(&page, (&args.html, &args.perfetto), true) {
            return Ok(code);
        }
    }
    Ok(0)
}

fn corpus(args: CorpusArgs) -> anyhow::Result<i32> {
    match args.record {
        Some(seed) => record_corpus_entry(&args, seed),
        None => check_corpus(&args),
    }
}

/// `corpus DIR`: replays every entry; exit 1 if one changed, 2 if the folder
/// or an entry cannot be read (or holds no entry: a corpus that checks
/// nothing must not pass).
fn check_corpus(args: &CorpusArgs) -> anyhow::Result<i32> {
    let world = &args.world;
    let describes_an_entry = !world.bugs.is_empty()
        || !world.faults.is_empty()
        || world.profile != Profile::Swarm
        || !args.note.is_empty();
    if describes_an_entry {
        eprintln!(
            "raftsim: --bug, --fault, --profile and --note describe a new entry: use them with --record N"
        );
        return Ok(2);
    }
    if !args.dir.is_dir() {
        eprintln!(
            "raftsim: no corpus folder at {}: give the folder of the corpus entries (*.json), e.g. `raftsim corpus seeds`",
            args.dir.display()
        );
        return Ok(2);
    }
    let entries = match simulator::commands::corpus::load(&args.dir) {
        Ok(entries) => entries,
        Err(message) => {
            eprintln!("raftsim: {message}");
            return Ok(2);
        }
    };
    if entries.is_empty() {
        eprintln!(
            "raftsim: {} holds no corpus entries (*.json files)",
            args.dir.display()
        );
        return Ok(2);
    }
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

/// `corpus DIR --record N`: runs the seed and writes its entry, refusing to
/// replace an existing one unless `--force`.
fn record_corpus_entry(args: &CorpusArgs, seed: u64) -> anyhow::Result<i32> {
    if args.world.profile != Profile::Swarm {
        eprintln!(
            "raftsim: corpus entries replay with the swarm profile: record without --profile"
        );
        return Ok(2);
    }
    let options = args.world.options();
    let label = options.bugs.iter().next().map_or("clean", |bug| bug.name());
    let path = args.dir.join(format!("{label}-{seed}.json"));
    if path.exists() && !args.force {
        eprintln!(
            "raftsim: {} already exists; pass --force to overwrite it",
            path.display()
        );
        return Ok(2);
    }
    let report = run_seed(seed, &options);
    let entry = simulator::commands::corpus::CorpusEntry::from_report(&report, &args.note);
    let written = std::fs::create_dir_all(&args.dir)
        .and_then(|()| std::fs::write(&path, serde_json::to_string_pretty(&entry)? + "\n"));
    if let Err(error) = written {
        eprintln!("raftsim: cannot write {}: {error}", path.display());
        return Ok(2);
    }
    println!(
        "wrote {}: {}, trace hash {}",
        path.display(),
        entry.expected_result(),
        entry.trace_hash
    );
    Ok(0)
}

/// The largest seed, as the messages name it.
const SEED_MAX_TEXT: &str = "18446744073709551615 (0xffffffffffffffff)";

// The value parsers below say what is wrong with a value, not the value
// itself: clap's message quotes it already (`invalid value '5..3' for
// '--seeds <A..B>': ...`). Seeds and counts take values that start with a
// hyphen (`--seed -1`, `--seeds -1..5`), so that they are told what is wrong
// with the value instead of being taken for an unknown flag.

/// A seed: an unsigned 64-bit integer, decimal or `0x` hex.
fn parse_seed(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    u64::from_str_radix(digits, radix).map_err(|error| match error.kind() {
        IntErrorKind::PosOverflow => format!("too large for a seed: at most {SEED_MAX_TEXT}"),
        IntErrorKind::Empty if radix == 16 => {
            "not a seed: 0x must be followed by hex digits".to_string()
        }
        _ => "not a seed: expected an unsigned 64-bit integer, decimal or 0x-hex".to_string(),
    })
}

/// Seeds `A..B` (B excluded, A may be left out for 0), or one seed `N`.
fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let Some((start, end)) = text.split_once("..") else {
        let seed = parse_seed(text)?;
        let end = seed
            .checked_add(1)
            .ok_or_else(|| format!("the range would end past the largest seed, {SEED_MAX_TEXT}"))?;
        return Ok(seed..end);
    };
    let start = if start.trim().is_empty() {
        0
    } else {
        parse_seed(start).map_err(|e| format!("the start of the range is {e}"))?
    };
    if end.trim().is_empty() {
        return Err("the end of the range is missing: write A..B (B is excluded)".to_string());
    }
    let end = parse_seed(end).map_err(|e| format!("the end of the range is {e}"))?;
    if end <= start {
        return Err("an empty range: write A..B with A < B (B is excluded)".to_string());
    }
    Ok(start..end)
}

fn parse_bug(text: &str) -> Result<Bug, String> {
    Bug::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!("unknown bug; planted bugs are: {}", names.join(", "))
    })
}

fn parse_fault(text: &str) -> Result<FaultKind, String> {
    FaultKind::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown fault kind; fault kinds are: {}", names.join(", "))
    })
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    match text {
        "swarm" => Ok(Profile::Swarm),
        "standard" => Ok(Profile::Standard),
        _ => Err("unknown profile; profiles are: swarm, standard".to_string()),
    }
}
