/** How languages, clusters and edge kinds look, in one place. */

import type { EdgeKind } from './docpack';

/** A language's badge: a short label and its colour. */
export interface LanguageBadge {
	label: string;
	name: string;
	color: string;
}

const LANGUAGES: Record<string, LanguageBadge> = {
	rust: { label: 'RS', name: 'Rust', color: '#b7410e' },
	python: { label: 'PY', name: 'Python', color: '#3572a5' },
	typescript: { label: 'TS', name: 'TypeScript', color: '#3178c6' },
	tsx: { label: 'TSX', name: 'TSX', color: '#2b7489' },
	javascript: { label: 'JS', name: 'JavaScript', color: '#a08800' },
	go: { label: 'GO', name: 'Go', color: '#00add8' }
};

/** The badge of `language` (`null`: text read but not parsed). */
export function languageBadge(language: string | null | undefined): LanguageBadge {
	return (
		(language && LANGUAGES[language]) || {
			label: 'TXT',
			name: language ?? 'Text',
			color: '#64748b'
		}
	);
}

const PALETTE = [
	'#0f766e',
	'#b45309',
	'#7c3aed',
	'#be123c',
	'#1d4ed8',
	'#15803d',
	'#c2410c',
	'#0369a1',
	'#a21caf',
	'#4d7c0f',
	'#9f1239',
	'#4338ca'
];

/** The colour of cluster `id` (grey for symbols in none). */
export function clusterColor(id: number | null | undefined): string {
	return id === null || id === undefined ? '#94a3b8' : PALETTE[id % PALETTE.length];
}

/** How each kind of edge is drawn. */
export const EDGE_STYLE: Record<EdgeKind, { color: string; size: number; label: string }> = {
	contains: { color: '#cbd5e1', size: 0.5, label: 'contains' },
	calls: { color: '#0f766e', size: 1.5, label: 'calls' },
	imports: { color: '#b45309', size: 1, label: 'imports' },
	related: { color: '#a78bfa', size: 0.8, label: 'related' }
};
