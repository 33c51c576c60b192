//! The import plan: source records (whatever export they were read from) become accounts to
//! create, with user ids derived from the source's own ids (so a second run creates nothing
//! twice), and everything a record cannot be imported for is set aside whole and reported: a
//! key two records claim (one openid, unionid or phone on two users, one source id with two
//! contents), a record with nothing to sign in with. Nothing here reads the table.

use crate::crypto::{hex, sha256};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::flows::admin::mask_id;
use crate::flows::profile::{check_avatar_url, check_nickname};
use crate::store::{NewAccount, User};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// More openids than this on one record is not a person: refused (and an account must fit one
/// DynamoDB transaction of 100 items).
pub const MAX_OPENIDS: usize = 50;

/// One account as an export describes it, already checked field by field by its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Where it was in the input (1-based line, or position in an array).
    pub line: usize,
    /// The source backend's own id of the user (LeanCloud `objectId`, CloudBase `_id`, …).
    pub source_id: String,
    pub openids: BTreeMap<AppId, OpenId>,
    pub unionid: Option<UnionId>,
    /// A phone the source had verified (readers drop unverified ones and count them).
    pub phone: Option<PhoneNumber>,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: Option<u64>,
}

/// A line a reader could not use, and why (never its content: it may be personal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub line: usize,
    pub reason: String,
}

/// What a reader made of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedExport {
    pub records: Vec<SourceRecord>,
    pub malformed: Vec<Malformed>,
    /// Records with a phone the source had not verified (imported without it).
    pub unverified_phones: u64,
    /// Records read (malformed ones included).
    pub lines: u64,
}

/// A record in a report: its line and its source id masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    pub line: usize,
    pub source: String,
}

impl RecordRef {
    fn of(record: &SourceRecord) -> Self {
        Self {
            line: record.line,
            source: mask_id(&record.source_id),
        }
    }
}

/// A key more than one record (or a record and the table) claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// `openid`, `unionid`, `phone`, or `source_id` (one id, two different records).
    pub key: &'static str,
    /// The key, masked.
    pub value: String,
    pub records: Vec<RecordRef>,
    /// The user already holding it in the table (masked), for a conflict with the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

/// An account to create, and the record it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAccount {
    pub record: RecordRef,
    pub account: NewAccount,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub accounts: Vec<PlannedAccount>,
    /// Records repeated exactly (imported once).
    pub duplicates: u64,
    pub conflicts: Vec<Conflict>,
    /// Records without an openid, a unionid or a verified phone: nothing to sign in with.
    pub without_identity: Vec<RecordRef>,
    /// Records with more than `MAX_OPENIDS` openids.
    pub too_many_openids: Vec<RecordRef>,
    /// Nicknames and avatar URLs left out because the profile rules refuse them
    /// (`flows/profile.rs`: a nickname of 1–32 characters, an https avatar URL).
    pub profile_fields_dropped: u64,
}

/// The user id an imported record gets: derived from the format and the source's id, so the
/// same record always maps to the same user (re-running an import is idempotent).
pub fn imported_user_id(format: &str, source_id: &str) -> UserId {
    let digest = sha256(format!("wxlogin-import\0{format}\0{source_id}").as_bytes());
    let half = digest.get(..16).unwrap_or(&digest);
    // `u_` and 32 hex digits always parse; the fallback is unreachable but keeps this total.
    UserId::parse(&format!("u_{}", hex(half))).unwrap_or_else(|_| UserId::new_random())
}

/// Which records claim a key, by key kind and masked value.
#[derive(Default)]
struct Claims {
    by_key: HashMap<(&'static str, String), Vec<usize>>,
    shown: HashMap<(&'static str, String), String>,
}

impl Claims {
    fn claim(&mut self, kind: &'static str, raw: &str, shown: String, record: usize) {
        let key = (kind, raw.to_owned());
        self.by_key.entry(key.clone()).or_default().push(record);
        self.shown.entry(key).or_insert(shown);
    }
}

/// Plans `parsed` for the `format` (`leancloud`, `cloudbase`, `wxlogin`), at `now` (the
/// creation time of records without one).
pub fn plan(format: &str, parsed: ParsedExport, now: u64) -> Plan {
    let mut plan = Plan::default();
    // Exact repeats collapse into one; the same source id with other content is a conflict.
    let mut unique: Vec<SourceRecord> = Vec::new();
    let mut by_source: HashMap<String, usize> = HashMap::new();
    let mut source_conflicts: BTreeMap<usize, Vec<RecordRef>> = BTreeMap::new();
    for record in parsed.records {
        match by_source.get(&record.source_id) {
            Some(&first) => {
                let earlier = unique.get(first);
                if earlier.is_some_and(|e| same_content(e, &record)) {
                    plan.duplicates += 1;
                } else {
                    source_conflicts
                        .entry(first)
                        .or_default()
                        .push(RecordRef::of(&record));
                }
            }
            None => {
                by_source.insert(record.source_id.clone(), unique.len());
                unique.push(record);
            }
        }
    }
    let mut excluded = vec![false; unique.len()];
    for (first, mut others) in source_conflicts {
        if let (Some(record), Some(flag)) = (unique.get(first), excluded.get_mut(first)) {
            *flag = true;
            others.insert(0, RecordRef::of(record));
            plan.conflicts.push(Conflict {
                key: "source_id",
                value: mask_id(&record.source_id),
                records: others,
                held_by: None,
            });
        }
    }
    let mut claims = Claims::default();
    for (i, record) in unique.iter().enumerate() {
        for (appid, openid) in &record.openids {
            let raw = format!("{}#{}", appid.as_str(), openid.as_str());
            claims.claim("openid", &raw, mask_id(openid.as_str()), i);
        }
        if let Some(u) = &record.unionid {
            claims.claim("unionid", u.as_str(), mask_id(u.as_str()), i);
        }
        if let Some(p) = &record.phone {
            claims.claim("phone", p.e164(), p.masked(), i);
        }
    }
    let mut contested: Vec<_> = claims
        .by_key
        .into_iter()
        .filter(|(_, records)| records.len() > 1)
        .collect();
    contested.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    for (key, records) in contested {
        for &i in &records {
            if let Some(flag) = excluded.get_mut(i) {
                *flag = true;
            }
        }
        plan.conflicts.push(Conflict {
            key: key.0,
            value: claims.shown.remove(&key).unwrap_or_default(),
            records: records
                .iter()
                .filter_map(|&i| unique.get(i).map(RecordRef::of))
                .collect(),
            held_by: None,
        });
    }
    for (record, excluded) in unique.into_iter().zip(excluded) {
        if excluded {
            continue;
        }
        if record.openids.len() > MAX_OPENIDS {
            plan.too_many_openids.push(RecordRef::of(&record));
        } else if record.openids.is_empty() && record.unionid.is_none() && record.phone.is_none() {
            plan.without_identity.push(RecordRef::of(&record));
        } else {
            let record_ref = RecordRef::of(&record);
            let (account, dropped) = account_of(format, record, now);
            plan.profile_fields_dropped += dropped;
            plan.accounts.push(PlannedAccount {
                record: record_ref,
                account,
            });
        }
    }
    plan
}

fn same_content(a: &SourceRecord, b: &SourceRecord) -> bool {
    SourceRecord {
        line: 0,
        ..a.clone()
    } == SourceRecord {
        line: 0,
        ..b.clone()
    }
}

/// The account a record becomes, and how many of its profile fields the profile rules refused.
fn account_of(format: &str, record: SourceRecord, now: u64) -> (NewAccount, u64) {
    let id = imported_user_id(format, &record.source_id);
    let nickname = record.nickname.map(|n| n.trim().to_owned());
    let kept_nickname = nickname.clone().filter(|n| check_nickname(n).is_ok());
    let kept_avatar = record
        .avatar_url
        .clone()
        .filter(|u| check_avatar_url(u).is_ok());
    let dropped = u64::from(nickname.is_some() && kept_nickname.is_none())
        + u64::from(record.avatar_url.is_some() && kept_avatar.is_none());
    let user = User {
        phone: record.phone,
        openids: record.openids,
        nickname: kept_nickname,
        avatar_url: kept_avatar,
        ..User::new(id, record.created_at.unwrap_or(now))
    };
    let account = NewAccount {
        user,
        unionid: record.unionid,
    };
    (account, dropped)
}
