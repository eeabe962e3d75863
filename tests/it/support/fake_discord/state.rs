//! What the fake Discord keeps: messages with their reactions, DM channels, gateway sessions
//! (for RESUME), interactions, the call log, faults and holds, and what serenity could not
//! read; and the changes that Discord announces on the gateway as events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use axum::extract::ws::Message as WsMessage;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::super::fake_http::{Faults, Holds, Log};
use super::json::{in_guild, member_json, message_json};
use super::GUILD;

/// A message as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Its id.
    pub id: u64,
    /// Its channel.
    pub channel: u64,
    /// Its author.
    pub author: u64,
    /// Its text.
    pub content: String,
    /// The message it replies to.
    pub reply_to: Option<u64>,
    /// Flags (64: ephemeral).
    pub flags: u64,
    /// Reactions: emoji → users, in the order they reacted.
    pub reactions: BTreeMap<String, Vec<u64>>,
    /// Deleted.
    pub deleted: bool,
    /// Edits made to it.
    pub edits: u32,
    /// The nonce it was created with.
    pub nonce: Option<String>,
    /// Its components (action rows of buttons), as the bot sent them; `[]` for none.
    pub components: Value,
    /// Every button's custom id it ever carried: a person whose app still shows an older
    /// version of the message can press one the bot has taken away since.
    pub pressable: Vec<String>,
    /// The files it carries.
    pub attachments: Vec<super::Upload>,
}

#[derive(Debug, Default)]
pub(super) struct Session {
    pub(super) seq: u64,
    /// Every dispatch of the session, for replay on RESUME.
    pub(super) log: Vec<(u64, Value)>,
}

#[derive(Debug, Clone)]
pub(super) struct Interaction {
    pub(super) token: String,
    pub(super) channel: u64,
    /// The response: callback type and flags.
    pub(super) response: Option<(u64, u64)>,
    /// The message of the (deferred) response.
    pub(super) original: Option<u64>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) next_id: u64,
    pub(super) messages: BTreeMap<u64, Msg>,
    pub(super) dm_channels: BTreeMap<u64, u64>,
    pub(super) dm_closed: BTreeSet<u64>,
    pub(super) no_manage_messages: bool,
    /// Every REST call, with the status answered.
    pub(super) calls: Log,
    /// Faults waiting for calls: the status to answer with.
    pub(super) faults: Faults<u16>,
    pub(super) sessions: HashMap<String, Session>,
    pub(super) current: Option<String>,
    /// The open connection's outgoing queue.
    pub(super) conn: Option<mpsc::UnboundedSender<WsMessage>>,
    pub(super) identifies: u32,
    pub(super) resumes: u32,
    /// Hold RESUMEs until released, so a test can act while the bot is disconnected.
    pub(super) hold_resume: bool,
    pub(super) held: Vec<(mpsc::UnboundedSender<WsMessage>, Value)>,
    pub(super) commands: Option<Value>,
    pub(super) interactions: BTreeMap<u64, Interaction>,
    pub(super) violations: Vec<String>,
    /// When each event was dispatched, by a label the test chose.
    pub(super) marks: HashMap<String, Instant>,
    /// Messages created with an enforced nonce: (author, nonce) → (message, when).
    pub(super) nonces: HashMap<(u64, String), (u64, Instant)>,
    /// Answers to keep back until the test releases them.
    pub(super) holds: Holds,
    /// Each person's Discord app language, sent with their slash commands (default `en-US`).
    pub(super) client_locales: HashMap<u64, String>,
    /// The preferred locale of the guild once it is a Community guild (before: none of its
    /// own, and Discord reports `en-US`).
    pub(super) community_locale: Option<String>,
}

impl Inner {
    pub(super) fn id(&mut self) -> u64 {
        self.next_id += 1;
        1_200_000_000_000_000_000 + self.next_id
    }

    /// The DM channel with `user`, opened when there is none yet.
    pub(super) fn dm_channel(&mut self, user: u64) -> u64 {
        if let Some(c) = self.dm_channels.get(&user) {
            return *c;
        }
        let c = self.id();
        self.dm_channels.insert(user, c);
        c
    }

    /// Marks a message deleted and announces it (MESSAGE_DELETE).
    pub(super) fn delete_message(&mut self, id: u64) {
        let Some(m) = self.messages.get_mut(&id) else {
            return;
        };
        m.deleted = true;
        let channel = m.channel;
        self.dispatch(
            "MESSAGE_DELETE",
            json!({"id": id.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD.to_string()}),
        );
    }

    /// Sends an event to the bot (kept for replay when it is not connected).
    pub(super) fn dispatch(&mut self, name: &str, data: Value) {
        let Some(session) = self.current.clone() else {
            return;
        };
        let s = self.sessions.entry(session).or_default();
        s.seq += 1;
        let payload = json!({"op": 0, "s": s.seq, "t": name, "d": data});
        let seq = s.seq;
        s.log.push((seq, payload.clone()));
        self.check_dispatch(&payload);
        if let Some(conn) = &self.conn {
            if conn
                .send(WsMessage::Text(payload.to_string().into()))
                .is_err()
            {
                self.conn = None;
            }
        }
    }

    pub(super) fn check_dispatch(&mut self, payload: &Value) {
        use serenity::all::{Event, GatewayEvent};
        match serde_json::from_value::<GatewayEvent>(payload.clone()) {
            Ok(GatewayEvent::Dispatch(_, Event::Unknown(u))) => self.violations.push(format!(
                "{} would be dropped by serenity as Event::Unknown: {}",
                u.kind, payload
            )),
            Ok(_) => {}
            Err(e) => self
                .violations
                .push(format!("serenity cannot read {payload}: {e}")),
        }
    }

    pub(super) fn check<T: serde::de::DeserializeOwned>(&mut self, what: &str, v: &Value) {
        if let Err(e) = serde_json::from_value::<T>(v.clone()) {
            self.violations
                .push(format!("serenity cannot read {what} {v}: {e}"));
        }
    }

    /// Stores uploaded files on message `id` under ids of their own.
    pub(super) fn attach(&mut self, id: u64, files: Vec<super::Upload>) {
        let files: Vec<super::Upload> = files
            .into_iter()
            .map(|f| super::Upload { id: self.id(), ..f })
            .collect();
        if let Some(m) = self.messages.get_mut(&id) {
            m.attachments.extend(files);
        }
    }

    pub(super) fn new_message(
        &mut self,
        channel: u64,
        author: u64,
        content: &str,
        reply_to: Option<u64>,
        flags: u64,
    ) -> u64 {
        let id = self.id();
        self.messages.insert(
            id,
            Msg {
                id,
                channel,
                author,
                content: content.to_string(),
                reply_to,
                flags,
                reactions: BTreeMap::new(),
                deleted: false,
                edits: 0,
                nonce: None,
                components: json!([]),
                pressable: Vec::new(),
                attachments: Vec::new(),
            },
        );
        id
    }

    pub(super) fn announce_create(&mut self, id: u64) {
        let m = self.messages[&id].clone();
        if m.flags & 64 != 0 {
            return;
        }
        let mut v = message_json(&m);
        if in_guild(m.channel) {
            v["member"] = member_json(m.author);
            v["member"].as_object_mut().map(|o| o.remove("user"));
        }
        self.dispatch("MESSAGE_CREATE", v);
    }

    pub(super) fn reaction_event(&mut self, name: &str, message: u64, user: u64, emoji: &str) {
        let Some(m) = self.messages.get(&message).cloned() else {
            return;
        };
        let mut d = json!({
            "user_id": user.to_string(), "channel_id": m.channel.to_string(),
            "message_id": message.to_string(), "emoji": {"id": null, "name": emoji},
            "burst": false, "type": 0,
        });
        if in_guild(m.channel) {
            d["guild_id"] = json!(GUILD.to_string());
            if name == "MESSAGE_REACTION_ADD" {
                d["member"] = member_json(user);
                d["message_author_id"] = json!(m.author.to_string());
                d["burst_colors"] = json!([]);
            }
        }
        self.dispatch(name, d);
    }

    pub(super) fn add_reaction(&mut self, message: u64, user: u64, emoji: &str) -> bool {
        let Some(m) = self.messages.get_mut(&message) else {
            return false;
        };
        let users = m.reactions.entry(emoji.to_string()).or_default();
        if users.contains(&user) {
            return true;
        }
        users.push(user);
        self.reaction_event("MESSAGE_REACTION_ADD", message, user, emoji);
        true
    }

    pub(super) fn remove_reaction(&mut self, message: u64, user: u64, emoji: &str) -> bool {
        let Some(m) = self.messages.get_mut(&message) else {
            return false;
        };
        let Some(users) = m.reactions.get_mut(emoji) else {
            return true;
        };
        let before = users.len();
        users.retain(|u| *u != user);
        if users.len() != before {
            self.reaction_event("MESSAGE_REACTION_REMOVE", message, user, emoji);
        }
        true
    }
}
