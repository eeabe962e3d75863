//! The engine's settings, built from the configuration's sections.

use crate::command::ParserConfig;
use crate::config::{LicensingMode, Settings};
use crate::domain::ChannelRef;
use crate::engine::ports::RetryPolicy;
use crate::engine::{
    Approver, AutoRule, EngineConfig, Governance, JobPolicy, Licensing, ReclaimPolicy,
    SeatThresholds,
};

/// The engine's settings, from the configuration.
pub fn engine_config(settings: &Settings) -> EngineConfig {
    let s = settings;
    EngineConfig {
        parser: ParserConfig {
            prefix: s.bot.prefix.clone(),
            bot_mentions: vec![format!("@{}", s.bot.name)],
        },
        language: s.bot.language,
        approvals_language: s.bot.approvals_language.unwrap_or(s.bot.language),
        approvals_channel: ChannelRef(s.bot.approvals_channel.clone()),
        approve_emojis: s.bot.approve_emojis.clone(),
        deny_emojis: s.bot.deny_emojis.clone(),
        allow_guests: s.policy.allow_guests,
        default_usage_location: s.policy.default_usage_location.clone(),
        default_billing_cycle: s.policy.default_billing_cycle,
        remind_after: s.policy.remind_after.get(),
        escalate_after: s.policy.escalate_after.get(),
        expire_after: s.policy.expire_after.get(),
        max_open_requests_per_user: i64::from(s.policy.max_open_requests_per_user),
        currency: s.policy.currency.clone(),
        purchase_roles: s.roles.purchase.iter().copied().collect(),
        assign_roles: s.roles.assign.iter().copied().collect(),
        approvers: s
            .approvers
            .iter()
            .map(|a| Approver {
                chat_user: crate::domain::ChatUserId(a.chat_user.clone()),
                upn: a.upn.clone(),
            })
            .collect(),
        sku_part_number: s.backend.managed_sku().to_string(),
        licensing: match s.licensing.mode {
            LicensingMode::Direct => Licensing::Direct,
            LicensingMode::Group => Licensing::Group {
                id: s.licensing.group_id.trim().to_ascii_lowercase(),
                wait: s.licensing.group_wait.get(),
            },
        },
        reconcile_every: s.reconcile.every.map(|d| d.get()),
        seat_alerts: SeatThresholds {
            free_seats_below: s.alerts.free_seats_below(),
            usage_above_percent: s.alerts.usage_above_percent(),
        },
        max_term: s.policy.max_duration,
        reclaim: ReclaimPolicy {
            inactive_after: s.reclaim.inactive_after.get(),
            grace: s.reclaim.grace.get(),
            exempt: s.reclaim.exempt.clone(),
            emoji: s.reclaim.emoji.trim().to_string(),
        },
        requesters: s.policy.requesters.clone(),
        mail_proof: !s.links.mail_sender.trim().is_empty(),
        sign_in_url: s
            .links
            .sign_in
            .then(|| s.links.public_url.trim().to_string()),
        jobs: JobPolicy {
            retry: RetryPolicy {
                first: s.jobs.backoff_base.get(),
                max: s.jobs.backoff_max.get(),
                // jobs.max_attempts is at least 1 (checked at load).
                times: s.jobs.max_attempts.saturating_sub(1) as usize,
            },
            lease: s.jobs.lease.get(),
            verify_attempts: s.jobs.verify_attempts,
            verify_interval: s.jobs.verify_interval.get(),
        },
        governance: governance(s),
    }
}

/// The two-person rule, the budget and the auto-approval rules.
fn governance(s: &Settings) -> Governance {
    let p = &s.policy;
    Governance {
        two_person_above_seats: i64::from(p.two_person_above_seats),
        two_person_above_cost: p.two_person_above_cost,
        monthly_budget: p.monthly_budget,
        over_budget_roles: s.roles.over_budget.iter().copied().collect(),
        seat_price: (p.seat_price_monthly > 0.0).then_some(p.seat_price_monthly),
        auto_approve: s
            .auto_approve
            .iter()
            .map(|r| AutoRule {
                name: r.name.trim().to_string(),
                requesters: r.requesters.clone(),
                directory_groups: r
                    .directory_groups
                    .iter()
                    .map(|g| g.trim().to_ascii_lowercase())
                    .collect(),
            })
            .collect(),
    }
}
