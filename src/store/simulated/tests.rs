//! The simulated tenant's file: carried over from an older store, found beside the store.

use super::carry_over::carry_over;
use super::*;
use crate::store::tests::store_at_version;
use crate::store::Store;

/// Fills an older store's `sim_*` tables as a simulated tenant in use left them.
async fn an_old_tenant(store: &Store, with_mail: bool) {
    let mut w = store.write().await.expect("write");
    let mail = if with_mail { ", mail" } else { "" };
    let mail_value = if with_mail {
        ", 'alice.mail@contoso.example'"
    } else {
        ""
    };
    let statements = [
        "INSERT INTO sim_skus VALUES ('POWER_BI_PRO', 'f8a1db68', 7, 9.99, '[\"BI_AZURE_P2\"]')"
            .to_string(),
        format!(
            "INSERT INTO sim_users (upn, id, display_name, usage_location, user_type, \
             account_enabled, roles{mail}) VALUES ('alice@contoso.example', 'a-1', 'Alice', \
             'NL', 'Member', 1, '[]'{mail_value})"
        ),
        "INSERT INTO sim_assignments VALUES ('alice@contoso.example', 'POWER_BI_PRO', \
         '2026-11-01T10:00:00.000Z')"
            .to_string(),
        "INSERT INTO sim_purchases VALUES ('job-3', 'POWER_BI_PRO', 5, 7, 'monthly', \
         '2026-11-01T09:00:00.000Z')"
            .to_string(),
    ];
    for sql in &statements {
        sqlx::query(sql)
            .execute(w.conn().await.expect("the transaction's connection"))
            .await
            .expect(sql);
    }
    w.commit().await.expect("commit");
}

/// What the tenant beside `store` holds: Pro seats and holders, Alice's mail, purchases.
async fn tenant_beside(store: &Store) -> (i64, i64, Option<String>, i64) {
    let url = format!(
        "sqlite://{}",
        beside(store.path().expect("a file")).display()
    );
    let tenant = TenantStore::open(&url, false)
        .await
        .expect("the tenant file");
    let mut conn = tenant.read().await.expect("read");
    let sku = sku(&mut conn, "POWER_BI_PRO")
        .await
        .expect("sku")
        .expect("Pro");
    let alice = Upn::parse("alice@contoso.example").expect("upn");
    let alice = user(&mut conn, &alice).await.expect("user").expect("Alice");
    assert_eq!(alice.licenses, vec!["POWER_BI_PRO".to_string()]);
    let purchases = purchase_count(&mut conn).await.expect("purchases");
    (sku.enabled, sku.consumed, alice.mail, purchases)
}

async fn legacy_tables(store: &Store) -> i64 {
    let mut conn = store.read().await.expect("read");
    sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'sim_%'")
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

/// A store made before 0010 keeps its simulated tenant: the rows move to the file beside
/// it, and the store's schema holds no `sim_*` table any more.
#[tokio::test]
async fn an_old_stores_simulated_tenant_moves_to_its_own_file() {
    let (_dir, store) = store_at_version(9).await;
    an_old_tenant(&store, true).await;
    store.migrate().await.expect("upgrade");
    assert_eq!(legacy_tables(&store).await, 0);
    let mail = Some("alice.mail@contoso.example".to_string());
    assert_eq!(tenant_beside(&store).await, (7, 1, mail, 1));
}

/// Made before 0006, the users had no `mail`: they move with none (the UPN is used).
#[tokio::test]
async fn users_from_before_mail_existed_move_without_one() {
    let (_dir, store) = store_at_version(5).await;
    an_old_tenant(&store, false).await;
    store.migrate().await.expect("upgrade");
    assert_eq!(tenant_beside(&store).await, (7, 1, None, 1));
}

/// A start that stopped between the copy and the drop copies again without doubling
/// anything, and rows the tenant file has since changed are kept.
#[tokio::test]
async fn copying_again_after_a_crash_doubles_nothing() {
    let (_dir, store) = store_at_version(9).await;
    an_old_tenant(&store, true).await;
    carry_over(&store).await.expect("first copy");
    let url = format!("sqlite://{}", beside(store.path().expect("file")).display());
    let tenant = TenantStore::open(&url, false).await.expect("tenant");
    sqlx::query("UPDATE skus SET enabled = 9")
        .execute(tenant.pool())
        .await
        .expect("a later change");
    tenant.close().await;
    store.migrate().await.expect("upgrade");
    let mail = Some("alice.mail@contoso.example".to_string());
    assert_eq!(tenant_beside(&store).await, (9, 1, mail, 1));
}

/// A new store, or one whose simulated tables were never used, makes no tenant file.
#[tokio::test]
async fn an_unused_tenant_makes_no_file() {
    let (dir, store) = store_at_version(9).await;
    store.migrate().await.expect("upgrade");
    assert_eq!(legacy_tables(&store).await, 0);
    assert!(!beside(&dir.path().join("t.db")).exists());
}

/// A store in memory is no file (sqlx names it `file:sqlx-in-memory-N`; nothing of that
/// name is made), and its tenant is in memory too.
#[tokio::test]
async fn a_store_in_memory_makes_no_file() {
    let store = Store::open("sqlite::memory:", true).await.expect("open");
    store.migrate().await.expect("migrate");
    assert!(store.path().is_none());
    let url = TenantStore::url_beside("sqlite::memory:").expect("url");
    TenantStore::open(&url, true)
        .await
        .expect("a tenant in memory");
    let made = std::fs::read_dir(".")
        .expect("cwd")
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("file:sqlx-in-memory")
        });
    assert!(!made, "a file named after the in-memory database was made");
}

#[test]
fn the_tenant_lives_beside_the_store() {
    let url = TenantStore::url_beside("sqlite://data/licensebot.db").expect("url");
    assert_eq!(url, "sqlite://data/licensebot.simulated-tenant.db");
    let url = TenantStore::url_beside("sqlite://state/bot").expect("url");
    assert_eq!(url, "sqlite://state/bot.simulated-tenant");
    let url = TenantStore::url_beside("sqlite::memory:").expect("url");
    assert_eq!(url, "sqlite::memory:");
}
