import { describe, expect, it } from 'vitest';
import { iterationsFor, layOut } from './layout';

describe('layOut', () => {
	it('gives every node a finite position and pulls linked nodes together', () => {
		// Two triangles far apart, joined by one edge.
		const ids = ['a', 'b', 'c', 'x', 'y', 'z'];
		const positions = new Float64Array([0, 0, 1, 0, 0, 1, 50, 50, 51, 50, 50, 51]);
		const edges: [string, string][] = [
			['a', 'b'],
			['b', 'c'],
			['c', 'a'],
			['x', 'y'],
			['y', 'z'],
			['z', 'x'],
			['a', 'x']
		];
		const out = layOut({ ids, positions, edges });
		expect(out).toHaveLength(12);
		expect([...out].every(Number.isFinite)).toBe(true);
		const at = (i: number) => [out[2 * i], out[2 * i + 1]];
		const distance = (i: number, j: number) => Math.hypot(at(i)[0] - at(j)[0], at(i)[1] - at(j)[1]);
		// a and x were 70 apart; their edge brings them closer than that.
		expect(distance(0, 3)).toBeLessThan(Math.hypot(50, 50));
		// The same input gives the same layout.
		expect(layOut({ ids, positions, edges })).toEqual(out);
	});

	it('spends fewer iterations on bigger graphs', () => {
		expect(iterationsFor(100)).toBeGreaterThan(iterationsFor(3000));
		expect(iterationsFor(3000)).toBeGreaterThan(iterationsFor(20000));
	});
});
