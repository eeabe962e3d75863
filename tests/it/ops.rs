//! The operator's endpoint: `/metrics` (Prometheus text) and `/healthz`, on the real binary.

use std::time::{Duration, Instant};

use crate::support::bot::asked_with;
use crate::support::Bot;

/// The address the bot logged for its endpoint (it binds port 0 in tests).
fn endpoint(bot: &Bot) -> String {
    endpoint_of_start(bot, 1)
}

/// The address the `nth` start of the bot in its directory logged for its endpoint (the
/// log file is kept across restarts).
pub(crate) fn endpoint_of_start(bot: &Bot, nth: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = bot.log();
        if let Some(line) = log
            .lines()
            .filter(|l| l.contains("serving /metrics and /healthz"))
            .nth(nth - 1)
        {
            let addr = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .unwrap_or_else(|| panic!("no addr in {line}"));
            return format!("http://{addr}");
        }
        assert!(
            Instant::now() < deadline,
            "the endpoint was never served; log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `/healthz` at `base`: its status code, its body and the body read as JSON.
fn health(base: &str) -> (u16, String, serde_json::Value) {
    let (code, body) = get(&format!("{base}/healthz"));
    let health = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (code, body, health)
}

/// `GET url`: the status code and the body.
pub(crate) fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        let code = r.status().as_u16();
        (code, r.text().await.expect("body"))
    })
}

#[test]
fn metrics_count_requests_decisions_jobs_and_backend_calls() {
    let (_dir, mut bot) = Bot::start_with(
        "",
        &[("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0")],
    );
    bot.link("alice", "alice@contoso.example");
    let approval = bot.request("alice", "Request #1");
    bot.react("carol", &approval, "✅");
    bot.idle();
    let base = endpoint(&bot);

    let (code, text) = get(&format!("{base}/metrics"));
    assert_eq!(code, 200);
    for expected in [
        r#"licensebot_requests{kind="assign",state="completed"} 1"#,
        r#"licensebot_decisions{verdict="approve"} 1"#,
        r#"licensebot_jobs{state="succeeded"} 1"#,
        r#"licensebot_backend_call_seconds_count{operation="assign_many",outcome="ok"} 1"#,
        "licensebot_free_seats 0",
        "licensebot_transport_connected 1",
        "licensebot_leader 1",
        "licensebot_outbox_undelivered 0",
        // Read from the database: carol's reaction decided the one stage, and the request
        // completed; no job was tried twice.
        "licensebot_time_to_decision_seconds_count 1",
        "licensebot_time_to_done_seconds_count 1",
        r#"licensebot_time_to_done_seconds_bucket{le="+Inf"} 1"#,
        "licensebot_job_retries 0",
        "licensebot_graph_throttled_total 0",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }

    let (code, body, health) = health(&base);
    assert_eq!(code, 200, "{body}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["role"], "leader");
    assert_eq!(health["checks"]["database"], "ok");
    assert_eq!(health["checks"]["backend"], "ok");
    assert_eq!(health["checks"]["transport"], "connected");
    bot.finish();
}

#[test]
fn healthz_is_503_when_the_backend_credentials_do_not_work() {
    let (_dir, mut bot) = Bot::start_with(
        "[backend.graph]\ntenant_id = \"contoso.onmicrosoft.com\"\n\
         client_id = \"11111111-2222-3333-4444-555555555555\"\n\
         client_secret_env = \"OPS_TEST_SECRET\"\ntimeout = \"2s\"\n",
        &[
            ("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0"),
            ("LICENSEBOT__BACKEND__KIND", "graph"),
            ("LICENSEBOT__BACKEND__PURCHASE", "manual"),
            // Nothing listens on port 9 of loopback: the token can't be had.
            (
                "LICENSEBOT__BACKEND__GRAPH__AUTHORITY_URL",
                "http://127.0.0.1:9",
            ),
            (
                "LICENSEBOT__BACKEND__GRAPH__GRAPH_URL",
                "http://127.0.0.1:9/v1.0",
            ),
            ("OPS_TEST_SECRET", "not-a-real-secret"),
        ],
    );
    bot.idle();
    let base = endpoint(&bot);
    let (code, body, health) = health(&base);
    assert_eq!(code, 503, "{body}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["role"], "leader");
    assert_eq!(health["checks"]["database"], "ok");
    assert_ne!(health["checks"]["backend"], "ok");
    assert!(!body.contains("not-a-real-secret"), "{body}");
    bot.finish();
}

/// The metric names an expression of the dashboard reads.
fn metric_names(expr: &str) -> Vec<String> {
    let name = regex::Regex::new(r"licensebot_[a-z_]+").expect("pattern");
    name.find_iter(expr)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Every query of every panel of `deploy/grafana/licensebot.json`.
fn dashboard_queries() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/grafana/licensebot.json"
    );
    let text = std::fs::read_to_string(path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_metric_the_dashboard_queries_is_exported_from_start_up() {
    let queries = dashboard_queries();
    assert!(queries.len() >= 14, "{queries:#?}");
    let (_dir, bot) = Bot::start_with(
        "",
        &[("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0")],
    );
    let base = endpoint(&bot);

    // The first scrape, before anyone has asked for anything.
    let (code, text) = get(&format!("{base}/metrics"));
    assert_eq!(code, 200);
    for query in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "{query} reads no licensebot metric");
        for name in names {
            let samples = text
                .lines()
                .filter(|l| {
                    l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{"))
                })
                .count();
            assert!(
                samples > 0,
                "{name} (in {query}) has no series at start-up:
{text}"
            );
        }
    }
    // Label sets known in advance are there at zero.
    for zero in [
        r#"licensebot_requests{kind="assign",state="pending"} 0"#,
        r#"licensebot_decisions{verdict="deny"} 0"#,
        r#"licensebot_jobs{state="failed"} 0"#,
        "licensebot_time_to_decision_seconds_count 0",
    ] {
        assert!(text.contains(zero), "{zero} missing from\n{text}");
    }
    bot.finish();
}

#[test]
fn a_throttled_graph_read_is_counted() {
    use crate::support::fake_microsoft::{FakeMicrosoft, Fault, FaultKind};
    let fake = FakeMicrosoft::start();
    let (toml, env) = fake.bot_settings(false);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0"));
    let (_dir, mut bot) = Bot::start_with(&toml, &env);
    let base = endpoint(&bot);
    // Graph throttles the first role read; the client waits a moment and reads again.
    fake.inject(Fault::on(
        "GET",
        "/roleManagement/",
        1,
        FaultKind::throttle("0"),
    ));
    bot.say("dave", "!pro request for alice@contoso.example");
    let got = bot.idle();
    crate::support::bot::approval_with(&got, "Request #1");

    let (_, text) = get(&format!("{base}/metrics"));
    assert!(
        text.contains("licensebot_graph_throttled_total 1"),
        "one 429 counted:\n{text}"
    );
    bot.finish();
}

/// The spans of the lines that carry `request` as a field in any of their spans.
fn spans_of_request(log: &str, request: u64) -> Vec<String> {
    let mut names = Vec::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let spans = v["spans"].as_array().cloned().unwrap_or_default();
        if spans.iter().any(|s| s["request"] == request) {
            for s in spans {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

#[test]
fn one_requests_log_lines_carry_its_id_from_asking_to_done() {
    let json_logs = [("LICENSEBOT__TELEMETRY__FORMAT", "json")];
    let (_dir, mut bot, approval) = asked_with(&json_logs, "alice", "alice@contoso.example");
    bot.react("carol", &approval, "✅");
    bot.idle();
    let log = bot.log();
    let spans = spans_of_request(&log, 1);
    for span in ["open_request", "decision", "job"] {
        assert!(
            spans.contains(&span.to_string()),
            "no line of request 1 in a {span} span (spans seen: {spans:?})\n{log}"
        );
    }
    assert!(
        spans_of_request(&log, 2).is_empty(),
        "there is no request 2"
    );
    bot.finish();
}
