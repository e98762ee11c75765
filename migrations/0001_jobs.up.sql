-- Jobs, their events (the envelopes, in order, so any client can replay them) and their docpacks.

CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    repo_url      text        NOT NULL,
    git_ref       text,
    commit_sha    text,
    status        text        NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'ingesting', 'embedding', 'assembling', 'generating',
                          'packing', 'completed', 'failed', 'cancelled')),
    -- The stage the job was in when it ended, or is in now.
    stage         text,
    error         jsonb,
    cost_usd      double precision NOT NULL DEFAULT 0,
    input_tokens  bigint      NOT NULL DEFAULT 0,
    output_tokens bigint      NOT NULL DEFAULT 0,
    duration_ms   bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);

-- The newest jobs first, page by page.
CREATE INDEX jobs_created_at ON jobs (created_at DESC, id DESC);
-- Unfinished jobs, which a restarted coordinator resumes.
CREATE INDEX jobs_unfinished ON jobs (status)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');

CREATE TABLE job_events (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    sequence   bigint      NOT NULL CHECK (sequence > 0),
    event_id   uuid        NOT NULL UNIQUE,
    event_type text        NOT NULL,
    envelope   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- One envelope per place in a job's stream: a redelivered event is stored once.
    PRIMARY KEY (job_id, sequence)
);

CREATE TABLE docpacks (
    id          uuid        PRIMARY KEY,
    job_id      uuid        NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    checksum    text        NOT NULL,
    size_bytes  bigint      NOT NULL CHECK (size_bytes >= 0),
    storage_key text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
