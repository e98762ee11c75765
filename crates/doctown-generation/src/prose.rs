//! Prose for pages, written bottom-up after the symbol summaries: a module's prompt carries its
//! facts (each symbol's with its summary) and its children's prose, the overview's the
//! top-level modules' prose and the README. Every prompt fits the token budget whatever the
//! repository's size: when a page's material does not fit, it is summarised in parts first and
//! the parts' notes take its place, as often as needed (map-reduce). Prompts are pure text
//! built here; asking, caching and counting are the [`crate::Generator`]'s.

use std::collections::{BTreeMap, HashMap};

use doctown_common::SymbolId;
use doctown_contracts::generate::ProseTask;
use doctown_docpack::PageKind;
use sha2::{Digest, Sha256};

use crate::tokens::{MESSAGE_OVERHEAD, TokenCounter};

/// The prose templates' version, part of every prose cache key.
pub const PROSE_PROMPT_VERSION: &str = "prose-v1";

/// Completion tokens a paragraph of prose (or a part's notes) may take at most.
pub const PROSE_MAX_TOKENS: u32 = 320;

/// The README's share of a page's prompt at most, in tokens.
const README_SHARE: u64 = 3;

/// What to ask next for a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The page's prose: one prompt.
    Final(String),
    /// Its material is too big for one prompt: one prompt per part, whose answers become the
    /// material of the next step.
    Parts(Vec<String>),
}

/// The material of a page's prompt: its children's prose, then its facts (a symbol's with its
/// summary), one line each.
pub(crate) fn material(
    task: &ProseTask,
    prose: &BTreeMap<String, String>,
    titles: &HashMap<&str, &str>,
    summaries: &HashMap<SymbolId, String>,
) -> Vec<String> {
    let children = task.children.iter().filter_map(|child| {
        let text = prose.get(child)?;
        let title = titles.get(child.as_str()).copied().unwrap_or(child);
        Some(format!("part `{title}`: {text}"))
    });
    let facts =
        task.facts.iter().map(
            |fact| match fact.symbol.and_then(|symbol| summaries.get(&symbol)) {
                Some(summary) => format!("{} — {summary}", fact.text),
                None => fact.text.clone(),
            },
        );
    children.chain(facts).collect()
}

fn what(task: &ProseTask) -> String {
    match task.kind {
        PageKind::Overview => format!("the repository `{}`", task.repository),
        _ => format!("`{}` in the repository `{}`", task.title, task.repository),
    }
}

fn final_prompt(task: &ProseTask, readme: Option<&str>, lines: &[String]) -> String {
    let focus = match task.kind {
        PageKind::Overview => {
            "what the repository is for, how it is organised and where execution starts"
        }
        _ => "what this part of the code is for and how its main pieces work together",
    };
    let mut text = format!(
        "Write the opening paragraph of the documentation of {}, for a developer new to the \
         code: {focus}, in 2 to 4 sentences of plain prose. Use only the material below. Write \
         names of code in backticks exactly as they appear in the material, and no name that \
         does not. No headings, lists or preamble.\n",
        what(task)
    );
    if let Some(readme) = readme {
        text.push_str("\nIts README says:\n");
        text.push_str(readme.trim());
        text.push('\n');
    }
    text.push_str("\nMaterial:\n");
    for line in lines {
        text.push_str("- ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn part_prompt(task: &ProseTask, part: usize, parts: usize, lines: &[String]) -> String {
    let mut text = format!(
        "Below is part {part} of {parts} of the material about {}. Say in 2 or 3 sentences what \
         this part covers, as notes for a later summary, naming its most important code in \
         backticks exactly as written. Plain prose only.\n\nMaterial:\n",
        what(task)
    );
    for line in lines {
        text.push_str("- ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The cache key of a prose prompt for `model`: SHA-256 over the templates' version, the model
/// and the prompt, which holds everything the answer depends on (the facts, the summaries, the
/// children's prose), so any of them changing misses.
pub(crate) fn prose_cache_key(prompt: &str, model: &str) -> String {
    let mut hash = Sha256::new();
    for part in [PROSE_PROMPT_VERSION, model, prompt] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A model's prose answer as a page shows it: one paragraph, without code fences, headings,
/// list markers or a sentence said twice (small models loop).
pub(crate) fn clean_prose(raw: &str) -> String {
    let mut in_fence = false;
    let mut words = Vec::new();
    for line in raw.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .unwrap_or(line);
        words.extend(line.split_whitespace());
    }
    let mut said = std::collections::HashSet::new();
    let mut out = String::new();
    for sentence in words.join(" ").split_inclusive(". ") {
        if said.insert(sentence.trim().trim_end_matches('.').to_owned()) {
            out.push_str(sentence);
        }
    }
    out.trim().to_owned()
}

/// `text` cut (at a character boundary) to at most `tokens` tokens.
fn fit(text: &str, tokens: u64, counter: &TokenCounter) -> String {
    if counter.count(text) <= tokens {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut low, mut high) = (0, chars.len());
    while low < high {
        let middle = (low + high).div_ceil(2);
        let candidate: String = chars[..middle].iter().collect();
        // One token is left for the ellipsis.
        if counter.count(&candidate) < tokens {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    let mut cut: String = chars[..low].iter().collect();
    cut.push('…');
    cut
}

/// What to ask for `task` given its material `lines` now, each prompt within `budget` tokens:
/// the final prompt when all of it fits beside the README (cut to a third of the budget),
/// else the material packed into as few parts as fit (a line longer than a part cut to fit).
/// Each round of parts leaves one note of at most [`PROSE_MAX_TOKENS`] per part, so the
/// material shrinks until it fits; where the budget is too small for two notes, the final
/// prompt takes the notes that fit, first first.
pub(crate) fn plan(
    task: &ProseTask,
    lines: &[String],
    counter: &TokenCounter,
    budget: u64,
) -> Step {
    let readme = task
        .readme
        .as_deref()
        .map(|readme| fit(readme, budget / README_SHARE, counter));
    let head = counter.count(&final_prompt(task, readme.as_deref(), &[])) + MESSAGE_OVERHEAD;
    let line_tokens: Vec<u64> = lines.iter().map(|line| counter.count(line) + 2).collect();
    if head + line_tokens.iter().sum::<u64>() <= budget {
        return Step::Final(final_prompt(task, readme.as_deref(), lines));
    }
    // Parts: the part prompt's own words, then as many lines as fit.
    let part_head = counter.count(&part_prompt(task, 99, 99, &[])) + MESSAGE_OVERHEAD;
    let room = budget.saturating_sub(part_head).max(1);
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut used = u64::MAX;
    for (line, &tokens) in lines.iter().zip(&line_tokens) {
        let line = if tokens > room {
            fit(line, room.saturating_sub(2), counter)
        } else {
            line.clone()
        };
        let tokens = tokens.min(room);
        if used.saturating_add(tokens) > room {
            parts.push(Vec::new());
            used = 0;
        }
        used += tokens;
        if let Some(part) = parts.last_mut() {
            part.push(line);
        }
    }
    // Packing cannot shrink notes that each fill a part: keep what fits instead.
    let notes_only = line_tokens
        .iter()
        .all(|&tokens| tokens <= u64::from(PROSE_MAX_TOKENS) + 2);
    if parts.len() >= lines.len() && notes_only {
        let mut kept = Vec::new();
        let mut used = head;
        for (line, &tokens) in lines.iter().zip(&line_tokens) {
            if used + tokens > budget {
                break;
            }
            used += tokens;
            kept.push(line.clone());
        }
        return Step::Final(final_prompt(task, readme.as_deref(), &kept));
    }
    let count = parts.len();
    Step::Parts(
        parts
            .iter()
            .enumerate()
            .map(|(index, part)| part_prompt(task, index + 1, count, part))
            .collect(),
    )
}

/// Prompts `task` would send at most, and their input tokens at most, before any summary or
/// prose is written: each symbol fact counted as if its summary took `summary_tokens`, each
/// child's prose [`PROSE_MAX_TOKENS`], every prompt at its budget.
pub(crate) fn bound(
    task: &ProseTask,
    counter: &TokenCounter,
    budget: u64,
    summary_tokens: u64,
) -> (u64, u64) {
    let material: u64 = task
        .facts
        .iter()
        .map(|fact| counter.count(&fact.text) + 2 + fact.symbol.map_or(0, |_| summary_tokens + 1))
        .sum::<u64>()
        + task.children.len() as u64 * (u64::from(PROSE_MAX_TOKENS) + 8);
    // A part prompt's own words take about a hundred tokens; each note at most an answer.
    let room = budget.saturating_sub(120).max(1);
    let note = u64::from(PROSE_MAX_TOKENS) + 2;
    let mut prompts = 1;
    let mut left = material;
    // Each round of parts leaves a note per part, until one prompt holds them or the notes
    // cannot shrink further (the final prompt then keeps those that fit).
    while left > room {
        let parts = left.div_ceil(room);
        prompts += parts;
        let notes = parts.saturating_mul(note);
        if notes >= left {
            break;
        }
        left = notes;
    }
    (prompts, prompts * budget)
}

#[cfg(test)]
mod tests {
    use doctown_contracts::generate::ProseFact;

    use super::*;

    fn task(facts: usize) -> ProseTask {
        ProseTask {
            page_id: "module/store".into(),
            title: "store".into(),
            kind: PageKind::Module,
            repository: "shop".into(),
            facts: (0..facts)
                .map(|i| ProseFact {
                    text: format!("function `get_{i}`: pub fn get_{i}(key: &str) -> Option<Order>"),
                    symbol: None,
                })
                .collect(),
            children: Vec::new(),
            readme: Some("# Store\n\nKeeps the orders. ".repeat(400)),
        }
    }

    fn lines(task: &ProseTask) -> Vec<String> {
        material(task, &BTreeMap::new(), &HashMap::new(), &HashMap::new())
    }

    #[test]
    fn answers_read_as_one_paragraph_and_keys_follow_the_prompt() {
        assert_eq!(
            clean_prose("## Store\n\n- Keeps `Order`s.\n```rust\nfn x() {}\n```\nIt is fast."),
            "Keeps `Order`s. It is fast."
        );
        assert_eq!(
            clean_prose("It keeps orders. It keeps orders. It keeps orders. It is fast."),
            "It keeps orders. It is fast."
        );
        let key = prose_cache_key("p", "m");
        assert_eq!(key.len(), 64);
        assert_ne!(prose_cache_key("q", "m"), key);
        assert_ne!(prose_cache_key("p", "n"), key);
    }

    #[test]
    fn a_small_page_is_one_prompt_within_the_budget() {
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let task = task(5);
        let Step::Final(prompt) = plan(&task, &lines(&task), &counter, 2000) else {
            panic!("one prompt");
        };
        assert!(counter.count(&prompt) + MESSAGE_OVERHEAD <= 2000);
        assert!(
            prompt.contains("`store` in the repository `shop`"),
            "{prompt}"
        );
        assert!(prompt.contains("- function `get_4`"), "{prompt}");
        assert!(prompt.contains("Its README says:\n# Store"), "{prompt}");
    }

    #[test]
    fn a_big_page_is_summarised_in_parts_each_within_the_budget() {
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let task = task(400);
        let Step::Parts(parts) = plan(&task, &lines(&task), &counter, 2000) else {
            panic!("parts");
        };
        assert!(parts.len() > 4 && parts.len() < 40, "{}", parts.len());
        for part in &parts {
            assert!(counter.count(part) + MESSAGE_OVERHEAD <= 2000);
        }
        assert!(parts[0].starts_with(&format!("Below is part 1 of {}", parts.len())));
        // Every fact is in some part.
        let all = parts.join("\n");
        assert!((0..400).all(|i| all.contains(&format!("`get_{i}`"))));
        // The parts' notes, being short, then fit one prompt.
        let notes: Vec<String> = (0..parts.len())
            .map(|i| format!("part {i}: `get_{i}` and its kin read orders by key."))
            .collect();
        assert!(matches!(
            plan(&task, &notes, &counter, 2000),
            Step::Final(_)
        ));
        let (prompts, input) = bound(&task, &counter, 2000, 100);
        assert!(prompts > parts.len() as u64, "{prompts}");
        assert_eq!(input, prompts * 2000);
        // A budget too small for two notes still gives a finite bound.
        let (prompts, _) = bound(&task, &counter, 300, 100);
        assert!(prompts > 1 && prompts < 10_000, "{prompts}");
    }

    #[test]
    fn lines_longer_than_a_prompt_are_cut_into_parts_and_the_plan_ends() {
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let mut task = task(0);
        task.readme = None;
        let long = vec!["word ".repeat(5000); 3];
        let Step::Parts(parts) = plan(&task, &long, &counter, 500) else {
            panic!("parts of the cut lines");
        };
        assert_eq!(parts.len(), 3);
        assert!(
            parts
                .iter()
                .all(|p| counter.count(p) + MESSAGE_OVERHEAD <= 500)
        );
        // Notes too long to pack two to a prompt: the final prompt keeps those that fit.
        let notes = vec!["note ".repeat(300); 3];
        let Step::Final(prompt) = plan(&task, &notes, &counter, 500) else {
            panic!("a final prompt");
        };
        assert!(counter.count(&prompt) + MESSAGE_OVERHEAD <= 500);
        assert!(prompt.contains("- note"), "{prompt}");
    }
}
