//! The proof of a link by signing in to Microsoft Entra: the real binary (console, Graph
//! backend, sign-in on) with its real HTTP listener, the fake Microsoft (Graph and the
//! identity platform, `support/fake_microsoft/idp.rs`) on loopback, and an HTTP client that does what a
//! browser does (follows the redirects, posts the forms). Every attack ends on a page that
//! says what happened, with the link still pending and the failure audited.

use std::collections::HashMap;

use regex::Regex;

use crate::support::bot::{assert_says, contents, dms_to, Bot};
use crate::support::fake_microsoft::Tamper;
use crate::support::fake_microsoft::{FakeMicrosoft, TENANT_ID};

/// The fakes, the bot and an HTTP client standing in for a browser.
pub struct Rig {
    pub fake: FakeMicrosoft,
    pub dir: tempfile::TempDir,
    pub bot: Bot,
    /// The sign-in pages' base URL.
    pub public: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// One answer, as a browser sees it.
#[derive(Debug)]
pub struct Seen {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Seen {
    /// Asserts that the answer has `status` and a page that says `needle`.
    fn assert_page(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.body.contains(needle), "{}", self.body);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

impl Rig {
    /// A bot on the fake Microsoft with the sign-in proof on; the app's redirect URI is
    /// registered at the fake identity platform.
    pub fn start() -> Rig {
        Rig::start_env(&[])
    }

    /// [`Rig::start`], the bot's environment with `extra` too (after the rig's own).
    pub fn start_env(extra: &[(&str, &str)]) -> Rig {
        let fake = FakeMicrosoft::start();
        let port = free_port();
        let public = format!("http://127.0.0.1:{port}");
        fake.state()
            .idp
            .redirect_uris
            .push(format!("{public}/link/callback"));
        let (toml, env) = fake.bot_settings(false);
        let listen = format!("127.0.0.1:{port}");
        let mut env: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(&[
            ("LICENSEBOT__LINKS__SIGN_IN", "true"),
            ("LICENSEBOT__LINKS__PUBLIC_URL", public.as_str()),
            ("LICENSEBOT__LINKS__LISTEN_ADDR", listen.as_str()),
        ]);
        env.extend_from_slice(extra);
        let (dir, mut bot) = Bot::start_with(&toml, &env);
        bot.idle();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Rig {
            fake,
            dir,
            bot,
            public,
            rt,
            http,
        }
    }

    /// A rig where alice has asked to link her own account: the rig and her start link.
    pub fn alice_linking() -> (Rig, String) {
        let mut rig = Rig::start();
        let start = rig.start_link("alice", "alice@contoso.example");
        (rig, start)
    }

    /// `who` asks to link `upn`; returns the start link the bot sent them by DM.
    pub fn start_link(&mut self, who: &str, upn: &str) -> String {
        self.bot.say(who, &format!("!pro link {upn}"));
        let got = self.bot.idle();
        let dms = dms_to(&got, who);
        let re = Regex::new(r"(http://\S+/link/start\?t=[A-Za-z0-9_-]+)").expect("regex");
        dms.iter()
            .find_map(|d| re.captures(d).map(|c| c[1].to_string()))
            .unwrap_or_else(|| panic!("no start link in {got:#?}"))
    }

    fn seen(&self, response: reqwest::Response) -> Seen {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = self.rt.block_on(response.text()).expect("the page's body");
        Seen {
            status,
            location,
            headers,
            body,
        }
    }

    /// A GET, as a browser makes it (no redirect followed).
    pub fn get(&self, url: &str) -> Seen {
        let response = self.rt.block_on(self.http.get(url).send()).expect("GET");
        self.seen(response)
    }

    /// A form POST.
    pub fn post(&self, url: &str, form: &[(String, String)]) -> Seen {
        let response = self
            .rt
            .block_on(self.http.post(url).form(form).send())
            .expect("POST");
        self.seen(response)
    }

    /// From a start link to the bot's page after signing in as `account` (or cancelling):
    /// the start redirect, the identity platform's form posted, the callback.
    pub fn sign_in(&self, start: &str, account: Option<&str>) -> Seen {
        self.sign_in_at(&self.authorize(start), account)
    }

    /// Where a start link sends the browser: the identity platform's sign-in page.
    pub fn authorize(&self, start: &str) -> String {
        let first = self.get(start);
        assert_eq!(first.status, 303, "{first:?}");
        first.location.expect("to the identity platform")
    }

    /// From the identity platform's sign-in page (`authorize`) on: sign in as `account` (or
    /// cancel), then the bot's callback page.
    pub fn sign_in_at(&self, authorize: &str, account: Option<&str>) -> Seen {
        let page = self.get(authorize);
        assert_eq!(page.status, 200, "{page:?}");
        let url = url::Url::parse(authorize).expect("authorize URL");
        let mut form: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "login_hint")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        match account {
            Some(a) => form.push(("username".into(), a.into())),
            None => form.push(("cancel".into(), "1".into())),
        }
        let back = self.post(
            &format!("{}/{TENANT_ID}/oauth2/v2.0/authorize", self.fake.base_url()),
            &form,
        );
        assert_eq!(back.status, 302, "{back:?}");
        let callback = back.location.expect("back to the bot");
        assert!(callback.starts_with(&self.public), "{callback}");
        self.get(&callback)
    }

    /// The confirm token on a confirm page.
    pub fn confirm_token(page: &Seen) -> String {
        let re = Regex::new(r#"name="t" value="([^"]+)""#).expect("regex");
        re.captures(&page.body)
            .map(|c| c[1].to_string())
            .unwrap_or_else(|| panic!("no confirm form in {page:?}"))
    }

    /// Posts the confirm form.
    pub fn confirm(&self, token: &str) -> Seen {
        self.post(
            &format!("{}/link/confirm", self.public),
            &[("t".to_string(), token.to_string())],
        )
    }

    /// A link's state and method in the database.
    pub fn link_state(&self, who: &str) -> String {
        crate::support::db::open(self.dir.path())
            .texts(&format!(
                "SELECT state || ':' || COALESCE(method, '-') FROM links WHERE chat_user = '{who}'"
            ))
            .into_iter()
            .next()
            .unwrap_or_else(|| "none".into())
    }

    /// The reasons of the failed proofs audited so far.
    pub fn failures(&self) -> Vec<String> {
        crate::support::db::open(self.dir.path())
            .texts("SELECT detail FROM audit_events WHERE action = 'proof_failed' ORDER BY id")
    }
}

#[test]
fn signing_in_as_the_account_and_confirming_verifies_the_link() {
    let (mut rig, start) = Rig::alice_linking();

    let authorize = url::Url::parse(&rig.authorize(&start)).unwrap();
    let q: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["login_hint"], "alice@contoso.example");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid profile");
    assert_eq!(q["redirect_uri"], format!("{}/link/callback", rig.public));
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43);
    assert_eq!(q["code_challenge"].len(), 43);

    let page = rig.sign_in_at(authorize.as_str(), Some("alice@contoso.example"));
    page.assert_page(200, "Should the chat account alice act for this account");
    assert_eq!(
        rig.link_state("alice"),
        "pending:-",
        "nothing linked before the confirmation"
    );
    for (h, v) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(
            page.headers.get(h).and_then(|x| x.to_str().ok()),
            Some(v),
            "{h}"
        );
    }
    assert!(!page.body.contains("<script"), "works without JavaScript");

    let done = rig.confirm(&Rig::confirm_token(&page));
    done.assert_page(200, "Your chat account now acts for alice@contoso.example");
    assert_eq!(rig.link_state("alice"), "verified:sign_in");
    let told = rig.bot.idle();
    assert!(
        dms_to(&told, "alice")
            .iter()
            .any(|d| d.contains("Verified by sign-in")),
        "{told:#?}"
    );
    rig.bot.say("alice", "!pro request");
    let asked = rig.bot.idle();
    assert_says(&contents(&asked), &["verified by sign-in on"]);
    rig.bot.finish();
}

#[test]
fn a_start_link_a_state_and_a_confirmation_work_once() {
    let (rig, start) = Rig::alice_linking();
    let callback_page = {
        // The browser's trip, remembered: its callback URL can be replayed.
        let authorize = rig.authorize(&start);
        let url = url::Url::parse(&authorize).unwrap();
        let mut form: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "login_hint")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("username".into(), "alice@contoso.example".into()));
        let back = rig.post(
            &format!("{}/{TENANT_ID}/oauth2/v2.0/authorize", rig.fake.base_url()),
            &form,
        );
        back.location.unwrap()
    };

    let again = rig.get(&start);
    let page = rig.get(&callback_page);
    let replayed = rig.get(&callback_page);
    let token = Rig::confirm_token(&page);
    let done = rig.confirm(&token);
    let twice = rig.confirm(&token);

    again.assert_page(400, "This sign-in link is not valid");
    assert_eq!(page.status, 200);
    assert_eq!(replayed.status, 400, "a replayed state: {replayed:?}");
    assert_eq!(done.status, 200);
    assert_eq!(twice.status, 400, "a used confirmation: {twice:?}");
    assert_eq!(rig.link_state("alice"), "verified:sign_in");
    rig.bot.finish();
}

#[test]
fn an_old_start_link_or_an_unknown_one_is_refused() {
    let (mut rig, start) = Rig::alice_linking();

    let unknown = rig.get(&format!("{}/link/start?t=forged", rig.public));
    rig.bot.advance(11 * 60);
    rig.bot.idle();
    let old = rig.get(&start);

    for seen in [&unknown, &old] {
        seen.assert_page(400, "not valid");
    }
    assert_eq!(rig.link_state("alice"), "pending:-");
    assert!(
        rig.failures().iter().any(|f| f.contains("expired")),
        "{:#?}",
        rig.failures()
    );
    rig.bot.finish();
}

/// A start link is a secret: with every statement logged, its token is in no log line. On
/// PostgreSQL the direct message that carries it is bound, never written into the text of
/// the statement that queues it (which the log shows), as a notice about a request is.
#[test]
fn a_start_link_never_reaches_the_log_even_with_every_statement_logged() {
    let mut rig = Rig::start_env(&[("RUST_LOG", "debug")]);
    let start = rig.start_link("alice", "alice@contoso.example");
    let token = start.rsplit_once("t=").expect("the link's token").1;
    assert!(token.len() >= 20, "{start}");
    let log = rig.bot.log();
    assert!(
        log.contains("INSERT INTO outbox"),
        "the statement that queued the link was logged"
    );
    assert!(!log.contains(token), "the start link's token is in the log");
    rig.bot.finish();
}

#[test]
fn a_token_that_fails_any_check_proves_nothing() {
    for tamper in [
        Tamper::OtherTenant,
        Tamper::OtherAudience,
        Tamper::Expired,
        Tamper::BadSignature,
        Tamper::AlgNone,
        Tamper::UnknownKid,
        Tamper::OtherNonce,
    ] {
        let mut rig = Rig::start();
        rig.fake.state().idp.tamper = Some(tamper);
        let start = rig.start_link("alice", "alice@contoso.example");

        let page = rig.sign_in(&start, Some("alice@contoso.example"));

        println!(
            "SIGN-IN-ATTACK | id_token {tamper:?} | page {} | link {} | audited: {}",
            page.status,
            rig.link_state("alice"),
            rig.failures().last().cloned().unwrap_or_default()
        );
        assert!(
            page.status == 400 || page.status == 403,
            "{tamper:?}: {page:?}"
        );
        assert!(
            !page.body.contains("name=\"t\""),
            "{tamper:?}: no confirm form"
        );
        assert_eq!(rig.link_state("alice"), "pending:-", "{tamper:?}");
        assert_eq!(rig.failures().len(), 1, "{tamper:?}: {:#?}", rig.failures());
        rig.bot.finish();
    }
}

#[test]
fn signing_in_as_another_account_or_cancelling_proves_nothing() {
    let (mut rig, start) = Rig::alice_linking();
    let other = rig.sign_in(&start, Some("judy@contoso.example"));
    let start = rig.start_link("alice", "alice@contoso.example");
    let cancelled = rig.sign_in(&start, None);

    other.assert_page(
        403,
        "You signed in as another account than alice@contoso.example",
    );
    cancelled.assert_page(400, "The sign-in did not finish");
    assert_eq!(rig.link_state("alice"), "pending:-");
    let failures = rig.failures();
    assert!(failures[0].contains("another account"), "{failures:#?}");
    assert!(failures[1].contains("access_denied"), "{failures:#?}");
    rig.bot.finish();
}

/// Mallory starts a link for ivan's account and gets ivan to open it: ivan signs in, and the
/// page asks whether the chat account mallory should act for him. He closes it: nothing is
/// linked.
#[test]
fn a_link_started_by_someone_else_is_not_completed_by_the_victims_click() {
    let mut rig = Rig::start();
    let start = rig.start_link("mallory", "ivan@contoso.example");

    let page = rig.sign_in(&start, Some("ivan@contoso.example"));

    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Should the chat account mallory act for this account"),
        "the page names the chat account that asked: {}",
        page.body
    );
    assert!(page
        .body
        .contains("If you did not ask for this, close this page"));
    assert_eq!(rig.link_state("mallory"), "pending:-");
    rig.bot.finish();
}

/// Alice starts linking and is sent to the identity platform; `meanwhile` happens; then she
/// signs in as herself. Returns the rig and the bot's callback page.
fn alice_signs_in_after(meanwhile: impl FnOnce(&mut Rig)) -> (Rig, Seen) {
    let (mut rig, start) = Rig::alice_linking();
    let authorize = rig.authorize(&start);
    meanwhile(&mut rig);
    let page = rig.sign_in_at(&authorize, Some("alice@contoso.example"));
    (rig, page)
}

#[test]
fn a_sign_in_for_a_link_undone_meanwhile_is_refused() {
    let (rig, page) = alice_signs_in_after(|rig| {
        rig.bot.say("alice", "!pro unlink");
        rig.bot.idle();
    });

    page.assert_page(400, "not valid");
    assert_eq!(rig.link_state("alice"), "none");
    rig.bot.finish();
}

/// The sign-in itself must come back within ten minutes of the start: a late answer is
/// refused.
#[test]
fn a_sign_in_answer_after_ten_minutes_is_refused() {
    let (rig, page) = alice_signs_in_after(|rig| {
        rig.bot.advance(11 * 60);
        rig.bot.idle();
    });

    assert_eq!(page.status, 400, "{page:?}");
    assert_eq!(rig.link_state("alice"), "pending:-");
    assert!(
        rig.failures()
            .iter()
            .any(|f| f.contains("the sign-in took too long")),
        "{:#?}",
        rig.failures()
    );
    rig.bot.finish();
}
