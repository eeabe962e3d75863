//! The tenant's sign-in logs on the fake: one record per sign-in, as Microsoft's signIn
//! resource describes it (graph_groups_identity.md §2; Microsoft's "signIn resource type"),
//! and what tests use to add them. A sign-in is a sign-in: recording one also moves the
//! user's `signInActivity` forward (the logs and the property are two views of the same
//! events; Microsoft's property may lag by hours, the fake's does not).
//!
//! Every record is an interactive sign-in that succeeded (`status.errorCode` 0), the kind the
//! v1.0 list returns without a filter on the event type.

use chrono::{DateTime, Timelike, Utc};

use super::state::SignInActivity;
use super::{FakeMicrosoft, State};

/// An application people sign in to, with the resource it signs them in to: the client's
/// `appId` and `appDisplayName`, the resource's `resourceId` and `resourceDisplayName`, as
/// Microsoft's first-party applications are named in the sign-in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInApp {
    /// Power BI in the browser ("Microsoft Power BI", the Power BI web front end) signing
    /// in to the Power BI Service.
    PowerBi,
    /// The Teams desktop client signing in to Microsoft Teams Services.
    Teams,
    /// Graph Explorer signing in to Microsoft Graph (the example of Microsoft's page).
    GraphExplorer,
}

/// The Power BI Service application: the resource of every Power BI sign-in.
pub const POWER_BI_SERVICE: &str = "00000009-0000-0000-c000-000000000000";

impl SignInApp {
    /// `(appId, appDisplayName)` of the client application.
    pub fn client(self) -> (&'static str, &'static str) {
        match self {
            SignInApp::PowerBi => ("871c010f-5e61-4fb1-83ac-98610a7e9110", "Microsoft Power BI"),
            SignInApp::Teams => ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
            SignInApp::GraphExplorer => ("de8bc8b5-d9f9-48b1-a8ad-b748da725064", "Graph explorer"),
        }
    }

    /// `(resourceId, resourceDisplayName)` of the resource signed in to.
    pub fn resource(self) -> (&'static str, &'static str) {
        match self {
            SignInApp::PowerBi => (POWER_BI_SERVICE, "Power BI Service"),
            SignInApp::Teams => (
                "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
                "Microsoft Teams Services",
            ),
            SignInApp::GraphExplorer => ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
        }
    }
}

/// One entry of the sign-in logs.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    /// `id`.
    pub id: String,
    /// `createdDateTime`: when the sign-in was initiated.
    pub created: DateTime<Utc>,
    /// The user's object id (`userId`).
    pub user_id: String,
    /// `userPrincipalName`.
    pub upn: String,
    /// `userDisplayName`.
    pub display_name: String,
    /// The application and the resource.
    pub app: SignInApp,
}

impl State {
    /// Records a successful interactive sign-in of the user `user` (an index into
    /// [`State::users`]) to `app` at `at` (to the 100 ns the logs show), and moves their
    /// `signInActivity` forward to it.
    pub fn record_sign_in(&mut self, user: usize, app: SignInApp, at: DateTime<Utc>) {
        let at = at
            .with_nanosecond(at.nanosecond() / 100 * 100)
            .unwrap_or(at);
        let u = &mut self.users[user];
        let activity = u.sign_in.get_or_insert_with(SignInActivity::default);
        let later = |seen: Option<DateTime<Utc>>| Some(seen.map_or(at, |t| t.max(at)));
        activity.last_sign_in = later(activity.last_sign_in);
        activity.last_successful = later(activity.last_successful);
        self.sign_ins.push(SignInRecord {
            id: uuid::Uuid::new_v4().to_string(),
            created: at,
            user_id: u.id.clone(),
            upn: u.upn.clone(),
            display_name: u.display_name.clone(),
            app,
        });
    }
}

/// Tests' handle on the sign-in logs.
impl FakeMicrosoft {
    /// Records that `upn` signed in to `app` at `at` (on the fake's clock; older than the
    /// logs keep is recorded too, and only `signInActivity` shows it).
    pub fn sign_in(&self, upn: &str, app: SignInApp, at: DateTime<Utc>) {
        let mut state = self.state();
        let i = state.user_index(upn).expect("a known user");
        state.record_sign_in(i, app, at);
    }
}
