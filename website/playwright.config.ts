import { defineConfig, devices } from '@playwright/test';
import { resolve } from 'node:path';

// The site's end-to-end tests, against the real coordinator in its single-machine mode
// (`doctown serve`, which serves the built site beside its API) documenting a small real
// repository (crates/doctown-intel/tests/fixtures) that a GitHub-shaped server on loopback
// serves as octo/samples. Run `npm run build` and `cargo build --workspace` first
// (scripts/test does both); the embedding model comes from scripts/fetch-model's settings.
const target = process.env.CARGO_TARGET_DIR ?? resolve('..', 'target');
const GITHUB_PORT = 43117;
const PORT = 43118;

export default defineConfig({
	testDir: 'e2e',
	// Two cores: one browser at a time.
	workers: 1,
	fullyParallel: false,
	forbidOnly: !!process.env.CI,
	retries: 0,
	timeout: 60_000,
	reporter: [['list']],
	outputDir: 'test-results/output',
	use: {
		baseURL: `http://127.0.0.1:${PORT}`,
		trace: 'retain-on-failure',
		screenshot: 'only-on-failure',
		launchOptions: {
			// Debian's Chromium: Playwright never downloads a browser here.
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--no-first-run',
				'--disable-dev-shm-usage',
				'--enable-unsafe-swiftshader'
			]
		}
	},
	projects: [
		{
			name: 'chromium',
			use: { ...devices['Desktop Chrome'], viewport: { width: 1400, height: 1000 } }
		}
	],
	webServer: [
		{
			command: `${target}/debug/fake-github ${GITHUB_PORT} octo/samples=${resolve('..', 'crates/doctown-intel/tests/fixtures')}`,
			url: `http://127.0.0.1:${GITHUB_PORT}/repos/octo/samples`,
			reuseExistingServer: false,
			stdout: 'pipe'
		},
		{
			command: `bash -c 'DOCTOWN_STORAGE_DIR="$(mktemp -d)" exec "${target}/debug/doctown" serve'`,
			url: `http://127.0.0.1:${PORT}/health`,
			reuseExistingServer: false,
			timeout: 120_000,
			env: {
				PORT: String(PORT),
				DOCTOWN_SITE_DIR: resolve('build'),
				DOCTOWN_GITHUB_API_URL: `http://127.0.0.1:${GITHUB_PORT}`,
				DOCTOWN_GITHUB_ARCHIVE_URL: `http://127.0.0.1:${GITHUB_PORT}`,
				DOCTOWN_OFFLINE: 'true',
				DOCTOWN_NO_CACHE: 'true'
			}
		}
	]
});
