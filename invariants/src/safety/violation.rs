//! The report of a safety property that broke.

use std::fmt;

use super::{Index, Invariant, NodeId, Term};

/// What broke: the invariant, the nodes involved, where in the log and in
/// which term, and what was expected against what was seen. The simulator adds
/// the step number, the virtual time and the command that replays the run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// The property that broke.
    pub invariant: Invariant,
    /// The nodes involved, the node of the observation that broke it last.
    pub nodes: Vec<NodeId>,
    /// The log index concerned, if one is.
    pub index: Option<Index>,
    /// The term concerned, if one is.
    pub term: Option<Term>,
    /// What should have been the case, in words.
    pub expected: String,
    /// What was observed instead, in words.
    pub seen: String,
}

impl fmt::Display for Violation {
    /// One line, e.g. `election-safety: nodes 1 and 3, term 4; expected one
    /// leader of term 4 (node 1), seen node 3 also leader of term 4`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.invariant)?;
        match self.nodes.as_slice() {
            [] => {}
            [node] => write!(formatter, ": node {node}")?,
            nodes => write!(formatter, ": nodes {}", list_nodes(nodes))?,
        }
        if let Some(index) = self.index {
            write!(formatter, ", index {index}")?;
        }
        if let Some(term) = self.term {
            write!(formatter, ", term {term}")?;
        }
        write!(
            formatter,
            "; expected {}, seen {}",
            self.expected, self.seen
        )
    }
}

impl std::error::Error for Violation {}

/// Node ids as a person lists them: `1`, `1 and 3`, `1, 2 and 3`.
pub(crate) fn list_nodes(nodes: &[NodeId]) -> String {
    match nodes {
        [] => String::new(),
        [only] => only.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(NodeId::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_naming_everything() {
        let violation = Violation {
            invariant: Invariant::ElectionSafety,
            nodes: vec![1, 3],
            index: None,
            term: Some(4),
            expected: "one leader of term 4 (node 1)".to_owned(),
            seen: "node 3 also leader of term 4".to_owned(),
        };
        assert_eq!(
            violation.to_string(),
            "election-safety: nodes 1 and 3, term 4; expected one leader of term 4 (node 1), \
             seen node 3 also leader of term 4"
        );
    }

    #[test]
    fn nodes_are_listed_in_words() {
        assert_eq!(list_nodes(&[]), "");
        assert_eq!(list_nodes(&[2]), "2");
        assert_eq!(list_nodes(&[3, 2]), "3 and 2");
        assert_eq!(list_nodes(&[1, 2, 3]), "1, 2 and 3");
    }
}
