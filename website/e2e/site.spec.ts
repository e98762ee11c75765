import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// Screenshots of each main view, kept as test artifacts.
const SHOTS = 'test-results/screenshots';
mkdirSync(SHOTS, { recursive: true });

/** Fails the test on any console error or uncaught exception in the page. */
function watchConsole(page: Page): string[] {
	const errors: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error') {
			errors.push(message.text());
		}
	});
	page.on('pageerror', (error) => errors.push(String(error)));
	return errors;
}

test('a repository goes from its URL to live progress, results, the graph and a download', async ({
	page
}, testInfo) => {
	const errors = watchConsole(page);
	await page.goto('/');
	await page.screenshot({ path: `${SHOTS}/home.png`, fullPage: true });
	await page.getByLabel('GitHub repository URL').fill('https://github.com/octo/samples');
	await expect(page.getByRole('alert')).toHaveText('octo/samples');
	await page.getByRole('button', { name: 'Document it' }).click();

	// Live progress, to the end.
	await expect(page).toHaveURL(/\/job\/[0-9a-f-]{36}$/);
	const stages = page.getByRole('list', { name: 'Stages' });
	await expect(stages.locator('[data-stage="packing"]')).toHaveAttribute('data-state', 'done', {
		timeout: 45_000
	});
	for (const stage of ['ingesting', 'embedding', 'assembling', 'generating']) {
		await expect(stages.locator(`[data-stage="${stage}"]`)).toHaveAttribute('data-state', 'done');
	}
	await expect(stages).toContainText('5 files, 0 skipped');
	await expect(stages).toContainText('88 / 88 summaries');
	await expect(page.getByRole('list', { name: 'Languages' })).toContainText('Python: 1');
	await expect(page.getByText('completed', { exact: true })).toBeVisible();

	// The finished job opens on its overview, with the modules to read next.
	await expect(page.getByRole('tab', { name: 'Overview' })).toHaveAttribute(
		'aria-selected',
		'true'
	);
	const article = page.locator('article[data-page-kind]');
	await expect(article).toHaveAttribute('data-page-kind', 'overview');
	await expect(article.getByRole('heading', { name: 'Layout' })).toBeVisible();
	const pagesNav = page.getByRole('navigation', { name: 'Pages' });
	await expect(pagesNav.getByRole('button', { name: 'Overview' })).toHaveAttribute(
		'aria-current',
		'page'
	);
	// A diagram drawn by mermaid: an SVG in place of its source.
	const diagram = article.locator('figure[data-diagram][data-state="drawn"]').first();
	await expect(diagram.locator('svg')).toBeVisible({ timeout: 15_000 });
	await expect(article.locator('pre[data-diagram][data-state="failed"]')).toHaveCount(0);
	await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });

	// A module page, reached from the overview's layout, and its place in the tree.
	await article.locator('a[data-page^="module/"]').first().click();
	await expect(article).toHaveAttribute('data-page-kind', 'module');
	await expect(article.getByRole('heading', { name: 'Public API' })).toBeVisible();
	await expect(page.getByRole('list', { name: 'Place in the tree' })).toContainText('samples');
	await page.screenshot({ path: `${SHOTS}/module.png`, fullPage: true });
	// A topic page, from the navigation.
	await pagesNav
		.getByRole('heading', { name: 'Topics' })
		.locator('..')
		.getByRole('button')
		.first()
		.click();
	await expect(article).toHaveAttribute('data-page-kind', 'topic');
	// Citations: lines on GitHub at the commit, symbols in the explorer.
	await article.getByText(/^Sources \(\d+\)$/).click();
	await expect(
		article.getByRole('list', { name: 'Sources' }).getByRole('link', { name: 'source' }).first()
	).toHaveAttribute(
		'href',
		/^https:\/\/github\.com\/octo\/samples\/blob\/6e1735597bb21c5d979a077395df85e1d633e077\/.+#L\d+-L\d+$/
	);
	const cited = article.locator('a[data-symbol]').first();
	const citedName = (await cited.innerText()).trim();
	await cited.click();
	await expect(page.getByRole('tab', { name: 'Explorer' })).toHaveAttribute(
		'aria-selected',
		'true'
	);
	await expect(
		page.getByRole('complementary', { name: 'Symbol detail' }).getByRole('heading', { level: 3 })
	).toContainText(citedName.split(/[.:]+/).pop()!);
	// And back: the symbol's module page is a click away.
	await page.getByRole('button', { name: /^Read the page of / }).click();
	await expect(article).toHaveAttribute('data-page-kind', 'module');
	await page.getByRole('tab', { name: 'Explorer' }).click();

	// Results: the file tree, a file's symbols, a symbol's detail.
	const tree = page.getByRole('tree', { name: 'Files' });
	await expect(tree).toBeVisible();
	await tree.getByRole('button', { name: /sample\.py/ }).click();
	const symbols = page.getByRole('list', { name: 'Symbols' });
	await symbols.getByRole('button', { name: /class Config/ }).click();
	const detail = page.getByRole('complementary', { name: 'Symbol detail' });
	await expect(detail.getByRole('heading', { name: 'Config' })).toBeVisible();
	await expect(detail.getByTestId('location')).toContainText('sample.py:23');
	await expect(detail.getByRole('link', { name: 'View the source on GitHub' })).toHaveAttribute(
		'href',
		/^https:\/\/github\.com\/octo\/samples\/blob\/6e1735597bb21c5d979a077395df85e1d633e077\/sample\.py#L23-L40$/
	);
	await page.screenshot({ path: `${SHOTS}/results.png`, fullPage: true });

	// Search focuses the graph on a symbol; a click on the graph selects it.
	await page.getByRole('combobox', { name: 'Search symbols' }).fill('parse');
	await page.getByRole('option').first().click();
	await expect(detail.getByRole('heading', { name: 'parse' })).toBeVisible();
	await page.getByRole('button', { name: 'Clear selection' }).click();
	await expect(detail.getByRole('heading')).toHaveCount(0);
	const graph = page.getByTestId('graph');
	await expect(page.getByText('laying out…')).toBeHidden({ timeout: 15_000 });
	// The camera is centred on `parse` since the search chose it.
	await page.waitForTimeout(600);
	const box = (await graph.boundingBox())!;
	await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
	await expect(detail.getByRole('heading', { name: 'parse' })).toBeVisible();
	await page.getByRole('list', { name: 'Clusters' }).getByRole('button').first().click();
	await page.screenshot({ path: `${SHOTS}/graph.png`, fullPage: true });

	// The download is the docpack the job made, of the size shown.
	const link = page.getByRole('link', { name: /Download \.docpack/ });
	const downloading = page.waitForEvent('download');
	await link.click();
	const download = await downloading;
	const saved = testInfo.outputPath('samples.docpack');
	await download.saveAs(saved);
	const size = statSync(saved).size;
	expect(size).toBeGreaterThan(1000);
	await expect(link).toContainText(`(${Math.round(size / 1024)} KB)`);

	// The same file opens in the browser with no backend involved.
	await page.goto('/open');
	await page.getByLabel('Open a .docpack file').setInputFiles(saved);
	await expect(page.locator('article[data-page-kind="overview"]')).toBeVisible();
	await expect(
		page.locator('article[data-page-kind] figure[data-state="drawn"] svg').first()
	).toBeVisible({
		timeout: 15_000
	});
	await page.getByRole('tab', { name: 'Explorer' }).click();
	await expect(page.getByRole('tree', { name: 'Files' })).toBeVisible();
	await expect(page.getByRole('heading', { level: 2 })).toHaveText(
		'https://github.com/octo/samples'
	);
	await page.screenshot({ path: `${SHOTS}/open.png`, fullPage: true });
	expect(errors).toEqual([]);
});

test('an invalid URL is explained before anything is sent', async ({ page }) => {
	const errors = watchConsole(page);
	await page.goto('/');
	const input = page.getByLabel('GitHub repository URL');
	// By keyboard alone: focus the field, type, submit with Enter.
	await input.focus();
	await page.keyboard.type('https://gitlab.com/octo/samples');
	await page.keyboard.press('Enter');
	await expect(page.getByRole('alert')).toContainText('is not a GitHub repository URL');
	await expect(input).toHaveAttribute('aria-invalid', 'true');
	await expect(page).toHaveURL(/\/$/);
	await page.screenshot({ path: `${SHOTS}/invalid-url.png` });
	expect(errors).toEqual([]);
});

test("a failing job shows the backend's message and can be retried", async ({ page }) => {
	const errors = watchConsole(page);
	await page.goto('/');
	await page.getByLabel('GitHub repository URL').fill('https://github.com/octo/missing');
	await page.getByRole('button', { name: 'Document it' }).click();
	await expect(page).toHaveURL(/\/job\//);
	const failure = page.getByRole('alert').filter({ hasText: 'The job failed.' });
	await expect(failure).toContainText('octo/missing');
	await expect(page.locator('[data-stage="ingesting"]')).toHaveAttribute('data-state', 'failed');
	await page.screenshot({ path: `${SHOTS}/failed-job.png`, fullPage: true });
	const first = page.url();
	await failure.getByRole('button', { name: 'Retry' }).click();
	await expect(page).not.toHaveURL(first);
	await expect(page.getByRole('alert').filter({ hasText: 'The job failed.' })).toBeVisible();
	// The home page lists both attempts.
	await page.goto('/');
	await expect(page.getByRole('region', { name: 'Recent jobs' }).getByRole('link')).not.toHaveCount(
		0
	);
	// The 404 of a job that never existed is an error, not a console failure.
	expect(errors).toEqual([]);
});

test('the home page and results fit a narrow screen', async ({ page }) => {
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto('/');
	const overflow = await page.evaluate(
		() => document.documentElement.scrollWidth - window.innerWidth
	);
	expect(overflow).toBeLessThanOrEqual(0);
	await page.screenshot({ path: `${SHOTS}/home-narrow.png`, fullPage: true });
	await page.getByLabel('GitHub repository URL').fill('https://github.com/octo/samples');
	await page.getByRole('button', { name: 'Document it' }).click();
	await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 45_000 });
	const pagesOverflow = await page.evaluate(
		() => document.documentElement.scrollWidth - window.innerWidth
	);
	expect(pagesOverflow).toBeLessThanOrEqual(0);
	await page.screenshot({ path: `${SHOTS}/overview-narrow.png`, fullPage: true });
	await page.getByRole('tab', { name: 'Explorer' }).click();
	await expect(page.getByRole('tree', { name: 'Files' })).toBeVisible();
	const resultsOverflow = await page.evaluate(
		() => document.documentElement.scrollWidth - window.innerWidth
	);
	expect(resultsOverflow).toBeLessThanOrEqual(0);
	await page.screenshot({ path: `${SHOTS}/results-narrow.png`, fullPage: true });
});

test('the static site of doctown export opens from the file system, searches and draws its diagrams', async ({
	page
}, testInfo) => {
	const errors = watchConsole(page);
	const site = testInfo.outputPath('site');
	const target = process.env.CARGO_TARGET_DIR ?? resolve('..', 'target');
	execFileSync(`${target}/debug/doctown`, [
		'export',
		'src/lib/testdata/sample.docpack',
		'--format',
		'html',
		'-o',
		site,
		'--mermaid-js',
		'node_modules/mermaid/dist/mermaid.min.js'
	]);
	await page.goto(pathToFileURL(`${site}/index.html`).href);
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('fixtures');
	// Diagrams drawn by the copy of mermaid beside the site.
	await expect(page.locator('pre.mermaid svg').first()).toBeVisible({ timeout: 15_000 });
	await page.screenshot({ path: `${SHOTS}/static-site.png`, fullPage: true });
	// The search finds symbols and pages, with no server.
	const search = page.getByRole('searchbox', { name: 'Search pages and symbols' });
	await search.fill('Parser');
	const results = page.getByRole('list', { name: 'Search results' });
	await expect(results.getByRole('link').first()).toContainText('Parser');
	await search.fill('zzzz-nothing');
	await expect(results).toContainText('Nothing matches');
	// The navigation leads to a module page, which knows where it is.
	await page
		.getByRole('navigation', { name: 'Pages' })
		.getByRole('link', { name: 'sample', exact: true })
		.click();
	await expect(page).toHaveURL(/\/modules\/sample\.html$/);
	await expect(page.getByRole('heading', { name: 'Public API' })).toBeVisible();
	await search.fill('add');
	await results.getByRole('link').first().click();
	await expect(page).toHaveURL(/\.html(#.*)?$/);
	expect(errors).toEqual([]);
});
