/**
 * The docpack's pages (docs/docpack-spec.md, `pages.json`) as the site shows them: the tree of
 * module pages, and each page's markdown as HTML whose `doctown:` links become links the site
 * follows (another page, a symbol in the explorer) or the source on the forge at the commit.
 */

import MarkdownIt from 'markdown-it';
import type { Docpack, Manifest, Page } from './docpack';
import { sourceLink } from './explore';

/** A module page and the module pages nested in it. */
export interface PageTreeEntry {
	page: Page;
	children: PageTreeEntry[];
}

/** The pages, arranged as the site's navigation shows them. */
export interface PageIndex {
	/** Every page by id. */
	byId: Map<string, Page>;
	/** The repository's overview. */
	overview: Page | null;
	/** The module pages whose module is at the top of the tree, each with those nested in it. */
	modules: PageTreeEntry[];
	/** The topic pages. */
	topics: Page[];
	/** The module page covering each symbol a module page covers. */
	moduleOf: Map<string, Page>;
}

/** Arranges the docpack's pages: the overview, the module tree (by each page's parent), the topics. */
export function pageIndex(pages: Page[]): PageIndex {
	const byId = new Map(pages.map((page) => [page.id, page]));
	const entries = new Map<string, PageTreeEntry>();
	for (const page of pages) {
		if (page.kind === 'module') {
			entries.set(page.id, { page, children: [] });
		}
	}
	const modules: PageTreeEntry[] = [];
	for (const entry of entries.values()) {
		const parent = entry.page.parent ? entries.get(entry.page.parent) : undefined;
		(parent ? parent.children : modules).push(entry);
	}
	const moduleOf = new Map<string, Page>();
	for (const entry of entries.values()) {
		for (const symbol of entry.page.symbols) {
			if (!moduleOf.has(symbol)) {
				moduleOf.set(symbol, entry.page);
			}
		}
	}
	return {
		byId,
		moduleOf,
		overview: pages.find((page) => page.kind === 'overview') ?? null,
		modules,
		topics: pages.filter((page) => page.kind === 'topic')
	};
}

/** Where a `doctown:` link of a page leads. */
export type PageLink =
	| { kind: 'page'; id: string }
	| { kind: 'symbol'; id: string }
	| { kind: 'source'; path: string; lines: { start: number; end: number } | null };

/** The target of a `doctown:` URI, or null for any other URI. */
export function parseLink(uri: string): PageLink | null {
	const match = /^doctown:(page|symbol|source)\/(.*)$/.exec(uri);
	if (!match) {
		return null;
	}
	const [, kind, rest] = match;
	const decode = (text: string) => {
		try {
			return decodeURIComponent(text);
		} catch {
			return text;
		}
	};
	if (kind === 'source') {
		const lines = /^(.*)#L(\d+)-L(\d+)$/.exec(rest);
		return lines
			? { kind, path: decode(lines[1]), lines: { start: Number(lines[2]), end: Number(lines[3]) } }
			: { kind, path: decode(rest), lines: null };
	}
	return { kind: kind as 'page' | 'symbol', id: decode(rest) };
}

// Raw HTML in a page is shown as text (`html: false`), so a docpack cannot put markup or scripts
// into the site; markdown-it also refuses `javascript:` and similar link schemes.
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

markdown.renderer.rules.fence = (tokens, index) => {
	const token = tokens[index];
	const escaped = markdown.utils.escapeHtml(token.content);
	if (token.info.trim() === 'mermaid') {
		return `<pre class="diagram" data-diagram>${escaped}</pre>\n`;
	}
	return `<pre><code>${escaped}</code></pre>\n`;
};

const defaultLinkOpen =
	markdown.renderer.rules.link_open ??
	((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));

markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
	const token = tokens[index];
	const { manifest } = env as RenderEnv;
	const link = parseLink(String(token.attrGet('href') ?? ''));
	if (link?.kind === 'page') {
		token.attrSet('href', `#${encodeURIComponent(link.id)}`);
		token.attrSet('data-page', link.id);
	} else if (link?.kind === 'symbol') {
		token.attrSet('href', '#');
		token.attrSet('data-symbol', link.id);
	} else if (link?.kind === 'source') {
		const onForge = sourceLink(manifest, link.path, link.lines);
		token.attrSet('data-file', link.path);
		if (onForge) {
			token.attrSet('href', onForge);
			token.attrSet('target', '_blank');
			token.attrSet('rel', 'noreferrer');
		} else {
			token.attrSet('href', '#');
		}
	} else {
		token.attrSet('target', '_blank');
		token.attrSet('rel', 'noreferrer');
	}
	return defaultLinkOpen(tokens, index, options, env, self);
};

/** What the renderer's rules read: the docpack's manifest (for its forge and commit). */
type RenderEnv = { manifest: Manifest };

/**
 * The page's markdown as HTML: links to pages carry `data-page`, to symbols `data-symbol`, to
 * source `data-file` (and the forge's address at the commit where the docpack names one);
 * mermaid blocks are `<pre data-diagram>` holding the diagram's source, to be drawn.
 */
export function renderPage(docpack: Pick<Docpack, 'manifest'>, page: Page): string {
	const env: RenderEnv = { manifest: docpack.manifest };
	return markdown.render(page.body, env);
}

/** The mermaid source of each diagram of the page, in order. */
export function diagrams(page: Page): string[] {
	return markdown
		.parse(page.body, {})
		.filter((token) => token.type === 'fence' && token.info.trim() === 'mermaid')
		.map((token) => token.content);
}

/** The page's place in the tree: the titles of the pages above it, outermost first. */
export function breadcrumbs(index: PageIndex, page: Page): Page[] {
	const trail: Page[] = [];
	const seen = new Set<string>([page.id]);
	let parent = page.parent ? index.byId.get(page.parent) : undefined;
	while (parent && !seen.has(parent.id)) {
		seen.add(parent.id);
		trail.unshift(parent);
		parent = parent.parent ? index.byId.get(parent.parent) : undefined;
	}
	return trail;
}
