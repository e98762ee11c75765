/**
 * Draws the mermaid diagrams of a rendered page. mermaid is loaded on first use (it is large and
 * only pages with diagrams need it) and runs at its strict security level: labels are text, never
 * markup, and diagrams cannot bind clicks.
 */

type Mermaid = (typeof import('mermaid'))['default'];

let loading: Promise<Mermaid> | null = null;
let drawn = 0;

function load(): Promise<Mermaid> {
	loading ??= import('mermaid').then(({ default: mermaid }) => {
		mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
		return mermaid;
	});
	return loading;
}

/**
 * Replaces each `pre[data-diagram]` under `root` (its text the diagram's source) with the drawn
 * diagram; one that does not draw keeps its source and says why. Marks each with `data-state`
 * (`drawn` or `failed`).
 */
export async function drawDiagrams(root: HTMLElement): Promise<void> {
	const blocks = [...root.querySelectorAll<HTMLElement>('pre[data-diagram]:not([data-state])')];
	if (blocks.length === 0) {
		return;
	}
	const mermaid = await load();
	for (const block of blocks) {
		const source = block.textContent ?? '';
		try {
			drawn += 1;
			const { svg } = await mermaid.render(`doctown-diagram-${drawn}`, source);
			const figure = document.createElement('figure');
			figure.className = 'diagram';
			figure.dataset.diagram = '';
			figure.dataset.state = 'drawn';
			figure.setAttribute('role', 'img');
			figure.setAttribute('aria-label', 'Diagram');
			figure.innerHTML = svg;
			block.replaceWith(figure);
		} catch (err) {
			block.dataset.state = 'failed';
			const note = document.createElement('p');
			note.className = 'diagram-error';
			note.textContent = `This diagram could not be drawn (${String(err)}); its source is above.`;
			block.after(note);
		}
	}
}
