//! The in-memory store: the same operations and atomicity as DynamoDB (one mutex makes each
//! operation a transaction), for unit tests and the local server. Not for production: it
//! forgets everything on restart and is not shared between processes.

use super::*;
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// An openid link: its user, the unionid it recorded, and the user's phone.
type Link = (UserId, Option<UnionId>, Option<PhoneNumber>);

#[derive(Default)]
struct Tables {
    users: HashMap<UserId, User>,
    links: HashMap<(AppId, OpenId), Link>,
    unionids: HashMap<UnionId, UserId>,
    session_keys: HashMap<(AppId, OpenId), SessionKeyRecord>,
    codes: HashMap<(AppId, String), u64>,
    families: HashMap<String, Family>,
    phones: HashMap<PhoneNumber, UserId>,
    /// (owner openid, WeChat's answer once known, expires_at)
    phone_codes: HashMap<(AppId, String), (OpenId, Option<PhoneNumber>, u64)>,
    published_keys: Option<crate::tokens::PublishedKeys>,
    counters: HashMap<String, (u32, u64)>,
    /// (stored hash, attempts, expires_at)
    sms_codes: HashMap<PhoneNumber, (String, u32, u64)>,
}

#[derive(Clone, Default)]
pub struct InMemoryStore {
    tables: Arc<Mutex<Tables>>,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Tables>> {
        self.tables
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store poisoned".into()))
    }

    /// How many users exist (tests assert "one user, not two").
    pub fn user_count(&self) -> usize {
        self.lock().map(|t| t.users.len()).unwrap_or(0)
    }
}

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
        let had_unionid = link.1.is_some();
        if !had_unionid {
            link.1 = unionid.cloned();
        }
        Ok(Some(LinkedUser {
            user_id: link.0.clone(),
            phone: link.2.clone(),
            had_unionid,
        }))
    }

    async fn find_unionid_user(&self, unionid: &UnionId) -> StoreResult<Option<UserId>> {
        Ok(self.lock()?.unionids.get(unionid).cloned())
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

impl Sessions for InMemoryStore {
    async fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> StoreResult<()> {
        let mut t = self.lock()?;
        if t.families.contains_key(&family.id) {
            return Err(StoreError::Corrupt("refresh family id collision".into()));
        }
        if let Some(key) = key {
            t.session_keys
                .insert((key.appid.clone(), key.openid.clone()), key.clone());
        }
        t.families.insert(family.id.clone(), family.clone());
        Ok(())
    }

    async fn put_session_key(&self, key: &SessionKeyRecord) -> StoreResult<()> {
        self.lock()?
            .session_keys
            .insert((key.appid.clone(), key.openid.clone()), key.clone());
        Ok(())
    }

    async fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> StoreResult<Option<SessionKeyRecord>> {
        let t = self.lock()?;
        Ok(t.session_keys
            .get(&(appid.clone(), openid.clone()))
            .filter(|k| k.expires_at > now)
            .cloned())
    }

    async fn get_family(&self, family_id: &str, now: u64) -> StoreResult<Option<Family>> {
        Ok(self
            .lock()?
            .families
            .get(family_id)
            .filter(|f| f.expires_at > now)
            .cloned())
    }

    async fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> StoreResult<RotateOutcome> {
        let mut t = self.lock()?;
        match t.families.get_mut(family_id) {
            Some(f) if !f.revoked && f.expires_at > now && f.secret_hash == old_hash => {
                let mark = crate::tokens::refresh::retired_mark(old_hash);
                if let Err(at) = f.retired.binary_search(&mark) {
                    f.retired.insert(at, mark);
                }
                f.secret_hash = new_hash.to_owned();
                f.expires_at = new_expires_at;
                Ok(RotateOutcome::Rotated)
            }
            _ => Ok(RotateOutcome::Refused),
        }
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        if let Some(f) = self.lock()?.families.get_mut(family_id) {
            f.revoked = true;
        }
        Ok(())
    }

    async fn end_all_sessions(&self, user_id: &UserId, now: u64) -> StoreResult<()> {
        if let Some(u) = self.lock()?.users.get_mut(user_id) {
            u.sessions_valid_after = u.sessions_valid_after.max(now);
        }
        Ok(())
    }
}

impl PhoneOwnership for InMemoryStore {
    async fn phone_owner(&self, phone: &PhoneNumber) -> StoreResult<Option<UserId>> {
        Ok(self.lock()?.phones.get(phone).cloned())
    }

    async fn bind_phone(&self, user: &User, phone: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut t = self.lock()?;
        if t.phones.get(phone).is_some_and(|owner| *owner != user.id) {
            return Ok(BindOutcome::PhoneTaken);
        }
        let Some(current) = t.users.get_mut(&user.id) else {
            return Ok(BindOutcome::UserChanged);
        };
        if current.version != user.version || current.phone.is_some() {
            return Ok(BindOutcome::UserChanged);
        }
        current.phone = Some(phone.clone());
        current.version += 1;
        let openids: Vec<(AppId, OpenId)> = current
            .openids
            .iter()
            .map(|(a, o)| (a.clone(), o.clone()))
            .collect();
        t.phones.insert(phone.clone(), user.id.clone());
        for key in openids {
            if let Some(link) = t.links.get_mut(&key)
                && link.0 == user.id
            {
                link.2 = Some(phone.clone());
            }
        }
        Ok(BindOutcome::Bound)
    }
}

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

impl Counters for InMemoryStore {
    async fn hit_counter(
        &self,
        name: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> StoreResult<CounterHit> {
        let start = now - now % window_secs.max(1);
        let end = start + window_secs.max(1);
        let mut t = self.lock()?;
        let entry = t
            .counters
            .entry(keys::counter(name, start))
            .or_insert((0, end));
        if entry.0 >= limit {
            return Ok(CounterHit::Limited {
                retry_after: end.saturating_sub(now).max(1),
            });
        }
        entry.0 += 1;
        Ok(CounterHit::Counted(entry.0))
    }

    async fn read_counter(&self, name: &str, window_secs: u64, now: u64) -> StoreResult<u32> {
        let start = now - now % window_secs.max(1);
        Ok(self
            .lock()?
            .counters
            .get(&keys::counter(name, start))
            .map(|c| c.0)
            .unwrap_or(0))
    }
}

impl SmsCodes for InMemoryStore {
    async fn put_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.lock()?
            .sms_codes
            .insert(phone.clone(), (stored_hash.to_owned(), 0, expires_at));
        Ok(())
    }

    async fn attempt_sms_code(
        &self,
        phone: &PhoneNumber,
        max_attempts: u32,
        now: u64,
    ) -> StoreResult<Option<String>> {
        let mut t = self.lock()?;
        match t.sms_codes.get_mut(phone) {
            Some((hash, attempts, exp)) if *exp > now && *attempts < max_attempts => {
                *attempts += 1;
                Ok(Some(hash.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn consume_sms_code(&self, phone: &PhoneNumber, stored_hash: &str) -> StoreResult<bool> {
        let mut t = self.lock()?;
        if t.sms_codes.get(phone).is_some_and(|c| c.0 == stored_hash) {
            t.sms_codes.remove(phone);
            return Ok(true);
        }
        Ok(false)
    }
}

impl crate::tokens::PublishedKeySource for InMemoryStore {
    async fn load_keys(&self) -> StoreResult<Option<crate::tokens::PublishedKeys>> {
        Ok(self.lock()?.published_keys.clone())
    }
}

impl crate::tokens::KeyDirectory for InMemoryStore {
    async fn publish_keys(&self, keys: &crate::tokens::PublishedKeys) -> StoreResult<()> {
        let mut t = self.lock()?;
        if crate::tokens::directory::may_replace(t.published_keys.as_ref(), keys) {
            t.published_keys = Some(keys.clone());
        }
        Ok(())
    }
}
