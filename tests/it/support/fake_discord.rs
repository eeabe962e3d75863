//! A fake Discord on loopback, for the real serenity client: the gateway websocket (HELLO,
//! IDENTIFY → READY + GUILD_CREATE, heartbeat ACK, dispatches with sequence numbers, RESUME
//! → replay of what was missed + RESUMED, forced disconnects) and the REST routes a bot
//! uses (messages, edits, reactions and reaction lists, DM channels, guild command
//! registration, interaction callbacks and webhook follow-ups).
//!
//! It models Discord, not licensebot: messages and reactions are kept (so a bot's catch-up
//! reads the truth), the bot's own actions are echoed as events as Discord does, closed DMs
//! answer 403/50007, content over 2,000 characters 400/50035, a command registration whose
//! options carry fields their type does not define, or any field null or empty, 400/50035
//! (the documented fields are in `discord_schema.rs`), and faults (429 with `retry_after`
//! and rate-limit headers, 500) can be injected per route. Every call is recorded. A
//! message created with a `nonce` and `enforce_nonce: true` is created once: a second create
//! by the same author with the same nonce within the window returns the first message, as
//! Discord's create-message documentation says. A REST answer can be held
//! (the call is handled, its answer kept back until released), so a test can kill the bot
//! while a call is in flight. Every payload it sends is checked against serenity's own models: a gateway
//! dispatch must not deserialize into `Event::Unknown` (serenity would drop it silently),
//! and REST bodies must deserialize into the model serenity reads them as; any violation
//! fails [`FakeDiscord::assert_faithful`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

/// The bot's user id.
pub const BOT: u64 = 900_000_000_000_000_001;
/// The application's id.
pub const APP: u64 = 900_000_000_000_000_002;
/// The guild.
pub const GUILD: u64 = 800_000_000_000_000_001;
/// The approvals channel.
pub const APPROVALS: u64 = 800_000_000_000_000_010;
/// A general channel.
pub const GENERAL: u64 = 800_000_000_000_000_011;
/// A channel of another guild.
pub const ELSEWHERE: u64 = 800_000_000_000_000_099;
/// The token the bot must present.
pub const TOKEN: &str = "fake-bot-token.for-tests-only";

/// Discord's limit on message content.
const MAX_CONTENT: usize = 2000;

/// Discord's limit on a message nonce.
const MAX_NONCE: usize = 25;

/// How long a nonce is remembered: Discord says "the past few minutes"; the fake keeps it
/// for two, longer than any test.
pub const NONCE_WINDOW: Duration = Duration::from_secs(120);

/// People in the guild, by name.
pub const PEOPLE: [(&str, u64); 7] = [
    ("alice", 700_000_000_000_000_001),
    ("bob", 700_000_000_000_000_002),
    ("carol", 700_000_000_000_000_003),
    ("dave", 700_000_000_000_000_004),
    ("judy", 700_000_000_000_000_005),
    ("mallory", 700_000_000_000_000_006),
    ("otherbot", 700_000_000_000_000_007),
];

/// The id of a person.
pub fn uid(name: &str) -> u64 {
    PEOPLE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| *id)
        .unwrap_or_else(|| panic!("no person {name}"))
}

fn name_of(id: u64) -> String {
    if id == BOT {
        return "licensebot".into();
    }
    PEOPLE
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("user{id}"))
}

/// One REST call the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// HTTP method.
    pub method: String,
    /// Path without `/api/v10`.
    pub path: String,
    /// JSON body (`null` when none).
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

/// A fault to inject: the next `times` calls whose method is `method` and whose path
/// contains `path` get `status` (429, 500, or anything else).
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP method.
    pub method: &'static str,
    /// A substring of the path (without `/api/v10`).
    pub path: String,
    /// The status to answer.
    pub status: u16,
    /// How many calls it hits.
    pub times: u32,
}

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
}

/// An answer kept back: the next call matching it is handled, then answered only when the
/// test releases it.
struct Hold {
    method: &'static str,
    path: String,
    body_contains: Option<String>,
    /// Caught a call (and no longer armed).
    caught: bool,
    released: tokio::sync::watch::Sender<bool>,
}

/// A handle on a hold set with [`FakeDiscord::hold`].
#[derive(Debug, Clone, Copy)]
pub struct HoldId(usize);

#[derive(Debug, Default)]
struct Session {
    seq: u64,
    /// Every dispatch of the session, for replay on RESUME.
    log: Vec<(u64, Value)>,
}

#[derive(Debug, Clone)]
struct Interaction {
    token: String,
    channel: u64,
    /// The response: callback type and flags.
    response: Option<(u64, u64)>,
    /// The message of the (deferred) response.
    original: Option<u64>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    messages: BTreeMap<u64, Msg>,
    dm_channels: BTreeMap<u64, u64>,
    dm_closed: BTreeSet<u64>,
    no_manage_messages: bool,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    sessions: HashMap<String, Session>,
    current: Option<String>,
    /// The open connection's outgoing queue.
    conn: Option<mpsc::UnboundedSender<WsMessage>>,
    identifies: u32,
    resumes: u32,
    /// Hold RESUMEs until released, so a test can act while the bot is disconnected.
    hold_resume: bool,
    held: Vec<(mpsc::UnboundedSender<WsMessage>, Value)>,
    commands: Option<Value>,
    interactions: BTreeMap<u64, Interaction>,
    violations: Vec<String>,
    /// When each event was dispatched, by a label the test chose.
    marks: HashMap<String, Instant>,
    /// Messages created with an enforced nonce: (author, nonce) → (message, when).
    nonces: HashMap<(u64, String), (u64, Instant)>,
    holds: Vec<Hold>,
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
    port: u16,
}

/// A running fake Discord.
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    /// Its address.
    pub addr: SocketAddr,
}

fn ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn user_json(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": name_of(id),
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": id == BOT || id == uid("otherbot"),
        "public_flags": 0,
    })
}

fn member_json(id: u64) -> Value {
    json!({
        "user": user_json(id),
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000Z",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    })
}

fn channel_json(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(), "type": 0, "guild_id": GUILD.to_string(), "name": name,
        "position": 0, "permission_overwrites": [], "nsfw": false, "topic": null,
        "last_message_id": null, "parent_id": null, "rate_limit_per_user": 0,
    })
}

fn guild_json() -> Value {
    json!({
        "id": GUILD.to_string(), "name": "Contoso", "icon": null, "icon_hash": null,
        "splash": null, "discovery_splash": null, "owner_id": uid("dave").to_string(),
        "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
        "verification_level": 1, "default_message_notifications": 1,
        "explicit_content_filter": 2, "features": [], "mfa_level": 0,
        "application_id": null, "system_channel_id": GENERAL.to_string(),
        "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [], "emojis": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "roles": [{
            "id": GUILD.to_string(), "name": "@everyone", "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
            "permissions": "1071698660929", "managed": false, "mentionable": false, "flags": 0,
        }],
        "joined_at": "2024-01-01T00:00:00.000Z", "large": false, "unavailable": false,
        "member_count": PEOPLE.len() + 1, "voice_states": [],
        "members": [member_json(BOT)],
        "channels": [channel_json(APPROVALS, "license-approvals"), channel_json(GENERAL, "general")],
        "threads": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
    })
}

impl Inner {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        1_200_000_000_000_000_000 + self.next_id
    }

    fn in_guild(&self, channel: u64) -> bool {
        channel == APPROVALS || channel == GENERAL
    }

    fn message_json(&self, m: &Msg) -> Value {
        let reactions: Vec<Value> = m
            .reactions
            .iter()
            .filter(|(_, users)| !users.is_empty())
            .map(|(emoji, users)| {
                json!({
                    "count": users.len(),
                    "count_details": {"burst": 0, "normal": users.len()},
                    "me": users.contains(&BOT), "me_burst": false, "burst_colors": [],
                    "emoji": {"id": null, "name": emoji},
                })
            })
            .collect();
        let mut v = json!({
            "id": m.id.to_string(), "channel_id": m.channel.to_string(),
            "author": user_json(m.author), "content": m.content, "timestamp": ts(),
            "edited_timestamp": if m.edits > 0 { Value::from(ts()) } else { Value::Null },
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false,
            "type": if m.reply_to.is_some() { 19 } else { 0 },
            "flags": m.flags, "reactions": reactions, "components": [],
        });
        if let Some(r) = m.reply_to {
            v["message_reference"] = json!({"type": 0, "message_id": r.to_string(), "channel_id": m.channel.to_string()});
        }
        if let Some(n) = &m.nonce {
            v["nonce"] = json!(n);
        }
        if self.in_guild(m.channel) {
            v["guild_id"] = json!(GUILD.to_string());
        }
        v
    }

    /// Sends an event to the bot (kept for replay when it is not connected).
    fn dispatch(&mut self, name: &str, data: Value) {
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

    fn check_dispatch(&mut self, payload: &Value) {
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

    fn check<T: serde::de::DeserializeOwned>(&mut self, what: &str, v: &Value) {
        if let Err(e) = serde_json::from_value::<T>(v.clone()) {
            self.violations
                .push(format!("serenity cannot read {what} {v}: {e}"));
        }
    }

    fn new_message(
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
            },
        );
        id
    }

    fn announce_create(&mut self, id: u64) {
        let m = self.messages[&id].clone();
        if m.flags & 64 != 0 {
            return;
        }
        let mut v = self.message_json(&m);
        if self.in_guild(m.channel) {
            v["member"] = member_json(m.author);
            v["member"].as_object_mut().map(|o| o.remove("user"));
        }
        self.dispatch("MESSAGE_CREATE", v);
    }

    fn reaction_event(&mut self, name: &str, message: u64, user: u64, emoji: &str) {
        let Some(m) = self.messages.get(&message).cloned() else {
            return;
        };
        let mut d = json!({
            "user_id": user.to_string(), "channel_id": m.channel.to_string(),
            "message_id": message.to_string(), "emoji": {"id": null, "name": emoji},
            "burst": false, "type": 0,
        });
        if self.in_guild(m.channel) {
            d["guild_id"] = json!(GUILD.to_string());
            if name == "MESSAGE_REACTION_ADD" {
                d["member"] = member_json(user);
                d["message_author_id"] = json!(m.author.to_string());
                d["burst_colors"] = json!([]);
            }
        }
        self.dispatch(name, d);
    }

    fn add_reaction(&mut self, message: u64, user: u64, emoji: &str) -> bool {
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

    fn remove_reaction(&mut self, message: u64, user: u64, emoji: &str) -> bool {
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

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn too_long(content: &str) -> Option<Response> {
    (content.chars().count() > MAX_CONTENT).then(|| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "code": 50035, "message": "Invalid Form Body",
                "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}},
            })),
        )
            .into_response()
    })
}

fn fault_response(status: u16) -> Response {
    match status {
        429 => {
            let mut headers = HeaderMap::new();
            for (k, v) in [
                ("retry-after", "1"),
                ("x-ratelimit-limit", "5"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset-after", "0.250"),
                ("x-ratelimit-bucket", "fake-bucket"),
                ("x-ratelimit-scope", "user"),
            ] {
                headers.insert(k, HeaderValue::from_static(v));
            }
            (
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                Json(json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false})),
            )
                .into_response()
        }
        500 => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            0,
            "500: Internal Server Error",
        ),
        other => error(
            StatusCode::from_u16(other).unwrap_or(StatusCode::BAD_REQUEST),
            0,
            "injected fault",
        ),
    }
}

impl FakeDiscord {
    /// Starts a fake on a free loopback port.
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
            port: addr.port(),
        });
        let app = Router::new()
            .route("/gateway", get(gateway))
            .route("/api/v10/{*rest}", any(rest))
            .with_state(shared.clone());
        // Like a production server, answers and gateway frames go out at once (TCP_NODELAY):
        // with Nagle's algorithm a frame waits for the bot's delayed ACK of the previous one,
        // some 40 ms that would be the fake's, not the bot's.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                eprintln!("fake Discord: cannot set TCP_NODELAY: {e}");
            }
        });
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake discord serves");
        });
        FakeDiscord { shared, addr }
    }

    /// Its base URL, for `discord.api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touch(&self) {
        self.shared.changed.notify_waiters();
    }

    /// Where a (re)start of the bot begins: the REST calls and IDENTIFYs seen so far.
    pub fn start_mark(&self) -> (usize, u32) {
        self.view(|v| (v.calls().len(), v.handshakes().0))
    }

    /// Waits until a bot started after `mark` ([`FakeDiscord::start_mark`]) has identified,
    /// is connected and has registered /pro.
    pub async fn wait_started(&self, mark: (usize, u32), timeout: Duration) {
        let (calls, identifies) = mark;
        self.wait_for("the bot to connect and register /pro", timeout, |v| {
            let registered = v.calls()[calls..]
                .iter()
                .any(|c| c.method == "PUT" && c.path.contains("/commands"));
            (v.connected() && v.handshakes().0 > identifies && registered).then_some(())
        })
        .await;
    }

    /// Waits until `cond` holds (checked after every change), or panics after `timeout`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&FakeView<'_>) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            if let Some(v) = cond(&FakeView(&self.lock())) {
                return v;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, changed).await.is_err() {
                if let Some(v) = cond(&FakeView(&self.lock())) {
                    return v;
                }
                panic!(
                    "timed out waiting for {what}; the fake saw:\n{}",
                    self.describe()
                );
            }
        }
    }

    /// A summary of messages and calls, for failure messages.
    pub fn describe(&self) -> String {
        let g = self.lock();
        let mut out = String::new();
        for m in g.messages.values() {
            out.push_str(&format!(
                "  msg {} in {} by {}{}: {:?} reactions {:?}\n",
                m.id,
                m.channel,
                name_of(m.author),
                if m.deleted { " (deleted)" } else { "" },
                m.content,
                m.reactions
            ));
        }
        for c in &g.calls {
            out.push_str(&format!(
                "  {} {} -> {} {}\n",
                c.method, c.path, c.status, c.body
            ));
        }
        out
    }

    /// Fails the test if any payload the fake sent would not be read by serenity.
    pub fn assert_faithful(&self) {
        let g = self.lock();
        assert!(
            g.violations.is_empty(),
            "the fake sent payloads serenity cannot read: {:#?}",
            g.violations
        );
    }

    /// Injects a fault.
    pub fn fail(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Holds the answer to the next call with this method whose path contains `path` (and,
    /// when given, whose JSON body contains `body_contains`): the call is handled as usual,
    /// its answer kept back until [`FakeDiscord::release`].
    pub fn hold(&self, method: &'static str, path: &str, body_contains: Option<&str>) -> HoldId {
        let (released, _) = tokio::sync::watch::channel(false);
        let mut g = self.lock();
        g.holds.push(Hold {
            method,
            path: path.to_string(),
            body_contains: body_contains.map(str::to_string),
            caught: false,
            released,
        });
        HoldId(g.holds.len() - 1)
    }

    /// Lets a held answer go (the bot that asked may be gone by then).
    pub fn release(&self, id: HoldId) {
        self.lock().holds[id.0].released.send_replace(true);
    }

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
            let mut v = g.message_json(&g.messages[&id].clone());
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
        let channel = match g.dm_channels.get(&u) {
            Some(c) => *c,
            None => {
                let c = g.id();
                g.dm_channels.insert(u, c);
                c
            }
        };
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
        let channel = {
            let m = g.messages.get_mut(&message).expect("message");
            m.deleted = true;
            m.channel
        };
        g.dispatch(
            "MESSAGE_DELETE",
            json!({"id": message.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD.to_string()}),
        );
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
        let mut g = self.lock();
        let id = g.id();
        let token = format!("itoken-{id}");
        let u = uid(user);
        g.interactions.insert(
            id,
            Interaction {
                token: token.clone(),
                channel,
                response: None,
                original: None,
            },
        );
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
        let d = json!({
            "id": id.to_string(), "application_id": APP.to_string(), "type": 2,
            "data": {"id": "910000000000000001", "name": "pro", "type": 1,
                     "options": [{"name": sub, "type": 1, "options": opts}],
                     "guild_id": GUILD.to_string(), "resolved": resolved},
            "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
            "channel": {"id": channel.to_string(), "type": 0},
            "member": {
                "user": user_json(u), "roles": [], "joined_at": "2024-01-01T00:00:00.000Z",
                "deaf": false, "mute": false, "flags": 0, "permissions": "1071698660929",
            },
            "token": token, "version": 1, "app_permissions": "1071698660929",
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD.to_string()}, "context": 0,
            "attachment_size_limit": 8_388_608,
        });
        g.dispatch("INTERACTION_CREATE", d);
        drop(g);
        self.touch();
        id
    }

    /// Drops the gateway connection with a resumable close code (4000), as a network
    /// hiccup or Discord's own restarts do; events dispatched meanwhile wait for RESUME.
    pub fn disconnect(&self) {
        let mut g = self.lock();
        if let Some(conn) = g.conn.take() {
            let close = WsMessage::Close(Some(CloseFrame {
                code: 4000,
                reason: "fake: unknown error, reconnect".into(),
            }));
            // An error means the connection is already gone, which is what we want.
            conn.send(close).ok();
        }
        drop(g);
        self.touch();
    }

    /// Like [`FakeDiscord::disconnect`], but the bot's RESUME is held (not answered) until
    /// [`FakeDiscord::release_resume`], so events can happen while it is away.
    pub fn disconnect_and_hold(&self) {
        self.lock().hold_resume = true;
        self.disconnect();
    }

    /// Answers the held RESUMEs: missed events are replayed, then RESUMED.
    pub fn release_resume(&self) {
        let mut g = self.lock();
        g.hold_resume = false;
        let held = std::mem::take(&mut g.held);
        for (tx, v) in held {
            resume(&mut g, &tx, &v);
        }
        drop(g);
        self.touch();
    }

    /// A copy of the state, for assertions.
    pub fn view<T>(&self, f: impl FnOnce(&FakeView<'_>) -> T) -> T {
        f(&FakeView(&self.lock()))
    }
}

/// An interaction's response: (callback type, flags), and the response message.
pub type InteractionView = (Option<(u64, u64)>, Option<Msg>);

/// Read access to the fake's state.
pub struct FakeView<'a>(&'a Inner);

impl FakeView<'_> {
    /// Live messages in a channel, oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<Msg> {
        self.0
            .messages
            .values()
            .filter(|m| m.channel == channel && !m.deleted)
            .cloned()
            .collect()
    }

    /// The bot's live message in a channel whose content contains `needle`.
    pub fn bot_message(&self, channel: u64, needle: &str) -> Option<Msg> {
        self.messages_in(channel)
            .into_iter()
            .find(|m| m.author == BOT && m.content.contains(needle))
    }

    /// Messages the bot sent to `user` by DM.
    pub fn dms_to(&self, user: &str) -> Vec<String> {
        let Some(channel) = self.0.dm_channels.get(&uid(user)) else {
            return vec![];
        };
        self.messages_in(*channel)
            .into_iter()
            .filter(|m| m.author == BOT)
            .map(|m| m.content)
            .collect()
    }

    /// One message.
    pub fn message(&self, id: u64) -> Option<Msg> {
        self.0.messages.get(&id).cloned()
    }

    /// Every REST call so far.
    pub fn calls(&self) -> &[Call] {
        &self.0.calls
    }

    /// Calls matching a method and a path substring.
    pub fn calls_to(&self, method: &str, path: &str) -> Vec<Call> {
        self.0
            .calls
            .iter()
            .filter(|c| c.method == method && c.path.contains(path))
            .cloned()
            .collect()
    }

    /// IDENTIFYs and RESUMEs received (held ones included).
    pub fn handshakes(&self) -> (u32, u32) {
        (self.0.identifies, self.0.resumes + self.0.held.len() as u32)
    }

    /// Whether the hold `id` has caught a call.
    pub fn holding(&self, id: HoldId) -> bool {
        self.0.holds[id.0].caught
    }

    /// Whether a bot is connected to the gateway now.
    pub fn connected(&self) -> bool {
        self.0.conn.is_some()
    }

    /// The registered guild commands.
    pub fn commands(&self) -> Option<Value> {
        self.0.commands.clone()
    }

    /// The response to an interaction: (callback type, flags) and the response message.
    pub fn interaction(&self, id: u64) -> Option<InteractionView> {
        let i = self.0.interactions.get(&id)?;
        Some((i.response, i.original.and_then(|m| self.message(m))))
    }
}

async fn gateway(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared))
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(|p| p.into_inner())
}

async fn connection(mut socket: WebSocket, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break };
                let close = matches!(out, WsMessage::Close(_));
                if socket.send(out).await.is_err() || close {
                    break;
                }
            }
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { break };
                let text = match msg {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                on_client(&shared, &tx, &v);
                shared.changed.notify_waiters();
            }
        }
    }
    let mut g = lock(&shared);
    if g.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        g.conn = None;
    }
    drop(g);
    shared.changed.notify_waiters();
}

fn on_client(shared: &Shared, tx: &mpsc::UnboundedSender<WsMessage>, v: &Value) {
    let mut g = lock(shared);
    match v["op"].as_u64() {
        Some(1) => {
            // A send error means the connection ended; nothing to acknowledge then.
            tx.send(WsMessage::Text(json!({"op": 11}).to_string().into()))
                .ok();
        }
        Some(2) => {
            if v["d"]["token"].as_str() != Some(&format!("Bot {TOKEN}")) {
                tx.send(WsMessage::Close(Some(CloseFrame {
                    code: 4004,
                    reason: "Authentication failed.".into(),
                })))
                .ok();
                return;
            }
            g.identifies += 1;
            let session = format!("fake-session-{}", g.identifies);
            g.sessions.insert(session.clone(), Session::default());
            g.current = Some(session.clone());
            g.conn = Some(tx.clone());
            let port = shared.port;
            g.dispatch(
                "READY",
                json!({
                    "v": 10, "user": user_json(BOT), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                    "session_id": session, "resume_gateway_url": format!("ws://127.0.0.1:{port}/gateway"),
                    "shard": [0, 1], "application": {"id": APP.to_string(), "flags": 0},
                }),
            );
            g.dispatch("GUILD_CREATE", guild_json());
        }
        Some(6) if g.hold_resume => g.held.push((tx.clone(), v.clone())),
        Some(6) => resume(&mut g, tx, v),
        _ => {}
    }
}

fn resume(g: &mut Inner, tx: &mpsc::UnboundedSender<WsMessage>, v: &Value) {
    let session = v["d"]["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let after = v["d"]["seq"].as_u64().unwrap_or(0);
    let known = g.current.as_deref() == Some(session.as_str()) && g.sessions.contains_key(&session);
    if !known {
        tx.send(WsMessage::Text(
            json!({"op": 9, "d": false}).to_string().into(),
        ))
        .ok();
        return;
    }
    g.resumes += 1;
    g.conn = Some(tx.clone());
    let missed: Vec<Value> = g.sessions[&session]
        .log
        .iter()
        .filter(|(s, _)| *s > after)
        .map(|(_, p)| p.clone())
        .collect();
    for p in missed {
        tx.send(WsMessage::Text(p.to_string().into())).ok();
    }
    g.dispatch("RESUMED", json!({}));
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    limit: Option<usize>,
    after: Option<u64>,
}

async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(q): Query<ListQuery>,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/{}", uri.path().trim_start_matches("/api/v10/"));
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorized = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("Bot {TOKEN}"));
    let response = {
        let mut g = lock(&shared);
        let fault = g
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method.as_str() && path.contains(&f.path))
            .map(|f| {
                f.times -= 1;
                f.status
            });
        let response = if !authorized {
            error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
        } else if let Some(status) = fault {
            fault_response(status)
        } else {
            route(&mut g, &method, &rest, &q, &body, shared.port)
        };
        let text = body.to_string();
        let hold = g
            .holds
            .iter_mut()
            .find(|h| {
                !h.caught
                    && h.method == method.as_str()
                    && path.contains(&h.path)
                    && h.body_contains.as_ref().is_none_or(|b| text.contains(b))
            })
            .map(|h| {
                h.caught = true;
                h.released.subscribe()
            });
        g.calls.push(Call {
            method: method.to_string(),
            path: path.clone(),
            body,
            status: response.status().as_u16(),
            at: Instant::now(),
        });
        (response, hold)
    };
    shared.changed.notify_waiters();
    let (response, hold) = response;
    if let Some(mut released) = hold {
        if released.wait_for(|r| *r).await.is_err() {
            eprintln!("fake Discord: a hold was dropped");
        }
    }
    response
}

fn parse(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

fn route(
    g: &mut Inner,
    method: &Method,
    rest: &str,
    q: &ListQuery,
    body: &Value,
    port: u16,
) -> Response {
    let parts: Vec<&str> = rest.split('/').collect();
    let content = body["content"].as_str().unwrap_or_default().to_string();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({"url": format!("ws://127.0.0.1:{port}/gateway")})).into_response()
        }
        ("GET", ["users", "@me"]) => {
            let v = user_json(BOT);
            g.check::<serenity::all::CurrentUser>("current user", &v);
            Json(v).into_response()
        }
        ("POST", ["users", "@me", "channels"]) => {
            let user = parse(body["recipient_id"].as_str().unwrap_or_default());
            let channel = match g.dm_channels.get(&user) {
                Some(c) => *c,
                None => {
                    let c = g.id();
                    g.dm_channels.insert(user, c);
                    c
                }
            };
            let v = json!({"id": channel.to_string(), "type": 1, "last_message_id": null, "recipients": [user_json(user)]});
            g.check::<serenity::all::PrivateChannel>("DM channel", &v);
            Json(v).into_response()
        }
        ("POST", ["channels", c, "messages"]) => {
            let channel = parse(c);
            if let Some(r) = too_long(&content) {
                return r;
            }
            if let Some((user, _)) = g.dm_channels.iter().find(|(_, ch)| **ch == channel) {
                if g.dm_closed.contains(user) {
                    return error(
                        StatusCode::FORBIDDEN,
                        50007,
                        "Cannot send messages to this user",
                    );
                }
            } else if !g.in_guild(channel) {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            }
            let mut reply_to = body["message_reference"]["message_id"].as_str().map(parse);
            if let Some(r) = reply_to {
                let exists = g.messages.get(&r).is_some_and(|m| !m.deleted);
                let strict =
                    body["message_reference"]["fail_if_not_exists"].as_bool() != Some(false);
                if !exists {
                    if strict {
                        return error(
                            StatusCode::BAD_REQUEST,
                            50035,
                            "Invalid Form Body: Unknown message",
                        );
                    }
                    reply_to = None;
                }
            }
            let nonce = match &body["nonce"] {
                Value::String(n) => Some(n.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if nonce
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_NONCE)
            {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({
                        "code": 50035, "message": "Invalid Form Body",
                        "errors": {"nonce": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]}},
                    })),
                )
                    .into_response();
            }
            let enforced = body["enforce_nonce"].as_bool() == Some(true);
            if let (true, Some(n)) = (enforced, &nonce) {
                let earlier = g
                    .nonces
                    .get(&(BOT, n.clone()))
                    .filter(|(_, at)| at.elapsed() < NONCE_WINDOW)
                    .map(|(m, _)| *m);
                if let Some(m) = earlier.and_then(|m| g.messages.get(&m).cloned()) {
                    // The message made the first time, and nothing new.
                    let v = g.message_json(&m);
                    g.check::<serenity::all::Message>("message", &v);
                    return Json(v).into_response();
                }
            }
            let id = g.new_message(channel, BOT, &content, reply_to, 0);
            if let Some(n) = &nonce {
                if let Some(m) = g.messages.get_mut(&id) {
                    m.nonce = Some(n.clone());
                }
                if enforced {
                    g.nonces.insert((BOT, n.clone()), (id, Instant::now()));
                }
            }
            let v = g.message_json(&g.messages[&id].clone());
            g.check::<serenity::all::Message>("message", &v);
            g.announce_create(id);
            Json(v).into_response()
        }
        ("GET", ["channels", _, "messages", m]) => match g.messages.get(&parse(m)).cloned() {
            Some(msg) if !msg.deleted => {
                let v = g.message_json(&msg);
                g.check::<serenity::all::Message>("message", &v);
                Json(v).into_response()
            }
            _ => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
        },
        ("PATCH", ["channels", _, "messages", m]) => {
            if let Some(r) = too_long(&content) {
                return r;
            }
            let id = parse(m);
            let Some(msg) = g.messages.get_mut(&id).filter(|m| !m.deleted) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if msg.author != BOT {
                return error(
                    StatusCode::FORBIDDEN,
                    50005,
                    "Cannot edit a message authored by another user",
                );
            }
            msg.content = content;
            msg.edits += 1;
            let msg = msg.clone();
            let v = g.message_json(&msg);
            g.check::<serenity::all::Message>("message", &v);
            g.dispatch("MESSAGE_UPDATE", v.clone());
            Json(v).into_response()
        }
        ("PUT", ["channels", _, "messages", m, "reactions", emoji, "@me"]) => {
            if g.add_reaction(parse(m), BOT, emoji) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
            }
        }
        // Delete Message: another user's message needs MANAGE_MESSAGES; 204 and a
        // MESSAGE_DELETE to the gateway.
        ("DELETE", ["channels", _, "messages", m]) => {
            let id = parse(m);
            let Some(msg) = g.messages.get(&id).filter(|m| !m.deleted).cloned() else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if msg.author != BOT && g.no_manage_messages {
                return error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
            }
            if let Some(m) = g.messages.get_mut(&id) {
                m.deleted = true;
            }
            g.dispatch(
                "MESSAGE_DELETE",
                json!({"id": id.to_string(), "channel_id": msg.channel.to_string(), "guild_id": GUILD.to_string()}),
            );
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["channels", _, "messages", m, "reactions", emoji, user]) => {
            let user = if *user == "@me" { BOT } else { parse(user) };
            if user != BOT && g.no_manage_messages {
                return error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
            }
            if g.remove_reaction(parse(m), user, emoji) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
            }
        }
        ("GET", ["channels", _, "messages", m, "reactions", emoji]) => {
            let Some(msg) = g.messages.get(&parse(m)).filter(|m| !m.deleted) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            let mut users: Vec<u64> = msg.reactions.get(*emoji).cloned().unwrap_or_default();
            users.sort_unstable();
            let after = q.after.unwrap_or(0);
            let v: Vec<Value> = users
                .into_iter()
                .filter(|u| *u > after)
                .take(q.limit.unwrap_or(25).min(100))
                .map(user_json)
                .collect();
            let v = Value::from(v);
            g.check::<Vec<serenity::all::User>>("reaction users", &v);
            Json(v).into_response()
        }
        ("PUT", ["applications", app, "guilds", guild, "commands"]) => {
            if parse(app) != APP || parse(guild) != GUILD {
                return error(StatusCode::NOT_FOUND, 10002, "Unknown Application");
            }
            if let Some(errors) = super::discord_schema::form_body_errors(body) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})),
                )
                    .into_response();
            }
            let mut out = Vec::new();
            for c in body.as_array().cloned().unwrap_or_default() {
                let mut c = c.clone();
                c["id"] = json!(g.id().to_string());
                c["application_id"] = json!(APP.to_string());
                c["guild_id"] = json!(GUILD.to_string());
                c["version"] = json!("1");
                c["default_member_permissions"] = Value::Null;
                c["type"] = json!(1);
                out.push(c);
            }
            let v = Value::from(out);
            g.check::<Vec<serenity::all::Command>>("commands", &v);
            g.commands = Some(body.clone());
            Json(v).into_response()
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            let id = parse(id);
            let Some(i) = g
                .interactions
                .get(&id)
                .cloned()
                .filter(|i| i.token == *token)
            else {
                return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
            };
            if i.response.is_some() {
                return error(
                    StatusCode::BAD_REQUEST,
                    40060,
                    "Interaction has already been acknowledged.",
                );
            }
            let kind = body["type"].as_u64().unwrap_or(0);
            let flags = body["data"]["flags"].as_u64().unwrap_or(0);
            let text = body["data"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let m = g.new_message(
                i.channel,
                BOT,
                &text,
                None,
                flags | if kind == 5 { 128 } else { 0 },
            );
            g.announce_create(m);
            let entry = g.interactions.get_mut(&id).expect("interaction");
            entry.response = Some((kind, flags));
            entry.original = Some(m);
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", app, token, "messages", "@original"]) => {
            if parse(app) != APP {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            }
            if let Some(r) = too_long(&content) {
                return r;
            }
            let Some(m) = g
                .interactions
                .values()
                .find(|i| i.token == *token)
                .and_then(|i| i.original)
            else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            let Some(msg) = g.messages.get_mut(&m).filter(|m| !m.deleted) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            msg.content = content;
            msg.flags &= !128;
            msg.edits += 1;
            let msg = msg.clone();
            let v = g.message_json(&msg);
            g.check::<serenity::all::Message>("message", &v);
            if msg.flags & 64 == 0 {
                g.dispatch("MESSAGE_UPDATE", v.clone());
            }
            Json(v).into_response()
        }
        ("DELETE", ["webhooks", app, token, "messages", "@original"]) => {
            if parse(app) != APP {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            }
            let Some(m) = g
                .interactions
                .values()
                .find(|i| i.token == *token)
                .and_then(|i| i.original)
            else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if let Some(msg) = g.messages.get_mut(&m) {
                msg.deleted = true;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["webhooks", app, token]) => {
            if parse(app) != APP {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            }
            if let Some(r) = too_long(&content) {
                return r;
            }
            let Some(i) = g.interactions.values().find(|i| i.token == *token).cloned() else {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            };
            let flags = body["flags"].as_u64().unwrap_or(0);
            let id = g.new_message(i.channel, BOT, &content, None, flags);
            let v = g.message_json(&g.messages[&id].clone());
            g.check::<serenity::all::Message>("message", &v);
            g.announce_create(id);
            Json(v).into_response()
        }
        _ => error(
            StatusCode::NOT_FOUND,
            0,
            "404: Not Found (the fake does not model this route)",
        ),
    }
}
