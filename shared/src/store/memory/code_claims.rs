//! `CodeClaims` in memory: login-code and phone-code claims with their expiry (an expired
//! claim counts as absent) and, for phone codes, the owner openid and WeChat's answer.

use super::InMemoryStore;
use crate::domain::{AppId, OpenId, PhoneNumber};
use crate::store::{CodeClaim, CodeClaims, PhoneCodeClaim, StoreResult};

impl CodeClaims for InMemoryStore {
    async fn claim_login_code(
        &self,
        appid: &AppId,
        digest: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<CodeClaim> {
        let mut t = self.lock()?;
        let key = (appid.clone(), digest.to_owned());
        match t.codes.get(&key) {
            Some(exp) if *exp > now => Ok(CodeClaim::Replayed),
            _ => {
                t.codes.insert(key, expires_at);
                Ok(CodeClaim::Fresh)
            }
        }
    }

    async fn claim_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        openid: &OpenId,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<PhoneCodeClaim> {
        let mut t = self.lock()?;
        let key = (appid.clone(), digest.to_owned());
        match t.phone_codes.get(&key) {
            Some((owner, answer, exp)) if *exp > now => Ok(match (owner == openid, answer) {
                (false, _) => PhoneCodeClaim::OtherOwner,
                (true, Some(phone)) => PhoneCodeClaim::Done(phone.clone()),
                (true, None) => PhoneCodeClaim::Pending,
            }),
            _ => {
                t.phone_codes
                    .insert(key, (openid.clone(), None, expires_at));
                Ok(PhoneCodeClaim::Fresh)
            }
        }
    }

    async fn complete_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        phone: &PhoneNumber,
    ) -> StoreResult<()> {
        if let Some(claim) = self
            .lock()?
            .phone_codes
            .get_mut(&(appid.clone(), digest.to_owned()))
        {
            claim.1 = Some(phone.clone());
        }
        Ok(())
    }

    async fn release_phone_code(&self, appid: &AppId, digest: &str) -> StoreResult<()> {
        self.lock()?
            .phone_codes
            .remove(&(appid.clone(), digest.to_owned()));
        Ok(())
    }
}
