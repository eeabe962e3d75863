//! What kind of group a directory group is: the properties of Graph's group resource that
//! decide whether the bot can license people through it.

/// A group's kind, as Graph's group resource says it. One value for the tenant port, the
/// simulated tenant and the check at start-up, so each reads the same six facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupFlags {
    /// Membership follows a rule (`groupTypes` has `DynamicMembership`).
    pub dynamic: bool,
    /// A Microsoft 365 group (`groupTypes` has `Unified`).
    pub unified: bool,
    /// `mailEnabled`.
    pub mail_enabled: bool,
    /// `securityEnabled`.
    pub security_enabled: bool,
    /// `isAssignableToRole`.
    pub role_assignable: bool,
    /// Membership is mastered on-premises (`onPremisesSyncEnabled`).
    pub synced: bool,
}

impl GroupFlags {
    /// An assigned-membership, cloud-only security group: the kind group-based licensing
    /// through the bot needs.
    pub const SECURITY: GroupFlags = GroupFlags {
        dynamic: false,
        unified: false,
        mail_enabled: false,
        security_enabled: true,
        role_assignable: false,
        synced: false,
    };

    /// Whether nobody can add or remove members through Graph: the membership follows a
    /// rule, or it is a mail-enabled security or distribution group.
    pub fn members_fixed(self) -> bool {
        self.dynamic || (self.mail_enabled && !self.unified)
    }
}
