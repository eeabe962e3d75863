-- Seat alerts (`[alerts]`): while the free seats or the share of seats in use cross a
-- threshold, one message stands in the approvals channel, edited as the numbers change and,
-- when they recover, edited to say so (a later crossing posts a new one).
-- The standing alert's post (its outbox row, for edits; NULL while none stands) and what it
-- says.
ALTER TABLE bot_state ADD COLUMN seat_alert_outbox_id INTEGER;
ALTER TABLE bot_state ADD COLUMN seat_alert_text TEXT;
-- Which thresholds the seats crossed when last compared (what the metric shows), and when.
ALTER TABLE bot_state ADD COLUMN seat_alert_free_seats INTEGER NOT NULL DEFAULT 0
    CHECK (seat_alert_free_seats IN (0, 1));
ALTER TABLE bot_state ADD COLUMN seat_alert_usage INTEGER NOT NULL DEFAULT 0
    CHECK (seat_alert_usage IN (0, 1));
ALTER TABLE bot_state ADD COLUMN seat_alert_checked_at TEXT;
