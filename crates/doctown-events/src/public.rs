//! What of a stage's stream goes into a job's public log.
//!
//! A stage streams its data to its caller: every file's analysis, every chunk's text, every
//! summary. A job's public log (what `GET /jobs/{id}/events` replays to every watcher, and what
//! the coordinator stores) carries progress only: per-file, per-chunk and per-symbol events are
//! folded into running totals ([`IngestProgress`], [`GenerationProgress`]) sent a few times a
//! second and once more, exact, before the stage's completion. Every other event passes as it
//! is. `docs/events.md` says which events are which.

use std::time::{Duration, Instant};

use crate::{Envelope, EventEmitter, GenerationProgress, IngestProgress, LatestSummary, Payload};

/// The least time between two progress events of a stage in a public log.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Totals of one stage and when they were last sent.
#[derive(Debug, Default)]
struct Tally<T> {
    totals: T,
    /// Whether something was folded in since the totals were last sent.
    changed: bool,
    sent_at: Option<Instant>,
}

impl<T: Clone> Tally<T> {
    /// The totals, when they changed and were last sent `every` or more before `now`.
    fn due(&mut self, now: Instant, every: Duration) -> Option<T> {
        let due = self
            .sent_at
            .is_none_or(|sent| now.duration_since(sent) >= every);
        if self.changed && due {
            Some(self.send(now))
        } else {
            None
        }
    }

    /// The totals, sent now.
    fn send(&mut self, now: Instant) -> T {
        self.changed = false;
        self.sent_at = Some(now);
        self.totals.clone()
    }
}

/// Folds a job's stage streams into its public log. Pure: the caller says what time it is.
#[derive(Debug)]
pub struct PublicLog {
    every: Duration,
    ingest: Tally<IngestProgress>,
    generation: Tally<GenerationProgress>,
}

impl Default for PublicLog {
    fn default() -> Self {
        Self::new(PROGRESS_EVERY)
    }
}

impl PublicLog {
    /// A log sending each stage's progress at most once per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            ingest: Tally::default(),
            generation: Tally::default(),
        }
    }

    /// What `envelope`, from a stage's stream, puts in the public log at `now`: a copy of it,
    /// or progress made by `emitter` (nothing while progress is not due), or the exact
    /// progress followed by it when it ends its stage. Borrowed, so that the stage's caller
    /// keeps the data it carries.
    pub fn admit(
        &mut self,
        envelope: &Envelope,
        emitter: &EventEmitter,
        now: Instant,
    ) -> Vec<Envelope> {
        let every = self.every;
        match &envelope.payload {
            Payload::IngestFileDetected(file) => {
                let totals = &mut self.ingest.totals;
                totals.files_detected += 1;
                let language = file.language.map_or("text", |language| language.id());
                *totals.languages.entry(language.to_owned()).or_default() += 1;
                totals.current_file = Some(file.path.clone());
                self.ingest.changed = true;
            }
            Payload::IngestFileParsed(_) => {
                self.ingest.totals.files_parsed += 1;
                self.ingest.changed = true;
            }
            Payload::IngestFileSkipped(_) => {
                self.ingest.totals.files_skipped += 1;
                self.ingest.changed = true;
            }
            Payload::IngestChunkCreated(_) => {
                self.ingest.totals.chunks += 1;
                self.ingest.changed = true;
            }
            Payload::GenerationSymbolDocumented(documented) => {
                let progress = &mut self.generation.totals;
                progress.totals.add(documented);
                progress.latest = Some(LatestSummary {
                    symbol_id: documented.symbol_id,
                    summary: documented.summary.clone(),
                    source: documented.source,
                });
                self.generation.changed = true;
            }
            Payload::IngestCompleted(_) => {
                self.ingest.totals.current_file = None;
                let last = self.ingest.send(now);
                return vec![emitter.emit(last), envelope.clone()];
            }
            Payload::GenerationCompleted(_) => {
                let mut events: Vec<Envelope> = self.flush(emitter, now);
                events.push(envelope.clone());
                return events;
            }
            _ => return vec![envelope.clone()],
        }
        let ingest = self.ingest.due(now, every).map(|p| emitter.emit(p));
        let generation = self.generation.due(now, every).map(|p| emitter.emit(p));
        ingest.into_iter().chain(generation).collect()
    }

    /// Each stage's exact progress, when something was folded in since it was last sent: for
    /// a caller that ends a stage with a completion of its own.
    pub fn flush(&mut self, emitter: &EventEmitter, now: Instant) -> Vec<Envelope> {
        let ingest = self
            .ingest
            .changed
            .then(|| emitter.emit(self.ingest.send(now)));
        let generation = self
            .generation
            .changed
            .then(|| emitter.emit(self.generation.send(now)));
        ingest.into_iter().chain(generation).collect()
    }
}

#[cfg(test)]
mod tests {
    use doctown_common::{ChunkId, JobId, Language, SymbolId};

    use super::*;
    use crate::{
        ChunkCreated, EventContext, EventType, FileDetected, GenerationCompleted, IngestCompleted,
        IngestStarted, SourceKind, SummarySource, SymbolDocumented,
    };

    fn emitter() -> EventEmitter {
        EventEmitter::new(JobId::generate(), EventContext::default(), "test/0")
    }

    fn types(events: &[Envelope]) -> Vec<EventType> {
        events.iter().map(Envelope::event_type).collect()
    }

    #[test]
    fn per_file_and_per_chunk_events_become_throttled_totals_then_exact_ones() {
        let emitter = emitter();
        let mut log = PublicLog::new(Duration::from_millis(250));
        let start = Instant::now();
        let started = emitter.emit(IngestStarted {
            source: "https://github.com/o/r".into(),
            source_kind: SourceKind::Github,
            git_ref: None,
        });
        assert_eq!(
            types(&log.admit(&started, &emitter, start)),
            [EventType::IngestStarted]
        );
        let mut published = Vec::new();
        for n in 0..100u64 {
            let now = start + Duration::from_millis(n * 10);
            let detected = emitter.emit(FileDetected {
                path: format!("src/f{n}.rs"),
                language: Some(Language::Rust),
                size_bytes: 10,
            });
            published.extend(log.admit(&detected, &emitter, now));
            let chunk = emitter.emit(ChunkCreated {
                chunk_id: ChunkId::from_bytes([n as u8; 32]),
                path: format!("src/f{n}.rs"),
                language: Some(Language::Rust),
                byte_range: doctown_common::ByteRange::new(0, 10).unwrap(),
                line_range: doctown_common::LineRange::new(1, 1).unwrap(),
                symbol_ids: Vec::new(),
                content: "fn f() {}\n".into(),
            });
            published.extend(log.admit(&chunk, &emitter, now));
        }
        // One second of events: progress at 0, 250, 500 and 750 ms, never a chunk's text.
        assert_eq!(types(&published), [EventType::IngestProgress; 4]);
        let completed = emitter.finish(IngestCompleted::default(), Ok(()));
        let end = log.admit(&completed, &emitter, start + Duration::from_millis(995));
        assert_eq!(
            types(&end),
            [EventType::IngestProgress, EventType::IngestCompleted]
        );
        let Payload::IngestProgress(last) = &end[0].payload else {
            unreachable!()
        };
        assert_eq!((last.files_detected, last.chunks), (100, 100));
        assert_eq!(last.languages.get("rust"), Some(&100));
        assert_eq!(last.current_file, None);
    }

    #[test]
    fn summaries_become_totals_with_the_running_cost() {
        let emitter = emitter();
        let mut log = PublicLog::new(Duration::from_secs(60));
        let now = Instant::now();
        let documented = |n: u64| SymbolDocumented {
            symbol_id: SymbolId::from_bytes([n as u8; 16]),
            summary: format!("Summary {n}."),
            source: SummarySource::Llm,
            input_tokens: 100,
            output_tokens: 10,
            cost_usd: 0.25,
            error: None,
        };
        let first = log.admit(&emitter.emit(documented(1)), &emitter, now);
        assert_eq!(types(&first), [EventType::GenerationProgress]);
        assert!(
            log.admit(&emitter.emit(documented(2)), &emitter, now)
                .is_empty()
        );
        let last = log.flush(&emitter, now);
        let Payload::GenerationProgress(totals) = &last[0].payload else {
            unreachable!()
        };
        assert_eq!(
            (totals.totals.documented, totals.totals.input_tokens),
            (2, 200)
        );
        assert_eq!(totals.totals.cost_usd, 0.5);
        assert_eq!(totals.latest.as_ref().unwrap().summary, "Summary 2.");
        assert!(log.flush(&emitter, now).is_empty());
        let completed = emitter.finish(GenerationCompleted::default(), Ok(()));
        assert_eq!(
            types(&log.admit(&completed, &emitter, now)),
            [EventType::GenerationCompleted]
        );
    }
}
