/**
 * What the results pages read from a docpack, indexed once: the file tree, each file's symbols,
 * each symbol's calls, callers, related symbols and cluster, and name search.
 */

import type { Cluster, Docpack, Manifest, SymbolNode } from './docpack';

/** A folder or file of the tree. */
export interface TreeEntry {
	name: string;
	/** The path from the repository root (`src/lib.rs`); folders have no trailing slash. */
	path: string;
	kind: 'folder' | 'file';
	language: string | null;
	/** Symbols in the file, or in every file below the folder. */
	symbolCount: number;
	children: TreeEntry[];
}

/** A symbol another is linked to. */
export interface Link {
	symbol: SymbolNode;
	/** The similarity, for related symbols. */
	score: number | null;
}

/** Where a summary came from, when the docpack says. */
export type SummarySource = 'model' | 'offline' | 'unknown';

/** A docpack, indexed. */
export interface Explorer {
	docpack: Docpack;
	tree: TreeEntry;
	symbols: Map<string, SymbolNode>;
	symbolsByFile: Map<string, SymbolNode[]>;
	clusters: Map<number, Cluster>;
	calls: Map<string, Link[]>;
	calledBy: Map<string, Link[]>;
	related: Map<string, Link[]>;
	summarySources: Map<string, SummarySource>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
	const list = map.get(key);
	if (list) {
		list.push(value);
	} else {
		map.set(key, [value]);
	}
}

function buildTree(docpack: Docpack, symbolsByFile: Map<string, SymbolNode[]>): TreeEntry {
	const root: TreeEntry = {
		name: '',
		path: '',
		kind: 'folder',
		language: null,
		symbolCount: 0,
		children: []
	};
	for (const file of docpack.files) {
		const parts = file.path.split('/');
		const count = symbolsByFile.get(file.path)?.length ?? 0;
		let folder = root;
		folder.symbolCount += count;
		parts.slice(0, -1).forEach((part, index) => {
			const path = parts.slice(0, index + 1).join('/');
			let next = folder.children.find((c) => c.kind === 'folder' && c.name === part);
			if (!next) {
				next = { name: part, path, kind: 'folder', language: null, symbolCount: 0, children: [] };
				folder.children.push(next);
			}
			next.symbolCount += count;
			folder = next;
		});
		folder.children.push({
			name: parts[parts.length - 1],
			path: file.path,
			kind: 'file',
			language: file.language,
			symbolCount: count,
			children: []
		});
	}
	const sort = (entry: TreeEntry) => {
		entry.children.sort((a, b) =>
			a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1
		);
		entry.children.forEach(sort);
	};
	sort(root);
	return root;
}

/** Indexes `docpack`. */
export function explore(docpack: Docpack): Explorer {
	const symbols = new Map(docpack.nodes.map((n) => [n.id, n]));
	const symbolsByFile = new Map<string, SymbolNode[]>();
	for (const node of docpack.nodes) {
		push(symbolsByFile, node.path, node);
	}
	for (const list of symbolsByFile.values()) {
		list.sort((a, b) => a.line_range.start - b.line_range.start);
	}
	const calls = new Map<string, Link[]>();
	const calledBy = new Map<string, Link[]>();
	const related = new Map<string, Link[]>();
	for (const edge of docpack.graph.edges) {
		const source = symbols.get(edge.source);
		const target = symbols.get(edge.target);
		if (!source || !target) {
			continue;
		}
		if (edge.kind === 'calls') {
			push(calls, source.id, { symbol: target, score: null });
			push(calledBy, target.id, { symbol: source, score: null });
		} else if (edge.kind === 'related') {
			push(related, source.id, { symbol: target, score: edge.score });
			push(related, target.id, { symbol: source, score: edge.score });
		}
	}
	for (const list of related.values()) {
		list.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
	}
	const summarySources = new Map<string, SummarySource>();
	for (const entry of docpack.contexts ?? []) {
		summarySources.set(entry.symbol_id, entry.prompt === null ? 'offline' : 'model');
	}
	return {
		docpack,
		tree: buildTree(docpack, symbolsByFile),
		symbols,
		symbolsByFile,
		clusters: new Map(docpack.clusters.map((c) => [c.cluster_id, c])),
		calls,
		calledBy,
		related,
		summarySources
	};
}

/**
 * Symbols whose name matches `query`, best first: an exact name, then a name starting with it,
 * then a qualified name containing it; ties by importance. At most `limit`.
 */
export function searchSymbols(explorer: Explorer, query: string, limit = 20): SymbolNode[] {
	const q = query.trim().toLowerCase();
	if (q === '') {
		return [];
	}
	const scored: [number, SymbolNode][] = [];
	for (const symbol of explorer.symbols.values()) {
		const name = symbol.name.toLowerCase();
		const qualified = symbol.qualified_name.toLowerCase();
		const rank = name === q ? 0 : name.startsWith(q) ? 1 : qualified.includes(q) ? 2 : null;
		if (rank !== null) {
			scored.push([rank, symbol]);
		}
	}
	scored.sort((a, b) => a[0] - b[0] || b[1].centrality - a[1].centrality);
	return scored.slice(0, limit).map(([, symbol]) => symbol);
}

/**
 * The address of `path` (at `lines`) on the docpack's forge at its commit, when the docpack names
 * a GitHub or GitLab repository and a commit (or, failing a commit, a ref): what
 * `doctown export` links to as well.
 */
export function sourceLink(
	manifest: Manifest,
	path: string,
	lines: { start: number; end: number } | null
): string | null {
	const { repo_url: url, commit_hash: commit, git_ref: ref } = manifest.source;
	const repo = url.replace(/\/+$/, '').replace(/\.git$/, '');
	const at = commit ?? ref;
	const forge = /^https:\/\/github\.com\/[^/]+\/[^/]+$/.test(repo)
		? `${repo}/blob/`
		: /^https:\/\/gitlab\.com\/.+\/[^/]+$/.test(repo)
			? `${repo}/-/blob/`
			: null;
	if (!forge || !at) {
		return null;
	}
	const encoded = path.split('/').map(encodeURIComponent).join('/');
	return `${forge}${at}/${encoded}${lines ? `#L${lines.start}-L${lines.end}` : ''}`;
}

/** The symbol's source on its forge at the docpack's commit ([`sourceLink`]). */
export function sourceUrl(explorer: Explorer, symbol: SymbolNode): string | null {
	return sourceLink(explorer.docpack.manifest, symbol.path, symbol.line_range);
}

/** The label of the symbol's cluster. */
export function clusterLabel(explorer: Explorer, symbol: SymbolNode): string | null {
	return symbol.cluster_id === null
		? null
		: (explorer.clusters.get(symbol.cluster_id)?.label ?? null);
}
