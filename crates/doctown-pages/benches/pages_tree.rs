//! The pages of a real tree, timed: every code file under DIR extracted, its calls resolved and
//! its code graph made as the pipeline makes them (no embeddings, so one topic), then `pages`
//! run alone. Prints the time `pages` took, what it made and the grounding figures the pages
//! are held to: the share of public symbols some page links, and pages per 1,000 symbols.
//!
//! ```text
//! cargo bench -p doctown-pages --bench pages_tree -- DIR [MAX_FILES]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use doctown_common::{Language, Visibility};
use doctown_docpack::{Cluster, Node, PageKind, SourceFile};
use doctown_pages::{Repository, is_readme, pages, symbol_uri};

/// Every file under `dir` (relative paths, sorted), skipping hidden folders and `target`.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if entry.file_type().unwrap().is_file() {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: pages_tree DIR [MAX_FILES]");
        std::process::exit(2);
    };
    let max_files: usize = args.get(1).map_or(usize::MAX, |n| n.parse().unwrap());
    let dir = Path::new(dir);
    let mut analyses = Vec::new();
    let mut source_map = Vec::new();
    let mut readmes = BTreeMap::new();
    for path in files(dir) {
        let bytes = std::fs::read(dir.join(&path)).unwrap();
        let language = Language::detect(Path::new(&path), &bytes);
        if language.is_some() && analyses.len() >= max_files {
            continue;
        }
        if let Some(language) = language {
            analyses.push(doctown_intel::extract(&path, &bytes, language));
        }
        if is_readme(&path) {
            readmes.insert(path.clone(), String::from_utf8_lossy(&bytes).into_owned());
        }
        source_map.push(SourceFile {
            bytes: bytes.len() as u64,
            chunks: Vec::new(),
            language,
            path,
        });
    }
    doctown_intel::resolve_calls(&mut analyses);
    let graph = doctown_assembly::code_graph(&analyses, &[]);
    let nodes = Node::all_of(&analyses, &graph, |_| Some(0), |_| None);
    let clusters = vec![Cluster {
        cluster_id: 0,
        label: "everything".to_owned(),
        member_count: 0,
        member_ids: Vec::new(),
        representative_ids: Vec::new(),
    }];
    let name = dir.file_name().map_or("repository".to_owned(), |n| {
        n.to_string_lossy().into_owned()
    });
    let repository = Repository {
        name: &name,
        analyses: &analyses,
        nodes: &nodes,
        graph: &graph,
        clusters: &clusters,
        source_map: &source_map,
        readmes: &readmes,
        prose: &BTreeMap::new(),
    };
    let started = Instant::now();
    let made = pages(&repository);
    let elapsed = started.elapsed();

    let bodies: String = made.iter().map(|page| page.body.as_str()).collect();
    let public: Vec<&Node> = nodes
        .iter()
        .filter(|node| node.visibility == Visibility::Public)
        .collect();
    let linked: HashSet<String> = public
        .iter()
        .map(|node| symbol_uri(node.id))
        .filter(|uri| bodies.contains(uri.as_str()))
        .collect();
    let count = |kind: PageKind| made.iter().filter(|page| page.kind == kind).count();
    let largest = made.iter().map(|page| page.body.len()).max().unwrap_or(0);
    let entry_points: usize = analyses.iter().map(|a| a.entry_points.len()).sum();
    println!(
        "{} code files, {} files in all, {} symbols ({} public), {} entry points",
        analyses.len(),
        source_map.len(),
        nodes.len(),
        public.len(),
        entry_points
    );
    println!(
        "pages: {} ({} modules, {} topics, 1 overview) in {:.1} ms",
        made.len(),
        count(PageKind::Module),
        count(PageKind::Topic),
        elapsed.as_secs_f64() * 1000.0
    );
    println!(
        "markdown: {} bytes, largest page {} bytes; {} citations",
        bodies.len(),
        largest,
        made.iter().map(|page| page.citations.len()).sum::<usize>()
    );
    println!(
        "public symbols linked from some page: {} of {} ({:.2} %)",
        linked.len(),
        public.len(),
        100.0 * linked.len() as f64 / public.len().max(1) as f64
    );
    println!(
        "pages per 1,000 symbols: {:.1}",
        1000.0 * made.len() as f64 / nodes.len().max(1) as f64
    );
}
