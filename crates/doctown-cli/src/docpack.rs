//! `doctown inspect`, `doctown verify` and `doctown export`: reading a .docpack.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use doctown_common::{Error, SymbolId};
use doctown_docpack::{Docpack, DocpackError, Page, PageKind, ReadLimits, read_docpack};
use doctown_pages::{
    ExportedFile, MERMAID_SCRIPT, OVERVIEW, SourceLinks, html_site, markdown_folder, outline,
};

use crate::shown::shown;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// One JSON document: the manifest and every JSON member.
    Json,
    /// Readable pages: with `-o DIR`, a folder of markdown files (`index.md` the overview, a
    /// file per module and per topic, diagrams as mermaid); on standard output, one document
    /// listing every file's symbols with their signatures and summaries.
    Markdown,
    /// The pages as a static site in the folder given with `-o DIR` (`index.html` the
    /// overview), with a module navigation and a search over pages and symbols.
    Html,
}

/// Reads `path`: an error when it cannot be opened, else what the reader made of it. Embeddings
/// go to an anonymous temporary file.
fn read(path: &Path) -> Result<Result<Docpack<File>, DocpackError>, String> {
    let file = File::open(path).map_err(|err| Error::io("open", path, err).to_string())?;
    let spool = tempfile::tempfile().map_err(|err| {
        Error::io("create a temporary file in", std::env::temp_dir(), err).to_string()
    })?;
    Ok(read_docpack(
        BufReader::new(file),
        spool,
        &ReadLimits::default(),
    ))
}

/// Opens and verifies `path`.
fn open(path: &Path) -> Result<Docpack<File>, String> {
    read(path)?.map_err(|err| format!("{}: {err}", path.display()))
}

/// The check a reader error belongs to, as `doctown verify` names it.
fn failed_check(err: &DocpackError) -> &'static str {
    match err {
        DocpackError::Io { .. } => "reading the file",
        DocpackError::UnsupportedVersion { .. } => "schema version",
        DocpackError::Checksum { .. } => "checksums",
        DocpackError::TooLarge { .. } => "size limits",
        DocpackError::Malformed(_) | DocpackError::InvalidContents(_) => "structure",
    }
}

/// Runs `doctown verify`.
pub(crate) fn verify(path: &Path) -> Result<(), String> {
    match read(path)? {
        Ok(docpack) => {
            let manifest = &docpack.manifest;
            println!(
                "{}: ok, {} {}",
                path.display(),
                manifest.schema_version,
                manifest.docpack_id
            );
            for check in [
                "schema version",
                "manifest checksum",
                "member list and declared sizes",
                "member sizes and sha256, before parsing",
                "archive end (gzip trailer, nothing after)",
                "docpack id",
                "member contents",
                "statistics",
                "references (graph edges, source-map paths, pages)",
            ] {
                println!("  passed  {check}");
            }
            Ok(())
        }
        Err(err) => Err(format!(
            "{}: failed check \"{}\": {err}",
            path.display(),
            failed_check(&err)
        )),
    }
}

/// Runs `doctown inspect`.
pub(crate) fn inspect(path: &Path) -> Result<(), String> {
    let docpack = open(path)?;
    let manifest = &docpack.manifest;
    let stats = &manifest.statistics;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut print = || -> io::Result<()> {
        writeln!(out, "{}", shown(&path.display().to_string()))?;
        writeln!(out, "  id         {}", manifest.docpack_id)?;
        writeln!(out, "  format     {}", manifest.schema_version)?;
        writeln!(out, "  created    {}", manifest.created_at.to_rfc3339())?;
        writeln!(
            out,
            "  generator  {} {}",
            shown(&manifest.generator.name),
            shown(&manifest.generator.version)
        )?;
        writeln!(out, "  source     {}", shown(&manifest.source.repo_url))?;
        if let Some(git_ref) = &manifest.source.git_ref {
            writeln!(out, "  ref        {}", shown(git_ref))?;
        }
        if let Some(commit) = &manifest.source.commit_hash {
            writeln!(out, "  commit     {}", shown(commit))?;
        }
        writeln!(
            out,
            "\n  {} files, {} symbols, {} chunks, {} edges, {} clusters{}",
            stats.file_count,
            stats.symbol_count,
            stats.chunk_count,
            stats.edge_count,
            stats.cluster_count,
            if manifest.optional.has_embeddings {
                format!(", embeddings of {} dimensions", stats.embedding_dimensions)
            } else {
                String::new()
            }
        )?;
        let mut languages: Vec<_> = stats.languages.iter().collect();
        languages.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let languages: Vec<String> = languages
            .iter()
            .map(|(l, n)| format!("{} {n}", shown(l)))
            .collect();
        if !languages.is_empty() {
            writeln!(out, "  languages: {}", languages.join(", "))?;
        }

        let mut clusters: Vec<_> = docpack.clusters.clusters.iter().collect();
        clusters.sort_by(|a, b| {
            b.member_count
                .cmp(&a.member_count)
                .then(a.cluster_id.cmp(&b.cluster_id))
        });
        if !clusters.is_empty() {
            writeln!(out, "\n  Largest clusters")?;
            for cluster in clusters.iter().take(10) {
                writeln!(
                    out,
                    "  {:>6} chunks  {}",
                    cluster.member_count,
                    shown(&cluster.label)
                )?;
            }
        }
        let mut nodes: Vec<_> = docpack.nodes.nodes.iter().collect();
        nodes.sort_by(|a, b| b.centrality.total_cmp(&a.centrality).then(a.id.cmp(&b.id)));
        if let Some(pages) = &docpack.pages {
            write_outline(&mut out, &pages.pages)?;
        }
        if !nodes.is_empty() {
            writeln!(out, "\n  Most central symbols")?;
            for node in nodes.iter().take(10) {
                writeln!(
                    out,
                    "  {:>6.3}  {:<9} {}  {}:{}",
                    node.centrality,
                    node.kind.id(),
                    shown(&node.qualified_name),
                    shown(&node.path),
                    node.line_range.start()
                )?;
            }
        }
        out.flush()
    };
    print().or_else(ignore_broken_pipe)
}

/// The overview's sections and the top of the module tree.
fn write_outline(out: &mut dyn Write, pages: &[Page]) -> io::Result<()> {
    let Some(overview) = pages.iter().find(|page| page.kind == PageKind::Overview) else {
        return Ok(());
    };
    let count = |kind: PageKind| pages.iter().filter(|page| page.kind == kind).count();
    writeln!(
        out,
        "\n  Pages: {} modules, {} topics; the overview, {}",
        count(PageKind::Module),
        count(PageKind::Topic),
        shown(&overview.title)
    )?;
    for section in outline(overview) {
        writeln!(out, "    {}", shown(&section))?;
    }
    let top: Vec<&Page> = pages
        .iter()
        .filter(|page| page.kind == PageKind::Module && page.parent.as_deref() == Some(OVERVIEW))
        .collect();
    if !top.is_empty() {
        writeln!(out, "\n  Modules at the top ({})", top.len())?;
        for page in top.iter().take(20) {
            let nested = pages
                .iter()
                .filter(|other| other.parent.as_deref() == Some(page.id.as_str()))
                .count();
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            writeln!(
                out,
                "    {}  ({}, {}, {nested} nested)",
                shown(&page.title),
                plural(page.files.len(), "file"),
                plural(page.symbols.len(), "symbol")
            )?;
        }
        if top.len() > 20 {
            writeln!(out, "    … and {} more", top.len() - 20)?;
        }
    }
    Ok(())
}

/// Runs `doctown export`.
pub(crate) fn export(
    path: &Path,
    format: ExportFormat,
    output: Option<&Path>,
    mermaid_js: Option<&Path>,
) -> Result<(), String> {
    let docpack = open(path)?;
    match (format, output) {
        (ExportFormat::Markdown, Some(folder)) => {
            return export_folder(path, &docpack, folder, |pages, links| {
                Ok(markdown_folder(pages, &docpack.nodes.nodes, links))
            });
        }
        (ExportFormat::Html, Some(folder)) => {
            return export_folder(path, &docpack, folder, |pages, links| {
                let title = pages
                    .iter()
                    .find(|page| page.kind == PageKind::Overview)
                    .map_or(docpack.manifest.source.repo_url.as_str(), |page| {
                        page.title.as_str()
                    });
                let mut files = html_site(pages, &docpack.nodes.nodes, links, title);
                if let Some(script) = mermaid_js {
                    let text = std::fs::read_to_string(script)
                        .map_err(|err| Error::io("read", script, err).to_string())?;
                    files.push(ExportedFile {
                        path: MERMAID_SCRIPT.to_owned(),
                        text,
                    });
                }
                Ok(files)
            });
        }
        (ExportFormat::Html, None) => {
            return Err(
                "--format html writes a site, which is a folder: name one with -o DIR".to_owned(),
            );
        }
        _ => {}
    }
    let write = |out: &mut dyn Write| -> io::Result<()> {
        match format {
            ExportFormat::Json => {
                let document = serde_json::json!({
                    "manifest": docpack.manifest,
                    "nodes": docpack.nodes.nodes,
                    "graph": docpack.graph,
                    "clusters": docpack.clusters.clusters,
                    "source_map": docpack.source_map.files,
                    "symbol_contexts": docpack.symbol_contexts.as_ref().map(|c| &c.contexts),
                    "pages": docpack.pages.as_ref().map(|p| &p.pages),
                });
                serde_json::to_writer_pretty(&mut *out, &document)?;
                writeln!(out)
            }
            // An HTML export went to its folder above.
            ExportFormat::Markdown | ExportFormat::Html => markdown(&docpack, out),
        }
    };
    match output {
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            write(&mut out)
                .and_then(|()| out.flush())
                .or_else(ignore_broken_pipe)
        }
        Some(target) => {
            // Written next to the target and renamed into place: never a half-written file.
            let folder = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut temp = tempfile::NamedTempFile::new_in(folder)
                .map_err(|err| Error::io("create a file in", folder, err).to_string())?;
            let mut out = BufWriter::new(temp.as_file_mut());
            write(&mut out)
                .and_then(|()| out.flush())
                .map_err(|err| Error::io("write", target, err).to_string())?;
            drop(out);
            temp.persist(target)
                .map_err(|err| Error::io("write", target, err.error).to_string())?;
            Ok(())
        }
    }
}

/// Writes the files `make` makes of the docpack's pages into `folder`, made beside it and
/// renamed into place, so the folder is whole or absent; an existing folder that holds anything
/// is left alone.
fn export_folder(
    path: &Path,
    docpack: &Docpack<File>,
    folder: &Path,
    make: impl FnOnce(&[Page], &SourceLinks) -> Result<Vec<ExportedFile>, String>,
) -> Result<(), String> {
    let Some(pages) = &docpack.pages else {
        return Err(format!(
            "{} has no pages ({}, made before pages were); regenerate it with `doctown generate` \
             to export pages, or export it to standard output without -o",
            path.display(),
            docpack.manifest.schema_version
        ));
    };
    if let Ok(mut entries) = std::fs::read_dir(folder) {
        if entries.next().is_some() {
            return Err(format!(
                "{} already exists and is not empty; remove it or choose another folder",
                folder.display()
            ));
        }
    } else if folder.exists() {
        return Err(format!(
            "{} exists and is not a folder; choose another path",
            folder.display()
        ));
    }
    let files = make(&pages.pages, &SourceLinks::of(&docpack.manifest.source))?;
    let parent = folder
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".doctown-export-")
        .tempdir_in(parent)
        .map_err(|err| Error::io("create a folder in", parent, err).to_string())?;
    for file in &files {
        let target = staging.path().join(&file.path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| Error::io("create", dir, err).to_string())?;
        }
        std::fs::write(&target, &file.text)
            .map_err(|err| Error::io("write", &target, err).to_string())?;
    }
    if folder.exists() {
        std::fs::remove_dir(folder).map_err(|err| Error::io("replace", folder, err).to_string())?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, folder).map_err(|err| {
        let _ = std::fs::remove_dir_all(&staged);
        Error::io("write", folder, err).to_string()
    })?;
    eprintln!("wrote {} pages to {}", pages.pages.len(), folder.display());
    Ok(())
}

/// The docpack as Markdown: an overview, then per file each symbol with its signature and summary.
fn markdown(docpack: &Docpack<File>, out: &mut dyn Write) -> io::Result<()> {
    let manifest = &docpack.manifest;
    let stats = &manifest.statistics;
    writeln!(out, "# {}\n", manifest.source.repo_url)?;
    if let Some(commit) = &manifest.source.commit_hash {
        writeln!(out, "Commit `{commit}`.")?;
    }
    writeln!(
        out,
        "{} files, {} symbols, {} clusters. Docpack `{}` ({}).\n",
        stats.file_count,
        stats.symbol_count,
        stats.cluster_count,
        manifest.docpack_id,
        manifest.schema_version
    )?;
    if !docpack.clusters.clusters.is_empty() {
        writeln!(out, "## Areas\n")?;
        for cluster in &docpack.clusters.clusters {
            writeln!(
                out,
                "- **{}** ({} chunks)",
                cluster.label, cluster.member_count
            )?;
        }
        writeln!(out)?;
    }
    let parents: HashMap<SymbolId, Option<SymbolId>> = docpack
        .nodes
        .nodes
        .iter()
        .map(|n| (n.id, n.parent))
        .collect();
    let depth = |node: &doctown_docpack::Node| {
        std::iter::successors(node.parent, |id| parents.get(id).copied().flatten())
            .take(3)
            .count()
    };
    let mut current = None;
    for node in &docpack.nodes.nodes {
        if current != Some(&node.path) {
            writeln!(out, "## `{}`\n", node.path)?;
            current = Some(&node.path);
        }
        let heading = "#".repeat(3 + depth(node));
        writeln!(
            out,
            "{heading} `{}` ({})\n",
            node.qualified_name,
            node.kind.id()
        )?;
        writeln!(out, "```{}\n{}\n```\n", node.language.id(), node.signature)?;
        if let Some(summary) = node.summary.as_ref().or(node.doc.as_ref()) {
            writeln!(out, "{}\n", summary.trim())?;
        }
        writeln!(
            out,
            "Lines {}–{}.\n",
            node.line_range.start(),
            node.line_range.end()
        )?;
    }
    Ok(())
}

fn ignore_broken_pipe(err: io::Error) -> Result<(), String> {
    if err.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::from(err).to_string())
    }
}
