-- The orphan collector asks, per stored blob, whether a job row still names it.
CREATE INDEX jobs_blob_key ON jobs (blob_key);
