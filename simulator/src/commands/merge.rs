//! `raftsim merge`: the JSON lines that the shares of a split campaign wrote
//! (`raftsim fuzz --partition i/n --json`, one file per share) put back
//! together as the unsplit campaign would have printed them: the runs in
//! seed order, then the same closing lines or summary object.
//!
//! Every file is read and checked before anything is printed, and refused
//! with the file and line that is wrong: a line that is not a run's or a
//! summary's JSON, a file without its summary at the end (a share that did
//! not finish), runs that are not the share's seeds in seed order, a summary
//! that does not count the runs above it, shares of different campaigns
//! (seeds, profile, bugs, faults, split), a seed in two files, a missing
//! share.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

use crate::commands::campaign::{write_summary, Partition, RunTally, Scope, Summary, Verdict};
use crate::world::params::RunOptions;

/// Why the files cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Something wrong at a line of a file.
    #[error("{file}:{line}: {message}")]
    At {
        /// The file, as it was named.
        file: String,
        /// The line, from 1 (the last line for what is missing at the end).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Something no single file is to blame for: a share that no file holds.
    #[error("raftsim merge: {0}")]
    Incomplete(String),
}

/// The shares put together: the runs of the whole campaign in seed order,
/// and its summary.
#[derive(Debug)]
pub struct Merged<'a> {
    /// The summary of the unsplit campaign.
    pub summary: Summary,
    runs: Vec<&'a RunLine<'a>>,
}

impl Merged<'_> {
    /// Writes what `raftsim fuzz` would have printed for the unsplit
    /// campaign: with `json` the runs' lines then the summary object, else
    /// the failures' text then the closing lines.
    pub fn write(&self, json: bool, out: &mut dyn Write) -> std::io::Result<()> {
        for run in &self.runs {
            if json {
                writeln!(out, "{}", run.json)?;
            } else if let Some(text) = &run.text {
                writeln!(out, "{text}")?;
            }
        }
        write_summary(json, &self.summary, out)
    }
}

/// One run of a share: its JSON line as written, and what the merge needs.
#[derive(Debug)]
pub struct RunLine<'a> {
    line: usize,
    json: &'a str,
    // The failure as the text form prints it; none for a pass.
    text: Option<String>,
    tally: RunTally,
}

/// The runs and the summary of one share's file.
#[derive(Debug)]
pub struct ShareFile<'a> {
    name: &'a str,
    scope: Scope,
    runs: Vec<RunLine<'a>>,
    summary_line: usize,
}

/// Puts together the shares that [`read_share`] read, after checking that
/// they are the whole of one campaign, each share once.
pub fn merge<'a>(shares: &'a [ShareFile<'a>]) -> Result<Merged<'a>, MergeError> {
    let Some(first) = shares.first() else {
        return Err(MergeError::Incomplete("no file to merge".to_string()));
    };
    for share in &shares[1..] {
        same_campaign(first, share)?;
    }
    let runs = runs_by_seed(shares)?;
    every_share_once(shares)?;
    let scope = Scope {
        partition: Partition::WHOLE,
        ..first.scope.clone()
    };
    let mut summary = Summary::new(scope);
    let mut kept = Vec::with_capacity(runs.len());
    for run in runs.into_values() {
        summary.count(&run.tally);
        kept.push(run);
        // The unsplit campaign stops at the first failure in seed order, and
        // every seed before it was run by its share (a share stops only at
        // its own first failure, which is no earlier).
        if summary.scope.stop_at_first_failure && run.tally.verdict != Verdict::Pass {
            break;
        }
    }
    Ok(Merged {
        summary,
        runs: kept,
    })
}

/// Reads one share's file: its run lines, then its summary object last.
pub fn read_share<'a>(name: &'a str, contents: &'a str) -> Result<ShareFile<'a>, MergeError> {
    let at = |line: usize, message: String| MergeError::At {
        file: name.to_string(),
        line,
        message,
    };
    if contents.trim().is_empty() {
        let message = "empty: a share's file ends with its summary object \
                       (`raftsim fuzz --json` writes it)";
        return Err(at(1, message.to_string()));
    }
    let mut runs = Vec::new();
    let mut summary = None;
    for (index, json) in contents.lines().enumerate() {
        let line = index + 1;
        if summary.is_some() {
            return Err(at(
                line,
                "a line after the summary object: one share per file, its summary last".to_string(),
            ));
        }
        let value = parse_object(json).map_err(|message| at(line, message))?;
        if value["summary"] == true {
            summary = Some((line, value));
        } else {
            runs.push(read_run(line, json, &value).map_err(|message| at(line, message))?);
        }
    }
    let Some((summary_line, value)) = summary else {
        return Err(at(
            contents.lines().count(),
            "no summary object at the end: the share did not finish, or its file was cut"
                .to_string(),
        ));
    };
    let scope = Scope::from_json(&value).map_err(|message| at(summary_line, message))?;
    runs_are_the_share(&scope, &runs, summary_line).map_err(|(line, message)| at(line, message))?;
    summary_counts_the_runs(&scope, &runs, &value).map_err(|message| at(summary_line, message))?;
    Ok(ShareFile {
        name,
        scope,
        runs,
        summary_line,
    })
}

/// A line as a JSON object, or what is wrong with it.
fn parse_object(json: &str) -> Result<Value, String> {
    if json.starts_with("fuzz: ") {
        return Err(
            "a progress line of stderr: write only stdout into a share's file \
                    (`> FILE`, not `&> FILE`)"
                .to_string(),
        );
    }
    let value: Value = serde_json::from_str(json).map_err(|error| {
        // serde_json says "at line 1 column N" of this one line: keep the column.
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        format!(
            "not a line of `raftsim fuzz --json` (column {}: {message})",
            error.column()
        )
    })?;
    if !value.is_object() {
        return Err("not a line of `raftsim fuzz --json`: a JSON value but no object".to_string());
    }
    Ok(value)
}

/// A run's line: its tally, and its failure text unless it passed.
fn read_run<'a>(line: usize, json: &'a str, value: &Value) -> Result<RunLine<'a>, String> {
    let tally = RunTally::from_json(value)?;
    let text = match tally.verdict {
        Verdict::Pass => None,
        _ => Some(
            value["text"]
                .as_str()
                .ok_or(
                    "a run that did not pass, without its `text` (written by a raftsim \
                     older than `merge`? run the share again)",
                )?
                .to_string(),
        ),
    };
    Ok(RunLine {
        line,
        json,
        text,
        tally,
    })
}

/// The runs must be the share's seeds in seed order, each once: all of
/// them, or (stopped at the first failure) those up to a failure.
fn runs_are_the_share(
    scope: &Scope,
    runs: &[RunLine<'_>],
    summary_line: usize,
) -> Result<(), (usize, String)> {
    let share = describe_share(scope);
    let mut seeds = scope.partition.seeds(scope.seeds.clone());
    for (position, run) in runs.iter().enumerate() {
        let seed = run.tally.seed;
        match seeds.next() {
            Some(expected) if expected == seed => {}
            Some(expected) => {
                let message = format!(
                    "seed {seed} where {share} runs seed {expected}: \
                     each of its seeds once, in seed order"
                );
                return Err((run.line, message));
            }
            None => {
                let message = format!("seed {seed} is past the last seed of {share}");
                return Err((run.line, message));
            }
        }
        let stops_here = scope.stop_at_first_failure && run.tally.verdict != Verdict::Pass;
        if let (true, Some(next)) = (stops_here, runs.get(position + 1)) {
            let message = format!(
                "a run after seed {seed}, the first failure of a campaign \
                 that stops at its first failure"
            );
            return Err((next.line, message));
        }
    }
    let stopped = scope.stop_at_first_failure
        && runs
            .last()
            .is_some_and(|run| run.tally.verdict != Verdict::Pass);
    if !stopped && seeds.next().is_some() {
        let all = scope.partition.seed_count(&scope.seeds);
        return Err((
            summary_line,
            format!("the file holds {} of the {all} runs of {share}", runs.len()),
        ));
    }
    Ok(())
}

/// The summary object must be the one the runs above it make: a file cut
/// and patched, or one whose lines were edited, is refused.
fn summary_counts_the_runs(
    scope: &Scope,
    runs: &[RunLine<'_>],
    written: &Value,
) -> Result<(), String> {
    let mut counted = Summary::new(scope.clone());
    for run in runs {
        counted.count(&run.tally);
    }
    let counted = counted.to_json();
    if counted == *written {
        return Ok(());
    }
    let (Some(counted), Some(written)) = (counted.as_object(), written.as_object()) else {
        return Err("the summary is no JSON object".to_string());
    };
    let differs = |key: &&String| counted.get(*key) != written.get(*key);
    let key = counted.keys().chain(written.keys()).find(differs);
    let shown = |value: Option<&Value>| value.map_or("missing".to_string(), Value::to_string);
    Err(match key {
        Some(key) => format!(
            "the summary does not count the runs above it: `{key}` is {} here, {} counted",
            shown(written.get(key)),
            shown(counted.get(key))
        ),
        None => "the summary does not count the runs above it".to_string(),
    })
}

/// `share 2/3 of seeds 0..100`, or `seeds 0..100` when not split.
fn describe_share(scope: &Scope) -> String {
    let seeds = format!("seeds {}..{}", scope.seeds.start, scope.seeds.end);
    if scope.partition.is_whole() {
        seeds
    } else {
        format!("share {} of {seeds}", scope.partition)
    }
}

/// The run options as the flags that set them.
fn describe_options(options: &RunOptions) -> String {
    let mut flags = format!("--profile {}", options.profile.name());
    for bug in options.bugs.iter() {
        flags.push_str(&format!(" --bug {}", bug.name()));
    }
    for fault in &options.forced_faults {
        flags.push_str(&format!(" --fault {}", fault.name()));
    }
    flags
}

/// `share` must be a share of the same campaign as `first`: the same seeds,
/// run options and split.
fn same_campaign(first: &ShareFile<'_>, share: &ShareFile<'_>) -> Result<(), MergeError> {
    let (mine, theirs) = (&share.scope, &first.scope);
    let differs = if mine.seeds != theirs.seeds {
        Some(format!(
            "seeds {}..{}, but {} has seeds {}..{}",
            mine.seeds.start, mine.seeds.end, first.name, theirs.seeds.start, theirs.seeds.end
        ))
    } else if mine.options != theirs.options {
        Some(format!(
            "run options `{}`, but {} has `{}`",
            describe_options(&mine.options),
            first.name,
            describe_options(&theirs.options)
        ))
    } else if mine.stop_at_first_failure != theirs.stop_at_first_failure {
        let stops = |scope: &Scope| {
            if scope.stop_at_first_failure {
                "stops"
            } else {
                "does not stop"
            }
        };
        Some(format!(
            "this campaign {} at its first failure, {}'s {}",
            stops(mine),
            first.name,
            stops(theirs)
        ))
    } else if mine.partition.count() != theirs.partition.count() {
        let split = |scope: &Scope| match scope.partition.count() {
            1 => "not split".to_string(),
            count => format!("split in {count} shares"),
        };
        Some(format!(
            "this campaign is {}, {}'s is {}",
            split(mine),
            first.name,
            split(theirs)
        ))
    } else {
        None
    };
    match differs {
        None => Ok(()),
        Some(message) => Err(MergeError::At {
            file: share.name.to_string(),
            line: share.summary_line,
            message: format!("{message}: merge takes the shares of one campaign"),
        }),
    }
}

/// Every run of every share by its seed; a seed in two files is refused.
fn runs_by_seed<'a>(
    shares: &'a [ShareFile<'a>],
) -> Result<BTreeMap<u64, &'a RunLine<'a>>, MergeError> {
    let mut runs: BTreeMap<u64, (&ShareFile<'_>, &RunLine<'_>)> = BTreeMap::new();
    for share in shares {
        for run in &share.runs {
            if let Some((other, earlier)) = runs.insert(run.tally.seed, (share, run)) {
                return Err(MergeError::At {
                    file: share.name.to_string(),
                    line: run.line,
                    message: format!(
                        "seed {} is also at {}:{}: the shares overlap (share {} given twice?)",
                        run.tally.seed, other.name, earlier.line, share.scope.partition
                    ),
                });
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(seed, (_, run))| (seed, run))
        .collect())
}

/// Each share of the split given once, none missing.
fn every_share_once(shares: &[ShareFile<'_>]) -> Result<(), MergeError> {
    let mut by_index: BTreeMap<u64, &ShareFile<'_>> = BTreeMap::new();
    for share in shares {
        let partition = share.scope.partition;
        if let Some(other) = by_index.insert(partition.index(), share) {
            return Err(MergeError::At {
                file: share.name.to_string(),
                line: share.summary_line,
                message: format!("share {partition} again: {} holds it too", other.name),
            });
        }
    }
    let scope = &shares[0].scope;
    let count = scope.partition.count();
    // Stops at the first gap: at most one more step than there are files.
    if let Some(missing) = (1..=count).find(|index| !by_index.contains_key(index)) {
        return Err(MergeError::Incomplete(format!(
            "share {missing}/{count} of seeds {}..{} is missing: \
             merge takes the file of every share ({} of {count} given)",
            scope.seeds.start,
            scope.seeds.end,
            shares.len()
        )));
    }
    Ok(())
}
