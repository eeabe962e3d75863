-- Whom a post means to mention (a JSON array of chat user ids): the only people the
-- transport lets it ping. Text a person typed (a reason) is shown in posts; a mention inside
-- it must not ping anyone. Rows queued before this column existed mention nobody.
ALTER TABLE outbox ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
