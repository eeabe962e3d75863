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
//! while a call is in flight (faults, holds and the call log are the toolkit of
//! `fake_http.rs`). Every payload it sends is checked against serenity's own models: a gateway
//! dispatch must not deserialize into `Event::Unknown` (serenity would drop it silently),
//! and REST bodies must deserialize into the model serenity reads them as; any violation
//! fails [`FakeDiscord::assert_faithful`].

mod components;
mod gateway;
mod interactions;
mod json;
mod messages;
mod people;
mod rest;
mod state;
mod uploads;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::Router;
use serde_json::Value;
use tokio::sync::Notify;

use super::fake_http::{self, Rule};
pub use super::fake_http::{HoldId, Recorded};
use state::Inner;
pub use state::Msg;
pub use uploads::{png_size, Upload};

/// A REST call the fake received (path without `/api/v10`).
pub type Call = Recorded;

/// A fault to inject with [`FakeDiscord::fail`]: the next `times` calls with this method
/// whose path (without `/api/v10`) contains the given text are answered with the status
/// (429 with Discord's rate-limit body and headers, 500, or any other).
pub type Fault = fake_http::Fault<u16>;

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
pub(crate) const MAX_CONTENT: usize = 2000;

/// Discord's limit on a message nonce.
pub(crate) const MAX_NONCE: usize = 25;

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

pub(crate) fn name_of(id: u64) -> String {
    if id == BOT {
        return "licensebot".into();
    }
    PEOPLE
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("user{id}"))
}

/// What the server's handlers share: the state, a signal for every change to it, and the
/// port (for the gateway URL).
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

/// The state, locked (a test that panicked while holding it does not poison it for others).
fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(|p| p.into_inner())
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
            .route("/gateway", get(gateway::gateway))
            .route("/api/v10/{*rest}", any(rest::rest))
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
        lock(&self.shared)
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
        let mut rule = Rule::new(method, path);
        rule.body_contains = body_contains.map(str::to_string);
        self.lock().holds.hold(rule)
    }

    /// Lets a held answer go (the bot that asked may be gone by then).
    pub fn release(&self, id: HoldId) {
        self.lock().holds.release(id);
    }

    /// A copy of the state, for assertions.
    pub fn view<T>(&self, f: impl FnOnce(&FakeView<'_>) -> T) -> T {
        f(&FakeView(&self.lock()))
    }

    /// The bot's post in `channel` with `needle`, once the bot's ✅ and ❌ are on it (the
    /// bot's own reactions say it is ready for a decision).
    pub async fn ready_for_a_decision(&self, channel: u64, needle: &str, timeout: Duration) -> Msg {
        self.wait_for(
            &format!("a post with {needle:?} and the bot's reactions"),
            timeout,
            |v| {
                v.bot_message(channel, needle).filter(|m| {
                    ["✅", "❌"]
                        .iter()
                        .all(|e| m.reactions.get(*e).is_some_and(|u| u.contains(&BOT)))
                })
            },
        )
        .await
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
        self.0.calls.matching(method, path).cloned().collect()
    }

    /// IDENTIFYs and RESUMEs received (held ones included).
    pub fn handshakes(&self) -> (u32, u32) {
        (self.0.identifies, self.0.resumes + self.0.held.len() as u32)
    }

    /// Whether the hold `id` has caught a call.
    pub fn holding(&self, id: HoldId) -> bool {
        self.0.holds.caught(id)
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
