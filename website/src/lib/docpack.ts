/**
 * Reads a `.docpack` (docs/docpack-spec.md) in the browser: a gzip-compressed tar of JSON members.
 * Every member's size and sha256, the docpack id and the manifest's checksum are verified as the
 * spec's reader does, so a docpack opened from a file is what its manifest says.
 */

import { parseTarGzip } from 'nanotar';

/** A byte or line range. */
export interface Range {
	start: number;
	end: number;
}

/** `manifest.json`. */
export interface Manifest {
	schema_version: string;
	docpack_id: string;
	created_at: string;
	generator: { name: string; version: string };
	source: { repo_url: string; git_ref: string | null; commit_hash: string | null };
	statistics: {
		file_count: number;
		symbol_count: number;
		chunk_count: number;
		edge_count: number;
		cluster_count: number;
		embedding_dimensions: number;
		languages: Record<string, number>;
	};
	optional: { has_embeddings: boolean; has_symbol_contexts: boolean; has_pages?: boolean };
	checksum: { algorithm: string; value: string };
	members: { path: string; size_bytes: number; sha256: string }[];
}

/** A symbol (`nodes.json`). */
export interface SymbolNode {
	id: string;
	name: string;
	qualified_name: string;
	kind: string;
	language: string;
	path: string;
	signature: string;
	doc: string | null;
	summary: string | null;
	visibility: string;
	byte_range: Range;
	line_range: Range;
	parent: string | null;
	cluster_id: number | null;
	centrality: number;
}

/** A node of `graph.json`. */
export interface GraphNode {
	id: string;
	kind: 'symbol' | 'file' | 'module';
	label: string;
	in_degree: number;
	out_degree: number;
	centrality: number;
}

/** An edge's kind. */
export type EdgeKind = 'contains' | 'calls' | 'imports' | 'related';

/** An edge of `graph.json`. */
export interface GraphEdge {
	source: string;
	target: string;
	kind: EdgeKind;
	score: number | null;
}

/** A cluster (`clusters.json`). */
export interface Cluster {
	cluster_id: number;
	label: string;
	member_count: number;
	member_ids: string[];
	representative_ids: string[];
}

/** A file of `source_map.json`. */
export interface SourceFile {
	path: string;
	language: string | null;
	bytes: number;
	chunks: { chunk_id: string; byte_range: Range; line_range: Range; symbol_ids: string[] }[];
}

/** One entry of `symbol_contexts.json`. */
export interface SymbolContextEntry {
	symbol_id: string;
	prompt: string | null;
	context: Record<string, unknown>;
}

/** A page of `pages.json` (docpack/1.1): the overview, a module's or a topic's page. */
export interface Page {
	id: string;
	kind: 'overview' | 'module' | 'topic';
	title: string;
	parent: string | null;
	body: string;
	files: string[];
	symbols: string[];
	citations: { path: string; line_range: Range; symbol_id: string | null }[];
}

/** A docpack, read and verified. */
export interface Docpack {
	manifest: Manifest;
	nodes: SymbolNode[];
	graph: { density: number; nodes: GraphNode[]; edges: GraphEdge[] };
	clusters: Cluster[];
	files: SourceFile[];
	/** The contexts, when the docpack keeps them. */
	contexts: SymbolContextEntry[] | null;
	/** The pages, when the docpack has them (docpack/1.1 and later). */
	pages: Page[] | null;
	/** The file's size in bytes. */
	sizeBytes: number;
}

/** Why a file is not a readable docpack; the message says what is wrong. */
export class DocpackError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'DocpackError';
	}
}

const KNOWN_MEMBERS = new Set([
	'manifest.json',
	'clusters.json',
	'graph.json',
	'nodes.json',
	'source_map.json',
	'embeddings.bin',
	'pages.json',
	'symbol_contexts.json'
]);

async function sha256(bytes: Uint8Array | string): Promise<string> {
	const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
	const digest = await crypto.subtle.digest('SHA-256', data as BufferSource);
	return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function json<T>(name: string, bytes: Uint8Array): T {
	try {
		return JSON.parse(new TextDecoder().decode(bytes)) as T;
	} catch (err) {
		throw new DocpackError(`${name} is not valid JSON (${String(err)})`);
	}
}

/** Reads and verifies the docpack in `bytes`. */
export async function readDocpack(bytes: ArrayBuffer | Uint8Array): Promise<Docpack> {
	const size = bytes.byteLength;
	let entries: Awaited<ReturnType<typeof parseTarGzip>>;
	try {
		entries = await parseTarGzip(bytes);
	} catch (err) {
		throw new DocpackError(
			`this is not a docpack: it does not read as a gzip-compressed tar archive (${String(err)})`
		);
	}
	if (entries.length === 0 || entries[0].name !== 'manifest.json') {
		throw new DocpackError('this is not a docpack: its first member is not manifest.json');
	}
	const members = new Map<string, Uint8Array>();
	for (const entry of entries) {
		if (!KNOWN_MEMBERS.has(entry.name) || entry.type !== 'file') {
			throw new DocpackError(`the docpack holds ${entry.name}, which the format does not have`);
		}
		if (members.has(entry.name)) {
			throw new DocpackError(`the docpack holds ${entry.name} twice`);
		}
		members.set(entry.name, entry.data ?? new Uint8Array());
	}
	const manifestBytes = members.get('manifest.json')!;
	const manifestText = new TextDecoder().decode(manifestBytes);
	const manifest = json<Manifest>('manifest.json', manifestBytes);
	if (!/^docpack\/1\.\d+$/.test(manifest.schema_version ?? '')) {
		throw new DocpackError(
			`the docpack is ${manifest.schema_version}; this site reads docpack/1.x: open it with a newer Doctown`
		);
	}
	// The checksum is the manifest's sha256 as written with the checksum's value left empty.
	const value = manifest.checksum?.value ?? '';
	const blanked = manifestText.replace(`"value": "${value}"`, '"value": ""');
	if (manifest.checksum?.algorithm !== 'sha256' || (await sha256(blanked)) !== value) {
		throw new DocpackError("the manifest's checksum does not match: the docpack is damaged");
	}
	const lines: string[] = [];
	for (const member of manifest.members) {
		const data = members.get(member.path);
		if (!data) {
			throw new DocpackError(`the manifest lists ${member.path}, which the docpack lacks`);
		}
		if (data.byteLength !== member.size_bytes || (await sha256(data)) !== member.sha256) {
			throw new DocpackError(`${member.path} does not match its checksum: the docpack is damaged`);
		}
		lines.push(`${member.sha256}  ${member.size_bytes}  ${member.path}\n`);
	}
	if (members.size !== manifest.members.length + 1) {
		throw new DocpackError('the docpack holds a member its manifest does not list');
	}
	if ((await sha256(lines.join(''))) !== manifest.docpack_id) {
		throw new DocpackError("the docpack's id does not match its members: the docpack is damaged");
	}
	const read = <T>(name: string): T => json<T>(name, members.get(name)!);
	const contexts = members.has('symbol_contexts.json')
		? read<{ contexts: SymbolContextEntry[] }>('symbol_contexts.json').contexts
		: null;
	return {
		manifest,
		nodes: read<{ nodes: SymbolNode[] }>('nodes.json').nodes,
		graph: read<Docpack['graph']>('graph.json'),
		clusters: read<{ clusters: Cluster[] }>('clusters.json').clusters,
		files: read<{ files: SourceFile[] }>('source_map.json').files,
		contexts,
		pages: members.has('pages.json') ? read<{ pages: Page[] }>('pages.json').pages : null,
		sizeBytes: size
	};
}

/** `bytes` for people: `1.4 MB`. */
export function formatBytes(bytes: number): string {
	if (bytes < 1024) {
		return `${bytes} B`;
	}
	const units = ['KB', 'MB', 'GB'];
	let value = bytes / 1024;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit += 1;
	}
	return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
