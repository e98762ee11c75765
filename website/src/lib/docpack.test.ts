import { describe, expect, it } from 'vitest';
import { DocpackError, formatBytes, readDocpack } from './docpack';
import { sampleBytes, sampleDocpack } from './testdata';

describe('readDocpack', () => {
	it('reads and verifies a docpack the pipeline wrote', async () => {
		const docpack = await sampleDocpack();
		const stats = docpack.manifest.statistics;
		expect(docpack.manifest.schema_version).toBe('docpack/1.1');
		expect(docpack.pages?.[0]?.kind).toBe('overview');
		expect(docpack.nodes).toHaveLength(stats.symbol_count);
		expect(docpack.files).toHaveLength(stats.file_count);
		expect(docpack.clusters).toHaveLength(stats.cluster_count);
		expect(docpack.graph.edges).toHaveLength(stats.edge_count);
		expect(docpack.contexts).toHaveLength(stats.symbol_count);
		expect(docpack.sizeBytes).toBe(sampleBytes().byteLength);
	});

	it('refuses a file that is not a docpack', async () => {
		await expect(readDocpack(new TextEncoder().encode('hello'))).rejects.toThrow(
			/not a docpack: it does not read as a gzip-compressed tar/
		);
	});

	it('refuses a docpack whose member was changed', async () => {
		const { createTarGzip, parseTarGzip } = await import('nanotar');
		const entries = await parseTarGzip(sampleBytes());
		const nodes = entries.find((e) => e.name === 'nodes.json')!;
		const text = new TextDecoder()
			.decode(nodes.data)
			.replace('"kind":"function"', '"kind":"method"');
		const changed = await createTarGzip(
			entries.map((e) => ({ name: e.name, data: e.name === 'nodes.json' ? text : e.data }))
		);
		await expect(readDocpack(changed)).rejects.toThrow(DocpackError);
		await expect(readDocpack(changed)).rejects.toThrow('nodes.json does not match its checksum');
	});

	it('refuses a manifest that was changed', async () => {
		const { createTarGzip, parseTarGzip } = await import('nanotar');
		const entries = await parseTarGzip(sampleBytes());
		const changed = await createTarGzip(
			entries.map((e) => ({
				name: e.name,
				data:
					e.name === 'manifest.json'
						? new TextDecoder().decode(e.data).replace('"symbol_count": 88', '"symbol_count": 89')
						: e.data
			}))
		);
		await expect(readDocpack(changed)).rejects.toThrow("manifest's checksum does not match");
	});
});

describe('formatBytes', () => {
	it.each([
		[512, '512 B'],
		[2048, '2.0 KB'],
		[169770, '166 KB'],
		[5 * 1024 * 1024, '5.0 MB']
	])('%d is %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
