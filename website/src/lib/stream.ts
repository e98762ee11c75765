/**
 * Follows a job's event stream (`GET /jobs/{id}/events`, Server-Sent Events): every envelope in
 * order, from the first, and after a dropped connection from where it broke (`Last-Event-ID`),
 * until `job.completed`. `fetch` rather than `EventSource`, whose typed events would need a
 * listener per event type and whose reconnection cannot be told where to resume after a close.
 */

import { createParser } from 'eventsource-parser';
import { apiUrl } from './api';
import { eventName, parseEnvelope, type Envelope } from './events';

/** The connection's state, for the page to show. */
export type Connection = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What a follower calls back. */
export interface FollowHandlers {
	/** Each envelope, once, in sequence order. */
	onEvent(envelope: Envelope): void;
	/** The connection's state as it changes. */
	onConnection?(state: Connection, detail?: string): void;
}

/** Longest wait between reconnection attempts. */
const MAX_WAIT_MS = 10_000;

/**
 * Follows job `jobId`'s events after sequence `after` (0: all of them). Gives a function that
 * stops following.
 */
export function followJob(jobId: string, handlers: FollowHandlers, after = 0): () => void {
	const stopper = new AbortController();
	let last = after;
	let ended = false;
	const run = async () => {
		let wait = 500;
		handlers.onConnection?.('connecting');
		while (!ended && !stopper.signal.aborted) {
			let broke: string | undefined;
			try {
				const response = await fetch(apiUrl(`/jobs/${encodeURIComponent(jobId)}/events`), {
					headers: {
						accept: 'text/event-stream',
						...(last > 0 ? { 'last-event-id': String(last) } : {})
					},
					signal: stopper.signal
				});
				if (response.status === 404) {
					handlers.onConnection?.('closed', `There is no job ${jobId}.`);
					return;
				}
				if (!response.ok || !response.body) {
					throw new Error(`the event stream answered ${response.status}`);
				}
				handlers.onConnection?.('open');
				wait = 500;
				const parser = createParser({
					onEvent(message) {
						const envelope = parseEnvelope(message.data);
						if (envelope.sequence <= last) {
							return;
						}
						last = envelope.sequence;
						handlers.onEvent(envelope);
						if (eventName(envelope) === 'job.completed') {
							ended = true;
						}
					}
				});
				const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
				for (;;) {
					const { done, value } = await reader.read();
					if (done || ended) {
						break;
					}
					parser.feed(value);
				}
				await reader.cancel().catch(() => undefined);
			} catch (err) {
				if (stopper.signal.aborted) {
					break;
				}
				broke = String(err);
			}
			if (!ended && !stopper.signal.aborted) {
				handlers.onConnection?.('reconnecting', broke);
				await new Promise((resolve) => setTimeout(resolve, wait));
				wait = Math.min(wait * 2, MAX_WAIT_MS);
			}
		}
		handlers.onConnection?.('closed');
	};
	void run();
	return () => stopper.abort();
}
