/**
 * The repository URL forms the coordinator accepts (`POST /jobs`), checked as the user types so
 * that a mistake is shown before anything is sent. The backend checks again: its message wins
 * when the two disagree.
 */

/** A repository URL that passed the check. */
export interface RepoRef {
	owner: string;
	name: string;
	/** The branch, tag or commit the URL names, when it names one. */
	gitRef: string | null;
	/** The canonical `https://github.com/OWNER/NAME` form. */
	canonical: string;
}

/** What the check says about an input. */
export type RepoUrlCheck = { ok: true; repo: RepoRef } | { ok: false; message: string };

/** The forms accepted, as the messages name them. */
export const ACCEPTED_FORMS =
	'https://github.com/OWNER/REPO (optionally ending in .git, /tree/REF, /commit/SHA or /releases/tag/TAG) or git@github.com:OWNER/REPO.git';

const NAME = /^[A-Za-z0-9._-]+$/;

function isName(segment: string | undefined): segment is string {
	return segment !== undefined && segment !== '.' && segment !== '..' && NAME.test(segment);
}

/** Checks `input` as the backend's GitHub URL parser does. */
export function checkRepoUrl(input: string): RepoUrlCheck {
	const text = input.trim();
	if (text === '') {
		return {
			ok: false,
			message: 'Paste a GitHub repository URL, such as https://github.com/OWNER/REPO.'
		};
	}
	const invalid: RepoUrlCheck = {
		ok: false,
		message: `“${text}” is not a GitHub repository URL; use ${ACCEPTED_FORMS}.`
	};
	let rest: string;
	if (text.startsWith('git@github.com:')) {
		rest = text.slice('git@github.com:'.length);
	} else {
		if (!text.includes('://') && !text.startsWith('github.com/')) {
			return invalid;
		}
		const withoutScheme = text.replace(/^https?:\/\//, '').replace(/^www\./, '');
		if (!withoutScheme.startsWith('github.com/')) {
			return invalid;
		}
		rest = withoutScheme.slice('github.com/'.length);
	}
	rest = rest.split(/[?#]/)[0].replace(/\/+$/, '');
	const parts = rest.split('/');
	const owner = parts[0];
	const name = parts[1]?.replace(/\.git$/, '');
	if (!isName(owner) || !isName(name)) {
		return invalid;
	}
	const remainder = parts.slice(2);
	let gitRef: string | null;
	if (remainder.length === 0) {
		gitRef = null;
	} else if (remainder[0] === 'tree' && remainder.length > 1) {
		gitRef = remainder.slice(1).join('/');
	} else if ((remainder[0] === 'commit' || remainder[0] === 'commits') && remainder.length === 2) {
		gitRef = remainder[1];
	} else if (remainder[0] === 'blob' && remainder.length > 1) {
		gitRef = remainder[1];
	} else if (remainder[0] === 'releases' && remainder[1] === 'tag' && remainder.length === 3) {
		gitRef = remainder[2];
	} else {
		return invalid;
	}
	return {
		ok: true,
		repo: { owner, name, gitRef, canonical: `https://github.com/${owner}/${name}` }
	};
}
