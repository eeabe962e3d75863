//! The `$filter` clauses the users list answers without advanced query parameters, read
//! from Microsoft's documents, and Graph's 400 for any other:
//! - `userPrincipalName eq '…'` and `userPrincipalName in ('…', …)`, at most 15 values
//!   (Microsoft's known issues: "limited to 15 expressions in the filter clause by
//!   default");
//! - `assignedLicenses/any(x:x/skuId eq {GUID})`: `assignedLicenses` "supports `$filter`
//!   (`eq`, …)" through the lambda `any` (graph_licensing.md §4.1, Microsoft's user
//!   resource); the range variable may have any name, the GUID is written bare as in
//!   Microsoft's examples and also read quoted, as some clients write it, and compared
//!   without case. It matches what `assignedLicenses` shows: seat-holding assignments,
//!   inherited ones included (`users::assigned_licences_json`).
//!
//! `not`, `/$count` and the other forms need `ConsistencyLevel: eventual` and `$count`
//! (advanced queries); they are not modelled and refused like any unknown clause.

use super::super::answer::{graph_error, Answer};
use super::super::{Assigned, FakeUser};
use super::users::assigned_licences_json;

/// Values Graph accepts in one `in` filter by default.
const IN_LIMIT: usize = 15;

/// A `$filter` of the users list the fake can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UsersFilter {
    /// Users with one of these UPNs (compared without case).
    Upns(Vec<String>),
    /// Users whose `assignedLicenses` include this SKU (lower-case, hyphenated).
    HoldsSku(String),
}

impl UsersFilter {
    /// Reads a `$filter`; Graph's 400 when it is not one the fake answers.
    pub(super) fn parse(filter: &str, crid: &str) -> Result<UsersFilter, Answer> {
        if let Some(values) = upn_filter(filter) {
            if values.len() > IN_LIMIT {
                return Err(graph_error(400, "Request_UnsupportedQuery", &format!("Too many child clauses specified in search filter expression containing 'OR' operators: {}. Max allowed: {IN_LIMIT}.", values.len()), crid));
            }
            return Ok(UsersFilter::Upns(values));
        }
        if let Some(sku) = sku_filter(filter) {
            return Ok(UsersFilter::HoldsSku(sku));
        }
        let property = if filter.trim_start().starts_with("assignedLicenses") {
            "assignedLicenses"
        } else {
            "userPrincipalName"
        };
        Err(graph_error(400, "Request_UnsupportedQuery", &format!("Unsupported or invalid query filter clause specified for property '{property}' of resource 'User': {filter}"), crid))
    }

    /// Whether the filter looks at a user's licences (then each user is read for it).
    pub(super) fn reads_licences(&self) -> bool {
        matches!(self, UsersFilter::HoldsSku(_))
    }

    /// Whether the filter admits this user, whose read shows `licences` (lag included;
    /// empty when the filter does not read them).
    pub(super) fn admits(&self, user: &FakeUser, licences: &[Assigned]) -> bool {
        match self {
            UsersFilter::Upns(upns) => upns.iter().any(|u| u.eq_ignore_ascii_case(&user.upn)),
            UsersFilter::HoldsSku(sku) => assigned_licences_json(licences)
                .iter()
                .filter_map(|l| l["skuId"].as_str())
                .any(|s| s.eq_ignore_ascii_case(sku)),
        }
    }
}

/// One OData string literal at the start of `s` (`''` is a quote inside); the value and the
/// rest.
pub(super) fn odata_literal(s: &str) -> Option<(String, &str)> {
    let mut rest = s.trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    loop {
        let at = rest.find('\'')?;
        value.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        match rest.strip_prefix('\'') {
            Some(after) => {
                value.push('\'');
                rest = after;
            }
            None => return Some((value, rest)),
        }
    }
}

/// The UPNs of `userPrincipalName eq '…'` or `userPrincipalName in ('…', …)`; `None` for
/// anything else.
fn upn_filter(filter: &str) -> Option<Vec<String>> {
    let rest = filter.trim().strip_prefix("userPrincipalName")?;
    let rest = rest.trim_start();
    if let Some(rest) = rest.strip_prefix("eq ") {
        let (value, tail) = odata_literal(rest)?;
        return tail.trim().is_empty().then_some(vec![value]);
    }
    let mut rest = rest.strip_prefix("in")?.trim_start().strip_prefix('(')?;
    let mut values = Vec::new();
    loop {
        let (value, tail) = odata_literal(rest)?;
        values.push(value);
        let tail = tail.trim_start();
        if let Some(after) = tail.strip_prefix(',') {
            rest = after;
        } else {
            let end = tail.strip_prefix(')')?;
            return end.trim().is_empty().then_some(values);
        }
    }
}

/// Whether `s` is an OData identifier (a range variable's name).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The SKU of `assignedLicenses/any(v:v/skuId eq GUID)` (GUID bare or quoted), lower-case
/// and hyphenated; `None` for anything else, a value that is not a GUID included.
fn sku_filter(filter: &str) -> Option<String> {
    let rest = filter.trim().strip_prefix("assignedLicenses/any(")?;
    let (variable, rest) = rest.split_once(':')?;
    let variable = variable.trim();
    if !is_identifier(variable) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix(variable)?;
    let rest = rest.strip_prefix("/skuId")?;
    // `eq` stands between required whitespace.
    let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
    let rest = rest.strip_prefix("eq")?;
    let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
    let (value, tail) = match odata_literal(rest) {
        Some((value, tail)) => (value, tail),
        None => {
            let end = rest.find(|c: char| c == ')' || c.is_whitespace())?;
            (rest[..end].to_string(), &rest[end..])
        }
    };
    let closed = tail.trim_start().strip_prefix(')')?;
    if !closed.trim().is_empty() {
        return None;
    }
    // An Edm.Guid literal: 8-4-4-4-12 hexadecimal digits.
    let guid = uuid::Uuid::try_parse(&value).ok()?;
    (value.len() == 36).then(|| guid.hyphenated().to_string())
}
