// The static site's behaviour: the search over pages and symbols (its index is
// assets/search-index.js, loaded before this script), and the diagrams, drawn by mermaid when a
// copy of it sits at assets/mermaid.min.js and otherwise left as their source with a note.
(function () {
	'use strict';
	var root = document.documentElement.getAttribute('data-root') || '';
	var index = window.DOCTOWN_SEARCH || { pages: [], symbols: [] };
	var input = document.getElementById('search');
	var results = document.getElementById('results');

	function href(target) {
		return /^[a-z]+:/i.test(target) ? target : root + target;
	}

	// Rank: an exact name, then a name starting with the query, then one containing it; pages
	// before symbols within a rank.
	function search(query) {
		var q = query.trim().toLowerCase();
		if (!q) return [];
		var found = [];
		index.pages.forEach(function (page) {
			var title = page[0].toLowerCase();
			var rank = title === q ? 0 : title.indexOf(q) === 0 ? 1 : title.indexOf(q) >= 0 ? 2 : -1;
			if (rank >= 0) found.push({ rank: rank, order: 0, label: page[0], meta: page[1] + ' page', target: page[2] });
		});
		index.symbols.forEach(function (symbol) {
			var name = symbol[0].toLowerCase();
			var qualified = symbol[1].toLowerCase();
			var rank = name === q ? 0 : name.indexOf(q) === 0 ? 1 : qualified.indexOf(q) >= 0 ? 2 : -1;
			if (rank >= 0) {
				found.push({
					rank: rank,
					order: 1,
					label: symbol[1],
					meta: symbol[2] + ' · ' + symbol[3] + (symbol[4] ? ' · ' + symbol[4] : ''),
					target: symbol[5]
				});
			}
		});
		found.sort(function (a, b) {
			return a.rank - b.rank || a.order - b.order || a.label.length - b.label.length;
		});
		return found.slice(0, 30);
	}

	function show(found) {
		results.textContent = '';
		found.forEach(function (hit) {
			var item = document.createElement('li');
			var link = document.createElement('a');
			link.href = href(hit.target);
			var label = document.createElement('span');
			label.textContent = hit.label;
			var meta = document.createElement('div');
			meta.className = 'meta';
			meta.textContent = hit.meta;
			link.appendChild(label);
			link.appendChild(meta);
			item.appendChild(link);
			results.appendChild(item);
		});
		if (found.length === 0 && input.value.trim()) {
			var none = document.createElement('li');
			none.className = 'meta';
			none.textContent = 'Nothing matches “' + input.value.trim() + '”.';
			results.appendChild(none);
		}
		results.hidden = !input.value.trim();
	}

	if (input && results) {
		input.addEventListener('input', function () {
			show(search(input.value));
		});
		// What was typed before this script ran (or kept by the browser on going back).
		if (input.value.trim()) show(search(input.value));
		input.addEventListener('keydown', function (event) {
			if (event.key === 'Enter') {
				var first = results.querySelector('a');
				if (first) window.location.href = first.href;
			} else if (event.key === 'Escape') {
				input.value = '';
				show([]);
			}
		});
	}

	var diagrams = document.querySelectorAll('pre.mermaid');
	if (diagrams.length === 0) return;
	if (window.mermaid) {
		window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
		window.mermaid.run({ nodes: diagrams });
	} else {
		diagrams.forEach(function (diagram) {
			var note = document.createElement('p');
			note.className = 'diagram-note';
			note.textContent =
				'A diagram, in mermaid’s language. To draw it here, put mermaid.min.js (from the mermaid npm package) in this site’s assets folder.';
			diagram.after(note);
		});
	}
})();
