//! `stages`: the approval steps of a request, each needing one kind of role.

use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::languages::Told;
use super::reactions::{Key, Seen};
use super::row::Columns;
use super::sql::{
    bound, json_array_has, numbered, real, update, update_later, Param, Table, Write,
};
use super::{ts, Dialect, StoreResult, Timestamp, WriteTx};
use crate::domain::{
    BillingCycle, ChatUserId, DecisionSource, Language, MessageRef, RequestId, StageId, StageKind,
    StageState, Upn,
};

/// One approval stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Its id.
    pub id: StageId,
    /// The request it belongs to.
    pub request_id: RequestId,
    /// Position in the request's execution order (1, 2, ...).
    pub seq: i64,
    /// What it authorises.
    pub kind: StageKind,
    /// Where it is.
    pub state: StageState,
    /// A stage (possibly of another request) that must complete before this one executes.
    pub depends_on: Option<StageId>,
    /// Seats to buy (purchase stages).
    pub quantity: Option<i64>,
    /// Price per seat per month shown on the approval.
    pub unit_price: Option<f64>,
    /// Billing cycle of a purchase.
    pub billing_cycle: Option<BillingCycle>,
    /// The approval message in the approvals channel, once posted.
    pub approval_message: Option<MessageRef>,
    /// Who decided.
    pub decided_by: Option<ChatUserId>,
    /// Their directory user.
    pub decided_by_upn: Option<Upn>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// How it was decided.
    pub decided_via: Option<DecisionSource>,
    /// What the decider wrote: a denial reason.
    pub decision_note: Option<String>,
    /// The approval message as first posted (edits append the outcome to it).
    pub body: String,
    /// The approvers the stage was routed to.
    pub routed_to: Vec<ChatUserId>,
    /// When it was routed.
    pub routed_at: Timestamp,
    /// When the reminder went out.
    pub reminded_at: Option<Timestamp>,
    /// When it was escalated.
    pub escalated_at: Option<Timestamp>,
    /// Approvals by different people it needs (2 under the two-person rule).
    pub approvals_needed: i64,
    /// By how much the purchase went over the monthly budget when it was posted: it is
    /// decided by the over-budget roles.
    pub over_budget: Option<f64>,
}

/// A stage about to be stored.
#[derive(Debug, Clone)]
pub struct NewStage {
    /// Position in the request.
    pub seq: i64,
    /// What it authorises.
    pub kind: StageKind,
    /// What must complete first.
    pub depends_on: Option<StageId>,
    /// Seats to buy.
    pub quantity: Option<i64>,
    /// Price per seat per month.
    pub unit_price: Option<f64>,
    /// Billing cycle.
    pub billing_cycle: Option<BillingCycle>,
    /// Approvers it goes to.
    pub routed_to: Vec<ChatUserId>,
    /// The approval message text.
    pub body: String,
    /// Approvals by different people it needs (1, or 2 under the two-person rule).
    pub approvals_needed: i64,
    /// By how much a purchase goes over the monthly budget (decided by the over-budget
    /// roles).
    pub over_budget: Option<f64>,
}

const COLUMNS: &str = "id, request_id, seq, kind, state, depends_on, quantity, unit_price, billing_cycle, \
                       approval_message, decided_by, decided_by_upn, decided_at, decided_via, decision_note, body, routed_to, \
                       routed_at, reminded_at, escalated_at, approvals_needed, over_budget";

const STAGES: Table<Stage> = Table::new("stages", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<Stage> {
    let routed: Vec<String> = c.json("routed_to")?;
    Ok(Stage {
        id: StageId(c.get("id")?),
        request_id: RequestId(c.get("request_id")?),
        seq: c.get("seq")?,
        kind: c.word("kind")?,
        state: c.word("state")?,
        depends_on: c.get::<Option<i64>>("depends_on")?.map(StageId),
        quantity: c.get("quantity")?,
        unit_price: c.get("unit_price")?,
        billing_cycle: c.opt_word("billing_cycle")?,
        approval_message: c.opt_id("approval_message", MessageRef)?,
        decided_by: c.opt_id("decided_by", ChatUserId)?,
        decided_by_upn: c.opt_word("decided_by_upn")?,
        decided_at: c.opt_at("decided_at")?,
        decided_via: c.opt_word("decided_via")?,
        decision_note: c.get("decision_note")?,
        body: c.get("body")?,
        routed_to: routed.into_iter().map(ChatUserId).collect(),
        routed_at: c.at("routed_at")?,
        reminded_at: c.opt_at("reminded_at")?,
        escalated_at: c.opt_at("escalated_at")?,
        approvals_needed: c.get("approvals_needed")?,
        over_budget: c.get("over_budget")?,
    })
}

fn json_users(users: &[ChatUserId]) -> String {
    serde_json::Value::from(users.iter().map(|u| u.0.clone()).collect::<Vec<_>>()).to_string()
}

/// Stores a new pending stage.
pub async fn insert(
    conn: &mut AnyConnection,
    request: RequestId,
    new: &NewStage,
    at: Timestamp,
) -> StoreResult<StageId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stages (request_id, seq, kind, state, depends_on, quantity, unit_price, billing_cycle,
                             body, routed_to, routed_at, approvals_needed, over_budget)
         VALUES ($1, $2, $3, 'pending', $4, $5, CAST($6 AS DOUBLE PRECISION), $7, $8, $9, $10, $11,
                 CAST($12 AS DOUBLE PRECISION))
         RETURNING id",
    )
    .bind(request.0)
    .bind(new.seq)
    .bind(new.kind.as_str())
    .bind(new.depends_on.map(|s| s.0))
    .bind(new.quantity)
    .bind(real(new.unit_price))
    .bind(new.billing_cycle.map(BillingCycle::as_str))
    .bind(&new.body)
    .bind(json_users(&new.routed_to))
    .bind(ts(at))
    .bind(new.approvals_needed)
    .bind(real(new.over_budget))
    .fetch_one(conn)
    .await?;
    Ok(StageId(id))
}

/// Puts a new pending stage before `before` in its request's order (the stages from
/// `before` on move one place later) and has `before` wait on it; returns the new stage.
pub async fn insert_before(
    conn: &mut AnyConnection,
    before: &Stage,
    new: NewStage,
    at: Timestamp,
) -> StoreResult<StageId> {
    // Later stages first, so no two share a place while they move.
    let later: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, seq FROM stages WHERE request_id = $1 AND seq >= $2 ORDER BY seq DESC",
    )
    .bind(before.request_id.0)
    .bind(before.seq)
    .fetch_all(&mut *conn)
    .await?;
    for (id, seq) in later {
        update(
            &mut *conn,
            "stages",
            "seq = ?",
            "id = ?",
            &[(seq + 1).into(), id.into()],
        )
        .await?;
    }
    let id = insert(
        &mut *conn,
        before.request_id,
        &NewStage {
            seq: before.seq,
            ..new
        },
        at,
    )
    .await?;
    set_on(conn, before.id, "depends_on = ?", Param::Int(Some(id.0))).await?;
    Ok(id)
}

/// One stage.
pub async fn get(conn: &mut AnyConnection, id: StageId) -> StoreResult<Option<Stage>> {
    STAGES.first(conn, "WHERE id = ?", &[id.0.into()]).await
}

/// The stages of a request, in execution order.
pub async fn for_request(conn: &mut AnyConnection, id: RequestId) -> StoreResult<Vec<Stage>> {
    STAGES
        .all(conn, "WHERE request_id = ? ORDER BY seq", &[id.0.into()])
        .await
}

/// What a reaction on an approval message decides: the stage, its request and all the
/// request's stages, as read before the decision (which checks them again as it writes).
#[derive(Debug)]
pub struct ApprovalContext {
    /// The stage whose approval message it is.
    pub stage: Stage,
    /// Its request.
    pub request: super::requests::Request,
    /// Every stage of the request, in execution order.
    pub all: Vec<Stage>,
}

/// The [`ApprovalContext`] of a reaction on `message`, in one read; None when `message` is
/// no approval message.
pub async fn approval_context(
    conn: &mut AnyConnection,
    message: &MessageRef,
) -> StoreResult<Option<ApprovalContext>> {
    static BY_MESSAGE: LazyLock<String> =
        LazyLock::new(|| with_request_sql(APPROVAL_MESSAGE_REQUEST, ""));
    let read = with_request(conn, &BY_MESSAGE, &[message.as_str().into()]).await?;
    Ok(read.and_then(|(request, all, _)| context_of(message, request, all)))
}

/// What a reaction on an approval message needs to know before any work is done for it,
/// read in one statement: the message's [`ApprovalContext`], what is known of that reaction
/// (so a replay is told apart without a read of its own), and the language the person who
/// reacted chose (so they are answered in it without a read of its own).
#[derive(Debug)]
pub struct ReactionContext {
    /// The approval message's stage, request and the request's stages.
    pub context: ApprovalContext,
    /// What is known of the reaction.
    pub seen: Seen,
    /// The language the reacting person chose; None when they chose none.
    pub language: Option<Language>,
}

/// The [`ReactionContext`] of `key`'s reaction (its [`ApprovalContext`] as
/// [`approval_context`] reads it); None when the message is no approval message.
pub async fn reaction_context(
    conn: &mut AnyConnection,
    key: Key<'_>,
) -> StoreResult<Option<ReactionContext>> {
    static BY_MESSAGE_SEEN: LazyLock<String> = LazyLock::new(|| {
        with_request_sql(
            APPROVAL_MESSAGE_REQUEST,
            &format!(
                ", {} AS seen_present, {} AS reactor_language",
                super::reactions::present_sql(),
                super::languages::chosen_sql("?")
            ),
        )
    });
    // The subqueries' placeholders come first in the statement, then the message's.
    let [message, user, emoji] = key.params();
    let params = [message.clone(), user.clone(), emoji, user, message];
    let Some((request, all, first)) = with_request(conn, &BY_MESSAGE_SEEN, &params).await? else {
        return Ok(None);
    };
    let seen = Seen::from_present(first.try_get("seen_present")?);
    let language = super::languages::chosen_in(first.try_get("reactor_language")?);
    Ok(
        context_of(key.message, request, all).map(|context| ReactionContext {
            context,
            seen,
            language,
        }),
    )
}

/// The request whose stage has the approval message bound to the placeholder.
const APPROVAL_MESSAGE_REQUEST: &str =
    "(SELECT request_id FROM stages WHERE approval_message = ? LIMIT 1)";

/// The [`ApprovalContext`] of `message` among a request's stages; None when none of them
/// has it.
fn context_of(
    message: &MessageRef,
    request: super::requests::Request,
    all: Vec<Stage>,
) -> Option<ApprovalContext> {
    let stage = all
        .iter()
        .find(|s| s.approval_message.as_ref() == Some(message))
        .cloned()?;
    Some(ApprovalContext {
        stage,
        request,
        all,
    })
}

/// A request and its stages, as [`of_request`] reads them, and in the same statement what
/// telling its requester needs (read in the transaction that may tell them, it holds for
/// the rest of it); None when there is no such request.
pub async fn of_request_told(
    tx: &mut WriteTx<'_>,
    id: RequestId,
) -> StoreResult<Option<(super::requests::Request, Vec<Stage>, Told)>> {
    let conn = tx
        .conn_for(&["requests", "stages", "person_languages"])
        .await?;
    static BY_REQUEST_TOLD: LazyLock<String> = LazyLock::new(|| {
        let told = super::languages::told_sql("r.requester", "r.origin_message");
        with_request_sql("?", &format!(", {told}"))
    });
    let Some((request, stages, first)) =
        with_request(conn, &BY_REQUEST_TOLD, &[id.0.into()]).await?
    else {
        return Ok(None);
    };
    let told = super::languages::told_in(&first)?;
    Ok(Some((request, stages, told)))
}

/// A request and its stages, in execution order; None when there is no such request.
pub async fn of_request(
    conn: &mut AnyConnection,
    id: RequestId,
) -> StoreResult<Option<(super::requests::Request, Vec<Stage>)>> {
    static BY_REQUEST: LazyLock<String> = LazyLock::new(|| with_request_sql("?", ""));
    let read = with_request(conn, &BY_REQUEST, &[id.0.into()]).await?;
    Ok(read.map(|(request, stages, _)| (request, stages)))
}

/// The request stage `id` belongs to and all its stages, in execution order; None when
/// there is no such stage.
pub async fn of_stage(
    conn: &mut AnyConnection,
    id: StageId,
) -> StoreResult<Option<(super::requests::Request, Vec<Stage>)>> {
    static BY_STAGE: LazyLock<String> =
        LazyLock::new(|| with_request_sql("(SELECT request_id FROM stages WHERE id = ?)", ""));
    let read = with_request(conn, &BY_STAGE, &[id.0.into()]).await?;
    Ok(read.map(|(request, stages, _)| (request, stages)))
}

/// The statement that reads the request whose id `which` (an expression) gives, and its
/// stages in execution order: each stage's row carries its request's columns too, the
/// stage's own named `s_…`, and after them the columns `extra` adds (`, expr AS name`; its
/// placeholders come before `which`'s). Made once per caller.
fn with_request_sql(which: &str, extra: &str) -> String {
    numbered(&format!(
        "SELECT {}, {}{extra} FROM requests r LEFT JOIN stages s ON s.request_id = r.id \
         WHERE r.id = {which} ORDER BY s.seq",
        super::requests::REQUESTS.aliased("r", ""),
        STAGES.aliased("s", "s_")
    ))
}

/// Runs a [`with_request_sql`] statement, its placeholders bound to `params`: the request,
/// its stages and the first row (for the columns the caller added), or None.
async fn with_request(
    conn: &mut AnyConnection,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Option<(super::requests::Request, Vec<Stage>, AnyRow)>> {
    let mut rows = bound(sql, params).fetch_all(conn).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let request = super::requests::REQUESTS.read(first)?;
    let mut stages = Vec::with_capacity(rows.len());
    for row in &rows {
        // A request without stages joins none: one row, its stage columns empty.
        if row.try_get::<Option<i64>, _>("s_id")?.is_some() {
            stages.push(STAGES.read_as(row, "s_")?);
        }
    }
    Ok(Some((request, stages, rows.swap_remove(0))))
}

/// The stage whose approval message this is.
pub async fn by_message(
    conn: &mut AnyConnection,
    message: &MessageRef,
) -> StoreResult<Option<Stage>> {
    STAGES
        .first(
            conn,
            "WHERE approval_message = ?",
            &[message.as_str().into()],
        )
        .await
}

/// At most `limit` pending stages routed to `user` after stage `after`, oldest first: one
/// page of them (a store may hold thousands pending).
pub async fn pending_for(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    after: StageId,
    limit: i64,
) -> StoreResult<Vec<Stage>> {
    let routed = json_array_has(Dialect::of(conn), "routed_to");
    let rest = format!("WHERE state = 'pending' AND id > ? AND {routed} ORDER BY id LIMIT ?");
    let params = [after.0.into(), user.as_str().into(), limit.into()];
    STAGES.all(conn, &rest, &params).await
}

/// When the scheduler's actions fall due: a stage routed at or before `routed_by` is due for
/// its reminder or escalation (unless it was escalated), and a pending request made at or
/// before `created_by` for its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueBy {
    /// The latest routing time whose reminder or escalation is due.
    pub routed_by: Timestamp,
    /// The latest creation time whose expiry is due.
    pub created_by: Timestamp,
}

/// The pending stages with something due by `due`, oldest first: not yet escalated and
/// routed by `due.routed_by`, or of a pending request made by `due.created_by`. Read through
/// two indexes, so a tick reads what is due and not every pending stage.
pub async fn pending_due(conn: &mut AnyConnection, due: DueBy) -> StoreResult<Vec<Stage>> {
    let rest = "WHERE id IN (
                    SELECT id FROM stages
                    WHERE state = 'pending' AND escalated_at IS NULL AND routed_at <= ?
                    UNION
                    SELECT s.id FROM requests r JOIN stages s ON s.request_id = r.id
                    WHERE r.state = 'pending' AND r.created_at <= ? AND s.state = 'pending')
                ORDER BY id";
    let params = [ts(due.routed_by).into(), ts(due.created_by).into()];
    STAGES.all(conn, rest, &params).await
}

/// Stages that wait on `id`.
pub async fn dependents(conn: &mut AnyConnection, id: StageId) -> StoreResult<Vec<Stage>> {
    STAGES
        .all(conn, "WHERE depends_on = ? ORDER BY id", &[id.0.into()])
        .await
}

/// Where the seats of unfinished stages stand, for planning and for the figures people see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatPipeline {
    /// Assignment stages not done yet (pending, approved or executing): seats promised to
    /// open requests.
    pub promised: i64,
    /// Seats of purchase stages approved and not done yet: on order, being bought.
    pub on_order: i64,
    /// Seats of purchase stages still waiting for approval.
    pub awaiting_approval: i64,
    /// Seats of reduction stages not done yet (a positive number: seats to be removed).
    pub removing: i64,
}

impl SeatPipeline {
    /// Seats that will arrive or leave, as one signed number: bought (on order or awaiting
    /// approval) less removed.
    pub fn incoming(&self) -> i64 {
        self.on_order + self.awaiting_approval - self.removing
    }
}

/// The seat pipeline of every unfinished stage.
pub async fn seat_pipeline(conn: &mut AnyConnection) -> StoreResult<SeatPipeline> {
    let row = sqlx::query(&format!("SELECT {PIPELINE_SQL}"))
        .fetch_one(conn)
        .await?;
    pipeline_in(&row)
}

/// The seat pipeline as one row's columns (`promised`, `on_order`, `awaiting_approval`,
/// `removing`), summed over every unfinished stage: the select list and `FROM` of a query,
/// one row whatever the stages.
const PIPELINE_SQL: &str = "CAST(COALESCE(SUM(CASE WHEN kind = 'assign' AND request_id NOT IN
                    (SELECT request_id FROM licence_terms WHERE extends IS NOT NULL)
                                  THEN 1 ELSE 0 END), 0) AS BIGINT) AS promised,
     CAST(COALESCE(SUM(CASE WHEN kind = 'purchase' AND quantity > 0 AND state <> 'pending'
                       THEN quantity ELSE 0 END), 0) AS BIGINT) AS on_order,
     CAST(COALESCE(SUM(CASE WHEN kind = 'purchase' AND quantity > 0 AND state = 'pending'
                       THEN quantity ELSE 0 END), 0) AS BIGINT) AS awaiting_approval,
     CAST(COALESCE(SUM(CASE WHEN kind = 'purchase' AND quantity < 0
                       THEN -quantity ELSE 0 END), 0) AS BIGINT) AS removing
     FROM stages WHERE state IN ('pending', 'approved', 'executing')";

/// The [`SeatPipeline`] a row of a [`PIPELINE_SQL`] statement carries.
fn pipeline_in(row: &AnyRow) -> StoreResult<SeatPipeline> {
    Ok(SeatPipeline {
        promised: row.try_get("promised")?,
        on_order: row.try_get("on_order")?,
        awaiting_approval: row.try_get("awaiting_approval")?,
        removing: row.try_get("removing")?,
    })
}

/// What opening requests checks before it writes, read together in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningChecks {
    /// The open licence requests (not purchases) for the targets asked about, by id: each
    /// target and its request.
    pub open_for: Vec<(Upn, RequestId)>,
    /// How many open requests the requester has made.
    pub open_by_requester: i64,
    /// The seat pipeline of every unfinished stage.
    pub pipeline: SeatPipeline,
}

impl OpeningChecks {
    /// The first of `targets` (in their order) with an open licence request, and its id.
    pub fn first_open<'a>(
        &self,
        targets: impl IntoIterator<Item = &'a Upn>,
    ) -> Option<(&'a Upn, RequestId)> {
        targets.into_iter().find_map(|t| {
            self.open_for
                .iter()
                .find(|(upn, _)| upn == t)
                .map(|(_, id)| (t, *id))
        })
    }
}

/// The open licence requests for `targets`, how many open requests `requester` has made,
/// and the seat pipeline: one statement (the pipeline's one row, joined to each open
/// request found), read in the transaction that opens new ones.
pub async fn opening_checks(
    conn: &mut AnyConnection,
    targets: &[&Upn],
    requester: &ChatUserId,
) -> StoreResult<OpeningChecks> {
    const OPEN: &str = "state IN ('pending', 'approved', 'executing')";
    let which = match targets.len() {
        0 => "1 = 0".to_string(),
        n => format!("target_upn IN ({})", vec!["?"; n].join(", ")),
    };
    let sql = numbered(&format!(
        "SELECT o.target_upn AS target_upn, o.id AS id, c.* FROM
           (SELECT (SELECT COUNT(*) FROM requests WHERE requester = ? AND {OPEN}) AS open_by,
                   {PIPELINE_SQL}) c
         LEFT JOIN (SELECT target_upn, id FROM requests
                    WHERE {which} AND kind <> 'purchase' AND {OPEN}) o ON 1 = 1
         ORDER BY o.id"
    ));
    let mut params: Vec<Param> = vec![requester.as_str().into()];
    params.extend(targets.iter().map(|t| Param::from(t.as_str())));
    let rows = bound(&sql, &params).fetch_all(conn).await?;
    let first = rows
        .first()
        .ok_or_else(|| super::corrupt("requests", "the opening checks read no row"))?;
    let mut open_for = Vec::new();
    for row in &rows {
        let (Some(upn), Some(id)) = (
            row.try_get::<Option<String>, _>("target_upn")?,
            row.try_get::<Option<i64>, _>("id")?,
        ) else {
            continue;
        };
        let upn = Upn::parse(&upn).map_err(|e| super::corrupt("requests", e))?;
        open_for.push((upn, RequestId(id)));
    }
    Ok(OpeningChecks {
        open_for,
        open_by_requester: first.try_get("open_by")?,
        pipeline: pipeline_in(first)?,
    })
}

/// Moves a stage from one state to another; false when it was no longer in `from`
/// (someone else got there first).
pub async fn transition(
    conn: &mut AnyConnection,
    id: StageId,
    from: StageState,
    to: StageState,
) -> StoreResult<bool> {
    let params = [to.as_str().into(), id.0.into(), from.as_str().into()];
    let changed = update(conn, "stages", "state = ?", "id = ? AND state = ?", &params).await?;
    Ok(changed == 1)
}

/// Moves a stage from one state to another when this transaction read it in `from`: held
/// back to go with the transaction's next statement or its commit ([`WriteTx::defer`]), and
/// failing the transaction if the stage was not in `from` after all.
pub fn transition_later(tx: &mut WriteTx<'_>, id: StageId, from: StageState, to: StageState) {
    tx.defer(transition_write(id, from, to).expecting(1));
}

/// Moves a stage from one state to another if it is still in `from` (held back as
/// [`transition_later`]; whether it moved is not read).
pub fn transition_if_later(tx: &mut WriteTx<'_>, id: StageId, from: StageState, to: StageState) {
    tx.defer(transition_write(id, from, to));
}

fn transition_write(id: StageId, from: StageState, to: StageState) -> Write {
    let params = [to.as_str().into(), id.0.into(), from.as_str().into()];
    update_later(
        "a stage's state",
        ("stages", "state = ?", "id = ? AND state = ?"),
        &params,
    )
}

/// A decision on a stage: who made it, how, and what they wrote.
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    /// The approver's (or holder's) chat account.
    pub by: &'a ChatUserId,
    /// Their directory user.
    pub by_upn: Option<&'a Upn>,
    /// How the decision was made.
    pub via: DecisionSource,
    /// What they wrote (a denial reason).
    pub note: Option<&'a str>,
}

/// Records a decision on a pending stage; false when it was already decided. It goes with
/// the writes the transaction held back, in one round trip ([`WriteTx::run`]).
pub async fn decide(
    tx: &mut WriteTx<'_>,
    id: StageId,
    to: StageState,
    decided: Decided<'_>,
    at: Timestamp,
) -> StoreResult<bool> {
    let params = [
        to.as_str().into(),
        decided.by.as_str().into(),
        decided.by_upn.map(Upn::as_str).into(),
        ts(at).into(),
        decided.via.as_str().into(),
        decided.note.into(),
        id.0.into(),
    ];
    let set = "state = ?, decided_by = ?, decided_by_upn = ?, decided_at = ?, decided_via = ?, \
               decision_note = ?";
    let write = update_later(
        "a decision",
        ("stages", set, "id = ? AND state = 'pending'"),
        &params,
    );
    Ok(tx.run(write).await? == 1)
}

/// Sets who a pending stage's reminders and escalation go to.
pub async fn set_routed_to(
    conn: &mut AnyConnection,
    id: StageId,
    users: &[ChatUserId],
) -> StoreResult<()> {
    set_on(conn, id, "routed_to = ?", json_users(users).into()).await
}

/// Sets the note of a decided stage (a denial reason given after the reaction).
pub async fn set_note(conn: &mut AnyConnection, id: StageId, note: &str) -> StoreResult<()> {
    set_on(conn, id, "decision_note = ?", note.into()).await
}

/// Records the chat message that carries the stage's approval.
pub fn set_approval_message(tx: &mut WriteTx<'_>, id: StageId, message: &MessageRef) {
    let params = [message.as_str().into(), id.0.into()];
    let set = ("stages", "approval_message = ?", "id = ?");
    tx.defer(update_later("an approval message", set, &params));
}

/// Sets `set`, with its one placeholder bound to `value`, on stage `id`.
async fn set_on(
    conn: &mut AnyConnection,
    id: StageId,
    set: &str,
    value: Param<'_>,
) -> StoreResult<()> {
    update(conn, "stages", set, "id = ?", &[value, id.0.into()]).await?;
    Ok(())
}

/// Claims a stage's one reminder: true when this call marked it reminded, false when it
/// was reminded or escalated already, or is no longer pending (another tick, or a process
/// before a restart, got there first). The caller says the reminder only when it claimed it,
/// in the same transaction, so a reminder is said exactly once.
pub async fn claim_reminder(
    conn: &mut AnyConnection,
    id: StageId,
    at: Timestamp,
) -> StoreResult<bool> {
    let filter = "id = ? AND state = 'pending' AND reminded_at IS NULL AND escalated_at IS NULL";
    let params = [ts(at).into(), id.0.into()];
    Ok(update(conn, "stages", "reminded_at = ?", filter, &params).await? == 1)
}

/// Claims a stage's one escalation to `to`, like [`claim_reminder`]: true only for the call
/// that marked it escalated.
pub async fn claim_escalation(
    conn: &mut AnyConnection,
    id: StageId,
    to: &[ChatUserId],
    at: Timestamp,
) -> StoreResult<bool> {
    let set = "escalated_at = ?, routed_to = ?";
    let filter = "id = ? AND state = 'pending' AND escalated_at IS NULL";
    let params = [ts(at).into(), json_users(to).into(), id.0.into()];
    Ok(update(conn, "stages", set, filter, &params).await? == 1)
}

/// The approval messages a transport checks after reconnecting, oldest first: every stage
/// of the requests still open (pending, approved or executing), and any stage whose latest
/// post or edit was given up (its message may say something stale forever otherwise).
pub async fn to_check(conn: &mut AnyConnection) -> StoreResult<Vec<Stage>> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("s.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {columns} FROM stages s JOIN requests r ON r.id = s.request_id
         WHERE r.state IN ('pending', 'approved', 'executing')
            OR (SELECT o.gave_up_at IS NOT NULL FROM outbox o
                WHERE o.stage_id = s.id AND o.action IN ('send', 'edit')
                ORDER BY o.id DESC LIMIT 1)
         ORDER BY s.id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| STAGES.read(r)).collect()
}

/// Forgets a stage's approval message (it was deleted), so its next post becomes the new one.
pub async fn clear_approval_message(conn: &mut AnyConnection, id: StageId) -> StoreResult<()> {
    set_on(conn, id, "approval_message = ?", Param::Text(None)).await
}

/// The seat change (purchase or reduction) that stands in the way of another one, if any:
/// one approved or being carried out first, else one still waiting for approval. Returns its
/// request, state and signed quantity.
pub async fn open_seat_change(
    conn: &mut AnyConnection,
) -> StoreResult<Option<(RequestId, StageState, i64)>> {
    let row: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT request_id, state, quantity FROM stages WHERE kind = 'purchase'
           AND state IN ('pending', 'approved', 'executing')
         ORDER BY state = 'pending', id LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(id, state, quantity)| {
        let state = state
            .parse::<StageState>()
            .map_err(|e| super::corrupt("stages", e))?;
        Ok((RequestId(id), state, quantity.unwrap_or(0)))
    })
    .transpose()
}

/// Keeps the denial reason `user` replied to `stage`'s approval message before deciding.
pub async fn set_denial_draft(
    conn: &mut AnyConnection,
    stage: StageId,
    user: &ChatUserId,
    reason: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO denial_drafts (stage_id, chat_user, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (stage_id, chat_user) DO UPDATE SET reason = excluded.reason",
    )
    .bind(stage.0)
    .bind(user.as_str())
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// The denial reason `user` replied to `stage`'s approval message, if any.
pub async fn denial_draft(
    conn: &mut AnyConnection,
    stage: StageId,
    user: &ChatUserId,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT reason FROM denial_drafts WHERE stage_id = $1 AND chat_user = $2",
    )
    .bind(stage.0)
    .bind(user.as_str())
    .fetch_optional(conn)
    .await?)
}
