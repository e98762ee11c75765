//! Jobs streamed as Server-Sent Events: one encoder ([`doctown_events::sse`]), one response
//! shape, one way to tie a job's life to its client's.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use doctown_events::{Envelope, sse};
use futures_util::stream::{self, Stream};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::server::Jobs;

/// Events a job may have sent but the client not yet read; a slower client slows the job.
const QUEUED_EVENTS: usize = 256;

/// Where a job sends its events. When the client has gone, sending cancels the job.
#[derive(Debug)]
pub struct EventSink {
    events: mpsc::Sender<Envelope>,
    cancel: CancellationToken,
}

impl EventSink {
    /// Sends `envelope` to the client, waiting while it is behind. Call from a blocking thread.
    pub fn send(&self, envelope: Envelope) {
        if self.events.blocking_send(envelope).is_err() {
            self.cancel.cancel();
        }
    }

    /// Sends `envelope` to the client from async code, waiting while it is behind.
    pub async fn send_async(&self, envelope: Envelope) {
        if self.events.send(envelope).await.is_err() {
            self.cancel.cancel();
        }
    }
}

/// Runs the async `job` on the server's runtime and answers with its events as
/// `text/event-stream`, as [`stream_job`] does for blocking jobs.
pub fn stream_task<F, Fut>(jobs: &Jobs, job: F) -> HttpResponse
where
    F: FnOnce(EventSink, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (sender, receiver) = mpsc::channel(QUEUED_EVENTS);
    let cancel = jobs.job_token();
    let sink = EventSink {
        events: sender,
        cancel: cancel.clone(),
    };
    let on_disconnect = cancel.clone().drop_guard();
    actix_web::rt::spawn(job(sink, cancel));
    event_stream(receiver, on_disconnect, jobs.keep_alive())
}

/// Runs `job` on a blocking thread and answers with its events as `text/event-stream`. The job
/// gets a sink for its events and a token that is cancelled when the client disconnects or the
/// worker shuts down; it should then end soon, with a failed completion that says why
/// ([`Jobs::reason`]).
pub fn stream_job<F>(jobs: &Jobs, job: F) -> HttpResponse
where
    F: FnOnce(EventSink, CancellationToken) + Send + 'static,
{
    stream_task(jobs, move |sink, cancel| async move {
        if let Err(err) = tokio::task::spawn_blocking(move || job(sink, cancel)).await {
            tracing::error!(%err, "a job's thread failed");
        }
    })
}

/// The response streaming `events` until the sender is done, with a keep-alive comment after
/// each `keep_alive` of silence. `on_disconnect` is dropped, cancelling its token, when the
/// stream ends or the client goes away; the server notices a client gone only when it next
/// writes, which the keep-alive bounds.
pub fn event_stream(
    events: mpsc::Receiver<Envelope>,
    on_disconnect: DropGuard,
    keep_alive: Duration,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(sse::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies such as nginx must not buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(frames(events, on_disconnect, keep_alive))
}

/// The SSE frames of `events`, keep-alives included.
fn frames(
    events: mpsc::Receiver<Envelope>,
    on_disconnect: DropGuard,
    keep_alive: Duration,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream::unfold(
        (events, on_disconnect),
        move |(mut events, on_disconnect)| async move {
            let frame = match tokio::time::timeout(keep_alive, events.recv()).await {
                Ok(Some(envelope)) => match sse::encode(&envelope) {
                    Ok(text) => Bytes::from(text),
                    Err(err) => {
                        tracing::error!(%err, "an event could not be encoded; ending the stream");
                        return None;
                    }
                },
                Ok(None) => return None,
                Err(_) => Bytes::from_static(sse::KEEP_ALIVE.as_bytes()),
            };
            Some((Ok(frame), (events, on_disconnect)))
        },
    )
}

#[cfg(test)]
mod tests {
    use doctown_common::JobId;
    use doctown_events::{EventContext, EventEmitter, FileSkipped, SkipReason};
    use futures_util::StreamExt;

    use super::*;

    fn envelope() -> Envelope {
        let emitter =
            EventEmitter::new(JobId::generate(), EventContext::default(), "doctown-test/0");
        emitter.emit(FileSkipped {
            path: "a.bin".into(),
            reason: SkipReason::Binary,
            detail: None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn silence_sends_keep_alives_and_the_end_cancels() {
        let (sender, receiver) = mpsc::channel(4);
        let token = CancellationToken::new();
        let mut frames = Box::pin(frames(
            receiver,
            token.clone().drop_guard(),
            Duration::from_secs(15),
        ));
        sender.send(envelope()).await.unwrap();
        let first = frames.next().await.unwrap().unwrap();
        assert!(first.starts_with(b"id: 1\nevent: ingest.file_skipped.v1\n"));
        // Nothing for 15 s (paused time advances by itself): a keep-alive.
        let second = frames.next().await.unwrap().unwrap();
        assert_eq!(second, sse::KEEP_ALIVE.as_bytes());
        assert!(!token.is_cancelled());
        drop(sender);
        assert!(frames.next().await.is_none());
        drop(frames);
        assert!(token.is_cancelled());
    }

    #[tokio::test]
    async fn a_client_that_goes_away_cancels_the_job() {
        let (sender, receiver) = mpsc::channel(4);
        let token = CancellationToken::new();
        let frames = frames(
            receiver,
            token.clone().drop_guard(),
            Duration::from_secs(15),
        );
        drop(frames);
        assert!(token.is_cancelled());
        assert!(sender.send(envelope()).await.is_err());
    }
}
