import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProgress, EnvelopeError, parseEnvelope, type Envelope } from './events';

/** Every example envelope of docs/events.md, the documented wire format. */
function documentedExamples(): Envelope[] {
	const text = readFileSync(resolve(process.cwd(), '../docs/events.md'), 'utf8');
	return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => parseEnvelope(m[1]));
}

let sequence = 0;
function event(
	type: string,
	payload: Record<string, unknown>,
	extra: Partial<Envelope> = {}
): Envelope {
	sequence += 1;
	return {
		event_id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
		event_type: `${type}.v1`,
		job_id: '00000000-0000-4000-8000-000000000001',
		sequence,
		timestamp: new Date(Date.UTC(2026, 10, 27, 9, 30, 0, sequence * 100)).toISOString(),
		payload,
		...extra
	};
}

describe('parseEnvelope', () => {
	it('reads every documented example', () => {
		const examples = documentedExamples();
		expect(examples.length).toBeGreaterThan(20);
		expect(new Set(examples.map((e) => e.event_type))).toContain('ingest.progress.v1');
	});

	it.each([
		['not json', 'is not JSON'],
		['[1]', 'no valid event_type'],
		['{"event_type":"ingest.started.v1","sequence":0,"payload":{}}', 'no valid sequence'],
		['{"event_type":"ingest.started.v1","sequence":1}', 'no payload']
	])('refuses %s', (data, message) => {
		expect(() => parseEnvelope(data)).toThrow(EnvelopeError);
		expect(() => parseEnvelope(data)).toThrow(message);
	});
});

describe('applyEvent', () => {
	const stream = (): Envelope[] => {
		sequence = 0;
		return [
			event('job.created', { repo_url: 'https://github.com/octo/hello' }),
			event('job.stage_changed', { from: 'queued', to: 'ingesting' }),
			event('ingest.progress', {
				files_detected: 1,
				files_parsed: 1,
				files_skipped: 0,
				chunks: 1,
				languages: { rust: 1 },
				current_file: 'src/lib.rs'
			}),
			event('ingest.progress', {
				files_detected: 2,
				files_parsed: 1,
				files_skipped: 1,
				chunks: 2,
				languages: { rust: 1, text: 1 }
			}),
			event('job.stage_changed', { from: 'ingesting', to: 'embedding' }),
			event('embedding.batch_completed', { batch_id: 'x', chunk_count: 2, cached_count: 0 }),
			event('job.stage_changed', { from: 'embedding', to: 'assembling' }),
			event('assembly.cluster_created', { cluster_id: 0, label: 'add', member_count: 2 }),
			event('job.stage_changed', { from: 'assembling', to: 'generating' }),
			event('generation.started', { symbol_count: 2, estimated_cost_usd: 0.001 }),
			event('generation.progress', {
				documented: 1,
				offline: 0,
				input_tokens: 1000,
				output_tokens: 100,
				cost_usd: 0.00021,
				latest: { symbol_id: 's1', summary: 'Adds.', source: 'llm' }
			}),
			event('generation.progress', {
				documented: 2,
				offline: 1,
				input_tokens: 1000,
				output_tokens: 100,
				cost_usd: 0.00021,
				latest: { symbol_id: 's2', summary: 'Doubles.', source: 'offline' }
			})
		];
	};

	it('counts what each stage did', () => {
		const progress = emptyProgress();
		stream().forEach((e) => applyEvent(progress, e));
		expect(progress.status).toBe('generating');
		expect(progress.stages).toEqual({
			ingesting: 'done',
			embedding: 'done',
			assembling: 'done',
			generating: 'running',
			packing: 'waiting'
		});
		expect(progress).toMatchObject({
			filesDetected: 2,
			filesSkipped: 1,
			languages: { rust: 1, text: 1 },
			chunks: 2,
			chunksEmbedded: 2,
			clusters: 1,
			symbolsToDocument: 2,
			summaries: 2,
			offlineSummaries: 1,
			inputTokens: 1000,
			outputTokens: 100,
			estimatedCostUsd: 0.001
		});
		expect(progress.costUsd).toBe(0.00021);
		expect(progress.latestSummary).toBe('Doubles.');
		expect(progress.currentFile).toBeNull();
	});

	it('gives the same picture when a resumed stream repeats events', () => {
		const events = stream();
		const once = emptyProgress();
		events.forEach((e) => applyEvent(once, e));
		const resumed = emptyProgress();
		events.slice(0, 7).forEach((e) => applyEvent(resumed, e));
		events.slice(3).forEach((e) => applyEvent(resumed, e));
		expect(resumed).toEqual(once);
	});

	it('ends with the error of a failed job', () => {
		sequence = 0;
		const progress = emptyProgress();
		[
			event('job.stage_changed', { from: 'queued', to: 'ingesting' }),
			event('job.stage_changed', { from: 'ingesting', to: 'failed' }),
			event('job.failed', { stage: 'ingesting', retryable: false }),
			event(
				'job.completed',
				{ duration_ms: 5 },
				{ status: 'failed', error: { code: 'not_found', message: 'GitHub has no octo/missing' } }
			)
		].forEach((e) => applyEvent(progress, e));
		expect(progress.status).toBe('failed');
		expect(progress.stages.ingesting).toBe('failed');
		expect(progress.error).toEqual({ code: 'not_found', message: 'GitHub has no octo/missing' });
		expect(progress.endedAt).not.toBeNull();
	});
});
