//! The sign-in pages in a real browser: Debian's headless Chromium, driven through
//! chromedriver (WebDriver), clicks through the whole proof as a person would: the start
//! link from the bot's DM, the (fake) Microsoft sign-in page, the bot's confirm page (saved as
//! a screenshot), the confirmation. `tests/run.sh` (and so `.ci/run`) installs Chromium and
//! chromedriver when they are missing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use crate::signin::Rig;

/// A chromedriver process on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

fn program(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
        let path = format!("{dir}/{name}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    panic!(
        "{name} is not installed: `bash tests/run.sh` installs Debian's chromium and \
         chromium-driver (apt-get install chromium chromium-driver)"
    );
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(program("chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { child, url }
}

#[test]
fn a_person_links_their_account_by_signing_in_in_a_real_browser() {
    let mut rig = Rig::start();
    let start = rig.start_link("alice", "alice@contoso.example");
    let driver = start_driver();
    let profile = tempfile::tempdir().expect("profile dir");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sign-in-confirm.png");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (confirm_text, done_text) = rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": program("chromium"),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", profile.path().display())],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a browser session");

        // The link from the DM: the bot sends the browser to Microsoft's sign-in page.
        browser.goto(&start).await.expect("open the start link");
        let hint = element(&browser, Locator::Id("username"), "the sign-in form")
            .await
            .prop("value")
            .await
            .expect("its value");
        assert_eq!(hint.as_deref(), Some("alice@contoso.example"), "login_hint");
        element(&browser, Locator::Id("signin"), "the sign-in button")
            .await
            .click()
            .await
            .expect("sign in");

        // Back at the bot: the confirm page, with one button.
        let confirm = browser
            .wait()
            .for_element(Locator::Id("confirm"))
            .await
            .expect("the confirm button");
        let confirm_text = page_text(&browser).await;
        let png = browser.screenshot().await.expect("a screenshot");
        std::fs::write(&screenshot, png).expect("save the screenshot");
        confirm.click().await.expect("confirm");

        browser
            .wait()
            .for_element(Locator::XPath("//h1[text()='Linked']"))
            .await
            .expect("the done page");
        let done_text = page_text(&browser).await;
        browser.close().await.expect("close the browser");
        (confirm_text, done_text)
    });

    println!("BROWSER | confirm page saved as {}", screenshot.display());
    assert!(
        confirm_text.contains("Should the chat account alice act for this account"),
        "{confirm_text}"
    );
    assert!(
        done_text.contains("Your chat account now acts for alice@contoso.example"),
        "{done_text}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 1000);
    assert_eq!(rig.link_state("alice"), "verified:sign_in");
    rig.bot.finish();
}

/// The element the browser shows at `locator`; `what` names it if it is missing.
async fn element(
    browser: &fantoccini::Client,
    locator: Locator<'_>,
    what: &str,
) -> fantoccini::elements::Element {
    browser
        .find(locator)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The text of the page the browser shows.
async fn page_text(browser: &fantoccini::Client) -> String {
    element(browser, Locator::Css("body"), "the page")
        .await
        .text()
        .await
        .expect("its text")
}
