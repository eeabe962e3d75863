//! What people do in the fake guild, as a test tells them to: write, reply, DM the bot,
//! react, delete, run `/pro`; and what the guild's settings deny the bot. Each is announced
//! to the bot on the gateway as Discord does.

use std::time::Instant;

use serde_json::{json, Value};

use super::json::{guild_update_json, message_json, user_json};
use super::state::Interaction;
use super::{uid, FakeDiscord, APP, ELSEWHERE, GUILD};

impl FakeDiscord {
    /// Closes `user`'s DMs (messages to them answer 403/50007).
    pub fn close_dms(&self, user: &str) {
        self.lock().dm_closed.insert(uid(user));
    }

    /// Takes Manage Messages away from the bot (removing others' reactions answers 403).
    pub fn deny_manage_messages(&self) {
        self.lock().no_manage_messages = true;
    }

    /// Someone writes in a guild channel; returns the message id.
    pub fn say(&self, user: &str, channel: u64, content: &str) -> u64 {
        self.say_reply(user, channel, content, None)
    }

    /// Someone replies to a message; returns the message id.
    pub fn say_reply(&self, user: &str, channel: u64, content: &str, reply_to: Option<u64>) -> u64 {
        let mut g = self.lock();
        let id = g.new_message(channel, uid(user), content, reply_to, 0);
        if channel == ELSEWHERE {
            // Another guild's channel: the bot is there too, so it sees the message.
            let mut v = message_json(&g.messages[&id].clone());
            v["guild_id"] = json!("800000000000000098");
            g.dispatch("MESSAGE_CREATE", v);
        } else {
            g.announce_create(id);
        }
        drop(g);
        self.touch();
        id
    }

    /// Someone writes to the bot directly; returns the message id.
    pub fn dm_bot(&self, user: &str, content: &str) -> u64 {
        let mut g = self.lock();
        let u = uid(user);
        let channel = g.dm_channel(u);
        let id = g.new_message(channel, u, content, None, 0);
        g.announce_create(id);
        drop(g);
        self.touch();
        id
    }

    /// Someone adds a reaction; the dispatch time is kept under `mark`.
    pub fn react(&self, user: &str, message: u64, emoji: &str) {
        let mut g = self.lock();
        assert!(
            g.add_reaction(message, uid(user), emoji),
            "no message {message}"
        );
        g.marks
            .insert(format!("react:{user}:{message}:{emoji}"), Instant::now());
        drop(g);
        self.touch();
    }

    /// When a reaction was dispatched.
    pub fn reacted_at(&self, user: &str, message: u64, emoji: &str) -> Instant {
        self.lock().marks[&format!("react:{user}:{message}:{emoji}")]
    }

    /// Someone removes their reaction.
    pub fn unreact(&self, user: &str, message: u64, emoji: &str) {
        let mut g = self.lock();
        g.remove_reaction(message, uid(user), emoji);
        drop(g);
        self.touch();
    }

    /// Someone (a moderator) deletes a message.
    pub fn delete(&self, message: u64) {
        let mut g = self.lock();
        assert!(g.messages.contains_key(&message), "no message {message}");
        g.delete_message(message);
        drop(g);
        self.touch();
    }

    /// `user`'s Discord app is set to `locale` (such as `nl`): Discord sends it with their
    /// slash commands.
    pub fn set_client_locale(&self, user: &str, locale: &str) {
        self.lock()
            .client_locales
            .insert(uid(user), locale.to_string());
    }

    /// The guild becomes a Community guild whose preferred locale is `locale`: GUILD_UPDATE
    /// to a connected bot, and GUILD_CREATE says so from then on.
    pub fn make_community(&self, locale: &str) {
        let mut g = self.lock();
        g.community_locale = Some(locale.to_string());
        if g.conn.is_some() {
            g.dispatch("GUILD_UPDATE", guild_update_json(Some(locale)));
        }
        drop(g);
        self.touch();
    }

    /// Someone runs `/pro <sub>` with options (name, JSON value, option type); returns the
    /// interaction id.
    pub fn slash(
        &self,
        user: &str,
        channel: u64,
        sub: &str,
        options: &[(&str, Value, u64)],
    ) -> u64 {
        let opts: Vec<Value> = options
            .iter()
            .map(|(n, v, t)| json!({"name": n, "type": t, "value": v}))
            .collect();
        let mut resolved = json!({});
        for (_, v, t) in options {
            if *t == 6 {
                let uid_s = v.as_str().unwrap_or_default().to_string();
                let uid_n: u64 = uid_s.parse().unwrap_or_default();
                resolved["users"][&uid_s] = user_json(uid_n);
            }
        }
        let data = json!({"id": "910000000000000001", "name": "pro", "type": 1,
                 "options": [{"name": sub, "type": 1, "options": opts}],
                 "guild_id": GUILD.to_string(), "resolved": resolved});
        self.interact(user, channel, 2, data, None)
    }

    /// Someone presses the button `custom_id` on the bot's `message` (an
    /// INTERACTION_CREATE of type 3, MESSAGE_COMPONENT): one it carries, or carried in a
    /// version their app may still show; returns the interaction id.
    pub fn press(&self, user: &str, message: u64, custom_id: &str) -> u64 {
        let msg = {
            let g = self.lock();
            let msg = g.messages.get(&message).cloned().expect("no such message");
            assert!(
                msg.pressable.iter().any(|id| id == custom_id),
                "message {message} never had a button {custom_id:?}: {}",
                msg.components
            );
            msg
        };
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interact(user, msg.channel, 3, data, Some(message))
    }

    /// An interaction of `kind` by `user` in `channel` with `data` (and the `message` a
    /// component is on), dispatched as INTERACTION_CREATE; returns its id.
    fn interact(
        &self,
        user: &str,
        channel: u64,
        kind: u64,
        data: Value,
        message: Option<u64>,
    ) -> u64 {
        let mut g = self.lock();
        let id = g.id();
        let token = format!("itoken-{id}");
        let u = uid(user);
        let locale = g.client_locales.get(&u).cloned().unwrap_or("en-US".into());
        let guild_locale = g.community_locale.clone().unwrap_or("en-US".into());
        g.interactions.insert(
            id,
            Interaction {
                token: token.clone(),
                channel,
                response: None,
                original: None,
            },
        );
        let mut d = json!({
            "id": id.to_string(), "application_id": APP.to_string(), "type": kind,
            "data": data,
            "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
            "channel": {"id": channel.to_string(), "type": 0},
            "member": {
                "user": user_json(u), "roles": [], "joined_at": "2024-01-01T00:00:00.000Z",
                "deaf": false, "mute": false, "flags": 0, "permissions": "1071698660929",
            },
            "token": token, "version": 1, "app_permissions": "1071698660929",
            "locale": locale, "guild_locale": guild_locale, "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD.to_string()}, "context": 0,
            "attachment_size_limit": 8_388_608,
        });
        if let Some(m) = message.and_then(|m| g.messages.get(&m).cloned()) {
            d["message"] = message_json(&m);
        }
        g.dispatch("INTERACTION_CREATE", d);
        drop(g);
        self.touch();
        id
    }
}
