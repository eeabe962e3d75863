-- The seats as the bot read them, one row a day (UTC): the day's last reading of the seats
-- bought (enabled) and assigned (consumed), and how many requests waited then. `!pro seats`
-- draws the last 90 days of it.
CREATE TABLE seat_history (
    day         TEXT PRIMARY KEY NOT NULL,
    enabled     BIGINT NOT NULL,
    consumed    BIGINT NOT NULL,
    pending     BIGINT NOT NULL,
    read_at     TEXT NOT NULL
);

-- A picture a post carries (the seat chart): its file name, its description in words and its
-- PNG bytes, cleared once the post is delivered (the text stays as the record).
ALTER TABLE outbox ADD COLUMN picture_name TEXT;
ALTER TABLE outbox ADD COLUMN picture_description TEXT;
ALTER TABLE outbox ADD COLUMN picture BLOB;
