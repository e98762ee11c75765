//! [`Queue`] over Redis Streams: `XADD` to publish, consumer groups made with `XGROUP CREATE …
//! MKSTREAM` from the stream's beginning, `XAUTOCLAIM` for what a dead consumer left pending past
//! the visibility timeout (its delivery count read back with `XPENDING`), `XREADGROUP` for new
//! entries, `XACK`, and `<stream>:dead` for entries delivered too often.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::{Client, RedisError};
use tokio::time::Instant;

use crate::queue::{
    DeadLetter, Delivery, Message, Queue, QueueError, QueueOptions, dead_letter_stream,
};

/// The field of a stream entry that holds the message, as JSON.
const FIELD: &str = "message";

/// Streams in Redis.
pub struct RedisQueue {
    url: String,
    client: Client,
    commands: ConnectionManager,
    options: QueueOptions,
    /// The (stream, group) pairs known to exist.
    groups: Mutex<HashSet<(String, String)>>,
    /// The (stream, group, consumer) whose own pending entries, left by an earlier process of
    /// the same name, were handed back.
    recovered: Mutex<HashSet<(String, String, String)>>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisQueue {
    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`); the connection is made again
    /// when it drops.
    pub async fn connect(url: &str, options: QueueOptions) -> Result<Self, QueueError> {
        let unavailable = |err: RedisError| QueueError::Unavailable {
            url: url.to_owned(),
            reason: err.to_string(),
        };
        let client = Client::open(url).map_err(unavailable)?;
        // A server that is not there is said at once, not after minutes of backing off; a
        // connection that drops later is made again on the next command.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(5))
            .set_number_of_retries(2)
            .set_max_delay(1_000);
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            url: url.to_owned(),
            client,
            commands,
            options,
            groups: Mutex::new(HashSet::new()),
            recovered: Mutex::new(HashSet::new()),
        })
    }

    fn unavailable(&self, err: RedisError) -> QueueError {
        QueueError::Unavailable {
            url: self.url.clone(),
            reason: err.to_string(),
        }
    }

    /// Makes `group` on `stream` (and the stream) unless it exists.
    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), QueueError> {
        let key = (stream.to_owned(), group.to_owned());
        if self.lock_groups().contains(&key) {
            return Ok(());
        }
        let created: Result<(), RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.commands.clone())
            .await;
        match created {
            Ok(()) => {}
            Err(err) if err.code() == Some("BUSYGROUP") => {}
            Err(err) => return Err(self.unavailable(err)),
        }
        self.lock_groups().insert(key);
        Ok(())
    }

    fn lock_groups(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decode(stream: &str, entry: &StreamId) -> Result<Message, QueueError> {
        let malformed = |reason: String| QueueError::Malformed {
            stream: stream.to_owned(),
            id: entry.id.clone(),
            reason,
        };
        let json: String = entry
            .get(FIELD)
            .ok_or_else(|| malformed(format!("it has no `{FIELD}` field")))?;
        serde_json::from_str(&json).map_err(|err| malformed(err.to_string()))
    }

    /// Entries pending past the visibility timeout, claimed for `consumer`; those past their
    /// deliveries go to the dead letters instead.
    async fn reclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut commands = self.commands.clone();
        let idle_ms =
            u64::try_from(self.options.visibility_timeout.as_millis()).unwrap_or(u64::MAX);
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(stream)
            .arg(group)
            .arg(consumer)
            .arg(idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut commands)
            .await
            .map_err(|err| self.unavailable(err))?;
        self.hand_out(stream, group, &claimed.claimed).await
    }

    /// The entries this consumer's earlier process (one of the same name) left pending, once
    /// per process: a coordinator restarted under its name takes its work back at once rather
    /// than after the visibility timeout.
    async fn recover(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let key = (stream.to_owned(), group.to_owned(), consumer.to_owned());
        if self.lock_recovered().contains(&key) {
            return Ok(Vec::new());
        }
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(stream)
            .arg("0")
            .query_async(&mut self.commands.clone())
            .await
            .map_err(|err| self.unavailable(err))?;
        let entries: Vec<StreamId> = reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default();
        if entries.len() < count {
            self.lock_recovered().insert(key);
        }
        // An entry deleted from the stream comes back without fields: nothing to do.
        let (live, gone): (Vec<StreamId>, Vec<StreamId>) =
            entries.into_iter().partition(|entry| !entry.map.is_empty());
        for entry in gone {
            self.ack(stream, group, &entry.id).await?;
        }
        self.hand_out(stream, group, &live).await
    }

    fn lock_recovered(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String, String)>> {
        self.recovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pending `entries` as deliveries with their delivery counts; those past their deliveries
    /// go to the dead letters instead.
    async fn hand_out(
        &self,
        stream: &str,
        group: &str,
        entries: &[StreamId],
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut commands = self.commands.clone();
        let mut handed = Vec::new();
        for entry in entries {
            let pending: StreamPendingCountReply = redis::cmd("XPENDING")
                .arg(stream)
                .arg(group)
                .arg(&entry.id)
                .arg(&entry.id)
                .arg(1)
                .query_async(&mut commands)
                .await
                .map_err(|err| self.unavailable(err))?;
            let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered as u64);
            let message = Self::decode(stream, entry)?;
            if deliveries > self.options.max_deliveries {
                let json = serde_json::to_string(&message).unwrap_or_default();
                redis::pipe()
                    .atomic()
                    .cmd("XADD")
                    .arg(dead_letter_stream(stream))
                    .arg("*")
                    .arg(FIELD)
                    .arg(json)
                    .ignore()
                    .cmd("XACK")
                    .arg(stream)
                    .arg(group)
                    .arg(&entry.id)
                    .ignore()
                    .query_async::<()>(&mut commands)
                    .await
                    .map_err(|err| self.unavailable(err))?;
                continue;
            }
            handed.push(Delivery {
                id: entry.id.clone(),
                message,
                deliveries,
            });
        }
        Ok(handed)
    }

    /// New entries for `consumer`, waiting up to `block` for one when given.
    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
        let reply: Option<StreamReadReply> = match block {
            Some(block) => {
                // A blocking read holds its connection: it gets one of its own.
                let mut connection = self
                    .client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|err| self.unavailable(err))?;
                let ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
                read.arg("BLOCK")
                    .arg(ms)
                    .arg("STREAMS")
                    .arg(stream)
                    .arg(">");
                read.query_async(&mut connection).await
            }
            None => {
                read.arg("STREAMS").arg(stream).arg(">");
                read.query_async(&mut self.commands.clone()).await
            }
        }
        .map_err(|err| self.unavailable(err))?;
        let mut handed = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in &key.ids {
                handed.push(Delivery {
                    id: entry.id.clone(),
                    message: Self::decode(stream, entry)?,
                    deliveries: 1,
                });
            }
        }
        Ok(handed)
    }
}

impl Queue for RedisQueue {
    fn durable(&self) -> bool {
        true
    }

    fn options(&self) -> QueueOptions {
        self.options
    }

    async fn publish(&self, stream: &str, message: &Message) -> Result<String, QueueError> {
        let json = serde_json::to_string(message).map_err(|err| QueueError::Malformed {
            stream: stream.to_owned(),
            id: "(new)".into(),
            reason: err.to_string(),
        })?;
        redis::cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg(FIELD)
            .arg(json)
            .query_async(&mut self.commands.clone())
            .await
            .map_err(|err| self.unavailable(err))
    }

    async fn receive(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let count = count.max(1);
        self.ensure_group(stream, group).await?;
        let deadline = Instant::now() + wait;
        let recovered = self.recover(stream, group, consumer, count).await?;
        if !recovered.is_empty() {
            return Ok(recovered);
        }
        loop {
            let mut handed = self.reclaim(stream, group, consumer, count).await?;
            if handed.len() < count {
                let left = deadline.saturating_duration_since(Instant::now());
                // Wait for new entries only when there is nothing to hand out, and no longer
                // than a pending entry could take to time out.
                let block = (handed.is_empty() && !left.is_zero())
                    .then(|| left.min(self.options.visibility_timeout));
                handed.extend(
                    self.read_new(stream, group, consumer, count - handed.len(), block)
                        .await?,
                );
            }
            if !handed.is_empty() || Instant::now() >= deadline {
                return Ok(handed);
            }
        }
    }

    async fn keep(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        id: &str,
    ) -> Result<(), QueueError> {
        // Claimed again by its own consumer: its idle time starts over, its count stays.
        redis::cmd("XCLAIM")
            .arg(stream)
            .arg(group)
            .arg(consumer)
            .arg(0)
            .arg(id)
            .arg("JUSTID")
            .query_async::<Vec<String>>(&mut self.commands.clone())
            .await
            .map(drop)
            .map_err(|err| self.unavailable(err))
    }

    async fn ack(&self, stream: &str, group: &str, id: &str) -> Result<(), QueueError> {
        redis::cmd("XACK")
            .arg(stream)
            .arg(group)
            .arg(id)
            .query_async::<u64>(&mut self.commands.clone())
            .await
            .map(drop)
            .map_err(|err| self.unavailable(err))
    }

    async fn dead_letters(&self, stream: &str) -> Result<Vec<DeadLetter>, QueueError> {
        let dead = dead_letter_stream(stream);
        let entries: Vec<StreamId> = redis::cmd("XRANGE")
            .arg(&dead)
            .arg("-")
            .arg("+")
            .query_async::<redis::streams::StreamRangeReply>(&mut self.commands.clone())
            .await
            .map_err(|err| self.unavailable(err))?
            .ids;
        entries
            .iter()
            .map(|entry| {
                Ok(DeadLetter {
                    id: entry.id.clone(),
                    message: Self::decode(&dead, entry)?,
                })
            })
            .collect()
    }

    async fn remove_dead_letter(&self, stream: &str, id: &str) -> Result<(), QueueError> {
        redis::cmd("XDEL")
            .arg(dead_letter_stream(stream))
            .arg(id)
            .query_async::<u64>(&mut self.commands.clone())
            .await
            .map(drop)
            .map_err(|err| self.unavailable(err))
    }
}
