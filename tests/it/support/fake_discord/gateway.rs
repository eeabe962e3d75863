//! The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeat ACKs, RESUME → replay of
//! what was missed + RESUMED (or INVALID_SESSION), and the disconnects a test causes.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::json::{guild_json, user_json};
use super::state::{Inner, Session};
use super::{lock, FakeDiscord, Shared, APP, BOT, GUILD, TOKEN};

/// The gateway URL: the websocket upgrade.
pub(super) async fn gateway(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared))
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
            let guild = guild_json(g.community_locale.as_deref());
            g.dispatch("GUILD_CREATE", guild);
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
impl FakeDiscord {
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

    /// Drops the gateway connection and waits until the bot tries to resume; its RESUME is
    /// held until `release_resume`.
    pub async fn drop_and_wait_for_resume(&self, timeout: std::time::Duration) {
        self.disconnect_and_hold();
        self.wait_for("the bot to try to resume", timeout, |v| {
            (v.handshakes().1 >= 1).then_some(())
        })
        .await;
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
}
