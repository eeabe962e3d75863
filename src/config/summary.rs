//! The human summary `licensebot check-config` prints, one fact per line, no secret.

use super::sections::Settings;
use super::values::{BackendKind, LicensingMode};
use crate::domain::{CountryCode, DirectoryRole};

impl Settings {
    /// A human summary for `licensebot check-config`, one fact per line.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        self.summarize_transport(&mut lines);
        self.summarize_backend(&mut lines);
        self.summarize_people(&mut lines);
        self.summarize_rules(&mut lines);
        lines.join("\n")
    }

    fn summarize_transport(&self, lines: &mut Vec<String>) {
        if !self.provenance.sources().is_empty() {
            lines.push(format!("sources: {}", self.provenance.sources().join(", ")));
        }
        lines.push(format!("chat transport: {}", self.chat.transport));
        if let Some(d) = &self.discord {
            lines.push(format!(
                "discord: guild {}, approvals channel {}, api {}, slash commands {}, token from ${} ({})",
                d.guild_id,
                d.approvals_channel_id,
                d.api_url,
                if d.register_slash_commands { "registered" } else { "not registered" },
                d.token_env,
                if d.token.is_some() { "set" } else { "not set" }
            ));
        }
        lines.push(format!("store: {}", self.store.url));
        if let Some(sink) = &self.audit.sink {
            lines.push(format!(
                "audit sink: {} (every event appended, fsync'd with its commit)",
                sink.path().display()
            ));
        }
        lines.push(format!(
            "bot: @{} with prefix {}, language {}, channels #{} and #{}",
            self.bot.name,
            self.bot.prefix,
            self.bot.language,
            self.bot.general_channel,
            self.bot.approvals_channel
        ));
        lines.push(format!(
            "reactions: approve {}, deny {}",
            self.bot.approve_emojis.join(" "),
            self.bot.deny_emojis.join(" ")
        ));
    }

    fn summarize_backend(&self, lines: &mut Vec<String>) {
        lines.push(format!(
            "backend: {} directory, {} purchases, managing {}",
            self.backend.kind,
            self.backend.purchase,
            self.backend.managed_sku()
        ));
        lines.push(match self.licensing.mode {
            LicensingMode::Direct => "licensing: assigned directly".to_string(),
            LicensingMode::Group => format!(
                "licensing: through membership of group {} (Entra ID may take {})",
                self.licensing.group_id.trim(),
                self.licensing.group_wait
            ),
        });
        if let Some(g) = &self.backend.graph {
            lines.push(format!(
                "microsoft graph: {} for tenant {} as app {}, token from {}, secret from ${}, \
                 roles cached {}, timeout {}",
                g.graph_url,
                g.tenant_id,
                g.client_id.as_str(),
                g.authority_url,
                g.client_secret_env,
                g.role_cache_ttl,
                g.timeout
            ));
        }
        if let Some(pc) = &self.backend.partner_center {
            lines.push(format!(
                "partner center: {} for customer {}, subscription {}, secret from ${}",
                pc.api_url,
                pc.customer_tenant_id.as_str(),
                pc.subscription_id.as_str(),
                pc.client_secret_env
            ));
        }
        if self.backend.kind == BackendKind::Simulated {
            let sim = &self.backend.simulated;
            lines.push(format!(
                "simulated tenant: {} skus, {} users, {} groups, latency {}",
                sim.skus.len(),
                sim.users.len(),
                sim.groups.len(),
                sim.latency
            ));
            for sku in &sim.skus {
                let held = sim
                    .users
                    .iter()
                    .filter(|u| u.licenses.contains(&sku.sku_part_number))
                    .count();
                // These are the seed: the simulated tenant's seats live in the database from
                // its first start on (purchases and removals change them there).
                lines.push(format!(
                    "  {}: seeded with {} seats, {held} assigned, when the database is created; \
                     {:.2} {} a month",
                    sku.sku_part_number, sku.seats, sku.unit_price_monthly, self.policy.currency
                ));
            }
        }
    }

    fn summarize_people(&self, lines: &mut Vec<String>) {
        lines.push(match self.links.mail_sender.trim() {
            "" => "links: proven by an approver's attestation (no mail sender)".to_string(),
            sender => format!(
                "links: proven by a code mailed from {sender}, or an approver's attestation"
            ),
        });
        if self.links.sign_in {
            lines.push(format!(
                "links: also proven by signing in, pages at {} (served on {})",
                self.links.public_url, self.links.listen_addr
            ));
        }
        if !self.policy.requesters.is_empty() {
            lines.push(format!(
                "requesters: only {}",
                self.policy.requesters.join(", ")
            ));
        }
        lines.push(format!("approvers ({}):", self.approvers.len()));
        for approver in &self.approvers {
            lines.push(format!("  {} as {}", approver.chat_user, approver.upn));
        }
    }

    fn summarize_rules(&self, lines: &mut Vec<String>) {
        let roles = |roles: &[DirectoryRole]| {
            roles
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!("purchase roles: {}", roles(&self.roles.purchase)));
        lines.push(format!("assign roles: {}", roles(&self.roles.assign)));
        let p = &self.policy;
        lines.push(format!(
            "policy: guests {}, default usage location {}, {} billing, at most {} open requests per user",
            if p.allow_guests { "allowed" } else { "not allowed" },
            p.default_usage_location
                .as_ref()
                .map_or("none", CountryCode::as_str),
            p.default_billing_cycle,
            p.max_open_requests_per_user
        ));
        lines.push(format!(
            "deadlines: remind after {}, escalate after {}, expire after {}",
            p.remind_after, p.escalate_after, p.expire_after
        ));
        let j = &self.jobs;
        lines.push(format!(
            "jobs: up to {} attempts, backoff {} to {}, lease {}, poll every {}, {} read-backs {} apart",
            j.max_attempts,
            j.backoff_base,
            j.backoff_max,
            j.lease,
            j.poll_interval,
            j.verify_attempts,
            j.verify_interval
        ));
        lines.push(format!("scheduler: tick every {}", self.scheduler.tick));
        lines.push(self.alerts.summary());
        lines.push(format!(
            "telemetry: {} ({})",
            self.telemetry.level, self.telemetry.format
        ));
    }
}
