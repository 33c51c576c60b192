//! `CodeClaims` on DynamoDB: a claim is a conditional put that succeeds only where no live
//! claim is (so concurrent claims of one code have one winner); a phone code's answer is
//! written onto its claim.

use super::DynamoStore;
use super::item::{get_s, n, phone_of, s};
use super::write::{condition_may_fail, item_exists, unavailable};
use crate::domain::{AppId, OpenId, PhoneNumber};
use crate::store::attrs::{EXPIRES_AT, KIND, OPENID, PHONE, PK, kind};
use crate::store::{CodeClaim, CodeClaims, PhoneCodeClaim, StoreResult, keys};

/// The condition of a claim: no claim, or only an expired one.
fn unclaimed() -> String {
    format!("attribute_not_exists({PK}) OR {EXPIRES_AT} <= :now")
}

impl CodeClaims for DynamoStore {
    async fn claim_login_code(
        &self,
        appid: &AppId,
        digest: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<CodeClaim> {
        let result = self
            .put_item()
            .item(PK, s(keys::login_code(appid, digest)))
            .item(KIND, s(kind::LOGIN_CODE))
            .item(EXPIRES_AT, n(expires_at))
            .condition_expression(unclaimed())
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(if condition_may_fail(result)? {
            CodeClaim::Fresh
        } else {
            CodeClaim::Replayed
        })
    }

    async fn claim_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        openid: &OpenId,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<PhoneCodeClaim> {
        let pk = keys::phone_code(appid, digest);
        let result = self
            .put_item()
            .item(PK, s(&pk))
            .item(KIND, s(kind::PHONE_CODE))
            .item(OPENID, s(openid.as_str()))
            .item(EXPIRES_AT, n(expires_at))
            .condition_expression(unclaimed())
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        if condition_may_fail(result)? {
            return Ok(PhoneCodeClaim::Fresh);
        }
        // Someone holds the claim: whose, and is the answer in? (A read, deciding nothing.)
        let Some(item) = self.get(pk).await? else {
            return Ok(PhoneCodeClaim::Pending);
        };
        if get_s(&item, OPENID) != Some(openid.as_str()) {
            return Ok(PhoneCodeClaim::OtherOwner);
        }
        Ok(match phone_of(&item)? {
            Some(phone) => PhoneCodeClaim::Done(phone),
            None => PhoneCodeClaim::Pending,
        })
    }

    async fn complete_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        phone: &PhoneNumber,
    ) -> StoreResult<()> {
        // Only onto an existing claim: an upsert would leave an item without an owner or an
        // expiry, which every later claim of the code would read as someone else's, forever.
        let result = self
            .update_item(keys::phone_code(appid, digest))
            .update_expression(format!("SET {PHONE} = :phone"))
            .condition_expression(item_exists())
            .expression_attribute_values(":phone", s(phone.e164()))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn release_phone_code(&self, appid: &AppId, digest: &str) -> StoreResult<()> {
        self.delete_item(keys::phone_code(appid, digest))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
