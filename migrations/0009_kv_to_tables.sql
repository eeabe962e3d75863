-- The schemaless `kv` table gives way to a typed home for each thing it held; what an
-- existing database kept there is carried over, then `kv` is dropped.
--
-- kv key                              new home
-- denial_draft:<stage>:<chat user>    denial_drafts (a reason replied before the ❌)
-- batch_told:<chat user>:<message>    batch_summaries (one summary per batch, sent once)
-- purchase_task:<job>                 jobs.task_posted_at (manual purchase task posted or reminded)
-- delivery_key_salt                   bot_state.delivery_key_salt
-- console_message_ids                 bot_state.console_message_ids (last id handed out)
-- health_check                        bot_state.health_checked_at

CREATE TABLE denial_drafts (
    stage_id   INTEGER NOT NULL REFERENCES stages (id),
    chat_user  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (stage_id, chat_user)
);

CREATE TABLE batch_summaries (
    requester       TEXT NOT NULL,
    origin_message  TEXT NOT NULL,
    told_at         TEXT NOT NULL,
    PRIMARY KEY (requester, origin_message)
);

ALTER TABLE jobs ADD COLUMN task_posted_at TEXT;

CREATE TABLE bot_state (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    delivery_key_salt    TEXT,
    console_message_ids  INTEGER NOT NULL DEFAULT 0,
    health_checked_at    TEXT
);

INSERT INTO bot_state (id, delivery_key_salt, console_message_ids, health_checked_at)
VALUES (
    1,
    (SELECT value FROM kv WHERE key = 'delivery_key_salt'),
    COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'console_message_ids'), 0),
    (SELECT value FROM kv WHERE key = 'health_check')
);

-- denial_draft:<stage>:<chat user>: the stage id runs up to the next colon.
INSERT INTO denial_drafts (stage_id, chat_user, reason)
SELECT CAST(substr(rest, 1, instr(rest, ':') - 1) AS INTEGER),
       substr(rest, instr(rest, ':') + 1),
       value
FROM (SELECT substr(key, length('denial_draft:') + 1) AS rest, value
      FROM kv WHERE key LIKE 'denial_draft:%')
WHERE instr(rest, ':') > 1
  AND CAST(substr(rest, 1, instr(rest, ':') - 1) AS INTEGER) IN (SELECT id FROM stages);

-- batch_told:<chat user>:<message>: chat user ids carry no colon.
INSERT INTO batch_summaries (requester, origin_message, told_at)
SELECT substr(rest, 1, instr(rest, ':') - 1), substr(rest, instr(rest, ':') + 1), value
FROM (SELECT substr(key, length('batch_told:') + 1) AS rest, value
      FROM kv WHERE key LIKE 'batch_told:%')
WHERE instr(rest, ':') > 1;

UPDATE jobs SET task_posted_at = (
    SELECT value FROM kv WHERE key = 'purchase_task:' || jobs.id
);

DROP TABLE kv;
