-- The language each person chose with `language <code>`: the bot answers them in it (a slash
-- command's own locale still goes first). One row a chat account; none means "not chosen".
CREATE TABLE person_languages (
    chat_user   TEXT PRIMARY KEY NOT NULL,
    language    TEXT NOT NULL,
    chosen_at   TEXT NOT NULL
);
