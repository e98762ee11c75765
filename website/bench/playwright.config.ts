import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

// The graph benchmark (`npm run bench:graph`, or scripts/bench-website which makes the docpack
// it reads): the built site served statically, the docpack opened from a file, frame times
// measured in Debian's Chromium.
const PORT = 43119;

export default defineConfig({
	testDir: '.',
	testMatch: 'graph.bench.ts',
	workers: 1,
	timeout: 180_000,
	reporter: [['list']],
	outputDir: '../test-results/bench',
	use: {
		...base.use,
		baseURL: `http://127.0.0.1:${PORT}`,
		viewport: { width: 1400, height: 1000 }
	},
	webServer: {
		command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
		cwd: '..',
		url: `http://127.0.0.1:${PORT}/`,
		reuseExistingServer: false
	}
});
