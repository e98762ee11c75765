import { beforeAll, describe, expect, it } from 'vitest';
import type { Docpack } from './docpack';
import { explore, searchSymbols, sourceLink, sourceUrl } from './explore';
import { sampleDocpack } from './testdata';

let docpack: Docpack;
beforeAll(async () => {
	docpack = await sampleDocpack();
});

const names = (list: { symbol: { qualified_name: string } }[] | undefined) =>
	(list ?? []).map((l) => l.symbol.qualified_name);

describe('explore', () => {
	it('links calls both ways', () => {
		const explorer = explore(docpack);
		const parse = [...explorer.symbols.values()].find((s) => s.qualified_name === 'parse')!;
		expect(names(explorer.calls.get(parse.id))).toEqual(['Parser::new', 'helper']);
		// Two files have a `helper`: the one `parse` calls is called by it alone.
		const helper = explorer.calls.get(parse.id)![1].symbol;
		expect(helper.path).toBe(parse.path);
		expect(names(explorer.calledBy.get(helper.id))).toEqual(['parse']);
	});

	it('builds the file tree with symbol counts, folders first', () => {
		const moved: Docpack = {
			...docpack,
			files: docpack.files.map((f) => ({
				...f,
				path: f.path.endsWith('.py') ? f.path : `src/${f.path}`
			})),
			nodes: docpack.nodes.map((n) => ({
				...n,
				path: n.path.endsWith('.py') ? n.path : `src/${n.path}`
			}))
		};
		const tree = explore(moved).tree;
		expect(tree.children.map((c) => c.name)).toEqual(['src', 'sample.py']);
		expect(tree.symbolCount).toBe(docpack.nodes.length);
		const src = tree.children[0];
		expect(src.children.map((c) => c.name)).toEqual([
			'sample.go',
			'sample.jsx',
			'sample.rs',
			'sample.ts'
		]);
		expect(src.symbolCount).toBe(docpack.nodes.filter((n) => !n.path.endsWith('.py')).length);
	});

	it('says which summaries were written offline', () => {
		const explorer = explore(docpack);
		expect(new Set(explorer.summarySources.values())).toEqual(new Set(['offline']));
	});

	it('links to the forge at the commit only for GitHub and GitLab repositories', () => {
		const explorer = explore(docpack);
		const symbol = docpack.nodes[0];
		expect(sourceUrl(explorer, symbol)).toBeNull();
		const onGitHub = explore({
			...docpack,
			manifest: {
				...docpack.manifest,
				source: {
					repo_url: 'https://github.com/octo/hello',
					git_ref: 'main',
					commit_hash: 'abc123'
				}
			}
		});
		expect(sourceUrl(onGitHub, symbol)).toBe(
			`https://github.com/octo/hello/blob/abc123/${symbol.path}#L${symbol.line_range.start}-L${symbol.line_range.end}`
		);
		const source = (repo_url: string) => ({
			...docpack.manifest,
			source: { repo_url, git_ref: null, commit_hash: 'abc123' }
		});
		expect(sourceLink(source('https://gitlab.com/group/sub/proj.git'), 'a b/c#.rs', null)).toBe(
			'https://gitlab.com/group/sub/proj/-/blob/abc123/a%20b/c%23.rs'
		);
		expect(sourceLink(source('https://example.com/octo/hello'), 'a.rs', null)).toBeNull();
	});
});

describe('searchSymbols', () => {
	it('ranks an exact name first, then prefixes, then qualified names', () => {
		const explorer = explore(docpack);
		const found = searchSymbols(explorer, 'load').map((s) => s.qualified_name);
		expect(found[0]).toBe('load');
		expect(found).toContain('load._check');
		expect(searchSymbols(explorer, '  ')).toEqual([]);
		expect(searchSymbols(explorer, 'no-such-symbol')).toEqual([]);
	});
});
