//! The `AccountImport` suite: an imported account is created whole (user, every openid link
//! carrying its unionid and phone, the unionid link, the phone's ownership) and found the way
//! logins find users; an account meeting another user's key leaves nothing of itself and does
//! not stop the others; creating again finds it present; an interrupted import is completed
//! by the next, or undone whole when a key was taken meanwhile; a user changed since its
//! import is left alone; `key_holders` names who holds each existing key.

use super::fixtures::{NOW, account, app, openid, phone, unionid, user};
use crate::domain::PhoneNumber;
use crate::store::{
    AccountImport, AccountKey, BindOutcome, CreateAccountOutcome, Identities, NewAccount,
    PhoneOwnership,
};

/// Runs every check of this suite against `store`.
pub async fn run_account_import<S: AccountImport + Identities + PhoneOwnership>(store: &S) {
    an_account_is_created_whole_and_found_like_a_login_finds_it(store).await;
    a_blocked_account_leaves_nothing_and_the_others_are_created(store).await;
    creating_again_finds_it_present_and_holders_name_the_owner(store).await;
    an_interrupted_import_is_completed_or_undone_whole(store).await;
    a_user_changed_since_its_import_is_left_alone(store).await;
}

/// A fresh account to import: two apps, a unionid and a phone when asked, a nickname.
pub fn new_account(with_phone: Option<PhoneNumber>, with_unionid: bool) -> NewAccount {
    let mut u = user(with_phone);
    u.openids.insert(app(), openid());
    u.openids.insert(app(), openid());
    u.nickname = Some("导入的用户".into());
    NewAccount {
        user: u,
        unionid: with_unionid.then(unionid),
    }
}

async fn create<S: AccountImport>(store: &S, accounts: &[NewAccount]) -> Vec<CreateAccountOutcome> {
    store.create_accounts(accounts).await.unwrap()
}

/// No item of `account` names its user (items of others under its keys may exist).
async fn assert_absent<S: AccountImport>(store: &S, account: &NewAccount) {
    let left: Vec<_> = store
        .key_holders(std::slice::from_ref(account))
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.user_id == account.user.id)
        .collect();
    assert_eq!(left, vec![], "nothing of the account is left");
}

pub async fn an_account_is_created_whole_and_found_like_a_login_finds_it<
    S: AccountImport + Identities + PhoneOwnership,
>(
    store: &S,
) {
    let p = phone();
    let account = new_account(Some(p.clone()), true);
    assert_eq!(
        create(store, std::slice::from_ref(&account)).await,
        vec![CreateAccountOutcome::Created]
    );
    let id = &account.user.id;
    assert_eq!(
        store.get_user(id).await.unwrap().as_ref(),
        Some(&account.user)
    );
    for (appid, oid) in &account.user.openids {
        let linked = store
            .touch_openid_link(appid, oid, None, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&linked.user_id, id);
        assert_eq!(
            linked.phone.as_ref(),
            Some(&p),
            "the link carries the phone"
        );
        assert_eq!(
            linked.unionid, account.unionid,
            "the link records the unionid"
        );
        assert!(!linked.disabled);
    }
    let u = account.unionid.as_ref().unwrap();
    assert_eq!(store.find_unionid_user(u).await.unwrap().as_ref(), Some(id));
    assert_eq!(store.phone_owner(&p).await.unwrap().as_ref(), Some(id));
}

pub async fn a_blocked_account_leaves_nothing_and_the_others_are_created<
    S: AccountImport + Identities + PhoneOwnership,
>(
    store: &S,
) {
    // Someone already owns this phone; the account claiming it sits among 40 accounts.
    let owner = account(store, Some(phone())).await;
    let taken = owner.user.phone.clone().unwrap();
    let mut accounts: Vec<NewAccount> = (0..40)
        .map(|i| new_account((i % 2 == 0).then(phone), i % 3 == 0))
        .collect();
    accounts[21] = new_account(Some(taken.clone()), true);
    let outcomes = create(store, &accounts).await;
    for (i, (account, outcome)) in accounts.iter().zip(&outcomes).enumerate() {
        if i == 21 {
            assert_eq!(
                *outcome,
                CreateAccountOutcome::Conflict {
                    key: AccountKey::Phone(taken.clone()),
                    holder: owner.user.id.clone()
                }
            );
            assert_absent(store, account).await;
            assert_eq!(store.get_user(&account.user.id).await.unwrap(), None);
            for (appid, oid) in &account.user.openids {
                assert!(
                    store
                        .touch_openid_link(appid, oid, None, NOW)
                        .await
                        .unwrap()
                        .is_none()
                );
            }
            let u = account.unionid.as_ref().unwrap();
            assert_eq!(store.find_unionid_user(u).await.unwrap(), None);
        } else {
            assert_eq!(*outcome, CreateAccountOutcome::Created, "account {i}");
            assert!(store.get_user(&account.user.id).await.unwrap().is_some());
        }
    }
    assert_eq!(
        store.phone_owner(&taken).await.unwrap().as_ref(),
        Some(&owner.user.id),
        "the owner keeps the phone"
    );
}

pub async fn creating_again_finds_it_present_and_holders_name_the_owner<
    S: AccountImport + Identities + PhoneOwnership,
>(
    store: &S,
) {
    let account = new_account(Some(phone()), true);
    let fresh = new_account(None, false);
    assert_absent(store, &fresh).await;
    create(store, std::slice::from_ref(&account)).await;
    assert_eq!(
        create(store, &[account.clone(), fresh.clone()]).await,
        vec![
            CreateAccountOutcome::AlreadyPresent,
            CreateAccountOutcome::Created
        ]
    );
    let mut holders = store
        .key_holders(std::slice::from_ref(&account))
        .await
        .unwrap();
    holders.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected = account.keys();
    expected.sort();
    assert_eq!(
        holders
            .iter()
            .map(|h| h.key.clone())
            .collect::<Vec<AccountKey>>(),
        expected
    );
    assert!(holders.iter().all(|h| h.user_id == account.user.id));
}

/// The same account with only its user item and phone (as if a run stopped after two puts).
fn interrupted(account: &NewAccount) -> NewAccount {
    let mut partial = account.clone();
    partial.user.openids.clear();
    NewAccount {
        unionid: None,
        ..partial
    }
}

pub async fn an_interrupted_import_is_completed_or_undone_whole<
    S: AccountImport + Identities + PhoneOwnership,
>(
    store: &S,
) {
    // Completed: the next run writes what is missing.
    let account = new_account(Some(phone()), true);
    let stopped = interrupted(&account);
    create(store, std::slice::from_ref(&stopped)).await;
    assert_eq!(
        create(store, std::slice::from_ref(&account)).await,
        vec![CreateAccountOutcome::Created]
    );
    let mut expected = account.keys();
    expected.sort();
    let mut holders: Vec<AccountKey> = store
        .key_holders(std::slice::from_ref(&account))
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.key)
        .collect();
    holders.sort();
    assert_eq!(holders, expected);
    let (appid, oid) = account.user.openids.iter().next().unwrap();
    let linked = store
        .touch_openid_link(appid, oid, None, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.user_id, account.user.id);

    // Undone: meanwhile another user took its unionid, so nothing of it may stay.
    let account = new_account(Some(phone()), true);
    create(store, &[interrupted(&account)]).await;
    let mut rival = new_account(None, false);
    rival.unionid = account.unionid.clone();
    create(store, std::slice::from_ref(&rival)).await;
    assert_eq!(
        create(store, std::slice::from_ref(&account)).await,
        vec![CreateAccountOutcome::Conflict {
            key: AccountKey::UnionId(account.unionid.clone().unwrap()),
            holder: rival.user.id.clone()
        }]
    );
    assert_absent(store, &interrupted(&account)).await;
    assert_eq!(store.get_user(&account.user.id).await.unwrap(), None);
    assert_eq!(
        store
            .phone_owner(account.user.phone.as_ref().unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn a_user_changed_since_its_import_is_left_alone<
    S: AccountImport + Identities + PhoneOwnership,
>(
    store: &S,
) {
    let account = new_account(None, false);
    create(store, std::slice::from_ref(&account)).await;
    // The user bound a phone after the import (the version moved on).
    let stored = store.get_user(&account.user.id).await.unwrap().unwrap();
    let bound = phone();
    assert_eq!(
        store.bind_phone(&stored, &bound).await.unwrap(),
        BindOutcome::Bound
    );
    // An older export says another phone: the account is left as its user made it.
    let mut older = account.clone();
    older.user.phone = Some(phone());
    assert_eq!(
        create(store, std::slice::from_ref(&older)).await,
        vec![CreateAccountOutcome::AlreadyPresent]
    );
    let now = store.get_user(&account.user.id).await.unwrap().unwrap();
    assert_eq!(now.phone.as_ref(), Some(&bound));
    assert_eq!(
        store
            .phone_owner(older.user.phone.as_ref().unwrap())
            .await
            .unwrap(),
        None
    );
}
