//! `Sessions` on DynamoDB: the session_key item per (appid, openid), refresh-family items
//! (rotated and revoked by conditional updates), and `sessions_valid_after` on the user item.

use super::DynamoStore;
use super::item::{Item, corrupt, get_n, get_s, item, n, s};
use super::write::{condition_may_fail, item_absent, item_exists, unavailable};
use crate::domain::{AppId, OpenId, UserId};
use crate::store::attrs::{
    APPID, CREATED_AT, EXPIRES_AT, FAMILY_ID, KIND, OPENID, PK, RETIRED, REVOKED, SECRET_HASH,
    SESSION_KEY, SESSIONS_VALID_AFTER, USER_ID, kind,
};
use crate::store::{Family, RotateOutcome, SessionKeyRecord, Sessions, StoreResult, keys};
use aws_sdk_dynamodb::types::AttributeValue;

fn family_item(family: &Family) -> Item {
    item([
        (PK, s(keys::family(&family.id))),
        (KIND, s(kind::REFRESH_FAMILY)),
        (FAMILY_ID, s(&family.id)),
        (USER_ID, s(family.user_id.as_str())),
        (APPID, s(family.appid.as_str())),
        (OPENID, s(family.openid.as_str())),
        (SECRET_HASH, s(&family.secret_hash)),
        (CREATED_AT, n(family.created_at)),
        (EXPIRES_AT, n(family.expires_at)),
        (REVOKED, AttributeValue::Bool(family.revoked)),
    ])
}

fn family_from(item: &Item) -> StoreResult<Family> {
    let field = |name: &str| get_s(item, name).ok_or_else(|| corrupt(name));
    Ok(Family {
        id: field(FAMILY_ID)?.to_owned(),
        user_id: UserId::parse(field(USER_ID)?).map_err(|_| corrupt(USER_ID))?,
        appid: AppId::parse(field(APPID)?).map_err(|_| corrupt(APPID))?,
        openid: OpenId::parse(field(OPENID)?).map_err(|_| corrupt(OPENID))?,
        secret_hash: field(SECRET_HASH)?.to_owned(),
        created_at: get_n(item, CREATED_AT).ok_or_else(|| corrupt(CREATED_AT))?,
        expires_at: get_n(item, EXPIRES_AT).ok_or_else(|| corrupt(EXPIRES_AT))?,
        revoked: item
            .get(REVOKED)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        retired: {
            let mut marks = item
                .get(RETIRED)
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default();
            marks.sort();
            marks
        },
    })
}

fn session_key_item(key: &SessionKeyRecord) -> Item {
    item([
        (PK, s(keys::session_key(&key.appid, &key.openid))),
        (KIND, s(kind::SESSION_KEY)),
        (SESSION_KEY, s(key.session_key.expose())),
        (EXPIRES_AT, n(key.expires_at)),
    ])
}

impl Sessions for DynamoStore {
    async fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> StoreResult<()> {
        // Two plain puts (1 write unit each, where a transaction costs 2 per item), the family
        // first: a collision refuses the session before the key is touched, and the caller
        // hands out tokens only after both succeeded (a family alone expires unused).
        let result = self
            .put_item()
            .set_item(Some(family_item(family)))
            .condition_expression(item_absent())
            .send()
            .await;
        if !condition_may_fail(result)? {
            return Err(corrupt("refresh family id collision"));
        }
        match key {
            Some(key) => self.put_session_key(key).await,
            None => Ok(()),
        }
    }

    async fn put_session_key(&self, key: &SessionKeyRecord) -> StoreResult<()> {
        self.put_item()
            .set_item(Some(session_key_item(key)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> StoreResult<Option<SessionKeyRecord>> {
        let Some(item) = self.get(keys::session_key(appid, openid)).await? else {
            return Ok(None);
        };
        let expires_at = get_n(&item, EXPIRES_AT).unwrap_or(0);
        if expires_at <= now {
            return Ok(None);
        }
        let session_key = get_s(&item, SESSION_KEY)
            .map(crate::domain::SessionKey::new)
            .ok_or_else(|| corrupt(SESSION_KEY))?;
        Ok(Some(SessionKeyRecord {
            appid: appid.clone(),
            openid: openid.clone(),
            session_key,
            expires_at,
        }))
    }

    async fn get_family(&self, family_id: &str, now: u64) -> StoreResult<Option<Family>> {
        let Some(item) = self.get(keys::family(family_id)).await? else {
            return Ok(None);
        };
        let family = family_from(&item)?;
        Ok((family.expires_at > now).then_some(family))
    }

    async fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> StoreResult<RotateOutcome> {
        let result = self
            .update_item(keys::family(family_id))
            .update_expression(format!(
                "SET {SECRET_HASH} = :new, {EXPIRES_AT} = :exp ADD {RETIRED} :mark"
            ))
            .condition_expression(format!(
                "{SECRET_HASH} = :old AND {REVOKED} = :false AND {EXPIRES_AT} > :now"
            ))
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(
                ":mark",
                AttributeValue::Ss(vec![crate::tokens::refresh::retired_mark(old_hash)]),
            )
            .expression_attribute_values(":exp", n(new_expires_at))
            .expression_attribute_values(":old", s(old_hash))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(if condition_may_fail(result)? {
            RotateOutcome::Rotated
        } else {
            RotateOutcome::Refused
        })
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        let result = self
            .update_item(keys::family(family_id))
            .update_expression(format!("SET {REVOKED} = :true"))
            .condition_expression(item_exists())
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn end_all_sessions(&self, user_id: &UserId, now: u64) -> StoreResult<Option<u64>> {
        // The cut-off moves to `now`, or, when it is already there (a cut earlier in this
        // second), one second on: two conditional updates, never a read before a write.
        let to_now = self
            .update_item(keys::user(user_id))
            .update_expression(format!("SET {SESSIONS_VALID_AFTER} = :now"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND (attribute_not_exists({SESSIONS_VALID_AFTER}) OR {SESSIONS_VALID_AFTER} < :now)"
            ))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        if condition_may_fail(to_now)? {
            return Ok(Some(now));
        }
        let onward = self
            .update_item(keys::user(user_id))
            .update_expression(format!(
                "SET {SESSIONS_VALID_AFTER} = {SESSIONS_VALID_AFTER} + :one"
            ))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {SESSIONS_VALID_AFTER} >= :now"
            ))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match super::write::when_condition_held(onward)? {
            // The condition failed: the user is gone (or the cut-off fell behind `now` between
            // the two writes, which only a clock step back does): no such user either way.
            None => Ok(None),
            Some(out) => Ok(out
                .attributes
                .as_ref()
                .and_then(|a| get_n(a, SESSIONS_VALID_AFTER))),
        }
    }
}
