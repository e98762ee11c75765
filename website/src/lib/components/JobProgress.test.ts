import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { emptyProgress, type Progress } from '$lib/events';
import JobProgress from './JobProgress.svelte';

function midway(): Progress {
	return {
		...emptyProgress(),
		status: 'generating',
		stages: {
			ingesting: 'done',
			embedding: 'done',
			assembling: 'done',
			generating: 'running',
			packing: 'waiting'
		},
		filesDetected: 12,
		filesSkipped: 3,
		languages: { python: 10, text: 2 },
		chunks: 40,
		chunksEmbedded: 40,
		clusters: 4,
		symbolsToDocument: 30,
		summaries: 7,
		costUsd: 0.0012,
		estimatedCostUsd: 0.005,
		startedAt: '2026-11-27T09:30:00Z'
	};
}

describe('JobProgress', () => {
	it('shows each stage with its counts', () => {
		render(JobProgress, { progress: midway(), now: Date.parse('2026-11-27T09:30:12.5Z') });
		const stages = screen.getByRole('list', { name: 'Stages' });
		expect(stages).toHaveTextContent('12 files, 3 skipped, 40 chunks');
		expect(stages).toHaveTextContent('40 / 40 chunks');
		expect(stages).toHaveTextContent('4 clusters');
		expect(stages).toHaveTextContent('7 / 30 summaries');
		expect(stages.querySelector('[data-stage="generating"]')).toHaveAttribute(
			'aria-current',
			'step'
		);
		expect(screen.getByTestId('elapsed')).toHaveTextContent('12.5 s');
		expect(screen.getByTestId('cost')).toHaveTextContent('$0.0012 of ~$0.0050');
		expect(screen.getByRole('list', { name: 'Languages' })).toHaveTextContent('Python: 10');
		expect(screen.queryByRole('alert')).toBeNull();
	});

	it("shows a failure with the backend's message and a retry button", async () => {
		const onretry = vi.fn();
		const progress: Progress = {
			...emptyProgress(),
			status: 'failed',
			stages: { ...emptyProgress().stages, ingesting: 'failed' },
			error: { code: 'not_found', message: 'GitHub has no repository octo/missing' }
		};
		render(JobProgress, { progress, onretry });
		const alert = screen.getByRole('alert');
		expect(alert).toHaveTextContent('The job failed.');
		expect(alert).toHaveTextContent('GitHub has no repository octo/missing');
		await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
		expect(onretry).toHaveBeenCalledOnce();
	});
});
