/**
 * A job's event stream (docs/events.md): the envelope, and what a watcher makes of the events so
 * far (`Progress`), folded one event at a time by `applyEvent` so that a stream resumed after a
 * reconnect gives the same picture as one read without a break.
 */

import { STAGES, type JobStatus, type Stage } from './api';

/** An event's envelope; the payload's shape depends on `event_type`. */
export interface Envelope {
	event_id: string;
	event_type: string;
	job_id: string;
	sequence: number;
	timestamp: string;
	status?: 'success' | 'failed';
	error?: { code: string; message: string };
	// Payloads differ per type; each reader below takes the fields it knows.
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	payload: Record<string, any>;
}

/** Why a frame's data is not an envelope. */
export class EnvelopeError extends Error {}

/** Parses one SSE frame's data as an envelope, checking the fields every reader relies on. */
export function parseEnvelope(data: string): Envelope {
	let value: unknown;
	try {
		value = JSON.parse(data);
	} catch {
		throw new EnvelopeError(`an event is not JSON: ${data.slice(0, 80)}`);
	}
	const envelope = value as Partial<Envelope>;
	if (typeof envelope !== 'object' || envelope === null) {
		throw new EnvelopeError('an event is not a JSON object');
	}
	if (
		typeof envelope.event_type !== 'string' ||
		!/^[a-z_]+\.[a-z_]+\.v\d+$/.test(envelope.event_type)
	) {
		throw new EnvelopeError(`an event has no valid event_type (${String(envelope.event_type)})`);
	}
	if (typeof envelope.sequence !== 'number' || envelope.sequence < 1) {
		throw new EnvelopeError(`${envelope.event_type} has no valid sequence`);
	}
	if (typeof envelope.payload !== 'object' || envelope.payload === null) {
		throw new EnvelopeError(`${envelope.event_type} has no payload`);
	}
	return envelope as Envelope;
}

/** The type without its version: `ingest.file_detected`. */
export function eventName(envelope: Envelope): string {
	return envelope.event_type.replace(/\.v\d+$/, '');
}

/** How far one stage has got. */
export type StageState = 'waiting' | 'running' | 'done' | 'failed';

/** Everything a job's watcher shows. */
export interface Progress {
	status: JobStatus;
	stages: Record<Stage, StageState>;
	/** The last sequence applied; the stream resumes after it. */
	lastSequence: number;
	filesDetected: number;
	filesSkipped: number;
	/** Files per language (`text` for files read but not parsed). */
	languages: Record<string, number>;
	/** The file ingest read last. */
	currentFile: string | null;
	chunks: number;
	chunksEmbedded: number;
	clusters: number;
	/** Symbols to document, once generation has started. */
	symbolsToDocument: number;
	summaries: number;
	/** Summaries written without a model. */
	offlineSummaries: number;
	inputTokens: number;
	outputTokens: number;
	/** How summaries are written: `llm` or `offline`, once generation has started. */
	generationMode: string | null;
	/** What generation estimated it will cost, in US dollars. */
	estimatedCostUsd: number | null;
	/** What generation has cost so far. */
	costUsd: number;
	startedAt: string | null;
	endedAt: string | null;
	error: { code: string; message: string } | null;
	docpackId: string | null;
	docpackBytes: number | null;
	/** The summary written last, while generation runs. */
	latestSummary: string | null;
}

/** The picture before any event. */
export function emptyProgress(): Progress {
	return {
		status: 'queued',
		stages: Object.fromEntries(STAGES.map((s) => [s, 'waiting'])) as Record<Stage, StageState>,
		lastSequence: 0,
		filesDetected: 0,
		filesSkipped: 0,
		languages: {},
		currentFile: null,
		chunks: 0,
		chunksEmbedded: 0,
		clusters: 0,
		symbolsToDocument: 0,
		summaries: 0,
		offlineSummaries: 0,
		inputTokens: 0,
		outputTokens: 0,
		generationMode: null,
		estimatedCostUsd: null,
		costUsd: 0,
		startedAt: null,
		endedAt: null,
		error: null,
		docpackId: null,
		docpackBytes: null,
		latestSummary: null
	};
}

function isStage(status: string): status is Stage {
	return (STAGES as readonly string[]).includes(status);
}

/**
 * Folds `envelope` into `progress` (in place) and gives it back. An event at or before the last
 * one applied is ignored, so a replayed event never counts twice.
 */
export function applyEvent(progress: Progress, envelope: Envelope): Progress {
	if (envelope.sequence <= progress.lastSequence) {
		return progress;
	}
	progress.lastSequence = envelope.sequence;
	const p = envelope.payload;
	switch (eventName(envelope)) {
		case 'job.created':
			progress.startedAt = envelope.timestamp;
			break;
		case 'job.stage_changed': {
			const from = p.from as string;
			const to = p.to as JobStatus;
			if (isStage(from) && progress.stages[from] === 'running') {
				progress.stages[from] = to === 'failed' || to === 'cancelled' ? 'failed' : 'done';
			}
			if (isStage(to)) {
				progress.stages[to] = 'running';
			}
			progress.status = to;
			progress.startedAt ??= envelope.timestamp;
			break;
		}
		case 'ingest.progress':
			progress.filesDetected = p.files_detected ?? progress.filesDetected;
			progress.filesSkipped = p.files_skipped ?? progress.filesSkipped;
			progress.chunks = p.chunks ?? progress.chunks;
			progress.languages = { ...(p.languages ?? progress.languages) };
			progress.currentFile = p.current_file ?? null;
			break;
		case 'ingest.completed':
			progress.currentFile = null;
			if (envelope.status === 'success') {
				progress.chunks = p.chunks ?? progress.chunks;
			}
			break;
		case 'embedding.batch_completed':
			progress.chunksEmbedded += p.chunk_count ?? 0;
			break;
		case 'assembly.cluster_created':
			progress.clusters += 1;
			break;
		case 'generation.started':
			progress.symbolsToDocument = p.symbol_count ?? 0;
			progress.generationMode = p.mode ?? null;
			progress.estimatedCostUsd = p.estimated_cost_usd ?? null;
			break;
		case 'generation.progress':
			progress.summaries = p.documented ?? progress.summaries;
			progress.offlineSummaries = p.offline ?? progress.offlineSummaries;
			progress.inputTokens = p.input_tokens ?? progress.inputTokens;
			progress.outputTokens = p.output_tokens ?? progress.outputTokens;
			progress.costUsd = p.cost_usd ?? progress.costUsd;
			progress.latestSummary = p.latest?.summary ?? progress.latestSummary;
			break;
		case 'generation.completed':
			if (envelope.status === 'success') {
				progress.inputTokens = p.input_tokens ?? progress.inputTokens;
				progress.outputTokens = p.output_tokens ?? progress.outputTokens;
				progress.costUsd = p.cost_usd ?? progress.costUsd;
			}
			break;
		case 'pack.completed':
			if (envelope.status === 'success') {
				progress.docpackId = p.docpack_id ?? null;
				progress.docpackBytes = p.size_bytes ?? null;
			}
			break;
		case 'job.failed':
			if (isStage(p.stage)) {
				progress.stages[p.stage] = 'failed';
			}
			break;
		case 'job.completed': {
			progress.endedAt = envelope.timestamp;
			progress.status =
				envelope.status === 'success'
					? 'completed'
					: progress.status === 'cancelled'
						? 'cancelled'
						: 'failed';
			for (const stage of STAGES) {
				if (progress.stages[stage] === 'running') {
					progress.stages[stage] = envelope.status === 'success' ? 'done' : 'failed';
				}
			}
			progress.error = envelope.error ?? null;
			break;
		}
	}
	if (envelope.status === 'failed' && envelope.error && !progress.error) {
		progress.error = envelope.error;
	}
	return progress;
}
