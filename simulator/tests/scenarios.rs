//! Every file under `scenarios/` is a test of its own (named after the file), so a
//! new scenario needs no Rust; plus tests of the language itself: errors point
//! at file:line:col, `--update` rewrites expected output, the JSON form round
//! trips, and the CLI's exit codes.
//!
//! `RAFTSIM_UPDATE_SCENARIOS=1 cargo test --test scenarios` rewrites the
//! expected output of every file for review.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use simulator::scenario::{self, check_file, check_text, InputError, Scenario};

fn catalogue_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    dir.canonicalize().unwrap_or(dir)
}

fn update_requested() -> bool {
    std::env::var(scenario::UPDATE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn run_catalogue_file(path: &Path) -> Result<(), Failed> {
    match check_file(path, update_requested()) {
        Ok(checked) if checked.passed() => Ok(()),
        Ok(checked) => Err(checked.failures.join("\n\n").into()),
        Err(InputError(message)) => Err(message.into()),
    }
}

fn a_typo_is_reported_at_file_line_col() -> Result<(), Failed> {
    let text = "# a typo on line 3\ncluster 3\nrnu 500ms\n";
    match check_text("typo.scen", text, false) {
        Err(InputError(message)) if message.starts_with("typo.scen:3:1: unknown command `rnu`") => {
            Ok(())
        }
        other => Err(format!("expected typo.scen:3:1, got {other:?}").into()),
    }
    .and_then(|()| {
        let text = "cluster 3\ncrash n7\n";
        match check_text("node.scen", text, false) {
            Err(InputError(message)) if message.starts_with("node.scen:2:7: unknown node `n7`") => {
                Ok(())
            }
            other => Err(format!("expected node.scen:2:7, got {other:?}").into()),
        }
    })
}

fn update_rewrites_expected_output() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("raftsim-scenario-update-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("stale.scen");
    let stale =
        "cluster 3 ticks=manual\n\ncampaign n1\n----\nn1 leader term 7\n\nexpect no-violation\n";
    std::fs::write(&path, stale)?;
    let before = check_file(&path, false).map_err(|e| e.0)?;
    if before.passed() {
        return Err("a stale transcript must fail".into());
    }
    let updated = check_file(&path, true).map_err(|e| e.0)?;
    let text = std::fs::read_to_string(&path)?;
    let after = check_file(&path, false).map_err(|e| e.0)?;
    std::fs::remove_dir_all(&dir)?;
    if !updated.passed() || !after.passed() {
        return Err(format!("after --update the file must pass: {:?}", after.failures).into());
    }
    let expected =
        "cluster 3 ticks=manual\n\ncampaign n1\n----\nn1 candidate term 1\n\nexpect no-violation\n";
    if text != expected {
        return Err(format!("rewritten text:\n{text}").into());
    }
    Ok(())
}

fn json_form_round_trips(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let parsed = scenario::parse(&text).map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&parsed)?;
    let mut back: Scenario = serde_json::from_str(&json)?;
    back.steps.iter_mut().for_each(|s| s.source = None);
    let reparsed = scenario::parse(&back.to_string()).map_err(|e| e.to_string())?;
    let same =
        parsed.steps.len() == reparsed.steps.len()
            && parsed.steps.iter().zip(&reparsed.steps).all(|(a, b)| {
                a.command == b.command && a.output == b.output && a.leading == b.leading
            });
    if !same {
        return Err(format!(
            "{}: text -> JSON -> text changed the scenario",
            path.display()
        )
        .into());
    }
    Ok(())
}

fn cli_exit_codes() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("raftsim-scenario-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let typo = dir.join("typo.scen");
    std::fs::write(&typo, "cluster 3\nisolate n1\nheal n1\n")?;
    let failing = dir.join("failing.scen");
    std::fs::write(&failing, "cluster 3\nexpect leader n1\n")?;
    let exit = |path: &Path| -> Result<(i32, String), Failed> {
        let output = Command::new(env!("CARGO_BIN_EXE_raftsim"))
            .arg("scenario")
            .arg(path)
            .env_remove(scenario::UPDATE_ENV)
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        Ok((output.status.code().unwrap_or(-1), stdout))
    };
    let (typo_code, typo_out) = exit(&typo)?;
    let (failing_code, failing_out) = exit(&failing)?;
    std::fs::remove_dir_all(&dir)?;
    if typo_code != 2 || !typo_out.contains("typo.scen:3:6: unexpected argument `n1`") {
        return Err(format!("typo: exit {typo_code}, output:\n{typo_out}").into());
    }
    if failing_code != 1 || !failing_out.ends_with("0 passed, 1 failed\n") {
        return Err(format!("failing: exit {failing_code}, output:\n{failing_out}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut files = scenario::collect_files(&[catalogue_dir()]).expect("scenarios/ is readable");
    files.sort();
    let mut trials: Vec<Trial> = files
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map_or("?".into(), |s| s.to_string_lossy().to_string());
            let path = path.clone();
            Trial::test(format!("scenario::{name}"), move || {
                run_catalogue_file(&path)
            })
        })
        .collect();
    trials.push(Trial::test(
        "language::a_typo_is_reported_at_file_line_col",
        a_typo_is_reported_at_file_line_col,
    ));
    trials.push(Trial::test(
        "language::update_rewrites_expected_output",
        update_rewrites_expected_output,
    ));
    trials.push(Trial::test("language::cli_exit_codes", cli_exit_codes));
    trials.push(Trial::test(
        "language::json_form_round_trips_for_every_file",
        move || {
            files
                .iter()
                .try_for_each(|path| json_form_round_trips(path))
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
