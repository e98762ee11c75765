//! The overview: what the repository is, its languages and size, its layout, where execution
//! starts, its most used API, how its modules depend on each other, and its topics.

use std::collections::{BTreeMap, HashSet, VecDeque};

use doctown_common::{EntryKind, LineRange, Visibility};
use doctown_docpack::{Page, PageKind};

use crate::markdown::{PageWriter, code, prose};
use crate::mermaid::{Flowchart, MAX_NODES};
use crate::prose::write_prose;
use crate::site::{Site, count, summary_of};
use crate::text::{is_readme, readme_paragraph};
use crate::{OVERVIEW, module_page_id, topic_page_id};

/// How many entry points of each kind the overview lists (module pages list them all).
const ENTRY_POINTS_LISTED: usize = 30;

/// How many modules the layout lists (the rest are a click away, in their parents' pages).
const LAYOUT_LISTED: usize = 100;

/// How many symbols the API at a glance lists.
const API_LISTED: usize = 12;

/// How deep, and how wide, the call path from an entry point is drawn.
const CALL_PATH_DEPTH: usize = 4;
const CALL_PATH_NODES: usize = 16;

pub(crate) fn page(site: &Site<'_>) -> Page {
    let repository = site.repository;
    let mut page = PageWriter::default();
    page.heading(1, repository.name);
    introduction(site, &mut page);
    write_prose(site, OVERVIEW, &mut page);
    at_a_glance(site, &mut page);
    layout(site, &mut page);
    entry_points(site, &mut page);
    api(site, &mut page);
    dependency_diagram(site, &mut page);
    call_path(site, &mut page);
    topics(site, &mut page);
    let (body, citations) = page.finish();
    Page {
        body,
        citations,
        files: repository
            .readmes
            .keys()
            .filter(|path| !path.contains('/'))
            .cloned()
            .collect(),
        id: OVERVIEW.to_owned(),
        kind: PageKind::Overview,
        parent: None,
        symbols: Vec::new(),
        title: repository.name.to_owned(),
    }
}

/// The README's opening paragraph, or the root module's own doc.
fn introduction(site: &Site<'_>, page: &mut PageWriter) {
    let readme = site
        .repository
        .readmes
        .iter()
        .find(|(path, _)| !path.contains('/') && is_readme(path));
    if let Some((path, text)) = readme
        && let Some((paragraph, lines)) = readme_paragraph(text)
    {
        let cited = page.source(path, lines);
        page.paragraph(&format!("{} ({cited})", prose(&paragraph)));
        return;
    }
    let roots = site.roots();
    if let [root] = roots.as_slice() {
        let line = site.one_line(*root, page);
        page.paragraph(&line);
    } else {
        page.paragraph(
            "The repository has no README at its root; this overview is made from its code.",
        );
    }
}

/// Languages, files, symbols and modules.
fn at_a_glance(site: &Site<'_>, page: &mut PageWriter) {
    let repository = site.repository;
    let mut per_language: BTreeMap<&str, (usize, u64, usize)> = BTreeMap::new();
    for file in repository.source_map {
        if let Some(language) = file.language {
            let entry = per_language.entry(language.display_name()).or_default();
            entry.0 += 1;
            entry.1 += file.bytes;
        }
    }
    for node in repository.nodes {
        per_language
            .entry(node.language.display_name())
            .or_default()
            .2 += 1;
    }
    let bytes: u64 = repository.source_map.iter().map(|file| file.bytes).sum();
    page.heading(2, "At a glance");
    page.paragraph(&format!(
        "{}, {} of code and text, {} in {}.",
        count(repository.source_map.len(), "file"),
        human_bytes(bytes),
        count(repository.nodes.len(), "symbol"),
        count(site.modules.len(), "module"),
    ));
    let mut rows: Vec<(&str, (usize, u64, usize))> = per_language.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(language, (files, bytes, symbols))| {
            vec![
                language.to_owned(),
                files.to_string(),
                human_bytes(bytes),
                symbols.to_string(),
            ]
        })
        .collect();
    page.table(&["Language", "Files", "Size", "Symbols"], &rows);
}

/// The modules a reader meets first: the top of the tree, or, when one module holds
/// everything, the modules inside it.
pub(crate) fn layout_modules(site: &Site<'_>) -> Vec<usize> {
    let mut shown = site.roots();
    while let [only] = shown.as_slice() {
        let inside = &site.children[*only];
        if inside.is_empty() {
            break;
        }
        let mut next = vec![*only];
        next.extend(inside);
        if site.modules[*only].files.is_empty() {
            next.remove(0);
        }
        if next.len() == 1 {
            shown = next;
            continue;
        }
        shown = next;
        break;
    }
    shown
}

fn layout(site: &Site<'_>, page: &mut PageWriter) {
    let shown = layout_modules(site);
    if shown.is_empty() {
        return;
    }
    page.heading(2, "Layout");
    for &module in shown.iter().take(LAYOUT_LISTED) {
        let link = page.page(
            &module_page_id(&site.modules[module].id),
            &site.title(module),
        );
        let description = site.one_line(module, page);
        page.line(&format!(
            "- {link} ({}): {description}",
            site.modules[module].kind.word()
        ));
    }
    if shown.len() > LAYOUT_LISTED {
        page.line(&format!(
            "- … and {} more, each a page of its own.",
            shown.len() - LAYOUT_LISTED
        ));
    }
    page.line("");
}

/// Where execution starts, by kind.
fn entry_points(site: &Site<'_>, page: &mut PageWriter) {
    if site.entry_points.is_empty() {
        return;
    }
    page.heading(2, "Where execution starts");
    let nodes = site.repository.nodes;
    for kind in EntryKind::ALL {
        let found: Vec<_> = site
            .entry_points
            .iter()
            .filter(|(_, entry)| entry.kind == kind)
            .collect();
        if found.is_empty() {
            continue;
        }
        let heading = match kind {
            EntryKind::Main => "Programs",
            EntryKind::Command => "Command-line interfaces",
            EntryKind::Route => "HTTP routes",
        };
        page.heading(3, heading);
        let rows: Vec<Vec<String>> = found
            .iter()
            .take(ENTRY_POINTS_LISTED)
            .map(|(file, entry)| {
                let at = page.source(&file.path, LineRange::clamped(entry.line, entry.line));
                let name = match entry.symbol.and_then(|id| site.node_of.get(&id)) {
                    Some(&node) => page.symbol_named(&nodes[node], &entry.name),
                    None => code(&entry.name),
                };
                let module = site
                    .module_of_path(&file.path)
                    .map(|module| {
                        page.page(
                            &module_page_id(&site.modules[module].id),
                            &site.title(module),
                        )
                    })
                    .unwrap_or_default();
                let mut row = vec![name, module, at];
                if kind == EntryKind::Route {
                    row.push(entry.handler.as_deref().map(code).unwrap_or_default());
                }
                row
            })
            .collect();
        let header: &[&str] = if kind == EntryKind::Route {
            &["Route", "Module", "Where", "Handler"]
        } else {
            &["Name", "Module", "Where"]
        };
        page.table(header, &rows);
        if found.len() > ENTRY_POINTS_LISTED {
            page.paragraph(&format!(
                "… and {} more, listed on their modules' pages.",
                found.len() - ENTRY_POINTS_LISTED
            ));
        }
    }
}

/// The most central public symbols.
fn api(site: &Site<'_>, page: &mut PageWriter) {
    let nodes = site.repository.nodes;
    let mut public: Vec<usize> = (0..nodes.len())
        .filter(|&node| nodes[node].visibility == Visibility::Public)
        .collect();
    public.sort_by(|&a, &b| crate::site::by_centrality(&nodes[a], &nodes[b]));
    if public.is_empty() {
        return;
    }
    page.heading(2, "The most used public API");
    let rows: Vec<Vec<String>> = public
        .iter()
        .take(API_LISTED)
        .map(|&node| {
            let symbol = page.symbol(&nodes[node]);
            let module = site
                .module_of_path(&nodes[node].path)
                .map(|module| {
                    page.page(
                        &module_page_id(&site.modules[module].id),
                        &site.title(module),
                    )
                })
                .unwrap_or_default();
            vec![
                symbol,
                nodes[node].kind.to_string(),
                module,
                prose(&summary_of(&nodes[node])),
            ]
        })
        .collect();
    page.table(&["Symbol", "Kind", "Module", "Summary"], &rows);
}

/// The layout's modules and how they use each other (imports and calls, nested modules
/// folded into the one shown).
fn dependency_diagram(site: &Site<'_>, page: &mut PageWriter) {
    let shown = layout_modules(site);
    if shown.len() < 2 {
        return;
    }
    let represent = |module: usize| {
        shown
            .iter()
            .copied()
            .find(|&top| site.is_within(module, top))
    };
    let mut weights: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for (&(from, to), &weight) in &site.dependencies {
        if let (Some(from), Some(to)) = (represent(from), represent(to))
            && from != to
        {
            *weights.entry((from, to)).or_default() += weight;
        }
    }
    let mut ranked = shown.clone();
    let degree = |module: usize| -> u64 {
        weights
            .iter()
            .filter(|((from, to), _)| *from == module || *to == module)
            .map(|(_, weight)| weight)
            .sum()
    };
    ranked.sort_by_key(|&module| (std::cmp::Reverse(degree(module)), module));
    ranked.truncate(MAX_NODES);
    let mut chart = Flowchart::default();
    let mut kept: Vec<usize> = ranked.clone();
    kept.sort_unstable();
    for &module in &kept {
        chart.node(&site.modules[module].id, &site.title(module));
    }
    for (&(from, to), &weight) in &weights {
        chart.edge(&site.modules[from].id, &site.modules[to].id, weight);
    }
    let (source, cut_edges) = chart.render(true);
    page.heading(2, "How the modules depend on each other");
    page.paragraph("An arrow runs from a module to one it imports or calls, weighted by how many imports and calls; modules nested in one are drawn as it.");
    page.fenced("mermaid", &source);
    let cut_modules = shown.len() - kept.len();
    if cut_modules > 0 || cut_edges > 0 {
        page.paragraph(&format!(
            "Left out to keep the diagram readable: {} and {} (the least connected).",
            count(cut_modules, "module"),
            count(cut_edges, "dependency|dependencies")
        ));
    }
}

/// The calls made from the first program's `main` (else the first entry point with a
/// symbol), breadth first.
fn call_path(site: &Site<'_>, page: &mut PageWriter) {
    let nodes = site.repository.nodes;
    let start = EntryKind::ALL.iter().find_map(|kind| {
        site.entry_points
            .iter()
            .filter(|(_, entry)| entry.kind == *kind)
            .find_map(|(_, entry)| {
                let node = *site.node_of.get(&entry.symbol?)?;
                site.calls.contains_key(&node).then_some(node)
            })
    });
    let Some(start) = start else {
        return;
    };
    let mut chart = Flowchart::default();
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, 0usize)]);
    chart.node(&nodes[start].id.to_string(), &nodes[start].qualified_name);
    chart.highlight(&nodes[start].id.to_string());
    let mut cut = false;
    while let Some((caller, depth)) = queue.pop_front() {
        if depth >= CALL_PATH_DEPTH {
            cut |= site.calls.get(&caller).is_some_and(|c| !c.is_empty());
            continue;
        }
        for &callee in site.calls.get(&caller).map_or(&[][..], Vec::as_slice) {
            if !seen.contains(&callee) {
                if chart.len() >= CALL_PATH_NODES {
                    cut = true;
                    continue;
                }
                seen.insert(callee);
                chart.node(&nodes[callee].id.to_string(), &nodes[callee].qualified_name);
                queue.push_back((callee, depth + 1));
            }
            chart.edge(
                &nodes[caller].id.to_string(),
                &nodes[callee].id.to_string(),
                1,
            );
        }
    }
    let (source, _) = chart.render(false);
    let start_link = page.symbol(&nodes[start]);
    page.heading(2, "Where execution goes first");
    page.paragraph(&format!(
        "The calls made from {start_link}, most central callees first, {} deep at most.",
        CALL_PATH_DEPTH
    ));
    page.fenced("mermaid", &source);
    if cut {
        page.paragraph(&format!(
            "Cut at {} and {CALL_PATH_DEPTH} calls deep; each module's page goes on from here.",
            count(CALL_PATH_NODES, "symbol")
        ));
    }
}

/// The topics, largest first.
fn topics(site: &Site<'_>, page: &mut PageWriter) {
    let sizes: BTreeMap<u32, usize> = site
        .topics
        .iter()
        .map(|(&cluster, members)| (cluster, members.len()))
        .collect();
    let mut clusters: Vec<_> = site
        .repository
        .clusters
        .iter()
        .filter(|cluster| sizes.contains_key(&cluster.cluster_id))
        .collect();
    if clusters.is_empty() {
        return;
    }
    clusters.sort_by_key(|cluster| {
        (
            std::cmp::Reverse(sizes[&cluster.cluster_id]),
            cluster.cluster_id,
        )
    });
    page.heading(2, "Topics");
    page.paragraph("Code that reads alike, grouped whatever module it is in:");
    for cluster in clusters {
        let link = page.page(&topic_page_id(cluster.cluster_id), &cluster.label);
        page.line(&format!(
            "- {link}: {}",
            count(sizes[&cluster.cluster_id], "symbol")
        ));
    }
    page.line("");
}

/// `12.3 KiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
