/**
 * The force layout (ForceAtlas2), as data in and positions out, so that it runs in a web worker
 * (`layout.worker.ts`) and the page never waits on it.
 */

import Graph from 'graphology';
import forceAtlas2 from 'graphology-layout-forceatlas2';

/** What the layout needs: each node's start position, and the edges. */
export interface LayoutRequest {
	ids: string[];
	/** x then y of each node, in the order of `ids`. */
	positions: Float64Array;
	edges: [string, string][];
}

/** Iterations for a graph of `order` nodes: fewer for bigger graphs, which Barnes-Hut serves. */
export function iterationsFor(order: number): number {
	return order < 1000 ? 300 : order < 5000 ? 150 : 100;
}

/** Lays the graph out; gives the new positions, x then y, in the order of `request.ids`. */
export function layOut(request: LayoutRequest): Float64Array {
	const graph = new Graph({ type: 'directed', multi: false });
	request.ids.forEach((id, index) =>
		graph.addNode(id, { x: request.positions[2 * index], y: request.positions[2 * index + 1] })
	);
	for (const [source, target] of request.edges) {
		if (!graph.hasEdge(source, target)) {
			graph.addEdge(source, target);
		}
	}
	forceAtlas2.assign(graph, {
		iterations: iterationsFor(graph.order),
		settings: { ...forceAtlas2.inferSettings(graph), barnesHutOptimize: graph.order > 500 }
	});
	const out = new Float64Array(request.ids.length * 2);
	request.ids.forEach((id, index) => {
		out[2 * index] = graph.getNodeAttribute(id, 'x');
		out[2 * index + 1] = graph.getNodeAttribute(id, 'y');
	});
	return out;
}
