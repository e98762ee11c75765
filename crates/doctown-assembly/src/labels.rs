//! Readable cluster labels: one to three words per cluster, by TF-IDF over the identifier tokens
//! and path segments of its chunks, distinct across clusters.

use std::collections::{BTreeMap, HashSet};

/// What a chunk says about its subject: the names it defines and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSource {
    /// Names of the symbols in the chunk (`parse_config`, `HttpServer`).
    pub identifiers: Vec<String>,
    /// The chunk's file, relative to the repository root.
    pub path: String,
}

/// Words that say nothing about a cluster: language keywords, stop words, generic names.
const STOP: &[&str] = &[
    "a",
    "an",
    "and",
    "as",
    "async",
    "await",
    "by",
    "class",
    "const",
    "def",
    "default",
    "do",
    "else",
    "enum",
    "export",
    "fn",
    "for",
    "from",
    "func",
    "function",
    "get",
    "go",
    "if",
    "impl",
    "import",
    "in",
    "index",
    "init",
    "interface",
    "is",
    "it",
    "let",
    "lib",
    "main",
    "mod",
    "module",
    "new",
    "nil",
    "none",
    "not",
    "null",
    "of",
    "on",
    "or",
    "package",
    "pub",
    "py",
    "rs",
    "return",
    "self",
    "set",
    "src",
    "static",
    "struct",
    "test",
    "tests",
    "the",
    "this",
    "to",
    "trait",
    "ts",
    "tsx",
    "js",
    "jsx",
    "type",
    "var",
    "with",
    "x",
    "y",
    "i",
    "j",
    "n",
    "s",
    "t",
    "v",
    "err",
];

/// The lowercase word tokens of an identifier or path: `parseHTTPConfig` → parse, http,
/// config; `read_file-v2` → read, file, v2. Stop words and one-letter tokens are dropped.
pub fn tokens(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in text.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (previous, current) = (chars[i - 1], chars[i]);
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            let boundary = (previous.is_lowercase() && current.is_uppercase())
                || (previous.is_uppercase() && current.is_uppercase() && next_lower)
                || (previous.is_alphabetic() != current.is_alphabetic());
            if boundary {
                words.push(chars[start..i].iter().collect::<String>());
                start = i;
            }
        }
        if start < chars.len() {
            words.push(chars[start..].iter().collect::<String>());
        }
    }
    words
        .into_iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() > 1 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

/// How much a path token counts against an identifier token: every chunk of a file shares its
/// path, so path words would otherwise drown what the chunks define.
const PATH_WEIGHT: f64 = 0.5;

/// The tokens a chunk contributes, each once, with its weight: its identifiers' (1) and its
/// path's without the extension ([`PATH_WEIGHT`]).
fn chunk_tokens(source: &LabelSource) -> BTreeMap<String, f64> {
    let path = source
        .path
        .rsplit_once('.')
        .map_or(source.path.as_str(), |(stem, _)| stem);
    let mut weights = BTreeMap::new();
    for token in tokens(path) {
        weights.insert(token, PATH_WEIGHT);
    }
    for token in source.identifiers.iter().flat_map(|i| tokens(i)) {
        weights.insert(token, 1.0);
    }
    weights
}

/// A label for each cluster (`clusters[c]` holds the sources of cluster c's chunks): its
/// highest-scoring tokens, up to `max_words`, made distinct from earlier clusters' labels;
/// `cluster <c>` when a cluster has no usable token. A token scores by class-based TF-IDF: how
/// many of the cluster's chunks carry it, times log(1 + A / f), where f is how often it occurs
/// over all clusters and A the average weight of a cluster, so words common everywhere (a
/// top-level folder's name) lose to the words that set a cluster apart.
pub fn label_clusters(clusters: &[Vec<LabelSource>], max_words: usize) -> Vec<String> {
    let weights: Vec<BTreeMap<String, f64>> = clusters
        .iter()
        .map(|sources| {
            let mut weights = BTreeMap::new();
            for (token, weight) in sources.iter().flat_map(chunk_tokens) {
                *weights.entry(token).or_insert(0.0) += weight;
            }
            weights
        })
        .collect();
    let mut frequency: BTreeMap<&str, f64> = BTreeMap::new();
    for weights in &weights {
        for (token, weight) in weights {
            *frequency.entry(token).or_insert(0.0) += weight;
        }
    }
    let average = frequency.values().sum::<f64>() / clusters.len().max(1) as f64;
    let mut used = HashSet::new();
    weights
        .iter()
        .enumerate()
        .map(|(index, weights)| {
            let mut ranked: Vec<(&String, f64)> = weights
                .iter()
                .map(|(token, &weight)| {
                    (
                        token,
                        weight * (1.0 + average / frequency[token.as_str()]).ln(),
                    )
                })
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let words: Vec<&str> = ranked.iter().map(|(t, _)| t.as_str()).collect();
            let mut length = max_words.clamp(1, 3).min(words.len());
            let mut label = words[..length].join(" ");
            // Distinct across clusters: add words while it collides, else number it.
            while used.contains(&label) && length < words.len() {
                length += 1;
                label = words[..length].join(" ");
            }
            if label.is_empty() || used.contains(&label) {
                label = format!("cluster {index}");
            }
            used.insert(label.clone());
            label
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(identifiers: &[&str], path: &str) -> LabelSource {
        LabelSource {
            identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
            path: path.to_owned(),
        }
    }

    #[test]
    fn identifiers_split_on_case_and_separators() {
        assert_eq!(tokens("parseHTTPConfig"), ["parse", "http", "config"]);
        assert_eq!(tokens("read_file-v2"), ["read", "file"]);
        assert_eq!(tokens("src/net/http/server.go"), ["net", "http", "server"]);
        assert_eq!(tokens("self.__init__"), Vec::<String>::new());
    }

    #[test]
    fn labels_name_what_sets_a_cluster_apart_and_differ() {
        let clusters = vec![
            vec![
                source(&["parse_config", "ConfigError"], "src/config/parse.rs"),
                source(&["load_config"], "src/config/load.rs"),
            ],
            vec![
                source(&["HttpServer", "serve_request"], "src/http/server.rs"),
                source(&["route_request"], "src/http/router.rs"),
            ],
            vec![source(&["HttpServer"], "src/http/server.rs")],
            vec![source(&["__init__"], "x.py")],
        ];
        let labels = label_clusters(&clusters, 2);
        assert!(labels[0].starts_with("config "), "{labels:?}");
        assert!(
            labels[1].contains("request") || labels[1].contains("http"),
            "{labels:?}"
        );
        let distinct: HashSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), labels.len(), "{labels:?}");
        assert_eq!(labels[3], "cluster 3");
    }
}
