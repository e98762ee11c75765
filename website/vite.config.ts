import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [tailwindcss(), sveltekit(), svelteTesting()],
	server: {
		// `npm run dev` talks to a coordinator on its default port.
		proxy: Object.fromEntries(
			['/jobs', '/health'].map((path) => [
				path,
				process.env.DOCTOWN_API_URL ?? 'http://127.0.0.1:8080'
			])
		)
	},
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'jsdom',
		setupFiles: ['src/vitest-setup.ts']
	}
});
