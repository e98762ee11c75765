//! The queue's contract, checked the same way on both implementations: the in-process one and
//! Redis Streams on the real server `scripts/services start` runs (DOCTOWN_TEST_REDIS_URL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use doctown_common::JobId;
use doctown_coordinator::{Delivery, MemoryQueue, Message, Queue, QueueOptions, RedisQueue};

const OPTIONS: QueueOptions = QueueOptions {
    visibility_timeout: Duration::from_millis(400),
    max_deliveries: 2,
};

const NOW: Duration = Duration::ZERO;

fn message(key: &str) -> Message {
    Message {
        job_id: JobId::generate(),
        key: key.to_owned(),
        body: serde_json::json!({"files": 3}),
    }
}

fn keys(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.message.key.as_str()).collect()
}

/// A stream name no earlier run used (Redis keeps its streams).
fn fresh(name: &str) -> String {
    format!("test:{}:{name}", JobId::generate())
}

async fn redis() -> RedisQueue {
    let url = std::env::var("DOCTOWN_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("DOCTOWN_TEST_REDIS_URL is not set: run the tests with scripts/test, or `eval \"$(scripts/services start)\"` first")
    });
    RedisQueue::connect(&url, OPTIONS).await.unwrap()
}

/// Asserts that `consumer` gets nothing from `stream` now.
async fn nothing_for(queue: &impl Queue, stream: &str, consumer: &str) {
    let got = queue
        .receive(stream, "workers", consumer, 2, NOW)
        .await
        .unwrap();
    assert!(got.is_empty(), "{consumer} got {:?}", keys(&got));
}

async fn each_group_gets_every_message_once(queue: &impl Queue) {
    let stream = fresh("ingest");
    for key in ["a", "b", "c"] {
        queue.publish(&stream, &message(key)).await.unwrap();
    }
    let first = queue
        .receive(&stream, "workers", "w1", 2, NOW)
        .await
        .unwrap();
    let second = queue
        .receive(&stream, "workers", "w2", 2, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&first), ["a", "b"]);
    assert_eq!(keys(&second), ["c"]);
    assert!(first.iter().all(|d| d.deliveries == 1));
    assert_eq!(first[0].message, first[0].message.clone());
    // Another group reads the stream from its beginning.
    let audit = queue
        .receive(&stream, "audit", "a1", 10, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&audit), ["a", "b", "c"]);
}

async fn a_waiting_consumer_wakes_for_a_new_message(queue: Arc<impl Queue + 'static>) {
    let stream = fresh("embed");
    // The group exists before the reader waits, as a running worker's does.
    assert!(
        queue
            .receive(&stream, "workers", "w1", 1, NOW)
            .await
            .unwrap()
            .is_empty()
    );
    let reader = {
        let (queue, stream) = (queue.clone(), stream.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let got = queue
                .receive(&stream, "workers", "w1", 1, Duration::from_secs(10))
                .await
                .unwrap();
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    queue.publish(&stream, &message("late")).await.unwrap();
    let (got, waited) = reader.await.unwrap();
    assert_eq!(keys(&got), ["late"]);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // Nothing to read: an empty answer once the wait is over.
    let started = Instant::now();
    let none = queue
        .receive(&stream, "workers", "w1", 1, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

async fn unacknowledged_messages_return_then_go_to_dead_letters(queue: &impl Queue) {
    let stream = fresh("pack");
    queue.publish(&stream, &message("kept")).await.unwrap();
    queue.publish(&stream, &message("done")).await.unwrap();
    let got = queue
        .receive(&stream, "workers", "dies", 2, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&got), ["kept", "done"]);
    queue.ack(&stream, "workers", &got[1].id).await.unwrap();
    queue.ack(&stream, "workers", &got[1].id).await.unwrap();

    // Within the visibility timeout nobody else gets it; after it, the next consumer does, as
    // a second delivery.
    nothing_for(queue, &stream, "w2").await;
    tokio::time::sleep(OPTIONS.visibility_timeout + Duration::from_millis(100)).await;
    let again = queue
        .receive(&stream, "workers", "w2", 2, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&again), ["kept"]);
    assert_eq!(again[0].deliveries, 2);
    assert!(queue.dead_letters(&stream).await.unwrap().is_empty());

    // Delivered as often as allowed and still not acknowledged: a dead letter, not out again.
    tokio::time::sleep(OPTIONS.visibility_timeout + Duration::from_millis(100)).await;
    nothing_for(queue, &stream, "w3").await;
    let dead = queue.dead_letters(&stream).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.key, "kept");
    tokio::time::sleep(OPTIONS.visibility_timeout + Duration::from_millis(100)).await;
    nothing_for(queue, &stream, "w3").await;

    // An operator's replay removes it; removing it again is harmless.
    queue
        .remove_dead_letter(&stream, &dead[0].id)
        .await
        .unwrap();
    queue
        .remove_dead_letter(&stream, &dead[0].id)
        .await
        .unwrap();
    assert!(queue.dead_letters(&stream).await.unwrap().is_empty());
}

async fn a_kept_message_stays_with_its_consumer(queue: &impl Queue) {
    let stream = fresh("generate");
    queue.publish(&stream, &message("long")).await.unwrap();
    let got = queue
        .receive(&stream, "workers", "busy", 1, NOW)
        .await
        .unwrap();
    // Kept more often than the timeout, for three timeouts: nobody else gets it.
    for _ in 0..6 {
        tokio::time::sleep(OPTIONS.visibility_timeout / 2).await;
        queue
            .keep(&stream, "workers", "busy", &got[0].id)
            .await
            .unwrap();
        nothing_for(queue, &stream, "other").await;
    }
    // No longer kept (its consumer died): the next consumer gets it, as a second delivery.
    tokio::time::sleep(OPTIONS.visibility_timeout + Duration::from_millis(100)).await;
    let again = queue
        .receive(&stream, "workers", "other", 1, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&again), ["long"]);
    assert_eq!(again[0].deliveries, 2);
}

async fn keeps_the_contract(queue: Arc<impl Queue + 'static>) {
    each_group_gets_every_message_once(queue.as_ref()).await;
    a_waiting_consumer_wakes_for_a_new_message(queue.clone()).await;
    unacknowledged_messages_return_then_go_to_dead_letters(queue.as_ref()).await;
    a_kept_message_stays_with_its_consumer(queue.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_queue_keeps_the_contract() {
    keeps_the_contract(Arc::new(MemoryQueue::new(OPTIONS))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_streams_keep_the_contract() {
    keeps_the_contract(Arc::new(redis().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_under_its_name_takes_its_pending_messages_back_at_once() {
    let stream = fresh("embed");
    let before = redis().await;
    before.publish(&stream, &message("mine")).await.unwrap();
    let got = before
        .receive(&stream, "workers", "coordinator-1", 1, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&got), ["mine"]);
    drop(before);

    // Another name waits for the timeout; a new process of the same name gets its pending
    // message at once, then new ones.
    let after = redis().await;
    nothing_for(&redis().await, &stream, "coordinator-2").await;
    let back = after
        .receive(&stream, "workers", "coordinator-1", 1, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&back), ["mine"]);
    after.publish(&stream, &message("next")).await.unwrap();
    let next = after
        .receive(&stream, "workers", "coordinator-1", 1, NOW)
        .await
        .unwrap();
    assert_eq!(keys(&next), ["next"]);
}

#[tokio::test]
async fn an_unreachable_redis_is_named_with_what_to_check() {
    let err = RedisQueue::connect("redis://127.0.0.1:9", OPTIONS)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("redis://127.0.0.1:9") && err.contains("DOCTOWN_REDIS_URL"),
        "{err}"
    );
}
