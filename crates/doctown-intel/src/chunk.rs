//! Cutting a file into content-addressed chunks, the units that are embedded and searched.
//!
//! Each symbol gets the bytes of its outer range (doc comment and decorators included) that no
//! symbol nested inside it covers: a method is its own chunk and its class keeps the header and
//! whatever lies between the methods. Code outside every symbol (imports, a script's main block)
//! becomes file-level chunks, and a file without symbols is one file-level chunk. Chunks of the
//! same level never share a byte. Stretches holding no letter or digit (a closing brace) are
//! dropped. A chunk larger than [`ChunkOptions::max_bytes`] is split at line boundaries, preferring
//! blank lines, with a few lines of overlap; every piece keeps the symbols' ids.

use doctown_common::{ByteRange, Chunk, ChunkId, FileAnalysis, Language, LineRange, SymbolId};
use sha2::{Digest, Sha256};

use crate::text::{LineIndex, lossy};

/// How chunks are cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOptions {
    /// A chunk larger than this many bytes is split (default 4,096).
    pub max_bytes: usize,
    /// How many lines consecutive pieces of a split chunk share (default 3).
    pub overlap_lines: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_bytes: 4096,
            overlap_lines: 3,
        }
    }
}

/// A range owned by the symbols that share it exactly, with the ranges nested in it.
struct Region {
    start: usize,
    end: usize,
    symbols: Vec<SymbolId>,
    children: Vec<usize>,
}

/// Cuts `source`, the file at `path`, into chunks along the symbols of `analysis` (none: one
/// file-level chunk).
pub fn chunk_file(
    path: &str,
    source: &[u8],
    language: Option<Language>,
    analysis: Option<&FileAnalysis>,
    options: &ChunkOptions,
) -> Vec<Chunk> {
    let lines = LineIndex::new(source);
    let regions = nest(source, &lines, analysis);
    let cutter = Cutter {
        path,
        source,
        language,
        lines: &lines,
        options,
    };
    let mut chunks = Vec::new();
    for region in &regions {
        let mut position = region.start;
        for &child in &region.children {
            cutter.segment(position, regions[child].start, &region.symbols, &mut chunks);
            position = position.max(regions[child].end);
        }
        cutter.segment(position, region.end, &region.symbols, &mut chunks);
    }
    chunks.sort_by_key(|chunk| (chunk.byte_range.start(), chunk.byte_range.end()));
    chunks
}

/// The file (region 0) and one region per distinct symbol range, each with the regions directly
/// nested in it, in source order. Built with a stack, in O(n log n).
fn nest(source: &[u8], lines: &LineIndex, analysis: Option<&FileAnalysis>) -> Vec<Region> {
    let file_len = source.len();
    // A symbol's indentation belongs to it, not to the code around it.
    let with_indentation = |start: usize| {
        let start = start.min(file_len);
        let line_start = lines
            .line_start(lines.line_of(start))
            .unwrap_or(start)
            .min(start);
        let indentation = &source[line_start..start];
        if indentation.iter().all(|&b| b == b' ' || b == b'\t') {
            line_start
        } else {
            start
        }
    };
    let mut ranges: Vec<(usize, usize, SymbolId)> = analysis
        .map(|analysis| {
            analysis
                .symbols
                .iter()
                .map(|s| {
                    let start = with_indentation(s.outer_byte_range.start());
                    (start, s.outer_byte_range.end().min(file_len), s.id)
                })
                .filter(|(start, end, _)| start < end)
                .collect()
        })
        .unwrap_or_default();
    // Outer ranges before the ranges they contain.
    ranges.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut regions = vec![Region {
        start: 0,
        end: file_len,
        symbols: Vec::new(),
        children: Vec::new(),
    }];
    let mut open = vec![0usize];
    for (start, end, id) in ranges {
        let last = regions.len() - 1;
        if last > 0 && regions[last].start == start && regions[last].end == end {
            regions[last].symbols.push(id);
            continue;
        }
        while let Some(&top) = open.last() {
            if top != 0 && !(regions[top].start <= start && end <= regions[top].end) {
                open.pop();
            } else {
                break;
            }
        }
        let parent = open.last().copied().unwrap_or(0);
        // A range that overlaps its parent's last child without nesting in it is left out,
        // so that no byte is in two chunks.
        let overlaps = regions[parent]
            .children
            .last()
            .is_some_and(|&c| regions[c].end > start);
        if overlaps {
            continue;
        }
        let index = regions.len();
        regions.push(Region {
            start,
            end,
            symbols: vec![id],
            children: Vec::new(),
        });
        regions[parent].children.push(index);
        open.push(index);
    }
    regions
}

/// Turns stretches of the file into chunks.
struct Cutter<'a> {
    path: &'a str,
    source: &'a [u8],
    language: Option<Language>,
    lines: &'a LineIndex,
    options: &'a ChunkOptions,
}

impl Cutter<'_> {
    /// Adds the chunks of the bytes `start..end`, trimmed of blank lines and trailing
    /// whitespace, unless they hold no letter or digit.
    fn segment(&self, start: usize, end: usize, symbols: &[SymbolId], out: &mut Vec<Chunk>) {
        let Some(bytes) = self.source.get(start..end) else {
            return;
        };
        let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
            return;
        };
        let last = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .unwrap_or(first);
        let trimmed = &bytes[first..=last];
        if !trimmed
            .iter()
            .any(|b| b.is_ascii_alphanumeric() || *b >= 0x80)
        {
            return;
        }
        // Start at the beginning of the first line, so indentation is kept.
        let line_start = self
            .lines
            .line_start(self.lines.line_of(start + first))
            .unwrap_or(start);
        let piece_start = line_start.max(start);
        self.split(piece_start, start + last + 1, symbols, out);
    }

    /// Adds `start..end` as one chunk, or as pieces of at most `max_bytes` cut at line ends.
    fn split(&self, start: usize, end: usize, symbols: &[SymbolId], out: &mut Vec<Chunk>) {
        let mut piece_start = start;
        loop {
            if end - piece_start <= self.options.max_bytes {
                out.push(self.chunk(piece_start, end, symbols));
                return;
            }
            let piece_end = self.cut_point(piece_start, end);
            let content_end = piece_start
                + self.source[piece_start..piece_end]
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .map_or(0, |last| last + 1);
            out.push(self.chunk(piece_start, content_end.max(piece_start + 1), symbols));
            // Step back a few lines for overlap, but always move forward.
            let end_line = self.lines.line_of(piece_end.saturating_sub(1));
            let first_line = self.lines.line_of(piece_start);
            let next_line = end_line
                .saturating_sub(self.options.overlap_lines)
                .max(first_line)
                + 1;
            piece_start = self
                .lines
                .line_start(next_line)
                .filter(|&next| next > piece_start && next < end)
                .unwrap_or(piece_end);
        }
    }

    /// Where to end a piece that starts at `start`: at a line end within `max_bytes`, preferably
    /// a blank line in the last quarter of the window; a single line longer than the window is
    /// cut at the window's end (on a character boundary).
    fn cut_point(&self, start: usize, end: usize) -> usize {
        let limit = (start + self.options.max_bytes).min(end);
        let window = &self.source[start..limit];
        let quarter = start + self.options.max_bytes * 3 / 4;
        let blank_line = window
            .windows(2)
            .rposition(|pair| pair == b"\n\n")
            .map(|at| start + at + 1)
            .filter(|&at| at >= quarter);
        let line_end = window
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|at| start + at + 1);
        let cut = blank_line
            .or(line_end)
            .filter(|&at| at > start)
            .unwrap_or(limit);
        // Never cut inside a UTF-8 sequence.
        (cut..=end)
            .find(|&at| at == end || (self.source[at] & 0xC0) != 0x80)
            .unwrap_or(end)
    }

    fn chunk(&self, start: usize, end: usize, symbols: &[SymbolId]) -> Chunk {
        let bytes = &self.source[start..end];
        let byte_range = ByteRange::between(start, end);
        let line_range =
            LineRange::clamped(self.lines.line_of(start), self.lines.last_line(start, end));
        Chunk {
            chunk_id: chunk_id(self.path, byte_range, bytes),
            path: self.path.to_owned(),
            language: self.language,
            symbol_ids: symbols.to_vec(),
            byte_range,
            line_range,
            content: lossy(self.source, start, end).into_owned(),
        }
    }
}

/// The content address of a chunk: SHA-256 over the path, the byte range and the bytes.
pub fn chunk_id(path: &str, range: ByteRange, bytes: &[u8]) -> ChunkId {
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update((range.start() as u64).to_le_bytes());
    hasher.update((range.end() as u64).to_le_bytes());
    hasher.update(bytes);
    ChunkId::from_bytes(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract;

    fn chunks_of(
        path: &str,
        source: &str,
        language: Language,
        options: &ChunkOptions,
    ) -> Vec<Chunk> {
        let analysis = extract(path, source.as_bytes(), language);
        chunk_file(
            path,
            source.as_bytes(),
            Some(language),
            Some(&analysis),
            options,
        )
    }

    /// Chunks that belong to different symbols (or to the file) never share a byte.
    fn assert_disjoint_across_owners(chunks: &[Chunk]) {
        for (i, a) in chunks.iter().enumerate() {
            for b in &chunks[i + 1..] {
                let overlap = a.byte_range.start() < b.byte_range.end()
                    && b.byte_range.start() < a.byte_range.end();
                assert!(
                    !overlap || a.symbol_ids == b.symbol_ids,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
    }

    const PYTHON: &str = "import os\n\n\nclass Greeter:\n    \"\"\"Says hello.\"\"\"\n\n    greeting = 'hi'\n\n    def greet(self, name):\n        return f'{self.greeting} {name}'\n\n    def leave(self):\n        pass\n\n\nif __name__ == '__main__':\n    Greeter().greet(os.getcwd())\n";

    #[test]
    fn methods_are_their_own_chunks_and_the_class_keeps_the_rest() {
        let chunks = chunks_of(
            "greet.py",
            PYTHON,
            Language::Python,
            &ChunkOptions::default(),
        );
        let analysis = extract("greet.py", PYTHON.as_bytes(), Language::Python);
        let id_of = |name: &str| analysis.symbols.iter().find(|s| s.name == name).unwrap().id;
        let contents: Vec<(&str, Vec<SymbolId>)> = chunks
            .iter()
            .map(|c| (c.content.as_str(), c.symbol_ids.clone()))
            .collect();
        assert_eq!(
            contents,
            vec![
                ("import os", vec![]),
                (
                    "class Greeter:\n    \"\"\"Says hello.\"\"\"\n\n    greeting = 'hi'",
                    vec![id_of("Greeter")]
                ),
                (
                    "    def greet(self, name):\n        return f'{self.greeting} {name}'",
                    vec![id_of("greet")]
                ),
                ("    def leave(self):\n        pass", vec![id_of("leave")]),
                (
                    "if __name__ == '__main__':\n    Greeter().greet(os.getcwd())",
                    vec![]
                ),
            ]
        );
        assert_eq!(chunks[2].line_range, LineRange::new(9, 10).unwrap());
        assert_disjoint_across_owners(&chunks);
    }

    #[test]
    fn a_file_without_symbols_is_one_chunk_and_an_empty_one_none() {
        let text = b"# Title\n\nSome prose.\n";
        let chunks = chunk_file("README.md", text, None, None, &ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].content, "# Title\n\nSome prose.");
        assert!(chunks[0].symbol_ids.is_empty());
        assert!(chunk_file("empty.md", b" \n\n", None, None, &ChunkOptions::default()).is_empty());
    }

    #[test]
    fn ids_are_stable_and_change_with_the_content() {
        let first = chunks_of(
            "greet.py",
            PYTHON,
            Language::Python,
            &ChunkOptions::default(),
        );
        let again = chunks_of(
            "greet.py",
            PYTHON,
            Language::Python,
            &ChunkOptions::default(),
        );
        assert_eq!(first, again);
        let edited = PYTHON.replace("pass", "return None");
        let changed = chunks_of(
            "greet.py",
            &edited,
            Language::Python,
            &ChunkOptions::default(),
        );
        let ids = |chunks: &[Chunk]| chunks.iter().map(|c| c.chunk_id).collect::<Vec<_>>();
        assert_eq!(
            ids(&first)[..3],
            ids(&changed)[..3],
            "chunks before the edit keep their ids"
        );
        assert_ne!(
            ids(&first)[3],
            ids(&changed)[3],
            "the edited chunk gets a new id"
        );
        let moved = chunks_of(
            "other.py",
            PYTHON,
            Language::Python,
            &ChunkOptions::default(),
        );
        assert_ne!(ids(&first), ids(&moved), "the path is part of the address");
    }

    #[test]
    fn large_symbols_are_split_at_lines_with_overlap() {
        let body: String = (0..400)
            .map(|i| format!("    let value_{i} = compute({i});\n"))
            .collect();
        let source = format!("fn big() {{\n{body}}}\n");
        let options = ChunkOptions {
            max_bytes: 1024,
            overlap_lines: 3,
        };
        let chunks = chunks_of("big.rs", &source, Language::Rust, &options);
        assert!(chunks.len() > 10, "{}", chunks.len());
        let symbol = chunks[0].symbol_ids.clone();
        for pair in chunks.windows(2) {
            assert!(pair[0].byte_range.len() <= 1024);
            assert_eq!(pair[1].symbol_ids, symbol);
            assert_eq!(
                pair[1].line_range.start() + 3,
                pair[0].line_range.end() + 1,
                "3 lines shared"
            );
            assert!(pair[0].content.ends_with(';') || pair[0].content.ends_with('{'));
        }
        assert_eq!(
            chunks.last().unwrap().byte_range.end(),
            source.trim_end().len()
        );
    }

    #[test]
    fn one_statement_binding_several_names_is_one_chunk() {
        let chunks = chunks_of(
            "m.py",
            "a = b = 1\n",
            Language::Python,
            &ChunkOptions::default(),
        );
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].symbol_ids.len(), 2);
    }

    #[test]
    fn go_methods_outside_their_type_do_not_overlap_the_file() {
        let source = "package p\n\n// Server serves.\ntype Server struct{ n int }\n\nvar x = 1\n\nfunc (s *Server) Serve() int {\n\treturn s.n\n}\n";
        let chunks = chunks_of("s.go", source, Language::Go, &ChunkOptions::default());
        assert_disjoint_across_owners(&chunks);
        assert_eq!(chunks.len(), 4, "{chunks:#?}");
        assert_eq!(
            chunks[1].content,
            "// Server serves.\ntype Server struct{ n int }"
        );
    }

    #[test]
    fn long_lines_are_cut_on_character_boundaries() {
        let source = format!("x = '{}'\n", "é".repeat(3000));
        let options = ChunkOptions {
            max_bytes: 1001,
            overlap_lines: 3,
        };
        let chunks = chunks_of("wide.py", &source, Language::Python, &options);
        assert!(chunks.len() >= 6);
        let total: usize = chunks.iter().map(|c| c.content.len()).sum();
        assert_eq!(
            total,
            source.trim_end().len(),
            "single-line pieces neither overlap nor lose bytes"
        );
        assert!(chunks.iter().all(|c| !c.content.contains('\u{FFFD}')));
    }
}
