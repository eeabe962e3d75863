//! The console's input and output records, in JSON and in human-readable lines.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::chat::IncomingMessage;
use crate::domain::{ChannelRef, ChatUserId, MessageRef};

/// Help for human mode.
pub const HUMAN_HELP: &str = "\
Type what people do in chat, one line each:
  alice: !pro request because I build reports     alice writes in the general channel
  #finance alice: !pro status                      ... in another channel
  bob>m7: budget is frozen                         bob replies to message m7
  /dm alice: !pro status                           alice writes to the bot directly
  bob +✅ m7                                        bob adds a reaction to m7 (-✅ removes it)
  /advance 4h                                      move the bot's clock forward
  /wait                                            run everything that is due
  /help                                            this text; end input (Ctrl-D) to stop";

/// One input event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// Someone writes a message.
    Message {
        /// Channel name (default `general` in human mode).
        channel: String,
        /// Author's console name.
        author: String,
        /// Text.
        content: String,
        /// The message this one replies to.
        #[serde(default)]
        reply_to: Option<String>,
        /// A direct message to the bot.
        #[serde(default)]
        direct: bool,
    },
    /// Someone adds a reaction.
    ReactionAdd {
        /// The message.
        message_id: String,
        /// Who.
        user: String,
        /// Which emoji.
        emoji: String,
    },
    /// Someone removes a reaction.
    ReactionRemove {
        /// The message.
        message_id: String,
        /// Who.
        user: String,
        /// Which emoji.
        emoji: String,
    },
    /// Move the bot's clock forward.
    Advance {
        /// By how many seconds.
        seconds: u64,
    },
    /// Run everything that is due, then answer `idle`.
    WaitIdle {},
    /// Show help (human mode only).
    #[serde(skip)]
    Help,
}

/// One output record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// An input message got an id.
    Received {
        /// Its id.
        message_id: String,
    },
    /// The bot posted in a channel.
    Send {
        /// Where.
        channel: String,
        /// The new message's id.
        message_id: String,
        /// Text.
        content: String,
        /// The message answered.
        reply_to: Option<String>,
    },
    /// The bot sent a direct message.
    Dm {
        /// To whom.
        user: String,
        /// The new message's id.
        message_id: String,
        /// Text.
        content: String,
    },
    /// The bot's message carries a picture, saved as a PNG file.
    Picture {
        /// The message.
        message_id: String,
        /// Where the file is.
        path: String,
    },
    /// The bot edited its message.
    Edit {
        /// Which.
        message_id: String,
        /// New text.
        content: String,
    },
    /// The bot reacted.
    React {
        /// On which message.
        message_id: String,
        /// Which emoji.
        emoji: String,
    },
    /// The bot removed someone's reaction.
    Unreact {
        /// On which message.
        message_id: String,
        /// Whose.
        user: String,
        /// Which emoji.
        emoji: String,
    },
    /// The bot deleted someone's message.
    Delete {
        /// Which.
        message_id: String,
    },
    /// Everything due has run.
    Idle,
    /// An input line could not be used.
    Error {
        /// Why.
        message: String,
    },
    /// A note for the person at the console (human mode).
    Note {
        /// Text.
        text: String,
    },
}

/// Longest input line taken, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How many characters of a refused value an error message shows.
const SHOWN_CHARS: usize = 64;

/// Why a console input line was refused. The line is answered with this text and skipped;
/// the lines after it are read as usual.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("input line longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// The line's bytes are not UTF-8.
    #[error("input line is not UTF-8: {0}")]
    NotUtf8(String),
    /// A JSONL line that is not one of the input records.
    #[error("bad input line: {0}")]
    BadJson(String),
    /// A human-mode line that matches no form; the text is the help.
    #[error("{}", HUMAN_HELP)]
    Unrecognised,
    /// A person's or channel's name that is not a console name.
    #[error("{field}: {value} is not a console name (use 1-64 letters, digits, _ . -)")]
    NotAName {
        /// The field (`channel`, `author`, `user`).
        field: &'static str,
        /// The value as given, quoted and escaped.
        value: String,
    },
    /// A message id that is empty, too long or has spaces or control characters.
    #[error(
        "{field}: {value} is not a message id (use 1-64 characters, no spaces or control \
         characters)"
    )]
    NotAMessageId {
        /// The field (`message_id`, `reply_to`).
        field: &'static str,
        /// The value as given, quoted and escaped.
        value: String,
    },
    /// An emoji that is empty, too long or has control characters.
    #[error("{field}: {value} is not an emoji (use 1-16 characters, no control characters)")]
    NotAnEmoji {
        /// The field (`emoji`).
        field: &'static str,
        /// The value as given, quoted and escaped.
        value: String,
    },
    /// A human-mode `/advance` whose argument is no duration.
    #[error("/advance: {value} is not a duration (try 3600 or 4h)")]
    NotADuration {
        /// The value as given, quoted and escaped.
        value: String,
    },
}

/// `value` for an error message: in double quotes, with control characters and invisible
/// formatting characters (zero-width, bidi controls) as `\u{..}` escapes and quotes and
/// backslashes escaped, so that what is shown is what was sent; cut after
/// [`SHOWN_CHARS`] characters (then `…`).
fn shown(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(4 * SHOWN_CHARS) + 3);
    out.push('"');
    for c in value.chars().take(SHOWN_CHARS) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    if value.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Formatting characters that print as nothing or reorder what follows.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
    )
}

/// Reads the console's input a line at a time as bytes, so that a bad line is that line's
/// problem only: a line that is not UTF-8 or is longer than [`MAX_LINE_BYTES`] comes back
/// as an [`InputError`] and the next call reads the next line. A line over the limit is
/// read past and dropped, not kept, so memory stays bounded whatever arrives.
pub struct LineReader<R> {
    input: R,
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads lines from `input`.
    pub fn new(input: R) -> Self {
        LineReader {
            input,
            line: Vec::new(),
        }
    }

    /// The next line without its ending (`\n` or `\r\n`), `None` at the end of the input.
    /// The outer error is a failed read of the input; the inner one refuses this line only.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Result<String, InputError>>> {
        self.line.clear();
        let mut read_any = false;
        let mut too_long = false;
        loop {
            let chunk = self.input.fill_buf().await?;
            if chunk.is_empty() {
                break;
            }
            read_any = true;
            let (part, used, ended) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            // One byte over the limit is room for the `\r` of a `\r\n` ending.
            if !too_long && self.line.len() + part.len() <= MAX_LINE_BYTES + 1 {
                self.line.extend_from_slice(part);
            } else {
                too_long = true;
            }
            self.input.consume(used);
            if ended {
                break;
            }
        }
        if !read_any {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if too_long || self.line.len() > MAX_LINE_BYTES {
            return Ok(Some(Err(InputError::TooLong)));
        }
        Ok(Some(match std::str::from_utf8(&self.line) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(not_utf8(&self.line, &e)),
        }))
    }
}

/// Says where `bytes` stop being UTF-8, showing the offending bytes as `\xNN` escapes (a
/// sequence cut short by the line's end counts as offending too).
fn not_utf8(bytes: &[u8], e: &std::str::Utf8Error) -> InputError {
    let at = e.valid_up_to();
    let len = e.error_len().unwrap_or(bytes.len() - at);
    let bad = bytes.get(at..at + len).unwrap_or_default();
    InputError::NotUtf8(format!("{} at byte {at}", bad.escape_ascii()))
}

fn valid_name(field: &'static str, name: &str) -> Result<String, InputError> {
    Ok(checked(field, name, Shape::Name)?.to_ascii_lowercase())
}

fn valid_message_id(field: &'static str, id: &str) -> Result<String, InputError> {
    Ok(checked(field, id, Shape::MessageId)?.to_string())
}

fn valid_emoji(field: &'static str, e: &str) -> Result<String, InputError> {
    Ok(checked(field, e, Shape::Emoji)?.to_string())
}

/// What a field of an input record must look like.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A console name: 1-64 letters, digits, `_ . -`.
    Name,
    /// A message id: 1-64 characters, no whitespace or control characters.
    MessageId,
    /// An emoji: 1-16 characters, no control characters.
    Emoji,
}

impl Shape {
    /// Whether the trimmed, non-empty `t` has this shape.
    fn fits(self, t: &str) -> bool {
        match self {
            Shape::Name => {
                t.len() <= 64
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            }
            Shape::MessageId => {
                t.len() <= 64 && !t.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            Shape::Emoji => t.chars().count() <= 16 && !t.chars().any(char::is_control),
        }
    }

    /// The error for `field` holding `value` (as shown), which does not have this shape.
    fn refused(self, field: &'static str, value: String) -> InputError {
        match self {
            Shape::Name => InputError::NotAName { field, value },
            Shape::MessageId => InputError::NotAMessageId { field, value },
            Shape::Emoji => InputError::NotAnEmoji { field, value },
        }
    }
}

/// `value` trimmed, when it is not empty and has `shape`; else the error saying so.
fn checked<'v>(field: &'static str, value: &'v str, shape: Shape) -> Result<&'v str, InputError> {
    let t = value.trim();
    if t.is_empty() || !shape.fits(t) {
        return Err(shape.refused(field, shown(value)));
    }
    Ok(t)
}

impl Input {
    /// The chat message a [`Input::Message`] writes, under the id it was given; `None` for
    /// every other record.
    pub(super) fn into_incoming(self, id: MessageRef) -> Option<IncomingMessage> {
        let Input::Message {
            channel,
            author,
            content,
            reply_to,
            direct,
        } = self
        else {
            return None;
        };
        Some(IncomingMessage {
            id,
            channel: ChannelRef(channel),
            author_name: author.clone(),
            author: ChatUserId(author),
            content,
            reply_to: reply_to.map(MessageRef),
            direct,
            public: !direct,
            roles: Vec::new(),
            // The console has no app language: a person's choice, else the bot's.
            locale: None,
        })
    }

    /// Reads a JSONL line; `Ok(None)` for a blank line.
    pub fn from_json(line: &str) -> Result<Option<Input>, InputError> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(InputError::TooLong);
        }
        let input: Input =
            serde_json::from_str(line).map_err(|e| InputError::BadJson(e.to_string()))?;
        input.validated().map(Some)
    }

    fn validated(self) -> Result<Input, InputError> {
        Ok(match self {
            Input::Message {
                channel,
                author,
                content,
                reply_to,
                direct,
            } => Input::Message {
                channel: valid_name("channel", &channel)?,
                author: valid_name("author", &author)?,
                content,
                reply_to: reply_to
                    .map(|r| valid_message_id("reply_to", &r))
                    .transpose()?,
                direct,
            },
            Input::ReactionAdd {
                message_id,
                user,
                emoji,
            } => Input::ReactionAdd {
                message_id: valid_message_id("message_id", &message_id)?,
                user: valid_name("user", &user)?,
                emoji: valid_emoji("emoji", &emoji)?,
            },
            Input::ReactionRemove {
                message_id,
                user,
                emoji,
            } => Input::ReactionRemove {
                message_id: valid_message_id("message_id", &message_id)?,
                user: valid_name("user", &user)?,
                emoji: valid_emoji("emoji", &emoji)?,
            },
            other => other,
        })
    }

    /// Reads a human-mode line; `Ok(None)` for a blank line or a comment (`# ` at the start).
    /// Errors name the JSONL field the faulty part stands for (`channel` for `#name`,
    /// `reply_to` for `>m7`, ...).
    pub fn from_human(line: &str, general: &ChannelRef) -> Result<Option<Input>, InputError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with("# ") || line == "#" {
            return Ok(None);
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(InputError::TooLong);
        }
        if line == "/help" {
            return Ok(Some(Input::Help));
        }
        if line == "/wait" {
            return Ok(Some(Input::WaitIdle {}));
        }
        if let Some(rest) = line.strip_prefix("/advance") {
            let rest = rest.trim();
            let seconds = match rest.parse::<u64>() {
                Ok(s) => s,
                Err(_) => humantime::parse_duration(rest)
                    .map_err(|_| InputError::NotADuration { value: shown(rest) })?
                    .as_secs(),
            };
            return Ok(Some(Input::Advance { seconds }));
        }
        let (direct, line) = match line.strip_prefix("/dm ") {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        // Reactions: `bob +✅ m7` / `bob -✅ m7`. Other three-word lines are messages
        // (`#finance alice: hi`).
        let words: Vec<&str> = line.split_whitespace().collect();
        let sign = words.get(1).and_then(|w| {
            w.strip_prefix('+')
                .map(|e| (true, e))
                .or_else(|| w.strip_prefix('-').map(|e| (false, e)))
        });
        if let (false, 3, Some((add, emoji))) = (direct, words.len(), sign) {
            let user = valid_name("user", words[0])?;
            let emoji = valid_emoji("emoji", emoji)?;
            let message_id = valid_message_id("message_id", words[2])?;
            return Ok(Some(if add {
                Input::ReactionAdd {
                    message_id,
                    user,
                    emoji,
                }
            } else {
                Input::ReactionRemove {
                    message_id,
                    user,
                    emoji,
                }
            }));
        }
        // Messages: `[#channel ]author[>mID]: text`.
        let (channel, line) = match line.strip_prefix('#') {
            Some(rest) => {
                let (chan, rest) = rest
                    .split_once(char::is_whitespace)
                    .ok_or(InputError::Unrecognised)?;
                (valid_name("channel", chan)?, rest.trim_start())
            }
            None => (general.to_string(), line),
        };
        let (who, content) = line.split_once(':').ok_or(InputError::Unrecognised)?;
        let (author, reply_to) = match who.split_once('>') {
            Some((a, r)) => (a, Some(valid_message_id("reply_to", r)?)),
            None => (who, None),
        };
        Ok(Some(Input::Message {
            channel,
            author: valid_name("author", author)?,
            content: content.trim_start().to_string(),
            reply_to,
            direct,
        }))
    }
}

impl Output {
    /// The record as a line for people.
    pub fn human(&self, bot: &str) -> String {
        match self {
            Output::Received { message_id } => format!("        ({message_id})"),
            Output::Send {
                channel,
                message_id,
                content,
                reply_to,
            } => {
                let re = reply_to
                    .as_ref()
                    .map(|r| format!(" ↪{r}"))
                    .unwrap_or_default();
                format!("[{message_id}] #{channel} {bot}{re}: {}", indent(content))
            }
            Output::Dm {
                user,
                message_id,
                content,
            } => format!("[{message_id}] DM {bot} → {user}: {}", indent(content)),
            Output::Picture { message_id, path } => format!("[{message_id}] 📎 {path}"),
            Output::Edit {
                message_id,
                content,
            } => format!("[{message_id} edited] {}", indent(content)),
            Output::React { message_id, emoji } => format!("[{message_id}] {bot} reacted {emoji}"),
            Output::Unreact {
                message_id,
                user,
                emoji,
            } => format!("[{message_id}] {bot} removed {user}'s {emoji}"),
            Output::Delete { message_id } => format!("[{message_id} deleted by {bot}]"),
            Output::Idle => "(idle)".into(),
            Output::Error { message } => format!("! {message}"),
            Output::Note { text } => text.clone(),
        }
    }
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn general() -> ChannelRef {
        ChannelRef("general".into())
    }

    #[test]
    fn human_message_lines() {
        assert_eq!(
            Input::from_human("alice: !pro request because I build reports", &general()).unwrap(),
            Some(Input::Message {
                channel: "general".into(),
                author: "alice".into(),
                content: "!pro request because I build reports".into(),
                reply_to: None,
                direct: false,
            })
        );
        assert_eq!(
            Input::from_human("#finance Bob>m7: no budget", &general()).unwrap(),
            Some(Input::Message {
                channel: "finance".into(),
                author: "bob".into(),
                content: "no budget".into(),
                reply_to: Some("m7".into()),
                direct: false,
            })
        );
    }

    #[test]
    fn a_one_word_message_in_a_named_channel_is_a_message() {
        let got = Input::from_human("#finance alice: hi", &general());

        assert_eq!(
            got,
            Ok(Some(Input::Message {
                channel: "finance".into(),
                author: "alice".into(),
                content: "hi".into(),
                reply_to: None,
                direct: false,
            }))
        );
    }

    #[test]
    fn human_reaction_lines() {
        assert_eq!(
            Input::from_human("bob +✅ m7", &general()).unwrap(),
            Some(Input::ReactionAdd {
                message_id: "m7".into(),
                user: "bob".into(),
                emoji: "✅".into()
            })
        );
        assert_eq!(
            Input::from_human("bob -❌ m7", &general()).unwrap(),
            Some(Input::ReactionRemove {
                message_id: "m7".into(),
                user: "bob".into(),
                emoji: "❌".into()
            })
        );
    }

    #[test]
    fn human_clock_lines() {
        assert_eq!(
            Input::from_human("/advance 4h", &general()).unwrap(),
            Some(Input::Advance { seconds: 14400 })
        );
        assert_eq!(
            Input::from_human("/advance 60", &general()).unwrap(),
            Some(Input::Advance { seconds: 60 })
        );
        assert!(Input::from_human("/advance soon", &general()).is_err());
    }

    #[test]
    fn jsonl_lines() {
        assert_eq!(
            Input::from_json(r#"{"type":"message","channel":"general","author":"alice","content":"!pro request"}"#).unwrap(),
            Some(Input::Message {
                channel: "general".into(),
                author: "alice".into(),
                content: "!pro request".into(),
                reply_to: None,
                direct: false,
            })
        );
        assert_eq!(
            Input::from_json(r#"{"type":"wait_idle"}"#).unwrap(),
            Some(Input::WaitIdle {})
        );
        assert_eq!(
            Input::from_json(r#"{"type":"advance","seconds":3600}"#).unwrap(),
            Some(Input::Advance { seconds: 3600 })
        );
    }

    #[test]
    fn bad_jsonl_lines_are_errors() {
        for bad in [
            "{",
            r#"{"type":"nope"}"#,
            r#"{"type":"message","channel":"general","author":"","content":"x"}"#,
            r#"{"type":"message","channel":"general","author":"a b","content":"x"}"#,
            r#"{"type":"advance","seconds":-1}"#,
            r#"{"type":"reaction_add","message_id":"m1","user":"bob"}"#,
            r#"{"type":"message","channel":"general","author":"alice","content":"x","extra":1}"#,
            "[]",
            "null",
        ] {
            assert!(Input::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_nul_in_a_jsonl_channel_is_named_and_shown_escaped() {
        let line = r#"{"type":"message","channel":"gen\u0000eral","author":"alice","content":"x"}"#;

        let err = Input::from_json(line).unwrap_err().to_string();

        assert_eq!(
            err,
            r#"channel: "gen\u{0}eral" is not a console name (use 1-64 letters, digits, _ . -)"#
        );
    }

    #[test]
    fn every_jsonl_field_is_named_in_its_error() {
        let cases = [
            (
                r#"{"type":"message","channel":"general","author":"a\u0001","content":"x"}"#,
                r#"author: "a\u{1}""#,
            ),
            (
                r#"{"type":"message","channel":"general","author":"a","content":"x","reply_to":"m\u0000"}"#,
                r#"reply_to: "m\u{0}" is not a message id"#,
            ),
            (
                r#"{"type":"reaction_add","message_id":"m 1","user":"bob","emoji":"✅"}"#,
                r#"message_id: "m 1" is not a message id"#,
            ),
            (
                r#"{"type":"reaction_add","message_id":"m1","user":"b\u001bob","emoji":"✅"}"#,
                r#"user: "b\u{1b}ob" is not a console name"#,
            ),
            (
                r#"{"type":"reaction_remove","message_id":"m1","user":"bob","emoji":"✅\u0000"}"#,
                r#"emoji: "✅\u{0}" is not an emoji"#,
            ),
            (
                r#"{"type":"reaction_add","message_id":"m1","user":"bob","emoji":""}"#,
                r#"emoji: "" is not an emoji"#,
            ),
        ];
        for (line, expected) in cases {
            let err = Input::from_json(line).unwrap_err().to_string();

            assert!(err.starts_with(expected), "{line}: {err}");
        }
    }

    #[test]
    fn human_mode_errors_name_the_field_each_part_stands_for() {
        let cases = [
            ("#gen\0eral alice: hi", r#"channel: "gen\u{0}eral""#),
            ("al\u{7}ice: hi", r#"author: "al\u{7}ice""#),
            ("alice>m\u{0}: hi", r#"reply_to: "m\u{0}""#),
            ("bo\u{0}b +✅ m7", r#"user: "bo\u{0}b""#),
            ("bob +✅\u{0} m7", r#"emoji: "✅\u{0}""#),
            (
                "/advance so\u{0}on",
                r#"/advance: "so\u{0}on" is not a duration"#,
            ),
        ];
        for (line, expected) in cases {
            let err = Input::from_human(line, &general()).unwrap_err().to_string();

            assert!(err.starts_with(expected), "{line:?}: {err}");
        }
    }

    #[test]
    fn shown_values_escape_control_and_invisible_characters_but_not_emoji() {
        let value = "a\u{0}\u{7f}\u{200b}\u{202e}\"\\✅é";

        let got = shown(value);

        assert_eq!(got, r#""a\u{0}\u{7f}\u{200b}\u{202e}\"\\✅é""#);
    }

    #[test]
    fn shown_values_are_cut_after_64_characters() {
        let got = shown(&"x".repeat(1000));

        assert_eq!(got, format!("\"{}\"…", "x".repeat(64)));
    }

    async fn read_all(bytes: &[u8]) -> Vec<Result<String, InputError>> {
        let mut reader = LineReader::new(bytes);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_refused_and_the_next_one_is_read() {
        let input = b"one\nt\xe9l\xe9phone\nthree\n";

        let lines = read_all(input).await;

        assert_eq!(
            lines,
            vec![
                Ok("one".to_string()),
                Err(InputError::NotUtf8("\\xe9 at byte 1".into())),
                Ok("three".to_string()),
            ]
        );
        assert_eq!(
            lines[1].as_ref().unwrap_err().to_string(),
            r"input line is not UTF-8: \xe9 at byte 1"
        );
    }

    #[tokio::test]
    async fn a_line_ending_inside_a_character_is_refused() {
        let lines = read_all(b"ok \xe2\x82\n").await;

        assert_eq!(
            lines,
            vec![Err(InputError::NotUtf8(r"\xe2\x82 at byte 3".into()))]
        );
    }

    #[tokio::test]
    async fn line_endings_are_removed_and_a_last_line_needs_none() {
        let lines = read_all(b"a\r\nb\n\nc").await;

        assert_eq!(
            lines,
            vec![
                Ok("a".to_string()),
                Ok("b".to_string()),
                Ok(String::new()),
                Ok("c".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_is_taken_and_one_byte_more_is_refused() {
        let mut input = "x".repeat(MAX_LINE_BYTES).into_bytes();
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&"y".repeat(MAX_LINE_BYTES + 1).into_bytes());
        input.extend_from_slice(b"\nlast\n");

        let lines = read_all(&input).await;

        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].as_ref().map(String::len), Ok(MAX_LINE_BYTES));
        assert_eq!(lines[1], Err(InputError::TooLong));
        assert_eq!(
            lines[1].as_ref().unwrap_err().to_string(),
            "input line longer than 65536 bytes"
        );
        assert_eq!(lines[2], Ok("last".to_string()));
    }

    #[tokio::test]
    async fn an_overlong_line_is_read_past_without_keeping_it() {
        let mut input = vec![b'z'; 16 * MAX_LINE_BYTES];
        input.extend_from_slice(b"\nnext\n");
        let mut reader = LineReader::new(&input[..]);

        let first = reader.next_line().await.unwrap();
        let kept = reader.line.capacity();
        let second = reader.next_line().await.unwrap();

        assert_eq!(first, Some(Err(InputError::TooLong)));
        assert!(kept <= 2 * (MAX_LINE_BYTES + 1), "kept {kept} bytes");
        assert_eq!(second, Some(Ok("next".to_string())));
    }

    #[test]
    fn outputs_serialise_with_their_type() {
        let o = Output::Send {
            channel: "general".into(),
            message_id: "m2".into(),
            content: "hi".into(),
            reply_to: None,
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"type":"send","channel":"general","message_id":"m2","content":"hi","reply_to":null}"#
        );
        assert_eq!(
            serde_json::to_string(&Output::Idle).unwrap(),
            r#"{"type":"idle"}"#
        );
    }
}
