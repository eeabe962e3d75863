//! The console transport: try the bot in a terminal, or drive it from scripts and tests.
//!
//! Human mode reads lines such as `alice: !pro request because I build reports`,
//! `#finance alice: ...`, `bob>m7: reason` (a reply to m7), `/dm alice: !pro status`,
//! `bob +✅ m7` / `bob -✅ m7` (add / remove a reaction), `/advance 4h`, `/wait` and `/help`,
//! and prints what the bot does, one line per action with message ids.
//!
//! JSONL mode (`--jsonl`) reads and writes one JSON object per line; see [`Input`] and
//! [`Output`]. Message ids are `m<n>`, unique across restarts (blocks of numbers are reserved
//! in the store).
//!
//! Input is read as bytes a line at a time ([`LineReader`]): a line that is not UTF-8, too
//! long, or not a valid record is answered with an [`InputError`] and the next line is read.

mod io;

pub use io::{Input, InputError, LineReader, Output, MAX_LINE_BYTES};

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use tokio::io::AsyncBufRead;

use super::{ChatError, ChatEvent, ChatOutput, Post, Reaction};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, Picture};
use crate::engine::clock::AdjustableClock;
use crate::engine::Engine;
use crate::store::{bot_state, Store};

/// How the console talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lines for people.
    Human,
    /// One JSON object per line.
    Jsonl,
}

const ID_BLOCK: i64 = 1000;

/// Hands out message ids `m<n>`, reserving blocks in the store so ids stay unique across runs.
pub struct MessageIds {
    store: Store,
    next: tokio::sync::Mutex<(i64, i64)>,
}

impl MessageIds {
    /// Ids backed by `store`.
    pub fn new(store: Store) -> Self {
        MessageIds {
            store,
            next: tokio::sync::Mutex::new((0, 0)),
        }
    }

    /// The next id.
    pub async fn next(&self) -> Result<MessageRef, ChatError> {
        let mut g = self.next.lock().await;
        if g.0 >= g.1 {
            let start = async {
                let mut w = self.store.write().await?;
                let start = bot_state::reserve_console_ids(w.conn().await?, ID_BLOCK).await?;
                w.commit().await?;
                Ok::<i64, crate::store::StoreError>(start)
            }
            .await
            .map_err(|e| ChatError::Transient(format!("cannot reserve message ids: {e}")))?;
            *g = (start, start + ID_BLOCK);
        }
        let id = g.0;
        g.0 += 1;
        Ok(MessageRef(format!("m{id}")))
    }
}

/// The console's output side: prints what the bot does.
pub struct ConsoleOutput {
    mode: Mode,
    bot_name: String,
    ids: MessageIds,
    out: Mutex<Box<dyn Write + Send>>,
    /// Where pictures are saved (`<message id>-<file name>`).
    pictures: PathBuf,
}

impl ConsoleOutput {
    /// Prints to `out` in `mode`; saves the pictures messages carry in `pictures`.
    pub fn new(
        mode: Mode,
        bot_name: impl Into<String>,
        store: Store,
        out: Box<dyn Write + Send>,
        pictures: PathBuf,
    ) -> Self {
        ConsoleOutput {
            mode,
            bot_name: bot_name.into(),
            ids: MessageIds::new(store),
            out: Mutex::new(out),
            pictures,
        }
    }

    /// Saves the picture message `id` carries and says where; a file that cannot be written
    /// is logged, and the message stands without it.
    fn save_picture(&self, id: &MessageRef, picture: &Picture) {
        // Only the file name's own characters: it names a file in a folder of ours.
        let name: String = picture
            .file_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let path = self.pictures.join(format!("{id}-{name}"));
        let written = std::fs::create_dir_all(&self.pictures)
            .and_then(|()| std::fs::write(&path, &picture.png));
        match written {
            Ok(()) => self.emit(&Output::Picture {
                message_id: id.to_string(),
                path: path.display().to_string(),
            }),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not save a picture")
            }
        }
    }

    /// Prints one output record.
    pub fn emit(&self, o: &Output) {
        let line = match self.mode {
            Mode::Jsonl => serde_json::to_string(o).unwrap_or_else(|e| {
                format!("{{\"type\":\"error\",\"message\":\"cannot encode output: {e}\"}}")
            }),
            Mode::Human => o.human(&self.bot_name),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stdout must not crash the bot; the store still holds everything.
        let _ignored = writeln!(out, "{line}").and_then(|()| out.flush());
    }

    /// The next message id.
    pub async fn next_id(&self) -> Result<MessageRef, ChatError> {
        self.ids.next().await
    }
}

#[async_trait]
impl ChatOutput for ConsoleOutput {
    async fn send(&self, post: Post<'_>) -> Result<MessageRef, ChatError> {
        let id = self.next_id().await?;
        self.emit(&Output::Send {
            channel: post.channel.to_string(),
            message_id: id.to_string(),
            content: post.content.to_string(),
            reply_to: post.reply_to.map(|m| m.to_string()),
        });
        if let Some(picture) = post.picture {
            self.save_picture(&id, picture);
        }
        Ok(id)
    }

    async fn dm(&self, user: &ChatUserId, content: &str) -> Result<MessageRef, ChatError> {
        let id = self.next_id().await?;
        self.emit(&Output::Dm {
            user: user.to_string(),
            message_id: id.to_string(),
            content: content.to_string(),
        });
        Ok(id)
    }

    async fn dm_picture_once(
        &self,
        _key: &str,
        user: &ChatUserId,
        content: &str,
        picture: &Picture,
    ) -> Result<MessageRef, ChatError> {
        let id = self.dm(user, content).await?;
        self.save_picture(&id, picture);
        Ok(id)
    }

    async fn edit(
        &self,
        _channel: &ChannelRef,
        message: &MessageRef,
        content: &str,
    ) -> Result<(), ChatError> {
        self.emit(&Output::Edit {
            message_id: message.to_string(),
            content: content.to_string(),
        });
        Ok(())
    }

    async fn react(
        &self,
        _channel: &ChannelRef,
        message: &MessageRef,
        emoji: &str,
    ) -> Result<(), ChatError> {
        self.emit(&Output::React {
            message_id: message.to_string(),
            emoji: emoji.to_string(),
        });
        Ok(())
    }

    async fn unreact(
        &self,
        _channel: &ChannelRef,
        message: &MessageRef,
        user: &ChatUserId,
        emoji: &str,
    ) -> Result<(), ChatError> {
        self.emit(&Output::Unreact {
            message_id: message.to_string(),
            user: user.to_string(),
            emoji: emoji.to_string(),
        });
        Ok(())
    }

    async fn delete(&self, _channel: &ChannelRef, message: &MessageRef) -> Result<(), ChatError> {
        self.emit(&Output::Delete {
            message_id: message.to_string(),
        });
        Ok(())
    }

    fn mention(&self, user: &ChatUserId) -> String {
        format!("@{user}")
    }
}

/// Reads events from `input` until it ends, feeding the engine; then returns so the caller
/// can shut down. Bad lines (not UTF-8, too long, not an input record) are answered with an
/// error and skipped; only a failed read of the input itself ends the loop with an error.
pub async fn run<R: AsyncBufRead + Unpin>(
    engine: Engine,
    output: Arc<ConsoleOutput>,
    clock: Arc<AdjustableClock>,
    input: R,
    general_channel: ChannelRef,
) -> anyhow::Result<()> {
    let console = Console {
        engine,
        output,
        clock,
        general_channel,
    };
    let mut lines = LineReader::new(input);
    while let Some(line) = lines
        .next_line()
        .await
        .context("Failed to read the console's input")?
    {
        match line.and_then(|line| console.parse(&line)) {
            Ok(Some(input)) => console.apply(input).await,
            Ok(None) => {}
            Err(e) => console.report(&e),
        }
    }
    Ok(())
}

/// What the input loop works with: the engine it feeds, where it answers, and the clock
/// `/advance` moves.
struct Console {
    engine: Engine,
    output: Arc<ConsoleOutput>,
    clock: Arc<AdjustableClock>,
    general_channel: ChannelRef,
}

impl Console {
    /// Reads one line in the console's mode; `Ok(None)` for a line that asks nothing.
    fn parse(&self, line: &str) -> Result<Option<Input>, InputError> {
        match self.output.mode {
            Mode::Jsonl => Input::from_json(line),
            Mode::Human => Input::from_human(line, &self.general_channel),
        }
    }

    /// Answers a line that could not be used with an error record.
    fn report(&self, e: &dyn std::fmt::Display) {
        self.output.emit(&Output::Error {
            message: e.to_string(),
        });
    }

    /// Does what one input record asks.
    async fn apply(&self, input: Input) {
        let added = matches!(input, Input::ReactionAdd { .. });
        match input {
            message @ Input::Message { .. } => self.receive(message).await,
            Input::ReactionAdd {
                message_id,
                user,
                emoji,
            }
            | Input::ReactionRemove {
                message_id,
                user,
                emoji,
            } => {
                let reaction = Reaction {
                    message: MessageRef(message_id),
                    channel: None,
                    user: ChatUserId(user),
                    emoji,
                    pressed: None,
                };
                let event = if added {
                    ChatEvent::ReactionAdded(reaction)
                } else {
                    ChatEvent::ReactionRemoved(reaction)
                };
                self.engine.handle(event).await;
            }
            Input::Advance { seconds } => self.advance(Duration::from_secs(seconds)).await,
            Input::WaitIdle {} => {
                self.engine.settle().await;
                self.output.emit(&Output::Idle);
            }
            Input::Help => self.output.emit(&Output::Note {
                text: io::HUMAN_HELP.to_string(),
            }),
        }
    }

    /// Gives a message its id, says so, and hands it to the engine.
    async fn receive(&self, message: Input) {
        let id = match self.output.next_id().await {
            Ok(id) => id,
            Err(e) => return self.report(&e),
        };
        self.output.emit(&Output::Received {
            message_id: id.to_string(),
        });
        if let Some(incoming) = message.into_incoming(id) {
            self.engine.handle(ChatEvent::Message(incoming)).await;
        }
    }

    /// Moves the clock forward and runs what became due.
    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.engine.tick().await;
        self.engine.deliver().await;
        self.engine.wake();
    }
}
