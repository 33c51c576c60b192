//! `Identities` in memory: users, openid links and unionid links in their maps, each
//! operation under the one lock (so `create_user` and `link_openid` are atomic).

use super::InMemoryStore;
use crate::domain::{AppId, OpenId, UnionId, UserId};
use crate::store::{
    CreateUserOutcome, Identities, LinkOutcome, LinkedUser, StoreError, StoreResult, User,
};

impl Identities for InMemoryStore {
    async fn touch_openid_link(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        _now: u64,
    ) -> StoreResult<Option<LinkedUser>> {
        let mut t = self.lock()?;
        let Some(link) = t.links.get_mut(&(appid.clone(), openid.clone())) else {
            return Ok(None);
        };
        let recorded = link.1.clone();
        if recorded.is_none() {
            link.1 = unionid.cloned();
        }
        let (user_id, phone) = (link.0.clone(), link.2.clone());
        // One lock over both maps: reading the user's flag is as atomic as DynamoDB's copy on
        // the link.
        let disabled = t.users.get(&user_id).is_some_and(|u| u.disabled);
        Ok(Some(LinkedUser {
            user_id,
            phone,
            unionid: recorded,
            disabled,
        }))
    }

    async fn find_unionid_user(&self, unionid: &UnionId) -> StoreResult<Option<UserId>> {
        let mut t = self.lock()?;
        let Some(user_id) = t.unionids.get(unionid).cloned() else {
            return Ok(None);
        };
        if !t.users.contains_key(&user_id) {
            t.unionids.remove(unionid);
            return Ok(None);
        }
        Ok(Some(user_id))
    }

    async fn put_unionid_link_if_absent(
        &self,
        unionid: &UnionId,
        user_id: &UserId,
    ) -> StoreResult<()> {
        self.lock()?
            .unionids
            .entry(unionid.clone())
            .or_insert_with(|| user_id.clone());
        Ok(())
    }

    async fn get_user(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.lock()?.users.get(user_id).cloned())
    }

    async fn create_user(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> StoreResult<CreateUserOutcome> {
        let mut t = self.lock()?;
        let link_key = (appid.clone(), openid.clone());
        if t.links.contains_key(&link_key) {
            return Ok(CreateUserOutcome::OpenIdTaken);
        }
        if let Some(u) = unionid
            && t.unionids.contains_key(u)
        {
            return Ok(CreateUserOutcome::UnionIdTaken);
        }
        if let Some(p) = &user.phone
            && t.phones.contains_key(p)
        {
            return Ok(CreateUserOutcome::PhoneTaken);
        }
        if t.users.contains_key(&user.id) {
            return Err(StoreError::Corrupt("user id collision".into()));
        }
        if let Some(p) = &user.phone {
            t.phones.insert(p.clone(), user.id.clone());
        }
        let mut stored = user.clone();
        stored.openids.insert(appid.clone(), openid.clone());
        t.users.insert(user.id.clone(), stored);
        t.links.insert(
            link_key,
            (user.id.clone(), unionid.cloned(), user.phone.clone()),
        );
        if let Some(u) = unionid {
            t.unionids.insert(u.clone(), user.id.clone());
        }
        Ok(CreateUserOutcome::Created)
    }

    async fn link_openid(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        _now: u64,
    ) -> StoreResult<LinkOutcome> {
        let mut t = self.lock()?;
        let link_key = (appid.clone(), openid.clone());
        if t.links.contains_key(&link_key) {
            return Ok(LinkOutcome::OpenIdTaken);
        }
        let Some(current) = t.users.get_mut(&user.id) else {
            return Ok(LinkOutcome::UserChanged);
        };
        if current.openids.contains_key(appid) {
            return Ok(LinkOutcome::UserHasOtherOpenId);
        }
        if current.version != user.version || current.phone != user.phone {
            return Ok(LinkOutcome::UserChanged);
        }
        current.openids.insert(appid.clone(), openid.clone());
        current.version += 1;
        let phone = current.phone.clone();
        t.links
            .insert(link_key, (user.id.clone(), unionid.cloned(), phone));
        Ok(LinkOutcome::Linked)
    }

    async fn set_password_hash(&self, user_id: &UserId, hash: &str) -> StoreResult<()> {
        if let Some(u) = self.lock()?.users.get_mut(user_id) {
            u.password_hash = Some(hash.to_owned());
        }
        Ok(())
    }

    async fn set_profile(
        &self,
        user_id: &UserId,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> StoreResult<()> {
        if let Some(u) = self.lock()?.users.get_mut(user_id) {
            if let Some(n) = nickname {
                u.nickname = Some(n.to_owned());
            }
            if let Some(a) = avatar_url {
                u.avatar_url = Some(a.to_owned());
            }
        }
        Ok(())
    }
}
