//! `POST /auth/phone`: prove a phone number and bind it (DESIGN §3). Two proofs:
//!
//! - new style, a `getPhoneNumber` code: claimed in the table first so that it reaches WeChat
//!   (a paid call) at most once; a retry by the same openid gets the first answer with no second
//!   call; another openid presenting it is refused. The WeChat access_token comes from the
//!   per-instance cache (`stable_token`, normal mode, one retry on a rejected token).
//! - legacy `encryptedData` + `iv`: decrypted with the stored session_key. Every failure of the
//!   data itself is one answer (`DECRYPT_FAILED`); a missing, expired or rotated key is
//!   `SESSION_KEY_STALE` (`checksession` tells a rotated key from bad data).

use super::abuse_guard::source_scope;
use super::backend::Backend;
use super::binding::Bound;
use super::session_tokens::{SessionFor, SessionTokens};
use crate::crypto::sha256_hex;
use crate::domain::PhoneNumber;
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Counter};
use crate::open_data::{self, OpenDataError};
use crate::principal::Principal;
use crate::secrets::SecretSource;
use crate::store::{CodeClaims, Counters, Identities, PhoneOwnership, Sessions, SmsCodes};
use crate::store::{KeyDirectory, PhoneCodeClaim};
use crate::wechat::WeChatApi;
use serde_json::Value;

/// How long a phone-code claim (and its answer) is kept: the code's 5 minutes plus margin.
pub const PHONE_CODE_CLAIM_TTL_SECS: u64 = 600;
const MAX_CIPHERTEXT_CHARS: usize = 8 * 1024;

/// The proof a client posts.
#[derive(Debug)]
pub enum PhoneProof {
    Code(String),
    /// A phone number and the SMS code we sent to it.
    Sms {
        phone: PhoneNumber,
        code: String,
    },
    Encrypted {
        encrypted_data: String,
        iv: String,
    },
}

/// What a proved number is for: a first bind, or replacing the bound one (the fee guard's
/// `PHONE_ALREADY_BOUND` is a bind's rule only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneUse {
    Bind,
    Change,
}

/// Every proof's ports: the paid-code claim (`CodeClaims`), the SMS proof (`SmsCodes`,
/// `Counters`), the stored session_key (`Sessions`), the binding (`Identities`,
/// `PhoneOwnership`) and the new session (`Sessions`, `KeyDirectory`).
impl<S, W: WeChatApi, X: SecretSource> Backend<S, W, X>
where
    S: CodeClaims + SmsCodes + Counters + Sessions + Identities + PhoneOwnership + KeyDirectory,
{
    /// `source_ip`: the address API Gateway saw, for the abuse guard's per-address limits.
    pub async fn bind_phone(
        &self,
        claimant: &Principal,
        proof: PhoneProof,
        source_ip: Option<&str>,
    ) -> AppResult<SessionTokens> {
        let phone = self
            .prove_phone(claimant, proof, source_ip, PhoneUse::Bind)
            .await?;
        let Bound {
            user_id,
            phone,
            created,
        } = self.bind_verified_phone(claimant, &phone).await?;
        self.start_session(
            SessionFor {
                user_id: &user_id,
                appid: claimant.appid(),
                openid: claimant.openid(),
                phone: Some(&phone),
                created,
                after_cutoff: None,
            },
            None,
        )
        .await
    }

    /// The number a proof proves (each proof's own rules; the paid one behind the fee guard).
    pub(super) async fn prove_phone(
        &self,
        claimant: &Principal,
        proof: PhoneProof,
        source_ip: Option<&str>,
        phone_use: PhoneUse,
    ) -> AppResult<PhoneNumber> {
        match proof {
            PhoneProof::Code(code) => {
                self.phone_from_code(claimant, &code, source_ip, phone_use)
                    .await
            }
            PhoneProof::Sms { phone, code } => {
                self.verify_sms_code(&phone, &code).await?;
                Ok(phone)
            }
            PhoneProof::Encrypted { encrypted_data, iv } => {
                self.phone_from_encrypted(claimant, &encrypted_data, &iv)
                    .await
            }
        }
    }

    async fn phone_from_code(
        &self,
        claimant: &Principal,
        code: &str,
        source_ip: Option<&str>,
        phone_use: PhoneUse,
    ) -> AppResult<PhoneNumber> {
        let (appid, openid) = (claimant.appid(), claimant.openid());
        let digest = sha256_hex(format!("{}:{code}", appid.as_str()).as_bytes());
        let now = self.clock.now();
        match self
            .store
            .claim_phone_code(appid, &digest, openid, now, now + PHONE_CODE_CLAIM_TTL_SECS)
            .await?
        {
            PhoneCodeClaim::Done(phone) => {
                tracing::info!(appid = %appid, "phone code retried; first answer reused, WeChat not called");
                return Ok(phone);
            }
            PhoneCodeClaim::OtherOwner => {
                tracing::warn!(appid = %appid, "phone code presented by a second openid; refused");
                return Err(AppError::InvalidCode);
            }
            PhoneCodeClaim::Pending => {
                return Err(AppError::ServiceUnavailable(
                    "the same phone code is being bound".into(),
                ));
            }
            PhoneCodeClaim::Fresh => {}
        }
        if let Err(refused) = self.before_paying(claimant, source_ip, phone_use).await {
            // Nothing was asked of WeChat: the same code may be tried again.
            self.store.release_phone_code(appid, &digest).await?;
            return Err(refused);
        }
        match self.ask_wechat_for_phone(claimant, code).await {
            Ok(phone) => {
                metrics::count(Counter::PaidPhoneCalls);
                self.store
                    .complete_phone_code(appid, &digest, &phone)
                    .await?;
                Ok(phone)
            }
            Err(e) => {
                // WeChat did not give a number: the same code may be tried again.
                self.store.release_phone_code(appid, &digest).await?;
                Err(e)
            }
        }
    }

    /// The fee guard, before a paid `getuserphonenumber`: what stored state already answers
    /// (a user with a bound phone cannot bind another: `PHONE_ALREADY_BOUND`, unless the number
    /// is to replace it), then the
    /// per-openid and per-address limits and the app's daily budget.
    async fn before_paying(
        &self,
        claimant: &Principal,
        source_ip: Option<&str>,
        phone_use: PhoneUse,
    ) -> AppResult<()> {
        if phone_use == PhoneUse::Bind
            && let Principal::User(session) = claimant
            && self
                .store
                .get_user(&session.user_id)
                .await?
                .is_some_and(|user| user.phone.is_some())
        {
            tracing::info!(appid = %claimant.appid(), "phone already bound; WeChat not paid");
            return Err(AppError::PhoneAlreadyBound);
        }
        let limits = &self.limits;
        let who = format!(
            "{}#{}",
            claimant.appid().as_str(),
            claimant.openid().as_str()
        );
        self.admit("phone-user", &who, limits.phone_per_user)
            .await?;
        self.admit(
            "phone-address",
            &source_scope(source_ip),
            limits.phone_per_address,
        )
        .await?;
        self.spend(
            "PHONE_BUDGET",
            claimant.appid().as_str(),
            limits.phone_budget,
        )
        .await?;
        Ok(())
    }

    async fn ask_wechat_for_phone(
        &self,
        claimant: &Principal,
        code: &str,
    ) -> AppResult<PhoneNumber> {
        let (appid, openid) = (claimant.appid(), claimant.openid());
        let now = self.clock.now();
        let wx = self
            .with_app_secret(appid, |secret| async move {
                self.access_tokens
                    .with_token(&self.wechat, appid, &secret, now, |token| async move {
                        self.wechat
                            .get_user_phone_number(&token, code, openid)
                            .await
                    })
                    .await
            })
            .await?;
        if wx
            .watermark_appid
            .as_deref()
            .is_some_and(|a| a != appid.as_str())
        {
            return Err(AppError::Upstream(crate::error::UpstreamFault::BadReply));
        }
        Ok(wx.phone)
    }

    async fn phone_from_encrypted(
        &self,
        claimant: &Principal,
        encrypted_data: &str,
        iv: &str,
    ) -> AppResult<PhoneNumber> {
        if encrypted_data.len() > MAX_CIPHERTEXT_CHARS || iv.len() > 64 {
            return Err(AppError::InvalidRequest("encrypted_data or iv is too long"));
        }
        let (appid, openid) = (claimant.appid(), claimant.openid());
        let now = self.clock.now();
        let record = self
            .store
            .get_session_key(appid, openid, now)
            .await?
            .ok_or(AppError::SessionKeyStale)?;
        let payload = match open_data::open(
            record.session_key.expose(),
            encrypted_data,
            iv,
            appid.as_str(),
            now,
        ) {
            Ok(payload) => payload,
            Err(OpenDataError::SessionKeyCorrupt) => {
                return Err(AppError::internal(
                    OpenDataError::SessionKeyCorrupt.reason(),
                ));
            }
            Err(OpenDataError::WrongKey) => {
                return Err(self
                    .stale_or_failed(
                        claimant,
                        &record.session_key,
                        OpenDataError::WrongKey.reason(),
                    )
                    .await);
            }
            Err(other) => return Err(decrypt_failed(other.reason())),
        };
        phone_from_payload(&payload)
    }

    /// A decryption that failed may mean a newer `wx.login` rotated the key: ask WeChat.
    async fn stale_or_failed(
        &self,
        claimant: &Principal,
        session_key: &crate::domain::SessionKey,
        why: &str,
    ) -> AppError {
        let (appid, openid) = (claimant.appid(), claimant.openid());
        let who = format!("{}#{}", appid.as_str(), openid.as_str());
        if let Err(refused) = self
            .admit("checksession", &who, self.limits.checksession_per_user)
            .await
        {
            return refused;
        }
        let now = self.clock.now();
        let checked = self
            .with_app_secret(appid, |secret| async move {
                self.access_tokens
                    .with_token(&self.wechat, appid, &secret, now, |token| async move {
                        self.wechat.check_session(&token, openid, session_key).await
                    })
                    .await
            })
            .await;
        match checked {
            Ok(false) => {
                tracing::info!(appid = %appid, "session_key rotated by a newer wx.login");
                AppError::SessionKeyStale
            }
            _ => decrypt_failed(why),
        }
    }
}

fn decrypt_failed(why: &str) -> AppError {
    tracing::info!(reason = why, "legacy phone data refused");
    AppError::DecryptFailed
}

/// The phone fields of opened legacy data (watermark already checked); any flaw is
/// `DECRYPT_FAILED`.
fn phone_from_payload(payload: &Value) -> AppResult<PhoneNumber> {
    let country = match payload.get("countryCode") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(decrypt_failed("countryCode")),
    };
    let pure = payload
        .get("purePhoneNumber")
        .and_then(Value::as_str)
        .ok_or_else(|| decrypt_failed("purePhoneNumber"))?;
    if payload.get("phoneNumber").and_then(Value::as_str).is_none() {
        return Err(decrypt_failed("phoneNumber"));
    }
    PhoneNumber::from_parts(&country, pure).map_err(|_| decrypt_failed("phone digits"))
}
