// @vitest-environment node
// The follower against a real HTTP server on loopback that drops the connection midway, as a
// restarting coordinator or a flaky network does.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Envelope } from './events';

const JOB = '00000000-0000-4000-8000-000000000001';
const TYPES = [
	'job.created',
	'job.stage_changed',
	'ingest.started',
	'ingest.progress',
	'job.completed'
];

function frame(sequence: number): string {
	const envelope = {
		event_id: `00000000-0000-4000-8000-00000000010${sequence}`,
		event_type: `${TYPES[sequence - 1]}.v1`,
		job_id: JOB,
		sequence,
		timestamp: '2026-11-27T09:30:00Z',
		payload: {},
		...(sequence === 5 ? { status: 'success' } : {})
	};
	return `id: ${sequence}\nevent: ${envelope.event_type}\ndata: ${JSON.stringify(envelope)}\n\n`;
}

let server: Server;
const requests: IncomingMessage[] = [];

beforeAll(async () => {
	server = createServer((request, response) => {
		requests.push(request);
		response.writeHead(200, { 'content-type': 'text/event-stream' });
		const after = Number(request.headers['last-event-id'] ?? 0);
		if (requests.length === 1) {
			// Three events, the third cut in half, then the connection drops.
			response.write(frame(1) + frame(2) + frame(3).slice(0, 40));
			setTimeout(() => response.destroy(), 50);
			return;
		}
		// Replays from after the last event the client saw (and repeats one, as a resumed
		// store read may): the client must not count it twice.
		for (let sequence = Math.max(1, after); sequence <= 5; sequence++) {
			response.write(frame(sequence));
		}
		response.end();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	vi.stubEnv('VITE_DOCTOWN_API', `http://127.0.0.1:${port}`);
});

afterAll(() => {
	vi.unstubAllEnvs();
	server.close();
});

it('resumes after the last event seen with Last-Event-ID, each event once, until job.completed', async () => {
	const { followJob } = await import('./stream');
	const seen: Envelope[] = [];
	const states: string[] = [];
	await new Promise<void>((resolve) => {
		followJob(JOB, {
			onEvent: (envelope) => seen.push(envelope),
			onConnection: (state) => {
				states.push(state);
				if (state === 'closed') {
					resolve();
				}
			}
		});
	});
	expect(seen.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
	expect(requests).toHaveLength(2);
	expect(requests[0].headers['last-event-id']).toBeUndefined();
	expect(requests[1].headers['last-event-id']).toBe('2');
	expect(requests[1].url).toBe(`/jobs/${JOB}/events`);
	expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
});
