//! Readers for third-party histories: Jepsen's etcd logs (a compare-and-set
//! register) and Porcupine's kv histories (EDN-like maps). Errors are values
//! that say `file:line:column: what was wrong`; no input makes them panic.
//!
//! Parsed histories have no clock: an event's "time" is its line number, so an
//! explanation points into the file.

use std::collections::BTreeMap;

use super::history::{
    History, KvOp, KvResult, OpId, Outcome, RegisterHistory, RegisterOp, RegisterResult,
};

/// At most this many events (invocations and completions) in one history:
/// the history numbers its events in 31 bits.
const EVENTS_MAX: usize = 1 << 30;

/// Text quoted in an error message is cut to this many characters.
const QUOTE_CHARS_MAX: usize = 60;

/// A history file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{}{message}", column.map_or(String::new(), |c| format!("{c}: ")))]
pub struct ParseError {
    /// The file, as given.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) where the problem starts, when one
    /// place can be named.
    pub column: Option<usize>,
    /// What was wrong.
    pub message: String,
}

/// What is wrong on a line, and where on it.
#[derive(Debug)]
struct Problem {
    column: Option<usize>,
    message: String,
}

impl From<String> for Problem {
    fn from(message: String) -> Problem {
        Problem {
            column: None,
            message,
        }
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Problem {
        Problem::from(message.to_owned())
    }
}

/// A problem at 1-based `column`.
fn at(column: usize, message: impl Into<String>) -> Problem {
    Problem {
        column: Some(column),
        message: message.into(),
    }
}

/// Text as it is quoted in messages: in double quotes, control characters
/// escaped, cut after [`QUOTE_CHARS_MAX`] characters.
fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(QUOTE_CHARS_MAX).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    format!("\"{}\"", shown.escape_debug())
}

/// The 1-based column of `part`, a slice of `line`.
fn column_of(line: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
    line.get(..offset)
        .map_or(1, |before| before.chars().count() + 1)
}

/// The lines of a history with their 1-based numbers, a byte-order mark at
/// the start dropped and blank lines skipped.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// Reads every line of `text` with `read_line`, turning a problem into a
/// located [`ParseError`].
fn read_lines<H>(
    text: &str,
    file: &str,
    history: &mut H,
    mut read_line: impl FnMut(&str, u64, &mut H) -> Result<(), Problem>,
    events: impl Fn(&H) -> usize,
) -> Result<(), ParseError> {
    for (number, line) in lines(text) {
        let located = |problem: Problem| ParseError {
            file: file.to_owned(),
            line: number,
            column: problem.column,
            message: problem.message,
        };
        if events(history) >= EVENTS_MAX {
            return Err(located(Problem::from(format!(
                "more than {EVENTS_MAX} events: a history this long is not checked"
            ))));
        }
        read_line(line, number as u64, history).map_err(located)?;
    }
    Ok(())
}

/// Pairs invocations with completions per process.
struct Pairing<I> {
    /// Open call of each process: (id, operation kind as written, line).
    open: BTreeMap<u64, (OpId, String, I)>,
}

impl<I> Pairing<I> {
    fn new() -> Self {
        Self {
            open: BTreeMap::new(),
        }
    }

    fn invoke(&mut self, process: u64, id: OpId, f: &str, input: I) -> Result<(), String> {
        if self.open.contains_key(&process) {
            return Err(format!(
                "process {process} invokes while its previous call is still open"
            ));
        }
        self.open.insert(process, (id, f.to_owned(), input));
        Ok(())
    }

    fn complete(&mut self, process: u64, f: &str) -> Result<(OpId, I), String> {
        let Some((id, invoked, input)) = self.open.remove(&process) else {
            return Err(format!(
                "process {process} completes a call it never invoked"
            ));
        };
        if invoked != f {
            return Err(format!(
                "process {process} invoked {invoked} but completes {f}"
            ));
        }
        Ok((id, input))
    }
}

/// Reads a Jepsen etcd log: lines `INFO  jepsen.util - <process> <type> <f> <value>`.
///
/// `:fail` means the call did not happen; `:info` means it may have happened
/// at any time after its invocation, or never.
pub fn parse_jepsen_etcd(text: &str, file: &str) -> Result<RegisterHistory, ParseError> {
    let mut history = RegisterHistory::new();
    let mut pairing = Pairing::new();
    read_lines(
        text,
        file,
        &mut history,
        |line, number, history| jepsen_line(line, number, history, &mut pairing),
        |history| history.events() as usize,
    )?;
    Ok(history)
}

fn jepsen_line(
    line: &str,
    line_number: u64,
    history: &mut RegisterHistory,
    pairing: &mut Pairing<RegisterOp>,
) -> Result<(), Problem> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 6 || tokens[..3] != ["INFO", "jepsen.util", "-"] {
        return Err(at(
            1,
            format!(
                "expected `INFO jepsen.util - <process> <type> <f> <value>`, got {}",
                quote(line.trim())
            ),
        ));
    }
    let column = |token: &str| column_of(line, token);
    let process: u64 = tokens[3].parse().map_err(|_| {
        at(
            column(tokens[3]),
            format!(
                "bad process id {}: expected an unsigned 64-bit integer",
                quote(tokens[3])
            ),
        )
    })?;
    let (kind, f) = (tokens[4], tokens[5]);
    let value_tokens = &tokens[6..];
    let value_column = value_tokens
        .first()
        .map_or(line.chars().count() + 1, |t| column(t));
    let value = jepsen_value(f, value_tokens).map_err(|(index, message)| {
        at(
            value_tokens.get(index).map_or(value_column, |t| column(t)),
            message,
        )
    })?;
    match kind {
        ":invoke" => {
            let input = jepsen_input(f, &value, column(f), value_column)?;
            let id = history.invoke(process, input, line_number);
            pairing
                .invoke(process, id, f, input)
                .map_err(|m| at(column(tokens[3]), m))
        }
        ":ok" | ":fail" | ":info" => {
            let (id, input) = pairing.complete(process, f).map_err(|m| at(column(f), m))?;
            let outcome = match kind {
                ":ok" => Outcome::Ok(jepsen_result(input, &value, value_column)?),
                ":fail" => Outcome::Fail,
                _ => Outcome::Unknown,
            };
            history.complete(id, outcome, line_number);
            Ok(())
        }
        _ => Err(at(
            column(kind),
            format!(
                "unknown event type {}: expected :invoke, :ok, :fail or :info",
                quote(kind)
            ),
        )),
    }
}

/// The operation `f` invoked with `value` (`f` and the value at the columns given).
fn jepsen_input(
    f: &str,
    value: &str,
    f_column: usize,
    value_column: usize,
) -> Result<RegisterOp, Problem> {
    let in_value = |message: String| at(value_column, message);
    match f {
        ":read" if value == "nil" => Ok(RegisterOp::Read),
        ":write" => Ok(RegisterOp::Write(integer(value).map_err(in_value)?)),
        ":cas" => {
            let (from, to) = pair(value).map_err(in_value)?;
            Ok(RegisterOp::Cas(from, to))
        }
        ":read" => Err(in_value(format!(
            "read invoked with value {}, expected nil",
            quote(value)
        ))),
        _ => Err(at(
            f_column,
            format!(
                "unknown operation {}: expected :read, :write or :cas",
                quote(f)
            ),
        )),
    }
}

/// What a call of `input` that ended `:ok` with `value` returned.
fn jepsen_result(
    input: RegisterOp,
    value: &str,
    value_column: usize,
) -> Result<RegisterResult, Problem> {
    Ok(match input {
        RegisterOp::Read if value == "nil" => RegisterResult::Value(None),
        RegisterOp::Read => {
            RegisterResult::Value(Some(integer(value).map_err(|m| at(value_column, m))?))
        }
        RegisterOp::Write(_) => RegisterResult::Done,
        RegisterOp::Cas(..) => RegisterResult::CasOk,
    })
}

/// The value of an operation from the tokens after its `f`: one token, or
/// `[A B]` over two. Jepsen may print more fields of the operation after it
/// as `:key value` pairs (Porcupine's larger etcd logs carry `:hint N`); they
/// say nothing about what the operation did, and are skipped. An error names
/// the index of the token it is about.
fn jepsen_value(f: &str, tokens: &[&str]) -> Result<String, (usize, String)> {
    let Some(first) = tokens.first() else {
        return Err((0, format!("truncated line: {f} has no value")));
    };
    let length = match first.starts_with('[') {
        true => {
            1 + tokens
                .iter()
                .position(|token| token.ends_with(']'))
                .ok_or_else(|| {
                    let message = format!(
                        "truncated line: {f} value {} is not closed with `]`",
                        quote(first)
                    );
                    (0, message)
                })?
        }
        false => 1,
    };
    let extra = &tokens[length..];
    let pairs_of_keys_and_values =
        extra.len().is_multiple_of(2) && extra.chunks(2).all(|pair| pair[0].starts_with(':'));
    if !pairs_of_keys_and_values {
        return Err((
            length,
            format!(
                "unexpected {} after the value (further fields come as `:key value`)",
                quote(&extra.join(" "))
            ),
        ));
    }
    Ok(tokens[..length].join(" "))
}

/// A 64-bit signed integer, with an error that tells a number too large
/// from text that is no number.
fn integer(text: &str) -> Result<i64, String> {
    text.parse().map_err(|_| {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            format!("the integer {} does not fit in 64 bits", quote(text))
        } else {
            format!("expected an integer, got {}", quote(text))
        }
    })
}

fn pair(text: &str) -> Result<(i64, i64), String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| format!("expected [A B], got {}", quote(text)))?;
    let mut parts = inner.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => Ok((integer(a)?, integer(b)?)),
        _ => Err(format!("expected [A B], got {}", quote(text))),
    }
}

/// Reads a Porcupine kv history: one EDN-like map a line,
/// `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`.
pub fn parse_porcupine_kv(text: &str, file: &str) -> Result<History, ParseError> {
    let mut history = History::new();
    let mut pairing = Pairing::new();
    read_lines(
        text,
        file,
        &mut history,
        |line, number, history| {
            let fields = edn_map(line)?;
            kv_event(&fields, number, history, &mut pairing)
        },
        |history| history.events() as usize,
    )?;
    Ok(history)
}

/// A value of an EDN-like map.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Edn {
    Keyword(String),
    Text(String),
    Integer(i64),
    Nil,
}

impl Edn {
    /// The value in words, for messages: `the string "N"`, `the keyword :ok`.
    fn describe(&self) -> String {
        match self {
            Edn::Keyword(keyword) => format!("the keyword :{keyword}"),
            Edn::Text(text) => format!("the string {}", quote(text)),
            Edn::Integer(number) => format!("the integer {number}"),
            Edn::Nil => "nil".to_owned(),
        }
    }
}

/// The fields of a map, each with the column where its value starts.
type Fields = BTreeMap<String, (Edn, usize)>;

/// The characters of a line with their 1-based columns.
type Cursor<'a> =
    std::iter::Peekable<std::iter::Zip<std::ops::RangeFrom<usize>, std::str::Chars<'a>>>;

/// Parses `{:k v, :k v}` (commas are whitespace, as in EDN).
fn edn_map(line: &str) -> Result<Fields, Problem> {
    let end_column = line.chars().count() + 1;
    let mut chars: Cursor<'_> = (1..).zip(line.chars()).peekable();
    let skip_space = |chars: &mut Cursor<'_>| {
        while chars
            .next_if(|(_, c)| c.is_whitespace() || *c == ',')
            .is_some()
        {}
    };
    skip_space(&mut chars);
    match chars.next() {
        Some((_, '{')) => {}
        Some((column, _)) => {
            return Err(at(
                column,
                format!("expected a map `{{...}}`, got {}", quote(line.trim())),
            ))
        }
        None => return Err(at(1, "expected a map `{...}`")),
    }
    let mut fields = Fields::new();
    loop {
        skip_space(&mut chars);
        match chars.peek() {
            None => {
                return Err(at(
                    end_column,
                    "truncated line: the map is not closed with `}`",
                ))
            }
            Some((_, '}')) => {
                chars.next();
                break;
            }
            Some(_) => {}
        }
        let (key, key_column) = match edn_value(&mut chars, end_column)? {
            (Edn::Keyword(key), column) => (key, column),
            (other, column) => {
                return Err(at(
                    column,
                    format!("expected a keyword as map key, got {}", other.describe()),
                ))
            }
        };
        skip_space(&mut chars);
        if matches!(chars.peek(), None | Some((_, '}'))) {
            let column = chars.peek().map_or(end_column, |(column, _)| *column);
            return Err(at(column, format!("truncated line: :{key} has no value")));
        }
        let (value, value_column) = edn_value(&mut chars, end_column)?;
        if fields.contains_key(&key) {
            return Err(at(key_column, format!("the key :{key} appears twice")));
        }
        fields.insert(key, (value, value_column));
    }
    skip_space(&mut chars);
    if let Some((column, rest)) = chars.next() {
        return Err(at(
            column,
            format!("unexpected {} after the map", quote(&rest.to_string())),
        ));
    }
    Ok(fields)
}

/// One value and the column where it starts.
fn edn_value(chars: &mut Cursor<'_>, end_column: usize) -> Result<(Edn, usize), Problem> {
    let Some(&(start, first)) = chars.peek() else {
        return Err(at(end_column, "truncated line"));
    };
    if first == '"' {
        chars.next();
        return Ok((Edn::Text(edn_string(chars, start)?), start));
    }
    let is_end = |c: &char| c.is_whitespace() || matches!(c, ',' | '}' | '{' | '"');
    let mut token = String::new();
    while let Some((_, c)) = chars.next_if(|(_, c)| !is_end(c)) {
        token.push(c);
    }
    if token.is_empty() {
        return Err(at(
            start,
            format!("expected a value, got {}", quote(&first.to_string())),
        ));
    }
    if let Some(keyword) = token.strip_prefix(':').filter(|k| !k.is_empty()) {
        return Ok((Edn::Keyword(keyword.to_owned()), start));
    }
    if token == "nil" {
        return Ok((Edn::Nil, start));
    }
    let looks_numeric = token.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    match integer(&token) {
        Ok(number) => Ok((Edn::Integer(number), start)),
        Err(message) if looks_numeric => Err(at(start, message)),
        Err(_) => Err(at(
            start,
            format!(
                "bad token {}: expected a keyword, a string, an integer or nil",
                quote(&token)
            ),
        )),
    }
}

/// The rest of a string whose opening quote is at column `start`.
fn edn_string(chars: &mut Cursor<'_>, start: usize) -> Result<String, Problem> {
    let unterminated = || at(start, "truncated line: unterminated string");
    let mut text = String::new();
    loop {
        match chars.next() {
            None => return Err(unterminated()),
            Some((_, '"')) => return Ok(text),
            Some((column, '\\')) => match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, c @ ('"' | '\\'))) => text.push(c),
                Some((_, c)) => {
                    let escape = format!("\\{c}");
                    return Err(at(
                        column,
                        format!("unknown escape {} in string", quote(&escape)),
                    ));
                }
                None => return Err(unterminated()),
            },
            Some((_, c)) => text.push(c),
        }
    }
}

fn field<'a>(fields: &'a Fields, name: &str) -> Result<(&'a Edn, usize), Problem> {
    fields
        .get(name)
        .map(|(value, column)| (value, *column))
        .ok_or_else(|| Problem::from(format!("missing :{name}")))
}

fn keyword_field<'a>(fields: &'a Fields, name: &str) -> Result<(&'a str, usize), Problem> {
    match field(fields, name)? {
        (Edn::Keyword(keyword), column) => Ok((keyword, column)),
        (other, column) => Err(at(
            column,
            format!(":{name} must be a keyword, got {}", other.describe()),
        )),
    }
}

fn text_field(fields: &Fields, name: &str) -> Result<(Option<String>, usize), Problem> {
    match field(fields, name)? {
        (Edn::Text(text), column) => Ok((Some(text.clone()), column)),
        (Edn::Nil, column) => Ok((None, column)),
        (other, column) => Err(at(
            column,
            format!(":{name} must be a string or nil, got {}", other.describe()),
        )),
    }
}

/// The process of a kv event, and the column of its value.
fn kv_process(fields: &Fields) -> Result<(u64, usize), Problem> {
    match field(fields, "process")? {
        (Edn::Integer(process), column) => {
            let process = u64::try_from(*process)
                .map_err(|_| at(column, format!("bad process id {process}: it is negative")))?;
            Ok((process, column))
        }
        (other, column) => Err(at(
            column,
            format!(":process must be an integer, got {}", other.describe()),
        )),
    }
}

/// The operation `f` invoked on `key` with `value` (at `value_column`).
fn kv_input(
    f: &str,
    f_column: usize,
    key: String,
    value: Option<String>,
    value_column: usize,
) -> Result<KvOp, Problem> {
    let value = || {
        value
            .clone()
            .ok_or_else(|| at(value_column, format!(":{f} without a value")))
    };
    match f {
        "get" => Ok(KvOp::Get { key }),
        "put" => Ok(KvOp::Put {
            key,
            value: value()?,
        }),
        "append" => Ok(KvOp::Append {
            key,
            value: value()?,
        }),
        _ => Err(at(
            f_column,
            format!("unknown operation :{f}: expected :get, :put or :append"),
        )),
    }
}

fn kv_event(
    fields: &Fields,
    line_number: u64,
    history: &mut History,
    pairing: &mut Pairing<KvOp>,
) -> Result<(), Problem> {
    let (process, process_column) = kv_process(fields)?;
    let (kind, kind_column) = keyword_field(fields, "type")?;
    let (f, f_column) = keyword_field(fields, "f")?;
    let (key, key_column) = text_field(fields, "key")?;
    let key = key.ok_or_else(|| at(key_column, ":key must be a string, got nil"))?;
    let (value, value_column) = text_field(fields, "value")?;
    match kind {
        "invoke" => {
            let input = kv_input(f, f_column, key, value, value_column)?;
            let id = history.invoke(process, input.clone(), line_number);
            pairing
                .invoke(process, id, f, input)
                .map_err(|m| at(process_column, m))
        }
        "ok" | "fail" | "info" => {
            let (id, input) = pairing.complete(process, f).map_err(|m| at(f_column, m))?;
            if input.key() != key {
                return Err(at(
                    key_column,
                    format!(
                        "completes key {} but invoked key {}",
                        quote(&key),
                        quote(input.key())
                    ),
                ));
            }
            let outcome = match kind {
                "ok" => Outcome::Ok(match input {
                    KvOp::Get { .. } => KvResult::Value(value),
                    _ => KvResult::Done,
                }),
                "fail" => Outcome::Fail,
                _ => Outcome::Unknown,
            };
            history.complete(id, outcome, line_number);
            Ok(())
        }
        _ => Err(at(
            kind_column,
            format!("unknown event type :{kind}: expected :invoke, :ok, :fail or :info"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jepsen_log_pairs_calls_per_process() {
        let text = "INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 2   :invoke :cas    [1 2]\n\
                    INFO  jepsen.util - 4\t:ok\t:read\t3\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n";
        let history = parse_jepsen_etcd(text, "t.log").unwrap();
        let ops = history.operations();
        assert_eq!(ops.len(), 2);
        assert_eq!(
            ops[0].outcome,
            Some(Outcome::Ok(RegisterResult::Value(Some(3))))
        );
        assert_eq!(ops[1].input, RegisterOp::Cas(1, 2));
        assert_eq!(ops[1].outcome, Some(Outcome::Unknown));
        assert_eq!((ops[1].invoke_us, ops[1].complete_us), (2, Some(4)));
    }

    #[test]
    fn jepsen_fields_after_the_value_are_skipped_when_they_are_key_value_pairs() {
        let text = "INFO  jepsen.util - 6 \t:invoke :write \t38 \t:hint 0\n\
                    INFO  jepsen.util - 4 \t:invoke :cas \t[38 7] \t:hint 0\n\
                    INFO  jepsen.util - 6 \t:ok :write \t38 \t:hint 2\n\
                    INFO  jepsen.util - 4 \t:ok :cas \t[38 7] \t:hint 3\n";
        let history = parse_jepsen_etcd(text, "etcd.log").expect("hints are skipped");
        let inputs: Vec<RegisterOp> = history.operations().iter().map(|op| op.input).collect();
        assert_eq!(inputs, [RegisterOp::Write(38), RegisterOp::Cas(38, 7)]);
        let error =
            parse_jepsen_etcd("INFO  jepsen.util - 6\t:invoke\t:write\t38 39", "f").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f:1:41: unexpected \"39\" after the value (further fields come as `:key value`)"
        );
    }

    #[test]
    fn jepsen_truncated_line_is_an_error_with_file_and_line() {
        let text = "INFO  jepsen.util - 1\t:invoke\t:write\t3\nINFO  jepsen.util - 1\t:ok\t:wri";
        let error = parse_jepsen_etcd(text, "etcd.log").unwrap_err();
        assert_eq!(
            error.to_string(),
            "etcd.log:2:31: truncated line: :wri has no value"
        );
        let error = parse_jepsen_etcd("INFO  jepsen.util - 1\t:invoke\t:cas\t[1", "f").unwrap_err();
        assert!(error.message.contains("not closed with `]`"), "{error}");
        let error =
            parse_jepsen_etcd("INFO  jepsen.util - 1\t:invoke\t:cas\t[1]", "f").unwrap_err();
        assert_eq!(error.to_string(), "f:1:36: expected [A B], got \"[1]\"");
        let error = parse_jepsen_etcd("INFO  jepsen.util - 1\t:ok\t:read\t1", "f").unwrap_err();
        assert!(error.message.contains("never invoked"), "{error}");
    }

    #[test]
    fn jepsen_numbers_too_large_and_unknown_names_are_said_so() {
        let error = parse_jepsen_etcd(
            "INFO  jepsen.util - 1\t:invoke\t:write\t99999999999999999999",
            "f",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "f:1:38: the integer \"99999999999999999999\" does not fit in 64 bits"
        );
        let error = parse_jepsen_etcd("INFO  jepsen.util - 1\t:invoke\t:swap\t3", "f").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f:1:31: unknown operation \":swap\": expected :read, :write or :cas"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let jepsen = "\u{feff}INFO  jepsen.util - 4\t:invoke\t:read\tnil\n";
        assert_eq!(parse_jepsen_etcd(jepsen, "f").unwrap().len(), 1);
        let kv = "\u{feff}{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n";
        assert_eq!(parse_porcupine_kv(kv, "f").unwrap().len(), 1);
    }

    #[test]
    fn porcupine_kv_reads_maps_and_strings() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :invoke, :f :get, :key \"4\", :value nil}\n\
                    {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
                    {:process 1, :type :ok, :f :get, :key \"4\", :value \"x 0 1 y\"}\n";
        let history = parse_porcupine_kv(text, "kv.txt").unwrap();
        let ops = history.operations();
        assert_eq!(
            ops[0].input,
            KvOp::Append {
                key: "4".into(),
                value: "x 0 1 y".into()
            }
        );
        assert_eq!(
            ops[1].outcome,
            Some(Outcome::Ok(KvResult::Value(Some("x 0 1 y".into()))))
        );
    }

    #[test]
    fn porcupine_kv_truncated_lines_are_errors_not_panics() {
        let full = "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}";
        for cut in 0..full.len() {
            let text = format!("{full}\n{}", &full[..cut]);
            match parse_porcupine_kv(&text, "kv.txt") {
                Ok(history) => assert!(cut == 0, "cut at {cut} parsed as {history:?}"),
                Err(error) => assert_eq!(error.line, 2, "cut at {cut}: {error}"),
            }
        }
        let error = parse_porcupine_kv("{:process 0, :type :invoke, :f :get, :key \"4", "kv.txt")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "kv.txt:1:43: truncated line: unterminated string"
        );
    }

    #[test]
    fn porcupine_kv_values_of_the_wrong_kind_are_named_in_words() {
        let error = parse_porcupine_kv(
            "{:process 0, :type :invoke, :f :get, :key \"k\", :value \"N\", :type \"N\"}",
            "kv.txt",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "kv.txt:1:60: the key :type appears twice"
        );
        let error = parse_porcupine_kv(
            "{:process 0, :type \"N\", :f :get, :key \"k\", :value nil}",
            "kv.txt",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "kv.txt:1:20: :type must be a keyword, got the string \"N\""
        );
        let error = parse_porcupine_kv("{:process 99999999999999999999, :type :invoke}", "kv.txt")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "kv.txt:1:11: the integer \"99999999999999999999\" does not fit in 64 bits"
        );
    }
}
