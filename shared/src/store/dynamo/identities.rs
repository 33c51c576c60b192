//! `Identities` on DynamoDB: the user item, the openid link per (appid, openid) and the
//! unionid link. A first login is ordered conditional puts (a phone-first signup, which also
//! claims the phone, and a new link are transactions); a returning login's touch is a read.

use super::DynamoStore;
use super::item::{
    Item, corrupt, get_n, get_s, item, n, phone_of, phone_owner_item, s, user_id_of,
};
use super::write::{condition_failed_at, condition_may_fail, item_absent, item_exists, update};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::store::attrs::{
    APPID, AVATAR_URL, CREATED_AT, DISABLED, KIND, NICKNAME, OPENID, OPENIDS, PASSWORD_HASH, PHONE,
    PK, SESSIONS_VALID_AFTER, UNIONID, USER_ID, VERSION, kind,
};
use crate::store::{
    CreateUserOutcome, Identities, LinkOutcome, LinkedUser, StoreResult, User, keys,
};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

impl DynamoStore {
    /// A first login's user, without a transaction (1 write unit per item instead of 2): the
    /// user item, then the unionid link, then the openid link, each put only if absent. The
    /// openid link is written last and is what finds the user, so a failure or a crash midway
    /// leaves only items nothing finds yet, or a unionid link to a real user, which the next
    /// login of that unionid joins: never an openid link to a missing user. A lost race
    /// removes the fresh user only if nothing joined it (its version unchanged), then its
    /// unionid link; a unionid link left naming no user is removed by `find_unionid_user`.
    async fn create_user_in_order(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> StoreResult<CreateUserOutcome> {
        let put_if_absent = |item| {
            self.put_item()
                .set_item(Some(item))
                .condition_expression(item_absent())
                .send()
        };
        if !condition_may_fail(put_if_absent(user_item(user, appid, openid)).await)? {
            return Err(corrupt("user id collision"));
        }
        if let Some(u) = unionid
            && !condition_may_fail(put_if_absent(unionid_item(u, &user.id)).await)?
        {
            self.delete_unseen_user(&user.id).await?;
            return Ok(CreateUserOutcome::UnionIdTaken);
        }
        let link = link_item(&user.id, appid, openid, unionid, None, user.created_at);
        if !condition_may_fail(put_if_absent(link).await)? {
            match unionid {
                None => self.delete_unseen_user(&user.id).await?,
                // Another app's login may have joined the user through its unionid link
                // meanwhile (that bumps the version): then both stay. Otherwise the user goes
                // first, then the link (a link left naming no user is removed by the next
                // login that finds it: `find_unionid_user`).
                Some(u) => {
                    if self.delete_user_if_version(&user.id, user.version).await? {
                        self.delete_unionid_link_of(u, &user.id).await?;
                    }
                }
            }
            return Ok(CreateUserOutcome::OpenIdTaken);
        }
        Ok(CreateUserOutcome::Created)
    }

    async fn delete_unseen_user(&self, user_id: &UserId) -> StoreResult<()> {
        self.delete_item(keys::user(user_id))
            .send()
            .await
            .map_err(super::write::unavailable)?;
        Ok(())
    }

    /// Deletes the user item if nothing changed it since `version`; whether it did.
    async fn delete_user_if_version(&self, user_id: &UserId, version: u64) -> StoreResult<bool> {
        let result = self
            .delete_item(keys::user(user_id))
            .condition_expression(format!("{VERSION} = :v"))
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        condition_may_fail(result)
    }

    /// Deletes the unionid link if it still names `user_id`.
    async fn delete_unionid_link_of(&self, unionid: &UnionId, user_id: &UserId) -> StoreResult<()> {
        let result = self
            .delete_item(keys::unionid_link(unionid))
            .condition_expression(format!("{USER_ID} = :u"))
            .expression_attribute_values(":u", s(user_id.as_str()))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    /// Sets string fields of an existing user item.
    async fn update_user_fields(
        &self,
        user_id: &UserId,
        fields: &[(&str, &str)],
    ) -> StoreResult<()> {
        let sets: Vec<String> = (0..fields.len())
            .map(|i| format!("#f{i} = :v{i}"))
            .collect();
        let mut update = self
            .update_item(keys::user(user_id))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(item_exists());
        for (i, (name, value)) in fields.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), s(*value));
        }
        condition_may_fail(update.send().await).map(|_| ())
    }
}

fn user_from(item: &Item) -> StoreResult<User> {
    let id = UserId::parse(get_s(item, USER_ID).ok_or_else(|| corrupt(USER_ID))?)
        .map_err(|_| corrupt(USER_ID))?;
    let mut openids = BTreeMap::new();
    if let Some(map) = item.get(OPENIDS).and_then(|v| v.as_m().ok()) {
        for (app, oid) in map {
            let appid = AppId::parse(app).map_err(|_| corrupt("openids key"))?;
            let openid = oid
                .as_s()
                .ok()
                .and_then(|o| OpenId::parse(o).ok())
                .ok_or_else(|| corrupt("openids value"))?;
            openids.insert(appid, openid);
        }
    }
    Ok(User {
        id,
        created_at: get_n(item, CREATED_AT).unwrap_or(0),
        phone: phone_of(item)?,
        openids,
        sessions_valid_after: get_n(item, SESSIONS_VALID_AFTER).unwrap_or(0),
        version: get_n(item, VERSION).ok_or_else(|| corrupt("user version"))?,
        password_hash: get_s(item, PASSWORD_HASH).map(str::to_owned),
        nickname: get_s(item, NICKNAME).map(str::to_owned),
        avatar_url: get_s(item, AVATAR_URL).map(str::to_owned),
        disabled: is_disabled(item),
    })
}

/// Whether a user item or openid link says the user is disabled.
fn is_disabled(item: &Item) -> bool {
    item.get(DISABLED).and_then(|v| v.as_bool().ok()) == Some(&true)
}

/// A new user item, holding its first openid.
fn user_item(user: &User, appid: &AppId, openid: &OpenId) -> Item {
    let mut first = user.clone();
    first.openids.insert(appid.clone(), openid.clone());
    whole_user_item(&first)
}

/// A new user item as `user` says: its openids, phone, password and profile (the import writes
/// users with several openids at once).
pub(super) fn whole_user_item(user: &User) -> Item {
    let openids = user
        .openids
        .iter()
        .map(|(appid, openid)| (appid.as_str().to_owned(), s(openid.as_str())))
        .collect();
    let mut user_item = item([
        (PK, s(keys::user(&user.id))),
        (KIND, s(kind::USER)),
        (USER_ID, s(user.id.as_str())),
        (CREATED_AT, n(user.created_at)),
        (SESSIONS_VALID_AFTER, n(user.sessions_valid_after)),
        (VERSION, n(user.version)),
        (OPENIDS, AttributeValue::M(openids)),
    ]);
    if let Some(p) = &user.phone {
        user_item.insert(PHONE.to_owned(), s(p.e164()));
    }
    for (name, value) in [
        (PASSWORD_HASH, &user.password_hash),
        (NICKNAME, &user.nickname),
        (AVATAR_URL, &user.avatar_url),
    ] {
        if let Some(v) = value {
            user_item.insert(name.to_owned(), s(v));
        }
    }
    user_item
}

pub(super) fn link_item(
    user_id: &UserId,
    appid: &AppId,
    openid: &OpenId,
    unionid: Option<&UnionId>,
    phone: Option<&PhoneNumber>,
    now: u64,
) -> Item {
    let mut link = item([
        (PK, s(keys::openid_link(appid, openid))),
        (KIND, s(kind::OPENID_LINK)),
        (USER_ID, s(user_id.as_str())),
        (APPID, s(appid.as_str())),
        (OPENID, s(openid.as_str())),
        (CREATED_AT, n(now)),
    ]);
    if let Some(u) = unionid {
        link.insert(UNIONID.to_owned(), s(u.as_str()));
    }
    if let Some(p) = phone {
        link.insert(PHONE.to_owned(), s(p.e164()));
    }
    link
}

pub(super) fn unionid_item(unionid: &UnionId, user_id: &UserId) -> Item {
    item([
        (PK, s(keys::unionid_link(unionid))),
        (KIND, s(kind::UNIONID_LINK)),
        (USER_ID, s(user_id.as_str())),
    ])
}

impl Identities for DynamoStore {
    async fn touch_openid_link(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        _now: u64,
    ) -> StoreResult<Option<LinkedUser>> {
        // A read, so a returning login writes nothing here; a write only for a unionid the
        // link has never had.
        let Some(item) = self.get(keys::openid_link(appid, openid)).await? else {
            return Ok(None);
        };
        let recorded = get_s(&item, UNIONID)
            .map(|u| UnionId::parse(u).map_err(|_| corrupt("link unionid")))
            .transpose()?;
        if let Some(u) = unionid
            && recorded.is_none()
        {
            let result = self
                .update_item(keys::openid_link(appid, openid))
                .condition_expression(item_exists())
                .update_expression(format!("SET {UNIONID} = if_not_exists({UNIONID}, :u)"))
                .expression_attribute_values(":u", s(u.as_str()))
                .send()
                .await;
            condition_may_fail(result)?;
        }
        Ok(Some(LinkedUser {
            user_id: user_id_of(&item, "link user_id")?,
            phone: phone_of(&item)?,
            unionid: recorded,
            disabled: is_disabled(&item),
        }))
    }

    async fn find_unionid_user(&self, unionid: &UnionId) -> StoreResult<Option<UserId>> {
        let Some(item) = self.get(keys::unionid_link(unionid)).await? else {
            return Ok(None);
        };
        let user_id = user_id_of(&item, "unionid user_id")?;
        // A first login interrupted between removing its user and its unionid link leaves the
        // link naming no user: it is removed here, as if it had never been written.
        if self.get(keys::user(&user_id)).await?.is_none() {
            self.delete_unionid_link_of(unionid, &user_id).await?;
            return Ok(None);
        }
        Ok(Some(user_id))
    }

    async fn put_unionid_link_if_absent(
        &self,
        unionid: &UnionId,
        user_id: &UserId,
    ) -> StoreResult<()> {
        let result = self
            .put_item()
            .set_item(Some(unionid_item(unionid, user_id)))
            .condition_expression(item_absent())
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn get_user(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        self.get(keys::user(user_id))
            .await?
            .map(|item| user_from(&item))
            .transpose()
    }

    async fn create_user(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> StoreResult<CreateUserOutcome> {
        if user.phone.is_none() {
            return self
                .create_user_in_order(user, appid, openid, unionid)
                .await;
        }
        let absent = item_absent();
        let link = link_item(
            &user.id,
            appid,
            openid,
            unionid,
            user.phone.as_ref(),
            user.created_at,
        );
        let mut items = vec![
            self.put(user_item(user, appid, openid), Some(&absent))?,
            self.put(link, Some(&absent))?,
        ];
        if let Some(u) = unionid {
            items.push(self.put(unionid_item(u, &user.id), Some(&absent))?);
        }
        let unionid_index = unionid.map(|_| 2);
        let phone_index = user.phone.as_ref().map(|_| items.len());
        if let Some(p) = &user.phone {
            items.push(self.put(phone_owner_item(p, &user.id), Some(&absent))?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(CreateUserOutcome::Created),
            Err(reasons) => {
                let failed = |i: Option<usize>| i.is_some_and(|i| condition_failed_at(&reasons, i));
                if failed(Some(1)) {
                    Ok(CreateUserOutcome::OpenIdTaken)
                } else if failed(unionid_index) {
                    Ok(CreateUserOutcome::UnionIdTaken)
                } else if failed(phone_index) {
                    Ok(CreateUserOutcome::PhoneTaken)
                } else {
                    Err(corrupt("user id collision"))
                }
            }
        }
    }

    async fn link_openid(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> StoreResult<LinkOutcome> {
        let phone_condition = match &user.phone {
            Some(_) => format!("{PHONE} = :phone"),
            None => format!("attribute_not_exists({PHONE})"),
        };
        let mut user_update = self
            .update(keys::user(&user.id))
            .update_expression(format!("SET {OPENIDS}.#app = :openid, {VERSION} = :next"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND attribute_not_exists({OPENIDS}.#app) AND {VERSION} = :version AND {phone_condition}"
            ))
            .expression_attribute_names("#app", appid.as_str())
            .expression_attribute_values(":openid", s(openid.as_str()))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1));
        if let Some(p) = &user.phone {
            user_update = user_update.expression_attribute_values(":phone", s(p.e164()));
        }
        let link = link_item(&user.id, appid, openid, unionid, user.phone.as_ref(), now);
        let items = vec![self.put(link, Some(&item_absent()))?, update(user_update)?];
        match self.transact(items).await? {
            Ok(()) => Ok(LinkOutcome::Linked),
            Err(reasons) if condition_failed_at(&reasons, 0) => Ok(LinkOutcome::OpenIdTaken),
            Err(_) => match self.get_user(&user.id).await? {
                Some(current) if current.openids.contains_key(appid) => {
                    Ok(LinkOutcome::UserHasOtherOpenId)
                }
                _ => Ok(LinkOutcome::UserChanged),
            },
        }
    }

    async fn set_password_hash(&self, user_id: &UserId, hash: &str) -> StoreResult<()> {
        self.update_user_fields(user_id, &[(PASSWORD_HASH, hash)])
            .await
    }

    async fn set_profile(
        &self,
        user_id: &UserId,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> StoreResult<()> {
        let mut fields = Vec::new();
        if let Some(v) = nickname {
            fields.push((NICKNAME, v));
        }
        if let Some(v) = avatar_url {
            fields.push((AVATAR_URL, v));
        }
        if fields.is_empty() {
            return Ok(());
        }
        self.update_user_fields(user_id, &fields).await
    }
}
