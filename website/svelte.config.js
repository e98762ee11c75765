import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: `doctown serve` (or any static host) serves index.html for every
		// path that is not a file, and the pages read everything from the coordinator's API.
		adapter: adapter({ fallback: 'index.html' })
	}
};

export default config;
