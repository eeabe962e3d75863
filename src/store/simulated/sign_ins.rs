//! The simulated users' sign-ins: seeded from `[[backend.simulated.users]]` (a time, or a
//! duration before the tenant was first seeded), read for `Tenant::activity`.

use std::time::Duration;

use sqlx::AnyConnection;

use crate::domain::Upn;
use crate::store::{corrupt, parse_opt_ts, parse_ts, ts, StoreResult, Timestamp};

/// When a user last signed in, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAt {
    /// At this time.
    At(Timestamp),
    /// This long before the tenant was first seeded.
    BeforeFirstSeeding(Duration),
}

/// A user's sign-ins as configured; `None` where none is on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSeed {
    /// The user.
    pub upn: Upn,
    /// The last sign-in to anything.
    pub last_sign_in: Option<SignInAt>,
    /// The last sign-in to the Power BI service.
    pub last_power_bi_sign_in: Option<SignInAt>,
}

/// A user's sign-ins as the tenant keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIns {
    /// The user.
    pub upn: Upn,
    /// The last sign-in to anything, as recorded.
    pub last_sign_in: Option<Timestamp>,
    /// The last sign-in to the Power BI service.
    pub last_power_bi_sign_in: Option<Timestamp>,
}

/// When the tenant was first seeded; `at` when it is being seeded for the first time now.
pub async fn first_seeded(conn: &mut AnyConnection, at: Timestamp) -> StoreResult<Timestamp> {
    sqlx::query("INSERT OR IGNORE INTO seeding (id, first_seeded_at) VALUES (1, ?)")
        .bind(ts(at))
        .execute(&mut *conn)
        .await?;
    let first: String = sqlx::query_scalar("SELECT first_seeded_at FROM seeding WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    parse_ts("seeding", &first)
}

/// The time a configured sign-in stands for, the tenant having been first seeded at `first`.
fn resolve(at: SignInAt, first: Timestamp) -> StoreResult<Timestamp> {
    match at {
        SignInAt::At(t) => Ok(t),
        SignInAt::BeforeFirstSeeding(d) => chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| first.checked_sub_signed(d))
            .ok_or_else(|| {
                corrupt(
                    "sign_ins",
                    format!("{d:?} before the first seeding ({first}) is out of range"),
                )
            }),
    }
}

/// Seeds the users' sign-ins after [`super::seed`] (the users must be there). Values the
/// tenant already has win; a missing one is filled in from the configuration. Durations count
/// back from the tenant's first seeding (this one, `at`, when it is the first).
pub async fn seed_sign_ins(
    conn: &mut AnyConnection,
    seeds: &[SignInSeed],
    at: Timestamp,
) -> StoreResult<()> {
    let first = first_seeded(conn, at).await?;
    for s in seeds {
        if s.last_sign_in.is_none() && s.last_power_bi_sign_in.is_none() {
            continue;
        }
        let any = s.last_sign_in.map(|t| resolve(t, first)).transpose()?;
        let power_bi = s
            .last_power_bi_sign_in
            .map(|t| resolve(t, first))
            .transpose()?;
        sqlx::query(
            "INSERT INTO sign_ins (upn, last_sign_in, last_power_bi_sign_in) VALUES (?, ?, ?)
             ON CONFLICT (upn) DO UPDATE SET
                 last_sign_in = COALESCE(last_sign_in, excluded.last_sign_in),
                 last_power_bi_sign_in =
                     COALESCE(last_power_bi_sign_in, excluded.last_power_bi_sign_in)",
        )
        .bind(s.upn.as_str())
        .bind(any.map(ts))
        .bind(power_bi.map(ts))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The sign-ins of those of `upns` the tenant has as users, in the order asked, each once;
/// a user without a row has none on record.
pub async fn sign_ins(conn: &mut AnyConnection, upns: &[Upn]) -> StoreResult<Vec<SignIns>> {
    const T: &str = "sign_ins";
    let asked: Vec<&str> = upns.iter().map(Upn::as_str).collect();
    let asked = serde_json::to_string(&asked).map_err(|e| corrupt(T, e))?;
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT u.upn, s.last_sign_in, s.last_power_bi_sign_in
           FROM users u LEFT JOIN sign_ins s ON s.upn = u.upn
          WHERE u.upn IN (SELECT value FROM json_each(?))",
    )
    .bind(asked)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<SignIns> = Vec::with_capacity(rows.len());
    for upn in upns {
        let Some((_, any, power_bi)) = rows.iter().find(|r| r.0 == upn.as_str()) else {
            continue;
        };
        if out.iter().any(|s| &s.upn == upn) {
            continue;
        }
        out.push(SignIns {
            upn: upn.clone(),
            last_sign_in: parse_opt_ts(T, any.as_deref())?,
            last_power_bi_sign_in: parse_opt_ts(T, power_bi.as_deref())?,
        });
    }
    Ok(out)
}
