-- When a job last sent its change (a licence assigned or removed, a membership added or
-- removed, a reprocessing asked for): group-based licensing applies a membership's licence
-- asynchronously, and `licensing.group_wait` is counted from this time. And how often the
-- job had Entra ID reprocess the person's group licences, which is bounded (a seat that
-- shows free while Entra ID still reports no free seat must not be asked about forever).
ALTER TABLE jobs ADD COLUMN sent_at TEXT;
ALTER TABLE jobs ADD COLUMN reprocesses INTEGER NOT NULL DEFAULT 0;
