//! The rules types cannot express: cross-section checks, URLs, tenant ids, secrets read
//! from the environment.

use std::collections::{BTreeSet, HashMap};
use std::ops::RangeInclusive;

use super::load::Loader;
use super::log_filter;
use super::problems::ConfigProblem;
use super::secrets::secret_among;
use super::sections::{
    ApproverSettings, BackendSettings, BotSettings, JobSettings, PolicySettings, Settings,
    SimulatedBackendSettings, SimulatedUser, DISCORD_API_URL,
};
use super::values::{BackendKind, ChatTransport, Guid, LicensingMode, PurchaseBackend};
use super::values::{ConfigDuration, DiscordId, SignInTime};
use crate::domain::{ParseError, Upn};
use crate::store::Dialect;

impl Loader {
    /// The checks types cannot express.
    pub(super) fn check(&mut self, s: &Settings) {
        self.check_store(s);
        self.check_bot(&s.bot);
        self.check_policy(&s.policy);
        if s.roles.purchase.is_empty() {
            self.problem("roles.purchase", "name at least one directory role");
        }
        if s.roles.assign.is_empty() {
            self.problem("roles.assign", "name at least one directory role");
        }
        if s.roles.over_budget.is_empty() {
            self.problem("roles.over_budget", "name at least one directory role");
        }
        self.check_governance(s);
        self.check_jobs(&s.jobs);
        if s.scheduler.tick.0.is_zero() {
            self.problem("scheduler.tick", "must be longer than 0s");
        }
        let addr = s.telemetry.metrics_addr.trim();
        if !addr.is_empty() && addr.parse::<std::net::SocketAddr>().is_err() {
            self.problem(
                "telemetry.metrics_addr",
                format!("{addr:?} is not an address with a port, such as 127.0.0.1:9464"),
            );
        }
        if s.telemetry.level.trim().is_empty() {
            self.problem("telemetry.level", "must not be empty; use e.g. \"info\"");
        } else if let Err(e) = log_filter(&s.telemetry.level) {
            self.problem(
                "telemetry.level",
                format!("{:?} is not a tracing filter: {e}", s.telemetry.level),
            );
        }
        self.check_approvers(&s.approvers);
        self.check_discord(s);
        self.check_backend(s);
        self.check_links(s);
        self.check_licensing(s);
        self.check_alerts(&s.alerts);
    }

    fn check_licensing(&mut self, s: &Settings) {
        let l = &s.licensing;
        let id = l.group_id.trim();
        if l.mode == LicensingMode::Group {
            if id.is_empty() {
                self.problem(
                    "licensing.group_id",
                    "name the licensing group's object id (a GUID) with mode = \"group\"",
                );
            } else if let Err(e) = Guid::parse(id) {
                self.problem(
                    "licensing.group_id",
                    format!("{id:?} is not a group's object id: {e}"),
                );
            }
        }
        self.check_not_zero(&[("licensing.group_wait", l.group_wait)]);
        let r = &s.reclaim;
        self.check_not_zero(&[
            ("reclaim.inactive_after", r.inactive_after),
            ("reclaim.grace", r.grace),
        ]);
        let emoji = r.emoji.trim();
        if emoji.is_empty() {
            self.problem("reclaim.emoji", "name a reaction, such as \"♻️\"");
        } else if s
            .bot
            .approve_emojis
            .iter()
            .chain(&s.bot.deny_emojis)
            .any(|e| e == emoji)
        {
            self.problem(
                "reclaim.emoji",
                format!("{emoji:?} already approves or denies; choose another reaction"),
            );
        }
    }

    fn check_links(&mut self, s: &Settings) {
        let sender = s.links.mail_sender.trim();
        if !sender.is_empty() {
            if let Err(e) = Upn::parse(sender) {
                self.problem(
                    "links.mail_sender",
                    format!("{sender:?} is not a mailbox address (user@domain): {e}"),
                );
            }
        }
        if s.backend.kind == BackendKind::Simulated && s.backend.simulated.mailbox.trim().is_empty()
        {
            self.problem(
                "backend.simulated.mailbox",
                "must name a file, such as \"data/mailbox.jsonl\"",
            );
        }
        if s.links.sign_in {
            if s.backend.graph.is_none() {
                self.problem(
                    "links.sign_in",
                    "the sign-in proof uses the Graph app's registration: it needs [backend.graph]",
                );
            }
            let url = s.links.public_url.trim();
            if url::Url::parse(url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                self.problem(
                    "links.public_url",
                    format!(
                        "{url:?} is not an http(s) URL, such as \"https://licensebot.contoso.com\""
                    ),
                );
            }
            if s.links
                .listen_addr
                .trim()
                .parse::<std::net::SocketAddr>()
                .is_err()
            {
                self.problem(
                    "links.listen_addr",
                    format!(
                        "{:?} is not an address with a port, such as 127.0.0.1:8443",
                        s.links.listen_addr
                    ),
                );
            }
        }
        for (i, r) in s.policy.requesters.iter().enumerate() {
            if r.trim().is_empty() {
                self.problem(
                    format!("policy.requesters[{i}]"),
                    "must not be empty: a Discord role id or a console name",
                );
            }
        }
    }

    fn check_bot(&mut self, bot: &BotSettings) {
        for (key, value) in [
            ("bot.name", &bot.name),
            ("bot.general_channel", &bot.general_channel),
            ("bot.approvals_channel", &bot.approvals_channel),
        ] {
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                self.problem(
                    key,
                    format!("{value:?} must be non-empty without whitespace"),
                );
            }
        }
        let prefix = &bot.prefix;
        if prefix.is_empty()
            || prefix.chars().any(char::is_whitespace)
            || prefix.chars().count() > 16
        {
            self.problem(
                "bot.prefix",
                format!("{prefix:?} must be 1 to 16 characters without whitespace"),
            );
        }
        for (key, emojis) in [
            ("bot.approve_emojis", &bot.approve_emojis),
            ("bot.deny_emojis", &bot.deny_emojis),
        ] {
            if emojis.is_empty() {
                self.problem(key, "name at least one emoji");
            }
            if emojis.iter().any(|e| e.trim().is_empty()) {
                self.problem(key, "an emoji must not be empty");
            }
        }
        let overlap: Vec<&String> = bot
            .deny_emojis
            .iter()
            .filter(|e| bot.approve_emojis.contains(e))
            .collect();
        if !overlap.is_empty() {
            let list = overlap
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let (key, other) = self.later_of("bot.approve_emojis", "bot.deny_emojis");
            self.problem(
                key,
                format!("{list} also in {other}; a reaction must either approve or deny"),
            );
        }
    }

    fn check_policy(&mut self, p: &PolicySettings) {
        self.check_not_zero(&[
            ("policy.remind_after", p.remind_after),
            ("policy.escalate_after", p.escalate_after),
            ("policy.expire_after", p.expire_after),
        ]);
        self.check_order(
            ("policy.remind_after", p.remind_after),
            ("policy.escalate_after", p.escalate_after),
            true,
        );
        self.check_order(
            ("policy.escalate_after", p.escalate_after),
            ("policy.expire_after", p.expire_after),
            true,
        );
        self.check_between(
            "policy.max_open_requests_per_user",
            p.max_open_requests_per_user,
            1..=100,
        );
        if p.currency.len() != 3 || !p.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            self.problem(
                "policy.currency",
                format!(
                    "{:?} is not three upper-case letters such as USD",
                    p.currency
                ),
            );
        }
    }

    /// Amounts are finite and not negative, a limit on money has a price to work with, and
    /// each auto-approval rule is named once and has a condition.
    fn check_governance(&mut self, s: &Settings) {
        let p = &s.policy;
        for (key, amount) in [
            ("policy.two_person_above_cost", p.two_person_above_cost),
            ("policy.monthly_budget", p.monthly_budget),
            ("policy.seat_price_monthly", p.seat_price_monthly),
        ] {
            if !amount.is_finite() || amount < 0.0 {
                self.problem(
                    key,
                    format!("{amount} must be a finite amount of 0 or more"),
                );
            }
        }
        let limits_money = p.two_person_above_cost > 0.0 || p.monthly_budget > 0.0;
        if limits_money && p.seat_price_monthly == 0.0 && s.backend.kind != BackendKind::Simulated {
            self.problem(
                "policy.seat_price_monthly",
                "a budget or a cost limit needs the seat's price: Microsoft Graph does not tell \
                 it, so set the monthly price of one seat here",
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, rule) in s.auto_approve.iter().enumerate() {
            let key = format!("auto_approve[{i}]");
            if rule.name.trim().is_empty() {
                self.problem(format!("{key}.name"), "give the rule a name");
            } else if !names.insert(rule.name.trim().to_string()) {
                self.problem(
                    format!("{key}.name"),
                    format!("{:?} names another rule too; names are unique", rule.name),
                );
            }
            if rule.requesters.is_empty() && rule.directory_groups.is_empty() {
                self.problem(
                    key.clone(),
                    "a rule needs requesters or directory_groups (a rule with no condition \
                     would approve everyone)",
                );
            }
            for (j, group) in rule.directory_groups.iter().enumerate() {
                if Guid::parse(group).is_err() {
                    self.problem(
                        format!("{key}.directory_groups[{j}]"),
                        format!("{group:?} is not a group object id (a GUID)"),
                    );
                }
            }
        }
    }

    fn check_jobs(&mut self, j: &JobSettings) {
        self.check_between("jobs.max_attempts", j.max_attempts, 1..=100);
        self.check_between("jobs.verify_attempts", j.verify_attempts, 1..=50);
        self.check_not_zero(&[
            ("jobs.backoff_base", j.backoff_base),
            ("jobs.backoff_max", j.backoff_max),
            ("jobs.lease", j.lease),
            ("jobs.poll_interval", j.poll_interval),
            ("jobs.verify_interval", j.verify_interval),
        ]);
        self.check_order(
            ("jobs.backoff_base", j.backoff_base),
            ("jobs.backoff_max", j.backoff_max),
            false,
        );
    }

    /// Each of these durations must be longer than zero.
    fn check_not_zero(&mut self, durations: &[(&str, ConfigDuration)]) {
        for (key, d) in durations {
            if d.0.is_zero() {
                self.problem(*key, "must be longer than 0s");
            }
        }
    }

    /// The number at `key` must lie in `range`.
    fn check_between<T>(&mut self, key: &str, value: T, range: RangeInclusive<T>)
    where
        T: PartialOrd + std::fmt::Display,
    {
        if !range.contains(&value) {
            self.problem(
                key,
                format!(
                    "{value} is not between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    /// `shorter` must be shorter than (`strict`) or at most `longer`; the problem names the
    /// key set by the later layer, since that is the one that broke the order.
    fn check_order(
        &mut self,
        shorter: (&str, ConfigDuration),
        longer: (&str, ConfigDuration),
        strict: bool,
    ) {
        let broken = if strict {
            shorter.1 >= longer.1
        } else {
            shorter.1 > longer.1
        };
        if !broken {
            return;
        }
        let (blamed, _) = self.later_of(shorter.0, longer.0);
        if blamed == shorter.0 {
            let relation = if strict { "shorter than" } else { "at most" };
            self.problem(
                shorter.0,
                format!(
                    "{} must be {relation} {} ({})",
                    shorter.1, longer.0, longer.1
                ),
            );
        } else {
            let relation = if strict { "longer than" } else { "at least" };
            self.problem(
                longer.0,
                format!(
                    "{} must be {relation} {} ({})",
                    longer.1, shorter.0, shorter.1
                ),
            );
        }
    }

    /// Of two keys, the one set by the later layer (the second on a tie), and the other.
    fn later_of<'k>(&self, first: &'k str, second: &'k str) -> (&'k str, &'k str) {
        if self.provenance.rank(first) > self.provenance.rank(second) {
            (first, second)
        } else {
            (second, first)
        }
    }

    fn check_approvers(&mut self, approvers: &[ApproverSettings]) {
        if approvers.is_empty() {
            self.problem(
                "approvers",
                "name at least one approver; nobody could decide",
            );
        }
        let mut chat_users: HashMap<&str, usize> = HashMap::new();
        let mut upns: HashMap<&Upn, usize> = HashMap::new();
        for (i, a) in approvers.iter().enumerate() {
            if a.chat_user.trim().is_empty() {
                self.problem(format!("approvers[{i}].chat_user"), "must not be empty");
            } else if let Some(first) = chat_users.insert(a.chat_user.as_str(), i) {
                self.problem(
                    format!("approvers[{i}].chat_user"),
                    format!("{:?} is already approvers[{first}]", a.chat_user),
                );
            }
            if let Some(first) = upns.insert(&a.upn, i) {
                self.problem(
                    format!("approvers[{i}].upn"),
                    format!("{} is already approvers[{first}]", a.upn),
                );
            }
        }
    }

    /// `[discord]` must be there for the Discord transport, and approvers are Discord ids.
    fn check_discord(&mut self, s: &Settings) {
        if let Some(d) = &s.discord {
            let name = d.token_env.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.problem(
                    "discord.token_env",
                    format!(
                        "{:?} is not an environment variable name (letters, digits, _)",
                        d.token_env
                    ),
                );
            }
            let url = d.api_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('?') {
                self.problem(
                    "discord.api_url",
                    format!("{url:?} is not an http(s) URL such as \"{DISCORD_API_URL}\""),
                );
            }
        }
        if s.chat.transport != ChatTransport::Discord {
            return;
        }
        if s.discord.is_none() {
            // Blame the layer that chose Discord: that is where the table is missing.
            self.problems.push(ConfigProblem {
                source: self.provenance.nearest_source("chat.transport").to_string(),
                key: "discord".to_string(),
                message: "chat.transport is \"discord\", so a [discord] table with guild_id and approvals_channel_id is required".to_string(),
            });
        }
        for (i, a) in s.approvers.iter().enumerate() {
            if !a.chat_user.trim().is_empty() && DiscordId::parse(&a.chat_user).is_err() {
                self.problem(
                    format!("approvers[{i}].chat_user"),
                    format!(
                        "{:?} is not a Discord user id; with chat.transport = \"discord\" approvers are named by id (Developer Mode > Copy User ID)",
                        a.chat_user
                    ),
                );
            }
        }
    }

    /// `[store]`: a SQLite or PostgreSQL URL, no password inside it, and the password's
    /// variable a name; the simulated tenant's database a SQLite URL.
    fn check_store(&mut self, s: &Settings) {
        let url = s.store.url.trim();
        match Dialect::of_url(url) {
            Some(Dialect::Sqlite) => {}
            Some(Dialect::Postgres) => match url::Url::parse(url) {
                Ok(u) if u.password().is_some() => self.problem(
                    "store.url",
                    "holds a password; remove it from the URL and name the environment \
                     variable that holds it in store.password_env",
                ),
                Ok(u) if u.has_host() => {}
                _ => self.problem(
                    "store.url",
                    format!("{url:?} is not a PostgreSQL URL such as postgres://licensebot@db:5432/licensebot"),
                ),
            },
            None => self.problem(
                "store.url",
                format!(
                    "{url:?} names no database the bot knows; start it with sqlite: (a file) or \
                     postgres:// (a server)"
                ),
            ),
        }
        if let Some(ha) = &s.ha {
            if Dialect::of_url(url) == Some(Dialect::Sqlite) {
                self.problem(
                    "ha",
                    "several bots share a PostgreSQL database only; on SQLite one bot runs \
                     per database file (remove [ha] or set store.url to postgres://…)",
                );
            }
            let lease = ha.lease.get();
            if lease < std::time::Duration::from_secs(3)
                || lease > std::time::Duration::from_secs(600)
            {
                self.problem("ha.lease", "must be between 3s and 10m");
            }
        }
        if !s.store.password_env.is_empty() {
            self.check_env_name("store.password_env", &s.store.password_env);
        }
        let sim = s.backend.simulated.database.trim();
        if !sim.is_empty() && Dialect::of_url(sim) != Some(Dialect::Sqlite) {
            self.problem(
                "backend.simulated.database",
                format!("{sim:?} is not a SQLite URL; the simulated tenant keeps its own file"),
            );
        }
    }

    /// Reads the database password from `store.password_env` (a missing one is a problem
    /// when a name is given), then the Discord token from the environment variable
    /// `discord.token_env` names (with the Discord transport a missing token is a problem).
    pub(super) fn read_secrets(&mut self, s: &mut Settings, env: &[(String, String)]) {
        let name = s.store.password_env.trim().to_string();
        if is_env_name(&name) {
            match secret_among(env, &name) {
                Some(password) => s.store.password = Some(password),
                None => self.problem(
                    "store.password_env",
                    format!("the environment variable {name} (the database password) is not set"),
                ),
            }
        }
        let transport = s.chat.transport;
        let Some(d) = s.discord.as_mut() else {
            return;
        };
        let name = d.token_env.trim().to_string();
        match secret_among(env, &name) {
            Some(token) => d.token = Some(token),
            None if transport == ChatTransport::Discord => self.problem(
                "discord.token_env",
                format!("the environment variable {name} (the bot token) is not set"),
            ),
            None => {}
        }
    }

    /// `backend.graph` and `backend.partner_center`: present when chosen, and sane.
    fn check_microsoft(&mut self, b: &BackendSettings) {
        if b.kind == BackendKind::Graph && b.graph.is_none() {
            self.problem(
                "backend.graph",
                "required when backend.kind = \"graph\": add a [backend.graph] table with at \
                 least tenant_id and client_id",
            );
        }
        if b.purchase == PurchaseBackend::Simulated && b.kind != BackendKind::Simulated {
            self.problem(
                "backend.purchase",
                "\"simulated\" buys seats only in the simulated tenant; with backend.kind = \"graph\" \
                 use \"partner_center\" or \"manual\"",
            );
        }
        if b.purchase == PurchaseBackend::PartnerCenter {
            if b.partner_center.is_none() {
                self.problem(
                    "backend.partner_center",
                    "required when backend.purchase = \"partner_center\": add a \
                     [backend.partner_center] table with customer_tenant_id and subscription_id",
                );
            }
            if b.kind != BackendKind::Graph {
                self.problem(
                    "backend.purchase",
                    "\"partner_center\" needs backend.kind = \"graph\": the seats it buys are \
                     confirmed in Microsoft Graph",
                );
            }
        }
        if let Some(g) = &b.graph {
            self.check_tenant_id("backend.graph.tenant_id", &g.tenant_id);
            self.check_env_name("backend.graph.client_secret_env", &g.client_secret_env);
            self.check_url("backend.graph.authority_url", &g.authority_url);
            self.check_url("backend.graph.graph_url", &g.graph_url);
            if g.sku_part_number
                .as_deref()
                .is_some_and(|s| s.trim().is_empty())
            {
                self.problem(
                    "backend.graph.sku_part_number",
                    "must not be empty; leave it out to use backend.sku_part_number",
                );
            }
            if g.timeout.0.is_zero() {
                self.problem("backend.graph.timeout", "must be longer than 0s");
            }
        }
        if let Some(pc) = &b.partner_center {
            self.check_url("backend.partner_center.api_url", &pc.api_url);
            self.check_env_name(
                "backend.partner_center.client_secret_env",
                &pc.client_secret_env,
            );
            if let Some(t) = &pc.tenant_id {
                self.check_tenant_id("backend.partner_center.tenant_id", t);
            }
            if let Some(u) = &pc.authority_url {
                self.check_url("backend.partner_center.authority_url", u);
            }
        }
    }

    fn check_tenant_id(&mut self, key: &str, tenant: &str) {
        let ok = !tenant.is_empty()
            && tenant.len() <= 253
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            self.problem(
                key,
                format!(
                    "{tenant:?} is not a tenant id: give the directory's GUID or a domain such as \
                     contoso.onmicrosoft.com"
                ),
            );
        }
    }

    fn check_env_name(&mut self, key: &str, name: &str) {
        if !is_env_name(name) {
            self.problem(
                key,
                format!(
                    "{name:?} is not an environment variable name (letters, digits and _); \
                     give the name of the variable, not the secret"
                ),
            );
        }
    }

    fn check_url(&mut self, key: &str, value: &str) {
        match url::Url::parse(value) {
            Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.has_host() => {}
            _ => self.problem(
                key,
                format!("{value:?} is not an http(s) URL such as https://graph.microsoft.com/v1.0"),
            ),
        }
    }

    fn check_backend(&mut self, s: &Settings) {
        let b = &s.backend;
        self.check_microsoft(b);
        let sim = &b.simulated;
        if b.sku_part_number.trim().is_empty() {
            self.problem("backend.sku_part_number", "must not be empty");
        }
        let skus = self.check_simulated_skus(sim);
        let users = self.check_simulated_users(sim, &skus);
        self.check_simulated_groups(sim, &skus, &users);
        if b.kind == BackendKind::Simulated {
            self.check_simulated_choices(s, &skus, &users);
        }
    }

    /// The simulated tenant's SKUs; returns each part number's index.
    fn check_simulated_skus<'s>(
        &mut self,
        sim: &'s SimulatedBackendSettings,
    ) -> HashMap<&'s str, usize> {
        let mut skus: HashMap<&str, usize> = HashMap::new();
        for (i, sku) in sim.skus.iter().enumerate() {
            let key = format!("backend.simulated.skus[{i}]");
            if sku.sku_part_number.trim().is_empty() {
                self.problem(format!("{key}.sku_part_number"), "must not be empty");
            } else if let Some(first) = skus.insert(sku.sku_part_number.as_str(), i) {
                self.problem(
                    format!("{key}.sku_part_number"),
                    format!(
                        "{:?} is already backend.simulated.skus[{first}]",
                        sku.sku_part_number
                    ),
                );
            }
            if sku.seats > 1_000_000 {
                self.problem(
                    format!("{key}.seats"),
                    format!("{} is not between 0 and 1000000", sku.seats),
                );
            }
            if !sku.unit_price_monthly.is_finite() || sku.unit_price_monthly < 0.0 {
                self.problem(
                    format!("{key}.unit_price_monthly"),
                    format!(
                        "{} must be a finite price of 0 or more",
                        sku.unit_price_monthly
                    ),
                );
            }
            if sku.service_plans.iter().any(|p| p.trim().is_empty()) {
                self.problem(
                    format!("{key}.service_plans"),
                    "a service plan name must not be empty",
                );
            }
        }
        skus
    }

    /// The simulated tenant's users and the seats they hold; returns each UPN's index.
    fn check_simulated_users<'s>(
        &mut self,
        sim: &'s SimulatedBackendSettings,
        skus: &HashMap<&str, usize>,
    ) -> HashMap<&'s Upn, usize> {
        let mut users: HashMap<&Upn, usize> = HashMap::new();
        let mut holders: HashMap<&str, u64> = HashMap::new();
        for (i, user) in sim.users.iter().enumerate() {
            let key = format!("backend.simulated.users[{i}]");
            if let Some(first) = users.insert(&user.upn, i) {
                self.problem(
                    format!("{key}.upn"),
                    format!("{} is already backend.simulated.users[{first}]", user.upn),
                );
            }
            if user.display_name.trim().is_empty() {
                self.problem(format!("{key}.display_name"), "must not be empty");
            }
            self.check_sign_ins(&key, user);
            for license in self.check_licences(&key, &user.licenses, skus) {
                *holders.entry(license).or_default() += 1;
            }
        }
        for (i, sku) in sim.skus.iter().enumerate() {
            let held = holders
                .get(sku.sku_part_number.as_str())
                .copied()
                .unwrap_or(0);
            if held > u64::from(sku.seats) {
                self.problem(
                    format!("backend.simulated.skus[{i}].seats"),
                    format!(
                        "{held} simulated users hold {} but it has only {} seats",
                        sku.sku_part_number, sku.seats
                    ),
                );
            }
        }
        users
    }

    /// The licences at `{key}.licenses`: each among the simulated SKUs and listed once.
    /// Returns the ones that are.
    fn check_licences<'l>(
        &mut self,
        key: &str,
        licenses: &'l [String],
        skus: &HashMap<&str, usize>,
    ) -> Vec<&'l str> {
        let mut listed = BTreeSet::new();
        let mut valid = Vec::new();
        for license in licenses {
            let problem = if !listed.insert(license.as_str()) {
                "is listed twice"
            } else if !skus.contains_key(license.as_str()) {
                "is not among backend.simulated.skus"
            } else {
                valid.push(license.as_str());
                continue;
            };
            self.problem(format!("{key}.licenses"), format!("{license:?} {problem}"));
        }
        valid
    }

    /// A simulated user's sign-ins: each an RFC 3339 time or a duration before the tenant was
    /// first seeded, and the last sign-in to Power BI no later than the last sign-in of all
    /// (a sign-in to Power BI is a sign-in). The two are compared when written alike (both
    /// times, or both durations); a time and a duration meet only once the tenant is seeded,
    /// where the later of the two is the last sign-in.
    fn check_sign_ins(&mut self, key: &str, user: &SimulatedUser) {
        let (any, power_bi) = user.sign_ins();
        let mut read = |name: &str, result: Result<Option<SignInTime>, ParseError>| {
            result.unwrap_or_else(|e| {
                self.problem(format!("{key}.{name}"), e.0);
                None
            })
        };
        let any = read("last_sign_in", any);
        let power_bi = read("last_power_bi_sign_in", power_bi);
        let later = match (any, power_bi) {
            (Some(SignInTime::At(a)), Some(SignInTime::At(p))) => p > a,
            (Some(SignInTime::BeforeFirstSeeding(a)), Some(SignInTime::BeforeFirstSeeding(p))) => {
                p < a
            }
            _ => false,
        };
        if later {
            self.problem(
                format!("{key}.last_power_bi_sign_in"),
                format!(
                    "{:?} is later than last_sign_in ({:?}): a sign-in to Power BI is a sign-in, \
                     so last_sign_in must be at least as recent",
                    user.last_power_bi_sign_in.as_deref().unwrap_or_default(),
                    user.last_sign_in.as_deref().unwrap_or_default()
                ),
            );
        }
    }

    /// The simulated tenant's groups: unique ids, licences among its SKUs, members and owners
    /// among its users. Members beyond the seats are allowed: Entra ID gives them none of the
    /// group's licences (CountViolation) rather than refusing the membership.
    fn check_simulated_groups(
        &mut self,
        sim: &SimulatedBackendSettings,
        skus: &HashMap<&str, usize>,
        users: &HashMap<&Upn, usize>,
    ) {
        let mut ids: HashMap<&Guid, usize> = HashMap::new();
        for (i, group) in sim.groups.iter().enumerate() {
            let key = format!("backend.simulated.groups[{i}]");
            if let Some(first) = ids.insert(&group.id, i) {
                self.problem(
                    format!("{key}.id"),
                    format!(
                        "{} is already backend.simulated.groups[{first}]",
                        group.id.as_str()
                    ),
                );
            }
            if group.display_name.trim().is_empty() {
                self.problem(format!("{key}.display_name"), "must not be empty");
            }
            self.check_licences(&key, &group.licenses, skus);
            if !group.licenses.is_empty() && !group.security_enabled {
                self.problem(
                    format!("{key}.security_enabled"),
                    "a group that assigns licences must be a security group (or a Microsoft 365 \
                     group with security enabled): set it to true or remove the licenses",
                );
            }
            self.check_group_people(&format!("{key}.members"), &group.members, users);
            self.check_group_people(&format!("{key}.owners"), &group.owners, users);
        }
    }

    /// Each UPN at `key` is a simulated user, listed once.
    fn check_group_people(&mut self, key: &str, people: &[Upn], users: &HashMap<&Upn, usize>) {
        let mut listed = BTreeSet::new();
        for upn in people {
            if !listed.insert(upn) {
                self.problem(key, format!("{upn} is listed twice"));
            } else if !users.contains_key(upn) {
                self.problem(
                    key,
                    format!(
                        "{upn} is not a user of the simulated tenant (backend.simulated.users)"
                    ),
                );
            }
        }
    }

    /// With the simulated backend, the managed SKU and every approver must exist in it.
    fn check_simulated_choices(
        &mut self,
        s: &Settings,
        skus: &HashMap<&str, usize>,
        users: &HashMap<&Upn, usize>,
    ) {
        let b = &s.backend;
        let sim = &b.simulated;
        if !b.sku_part_number.trim().is_empty() && !skus.contains_key(b.sku_part_number.as_str()) {
            let known: Vec<&str> = sim
                .skus
                .iter()
                .map(|s| s.sku_part_number.as_str())
                .collect();
            self.problem(
                "backend.sku_part_number",
                format!(
                    "{:?} is not among backend.simulated.skus ({})",
                    b.sku_part_number,
                    known.join(", ")
                ),
            );
        }
        for (i, a) in s.approvers.iter().enumerate() {
            if !users.contains_key(&a.upn) {
                self.problem(
                    format!("approvers[{i}].upn"),
                    format!(
                        "{} is not a user of the simulated tenant (backend.simulated.users)",
                        a.upn
                    ),
                );
            }
        }
    }
}

/// Whether `name` can name an environment variable (letters, digits and `_`, not starting
/// with a digit).
fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
