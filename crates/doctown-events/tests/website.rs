//! The website mirrors the state machine's statuses and stages (`website/src/lib/api.ts`); this
//! checks that its lists are the backend's, in the same order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use doctown_events::{JobStatus, Stage};

/// The quoted names between `start` and the next `end` in `text`, in order.
fn quoted_after(text: &str, start: &str, end: &str) -> Vec<String> {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("website/src/lib/api.ts has no `{start}`"));
    let rest = &text[from + start.len()..];
    let list = &rest[..rest.find(end).unwrap()];
    list.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_websites_statuses_and_stages_are_the_state_machines() {
    let api = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../website/src/lib/api.ts"),
    )
    .unwrap();
    let statuses: Vec<String> = JobStatus::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(
        quoted_after(&api, "export type JobStatus =", ";"),
        statuses,
        "api.ts's JobStatus"
    );
    let stages: Vec<String> = Stage::ALL.iter().map(|s| s.status().to_string()).collect();
    assert_eq!(
        quoted_after(&api, "export const STAGES = [", "]"),
        stages,
        "api.ts's STAGES"
    );
}
