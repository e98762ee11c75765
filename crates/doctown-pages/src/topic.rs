//! A topic's page: a cluster of code that reads alike, wherever it lives.

use std::collections::BTreeMap;

use doctown_docpack::{Cluster, Page, PageKind};

use crate::markdown::{PageWriter, prose};
use crate::site::{Site, count, join_words, summary_of};
use crate::{OVERVIEW, module_page_id, topic_page_id};

/// How many of its symbols a topic's page lists, most central first.
const LISTED: usize = 30;

/// The page of `cluster`; `None` when no symbol belongs to it (a cluster of text chunks).
pub(crate) fn page(site: &Site<'_>, cluster: &Cluster) -> Option<Page> {
    let nodes = site.repository.nodes;
    let members = site.topics.get(&cluster.cluster_id)?;
    let mut per_module: BTreeMap<usize, usize> = BTreeMap::new();
    for &node in members {
        if let Some(module) = site.module_of_path(&nodes[node].path) {
            *per_module.entry(module).or_default() += 1;
        }
    }
    let mut modules: Vec<(usize, usize)> = per_module.into_iter().collect();
    modules.sort_by_key(|&(module, n)| (std::cmp::Reverse(n), module));
    let mut page = PageWriter::default();
    let title = format!("Topic: {}", cluster.label);
    page.heading(1, &title);
    let links: Vec<String> = modules
        .iter()
        .take(8)
        .map(|&(module, n)| {
            format!(
                "{} ({n})",
                page.page(
                    &module_page_id(&site.modules[module].id),
                    &site.title(module)
                )
            )
        })
        .collect();
    let more = modules.len().saturating_sub(8);
    let mut line = format!(
        "{} whose code reads alike, in {}: {}",
        count(members.len(), "symbol"),
        count(modules.len(), "module"),
        join_words(&links)
    );
    if more > 0 {
        line.push_str(&format!(" and {more} more"));
    }
    line.push('.');
    page.paragraph(&line);
    page.heading(2, "Most central");
    let rows: Vec<Vec<String>> = members
        .iter()
        .take(LISTED)
        .map(|&node| {
            let symbol = page.symbol(&nodes[node]);
            vec![
                symbol,
                nodes[node].kind.to_string(),
                prose(&summary_of(&nodes[node])),
            ]
        })
        .collect();
    page.table(&["Symbol", "Kind", "Summary"], &rows);
    if members.len() > LISTED {
        page.paragraph(&format!(
            "… and {} more, on their modules' pages.",
            members.len() - LISTED
        ));
    }
    let (body, citations) = page.finish();
    let mut files: Vec<String> = members
        .iter()
        .map(|&node| nodes[node].path.clone())
        .collect();
    files.sort();
    files.dedup();
    Some(Page {
        body,
        citations,
        files,
        id: topic_page_id(cluster.cluster_id),
        kind: PageKind::Topic,
        parent: Some(OVERVIEW.to_owned()),
        symbols: members.iter().map(|&node| nodes[node].id).collect(),
        title,
    })
}
