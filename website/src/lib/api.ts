/**
 * The coordinator's REST API (docs/openapi.json), the only backend the site talks to. Requests go
 * to the site's own origin unless `VITE_DOCTOWN_API` names another at build time.
 */

/** Where the API is: the site's origin by default. */
export const API_BASE: string = (import.meta.env.VITE_DOCTOWN_API ?? '').replace(/\/+$/, '');

/** A job's status, as the state machine names it. */
export type JobStatus =
	| 'queued'
	| 'ingesting'
	| 'embedding'
	| 'assembling'
	| 'generating'
	| 'packing'
	| 'completed'
	| 'failed'
	| 'cancelled';

/** The stages a job moves through, in order. */
export const STAGES = ['ingesting', 'embedding', 'assembling', 'generating', 'packing'] as const;

/** One of [`STAGES`]. */
export type Stage = (typeof STAGES)[number];

/** Whether a job in `status` has ended. */
export function hasEnded(status: JobStatus): boolean {
	return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** A stored docpack, as a job describes it. */
export interface DocpackInfo {
	docpack_id: string;
	checksum: string;
	size_bytes: number;
	url: string;
}

/** A job (`GET /jobs/{id}`). */
export interface Job {
	job_id: string;
	repo_url: string;
	git_ref?: string | null;
	commit_sha?: string | null;
	status: JobStatus;
	stage?: JobStatus | null;
	error?: { code: string; message: string } | null;
	cost_usd: number;
	input_tokens: number;
	output_tokens: number;
	duration_ms?: number | null;
	created_at: string;
	updated_at: string;
	completed_at?: string | null;
	docpack?: DocpackInfo | null;
}

/** `POST /jobs`'s answer. */
export interface Accepted {
	job_id: string;
	status: JobStatus;
	status_url: string;
	events_url: string;
}

/** A page of `GET /jobs`. */
export interface JobPage {
	jobs: Job[];
	next: string | null;
}

/** An error the API answered (or a failure to reach it), with what the backend said. */
export class ApiError extends Error {
	constructor(
		/** The HTTP status, 0 when the API could not be reached. */
		readonly status: number,
		/** The backend's stable code. */
		readonly code: string,
		message: string,
		/** The request field at fault, when one is. */
		readonly field?: string
	) {
		super(message);
		this.name = 'ApiError';
	}
}

/** The full URL of API path `path`. */
export function apiUrl(path: string): string {
	return `${API_BASE}${path}`;
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
	let response: Response;
	try {
		response = await fetch(apiUrl(path), {
			...init,
			headers: { accept: 'application/json', ...(init?.headers ?? {}) }
		});
	} catch (err) {
		throw new ApiError(
			0,
			'unreachable',
			`The Doctown API at ${API_BASE || window.location.origin} cannot be reached (${String(err)}); check that the coordinator is running.`
		);
	}
	if (!response.ok) {
		let body: { error?: { code?: string; message?: string; field?: string } } = {};
		try {
			body = await response.json();
		} catch {
			// Not JSON: the status says enough.
		}
		throw new ApiError(
			response.status,
			body.error?.code ?? 'http',
			body.error?.message ?? `The API answered ${response.status} ${response.statusText}.`,
			body.error?.field
		);
	}
	return (await response.json()) as T;
}

/** Submits a job for `repoUrl` (at `gitRef` when given). */
export function submitJob(repoUrl: string, gitRef?: string): Promise<Accepted> {
	return call<Accepted>('/jobs', {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(gitRef ? { repo_url: repoUrl, git_ref: gitRef } : { repo_url: repoUrl })
	});
}

/** The job `jobId`. */
export function getJob(jobId: string): Promise<Job> {
	return call<Job>(`/jobs/${encodeURIComponent(jobId)}`);
}

/** The newest jobs, `limit` of them. */
export function listJobs(limit = 10): Promise<JobPage> {
	return call<JobPage>(`/jobs?limit=${limit}`);
}

/** Cancels job `jobId`. */
export function cancelJob(jobId: string): Promise<Job> {
	return call<Job>(`/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' });
}

/** Where job `jobId`'s docpack downloads from. */
export function docpackUrl(jobId: string): string {
	return apiUrl(`/jobs/${encodeURIComponent(jobId)}/docpack`);
}

/** The bytes of job `jobId`'s docpack. */
export async function fetchDocpack(jobId: string): Promise<ArrayBuffer> {
	let response: Response;
	try {
		response = await fetch(docpackUrl(jobId));
	} catch (err) {
		throw new ApiError(0, 'unreachable', `The docpack cannot be downloaded (${String(err)}).`);
	}
	if (!response.ok) {
		throw new ApiError(
			response.status,
			'http',
			`The docpack download answered ${response.status}.`
		);
	}
	return response.arrayBuffer();
}
