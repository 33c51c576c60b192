//! `POST /auth/login`: a `wx.login` code → our session (DESIGN §1, §3).
//!
//! Rules: the code is claimed in the table before WeChat sees it, so a replay never reaches
//! WeChat; a known openid is the same user; an unknown openid with a known unionid joins that
//! user; otherwise SIGNUP_MODE decides (create the user, or answer `phone_required`). Every
//! write that decides ownership is conditional, so racing first logins make one user.

use super::abuse_guard::source_scope;
use super::backend::Backend;
use super::live_session::refuse_disabled;
use super::session_tokens::{SessionFor, SessionTokens};
use crate::crypto::sha256_hex;
use crate::domain::{AppId, LoginCode, OpenId, PhoneNumber, SignupMode, UnionId, UserId};
use crate::error::{AppError, AppResult};
use crate::events::{self, AccountEvent};
use crate::metrics::{self, Counter};
use crate::secrets::SecretSource;
use crate::store::{CodeClaim, CreateUserOutcome, LinkOutcome, SessionKeyRecord, User};
use crate::store::{CodeClaims, Counters, Identities, Sessions};
use crate::tokens::KeyDirectory;
use crate::wechat::{WeChatApi, WxSession};

/// How long a claimed code is remembered: its 5-minute life plus clock-skew margin.
pub const CODE_CLAIM_TTL_SECS: u64 = 600;
/// Conditional writes lost to a concurrent request are re-decided at most this often.
const MAX_IDENTITY_ATTEMPTS: usize = 4;

#[derive(Debug)]
pub struct LoginRequest {
    pub code: LoginCode,
    pub appid: Option<String>,
    /// The address API Gateway saw (the abuse guard's per-address limit).
    pub source_ip: Option<String>,
}

#[derive(Debug)]
pub enum LoginOutcome {
    Session(SessionTokens),
    PhoneRequired(PhoneRequired),
}

/// SIGNUP_MODE=phone and nobody owns this openid: a bind token to prove a phone with.
#[derive(Debug)]
pub struct PhoneRequired {
    pub bind_token: String,
    pub expires_in: u64,
}

/// The user a login resolved to.
struct Resolved {
    user_id: UserId,
    phone: Option<PhoneNumber>,
    created: bool,
}

impl<S, W: WeChatApi, X: SecretSource> Backend<S, W, X>
where
    S: CodeClaims + Counters + Identities + Sessions + KeyDirectory,
{
    pub async fn login(&self, request: LoginRequest) -> AppResult<LoginOutcome> {
        let apps = self.apps.get().await?;
        let (appid, _) = apps.select(request.appid.as_deref())?;
        // The quota'd jscode2session call is guarded before the code is claimed, so a refused
        // code can be tried again once the window has passed.
        let limits = &self.limits;
        let source = source_scope(request.source_ip.as_deref());
        self.admit("login-address", &source, limits.login_per_address)
            .await?;
        self.admit("login-app", appid.as_str(), limits.login_per_app)
            .await?;
        let now = self.clock.now();
        let digest = sha256_hex(format!("{}:{}", appid.as_str(), request.code.expose()).as_bytes());
        if self
            .store
            .claim_login_code(&appid, &digest, now, now + CODE_CLAIM_TTL_SECS)
            .await?
            == CodeClaim::Replayed
        {
            tracing::info!(appid = %appid, "login code replayed; WeChat not called");
            return Err(AppError::InvalidCode);
        }
        let session = self.exchange_code(&appid, &request.code).await?;
        let Some(resolved) = self.resolve_user(&appid, &session).await? else {
            return self.phone_required(&appid, &session).await;
        };
        let tokens = self
            .start_session(
                SessionFor {
                    user_id: &resolved.user_id,
                    appid: &appid,
                    openid: &session.openid,
                    phone: resolved.phone.as_ref(),
                    created: resolved.created,
                    after_cutoff: None,
                },
                Some(&session.session_key),
            )
            .await?;
        metrics::count(Counter::Logins);
        Ok(LoginOutcome::Session(tokens))
    }

    /// code2Session, re-reading a rejected secret once (`app_secret`): WeChat refuses a bad
    /// secret before it consumes the code, so the retry is safe.
    async fn exchange_code(&self, appid: &AppId, code: &LoginCode) -> AppResult<WxSession> {
        self.with_app_secret(appid, |secret| async move {
            self.wechat.code_to_session(appid, &secret, code).await
        })
        .await
    }

    /// Finds or creates the user; `None` means SIGNUP_MODE=phone and nobody owns this openid.
    async fn resolve_user(
        &self,
        appid: &AppId,
        session: &WxSession,
    ) -> AppResult<Option<Resolved>> {
        let unionid = session.unionid.as_ref();
        for _ in 0..MAX_IDENTITY_ATTEMPTS {
            let now = self.clock.now();
            if let Some(linked) = self
                .store
                .touch_openid_link(appid, &session.openid, unionid, now)
                .await?
            {
                refuse_disabled(linked.disabled)?;
                if let Some(u) = unionid
                    && linked.unionid.is_none()
                {
                    // A unionid WeChat starts sending later joins the user; an existing link wins.
                    self.store
                        .put_unionid_link_if_absent(u, &linked.user_id)
                        .await?;
                }
                return Ok(Some(Resolved {
                    user_id: linked.user_id,
                    phone: linked.phone,
                    created: false,
                }));
            }
            if let Some(u) = unionid
                && let Some(user_id) = self.store.find_unionid_user(u).await?
            {
                match self
                    .join_unionid_user(&user_id, appid, &session.openid, u)
                    .await?
                {
                    Some(resolved) => return Ok(Some(resolved)),
                    None => continue,
                }
            }
            if self.signup_mode == SignupMode::Phone {
                return Ok(None);
            }
            let user = User::new(UserId::new_random(), now);
            match self
                .store
                .create_user(&user, appid, &session.openid, unionid)
                .await?
            {
                CreateUserOutcome::Created => {
                    tracing::info!(user_id = %user.id, appid = %appid, "user created");
                    metrics::count(Counter::NewUsers);
                    events::publish(AccountEvent::UserCreated {
                        user_id: &user.id,
                        appid,
                        via: "login",
                    })
                    .await;
                    return Ok(Some(Resolved {
                        user_id: user.id,
                        phone: None,
                        created: true,
                    }));
                }
                CreateUserOutcome::OpenIdTaken
                | CreateUserOutcome::UnionIdTaken
                | CreateUserOutcome::PhoneTaken => continue,
            }
        }
        Err(AppError::ServiceUnavailable(
            "identity contention did not settle".into(),
        ))
    }

    /// Links this app's openid to the user another app created for the same unionid.
    /// `None`: lost a race, decide again.
    async fn join_unionid_user(
        &self,
        user_id: &UserId,
        appid: &AppId,
        openid: &OpenId,
        unionid: &UnionId,
    ) -> AppResult<Option<Resolved>> {
        let Some(user) = self.store.get_user(user_id).await? else {
            return Err(AppError::internal("unionid link names a missing user"));
        };
        refuse_disabled(user.disabled)?;
        match self
            .store
            .link_openid(&user, appid, openid, Some(unionid), self.clock.now())
            .await?
        {
            LinkOutcome::Linked => {
                tracing::info!(user_id = %user.id, appid = %appid, "openid joined its unionid's user");
                Ok(Some(Resolved {
                    user_id: user.id,
                    phone: user.phone,
                    created: false,
                }))
            }
            LinkOutcome::OpenIdTaken | LinkOutcome::UserChanged => Ok(None),
            LinkOutcome::UserHasOtherOpenId => Err(AppError::internal(
                "unionid's user already has another openid in this app",
            )),
        }
    }

    /// SIGNUP_MODE=phone and an unknown openid: keep the session_key (legacy phone data needs
    /// it) and hand out a bind token.
    async fn phone_required(&self, appid: &AppId, session: &WxSession) -> AppResult<LoginOutcome> {
        let keys = self.signing_keys().await?;
        let now = self.clock.now();
        let record = SessionKeyRecord {
            appid: appid.clone(),
            openid: session.openid.clone(),
            session_key: session.session_key.clone(),
            expires_at: now + super::session_tokens::SESSION_KEY_TTL_SECS,
        };
        let bind_token =
            self.issuer
                .bind_token(&keys, appid, &session.openid, session.unionid.as_ref(), now)?;
        self.store.put_session_key(&record).await?;
        Ok(LoginOutcome::PhoneRequired(PhoneRequired {
            bind_token,
            expires_in: self.issuer.settings.bind_ttl_secs,
        }))
    }
}
