//! The proof of a link by signing in to Microsoft Entra. `link upn` hands the chat user a
//! one-time start link by direct message; the bot's HTTP listener calls
//! [`Engine::sign_in_start`](super::Engine::sign_in_start) (→ the provider's sign-in, with
//! `state`, `nonce`, PKCE and the UPN as `login_hint`),
//! [`Engine::sign_in_callback`](super::Engine::sign_in_callback) (the code redeemed, the
//! id_token validated; the link proven only when `tid` is the configured tenant and `oid` the
//! directory user's object id, never by a name or mail claim) and
//! [`Engine::sign_in_confirm`](super::Engine::sign_in_confirm): a page with a POST button that
//! names the chat account stands between the sign-in and the link, so a link started by
//! someone else cannot be completed by a victim's click. The steps are methods of
//! `Links`, which holds the identity provider; the engine passes the listener's calls on.
//!
//! Every token (start, state, confirm) is random (256 bits), single use, stored as a hash, and
//! lives [`STEP_TTL`]. Every failure is a page that says what happened and what to do, and an
//! audit event with the reason.

use std::time::Duration;

use super::error::{EngineError, EngineResult};
use super::links::Links;
use crate::domain::{Actor, AuditAction, ChatUserId, LinkMethod, LinkState, Upn};
use crate::engine::ports::{AuthorizeRequest, IdClaims, IdentityProvider, SignInError};
use crate::store::links;
use crate::store::signins::{self, SignIn, Stage, TokenKind};
use crate::store::WriteTx;
use crate::t;

/// How long each step of a sign-in may take: the start link, the sign-in, the confirmation.
pub const STEP_TTL: Duration = Duration::from_secs(10 * 60);

/// A page of the sign-in, in words from the catalogue; the listener renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// Send the browser on (to the identity provider).
    Redirect(String),
    /// A page for the person.
    Show {
        /// The HTTP status.
        status: u16,
        /// The title.
        title: String,
        /// Paragraphs of text.
        paragraphs: Vec<String>,
        /// A form with one button: `(token, button label)`, posted to `/link/confirm`.
        confirm: Option<(String, String)>,
    },
}

/// A random token: 32 bytes, base64url without padding.
pub(super) fn random_token() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE challenge of a verifier: `BASE64URL(SHA256(verifier))`, no padding.
fn challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Why a sign-in step ends without a proof: the reason audited, the page shown, and whether
/// the attempt ends with it (a replayed token does not end the attempt it belonged to: the
/// person may still be on their way through it).
struct Failure {
    reason: String,
    page: Page,
    ends: bool,
}

impl Links {
    fn page(&self, status: u16, title: String, paragraphs: Vec<String>) -> Page {
        Page::Show {
            status,
            title,
            paragraphs,
            confirm: None,
        }
    }

    /// The page of a link that is no good (unknown, used, expired) at any step.
    fn not_valid(&self, reason: &str) -> Failure {
        Failure {
            ends: true,
            reason: reason.to_string(),
            page: self.page(
                400,
                t!(self.core.texts(), "page.not_valid_title"),
                vec![
                    t!(self.core.texts(), "page.not_valid"),
                    t!(
                        self.core.texts(),
                        "page.start_again",
                        prefix = self.core.cfg().parser.prefix
                    ),
                ],
            ),
        }
    }

    /// The attempt ends: the person signed in with another account than the link's
    /// (`said`: which one, for the page).
    fn wrong_account(&self, attempt: &SignIn, said: String, reason: String) -> StepError {
        let title = t!(self.core.texts(), "page.wrong_account_title");
        let page = self.page(403, title, vec![said]);
        let failure = Failure {
            reason,
            page,
            ends: true,
        };
        StepError::Failed(Some(attempt.clone()), failure)
    }

    /// The page of a token used a second time: refused, its attempt left as it is.
    fn replayed(&self, reason: &str) -> Failure {
        Failure {
            ends: false,
            ..self.not_valid(reason)
        }
    }

    /// The page of something gone wrong on the bot's side.
    fn page_internal(&self) -> Page {
        self.page(
            500,
            t!(self.core.texts(), "page.error_title"),
            vec![t!(self.core.texts(), "error.internal")],
        )
    }

    fn expired(&self, since: chrono::DateTime<chrono::Utc>) -> bool {
        (self.core.now() - since).to_std().unwrap_or_default() > STEP_TTL
    }

    /// Hands out a start link for `user`'s pending link to `upn`: stored (as a hash), and the
    /// text that carries it, for a direct message.
    pub(super) async fn issue_sign_in(
        &self,
        tx: &mut WriteTx<'_>,
        user: &ChatUserId,
        chat_name: &str,
        upn: &Upn,
    ) -> EngineResult<Option<String>> {
        let Some(public_url) = self.core.cfg().sign_in_url.as_deref() else {
            return Ok(None);
        };
        let token = random_token();
        signins::issue(
            tx.conn().await?,
            user,
            chat_name,
            upn,
            &token,
            self.core.now(),
        )
        .await?;
        let url = format!("{}/link/start?t={token}", public_url.trim_end_matches('/'));
        Ok(Some(t!(
            self.core.texts(),
            "link.sign_in_link",
            upn = upn,
            url = url,
            minutes = STEP_TTL.as_secs() / 60
        )))
    }

    /// `GET /link/start?t=…`: the start link, once: on to the identity provider's sign-in.
    #[tracing::instrument(skip_all)]
    pub(super) async fn sign_in_start(&self, token: &str) -> Page {
        match self.try_sign_in_start(token).await {
            Ok(page) => page,
            Err(e) => self.failed_page(e).await,
        }
    }

    async fn try_sign_in_start(&self, token: &str) -> Result<Page, StepError> {
        let Some(identity) = self.identity.as_ref() else {
            return Err(StepError::Failed(None, self.not_valid("sign-in is off")));
        };
        let why = ["the start link was used already", "the start link expired"];
        let attempt = self
            .attempt_at(TokenKind::Start, token, Stage::Issued, why)
            .await?;
        self.still_pending(&attempt).await?;
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        let url = identity
            .authorize_url(&AuthorizeRequest {
                redirect_uri: self.redirect_uri(),
                state: state.clone(),
                nonce: nonce.clone(),
                code_challenge: challenge(&verifier),
                login_hint: attempt.upn.to_string(),
            })
            .await
            .map_err(|e| StepError::Provider(Some(attempt.clone()), e))?;
        let mut w = self.core.store().write().await?;
        if !signins::start(
            w.conn().await?,
            attempt.id,
            &state,
            &nonce,
            &verifier,
            self.core.now(),
        )
        .await?
        {
            return Err(StepError::Failed(
                Some(attempt),
                self.replayed("the start link was used already"),
            ));
        }
        w.commit().await?;
        Ok(Page::Redirect(url))
    }

    /// `GET /link/callback?code=…&state=…` (or `?error=…`): the sign-in's answer. When the
    /// token names the linked directory user in the configured tenant, the person is asked to
    /// confirm; nothing is linked yet.
    #[tracing::instrument(skip_all)]
    pub(super) async fn sign_in_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
    ) -> Page {
        match self.try_sign_in_callback(state, code, error).await {
            Ok(page) => page,
            Err(e) => self.failed_page(e).await,
        }
    }

    async fn try_sign_in_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
    ) -> Result<Page, StepError> {
        let (identity, attempt) = self.callback_attempt(state, error).await?;
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Err(StepError::Failed(
                Some(attempt),
                self.not_valid("an answer without a code"),
            ));
        };
        let verifier = attempt.verifier.clone().unwrap_or_default();
        let claims = identity
            .redeem(code, &verifier, &self.redirect_uri())
            .await
            .map_err(|e| StepError::Provider(Some(attempt.clone()), e))?;
        self.check_signed_in_account(identity, &attempt, &claims)
            .await?;
        self.still_pending(&attempt).await?;
        let confirm = random_token();
        let mut w = self.core.store().write().await?;
        if !signins::prove(
            w.conn().await?,
            attempt.id,
            &claims.oid,
            &confirm,
            self.core.now(),
        )
        .await?
        {
            return Err(StepError::Failed(
                Some(attempt),
                self.replayed("the state was used already"),
            ));
        }
        w.commit().await?;
        Ok(Page::Show {
            status: 200,
            title: t!(self.core.texts(), "page.confirm_title"),
            paragraphs: vec![t!(
                self.core.texts(),
                "page.confirm",
                name = crate::texts::one_line(&attempt.chat_name, 100),
                upn = attempt.upn
            )],
            confirm: Some((confirm, t!(self.core.texts(), "page.confirm_button"))),
        })
    }

    /// The sign-in attempt a callback answers: sign-in on, a known state used once, in
    /// time, and no error from the identity provider.
    async fn callback_attempt(
        &self,
        state: Option<&str>,
        error: Option<&str>,
    ) -> Result<(&dyn IdentityProvider, SignIn), StepError> {
        let Some(identity) = self.identity.as_deref() else {
            return Err(StepError::Failed(None, self.not_valid("sign-in is off")));
        };
        let Some(state) = state.filter(|s| !s.is_empty()) else {
            return Err(StepError::Failed(
                None,
                self.not_valid("an answer without a state"),
            ));
        };
        let why = ["the state was used already", "the sign-in took too long"];
        let attempt = self
            .attempt_at(TokenKind::State, state, Stage::Started, why)
            .await?;
        if let Some(error) = error {
            let why = format!("the identity provider answered {error}");
            let page = self.page(
                400,
                t!(self.core.texts(), "page.not_finished_title"),
                vec![
                    t!(self.core.texts(), "page.not_finished"),
                    t!(
                        self.core.texts(),
                        "page.start_again",
                        prefix = self.core.cfg().parser.prefix
                    ),
                ],
            );
            return Err(StepError::Failed(
                Some(attempt),
                Failure {
                    reason: why,
                    page,
                    ends: true,
                },
            ));
        }
        Ok((identity, attempt))
    }

    /// The account signed in is the one the link names: the bot's tenant, and the directory
    /// object the UPN resolves to now.
    async fn check_signed_in_account(
        &self,
        identity: &dyn IdentityProvider,
        attempt: &SignIn,
        claims: &IdClaims,
    ) -> Result<(), StepError> {
        let tenant = identity
            .tenant()
            .await
            .map_err(|e| StepError::Provider(Some(attempt.clone()), e))?;
        if attempt.nonce.as_deref() != Some(claims.nonce.as_str()) {
            return Err(StepError::Failed(
                Some(attempt.clone()),
                self.not_valid("the token's nonce is not the one sent"),
            ));
        }
        if !claims.tid.eq_ignore_ascii_case(&tenant) {
            let reason = format!("signed in to tenant {}", claims.tid);
            let said = t!(self.core.texts(), "page.other_tenant", upn = attempt.upn);
            return Err(self.wrong_account(attempt, said, reason));
        }
        let expected = self
            .directory
            .tenant
            .object_id(&attempt.upn)
            .await
            .map_err(|e| {
                StepError::Provider(Some(attempt.clone()), SignInError::Unavailable(e.message))
            })?;
        if !claims.oid.eq_ignore_ascii_case(&expected) {
            let reason = format!("signed in as another account (oid {})", claims.oid);
            let said = t!(self.core.texts(), "page.other_account", upn = attempt.upn);
            return Err(self.wrong_account(attempt, said, reason));
        }
        Ok(())
    }

    /// `POST /link/confirm` (form `t`): the person confirms; the link is verified with
    /// method `sign_in`, its previous owner (if any) told, the chat user told by DM.
    #[tracing::instrument(skip_all)]
    pub(super) async fn sign_in_confirm(&self, token: &str) -> Page {
        match self.try_sign_in_confirm(token).await {
            Ok(page) => page,
            Err(e) => self.failed_page(e).await,
        }
    }

    async fn try_sign_in_confirm(&self, token: &str) -> Result<Page, StepError> {
        let why = [
            "the confirmation was used already",
            "the confirmation came too late",
        ];
        let attempt = self
            .attempt_at(TokenKind::Confirm, token, Stage::Proven, why)
            .await?;
        self.still_pending(&attempt).await?;
        let object_id = attempt.object_id.clone().unwrap_or_default();
        let now = self.core.now();
        let actor = Actor::chat(&attempt.chat_user);
        let mut w = self.core.store().write().await?;
        if !signins::end(w.conn().await?, attempt.id, Stage::Proven, Stage::Done, now).await? {
            return Err(StepError::Failed(
                Some(attempt),
                self.replayed("the confirmation was used already"),
            ));
        }
        self.verify_link(
            &mut w,
            &attempt.chat_user,
            &attempt.upn,
            &object_id,
            LinkMethod::SignIn,
            None,
            &actor,
        )
        .await?;
        let told = || t!(self.core.texts(), "verify.done_sign_in", upn = attempt.upn);
        self.core
            .tell_user(&mut w, &attempt.chat_user, &told)
            .await?;
        self.core.commit(w).await?;
        Ok(self.page(
            200,
            t!(self.core.texts(), "page.done_title"),
            vec![t!(self.core.texts(), "page.done", upn = attempt.upn)],
        ))
    }

    /// Where the provider sends the browser back.
    fn redirect_uri(&self) -> String {
        format!(
            "{}/link/callback",
            self.core
                .cfg()
                .sign_in_url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
        )
    }

    /// The attempt a token opens, or the page of a token that is no good.
    async fn attempt(&self, kind: TokenKind, token: &str) -> Result<SignIn, StepError> {
        let found = {
            let mut conn = self.core.store().read().await?;
            signins::by_token(&mut conn, kind, token).await?
        };
        found.ok_or_else(|| StepError::Failed(None, self.not_valid("an unknown token")))
    }

    /// The attempt a token opens when it stands at `stage` and is not too old (its clock
    /// runs from its creation while `Issued`, else from its last step); `why`: what the
    /// operator's log says of a token used again, and of one that came too late.
    async fn attempt_at(
        &self,
        kind: TokenKind,
        token: &str,
        stage: Stage,
        why: [&str; 2],
    ) -> Result<SignIn, StepError> {
        let attempt = self.attempt(kind, token).await?;
        let since = if stage == Stage::Issued {
            attempt.created_at
        } else {
            attempt.stage_at
        };
        if attempt.stage != stage {
            return Err(StepError::Failed(Some(attempt), self.replayed(why[0])));
        }
        if self.expired(since) {
            return Err(StepError::Failed(Some(attempt), self.not_valid(why[1])));
        }
        Ok(attempt)
    }

    /// The chat user's link must still be the pending one this attempt proves.
    async fn still_pending(&self, attempt: &SignIn) -> Result<(), StepError> {
        let link = {
            let mut conn = self.core.store().read().await?;
            links::get(&mut conn, &attempt.chat_user).await?
        };
        match link {
            Some(l) if l.state == LinkState::Pending && l.upn == attempt.upn => Ok(()),
            _ => Err(StepError::Failed(
                Some(attempt.clone()),
                self.not_valid("no pending link for this sign-in any more"),
            )),
        }
    }

    /// Ends a failed attempt (audited, never with a token or code) and gives its page.
    async fn failed_page(&self, e: StepError) -> Page {
        let (attempt, failure) = match e {
            StepError::Failed(a, f) => (a, f),
            StepError::Provider(a, e) => {
                let page = match &e {
                    SignInError::Unavailable(_) => self.page(
                        503,
                        t!(self.core.texts(), "page.error_title"),
                        vec![
                            t!(self.core.texts(), "page.unavailable"),
                            t!(
                                self.core.texts(),
                                "page.start_again",
                                prefix = self.core.cfg().parser.prefix
                            ),
                        ],
                    ),
                    SignInError::Refused(_) | SignInError::Invalid(_) => self.page(
                        400,
                        t!(self.core.texts(), "page.not_finished_title"),
                        vec![
                            t!(self.core.texts(), "page.not_checked"),
                            t!(
                                self.core.texts(),
                                "page.start_again",
                                prefix = self.core.cfg().parser.prefix
                            ),
                        ],
                    ),
                };
                (
                    a,
                    Failure {
                        reason: e.to_string(),
                        page,
                        ends: true,
                    },
                )
            }
            StepError::Internal(e) => {
                tracing::error!(error = %e, "a sign-in step failed");
                return self.page_internal();
            }
        };
        tracing::warn!(reason = %failure.reason, "a sign-in proof failed");
        let recorded = async {
            let mut w = self.core.store().write().await?;
            match &attempt {
                Some(a) => {
                    if failure.ends && !matches!(a.stage, Stage::Done | Stage::Failed) {
                        signins::end(
                            w.conn().await?,
                            a.id,
                            a.stage,
                            Stage::Failed,
                            self.core.now(),
                        )
                        .await?;
                    }
                    self.audit_link(
                        &mut w,
                        &Actor::chat(&a.chat_user),
                        AuditAction::ProofFailed,
                        &a.chat_user,
                        &a.upn,
                        serde_json::json!({"proof": "sign_in", "reason": failure.reason}),
                    )
                    .await?;
                }
                None => {
                    self.core
                        .audit_note(
                            &mut w,
                            None,
                            &Actor::Web,
                            AuditAction::ProofFailed,
                            &serde_json::json!({"proof": "sign_in", "reason": failure.reason})
                                .to_string(),
                        )
                        .await?;
                }
            }
            w.commit().await?;
            Ok::<(), EngineError>(())
        }
        .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "could not record a failed sign-in");
        }
        failure.page
    }
}

/// How a sign-in step went wrong.
enum StepError {
    /// A token or answer that is no good: its attempt (when known) and its page.
    Failed(Option<SignIn>, Failure),
    /// The identity provider refused, failed, or sent something invalid.
    Provider(Option<SignIn>, SignInError),
    /// The store or something else on the bot's side.
    Internal(EngineError),
}

impl From<crate::store::StoreError> for StepError {
    fn from(e: crate::store::StoreError) -> Self {
        StepError::Internal(e.into())
    }
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        StepError::Internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
