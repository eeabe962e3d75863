//! The PostgreSQL half of the suite: with `LICENSEBOT_TEST_POSTGRES_URL` set (a server's
//! maintenance database, e.g. `postgres://postgres@127.0.0.1:55432/postgres`, as
//! `tests/run.sh` starts one), every test's store is a database of its own on that server,
//! copied from a template migrated once per test process; without it, every store is SQLite.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

/// The variable naming the server the PostgreSQL half runs on.
pub const URL_VAR: &str = "LICENSEBOT_TEST_POSTGRES_URL";

/// The server's maintenance URL, when this run is on PostgreSQL.
pub fn server() -> Option<String> {
    std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The URL of `server` with its database replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("LICENSEBOT_TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

/// A new, migrated, empty database on the test server, for one test's store: its URL.
pub async fn fresh_database(server: &str) -> String {
    let template = TEMPLATE
        .get_or_init(|| async { make_template(server).await })
        .await;
    let name = format!(
        "lb_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    admin(
        server,
        &[&format!("CREATE DATABASE {name} TEMPLATE {template}")],
    )
    .await;
    with_database(server, &name)
}

/// [`fresh_database`] from code that is not async (the console bot's settings): on a thread
/// of its own, so it works inside a runtime too.
pub fn fresh_database_blocking(server: &str) -> String {
    let server = server.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(fresh_database(&server))
    })
    .join()
    .expect("a database for the test")
}

/// The template: a database with the bot's migrations applied, made once per process (the
/// bot's own migrator, so it is what `licensebot migrate` makes).
async fn make_template(server: &str) -> String {
    let name = format!("lb_{}_template", std::process::id());
    admin(
        server,
        &[
            &format!("DROP DATABASE IF EXISTS {name}"),
            &format!("CREATE DATABASE {name}"),
        ],
    )
    .await;
    let store = licensebot::store::Store::open(&with_database(server, &name), true)
        .await
        .expect("open the template");
    store.migrate().await.expect("migrate the template");
    store.close().await;
    name
}

/// Drops every database this process made on `server` (its template and each
/// [`fresh_database`], connections to them cut): the bench runs on a server that outlives
/// it, which is to keep none of them. The suite's server is thrown away whole instead.
pub async fn drop_own_databases(server: &str) {
    let mut admin = PgConnection::connect(server)
        .await
        .expect("the test server");
    // `_` matches any one character in LIKE: escaped, it matches only itself.
    let own = format!("lb\\_{}\\_%", std::process::id());
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(own)
            .fetch_all(&mut admin)
            .await
            .expect("the server's databases");
    for name in names {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        admin
            .execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    admin.close().await.expect("close");
}

/// Runs `statements` on the test server's maintenance database, one connection for them all.
async fn admin(server: &str, statements: &[&str]) {
    let mut admin = PgConnection::connect(server)
        .await
        .expect("the test server");
    for sql in statements {
        admin
            .execute(*sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    admin.close().await.expect("close");
}
