//! The sign-in pages (`[links] listen_addr`): `GET /link/start?t=…`, `GET /link/callback`
//! and `POST /link/confirm`, served for people's browsers. Plain server-rendered HTML that
//! works without JavaScript; every sentence comes from the engine (the message catalogue);
//! every value is HTML-escaped. Pages are never cached, never framed, send no referrer, and
//! allow nothing to load but their own inline style; the one form posts back to this site.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::engine::signin::Page;
use crate::engine::Engine;

/// Binds `addr` and serves the sign-in pages until `shutdown` fires. Returns the bound
/// address and the server task.
pub async fn serve(
    addr: SocketAddr,
    engine: Engine,
    language: &'static str,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new()
        .route("/link/start", get(start))
        .route("/link/callback", get(callback))
        .route("/link/confirm", post(confirm))
        .with_state(Pages { engine, language });
    super::server::serve_router(addr, app, "the sign-in pages", shutdown).await
}

#[derive(Clone)]
struct Pages {
    engine: Engine,
    language: &'static str,
}

async fn start(State(p): State<Pages>, Query(q): Query<HashMap<String, String>>) -> Response {
    let token = q.get("t").map(String::as_str).unwrap_or_default();
    render(p.engine.sign_in_start(token).await, p.language)
}

async fn callback(State(p): State<Pages>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str);
    let page = p
        .engine
        .sign_in_callback(get("state"), get("code"), get("error"))
        .await;
    render(page, p.language)
}

async fn confirm(State(p): State<Pages>, Form(form): Form<HashMap<String, String>>) -> Response {
    let token = form.get("t").map(String::as_str).unwrap_or_default();
    render(p.engine.sign_in_confirm(token).await, p.language)
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text with `` `code` `` spans as `<code>`, the rest escaped.
fn inline(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
padding:0 1rem;line-height:1.5;color:#1b1b1b}h1{font-size:1.4rem}code{background:#f0f0f0;\
padding:0 .2rem}button{font-size:1rem;padding:.5rem 1.2rem;border-radius:.3rem;\
border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}";

/// The HTML of a page.
fn html(
    title: &str,
    paragraphs: &[String],
    confirm: Option<&(String, String)>,
    lang: &str,
) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>\n", inline(p)));
    }
    if let Some((token, button)) = confirm {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/link/confirm\">\
             <input type=\"hidden\" name=\"t\" value=\"{}\">\
             <button type=\"submit\" id=\"confirm\">{}</button></form>\n",
            escape(token),
            escape(button)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

fn render(page: Page, lang: &str) -> Response {
    let mut response = match page {
        Page::Redirect(url) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            match HeaderValue::from_str(&url) {
                Ok(v) => {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
            r
        }
        Page::Show {
            status,
            title,
            paragraphs,
            confirm,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = (status, html(&title, &paragraphs, confirm.as_ref(), lang)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_code_spans_kept() {
        let page = html(
            "<b>title</b>",
            &["Type `!pro link <you>` & go".to_string()],
            Some(&("t\"oken".to_string(), "Yes <now>".to_string())),
            "en",
        );
        assert!(page.contains("<h1>&lt;b&gt;title&lt;/b&gt;</h1>"), "{page}");
        assert!(
            page.contains("<code>!pro link &lt;you&gt;</code> &amp; go"),
            "{page}"
        );
        assert!(page.contains("value=\"t&quot;oken\""), "{page}");
        assert!(page.contains(">Yes &lt;now&gt;</button>"), "{page}");
        assert!(!page.contains("<script"));
    }
}
