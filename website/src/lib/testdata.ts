// The real docpack the tests read (paths from website/, where the tests run): crates/doctown-intel/tests/fixtures documented offline
// (`SOURCE_DATE_EPOCH=1796000000 doctown generate crates/doctown-intel/tests/fixtures --offline
// --no-cache -o website/src/lib/testdata/sample.docpack`).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readDocpack, type Docpack } from './docpack';

/** The sample docpack's bytes. */
export function sampleBytes(): Uint8Array {
	return new Uint8Array(readFileSync(resolve(process.cwd(), 'src/lib/testdata/sample.docpack')));
}

/** The sample docpack, read. */
export function sampleDocpack(): Promise<Docpack> {
	return readDocpack(sampleBytes());
}
