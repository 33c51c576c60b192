//! The DynamoDB store against a real moto: the shared conformance suites of every store port
//! (`run_all`), item-level checks that a refused write leaves nothing half-written, and
//! concurrent first logins across tokio tasks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use wxlogin::domain::UserId;
use wxlogin::store::conformance::fixtures::{create, stored_user, user};
use wxlogin::store::conformance::{self, NOW, app, openid, phone, unionid};
use wxlogin::store::dynamo::DynamoStore;
use wxlogin::store::{
    CreateUserOutcome, Identities, LinkOutcome, SessionKeyRecord, Sessions, User, keys,
};
use wxlogin_tests::moto;

type Item = HashMap<String, AttributeValue>;

struct Table {
    sdk: aws_config::SdkConfig,
    name: String,
    store: DynamoStore,
}

impl Table {
    async fn new() -> Self {
        let sdk = moto::sdk_config().await;
        let name = moto::unique("store");
        moto::create_table(&sdk, &name).await;
        let store = DynamoStore::new(&sdk, &name);
        Self { sdk, name, store }
    }

    async fn items(&self, prefix: &str) -> Vec<Item> {
        moto::scan_prefix(&self.sdk, &self.name, prefix).await
    }

    /// The item with exactly this `pk`, if any.
    async fn item(&self, pk: &str) -> Option<Item> {
        let mut found = self.items(pk).await;
        found.retain(|i| i.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(pk));
        assert!(found.len() <= 1);
        found.pop()
    }
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[tokio::test]
async fn the_dynamodb_store_passes_the_store_conformance_suite() {
    let table = Table::new().await;
    conformance::run_all(&table.store).await;
}

#[tokio::test]
async fn a_stored_unionid_is_kept_on_the_item_and_expired_items_are_only_filtered() {
    let table = Table::new().await;
    let store = &table.store;
    let (appid, oid, u1, u2) = (app(), openid(), unionid(), unionid());
    let user = user(None);
    create(store, &user, &appid, &oid, None).await;
    let link_pk = keys::openid_link(&appid, &oid);
    assert_eq!(table.item(&link_pk).await.unwrap().get("unionid"), None);

    store
        .touch_openid_link(&appid, &oid, Some(&u1), NOW + 1)
        .await
        .unwrap();
    store
        .touch_openid_link(&appid, &oid, None, NOW + 2)
        .await
        .unwrap();
    store
        .touch_openid_link(&appid, &oid, Some(&u2), NOW + 3)
        .await
        .unwrap();
    let link = table.item(&link_pk).await.unwrap();
    assert_eq!(
        attr(&link, "unionid"),
        Some(u1.as_str()),
        "neither erased nor overwritten"
    );
    assert_eq!(attr(&link, "user_id"), Some(user.id.as_str()));

    // Expired session key: read as absent, item still in the table (moto never deletes).
    let key = SessionKeyRecord {
        appid: appid.clone(),
        openid: oid.clone(),
        session_key: wxlogin::domain::SessionKey::new("k"),
        expires_at: NOW + 10,
    };
    store.put_session_key(&key).await.unwrap();
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW + 10).await.unwrap(),
        None
    );
    assert!(table.item(&keys::session_key(&appid, &oid)).await.is_some());
}

#[tokio::test]
async fn refused_writes_leave_nothing_half_written() {
    let table = Table::new().await;
    let store = &table.store;

    // create_user whose unionid link already exists: no user item, no openid link item.
    let (u, holder) = (unionid(), UserId::new_random());
    store.put_unionid_link_if_absent(&u, &holder).await.unwrap();
    let (appid, oid) = (app(), openid());
    let loser = user(Some(phone()));
    assert_eq!(
        store
            .create_user(&loser, &appid, &oid, Some(&u))
            .await
            .unwrap(),
        CreateUserOutcome::UnionIdTaken
    );
    assert!(
        table.item(&keys::user(&loser.id)).await.is_none(),
        "no user item"
    );
    assert!(
        table.item(&keys::openid_link(&appid, &oid)).await.is_none(),
        "no openid link item"
    );
    assert_eq!(
        attr(
            &table.item(&keys::unionid_link(&u)).await.unwrap(),
            "user_id"
        ),
        Some(holder.as_str())
    );
    assert!(table.items("USER#").await.is_empty());
    assert!(table.items("OPENID#").await.is_empty());

    // create_user whose openid is taken, bringing a fresh unionid: no user, no unionid link.
    let owner = user(None);
    create(store, &owner, &appid, &oid, None).await;
    let (u2, second) = (unionid(), user(None));
    assert_eq!(
        store
            .create_user(&second, &appid, &oid, Some(&u2))
            .await
            .unwrap(),
        CreateUserOutcome::OpenIdTaken
    );
    assert!(table.item(&keys::user(&second.id)).await.is_none());
    assert!(table.item(&keys::unionid_link(&u2)).await.is_none());
    assert_eq!(table.items("USER#").await.len(), 1);
    assert_eq!(table.items("OPENID#").await.len(), 1);

    // link_openid refused by the phone guard: no link item, the user item unchanged.
    let before = table.item(&keys::user(&owner.id)).await.unwrap();
    let forged = User {
        phone: Some(phone()),
        ..stored_user(store, &owner.id).await
    };
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&forged, &app2, &oid2, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::UserChanged
    );
    assert!(table.item(&keys::openid_link(&app2, &oid2)).await.is_none());
    assert_eq!(table.item(&keys::user(&owner.id)).await.unwrap(), before);

    // link_openid refused because the openid is taken: the user does not gain the app.
    let other = user(None);
    create(store, &other, &app2, &openid(), None).await;
    let owner_read = stored_user(store, &owner.id).await;
    let other_oid = stored_user(store, &other.id).await.openids[&app2].clone();
    assert_eq!(
        store
            .link_openid(&owner_read, &app2, &other_oid, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::OpenIdTaken
    );
    assert_eq!(table.item(&keys::user(&owner.id)).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_across_tasks_create_one_user() {
    let table = Table::new().await;
    const ROUNDS: usize = 3;
    for round in 0..ROUNDS {
        let (appid, oid) = (app(), openid());
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (store, appid, oid) = (table.store.clone(), appid.clone(), oid.clone());
                tokio::spawn(async move {
                    let user = User::new(UserId::new_random(), NOW);
                    let outcome = store.create_user(&user, &appid, &oid, None).await.unwrap();
                    (user.id, outcome)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let created: Vec<&UserId> = outcomes
            .iter()
            .filter(|(_, o)| *o == CreateUserOutcome::Created)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            created.len(),
            1,
            "round {round}: exactly one Created: {outcomes:?}"
        );
        assert!(
            outcomes.iter().all(|(_, o)| matches!(
                o,
                CreateUserOutcome::Created | CreateUserOutcome::OpenIdTaken
            )),
            "round {round}: {outcomes:?}"
        );
        let link = table.item(&keys::openid_link(&appid, &oid)).await.unwrap();
        assert_eq!(attr(&link, "user_id"), Some(created[0].as_str()));
        assert_eq!(
            table.items("USER#").await.len(),
            round + 1,
            "round {round}: one user item per openid"
        );
        assert_eq!(table.items("OPENID#").await.len(), round + 1);
    }
}

#[tokio::test]
async fn a_stale_signer_cannot_roll_the_published_keys_back() {
    use wxlogin::tokens::{KeyDirectory, Keyring, PublishedKeySource as _, PublishedKeys};
    let sdk = moto::sdk_config().await;
    let table = moto::unique("keys");
    moto::create_table(&sdk, &table).await;
    let store = DynamoStore::new(&sdk, &table);
    assert!(store.load_keys().await.unwrap().is_none());
    let seed1 = Keyring::generate_secret_json(None);
    let k1 = Keyring::from_secret_json(&seed1).unwrap();
    let first: serde_json::Value = serde_json::from_str(&seed1).unwrap();
    let k2 = Keyring::from_secret_json(&Keyring::generate_secret_json(first["current"].as_str()))
        .unwrap();
    store.publish_keys(&PublishedKeys::of(&k1)).await.unwrap();
    assert_eq!(
        store.load_keys().await.unwrap().unwrap(),
        PublishedKeys::of(&k1)
    );
    store.publish_keys(&PublishedKeys::of(&k2)).await.unwrap();
    assert_eq!(
        store.load_keys().await.unwrap().unwrap(),
        PublishedKeys::of(&k2)
    );
    store.publish_keys(&PublishedKeys::of(&k1)).await.unwrap();
    assert_eq!(
        store.load_keys().await.unwrap().unwrap(),
        PublishedKeys::of(&k2),
        "an instance still holding the old keyring must not undo the rotation"
    );
}
