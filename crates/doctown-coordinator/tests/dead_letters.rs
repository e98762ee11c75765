//! An operator lists and replays dead letters with `doctown-coordinator dead-letters`, against
//! the coordinator's own Redis and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use doctown_common::JobId;
use doctown_testkit::FakeGitHub;
use support::Fleet;

/// Puts a message for `job_id` among the dead letters of the fleet's ingest stream.
fn bury(fleet: &Fleet, job_id: &str) {
    let client = redis::Client::open(fleet.redis.as_str()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let message = format!(r#"{{"job_id":"{job_id}","key":"ingest","body":null}}"#);
    redis::cmd("XADD")
        .arg(format!("{}:ingest:dead", fleet.namespace))
        .arg("*")
        .arg("message")
        .arg(message)
        .query::<String>(&mut connection)
        .unwrap();
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn dead_letters_are_listed_with_their_jobs_and_replayed() {
    let github = FakeGitHub::start(Vec::new());
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[]);
    // A job that failed (GitHub has no such repository), and a job nobody knows.
    let failed = coordinator.submit_job("https://github.com/octo/missing");
    coordinator.events(&failed, None);
    let unknown = JobId::generate().to_string();
    bury(&fleet, &failed);
    bury(&fleet, &unknown);

    let listed = fleet.run(&github.base, &["dead-letters"]);
    let out = text(&listed);
    assert!(listed.status.success(), "{out}");
    assert!(out.contains(&format!("job {failed} (failed)")), "{out}");
    assert!(out.contains(&format!("job {unknown} (unknown)")), "{out}");
    assert_eq!(out.matches("ingest:").count(), 2, "{out}");

    let wrong = fleet.run(&github.base, &["dead-letters", "--replay", "ingest:0-0"]);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("there is no dead letter ingest:0-0"),
        "{}",
        text(&wrong)
    );

    let replayed = fleet.run(&github.base, &["dead-letters", "--replay", "all"]);
    let out = text(&replayed);
    assert!(replayed.status.success(), "{out}");
    let resubmitted = out
        .lines()
        .find_map(|line| line.split("resubmitted as job ").nth(1))
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_owned();
    assert!(out.contains("dropped (its job is not known)"), "{out}");
    // The new job runs on the coordinator, and fails as the first did.
    let events = coordinator.events(&resubmitted, None);
    assert_eq!(
        events.last().unwrap().status,
        Some(doctown_events::Status::Failed)
    );

    let after = fleet.run(&github.base, &["dead-letters"]);
    assert!(text(&after).contains("no dead letters"), "{}", text(&after));
}
