// The results components over the real sample docpack: the file tree, a file's symbols, a
// symbol's detail and the search.
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { explore, searchSymbols, type Explorer } from '$lib/explore';
import { sampleDocpack } from '$lib/testdata';
import FileTree from './FileTree.svelte';
import SymbolDetail from './SymbolDetail.svelte';
import SymbolList from './SymbolList.svelte';
import SymbolSearch from './SymbolSearch.svelte';

let explorer: Explorer;
beforeAll(async () => {
	explorer = explore(await sampleDocpack());
});

const symbolNamed = (name: string) =>
	[...explorer.symbols.values()].find((s) => s.qualified_name === name)!;

describe('FileTree', () => {
	it('lists files with their language and symbol count, and selects one', async () => {
		const onselect = vi.fn();
		render(FileTree, { entry: explorer.tree, onselect });
		const tree = screen.getByRole('tree', { name: 'Files' });
		const python = within(tree).getByRole('button', { name: /sample\.py/ });
		expect(python).toHaveTextContent(String(explorer.symbolsByFile.get('sample.py')!.length));
		expect(within(python).getByLabelText('Python')).toHaveTextContent('PY');
		await userEvent.click(python);
		expect(onselect).toHaveBeenCalledWith('sample.py');
	});
});

describe('SymbolList', () => {
	it('shows kind, signature and summary, with a badge on offline summaries', async () => {
		const onselect = vi.fn();
		const symbols = explorer.symbolsByFile.get('sample.py')!;
		render(SymbolList, { symbols, sources: explorer.summarySources, onselect });
		const config = symbolNamed('Config');
		const item = screen.getByRole('button', { name: new RegExp(config.signature.slice(0, 12)) });
		expect(item).toHaveTextContent('class');
		expect(item).toHaveTextContent(config.summary!);
		expect(within(item).getByText('offline')).toBeInTheDocument();
		await userEvent.click(item);
		expect(onselect).toHaveBeenCalledWith(config.id);
	});
});

describe('SymbolDetail', () => {
	it('shows where the symbol is, what it calls and what calls it', async () => {
		const onselect = vi.fn();
		const parse = symbolNamed('parse');
		render(SymbolDetail, { explorer, symbol: parse, onselect });
		expect(screen.getByRole('heading', { name: 'parse' })).toBeInTheDocument();
		expect(screen.getByTestId('location')).toHaveTextContent(
			`${parse.path}:${parse.line_range.start}–${parse.line_range.end}`
		);
		expect(screen.getByText('Calls (2)')).toBeInTheDocument();
		expect(screen.getByText('Called by (0)')).toBeInTheDocument();
		expect(screen.getByLabelText('importance')).toHaveAttribute('value', String(parse.centrality));
		await userEvent.click(screen.getByRole('button', { name: 'helper' }));
		expect(onselect).toHaveBeenCalledWith(explorer.calls.get(parse.id)![1].symbol.id);
	});
});

describe('SymbolSearch', () => {
	it('finds symbols by name and selects one with the keyboard', async () => {
		const onselect = vi.fn();
		render(SymbolSearch, { explorer, onselect });
		const input = screen.getByRole('combobox', { name: 'Search symbols' });
		await userEvent.type(input, 'load');
		const options = screen.getAllByRole('option');
		expect(options[0]).toHaveTextContent('load');
		await userEvent.keyboard('{ArrowDown}{Enter}');
		expect(onselect).toHaveBeenCalledWith(searchSymbols(explorer, 'load')[1].id);
		expect(input).toHaveValue('');
	});

	it('says when nothing matches', async () => {
		render(SymbolSearch, { explorer, onselect: vi.fn() });
		await userEvent.type(screen.getByRole('combobox', { name: 'Search symbols' }), 'zzz');
		expect(screen.getByText('No symbol matches “zzz”.')).toBeInTheDocument();
	});
});
