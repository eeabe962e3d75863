-- Set, in its own commit, just before a job sends its change (assignLicense, a removal) and
-- cleared when the attempt records its outcome. A job claimed with it still set was cut off
-- (the process died, or its lease ran out) after the change may have reached the backend:
-- it reads back before sending the change again, and reports the change as made when it
-- shows.
ALTER TABLE jobs ADD COLUMN change_sent INTEGER NOT NULL DEFAULT 0;
