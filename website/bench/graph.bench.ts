import { expect, test, type Page } from '@playwright/test';

// Frame times of the graph explorer over a big docpack ($DOCTOWN_BENCH_DOCPACK): while the
// force layout runs in its web worker, and while the user zooms and pans once it has stopped.
const docpack = process.env.DOCTOWN_BENCH_DOCPACK;

/** Frame intervals (ms) on the main thread for `ms` milliseconds, with long tasks seen. */
async function frames(page: Page, ms: number, during?: () => Promise<void>) {
	await page.evaluate((duration) => {
		const w = window as unknown as { __frames: number[]; __long: number[]; __done: boolean };
		w.__frames = [];
		w.__long = [];
		w.__done = false;
		new PerformanceObserver((list) => {
			for (const entry of list.getEntries()) w.__long.push(entry.duration);
		}).observe({ type: 'longtask' });
		let last = performance.now();
		const end = last + duration;
		const tick = (now: number) => {
			w.__frames.push(now - last);
			last = now;
			if (now < end) requestAnimationFrame(tick);
			else w.__done = true;
		};
		requestAnimationFrame(tick);
	}, ms);
	await during?.();
	await page.waitForFunction(() => (window as unknown as { __done: boolean }).__done, null, {
		timeout: ms + 10_000
	});
	const { list, long } = await page.evaluate(() => {
		const w = window as unknown as { __frames: number[]; __long: number[] };
		return { list: w.__frames, long: w.__long };
	});
	const sorted = [...list].sort((a, b) => a - b);
	const total = list.reduce((a, b) => a + b, 0);
	return {
		fps: +(list.length / (total / 1000)).toFixed(1),
		p50: +sorted[Math.floor(sorted.length * 0.5)].toFixed(1),
		p95: +sorted[Math.floor(sorted.length * 0.95)].toFixed(1),
		max: +sorted[sorted.length - 1].toFixed(1),
		longTasks: long.length,
		longestTask: +Math.max(0, ...long).toFixed(1)
	};
}

test('the graph explorer over a big docpack', async ({ page }) => {
	test.skip(!docpack, 'set DOCTOWN_BENCH_DOCPACK (scripts/bench-website does)');
	await page.goto('/open');
	const opened = Date.now();
	await page.getByLabel('Open a .docpack file').setInputFiles(docpack!);
	const graph = page.getByTestId('graph');
	await expect(graph).toBeVisible({ timeout: 60_000 });
	const readMs = Date.now() - opened;
	const nodes = Number(await graph.getAttribute('data-nodes'));
	await expect(page.locator('canvas').first()).toBeVisible();

	const layoutStarted = Date.now();
	const layingOut = await frames(page, 3000);
	await expect(page.getByText('laying out…')).toBeHidden({ timeout: 30_000 });
	const layoutMs = Date.now() - layoutStarted;
	// The first frame after the layout lands redraws every node: measured on its own.
	const settling = await frames(page, 3000);
	const box = (await graph.boundingBox())!;
	const cx = box.x + box.width / 2;
	const cy = box.y + box.height / 2;
	const interacting = await frames(page, 3000, async () => {
		await page.mouse.move(cx, cy);
		for (let i = 0; i < 6; i++) {
			await page.mouse.wheel(0, i < 3 ? -300 : 300);
			await page.waitForTimeout(150);
		}
		await page.mouse.down();
		for (let i = 0; i < 20; i++) {
			await page.mouse.move(cx + i * 10, cy + i * 5);
			await page.waitForTimeout(30);
		}
		await page.mouse.up();
	});
	const figures = { nodes, readAndVerifyMs: readMs, layoutMs, layingOut, settling, interacting };
	console.log(`graph bench: ${JSON.stringify(figures)}`);
	expect(nodes).toBeGreaterThan(0);
});
