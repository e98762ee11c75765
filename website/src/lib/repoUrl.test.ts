import { describe, expect, it } from 'vitest';
import { checkRepoUrl } from './repoUrl';

describe('checkRepoUrl', () => {
	it.each([
		['https://github.com/rust-lang/log', 'rust-lang', 'log', null],
		['https://github.com/rust-lang/log.git', 'rust-lang', 'log', null],
		['http://www.github.com/rust-lang/log/', 'rust-lang', 'log', null],
		['github.com/rust-lang/log', 'rust-lang', 'log', null],
		['git@github.com:rust-lang/log.git', 'rust-lang', 'log', null],
		['https://github.com/rust-lang/log/tree/feature/x', 'rust-lang', 'log', 'feature/x'],
		['https://github.com/rust-lang/log/commit/6e17355', 'rust-lang', 'log', '6e17355'],
		['https://github.com/rust-lang/log/releases/tag/0.4.22', 'rust-lang', 'log', '0.4.22'],
		['https://github.com/rust-lang/log/blob/main/src/lib.rs', 'rust-lang', 'log', 'main'],
		['  https://github.com/rust-lang/log?tab=readme#top  ', 'rust-lang', 'log', null]
	])('accepts %s', (input, owner, name, gitRef) => {
		const check = checkRepoUrl(input);
		expect(check).toEqual({
			ok: true,
			repo: { owner, name, gitRef, canonical: `https://github.com/${owner}/${name}` }
		});
	});

	it.each([
		'https://gitlab.com/rust-lang/log',
		'https://github.com/rust-lang',
		'https://github.com/rust-lang/log/issues/1',
		'https://github.com/../log',
		'rust-lang/log',
		'/home/me/project',
		'ftp://github.com/rust-lang/log'
	])('refuses %s, naming the accepted forms', (input) => {
		const check = checkRepoUrl(input);
		expect(check.ok).toBe(false);
		if (!check.ok) {
			expect(check.message).toContain('https://github.com/OWNER/REPO');
		}
	});

	it('asks for a URL when there is none', () => {
		expect(checkRepoUrl('   ')).toEqual({
			ok: false,
			message: expect.stringContaining('Paste a GitHub repository URL')
		});
	});
});
