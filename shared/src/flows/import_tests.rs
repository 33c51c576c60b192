//! The import plan and run over the in-memory store and the fake WeChat: repeats collapse,
//! conflicts inside the file set every record involved aside, ids are stable across runs, a
//! second run imports nothing twice, a dry run writes nothing, a key held in the table is a
//! conflict, and imported users sign in with `wx.login` as if they had always been here.

use crate::domain::{AppId, OpenId, PhoneNumber, SignupMode, UnionId};
use crate::fake::FakeWeChat;
use crate::flows::import::{ImportReport, Mode, run_import};
use crate::flows::import_plan::{ParsedExport, SourceRecord, imported_user_id, plan};
use crate::store::{Identities as _, InMemoryStore, PhoneOwnership as _};
use crate::test_support::*;
use std::collections::BTreeMap;

const NOW: u64 = 1_800_000_000;

fn record(line: usize, source_id: &str, user: Option<&str>) -> SourceRecord {
    let mut openids = BTreeMap::new();
    if let Some(u) = user {
        openids.insert(
            AppId::parse(APP).unwrap(),
            OpenId::parse(&FakeWeChat::openid(APP, u)).unwrap(),
        );
    }
    SourceRecord {
        line,
        source_id: source_id.to_owned(),
        openids,
        unionid: None,
        phone: None,
        nickname: Some(format!("nick {source_id}")),
        avatar_url: None,
        created_at: Some(1_600_000_000),
    }
}

fn phone(n: &str) -> PhoneNumber {
    PhoneNumber::from_parts("86", n).unwrap()
}

fn parsed(records: Vec<SourceRecord>) -> ParsedExport {
    ParsedExport {
        lines: records.len() as u64,
        records,
        ..ParsedExport::default()
    }
}

async fn import(store: &InMemoryStore, records: Vec<SourceRecord>, mode: Mode) -> ImportReport {
    let p = parsed(records);
    let planned = plan("wxlogin", p.clone(), NOW);
    run_import(store, "wxlogin", p, planned, mode, |_| {}).await
}

#[test]
fn repeats_collapse_and_every_record_of_a_conflict_is_set_aside() {
    let mut with_phone = record(3, "c", Some("carol"));
    with_phone.phone = Some(phone("13800138000"));
    let mut same_phone = record(4, "d", Some("dave"));
    same_phone.phone = Some(phone("13800138000"));
    let mut changed_a = record(5, "a", Some("alice"));
    changed_a.nickname = Some("another".into());
    let records = vec![
        record(1, "a", Some("alice")),
        record(2, "a", Some("alice")), // an exact repeat
        with_phone,
        same_phone,
        changed_a, // the same source id, other content
        record(6, "e", Some("erin")),
        record(7, "f", Some("erin")), // erin's openid again
        record(8, "g", None),         // nothing to sign in with
        record(9, "h", Some("heidi")),
    ];
    let p = plan("wxlogin", parsed(records), NOW);
    assert_eq!(p.duplicates, 1);
    let planned: Vec<usize> = p.accounts.iter().map(|a| a.record.line).collect();
    assert_eq!(planned, vec![9], "only heidi is clear of every conflict");
    let mut conflicts: Vec<(&str, Vec<usize>)> = p
        .conflicts
        .iter()
        .map(|c| (c.key, c.records.iter().map(|r| r.line).collect()))
        .collect();
    conflicts.sort();
    assert_eq!(
        conflicts,
        vec![
            ("openid", vec![6, 7]),
            ("phone", vec![3, 4]),
            ("source_id", vec![1, 5]),
        ]
    );
    let phone_conflict = p.conflicts.iter().find(|c| c.key == "phone").unwrap();
    assert_eq!(phone_conflict.value, "138****8000", "keys are masked");
    assert_eq!(
        p.without_identity
            .iter()
            .map(|r| r.line)
            .collect::<Vec<_>>(),
        vec![8]
    );
    let report = serde_json::to_string(&p.conflicts).unwrap();
    assert!(!report.contains("13800138000") && !report.contains(&FakeWeChat::openid(APP, "erin")));
}

#[test]
fn ids_are_derived_from_the_format_and_the_source_id() {
    let a = imported_user_id("leancloud", "5b752fe0a22b9d003137e16d");
    assert_eq!(a, imported_user_id("leancloud", "5b752fe0a22b9d003137e16d"));
    assert_ne!(a, imported_user_id("cloudbase", "5b752fe0a22b9d003137e16d"));
    assert_ne!(a, imported_user_id("leancloud", "5b752fe0a22b9d003137e16e"));
    assert!(a.as_str().starts_with("u_") && a.as_str().len() == 34);
}

#[tokio::test]
async fn a_second_run_imports_nothing_twice_and_a_dry_run_writes_nothing() {
    let store = InMemoryStore::new();
    let records: Vec<SourceRecord> = (0..60)
        .map(|i| record(i + 1, &format!("s{i}"), Some(&format!("user{i}"))))
        .collect();
    let dry = import(&store, records.clone(), Mode::DryRun).await;
    assert_eq!((dry.imported, dry.already_present), (60, 0));
    assert!(dry.dry_run);
    assert_eq!(store.user_count(), 0, "a dry run writes nothing");

    let first = import(&store, records.clone(), Mode::Write).await;
    assert_eq!((first.imported, first.already_present), (60, 0));
    assert!(first.complete(), "{first:?}");
    assert_eq!(store.user_count(), 60);
    let second = import(&store, records.clone(), Mode::Write).await;
    assert_eq!((second.imported, second.already_present), (0, 60));
    assert!(second.complete());
    assert_eq!(store.user_count(), 60);
    let dry_again = import(&store, records, Mode::DryRun).await;
    assert_eq!((dry_again.imported, dry_again.already_present), (0, 60));
}

#[tokio::test]
async fn a_key_held_by_a_user_of_the_table_is_a_conflict_and_nothing_of_the_record_is_written() {
    let h = Harness::new(SignupMode::OpenId).await;
    let existing = h.session(APP, "olivia").await;
    let owner = h
        .store
        .get_user(&crate::domain::UserId::parse(&existing.user.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    h.store
        .bind_phone(&owner, &phone("13900139000"))
        .await
        .unwrap();
    let mut claims_phone = record(1, "p", Some("peggy"));
    claims_phone.phone = Some(phone("13900139000"));
    let claims_openid = record(2, "o", Some("olivia"));
    let report = import(
        &h.store,
        vec![claims_phone, claims_openid, record(3, "q", Some("quinn"))],
        Mode::Write,
    )
    .await;
    assert_eq!(report.imported, 1);
    let mut kinds: Vec<&str> = report.conflicts.iter().map(|c| c.key).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["openid", "phone"]);
    assert!(report.conflicts.iter().all(|c| c.held_by.is_some()));
    assert!(!report.complete());
    // Peggy's record claimed a taken phone: not even her openid link was written.
    let peggy = OpenId::parse(&FakeWeChat::openid(APP, "peggy")).unwrap();
    let app = AppId::parse(APP).unwrap();
    assert!(
        h.store
            .touch_openid_link(&app, &peggy, None, NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        h.store.phone_owner(&phone("13900139000")).await.unwrap(),
        Some(owner.id)
    );
}

#[tokio::test]
async fn imported_users_sign_in_with_wx_login_as_if_they_had_always_been_here() {
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.enable_unionid(APP).enable_unionid(APP2);
    let mut with_phone = record(1, "lc-1", Some("ivan"));
    with_phone.phone = Some(phone("13700137000"));
    with_phone.unionid = Some(UnionId::parse(&FakeWeChat::unionid("ivan")).unwrap());
    let mut unionid_only = record(2, "lc-2", None);
    unionid_only.unionid = Some(UnionId::parse(&FakeWeChat::unionid("judy")).unwrap());
    let report = import(&h.store, vec![with_phone, unionid_only], Mode::Write).await;
    assert_eq!(report.imported, 2, "{report:?}");

    let ivan = h.session(APP, "ivan").await;
    assert_eq!(ivan.user.id, imported_user_id("wxlogin", "lc-1").as_str());
    assert!(!ivan.user.created, "a returning user, not a new one");
    assert_eq!(ivan.user.phone.as_deref(), Some("137****7000"));
    // Judy was known by her unionid only: her first login in any app joins the imported user.
    let judy = h.session(APP2, "judy").await;
    assert_eq!(judy.user.id, imported_user_id("wxlogin", "lc-2").as_str());
    assert!(!judy.user.created);
    let stored = h
        .store
        .get_user(&imported_user_id("wxlogin", "lc-2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.nickname.as_deref(), Some("nick lc-2"));
    assert_eq!(
        stored.created_at, 1_600_000_000,
        "the source's creation time is kept"
    );
    assert_eq!(stored.openids.len(), 1, "the login linked its openid");
}

#[test]
fn profile_fields_the_profile_rules_refuse_are_left_out() {
    let mut r = record(1, "x", Some("xavier"));
    r.nickname = Some("名".repeat(40));
    r.avatar_url = Some("cloud://prod-1a2b/avatars/x.png".into());
    let mut kept = record(2, "y", Some("yvonne"));
    kept.nickname = Some("  小明 ".into());
    kept.avatar_url = Some("https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132".into());
    let p = plan("wxlogin", parsed(vec![r, kept]), NOW);
    assert_eq!(p.profile_fields_dropped, 2);
    let users: Vec<_> = p.accounts.iter().map(|a| &a.account.user).collect();
    assert_eq!(
        (users[0].nickname.as_deref(), users[0].avatar_url.as_deref()),
        (None, None)
    );
    assert_eq!(
        users[1].nickname.as_deref(),
        Some("小明"),
        "trimmed, then kept"
    );
    assert!(users[1].avatar_url.is_some());
}
