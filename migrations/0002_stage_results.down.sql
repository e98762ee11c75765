DROP INDEX docpacks_id;
ALTER TABLE docpacks ADD CONSTRAINT docpacks_job_id_key UNIQUE (job_id);
ALTER TABLE docpacks DROP CONSTRAINT docpacks_pkey;
-- Docpack ids do not fit a UUID: their rows cannot be kept.
DELETE FROM docpacks;
ALTER TABLE docpacks ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE docpacks ADD PRIMARY KEY (id);
DROP TABLE stage_results;
ALTER TABLE jobs DROP COLUMN last_sequence;
