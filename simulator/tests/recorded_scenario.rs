//! The recorded-run kind of scenario file (`world seed=N`, `at TIME ...`,
//! `run-to-end`): what `raftsim shrink` writes and a person edits. Its
//! mistakes are reported with file, line and column.

use simulator::commands::scenario::check_text;

/// The error `text` gives, as the CLI prints it.
fn error_of(text: &str) -> String {
    match check_text("r.scen", text, false) {
        Err(error) => error.to_string(),
        Ok(checked) => panic!("parsed, failures {:?}:\n{text}", checked.failures),
    }
}

/// Asserts that each `(line, "1:COL:", expected)` of `cases`, the second
/// line of a recorded run, is refused at that column with that message.
fn assert_errors_at(cases: &[(&str, &str, &str)]) {
    for (line, at, expected) in cases {
        let text = format!("world seed=1\n{line}\nrun-to-end\nexpect no-violation\n");
        let error = error_of(&text);
        let at = format!("r.scen:2:{}", &at[2..]);
        assert!(error.contains(&at), "{line}: {error} (wanted {at})");
        assert!(error.contains(expected), "{line}: {error}");
    }
}

#[test]
fn message_faults_name_their_link_subject_and_place() {
    let cases = [
        (
            "at 1s drop n1n2 app term=1 index=0 nth=0",
            "1:12:",
            "expected a link such as `n1->n2`",
        ),
        (
            "at 1s drop n1->n2 append term=1 index=0 nth=0",
            "1:19:",
            "expected one of vote, vote-resp, app",
        ),
        ("at 1s drop n1->n2 app term=1 index=0", "1:", "nth=N"),
        (
            "at 1s drop n1->n2 app term=x index=0 nth=0",
            "1:23:",
            "expected term=N, found `term=x`",
        ),
        (
            "at 1s drop cx->n2 request op=1 attempt=0 nth=0",
            "1:12:",
            "expected a client such as `c0`",
        ),
        (
            "at 1s drop c0->n2 request op=1 attempt=99999999999 nth=0",
            "1:",
            "attempt is too large",
        ),
    ];
    assert_errors_at(&cases);
}

#[test]
fn a_fault_whose_message_never_comes_does_nothing() {
    // Seed 1 passes with no faults; a drop of a message that is never sent
    // (a term the run never reaches) changes nothing.
    let plain = "world seed=1\nrun-to-end\nexpect no-violation\n";
    let with_drop = "world seed=1\nat 0.5s drop n1->n2 app term=999 index=0 nth=0\nrun-to-end\nexpect no-violation\n";
    for text in [plain, with_drop] {
        let filled = check_text("r.scen", text, true).expect("parses");
        let text = filled.rewritten.expect("the output filled in");
        let checked = check_text("r.scen", &text, false).expect("parses");
        assert!(checked.passed(), "{:?}\n{text}", checked.failures);
    }
    let hash = |text: &str| {
        let filled = check_text("r.scen", text, true).expect("parses");
        let text = filled.rewritten.expect("filled");
        text.lines()
            .find(|l| l.contains("trace hash"))
            .map(str::to_string)
            .expect("a trace hash line")
    };
    assert_eq!(hash(plain), hash(with_drop));
}

#[test]
fn the_faults_of_this_issue_read_back_as_written() {
    use simulator::commands::scenario::parse;
    let faults = [
        "at 1s pause n2",
        "at 1.2s resume n2",
        "at 1.5s clog n1->n3 delay=0.2s",
        "at 2s unclog n1->n3",
        "at 2.5s skew n3 ppt=-300",
        "at 3s unskew n3",
        "at 3.5s transfer n1 n2",
    ];
    let text = format!("world seed=1 nodes=3\n{}\nrun-to-end\n", faults.join("\n"));
    let scenario = parse(&text).expect("parses");
    let written: Vec<String> = scenario.steps[1..=faults.len()]
        .iter()
        .map(|step| step.command.to_string())
        .collect();
    assert_eq!(written, faults);
    let cases = [
        (
            "at 1s clog n1->n3 200ms",
            "1:19:",
            "expected delay=DURATION",
        ),
        (
            "at 1s clog n1->n3 delay=fast",
            "1:25:",
            "expected a duration",
        ),
        ("at 1s skew n3 ppt=-1000", "1:15:", "-999 to 10000"),
        ("at 1s transfer n1", "1:", "node"),
        ("at 1s frobnicate n1", "1:7:", "transfer"),
    ];
    assert_errors_at(&cases);
}
