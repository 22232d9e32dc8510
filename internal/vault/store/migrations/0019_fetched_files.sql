-- The files fetch jobs upload, kept until their one download or until they expire, in the
-- database so that any replica serves them (docs/design/vault.md, "Replicas"). A file is parts
-- of at most 1 MiB. Its row in fetched_files is written once every part is, and taken (deleted)
-- by its download.
CREATE TABLE fetched_files (
    vault       TEXT NOT NULL,
    job_id      BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    parts       INTEGER NOT NULL,
    uploaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (vault, job_id)
);

CREATE TABLE fetched_file_parts (
    vault      TEXT NOT NULL,
    job_id     BIGINT NOT NULL,
    part       INTEGER NOT NULL,
    data       BYTES NOT NULL,
    written_at TIMESTAMP NOT NULL,
    PRIMARY KEY (vault, job_id, part)
);

CREATE INDEX fetched_files_by_time ON fetched_files (uploaded_at);

CREATE INDEX fetched_file_parts_by_time ON fetched_file_parts (written_at)
