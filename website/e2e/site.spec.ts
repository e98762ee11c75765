import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, statSync } from 'node:fs';

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
	await expect(page.getByRole('tree', { name: 'Files' })).toBeVisible({ timeout: 45_000 });
	const resultsOverflow = await page.evaluate(
		() => document.documentElement.scrollWidth - window.innerWidth
	);
	expect(resultsOverflow).toBeLessThanOrEqual(0);
	await page.screenshot({ path: `${SHOTS}/results-narrow.png`, fullPage: true });
});
