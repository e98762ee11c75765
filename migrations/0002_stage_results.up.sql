-- Each job's events are numbered by the coordinator as they are stored: `last_sequence` is the
-- number of the last one, so appending takes the job's row lock and the next numbers.
ALTER TABLE jobs ADD COLUMN last_sequence bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0);

-- What a stage made for a job, under the idempotency key of the message that asked for it: a
-- redelivered message finds its work done and does not repeat it. Bodies are JSON, kept as
-- bytes (vectors are read back whole, never queried).
CREATE TABLE stage_results (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage      text        NOT NULL,
    key        text        NOT NULL,
    body       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, stage, key)
);

-- A docpack's id is the SHA-256 of its contents (hex), not a UUID, and two jobs over the same
-- commit make the same docpack: one row per job, found by id too.
ALTER TABLE docpacks DROP CONSTRAINT docpacks_pkey;
ALTER TABLE docpacks ALTER COLUMN id TYPE text;
ALTER TABLE docpacks ADD PRIMARY KEY (job_id);
ALTER TABLE docpacks DROP CONSTRAINT docpacks_job_id_key;
CREATE INDEX docpacks_id ON docpacks (id);
