//! The queue between the coordinator and the stages: one stream per stage, consumer groups,
//! explicit acknowledgement, messages a dead consumer left pending handed to another after a
//! visibility timeout, and a dead-letter stream for a message delivered too often.
//!
//! [`MemoryQueue`] keeps the streams in the process (tests and `doctown serve`); the Redis
//! Streams implementation keeps the same contract across processes and restarts.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use doctown_common::JobId;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a stage is asked to do for a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The job.
    pub job_id: JobId,
    /// This piece of work within the job and the stage: a message with the same key is the
    /// same work again (a redelivery), which a handler must recognise and not repeat.
    pub key: String,
    /// The work, as the stage reads it.
    pub body: serde_json::Value,
}

/// A message handed to a consumer; it stays pending until acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its id in the stream (what [`Queue::ack`] takes).
    pub id: String,
    /// The message.
    pub message: Message,
    /// How many times it has been handed out, this time included.
    pub deliveries: u64,
}

/// A message that went to its stream's dead letters: delivered too often without being
/// acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Its id among the dead letters (what [`Queue::remove_dead_letter`] takes).
    pub id: String,
    /// The message.
    pub message: Message,
}

/// When pending messages are handed out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// A message left pending this long (its consumer died or hangs) goes to the next consumer
    /// that asks.
    pub visibility_timeout: Duration,
    /// A message handed out this many times and still not acknowledged goes to the stream's
    /// dead letters instead of out again.
    pub max_deliveries: u64,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(60),
            max_deliveries: 5,
        }
    }
}

/// Why the queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue's server cannot be reached or refused a command.
    #[error(
        "the queue at {url} failed: {reason}; check DOCTOWN_REDIS_URL and that Redis is running"
    )]
    Unavailable {
        /// Where the queue is.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A stream holds an entry the coordinator did not write.
    #[error("entry {id} of stream {stream} is not a Doctown message: {reason}")]
    Malformed {
        /// The stream.
        stream: String,
        /// The entry.
        id: String,
        /// Why it cannot be read.
        reason: String,
    },
}

/// The stream where `stream`'s messages delivered too often end up.
pub fn dead_letter_stream(stream: &str) -> String {
    format!("{stream}:dead")
}

/// Streams of messages read by consumer groups.
pub trait Queue: Send + Sync {
    /// Appends `message` to `stream`; gives its id.
    fn publish(
        &self,
        stream: &str,
        message: &Message,
    ) -> impl Future<Output = Result<String, QueueError>> + Send;

    /// Up to `count` messages of `stream` for `consumer` of `group` (the group is made on first
    /// use and starts at the stream's beginning): first those another consumer left pending past
    /// the visibility timeout, then new ones, waiting up to `wait` when there are none. A
    /// message past its deliveries goes to the dead letters, not out.
    fn receive(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Delivery>, QueueError>> + Send;

    /// Marks the message `id` of `stream` done for `group`; acknowledging twice is harmless.
    fn ack(
        &self,
        stream: &str,
        group: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Says that `consumer` still works on the message `id` of `stream`: its visibility timeout
    /// starts again. A consumer whose work takes longer than the timeout calls it more often,
    /// so that only a dead consumer's messages go to another.
    fn keep(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// When messages are handed out again, and how often.
    fn options(&self) -> QueueOptions;

    /// Whether messages outlive this process (a restarted coordinator finds its pending work
    /// in the queue), or are lost with it.
    fn durable(&self) -> bool;

    /// The messages of `stream` that went to its dead letters, oldest first.
    fn dead_letters(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, QueueError>> + Send;

    /// Removes the dead letter `id` of `stream` (once replayed); removing it twice is harmless.
    fn remove_dead_letter(
        &self,
        stream: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The streams, in the process.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    options: QueueOptions,
    streams: Mutex<HashMap<String, Stream>>,
    published: Notify,
}

#[derive(Debug, Default)]
struct Stream {
    /// Messages some group has still to handle, by id. One is dropped once every group has
    /// acknowledged it (or sent it to the dead letters), so a long-running process holds only
    /// the work in flight.
    entries: BTreeMap<usize, Message>,
    /// The id the next message gets.
    next_id: usize,
    groups: HashMap<String, Group>,
}

impl Stream {
    fn push(&mut self, message: Message) -> usize {
        let id = self.next_id;
        self.entries.insert(id, message);
        self.next_id += 1;
        id
    }

    /// Drops entry `id` when no group still needs it.
    fn release(&mut self, id: usize) {
        let needed = self
            .groups
            .values()
            .any(|group| id >= group.next || group.pending.contains_key(&id));
        if !needed {
            self.entries.remove(&id);
        }
    }
}

#[derive(Debug, Default)]
struct Group {
    /// The index of the first entry not yet handed out.
    next: usize,
    /// Entries handed out and not acknowledged, by index.
    pending: BTreeMap<usize, Pending>,
}

#[derive(Debug)]
struct Pending {
    since: Instant,
    deliveries: u64,
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new(options: QueueOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stream>> {
        // A panic while holding the lock leaves the maps whole: every change is one insert or
        // remove.
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry `id` names.
    fn index(stream: &str, id: &str) -> Result<usize, QueueError> {
        id.parse().map_err(|_| QueueError::Malformed {
            stream: stream.to_owned(),
            id: id.to_owned(),
            reason: "not an id this queue gave".into(),
        })
    }

    /// What `receive` hands out now, and when a pending message next times out.
    fn take(&self, stream: &str, group: &str, count: usize) -> (Vec<Delivery>, Option<Instant>) {
        let now = Instant::now();
        let timeout = self.options.visibility_timeout;
        let mut streams = self.lock();
        let entries = streams.entry(stream.to_owned()).or_default();
        let Stream {
            entries: messages,
            next_id,
            groups,
        } = entries;
        let state = groups.entry(group.to_owned()).or_default();
        let mut handed = Vec::new();
        let mut dead = Vec::new();
        for (&index, pending) in &mut state.pending {
            if handed.len() == count {
                break;
            }
            if now.duration_since(pending.since) < timeout {
                continue;
            }
            if pending.deliveries >= self.options.max_deliveries {
                dead.push(index);
                continue;
            }
            let Some(message) = messages.get(&index) else {
                continue;
            };
            pending.since = now;
            pending.deliveries += 1;
            handed.push(Delivery {
                id: index.to_string(),
                message: message.clone(),
                deliveries: pending.deliveries,
            });
        }
        while handed.len() < count && state.next < *next_id {
            let index = state.next;
            state.next += 1;
            let Some(message) = messages.get(&index) else {
                continue;
            };
            state.pending.insert(
                index,
                Pending {
                    since: now,
                    deliveries: 1,
                },
            );
            handed.push(Delivery {
                id: index.to_string(),
                message: message.clone(),
                deliveries: 1,
            });
        }
        for &index in &dead {
            state.pending.remove(&index);
        }
        let next_timeout = state.pending.values().map(|p| p.since + timeout).min();
        let dead: Vec<Message> = dead
            .into_iter()
            .filter_map(|index| {
                let message = entries.entries.get(&index).cloned();
                entries.release(index);
                message
            })
            .collect();
        if !dead.is_empty() {
            let letters = streams.entry(dead_letter_stream(stream)).or_default();
            for message in dead {
                letters.push(message);
            }
        }
        (handed, next_timeout)
    }
}

impl Queue for MemoryQueue {
    fn durable(&self) -> bool {
        false
    }

    fn options(&self) -> QueueOptions {
        self.options
    }

    async fn publish(&self, stream: &str, message: &Message) -> Result<String, QueueError> {
        let id = self
            .lock()
            .entry(stream.to_owned())
            .or_default()
            .push(message.clone());
        self.published.notify_waiters();
        Ok(id.to_string())
    }

    async fn receive(
        &self,
        stream: &str,
        group: &str,
        _consumer: &str,
        count: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            // Registered before looking, so a message published in between still wakes us.
            let published = self.published.notified();
            tokio::pin!(published);
            published.as_mut().enable();
            let (handed, next_timeout) = self.take(stream, group, count.max(1));
            if !handed.is_empty() || Instant::now() >= deadline {
                return Ok(handed);
            }
            let until = next_timeout.map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                () = published => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn keep(
        &self,
        stream: &str,
        group: &str,
        _consumer: &str,
        id: &str,
    ) -> Result<(), QueueError> {
        let index = Self::index(stream, id)?;
        if let Some(pending) = self
            .lock()
            .get_mut(stream)
            .and_then(|s| s.groups.get_mut(group))
            .and_then(|g| g.pending.get_mut(&index))
        {
            pending.since = Instant::now();
        }
        Ok(())
    }

    async fn ack(&self, stream: &str, group: &str, id: &str) -> Result<(), QueueError> {
        let index = Self::index(stream, id)?;
        if let Some(entries) = self.lock().get_mut(stream)
            && let Some(state) = entries.groups.get_mut(group)
            && state.pending.remove(&index).is_some()
        {
            entries.release(index);
        }
        Ok(())
    }

    async fn dead_letters(&self, stream: &str) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(self
            .lock()
            .get(&dead_letter_stream(stream))
            .map(|s| {
                s.entries
                    .iter()
                    .map(|(id, message)| DeadLetter {
                        id: id.to_string(),
                        message: message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn remove_dead_letter(&self, stream: &str, id: &str) -> Result<(), QueueError> {
        let dead = dead_letter_stream(stream);
        let index = Self::index(&dead, id)?;
        if let Some(letters) = self.lock().get_mut(&dead) {
            letters.entries.remove(&index);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(key: &str) -> Message {
        Message {
            job_id: JobId::generate(),
            key: key.to_owned(),
            body: serde_json::Value::Null,
        }
    }

    fn held(queue: &MemoryQueue, stream: &str) -> usize {
        queue.lock().get(stream).map_or(0, |s| s.entries.len())
    }

    #[tokio::test]
    async fn a_message_every_group_has_handled_is_not_kept() {
        let options = QueueOptions {
            visibility_timeout: Duration::ZERO,
            max_deliveries: 1,
        };
        let queue = MemoryQueue::new(options);
        for key in ["a", "b", "c"] {
            queue.publish("s", &message(key)).await.unwrap();
        }
        let wait = Duration::from_millis(1);
        let first = queue.receive("s", "g1", "c", 2, wait).await.unwrap();
        queue.receive("s", "g2", "c", 3, wait).await.unwrap();
        assert_eq!(held(&queue, "s"), 3);
        for delivery in &first {
            queue.ack("s", "g1", &delivery.id).await.unwrap();
        }
        // The second group still holds them, unacknowledged.
        assert_eq!(held(&queue, "s"), 3);
        for delivery in &first {
            queue.ack("s", "g2", &delivery.id).await.unwrap();
        }
        assert_eq!(held(&queue, "s"), 1);
        // The third goes to the dead letters of the second group once out of deliveries, and
        // the first group takes it and acknowledges it.
        let third = queue.receive("s", "g1", "c", 1, wait).await.unwrap();
        queue.ack("s", "g1", &third[0].id).await.unwrap();
        assert_eq!(held(&queue, "s"), 1);
        assert!(
            queue
                .receive("s", "g2", "c", 1, wait)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(held(&queue, "s"), 0);
        assert_eq!(queue.dead_letters("s").await.unwrap().len(), 1);
    }
}
