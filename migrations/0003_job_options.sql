-- Print options a patron asked for (subject line or plus-address), carried to the station.
ALTER TABLE jobs ADD COLUMN duplex BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN page_range TEXT NOT NULL DEFAULT '';
