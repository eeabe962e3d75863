//! Drift: how the bot's records and the tenant can differ.

use super::ParseError;

word_enum!(
    /// A kind of difference between the bot's records and the tenant (the words
    /// `licensebot reconcile --json` prints).
    DriftKind {
        /// A licence a request of the bot granted is gone from the tenant.
        MissingLicence => "missing_licence",
        /// A licence the bot manages (assigned directly) is held, and no request explains it.
        UnexplainedLicence => "unexplained_licence",
        /// The tenant's seats differ from what the bot's seat changes left, or more seats are
        /// assigned than bought.
        SeatCount => "seat_count",
        /// A member of the licensing group (group mode) no request of the bot added.
        Membership => "membership",
        /// A request whose state the tenant contradicts (failed, but the licence is there).
        StuckRequest => "stuck_request",
    }
);
