//! The `CodeClaims` port: one-time claims on the codes a mini program sends, so that a login
//! code, or a paid phone code, reaches WeChat at most once. It stores no users or phones'
//! owners, only the claim and WeChat's answer to it.

use super::{CodeClaim, PhoneCodeClaim, StoreResult};
use crate::domain::{AppId, OpenId, PhoneNumber};
use std::future::Future;

pub trait CodeClaims: Send + Sync {
    /// Claims a login code so that it is sent to WeChat at most once.
    fn claim_login_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        now: u64,
        expires_at: u64,
    ) -> impl Future<Output = StoreResult<CodeClaim>> + Send;

    /// Claims a phone code for `openid` so that it is sent to WeChat at most once.
    fn claim_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        openid: &OpenId,
        now: u64,
        expires_at: u64,
    ) -> impl Future<Output = StoreResult<PhoneCodeClaim>> + Send;

    /// Records WeChat's answer for a claimed phone code.
    fn complete_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Forgets a claim whose WeChat call failed, so the same code can be tried again.
    fn release_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
