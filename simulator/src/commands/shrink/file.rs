//! The shrunk run as a scenario file: its header says where it came from,
//! its `at` lines are the faults, its expectation the violation.

use super::Shrunk;
use crate::commands::scenario::ast::{Command, Expectation, Scenario, Step};
use crate::world::params::{Profile, RunOptions};

/// The shrunk run as a scenario (its expected output not yet filled in:
/// `scenario::check_text` with `update` does that).
pub fn scenario_of(shrunk: &Shrunk, command: &str) -> Scenario {
    let (before_faults, before_events) = shrunk.original;
    let (after_faults, after_events) = shrunk.reduced;
    let minimal = match shrunk.complete {
        true => "1-minimal: without any one of its faults the violation disappears.",
        false => "Stopped by the time limit: it fails, but may not be minimal.",
    };
    let mut header = vec![
        format!("# Shrunk by `{command}`."),
        format!(
            "# The original run: {before_faults} faults, {before_events} events. This one: {after_faults} faults, {after_events} events, the same violation ({}).",
            shrunk.invariant.name()
        ),
        format!("# {minimal}"),
    ];
    match shrunk.world.background {
        None => header
            .push("# Delays, timeouts and the clients' operations come from the seed; the".into()),
        Some(background) => header.extend([
            format!(
                "# Its parameters come from seed {}; delays, timeouts and the",
                shrunk.world.seed
            ),
            format!("# clients' operations from seed {background} (`background=`); the"),
        ]),
    }
    header.push("# nemesis is off: the faults are the `at` lines, each where it struck.".into());
    let step = |command: Command, leading: Vec<String>| Step {
        leading,
        command,
        comment: None,
        output: Vec::new(),
        line: 0,
        source: None,
    };
    let mut steps = vec![step(Command::World(shrunk.world.clone()), header)];
    steps.extend(
        shrunk
            .schedule
            .iter()
            .map(|s| step(Command::At(s.clone()), Vec::new())),
    );
    steps.push(step(Command::RunToEnd, vec![String::new()]));
    let expectation = Expectation::Violation {
        invariant: shrunk.invariant.name().to_string(),
    };
    steps.push(step(Command::Expect(expectation), Vec::new()));
    Scenario {
        steps,
        trailing: Vec::new(),
    }
}

/// The command line that shrinks `seed` under `options`, as a header says it.
pub fn shrink_command(seed: u64, options: &RunOptions) -> String {
    let mut command = format!("raftsim shrink --seed {seed}");
    if options.profile == Profile::Standard {
        command.push_str(" --profile standard");
    }
    for bug in options.bugs.iter() {
        command.push_str(&format!(" --bug {}", bug.name()));
    }
    for fault in &options.forced_faults {
        command.push_str(&format!(" --fault {}", fault.name()));
    }
    command
}

/// The shrunk run as the text of a scenario file named `name`, its expected
/// output filled in, checked to reproduce the violation.
pub fn scenario_text(shrunk: &Shrunk, command: &str, name: &str) -> anyhow::Result<String> {
    let draft = scenario_of(shrunk, command).to_string();
    let filled = crate::commands::scenario::check_text(name, &draft, true).map_err(|error| {
        anyhow::anyhow!("the shrunk scenario does not parse (a bug of raftsim): {error}")
    })?;
    let text = filled.rewritten.unwrap_or(draft);
    let checked = crate::commands::scenario::check_text(name, &text, false).map_err(|error| {
        anyhow::anyhow!("the shrunk scenario does not parse (a bug of raftsim): {error}")
    })?;
    if !checked.passed() {
        anyhow::bail!(
            "the shrunk scenario does not reproduce the violation (a bug of raftsim): {}",
            checked.failures.join("; ")
        );
    }
    Ok(text)
}
