/// <reference lib="webworker" />
// Runs the force layout off the page's thread: a LayoutRequest in, the positions out.
import { layOut, type LayoutRequest } from './layout';

self.onmessage = (event: MessageEvent<LayoutRequest>) => {
	const positions = layOut(event.data);
	(self as unknown as DedicatedWorkerGlobalScope).postMessage(positions, [positions.buffer]);
};
