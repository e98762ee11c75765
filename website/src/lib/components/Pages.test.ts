// The pages view over the real sample docpack: the navigation of modules and topics, a page with
// its place in the tree, links between pages, and a symbol link leading to the explorer.
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Docpack } from '$lib/docpack';
import { pageIndex, type PageIndex } from '$lib/pages';
import { sampleDocpack } from '$lib/testdata';
import PageNav from './PageNav.svelte';
import PageView from './PageView.svelte';

let docpack: Docpack;
let index: PageIndex;
beforeAll(async () => {
	docpack = await sampleDocpack();
	index = pageIndex(docpack.pages!);
});

describe('PageNav', () => {
	it('lists the overview, the modules as they nest and the topics', async () => {
		const onselect = vi.fn();
		render(PageNav, { index, selected: 'overview', onselect });
		const nav = screen.getByRole('navigation', { name: 'Pages' });
		expect(within(nav).getByRole('button', { name: 'Overview' })).toHaveAttribute(
			'aria-current',
			'page'
		);
		const nested = index.modules[0].children[0].page;
		await userEvent.click(within(nav).getByRole('button', { name: nested.title }));
		expect(onselect).toHaveBeenCalledWith(nested.id);
		const topics = screen.getByRole('heading', { name: 'Topics' }).parentElement!;
		expect(within(topics).getAllByRole('button')).toHaveLength(index.topics.length);
	});
});

describe('PageView', () => {
	it('shows a page in its place and follows links to pages and symbols', async () => {
		const onpage = vi.fn();
		const onsymbol = vi.fn();
		const nested = index.modules[0].children[0].page;
		render(PageView, {
			docpack,
			index,
			page: nested,
			onpage,
			onsymbol,
			onfile: vi.fn()
		});
		expect(screen.getByRole('article', { name: nested.title })).toBeVisible();
		expect(screen.getByRole('heading', { level: 1, name: nested.title })).toBeVisible();
		const trail = screen.getByRole('list', { name: 'Place in the tree' });
		await userEvent.click(within(trail).getByRole('button', { name: 'fixtures' }));
		expect(onpage).toHaveBeenCalledWith('overview');
		const symbolLink = document.querySelector<HTMLAnchorElement>('a[data-symbol]')!;
		await userEvent.click(symbolLink);
		expect(onsymbol).toHaveBeenCalledWith(symbolLink.dataset.symbol);
		const sources = screen.getByRole('list', { name: 'Sources' });
		expect(within(sources).getAllByRole('listitem')).toHaveLength(nested.citations.length);
	});
});
