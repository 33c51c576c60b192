//! `Census` in memory: each map's live entries, named by the key prefix its items would have
//! in the table (`keys::kind_of` of the entry's key).

use super::InMemoryStore;
use crate::store::{Census, StoreResult, keys};
use std::collections::BTreeMap;

impl Census for InMemoryStore {
    async fn count_by_kind(&self, now: u64) -> StoreResult<BTreeMap<String, u64>> {
        let t = self.lock()?;
        let live = |expires_at: u64| expires_at > now;
        let mut pks: Vec<String> = Vec::new();
        pks.extend(t.users.keys().map(keys::user));
        pks.extend(t.links.keys().map(|(a, o)| keys::openid_link(a, o)));
        pks.extend(t.unionids.keys().map(keys::unionid_link));
        pks.extend(t.phones.keys().map(keys::phone_owner));
        pks.extend(
            t.session_keys
                .iter()
                .filter(|(_, k)| live(k.expires_at))
                .map(|((a, o), _)| keys::session_key(a, o)),
        );
        pks.extend(
            t.families
                .iter()
                .filter(|(_, f)| live(f.expires_at))
                .map(|(id, _)| keys::family(id)),
        );
        pks.extend(
            t.codes
                .iter()
                .filter(|(_, e)| live(**e))
                .map(|((a, d), _)| keys::login_code(a, d)),
        );
        pks.extend(
            t.phone_codes
                .iter()
                .filter(|(_, c)| live(c.2))
                .map(|((a, d), _)| keys::phone_code(a, d)),
        );
        pks.extend(
            t.sms_codes
                .iter()
                .filter(|(_, c)| live(c.2))
                .map(|(p, _)| keys::sms_code(p)),
        );
        pks.extend(
            t.counters
                .iter()
                .filter(|(_, c)| live(c.1))
                .map(|(pk, _)| pk.clone()),
        );
        if t.published_keys.is_some() {
            pks.push(keys::SIGNING_KEYS.to_owned());
        }
        let mut counts = BTreeMap::new();
        for pk in &pks {
            *counts.entry(keys::kind_of(pk).to_owned()).or_insert(0) += 1;
        }
        Ok(counts)
    }
}
