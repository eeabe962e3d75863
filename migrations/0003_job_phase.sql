-- A job whose change was made but not yet seen on read-back is only verified from then on,
-- never executed again ("never re-assigned blindly").
ALTER TABLE jobs ADD COLUMN phase TEXT NOT NULL DEFAULT 'execute' CHECK (phase IN ('execute', 'verify'));
