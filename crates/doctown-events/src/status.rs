//! The stages of the pipeline and a job's status, with the transitions allowed between them:
//! the state machine every change of a job's status goes through, so a job never moves
//! backwards, never leaves an ending and never skips a stage.
//!
//! [`Stage::ALL`] is the one definition of which stages there are and in what order; a job's
//! statuses, their order and everything that names a stage (queues, event types, the website's
//! list, the database's check) derive from it or are checked against it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stage of the pipeline, in the order a job goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading, filtering and parsing the repository into files, symbols and chunks.
    Ingest,
    /// Embedding the chunks.
    Embed,
    /// Clusters, the code graph and each symbol's context.
    Assemble,
    /// Summaries.
    Generate,
    /// The docpack, written and stored.
    Pack,
}

impl Stage {
    /// Every stage, in order: the one place their order is written.
    pub const ALL: [Stage; 5] = [
        Stage::Ingest,
        Stage::Embed,
        Stage::Assemble,
        Stage::Generate,
        Stage::Pack,
    ];

    /// Its name (queue streams and stored results are named by it).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Embed => "embed",
            Stage::Assemble => "assemble",
            Stage::Generate => "generate",
            Stage::Pack => "pack",
        }
    }

    /// The prefix of the event types its workers emit (`ingest.started.v1`, …).
    pub fn event_prefix(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Embed => "embedding",
            Stage::Assemble => "assembly",
            Stage::Generate => "generation",
            Stage::Pack => "pack",
        }
    }

    /// A job's status while it is in this stage.
    pub fn status(self) -> JobStatus {
        match self {
            Stage::Ingest => JobStatus::Ingesting,
            Stage::Embed => JobStatus::Embedding,
            Stage::Assemble => JobStatus::Assembling,
            Stage::Generate => JobStatus::Generating,
            Stage::Pack => JobStatus::Packing,
        }
    }

    /// The stage after this one; none after the last.
    pub fn next(self) -> Option<Stage> {
        let at = Stage::ALL.iter().position(|stage| *stage == self)?;
        Stage::ALL.get(at + 1).copied()
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a job is: waiting, in one of the stages, or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for ingest.
    Queued,
    /// Reading, filtering and parsing the repository.
    Ingesting,
    /// Embedding its chunks.
    Embedding,
    /// Clustering, building the graph and the contexts.
    Assembling,
    /// Writing summaries.
    Generating,
    /// Writing and storing the docpack.
    Packing,
    /// Done; the docpack is stored.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped at the user's request.
    Cancelled,
}

/// A status change that the state machine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a job cannot go from `{from}` to `{to}`{}", if from.is_terminal() { " (it has finished)" } else { "" })]
pub struct TransitionError {
    /// The job's status.
    pub from: JobStatus,
    /// The status asked for.
    pub to: JobStatus,
}

impl JobStatus {
    /// Every status, in the order a job goes through them (the three endings last); a test
    /// checks it against [`Stage::ALL`].
    pub const ALL: [JobStatus; 9] = [
        JobStatus::Queued,
        JobStatus::Ingesting,
        JobStatus::Embedding,
        JobStatus::Assembling,
        JobStatus::Generating,
        JobStatus::Packing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// Its name, as the API and the database write it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Ingesting => "ingesting",
            JobStatus::Embedding => "embedding",
            JobStatus::Assembling => "assembling",
            JobStatus::Generating => "generating",
            JobStatus::Packing => "packing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the job has finished, one way or another.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The stage a job in this status is in; none while queued or once ended.
    pub fn stage(self) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.status() == self)
    }

    /// The status after this one when all goes well (the stages in [`Stage::ALL`]'s order,
    /// then `completed`); none after `completed` or an ending.
    pub fn next(self) -> Option<JobStatus> {
        match (self, self.stage()) {
            (JobStatus::Queued, _) => Some(Stage::ALL[0].status()),
            (_, Some(stage)) => Some(stage.next().map_or(JobStatus::Completed, Stage::status)),
            _ => None,
        }
    }

    /// Whether a job in this status may move to `to`: on to the next stage, to `failed` or
    /// `cancelled` from any unfinished status, or to itself (a redelivered message repeats a
    /// transition, which must do no harm).
    pub fn can_become(self, to: JobStatus) -> bool {
        to == self
            || self.next() == Some(to)
            || (!self.is_terminal() && matches!(to, JobStatus::Failed | JobStatus::Cancelled))
    }

    /// `to`, when this status may become it.
    pub fn transition(self, to: JobStatus) -> Result<JobStatus, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a job status (one of queued, ingesting, embedding, assembling, generating, packing, completed, failed, cancelled)"
)]
pub struct UnknownStatus(String);

impl FromStr for JobStatus {
    type Err = UnknownStatus;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownStatus(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_goes_through_every_stage_in_order_and_stops_at_the_end() {
        let mut status = JobStatus::Queued;
        let mut path = vec![status];
        while let Some(next) = status.next() {
            status = status.transition(next).unwrap();
            path.push(status);
        }
        assert_eq!(path, JobStatus::ALL[..7]);
        assert_eq!(status, JobStatus::Completed);
    }

    #[test]
    fn only_forward_one_stage_or_to_an_ending_and_never_out_of_one() {
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                let allowed = from.can_become(to);
                let expected = to == from
                    || (!from.is_terminal()
                        && (from.next() == Some(to)
                            || matches!(to, JobStatus::Failed | JobStatus::Cancelled)));
                assert_eq!(allowed, expected, "{from} → {to}");
                assert_eq!(from.transition(to).is_ok(), allowed);
            }
        }
        // Skipping a stage, going back, and leaving an ending are refused with the reason.
        let skip = JobStatus::Queued
            .transition(JobStatus::Assembling)
            .unwrap_err();
        assert_eq!(
            skip.to_string(),
            "a job cannot go from `queued` to `assembling`"
        );
        assert!(JobStatus::Packing.transition(JobStatus::Embedding).is_err());
        let after = JobStatus::Completed
            .transition(JobStatus::Failed)
            .unwrap_err();
        assert_eq!(
            after.to_string(),
            "a job cannot go from `completed` to `failed` (it has finished)"
        );
        // Repeating a transition (a redelivered message) is harmless.
        assert_eq!(
            JobStatus::Cancelled.transition(JobStatus::Cancelled),
            Ok(JobStatus::Cancelled)
        );
    }

    #[test]
    fn statuses_follow_the_stages() {
        let mut expected = vec![JobStatus::Queued];
        expected.extend(Stage::ALL.map(Stage::status));
        expected.extend([
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ]);
        assert_eq!(JobStatus::ALL.to_vec(), expected);
        for stage in Stage::ALL {
            assert_eq!(stage.status().stage(), Some(stage));
            assert_eq!(
                stage.status().next(),
                Some(stage.next().map_or(JobStatus::Completed, Stage::status))
            );
            assert!(
                crate::EventType::ALL
                    .iter()
                    .any(|t| t.stage() == stage.event_prefix())
            );
        }
        assert_eq!(Stage::Pack.next(), None);
    }

    #[test]
    fn names_round_trip_through_text_and_json() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(serde_json::from_str::<JobStatus>(&json).unwrap(), status);
        }
        let err = "done".parse::<JobStatus>().unwrap_err();
        assert!(err.to_string().starts_with("`done` is not a job status"));
    }
}
