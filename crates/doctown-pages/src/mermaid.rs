//! Diagrams as mermaid flowcharts, made from the graph: nodes with safe ids and quoted labels,
//! edges with optional weights, and a bound on their count so a diagram stays readable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The most nodes a diagram shows; what is cut is said under it.
pub const MAX_NODES: usize = 24;

/// The most edges a diagram shows (the heaviest are kept).
pub(crate) const MAX_EDGES: usize = 60;

/// A flowchart being built. Nodes are keyed by the caller's ids, which never reach the
/// mermaid source: each node gets an id of its own (`n0`, `n1`, …).
#[derive(Debug, Default)]
pub(crate) struct Flowchart {
    nodes: Vec<(String, String)>,
    index: BTreeMap<String, usize>,
    edges: BTreeMap<(usize, usize), u64>,
    highlighted: Vec<usize>,
}

impl Flowchart {
    /// Adds a node (or keeps the first label of one added before).
    pub(crate) fn node(&mut self, key: &str, label: &str) {
        if !self.index.contains_key(key) {
            self.index.insert(key.to_owned(), self.nodes.len());
            self.nodes.push((key.to_owned(), label.to_owned()));
        }
    }

    /// Marks a node to be drawn apart (the page's own module, an entry point).
    pub(crate) fn highlight(&mut self, key: &str) {
        if let Some(&index) = self.index.get(key) {
            self.highlighted.push(index);
        }
    }

    /// Adds `weight` to the edge `from → to`; an edge to a node not added, or to itself, is
    /// left out.
    pub(crate) fn edge(&mut self, from: &str, to: &str, weight: u64) {
        if let (Some(&from), Some(&to)) = (self.index.get(from), self.index.get(to))
            && from != to
        {
            *self.edges.entry((from, to)).or_default() += weight;
        }
    }

    /// How many nodes it has.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The mermaid source (`flowchart LR`), with weights on edges when `weighted`; the
    /// heaviest [`MAX_EDGES`] edges only, and a note of how many were left out.
    pub(crate) fn render(&self, weighted: bool) -> (String, usize) {
        let mut out = String::from("flowchart LR\n");
        for (index, (_, label)) in self.nodes.iter().enumerate() {
            let _ = writeln!(out, "  n{index}[\"{}\"]", label_text(label));
        }
        let mut edges: Vec<(&(usize, usize), &u64)> = self.edges.iter().collect();
        edges.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let cut = edges.len().saturating_sub(MAX_EDGES);
        edges.truncate(MAX_EDGES);
        edges.sort_by_key(|(pair, _)| **pair);
        for ((from, to), weight) in edges {
            if weighted && *weight > 1 {
                let _ = writeln!(out, "  n{from} -->|{weight}| n{to}");
            } else {
                let _ = writeln!(out, "  n{from} --> n{to}");
            }
        }
        if !self.highlighted.is_empty() {
            out.push_str("  classDef focus stroke-width:3px\n");
            let ids: Vec<String> = self.highlighted.iter().map(|i| format!("n{i}")).collect();
            let _ = writeln!(out, "  class {} focus", ids.join(","));
        }
        (out.trim_end().to_owned(), cut)
    }
}

/// A label as mermaid reads it inside `["…"]`: quotes, angle brackets and the characters that
/// start entities written as entities, on one line and at most 60 characters.
fn label_text(label: &str) -> String {
    let mut short: String = label.chars().take(60).collect();
    if label.chars().count() > 60 {
        short.push('…');
    }
    let mut out = String::with_capacity(short.len());
    for c in short.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_charts_own_and_labels_are_escaped() {
        let mut chart = Flowchart::default();
        chart.node("module:src/a b", "a<\"b\">");
        chart.node("module:c", "c");
        chart.edge("module:src/a b", "module:c", 2);
        chart.edge("module:c", "module:c", 1);
        chart.edge("module:c", "missing", 1);
        chart.highlight("module:c");
        let (source, cut) = chart.render(true);
        assert_eq!(
            source,
            "flowchart LR\n  n0[\"a#lt;#quot;b#quot;#gt;\"]\n  n1[\"c\"]\n  n0 -->|2| n1\n  classDef focus stroke-width:3px\n  class n1 focus"
        );
        assert_eq!(cut, 0);
    }
}
