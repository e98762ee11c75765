/**
 * The docpack's graph as graphology holds it for drawing: positions seeded by cluster so that the
 * force layout starts near its end, sizes by centrality, colours by cluster, edge styles by kind.
 */

import Graph from 'graphology';
import type { Docpack } from './docpack';
import { EDGE_STYLE, clusterColor } from './style';

/** A drawn node's attributes. */
export interface DrawnNode {
	x: number;
	y: number;
	size: number;
	color: string;
	label: string;
	kind: 'symbol' | 'file' | 'module';
	cluster: number | null;
}

/** A drawn edge's attributes. */
export interface DrawnEdge {
	kind: string;
	color: string;
	size: number;
}

/** The graph of `docpack`, ready for sigma. */
export function buildGraph(docpack: Docpack): Graph<DrawnNode, DrawnEdge> {
	const graph = new Graph<DrawnNode, DrawnEdge>({ multi: false, type: 'directed' });
	const clusterOf = new Map(docpack.nodes.map((n) => [n.id, n.cluster_id]));
	const clusterCount = Math.max(1, docpack.clusters.length);
	docpack.graph.nodes.forEach((node, index) => {
		const cluster = clusterOf.get(node.id) ?? null;
		// Each cluster starts around its own point on a circle; the layout refines it.
		const angle = ((cluster ?? index) / clusterCount) * 2 * Math.PI;
		const jitter = ((index * 2654435761) % 1000) / 1000;
		graph.addNode(node.id, {
			x: Math.cos(angle) * 10 + Math.cos(jitter * 2 * Math.PI) * 3 * jitter,
			y: Math.sin(angle) * 10 + Math.sin(jitter * 2 * Math.PI) * 3 * jitter,
			size: 3 + 9 * Math.sqrt(node.centrality),
			color:
				node.kind === 'symbol'
					? clusterColor(cluster)
					: node.kind === 'file'
						? '#334155'
						: '#64748b',
			label: node.label,
			kind: node.kind,
			cluster
		});
	});
	for (const edge of docpack.graph.edges) {
		if (!graph.hasNode(edge.source) || !graph.hasNode(edge.target) || edge.source === edge.target) {
			continue;
		}
		if (graph.hasEdge(edge.source, edge.target)) {
			continue;
		}
		const style = EDGE_STYLE[edge.kind];
		graph.addEdge(edge.source, edge.target, {
			kind: edge.kind,
			color: style.color,
			size: style.size
		});
	}
	return graph;
}
