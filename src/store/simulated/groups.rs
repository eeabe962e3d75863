//! The simulated tenant's groups and Entra ID's group-based licensing over them: a member
//! gets each of the group's SKUs, all or nothing, when they hold it already or a seat is free
//! (else `CountViolation`), and a failed assignment is evaluated again only when the member
//! is reprocessed (Microsoft: freeing seats retries nobody by itself).

use serde::Deserialize;
use sqlx::AnyConnection;

use super::{sku, user};
use crate::domain::GroupFlags;
use crate::domain::Upn;
use crate::store::row::Columns;
use crate::store::sql::Table;
use crate::store::{corrupt, ts, StoreResult, Timestamp};

/// Microsoft's word for a member's group assignment that failed for want of a seat.
const COUNT_VIOLATION: &str = "CountViolation";

/// A group as the tenant keeps it (Graph's group resource, its licences and owners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Object id, a GUID in lower case.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Its kind: dynamic, Microsoft 365, mail- or security-enabled, role-assignable, synced.
    pub flags: GroupFlags,
    /// Part numbers of the SKUs it assigns, in name order.
    pub skus: Vec<String>,
    /// Its owners' UPNs, in order.
    pub owners: Vec<Upn>,
}

/// How one SKU of a group stands for a member (Graph `licenseAssignmentStates[]` with
/// `assignedByGroup` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The group's id.
    pub group: String,
    /// The SKU's part number.
    pub sku_part_number: String,
    /// Held, or why not.
    pub state: GroupLicenceState,
}

/// Whether a group's assignment of a SKU is in force for a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupLicenceState {
    /// The member holds the SKU from the group (`Active`).
    Active,
    /// The member does not hold it from the group, for the reason Microsoft's word gives
    /// (`Error` with `CountViolation`, ...).
    Error(String),
}

/// A member state as the user's read gives it (one object of a JSON array).
#[derive(Debug, Deserialize)]
pub(super) struct StateRow {
    group: String,
    sku_part_number: String,
    state: String,
    error: Option<String>,
}

impl StateRow {
    /// The state it says; `table` names what is corrupt when it says none.
    pub(super) fn into_state(self, table: &'static str) -> StoreResult<MemberState> {
        let state = match (self.state.as_str(), self.error) {
            ("Active", _) => GroupLicenceState::Active,
            ("Error", Some(word)) => GroupLicenceState::Error(word),
            (other, _) => {
                return Err(corrupt(
                    table,
                    format!("group assignment state {other:?} without its error"),
                ))
            }
        };
        Ok(MemberState {
            group: self.group,
            sku_part_number: self.sku_part_number,
            state,
        })
    }
}

/// The groups with their SKUs and owners (JSON arrays, in order).
const GROUPS: Table<Group> = Table::new(
    "groups g",
    "g.id, g.display_name, g.dynamic, g.unified, g.mail_enabled, g.security_enabled,
              g.role_assignable, g.synced,
              (SELECT json_group_array(sku_part_number)
                 FROM (SELECT sku_part_number FROM group_skus k
                        WHERE k.group_id = g.id ORDER BY sku_part_number)) AS skus,
              (SELECT json_group_array(upn)
                 FROM (SELECT upn FROM group_owners o
                        WHERE o.group_id = g.id ORDER BY upn)) AS owners",
    read_group,
);

fn read_group(c: &Columns<'_>) -> StoreResult<Group> {
    const T: &str = "groups";
    let owners: Vec<String> = c.json("owners")?;
    let owners = owners
        .iter()
        .map(|o| Upn::parse(o).map_err(|e| corrupt(T, e)))
        .collect::<StoreResult<Vec<Upn>>>()?;
    Ok(Group {
        id: c.get("id")?,
        display_name: c.get("display_name")?,
        flags: GroupFlags {
            dynamic: c.flag("dynamic")?,
            unified: c.flag("unified")?,
            mail_enabled: c.flag("mail_enabled")?,
            security_enabled: c.flag("security_enabled")?,
            role_assignable: c.flag("role_assignable")?,
            synced: c.flag("synced")?,
        },
        skus: c.json("skus")?,
        owners,
    })
}

/// The group with this id (GUIDs compare without regard to case).
pub async fn group(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Group>> {
    GROUPS
        .first(conn, "WHERE g.id = lower(?)", &[id.trim().into()])
        .await
}

/// Whether the user is a member of the group (`group` as stored: lower case).
pub async fn is_member(conn: &mut AnyConnection, group: &str, upn: &Upn) -> StoreResult<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM group_members WHERE group_id = ? AND upn = ?")
            .bind(group)
            .bind(upn.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Makes the user a member of the group and gives them its SKUs at once (see [`evaluate`]);
/// false, and nothing changed, when they were a member already.
pub async fn add_member(
    conn: &mut AnyConnection,
    group: &str,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<bool> {
    let added = insert_member(conn, group, upn, at).await?;
    if added {
        evaluate(conn, group, upn, at).await?;
    }
    Ok(added)
}

/// Makes the user a member of the group from `at`, unless they are one; true if they were
/// not. Their licences from it are evaluated by the caller.
pub(super) async fn insert_member(
    conn: &mut AnyConnection,
    group: &str,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, upn, added_at) VALUES (?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(upn.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the user out of the group, with the group's assignment states for them: what no
/// other source gives them any more frees its seat. False when they were not a member.
pub async fn remove_member(conn: &mut AnyConnection, group: &str, upn: &Upn) -> StoreResult<bool> {
    sqlx::query("DELETE FROM group_assignments WHERE group_id = ? AND upn = ?")
        .bind(group)
        .bind(upn.as_str())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND upn = ?")
        .bind(group)
        .bind(upn.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Processes all the user's group licences again, their groups in the order they joined
/// them: a failed assignment becomes active when the seats now allow it; one in force stays.
pub async fn reprocess(conn: &mut AnyConnection, upn: &Upn, at: Timestamp) -> StoreResult<()> {
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE upn = ? ORDER BY added_at, group_id",
    )
    .bind(upn.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for group in groups {
        evaluate(conn, &group, upn, at).await?;
    }
    Ok(())
}

/// Members of the group, in the order they joined.
pub(super) async fn members(conn: &mut AnyConnection, group: &str) -> StoreResult<Vec<Upn>> {
    let upns: Vec<String> = sqlx::query_scalar(
        "SELECT upn FROM group_members WHERE group_id = ? ORDER BY added_at, upn",
    )
    .bind(group)
    .fetch_all(conn)
    .await?;
    upns.iter()
        .map(|u| Upn::parse(u).map_err(|e| corrupt("group_members", e)))
        .collect()
}

/// Entra ID's group-based licensing of one member: each of the group's SKUs can be given
/// when the member holds it already (from any source: one seat per product) or a seat of it
/// is free; all or nothing per group, so when one cannot, none is given and each is in error
/// with `CountViolation`. The member's usage location does not matter (the directory's is
/// used). Writes each SKU's state, its time only when it changed.
pub(super) async fn evaluate(
    conn: &mut AnyConnection,
    group: &str,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<()> {
    let skus: Vec<String> = sqlx::query_scalar(
        "SELECT sku_part_number FROM group_skus WHERE group_id = ? ORDER BY sku_part_number",
    )
    .bind(group)
    .fetch_all(&mut *conn)
    .await?;
    let Some(member) = user(&mut *conn, upn).await? else {
        return Ok(());
    };
    let mut all_given = true;
    for part in &skus {
        let free = sku(&mut *conn, part)
            .await?
            .map_or(0, |s| s.enabled - s.consumed);
        if !member.holds(part) && free <= 0 {
            all_given = false;
            break;
        }
    }
    let (state, error) = if all_given {
        ("Active", None)
    } else {
        ("Error", Some(COUNT_VIOLATION))
    };
    for part in &skus {
        sqlx::query(
            "INSERT INTO group_assignments (group_id, upn, sku_part_number, state, error,
                 updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (group_id, upn, sku_part_number) DO UPDATE
                 SET state = excluded.state, error = excluded.error,
                     updated_at = excluded.updated_at
               WHERE group_assignments.state IS NOT excluded.state
                  OR group_assignments.error IS NOT excluded.error",
        )
        .bind(group)
        .bind(upn.as_str())
        .bind(part)
        .bind(state)
        .bind(error)
        .bind(ts(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
