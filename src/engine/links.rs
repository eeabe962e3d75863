//! Identity links: a chat account acts for a directory account only after proving that it
//! owns it. `link upn` starts a proof (a code mailed to the account's own mailbox),
//! `verify CODE` finishes it in a direct message, an approver with an assign role may attest
//! a link (`link @user upn`), `unlink` undoes one. Everything that acts on a directory
//! account asks [`Links::acting_identity`] first.
//!
//! [`Links`] (here and in `signin.rs`) holds the shared context, the directory, the mailer,
//! the identity provider (when sign-in is on) and the chat output, which it uses only to
//! delete a message that shows a code in public.
//!
//! The code: eight random digits, kept only as an argon2id hash (salted, slow), single use,
//! valid for [`CODE_TTL`]; [`MAX_TRIES`] wrong tries lock the pending link. Each try is
//! counted before the code is checked, so tries made at the same time cannot get past the
//! lock. At most [`MAILS_PER_HOUR`] proof mails per chat account and per directory account.
//! The code is never logged, audited, or said in chat; it goes only into the mail.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::core::Core;
use super::crash::{crash_point, CrashPoint};
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use super::ports::{ChatOutput, IdentityProvider, Mailer};
use crate::command::Target;
use crate::domain::{
    Actor, AuditAction, ChatUserId, LinkMethod, LinkProof, LinkState, Upn, UserType,
};
use crate::engine::ports::IncomingMessage;
use crate::engine::ports::{DirectoryUser, Mail};
use crate::store::links::{self, Link};
use crate::store::outbox;
use crate::store::WriteTx;
use crate::t;

/// How long a mailed code is valid.
pub const CODE_TTL: Duration = Duration::from_secs(15 * 60);
/// Wrong codes before the pending link is locked.
pub const MAX_TRIES: i64 = 5;
/// Proof mails per hour, per chat account and per directory account.
pub const MAILS_PER_HOUR: i64 = 3;

/// The directory account a chat account acts for, and how that was proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    /// The directory user.
    pub upn: Upn,
    /// How the link was proven.
    pub proof: LinkProof,
}

impl Identity {
    /// An approver's: the account the configuration names.
    pub(super) fn of_approver(a: &super::Approver) -> Identity {
        Identity {
            upn: a.upn.clone(),
            proof: LinkProof::config(),
        }
    }
}

/// A one-time code: eight random digits.
fn new_code() -> String {
    use rand::Rng;
    format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32))
}

/// The code's hash, as a PHC string (argon2id, a random salt).
fn hash_code(code: &str) -> Result<String, EngineError> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(code.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Unexpected(anyhow::anyhow!("cannot hash a code: {e}")))
}

/// Whether `code` is the one `hash` was made from (constant time).
fn code_matches(code: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(code.as_bytes(), &parsed)
            .is_ok()
    })
}

/// [`Links::notices`]: not read yet (or a notice was just given).
const NOTICES_UNKNOWN: u8 = 0;
/// Some links' owners are still to be told.
const NOTICES_SOME: u8 = 1;
/// None are (for good: nothing marks a link again).
const NOTICES_NONE: u8 = 2;

/// Proving which directory account a chat account is: links, codes and sign-in.
pub(super) struct Links {
    pub(super) core: Arc<Core>,
    pub(super) directory: Arc<Directory>,
    pub(super) mailer: Arc<dyn Mailer>,
    /// None when sign-in is off.
    pub(super) identity: Option<Arc<dyn IdentityProvider>>,
    pub(super) chat: Arc<dyn ChatOutput>,
    /// Whether links whose owners must hear that links are verified now remain (see
    /// [`links::any_notice`]): unknown until the first command asks, then known; once none
    /// remain a command reads no link for the notice.
    notices: AtomicU8,
}

impl Links {
    pub(super) fn new(
        core: Arc<Core>,
        directory: Arc<Directory>,
        mailer: Arc<dyn Mailer>,
        identity: Option<Arc<dyn IdentityProvider>>,
        chat: Arc<dyn ChatOutput>,
    ) -> Links {
        Links {
            core,
            directory,
            mailer,
            identity,
            chat,
            notices: AtomicU8::new(NOTICES_UNKNOWN),
        }
    }

    /// The directory account `user` acts for: an approver's by configuration, else a
    /// verified link. A pending or missing link is refused with what to do.
    pub(super) async fn acting_identity(&self, user: &ChatUserId) -> EngineResult<Identity> {
        if let Some(a) = self.core.cfg().approver(user) {
            return Ok(Identity {
                upn: a.upn.clone(),
                proof: LinkProof::config(),
            });
        }
        let link = {
            let mut conn = self.core.store().read().await?;
            links::get(&mut conn, user).await?
        };
        match link {
            Some(l) => match l.proof() {
                Some(proof) => Ok(Identity { upn: l.upn, proof }),
                None => Err(EngineError::User(self.unverified_text(&l))),
            },
            None => Err(EngineError::User(t!(
                self.core.texts(),
                "link.needed",
                prefix = self.core.cfg().parser.prefix
            ))),
        }
    }

    /// The directory account the speaker acts for, for `action` on it; a refusal because the
    /// link is not verified yet is audited (`link_refused`).
    pub(super) async fn own_identity(
        &self,
        m: &IncomingMessage,
        action: &str,
    ) -> EngineResult<Identity> {
        let result = self.acting_identity(&m.author).await;
        if let Err(EngineError::User(_)) = &result {
            let link = {
                let mut conn = self.core.store().read().await?;
                links::get(&mut conn, &m.author).await?
            };
            if let Some(l) = link {
                let mut w = self.core.store().write().await?;
                self.audit_own_link(
                    &mut w,
                    m,
                    &l.upn,
                    AuditAction::LinkRefused,
                    serde_json::json!({"reason": "link not verified", "action": action}),
                )
                .await?;
                w.commit().await?;
            }
        }
        result
    }

    /// What a person with a pending link is told to do to finish it.
    fn unverified_text(&self, l: &Link) -> String {
        let how = if l.locked {
            "locked"
        } else if l.code_hash.is_some() {
            "code"
        } else {
            "none"
        };
        self.unproven(&l.upn, how)
    }

    /// `link.unproven`: a link to `upn` not proven yet, `how` it stands (`locked` after too
    /// many wrong codes, `code` mailed, else neither).
    fn unproven(&self, upn: &Upn, how: &str) -> String {
        let prefix = &self.core.cfg().parser.prefix;
        t!(
            self.core.texts(),
            "link.unproven",
            upn = upn,
            prefix = prefix,
            how = how
        )
    }

    /// Once per link made before links were verified: its owner hears that it must be
    /// proven now, and how. Said beside whatever the command answers.
    pub(super) async fn notice_unverified(&self, m: &IncomingMessage) -> EngineResult<()> {
        let known = self.notices.load(Ordering::Relaxed);
        if known == NOTICES_NONE {
            return Ok(());
        }
        let link = {
            let mut conn = self.core.store().read().await?;
            if known == NOTICES_UNKNOWN {
                let remain = links::any_notice(&mut conn).await?;
                let now_known = if remain { NOTICES_SOME } else { NOTICES_NONE };
                self.notices.store(now_known, Ordering::Relaxed);
                if !remain {
                    return Ok(());
                }
            }
            links::get(&mut conn, &m.author).await?
        };
        let Some(l) = link.filter(|l| l.notice) else {
            return Ok(());
        };
        let mut w = self.core.store().write().await?;
        links::clear_notice(w.conn().await?, &m.author).await?;
        let text = t!(
            self.core.texts(),
            "link.notice",
            upn = l.upn,
            prefix = self.core.cfg().parser.prefix
        );
        self.core.reply_and_commit(w, m, text).await?;
        // Perhaps the last one: the next command looks again.
        self.notices.store(NOTICES_UNKNOWN, Ordering::Relaxed);
        Ok(())
    }

    /// `link <upn>`: start proving the speaker's own link. `link <@user> <upn>`: an approver
    /// attests someone's.
    pub(super) async fn link(
        &self,
        m: &IncomingMessage,
        user: Option<ChatUserId>,
        upn: Upn,
    ) -> EngineResult<()> {
        match user {
            Some(user) if user != m.author => self.attest(m, &user, &upn).await,
            _ => self.start_proof(m, &upn).await,
        }
    }

    /// The refusal to change an approver's link, which the settings configure.
    fn configured(&self, who: &ChatUserId, upn: &Upn) -> EngineError {
        let who = self.core.mention(who);
        EngineError::User(t!(
            self.core.texts(),
            "link.configured",
            who = who,
            upn = upn
        ))
    }

    /// Refuses a link to an approver's configured account, and a directory user the policy
    /// does not allow (disabled; a guest unless guests are allowed). Returns the user.
    async fn linkable(&self, upn: &Upn) -> EngineResult<DirectoryUser> {
        if let Some(a) = self.core.cfg().approvers.iter().find(|a| &a.upn == upn) {
            return Err(self.configured(&a.chat_user, upn));
        }
        let user = self.directory.directory_user(upn).await?;
        if !user.account_enabled {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.disabled",
                upn = upn
            )));
        }
        if user.user_type == UserType::Guest && !self.core.cfg().allow_guests {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.guest",
                upn = upn
            )));
        }
        Ok(user)
    }

    /// Creates or replaces the speaker's pending link and mails a code to the directory
    /// user's own mailbox. The code is stored (as a hash) before the mail goes out: a crash
    /// in between leaves a code nobody received, never a mailed code that was not recorded.
    async fn start_proof(&self, m: &IncomingMessage, upn: &Upn) -> EngineResult<()> {
        if let Some(a) = self.core.cfg().approver(&m.author) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.approver_fixed",
                upn = a.upn
            )));
        }
        let user = self.linkable(upn).await?;
        let existing = {
            let mut conn = self.core.store().read().await?;
            links::get(&mut conn, &m.author).await?
        };
        if existing.as_ref().is_some_and(|l| {
            l.state == LinkState::Verified && l.object_id.as_deref() == Some(user.id.as_str())
        }) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.already_verified",
                upn = upn
            )));
        }
        match user.mail.clone().filter(|_| self.core.cfg().mail_proof) {
            Some(to) => {
                self.check_mail_rate(m, upn).await?;
                let code = self.store_mailed_code(m, upn).await?;
                crash_point(CrashPoint::AfterLinkProofStored);
                self.mail_code(m, upn, to, code).await
            }
            None => self.start_without_mail(m, upn).await,
        }
    }

    /// No proof can be mailed: the link waits for a sign-in (when on) or an approver's
    /// attestation.
    async fn start_without_mail(&self, m: &IncomingMessage, upn: &Upn) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        links::start_pending(w.conn().await?, &m.author, upn, None, None, now).await?;
        self.audit_own_link(
            &mut w,
            m,
            upn,
            AuditAction::LinkStarted,
            serde_json::json!({"proof": "none available"}),
        )
        .await?;
        let text = match self.send_sign_in(&mut w, m, upn).await? {
            true => t!(self.core.texts(), "link.sign_in_sent", upn = upn),
            false => t!(
                self.core.texts(),
                "link.no_mail_proof",
                upn = upn,
                prefix = self.core.cfg().parser.prefix
            ),
        };
        self.core.reply_and_commit(w, m, text).await
    }

    /// At most `MAILS_PER_HOUR` codes an hour per chat account and per directory account;
    /// a refusal is audited.
    async fn check_mail_rate(&self, m: &IncomingMessage, upn: &Upn) -> EngineResult<()> {
        let hour_ago = self.core.now() - chrono::Duration::hours(1);
        let (by_user, by_account) = {
            let mut conn = self.core.store().read().await?;
            links::mails_since(&mut conn, &m.author, upn, hour_ago).await?
        };
        if by_user < MAILS_PER_HOUR && by_account < MAILS_PER_HOUR {
            return Ok(());
        }
        let mut w = self.core.store().write().await?;
        let detail =
            serde_json::json!({"reason": "rate limit", "mails_last_hour": by_user.max(by_account)});
        self.audit_own_link(&mut w, m, upn, AuditAction::LinkRefused, detail)
            .await?;
        w.commit().await?;
        Err(EngineError::User(t!(
            self.core.texts(),
            "link.rate_limited",
            max = MAILS_PER_HOUR
        )))
    }

    /// A new one-time code, stored only as its hash with its expiry, before it is mailed.
    async fn store_mailed_code(&self, m: &IncomingMessage, upn: &Upn) -> EngineResult<String> {
        let now = self.core.now();
        let code = new_code();
        let hash = tokio::task::spawn_blocking({
            let code = code.clone();
            move || hash_code(&code)
        })
        .await
        .map_err(|e| EngineError::Unexpected(e.into()))??;
        let expires = now + chrono::Duration::from_std(CODE_TTL).unwrap_or_default();
        let mut w = self.core.store().write().await?;
        links::start_pending(
            w.conn().await?,
            &m.author,
            upn,
            Some(&hash),
            Some(expires),
            now,
        )
        .await?;
        links::record_mail(w.conn().await?, &m.author, upn, now).await?;
        self.audit_own_link(
            &mut w,
            m,
            upn,
            AuditAction::LinkStarted,
            serde_json::json!({"proof": "mail_code", "expires_at": crate::store::ts(expires)}),
        )
        .await?;
        w.commit().await?;
        Ok(code)
    }

    /// Mails the code to the directory account's mailbox and answers in chat; a mail that
    /// cannot be sent burns the code.
    async fn mail_code(
        &self,
        m: &IncomingMessage,
        upn: &Upn,
        to: String,
        code: String,
    ) -> EngineResult<()> {
        let prefix = self.core.cfg().parser.prefix.clone();
        let mail = Mail {
            to: to.clone(),
            subject: t!(self.core.texts(), "mail.subject"),
            body: t!(
                self.core.texts(),
                "mail.body",
                name = m.author_name,
                chat_user = m.author,
                upn = upn,
                code = code,
                minutes = CODE_TTL.as_secs() / 60,
                prefix = prefix
            ),
        };
        let sent = self.mailer.send(&mail).await;
        let mut w = self.core.store().write().await?;
        let text = match &sent {
            Ok(()) => {
                self.audit_link(
                    &mut w,
                    &Actor::System,
                    AuditAction::ProofSent,
                    &m.author,
                    upn,
                    serde_json::json!({"to": to, "via": self.mailer.name()}),
                )
                .await?;
                t!(
                    self.core.texts(),
                    "link.code_sent",
                    upn = upn,
                    minutes = CODE_TTL.as_secs() / 60,
                    prefix = prefix
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, upn = %upn, "could not mail a link proof");
                links::burn_code(w.conn().await?, &m.author).await?;
                self.audit_link(
                    &mut w,
                    &Actor::System,
                    AuditAction::ProofFailed,
                    &m.author,
                    upn,
                    serde_json::json!({"reason": "mail not sent", "error": e.message}),
                )
                .await?;
                t!(
                    self.core.texts(),
                    "link.mail_failed",
                    upn = upn,
                    prefix = prefix
                )
            }
        };
        let text = match self.send_sign_in(&mut w, m, upn).await? {
            true => format!("{text} {}", t!(self.core.texts(), "link.sign_in_also")),
            false => text,
        };
        self.core.reply_and_commit(w, m, text).await
    }

    /// When sign-in is on, hands the speaker a one-time start link by direct message (never in
    /// a channel: it is theirs). Returns whether it did.
    async fn send_sign_in(
        &self,
        tx: &mut WriteTx<'_>,
        m: &IncomingMessage,
        upn: &Upn,
    ) -> EngineResult<bool> {
        let Some(text) = self
            .issue_sign_in(tx, &m.author, &m.author_name, upn)
            .await?
        else {
            return Ok(false);
        };
        outbox::push(
            tx,
            &crate::store::outbox::ChatAction::Dm {
                user: m.author.clone(),
                content: text,
                fallback: None,
                fallback_reply_to: None,
            },
            self.core.now(),
        )?;
        Ok(true)
    }

    /// `verify CODE`: finishes a pending link with the mailed code. Only in a direct message
    /// (or a slash command only the bot sees): a code typed where others can read it is burnt,
    /// and the message deleted where the platform allows.
    pub(super) async fn verify(&self, m: &IncomingMessage, code: &str) -> EngineResult<()> {
        let actor = Actor::chat(&m.author);
        let prefix = self.core.cfg().parser.prefix.clone();
        let link = {
            let mut conn = self.core.store().read().await?;
            links::get(&mut conn, &m.author).await?
        };
        let Some(link) = link.filter(|l| l.state == LinkState::Pending) else {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "verify.nothing_pending",
                prefix = prefix
            )));
        };
        if m.public {
            return self.burn_public_code(m, &link).await;
        }
        if link.locked || link.code_hash.is_none() {
            return Err(EngineError::User(self.unverified_text(&link)));
        }
        let now = self.core.now();
        if link.code_expires_at.is_some_and(|at| at <= now) {
            return self.code_expired(m, &link).await;
        }
        // Count the try before checking the code: tries made at the same moment each use
        // one, and none gets past the lock.
        let tries = self.count_try(m, &link).await?;
        let hash = link.code_hash.clone().unwrap_or_default();
        let matches = tokio::task::spawn_blocking({
            let code = code.to_string();
            move || code_matches(&code, &hash)
        })
        .await
        .map_err(|e| EngineError::Unexpected(e.into()))?;
        if !matches {
            return self.wrong_code(m, &link, tries).await;
        }
        let user = self.linkable(&link.upn).await?;
        let mut w = self.core.store().write().await?;
        self.verify_link(
            &mut w,
            &m.author,
            &link.upn,
            &user.id,
            LinkMethod::MailCode,
            None,
            &actor,
        )
        .await?;
        let text = t!(
            self.core.texts(),
            "verify.done",
            name = self.core.display_name(&user.display_name),
            upn = link.upn
        );
        self.core.reply_and_commit(w, m, text).await
    }

    /// The pending code has expired: burnt and audited; the answer says how to start again.
    async fn code_expired(&self, m: &IncomingMessage, link: &Link) -> EngineResult<()> {
        let prefix = &self.core.cfg().parser.prefix;
        let mut w = self.core.store().write().await?;
        links::burn_code(w.conn().await?, &m.author).await?;
        self.audit_own_link(
            &mut w,
            m,
            &link.upn,
            AuditAction::ProofFailed,
            serde_json::json!({"reason": "code expired"}),
        )
        .await?;
        w.commit().await?;
        Err(EngineError::User(t!(
            self.core.texts(),
            "verify.expired",
            upn = link.upn,
            prefix = prefix
        )))
    }

    /// Counts a try before the code is checked: tries made at the same moment each use one,
    /// and none gets past the lock. Returns the tries made, the lock when they are used up.
    async fn count_try(&self, m: &IncomingMessage, link: &Link) -> EngineResult<i64> {
        let prefix = &self.core.cfg().parser.prefix;
        let mut w = self.core.store().write().await?;
        let current = links::get(w.conn().await?, &m.author).await?;
        let same = current.as_ref().is_some_and(|c| {
            c.code_hash == link.code_hash && !c.locked && c.state == LinkState::Pending
        });
        if !same {
            return Err(EngineError::User(match current {
                Some(c) if c.state == LinkState::Pending => self.unverified_text(&c),
                _ => t!(self.core.texts(), "verify.nothing_pending", prefix = prefix),
            }));
        }
        if current.is_some_and(|c| c.code_tries >= MAX_TRIES) {
            // Tries used up by attempts that did not finish: locked now.
            links::lock(w.conn().await?, &m.author).await?;
            w.commit().await?;
            return Err(EngineError::User(self.unproven(&link.upn, "locked")));
        }
        let tries = links::count_try(w.conn().await?, &m.author).await?;
        w.commit().await?;
        Ok(tries)
    }

    /// A wrong code: the try was counted; at [`MAX_TRIES`] the pending link locks.
    async fn wrong_code(&self, m: &IncomingMessage, link: &Link, tries: i64) -> EngineResult<()> {
        let prefix = &self.core.cfg().parser.prefix;
        let mut w = self.core.store().write().await?;
        let locked = tries >= MAX_TRIES;
        if locked {
            links::lock(w.conn().await?, &m.author).await?;
        }
        self.audit_own_link(
            &mut w,
            m,
            &link.upn,
            AuditAction::ProofFailed,
            serde_json::json!({"reason": "wrong code", "tries": tries, "locked": locked}),
        )
        .await?;
        w.commit().await?;
        Err(EngineError::User(if locked {
            self.unproven(&link.upn, "locked")
        } else {
            t!(
                self.core.texts(),
                "verify.wrong",
                left = MAX_TRIES - tries,
                prefix = prefix
            )
        }))
    }

    /// A code typed where others can read it: burnt, the message deleted where possible, and
    /// the person told to start again and answer in a direct message.
    async fn burn_public_code(&self, m: &IncomingMessage, link: &Link) -> EngineResult<()> {
        let deleted = self.chat.delete(&m.channel, &m.id).await;
        if let Err(e) = &deleted {
            tracing::warn!(error = %e, "could not delete a message holding a code");
        }
        let mut w = self.core.store().write().await?;
        links::burn_code(w.conn().await?, &m.author).await?;
        let detail = serde_json::json!({
            "reason": "code typed in public",
            "message_deleted": deleted.is_ok(),
        });
        self.audit_own_link(&mut w, m, &link.upn, AuditAction::ProofFailed, detail)
            .await?;
        let text = t!(
            self.core.texts(),
            "verify.public",
            upn = link.upn,
            prefix = self.core.cfg().parser.prefix
        );
        self.core.reply_and_commit(w, m, text).await
    }

    /// Verifies `user`'s link to `upn` (object id `object_id`) by `method`, done by `actor`,
    /// taking it from any other chat account that held it; audited as `link_verified`, or as
    /// `link_attested` when an approver (`attested_by`) vouched for it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn verify_link(
        &self,
        tx: &mut WriteTx<'_>,
        user: &ChatUserId,
        upn: &Upn,
        object_id: &str,
        method: LinkMethod,
        attested_by: Option<&ChatUserId>,
        actor: &Actor,
    ) -> EngineResult<()> {
        self.move_owner(tx, user, upn, object_id, actor).await?;
        links::verify(
            tx.conn().await?,
            user,
            upn,
            object_id,
            method,
            attested_by,
            self.core.now(),
        )
        .await?;
        let (action, detail) = match attested_by {
            Some(by) => (
                AuditAction::LinkAttested,
                serde_json::json!({"method": method.as_str(), "attested_by": by.as_str(), "object_id": object_id}),
            ),
            None => (
                AuditAction::LinkVerified,
                serde_json::json!({"method": method.as_str(), "object_id": object_id}),
            ),
        };
        self.audit_link(tx, actor, action, user, upn, detail).await
    }

    /// One owner per directory account: a verified link of another chat account to the same
    /// directory user (by object id) is removed, audited, and its chat account told.
    async fn move_owner(
        &self,
        tx: &mut WriteTx<'_>,
        to: &ChatUserId,
        upn: &Upn,
        object_id: &str,
        actor: &Actor,
    ) -> EngineResult<()> {
        let Some(previous) = links::verified_owner(tx.conn().await?, object_id).await? else {
            return Ok(());
        };
        if &previous.chat_user == to {
            return Ok(());
        }
        links::remove(tx.conn().await?, &previous.chat_user).await?;
        self.audit_link(
            tx,
            actor,
            AuditAction::LinkMoved,
            &previous.chat_user,
            upn,
            serde_json::json!({"to": to.as_str()}),
        )
        .await?;
        let text = || {
            t!(
                self.core.texts(),
                "link.moved_away",
                upn = upn,
                prefix = self.core.cfg().parser.prefix
            )
        };
        self.core.tell_user(tx, &previous.chat_user, &text).await?;
        Ok(())
    }

    /// `link <@user> <upn>`: an approver holding an assign role vouches that a chat account
    /// is the directory user's. Audited; the person is told.
    async fn attest(&self, m: &IncomingMessage, user: &ChatUserId, upn: &Upn) -> EngineResult<()> {
        let (_, roles) = self.directory.issuer_roles(m).await.map_err(|e| match e {
            EngineError::User(_) if self.core.cfg().approver(&m.author).is_none() => {
                EngineError::User(t!(self.core.texts(), "link.attest_approvers_only"))
            }
            other => other,
        })?;
        if !roles.intersects(&self.core.cfg().assign_roles) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.attest_needs_role",
                roles = self.core.role_names(&self.core.cfg().assign_roles)
            )));
        }
        if let Some(a) = self.core.cfg().approver(user) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.configured",
                who = self.core.mention(user),
                upn = a.upn
            )));
        }
        let directory = self.linkable(upn).await?;
        let actor = Actor::chat(&m.author);
        let mut w = self.core.store().write().await?;
        self.verify_link(
            &mut w,
            user,
            upn,
            &directory.id,
            LinkMethod::Admin,
            Some(&m.author),
            &actor,
        )
        .await?;
        let told = || {
            t!(
                self.core.texts(),
                "link.attested_you",
                who = self.core.mention(&m.author),
                upn = upn
            )
        };
        self.core.tell_user(&mut w, user, &told).await?;
        let text = t!(
            self.core.texts(),
            "link.attested",
            who = self.core.mention(user),
            upn = upn
        );
        self.core.reply_and_commit(w, m, text).await
    }

    /// `unlink`: a person undoes their own link. `unlink <upn|@user>`: an approver undoes
    /// someone else's (made by mistake, or by someone who is not the account's owner), and
    /// that person is told. Links set by the configuration (approvers) cannot be undone in
    /// chat. Requests already made keep the link they were made with.
    pub(super) async fn unlink(
        &self,
        m: &IncomingMessage,
        target: Option<Target>,
    ) -> EngineResult<()> {
        let own = match &target {
            None => true,
            Some(Target::Mention(user)) => user == &m.author,
            Some(Target::Upn(_)) => false,
        };
        if let Some(a) = self.core.cfg().approver(&m.author).filter(|_| own) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.approver_fixed",
                upn = a.upn
            )));
        }
        if !own && self.core.cfg().approver(&m.author).is_none() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "link.unlink_others_approvers_only",
                prefix = self.core.cfg().parser.prefix
            )));
        }
        let mut w = self.core.store().write().await?;
        let unlinked = self.links_to_remove(&mut w, m, target.as_ref()).await?;
        if unlinked.is_empty() {
            let text = match &target {
                None => t!(self.core.texts(), "link.none"),
                Some(Target::Mention(user)) => {
                    t!(
                        self.core.texts(),
                        "link.none_for_user",
                        who = self.core.mention(user)
                    )
                }
                Some(Target::Upn(upn)) => t!(self.core.texts(), "link.none_for_upn", upn = upn),
            };
            return Err(EngineError::User(text));
        }
        let actor = Actor::chat(&m.author);
        for (user, upn) in &unlinked {
            links::remove(w.conn().await?, user).await?;
            self.audit_link(
                &mut w,
                &actor,
                AuditAction::Unlinked,
                user,
                upn,
                serde_json::json!({"by": if own { "self" } else { "approver" }}),
            )
            .await?;
            if user != &m.author {
                let text = || {
                    t!(
                        self.core.texts(),
                        "link.removed_by",
                        who = self.core.mention(&m.author),
                        upn = upn,
                        prefix = self.core.cfg().parser.prefix
                    )
                };
                self.core.tell_user(&mut w, user, &text).await?;
            }
        }
        let text = if own {
            t!(
                self.core.texts(),
                "link.removed",
                upn = unlinked[0].1,
                prefix = self.core.cfg().parser.prefix
            )
        } else {
            let who: Vec<String> = unlinked.iter().map(|(u, _)| self.core.mention(u)).collect();
            t!(
                self.core.texts(),
                "link.removed_other",
                who = who.join(" "),
                upn = unlinked[0].1
            )
        };
        self.core.reply_and_commit(w, m, text).await
    }

    /// The links `target` names (none: the author's own), each with its chat account and
    /// UPN; a link the settings configure (an approver's) cannot be removed.
    async fn links_to_remove(
        &self,
        tx: &mut WriteTx<'_>,
        m: &IncomingMessage,
        target: Option<&Target>,
    ) -> EngineResult<Vec<(ChatUserId, Upn)>> {
        Ok(match target {
            None => links::get(tx.conn().await?, &m.author)
                .await?
                .map(|l| vec![(m.author.clone(), l.upn)])
                .unwrap_or_default(),
            Some(Target::Mention(user)) => {
                if let Some(a) = self.core.cfg().approver(user) {
                    return Err(self.configured(user, &a.upn));
                }
                links::get(tx.conn().await?, user)
                    .await?
                    .map(|l| vec![(user.clone(), l.upn)])
                    .unwrap_or_default()
            }
            Some(Target::Upn(upn)) => {
                if let Some(a) = self.core.cfg().approvers.iter().find(|a| &a.upn == upn) {
                    return Err(self.configured(&a.chat_user, upn));
                }
                links::users_for(tx.conn().await?, upn)
                    .await?
                    .into_iter()
                    .map(|u| (u, upn.clone()))
                    .collect()
            }
        })
    }

    /// An audit event about a link: it belongs to no request; its detail names the chat
    /// account and the directory user (`licensebot links` shows them as the link's history).
    /// Audits a step of `m`'s author's own link, done by them.
    async fn audit_own_link(
        &self,
        tx: &mut WriteTx<'_>,
        m: &IncomingMessage,
        upn: &Upn,
        action: AuditAction,
        detail: serde_json::Value,
    ) -> EngineResult<()> {
        self.audit_link(tx, &Actor::chat(&m.author), action, &m.author, upn, detail)
            .await
    }

    pub(super) async fn audit_link(
        &self,
        tx: &mut WriteTx<'_>,
        actor: &Actor,
        action: AuditAction,
        chat_user: &ChatUserId,
        upn: &Upn,
        mut detail: serde_json::Value,
    ) -> EngineResult<()> {
        detail["chat_user"] = serde_json::json!(chat_user.as_str());
        detail["upn"] = serde_json::json!(upn.as_str());
        self.core
            .audit_note(tx, None, actor, action, &detail.to_string())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 8, "{c}");
            assert!(c.bytes().all(|b| b.is_ascii_digit()), "{c}");
        }
    }

    #[test]
    fn a_hash_matches_its_code_only_and_never_holds_it() {
        let hash = hash_code("12345678").unwrap();
        assert!(!hash.contains("12345678"));
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(code_matches("12345678", &hash));
        assert!(!code_matches("12345679", &hash));
        assert!(!code_matches("12345678", "not a hash"));
        assert_ne!(hash, hash_code("12345678").unwrap(), "salted");
    }
}
