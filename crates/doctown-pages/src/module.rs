//! A module's page: what it is, what it holds, its public API, its key types, what it depends
//! on and what uses it, and how its most central symbols call each other.

use doctown_common::{LineRange, SymbolKind, Visibility};
use doctown_docpack::{Page, PageKind};

use crate::markdown::{PageWriter, code, prose};
use crate::mermaid::Flowchart;
use crate::prose::write_prose;
use crate::site::{Description, Site, count, is_type, summary_of};
use crate::text::first_paragraph;
use crate::{OVERVIEW, module_page_id};

/// How many symbols the call diagram draws, and how many other modules it shows calls into.
const DIAGRAM_SYMBOLS: usize = 12;
const DIAGRAM_MODULES: usize = 6;

/// How many key types are introduced.
const KEY_TYPES: usize = 5;

/// How many public symbols the API table shows with their signature and summary; the rest are
/// listed by name.
const API_ROWS: usize = 150;

pub(crate) fn page(site: &Site<'_>, module: usize) -> Page {
    let entry = &site.modules[module];
    let nodes = site.repository.nodes;
    let title = site.title(module);
    let mut page = PageWriter::default();
    page.heading(1, &title);
    let mut facts = vec![format!(
        "{} {}",
        entry.language.display_name(),
        entry.kind.word()
    )];
    facts.push(site.size_line(module).trim_end_matches('.').to_owned());
    if let Some(parent) = site.parent(module) {
        facts.push(format!(
            "in {}",
            page.page(
                &module_page_id(&site.modules[parent].id),
                &site.title(parent)
            )
        ));
    }
    page.paragraph(&format!("{}.", facts.join(" · ")));
    write_prose(site, &module_page_id(&entry.id), &mut page);
    description(site, module, &mut page);
    inside(site, module, &mut page);
    entry_points(site, module, &mut page);
    api(site, module, &mut page);
    key_types(site, module, &mut page);
    dependencies(site, module, &mut page);
    call_diagram(site, module, &mut page);
    files(site, module, &mut page);
    let (body, citations) = page.finish();
    let mut files = entry.files.clone();
    if let Description::Readme { path, .. } = &site.descriptions[module] {
        files.push(path.clone());
    }
    Page {
        body,
        citations,
        files,
        id: module_page_id(&entry.id),
        kind: PageKind::Module,
        parent: Some(site.parent(module).map_or(OVERVIEW.to_owned(), |parent| {
            module_page_id(&site.modules[parent].id)
        })),
        symbols: site.symbols[module]
            .iter()
            .map(|&node| nodes[node].id)
            .collect(),
        title,
    }
}

/// Its own words: the README's paragraph or the doc comment whole; else what it defines.
fn description(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    match &site.descriptions[module] {
        Description::Readme { path, lines, text } => {
            let cited = page.source(path, *lines);
            page.paragraph(&format!("{} ({cited})", prose(text)));
        }
        Description::Doc { path, text } => {
            let lines = LineRange::clamped(1, text.lines().count().max(1));
            let cited = page.source(path, lines);
            page.paragraph(&format!("{} ({cited})", prose(&first_paragraph(text))));
        }
        Description::Symbols(_) | Description::Nothing => {
            let line = site.one_line(module, page);
            page.paragraph(&line);
        }
    }
}

/// The modules nested in it.
fn inside(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let children = &site.children[module];
    if children.is_empty() {
        return;
    }
    page.heading(2, "Inside");
    for &child in children {
        let link = page.page(&module_page_id(&site.modules[child].id), &site.title(child));
        let line = site.one_line(child, page);
        page.line(&format!("- {link}: {line}"));
    }
    page.line("");
}

/// Every entry point in its files.
fn entry_points(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let files = &site.modules[module].files;
    let nodes = site.repository.nodes;
    let rows: Vec<Vec<String>> = site
        .entry_points
        .iter()
        .filter(|(file, _)| files.binary_search(&file.path).is_ok())
        .map(|(file, entry)| {
            let at = page.source(&file.path, LineRange::clamped(entry.line, entry.line));
            let declared = entry
                .symbol
                .and_then(|id| site.node_of.get(&id))
                .map(|&node| page.symbol(&nodes[node]))
                .unwrap_or_default();
            vec![
                format!("{:?}", entry.kind).to_lowercase(),
                code(&entry.name),
                entry.handler.as_deref().map(code).unwrap_or_default(),
                declared,
                at,
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    page.heading(2, "Where execution starts");
    page.table(&["Kind", "Name", "Handler", "Declared in", "Where"], &rows);
}

/// Every public symbol: types and functions first, members under their type's name.
fn api(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let nodes = site.repository.nodes;
    let mut public: Vec<usize> = site.symbols[module]
        .iter()
        .copied()
        .filter(|&node| nodes[node].visibility == Visibility::Public)
        .collect();
    if public.is_empty() {
        return;
    }
    // Top-level symbols before members, each group most central first (as `symbols` is).
    public.sort_by_key(|&node| nodes[node].parent.is_some());
    page.heading(2, "Public API");
    let (shown, rest) = public.split_at(public.len().min(API_ROWS));
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|&node| {
            let symbol = page.symbol(&nodes[node]);
            vec![
                symbol,
                nodes[node].kind.to_string(),
                code(&nodes[node].signature),
                prose(&summary_of(&nodes[node])),
            ]
        })
        .collect();
    page.table(&["Symbol", "Kind", "Signature", "Summary"], &rows);
    if !rest.is_empty() {
        // The rest by name only, so a page of a very wide module stays readable and every
        // public symbol is still a link away.
        let mut rest = rest.to_vec();
        rest.sort_by(|&a, &b| nodes[a].qualified_name.cmp(&nodes[b].qualified_name));
        let links: Vec<String> = rest.iter().map(|&node| page.symbol(&nodes[node])).collect();
        page.paragraph(&format!(
            "The other {} public symbols, by name: {}.",
            rest.len(),
            links.join(", ")
        ));
    }
}

/// The most central public types, with their doc's first sentence.
fn key_types(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let nodes = site.repository.nodes;
    let types: Vec<usize> = site.symbols[module]
        .iter()
        .copied()
        .filter(|&node| is_type(nodes[node].kind) && nodes[node].visibility == Visibility::Public)
        .take(KEY_TYPES)
        .collect();
    if types.len() < 2 {
        return;
    }
    page.heading(2, "Key types");
    for node in types {
        let link = page.symbol(&nodes[node]);
        let members = site.members.get(&nodes[node].id).copied().unwrap_or(0);
        let summary = summary_of(&nodes[node]);
        let mut line = format!("- {link} ({}", nodes[node].kind);
        if members > 0 {
            line.push_str(&format!(", {}", count(members, "member")));
        }
        line.push(')');
        if !summary.is_empty() {
            line.push_str(&format!(": {}", prose(&summary)));
        }
        page.line(&line);
    }
    page.line("");
}

/// The modules it uses and those that use it, heaviest first.
fn dependencies(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    for (heading, list) in [
        ("Depends on", &site.uses[module]),
        ("Used by", &site.used_by[module]),
    ] {
        if list.is_empty() {
            continue;
        }
        page.heading(2, heading);
        for &(other, weight) in list {
            let link = page.page(&module_page_id(&site.modules[other].id), &site.title(other));
            page.line(&format!(
                "- {link} ({})",
                count(weight as usize, "import or call|imports or calls")
            ));
        }
        page.line("");
    }
}

/// Its most central functions and methods, the calls between them, and their calls into
/// other modules (each drawn as one node).
fn call_diagram(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let nodes = site.repository.nodes;
    let callable: Vec<usize> = site.symbols[module]
        .iter()
        .copied()
        .filter(|&node| matches!(nodes[node].kind, SymbolKind::Function | SymbolKind::Method))
        .filter(|node| site.calls.contains_key(node) || site.called.contains(node))
        .take(DIAGRAM_SYMBOLS)
        .collect();
    if callable.len() < 2 {
        return;
    }
    let mut chart = Flowchart::default();
    for &node in &callable {
        chart.node(&nodes[node].id.to_string(), &nodes[node].qualified_name);
    }
    let mut outside: std::collections::BTreeMap<usize, u64> = std::collections::BTreeMap::new();
    let mut internal = 0;
    for &caller in &callable {
        for &callee in site.calls.get(&caller).map_or(&[][..], Vec::as_slice) {
            if callable.contains(&callee) {
                chart.edge(
                    &nodes[caller].id.to_string(),
                    &nodes[callee].id.to_string(),
                    1,
                );
                internal += 1;
            } else if let Some(other) = site.module_of_path(&nodes[callee].path)
                && other != module
            {
                *outside.entry(other).or_default() += 1;
            }
        }
    }
    let mut outside: Vec<(usize, u64)> = outside.into_iter().collect();
    outside.sort_by_key(|&(other, weight)| (std::cmp::Reverse(weight), other));
    let cut_modules = outside.len().saturating_sub(DIAGRAM_MODULES);
    outside.truncate(DIAGRAM_MODULES);
    for &(other, _) in &outside {
        let key = format!("module:{}", site.modules[other].id);
        chart.node(&key, &format!("{} (module)", site.title(other)));
    }
    for &caller in &callable {
        for &callee in site.calls.get(&caller).map_or(&[][..], Vec::as_slice) {
            if let Some(other) = site.module_of_path(&nodes[callee].path)
                && other != module
            {
                chart.edge(
                    &nodes[caller].id.to_string(),
                    &format!("module:{}", site.modules[other].id),
                    1,
                );
            }
        }
    }
    if internal == 0 && outside.is_empty() {
        return;
    }
    let (source, _) = chart.render(true);
    page.heading(2, "How its code calls");
    page.paragraph(&format!(
        "Its {} most central functions and methods, the calls between them, and their calls into other modules.",
        callable.len()
    ));
    page.fenced("mermaid", &source);
    let cut_symbols = site.symbols[module]
        .iter()
        .filter(|&&node| matches!(nodes[node].kind, SymbolKind::Function | SymbolKind::Method))
        .count()
        .saturating_sub(callable.len());
    let mut cut = Vec::new();
    if cut_symbols > 0 {
        cut.push(count(
            cut_symbols,
            "function or method|functions or methods",
        ));
    }
    if cut_modules > 0 {
        cut.push(format!("calls into {}", count(cut_modules, "other module")));
    }
    if !cut.is_empty() {
        page.paragraph(&format!(
            "Left out to keep it readable: {}.",
            crate::site::join_words(&cut)
        ));
    }
}

/// Its files, each with its own doc's first sentence.
fn files(site: &Site<'_>, module: usize, page: &mut PageWriter) {
    let files = &site.modules[module].files;
    if files.len() < 2 {
        return;
    }
    page.heading(2, "Files");
    for path in files {
        let analysis = site.analysis(path);
        let symbols = analysis.map_or(0, |analysis| analysis.symbols.len());
        let doc = analysis
            .and_then(|analysis| analysis.doc.as_deref())
            .and_then(crate::text::first_sentence)
            .map(|sentence| format!(": {}", prose(&sentence)))
            .unwrap_or_default();
        page.line(&format!(
            "- {} ({}){doc}",
            code(path),
            count(symbols, "symbol")
        ));
    }
    page.line("");
}
