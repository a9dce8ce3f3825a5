//! Timelines people would rather look at than read: a run as one
//! self-contained HTML page (`raftsim replay --html FILE`, `raftsim
//! scenario FILE --html OUT`, and what `raftsim shrink` writes), and as
//! Chrome trace-event JSON for the Perfetto UI (`--perfetto FILE`).
//!
//! The data comes from the world's timeline recorder
//! ([`crate::world::timeline`], switched on by
//! [`WorldOptions::timeline`]), the client history and the run's outcome,
//! never from the text log: [`data::Page`] holds it as rows, the page
//! ([`html`]) and the trace ([`perfetto`]) are both written from them.
//!
//! What a page holds is bounded ([`TimelineLimits`]): a long run keeps the
//! last 20,000 messages (the window before its end, which is where its
//! violation is), the last 20,000 role and commit changes, the last 20,000
//! operations; the page says what it does not draw, and its traffic strip
//! and message counts cover the whole run. An 11-second run of 7 nodes
//! (seed 664: 226,554 events, 138,614 messages) makes a page of 2.6 MB and
//! a trace of 12 MB.
//!
//! Both files are deterministic: the same run gives the same bytes.

pub mod data;
pub mod html;
pub mod perfetto;
pub mod scenario;

use std::path::{Path, PathBuf};

pub use data::{Page, Source};

use crate::commands::run::RunReport;
use crate::world::timeline::TimelineLimits;
use crate::world::{World, WorldOptions};

/// Why a timeline file was not written.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// The world ran without a timeline ([`recording`] switches it on): a
    /// bug of the caller.
    #[error("the run recorded no timeline (WorldOptions::timeline was off)")]
    NotRecorded,
    /// The file could not be written.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// `options` with the timeline recorded, within the default limits.
pub fn recording(options: WorldOptions) -> WorldOptions {
    WorldOptions {
        timeline: Some(TimelineLimits::default()),
        ..options
    }
}

/// The page of a run of a seed: `world` as [`crate::commands::run::execute`]
/// (or `execute_schedule`) left it, run with [`recording`] options.
pub fn page_of_run(world: &World, report: &RunReport) -> Result<Page, TimelineError> {
    Page::build(world, Source::of_run(report)).ok_or(TimelineError::NotRecorded)
}

/// The page of a shrunk run: titled by the scenario file `scenario` that
/// holds it (when there is one) and the seed it came from, with the command
/// that reproduces it in place of the seed's replay command (which would
/// replay the original, unshrunk run).
pub fn page_of_shrunk(
    world: &World,
    report: &RunReport,
    scenario: Option<&Path>,
) -> Result<Page, TimelineError> {
    let mut source = Source::of_run(report);
    let seed_replay = source.outcome.replay.take().unwrap_or_default();
    let reproduce = scenario.map(|path| format!("raftsim scenario {}", path.display()));
    source.title = match scenario {
        Some(path) => format!("{} (shrunk from {})", path.display(), source.title),
        None => format!("shrunk from {}", source.title),
    };
    let kept: Vec<&str> = source
        .outcome
        .text
        .lines()
        .filter(|line| line.trim() != format!("replay: {seed_replay}"))
        .collect();
    source.outcome.text = kept.join("\n");
    if let Some(command) = &reproduce {
        source
            .outcome
            .text
            .push_str(&format!("\n  reproduce: {command}"));
    }
    source.outcome.replay = reproduce;
    Page::build(world, source).ok_or(TimelineError::NotRecorded)
}

/// Writes `page` as HTML to `html` and as a Perfetto trace to `perfetto`,
/// those given.
pub fn write_page(
    page: &Page,
    html: Option<&Path>,
    perfetto: Option<&Path>,
) -> Result<(), TimelineError> {
    if let Some(path) = html {
        write(path, html::render(page))?;
    }
    if let Some(path) = perfetto {
        write(path, perfetto_json(page))?;
    }
    Ok(())
}

/// The Perfetto trace of `page`, as the file holds it.
pub fn perfetto_json(page: &Page) -> String {
    perfetto::trace(page)
}

fn write(path: &Path, contents: String) -> Result<(), TimelineError> {
    std::fs::write(path, contents).map_err(|error| TimelineError::Write {
        path: path.to_path_buf(),
        error,
    })
}
