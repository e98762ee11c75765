// The pages of the real sample docpack as the site shows them, and every diagram Doctown draws
// (the sample's and the snapshot of awkward names that crates/doctown-pages keeps beside these
// tests) read by mermaid's own parser.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mermaid from 'mermaid';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Docpack, Page } from './docpack';
import { breadcrumbs, diagrams, pageIndex, parseLink, renderPage } from './pages';
import { sampleDocpack } from './testdata';

let docpack: Docpack;
let pages: Page[];
beforeAll(async () => {
	docpack = await sampleDocpack();
	pages = docpack.pages ?? [];
	mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
});

/** The snapshot `crates/doctown-pages/tests/pages.rs` keeps: insta's header, then a JSON list. */
function snapshotDiagrams(): string[] {
	const text = readFileSync(resolve(process.cwd(), 'src/lib/testdata/diagrams.snap'), 'utf8');
	const body = text.split(/^---$/m).slice(2).join('---');
	return JSON.parse(body) as string[];
}

describe('pageIndex', () => {
	it('puts the overview first, nests module pages by their parent and lists topics', () => {
		const index = pageIndex(pages);
		expect(index.overview?.kind).toBe('overview');
		const nested = (entries: ReturnType<typeof pageIndex>['modules']): number =>
			entries.reduce((sum, entry) => sum + 1 + nested(entry.children), 0);
		expect(nested(index.modules)).toBe(pages.filter((p) => p.kind === 'module').length);
		expect(index.topics.length).toBe(pages.filter((p) => p.kind === 'topic').length);
		expect(index.topics.length).toBeGreaterThan(0);
		for (const entry of index.modules) {
			expect(entry.page.parent).toBe(index.overview?.id);
			expect(breadcrumbs(index, entry.page).map((p) => p.id)).toEqual([index.overview?.id]);
		}
	});

	it('knows the module page of each symbol a module page covers', () => {
		const index = pageIndex(pages);
		const symbol = docpack.nodes.find((node) => index.moduleOf.has(node.id))!;
		expect(index.moduleOf.get(symbol.id)?.symbols).toContain(symbol.id);
	});
});

describe('parseLink', () => {
	it('reads the three doctown: links and nothing else', () => {
		expect(parseLink('doctown:page/module/src%20x')).toEqual({ kind: 'page', id: 'module/src x' });
		expect(parseLink('doctown:symbol/sym_1')).toEqual({ kind: 'symbol', id: 'sym_1' });
		expect(parseLink('doctown:source/a%23b.rs#L3-L9')).toEqual({
			kind: 'source',
			path: 'a#b.rs',
			lines: { start: 3, end: 9 }
		});
		expect(parseLink('doctown:source/a.rs')).toEqual({ kind: 'source', path: 'a.rs', lines: null });
		expect(parseLink('https://example.com')).toBeNull();
	});
});

describe('renderPage', () => {
	it('turns doctown: links into links the site follows', () => {
		const overview = pageIndex(pages).overview!;
		const html = renderPage(docpack, overview);
		expect(html).toContain('data-page="module/');
		expect(html).toContain('data-symbol="');
		expect(html).not.toContain('doctown:');
	});

	it('links source to GitHub at the commit when the docpack names one', () => {
		const page: Page = { ...pages[0], body: '[`a.py:3`](doctown:source/a.py#L3-L4)' };
		const onGitHub = {
			manifest: {
				...docpack.manifest,
				source: { repo_url: 'https://github.com/octo/x', git_ref: null, commit_hash: 'c0ffee' }
			}
		};
		expect(renderPage(onGitHub, page)).toContain(
			'href="https://github.com/octo/x/blob/c0ffee/a.py#L3-L4"'
		);
		expect(renderPage(docpack, page)).toContain('<a href="#" data-file="a.py">');
	});

	it('shows markup and scripts a page holds as text', () => {
		const page: Page = {
			...pages[0],
			body: '<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))'
		};
		const html = renderPage(docpack, page);
		expect(html).not.toContain('<script');
		expect(html).not.toContain('<img');
		expect(html).not.toContain('href="javascript:');
	});

	it('keeps diagrams as their source, to be drawn', () => {
		const withDiagram = pages.find((page) => diagrams(page).length > 0)!;
		expect(renderPage(docpack, withDiagram)).toContain(
			'<pre class="diagram" data-diagram>flowchart'
		);
	});
});

describe('diagrams', () => {
	it("parse with mermaid's own parser: the sample's and the awkward names'", async () => {
		const sources = [...pages.flatMap(diagrams), ...snapshotDiagrams()];
		expect(sources.length).toBeGreaterThan(6);
		for (const source of sources) {
			await expect(mermaid.parse(source), source).resolves.toBeTruthy();
		}
	});

	it('a broken diagram does not parse (the check above can fail)', async () => {
		await expect(mermaid.parse('flowchart LR\n  n0["a"] --> [')).rejects.toThrow();
	});
});
