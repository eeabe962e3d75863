//! Server-side paging of Graph's directory collections (the users list, a group's members):
//! `$top` from 1 to 999, 100 without it (graph_groups_identity.md §2.1 and
//! graph_licensing.md §7.3: "default page size 100, maximum 999"; the sign-in logs size
//! theirs themselves: 1,000 by default and at most), and an
//! `@odata.nextLink` that repeats the query with an opaque `$skiptoken` while more items
//! follow. `$skip` is not supported by Graph on these collections and is not read here.

use serde_json::{json, Value};

use super::super::answer::{graph_error, Answer};
use super::Query;

/// Graph's default page size of a directory collection.
const DEFAULT_TOP: usize = 100;
/// The largest `$top` Graph accepts there.
const MAX_TOP: usize = 999;

/// Which slice of a collection one request asks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    /// Items on a page.
    size: usize,
    /// Items before this page.
    skip: usize,
}

impl Page {
    /// The page that `$top` and `$skiptoken` ask for of a directory collection; Graph's 400
    /// for a `$top` out of range or a token it did not hand out.
    pub(super) fn of(q: &Query, crid: &str) -> Result<Page, Answer> {
        Page::sized(q, crid, DEFAULT_TOP, MAX_TOP)
    }

    /// The page that `$top` and `$skiptoken` ask for of a collection whose pages hold
    /// `default` items without `$top` and at most `max`.
    pub(super) fn sized(q: &Query, crid: &str, default: usize, max: usize) -> Result<Page, Answer> {
        let size = match q.get("$top") {
            None => default,
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return Err(graph_error(
                        400,
                        "Request_BadRequest",
                        &format!("Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."),
                        crid,
                    ))
                }
            },
        };
        let skip = match q.get("$skiptoken") {
            None => 0,
            Some(t) => match t.strip_prefix('o').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => n,
                None => return Err(graph_error(400, "Request_BadRequest", "The specified page token value has expired and can no longer be included in your request.", crid)),
            },
        };
        Ok(Page { size, skip })
    }

    /// The items of `all` on this page.
    pub(super) fn of_items<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = self.skip.min(all.len());
        let end = self.skip.saturating_add(self.size).min(all.len());
        &all[start..end]
    }

    /// The link to the next page of a collection of `total` items at `url` (absolute,
    /// without a query): the same query with the next `$skiptoken`; `None` on the last page.
    pub(super) fn next_link(&self, total: usize, url: &str, q: &Query) -> Option<String> {
        let next = self.skip.saturating_add(self.size);
        if total <= next {
            return None;
        }
        let mut pairs: Vec<(&str, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("$skiptoken", format!("o{next}")));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Some(format!("{url}?{query}"))
    }
}

/// One page of a collection as Graph writes it: `@odata.context`, `value`, and
/// `@odata.nextLink` when more follow.
pub(super) fn collection(context: &str, value: Vec<Value>, next: Option<String>) -> Answer {
    let mut body = json!({"@odata.context": context, "value": value});
    if let Some(next) = next {
        body["@odata.nextLink"] = Value::from(next);
    }
    Answer::json(200, body)
}
