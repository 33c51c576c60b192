//! Phone binding through the flow: both WeChat proofs, the account rules in both signup modes,
//! paid-call protection, and the legacy decryption failures of bad-inputs.md.

use crate::domain::{AppId, OpenId, PhoneNumber, SignupMode};
use crate::error::{AppError, UpstreamFault};
use crate::fake::{FakeWeChat, Misbehaviour};
use crate::flows::bind_phone::PhoneProof;
use crate::flows::{LoginOutcome, SessionTokens};
use crate::principal::Principal;
use crate::store::{PhoneOwnership as _, Sessions as _};
use crate::test_support::*;

const PHONE: &str = "/wxa/business/getuserphonenumber";

fn claimant_of(s: &SessionTokens, user: &str) -> Principal {
    Principal::User(session_of(s, APP, user))
}

fn unlinked(user: &str) -> Principal {
    Principal::Unlinked {
        appid: AppId::parse(APP).unwrap(),
        openid: OpenId::parse(&FakeWeChat::openid(APP, user)).unwrap(),
        unionid: None,
    }
}

fn now(h: &Harness) -> u64 {
    crate::clock::Clock::now(&h.clock)
}

async fn bind_code(
    h: &Harness,
    who: &Principal,
    user: &str,
    pure: &str,
) -> Result<SessionTokens, AppError> {
    let code = h.wechat.issue_phone_code(APP, user, "86", pure, false);
    h.backend
        .bind_phone(who, PhoneProof::Code(code), None)
        .await
}

#[tokio::test]
async fn a_phone_code_binds_the_number_and_the_answer_carries_fresh_tokens() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "alice").await;
    let r = bind_code(&h, &claimant_of(&s, "alice"), "alice", "13800138000")
        .await
        .unwrap();
    assert!(r.user.phone_bound);
    assert_eq!(r.user.phone.as_deref(), Some("138****8000"));
    assert_eq!(r.user.id, s.user.id);
    let claims = h.verifier().await.verify_access(&r.access_token).unwrap();
    assert!(claims.phone_bound);
    assert_eq!(h.wechat.calls(PHONE), 1);
    assert_eq!(h.wechat.access_token_fetches(), 1);
    // The next login sees the phone (it is on the openid link).
    let again = h.session(APP, "alice").await;
    assert_eq!(again.user.phone.as_deref(), Some("138****8000"));
    assert!(
        !crate::http::answers::tokens(&r)
            .body
            .contains("13800138000"),
        "full number never in the answer"
    );
}

#[tokio::test]
async fn a_retried_code_returns_the_first_result_without_a_second_paid_call() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "bob").await;
    let who = claimant_of(&s, "bob");
    let code = h
        .wechat
        .issue_phone_code(APP, "bob", "86", "13900139000", false);
    let first = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code.clone()), None)
        .await
        .unwrap();
    let retry = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code.clone()), None)
        .await
        .unwrap();
    assert_eq!(first.user, retry.user);
    assert_eq!(h.wechat.calls(PHONE), 1, "one paid call");
    // Another user presenting the same code is refused, still without a WeChat call.
    let other = h.session(APP, "carol").await;
    let err = h
        .backend
        .bind_phone(&claimant_of(&other, "carol"), PhoneProof::Code(code), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::InvalidCode), "{err:?}");
    assert_eq!(h.wechat.calls(PHONE), 1);
}

#[tokio::test]
async fn openid_mode_rules_taken_already_bound_and_idempotent() {
    let h = Harness::new(SignupMode::OpenId).await;
    let a = h.session(APP, "dan").await;
    let b = h.session(APP, "eve").await;
    bind_code(&h, &claimant_of(&a, "dan"), "dan", "13700137000")
        .await
        .unwrap();
    // A new paid code from a user whose phone is bound (even the same number): decided from
    // the stored user, PHONE_ALREADY_BOUND, and WeChat is not paid again.
    let paid = h.wechat.calls(PHONE);
    assert!(matches!(
        bind_code(&h, &claimant_of(&a, "dan"), "dan", "13700137000").await,
        Err(AppError::PhoneAlreadyBound)
    ));
    assert_eq!(h.wechat.calls(PHONE), paid, "no paid call for a bound user");
    // Another user: PHONE_TAKEN.
    assert!(matches!(
        bind_code(&h, &claimant_of(&b, "eve"), "eve", "13700137000").await,
        Err(AppError::PhoneTaken)
    ));
    // A different phone for a user who has one: PHONE_ALREADY_BOUND, no paid call either.
    let paid = h.wechat.calls(PHONE);
    assert!(matches!(
        bind_code(&h, &claimant_of(&a, "dan"), "dan", "13600136000").await,
        Err(AppError::PhoneAlreadyBound)
    ));
    assert_eq!(h.wechat.calls(PHONE), paid);
}

#[tokio::test]
async fn phone_mode_creates_links_or_refuses_by_the_owner_of_the_phone() {
    let h = Harness::new(SignupMode::Phone).await;
    // Unknown phone: a new user with it.
    let LoginOutcome::PhoneRequired(_) = h.login_as(APP, "fay").await.unwrap() else {
        panic!()
    };
    let r = bind_code(&h, &unlinked("fay"), "fay", "13500135000")
        .await
        .unwrap();
    assert!(r.user.created);
    assert_eq!(h.store.user_count(), 1);
    // Now fay's login is a normal session.
    let LoginOutcome::Session(s) = h.login_as(APP, "fay").await.unwrap() else {
        panic!("fay is known now")
    };
    assert_eq!(s.user.id, r.user.id);
    // The same phone from the same app by another openid: PHONE_TAKEN (the user has an openid here).
    assert!(matches!(
        bind_code(&h, &unlinked("gus"), "gus", "13500135000").await,
        Err(AppError::PhoneTaken)
    ));
    // From another app, the user has no openid yet: linked, logged in as them.
    let code = h
        .wechat
        .issue_phone_code(APP2, "fay-in-app2", "86", "13500135000", false);
    let who = Principal::Unlinked {
        appid: AppId::parse(APP2).unwrap(),
        openid: OpenId::parse(&FakeWeChat::openid(APP2, "fay-in-app2")).unwrap(),
        unionid: None,
    };
    let linked = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code), None)
        .await
        .unwrap();
    assert_eq!(linked.user.id, r.user.id);
    assert!(!linked.user.created);
    assert_eq!(h.store.user_count(), 1);
}

#[tokio::test]
async fn concurrent_binds_of_one_phone_have_one_winner() {
    let h = Harness::new(SignupMode::OpenId).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let user = format!("racer{i}");
        let s = h.session(APP, &user).await;
        let who = claimant_of(&s, &user);
        let code = h
            .wechat
            .issue_phone_code(APP, &user, "86", "13400134000", false);
        let backend = h.backend.clone();
        tasks.push(tokio::spawn(async move {
            backend.bind_phone(&who, PhoneProof::Code(code), None).await
        }));
    }
    let (mut ok, mut taken) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::PhoneTaken) => taken += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, taken), (1, 7));
}

#[tokio::test]
async fn a_rejected_access_token_is_fetched_again_once_and_never_force_refreshed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "hal").await;
    bind_code(&h, &claimant_of(&s, "hal"), "hal", "13300133000")
        .await
        .unwrap();
    h.wechat.expire_access_tokens();
    let s2 = h.session(APP, "ida").await;
    bind_code(&h, &claimant_of(&s2, "ida"), "ida", "13300133001")
        .await
        .unwrap();
    assert_eq!(h.wechat.access_token_fetches(), 2);
    assert_eq!(h.wechat.force_refreshes(), 0);
    assert_eq!(
        h.wechat.calls(PHONE),
        3,
        "one rejected call, one retry, plus the first bind"
    );
}

#[tokio::test]
async fn country_code_as_a_number_and_foreign_numbers_are_stored_in_e164() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "jay").await;
    let code = h
        .wechat
        .issue_phone_code(APP, "jay", "1", "4155550123", true);
    let r = h
        .backend
        .bind_phone(&claimant_of(&s, "jay"), PhoneProof::Code(code), None)
        .await
        .unwrap();
    assert_eq!(r.user.phone.as_deref(), Some("****0123"));
    let owner = h
        .store
        .phone_owner(&PhoneNumber::parse_e164("+14155550123").unwrap())
        .await
        .unwrap();
    assert_eq!(owner.unwrap().as_str(), s.user.id);
}

#[tokio::test]
async fn wechat_phone_failures_map_and_release_the_code() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "kim").await;
    let who = claimant_of(&s, "kim");
    let code = h
        .wechat
        .issue_phone_code(APP, "kim", "86", "13200132000", false);
    h.wechat.misbehave(PHONE, Misbehaviour::Errcode(45011));
    assert!(matches!(
        h.backend
            .bind_phone(&who, PhoneProof::Code(code.clone()), None)
            .await,
        Err(AppError::RateLimited { .. })
    ));
    // The claim was released: the same code works now.
    assert!(
        h.backend
            .bind_phone(&who, PhoneProof::Code(code), None)
            .await
            .is_ok()
    );
    // kim's phone is bound now: the next checks need a user without one.
    let s = h.session(APP, "kit").await;
    let who = claimant_of(&s, "kit");
    let bad = h.wechat.issue_phone_code(APP, "kit", "86", "138abc", false);
    let err = h
        .backend
        .bind_phone(&who, PhoneProof::Code(bad), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::Upstream(UpstreamFault::BadReply)),
        "non-digit purePhoneNumber is 502: {err:?}"
    );
    let unknown = h
        .backend
        .bind_phone(&who, PhoneProof::Code("neverissued".into()), None)
        .await
        .unwrap_err();
    assert!(matches!(unknown, AppError::InvalidCode), "{unknown:?}");
}

// ---- legacy encrypted data ----

fn encrypted(h: &Harness, user: &str, payload: &serde_json::Value) -> PhoneProof {
    let (encrypted_data, iv) = h
        .wechat
        .encrypt_for(APP, user, payload.to_string().as_bytes())
        .unwrap();
    PhoneProof::Encrypted { encrypted_data, iv }
}

#[tokio::test]
async fn legacy_data_from_wechat_binds_the_phone() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "lea").await;
    let payload = FakeWeChat::phone_payload(APP, "86", "13100131000", now(&h));
    let r = h
        .backend
        .bind_phone(
            &claimant_of(&s, "lea"),
            encrypted(&h, "lea", &payload),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.user.phone.as_deref(), Some("131****1000"));
    assert_eq!(h.wechat.calls(PHONE), 0, "legacy data needs no WeChat call");
}

#[tokio::test]
async fn every_flaw_of_legacy_data_is_the_same_decrypt_failed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "max").await;
    let who = claimant_of(&s, "max");
    let t = now(&h);
    let good = FakeWeChat::phone_payload(APP, "86", "13000130000", t);
    let PhoneProof::Encrypted { encrypted_data, iv } = encrypted(&h, "max", &good) else {
        unreachable!()
    };
    let key = crate::crypto::b64_decode(&h.wechat.session_key(APP, "max").unwrap()).unwrap();
    let key: [u8; 16] = key.try_into().unwrap();
    let enc = |plain: &[u8]| {
        crate::crypto::b64_encode(&crate::crypto::aes128_cbc_encrypt(&key, &[3u8; 16], plain))
    };
    let iv3 = crate::crypto::b64_encode(&[3u8; 16]);
    let mut no_phone = good.clone();
    no_phone.as_object_mut().unwrap().remove("purePhoneNumber");
    let cases: Vec<(&str, String, String)> = vec![
        ("not base64", "!!!".into(), iv.clone()),
        (
            "plus became a space",
            encrypted_data.replacen('+', " ", 1).replacen('/', " ", 1),
            iv.clone(),
        ),
        (
            "iv not 16 bytes",
            encrypted_data.clone(),
            crate::crypto::b64_encode(&[1u8; 8]),
        ),
        ("iv not base64", encrypted_data.clone(), "***".into()),
        ("empty ciphertext", String::new(), iv.clone()),
        (
            "ciphertext not a multiple of 16",
            crate::crypto::b64_encode(&[9u8; 20]),
            iv.clone(),
        ),
        (
            "valid padding, not JSON",
            enc(b"hello, not json"),
            iv3.clone(),
        ),
        (
            "JSON without the phone fields",
            enc(no_phone.to_string().as_bytes()),
            iv3.clone(),
        ),
        (
            "wrong watermark appid",
            enc(FakeWeChat::phone_payload("wxother", "86", "13000130000", t)
                .to_string()
                .as_bytes()),
            iv3.clone(),
        ),
        (
            "stale watermark",
            enc(
                FakeWeChat::phone_payload(APP, "86", "13000130000", t - 3600)
                    .to_string()
                    .as_bytes(),
            ),
            iv3.clone(),
        ),
        (
            "future watermark",
            enc(
                FakeWeChat::phone_payload(APP, "86", "13000130000", t + 3600)
                    .to_string()
                    .as_bytes(),
            ),
            iv3.clone(),
        ),
        (
            "non-digit phone",
            enc(FakeWeChat::phone_payload(APP, "86", "1300013000x", t)
                .to_string()
                .as_bytes()),
            iv3.clone(),
        ),
    ];
    for (what, data, iv) in cases {
        let err = h
            .backend
            .bind_phone(
                &who,
                PhoneProof::Encrypted {
                    encrypted_data: data,
                    iv,
                },
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::DecryptFailed), "{what}: {err:?}");
    }
    // Bad padding under the right key (tampered last block) is DECRYPT_FAILED too: the key is current.
    let mut raw = crate::crypto::b64_decode(&encrypted_data).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x55;
    let err = h
        .backend
        .bind_phone(
            &who,
            PhoneProof::Encrypted {
                encrypted_data: crate::crypto::b64_encode(&raw),
                iv,
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::DecryptFailed), "{err:?}");
    assert!(
        h.store
            .phone_owner(&PhoneNumber::parse_e164("+8613000130000").unwrap())
            .await
            .unwrap()
            .is_none(),
        "nothing bound"
    );
}

#[tokio::test]
async fn a_missing_expired_or_rotated_session_key_is_session_key_stale() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "ned").await;
    let who = claimant_of(&s, "ned");
    let payload = FakeWeChat::phone_payload(APP, "86", "12900129000", now(&h));
    // Rotated by a newer wx.login the server never saw: data encrypted with the new key.
    h.wechat.rotate_session_key(APP, "ned");
    let err = h
        .backend
        .bind_phone(&who, encrypted(&h, "ned", &payload), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::SessionKeyStale), "{err:?}");
    // Expired (TTL passed, item still there).
    let s2 = h.session(APP, "ned").await;
    h.clock
        .advance(crate::flows::session_tokens::SESSION_KEY_TTL_SECS + 1);
    let err = h
        .backend
        .bind_phone(
            &claimant_of(&s2, "ned"),
            encrypted(&h, "ned", &payload),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::SessionKeyStale), "{err:?}");
    // Missing: an openid that never logged in through us.
    let err = h
        .backend
        .bind_phone(
            &unlinked("nobody"),
            PhoneProof::Encrypted {
                encrypted_data: "AAAA".into(),
                iv: "AAAA".into(),
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::SessionKeyStale), "{err:?}");
}

#[tokio::test]
async fn a_corrupt_stored_session_key_fails_closed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "oli").await;
    let who = claimant_of(&s, "oli");
    h.store
        .put_session_key(&crate::store::SessionKeyRecord {
            appid: AppId::parse(APP).unwrap(),
            openid: who.openid().clone(),
            session_key: crate::domain::SessionKey::new(crate::crypto::b64_encode(&[1u8; 10])),
            expires_at: now(&h) + 100,
        })
        .await
        .unwrap();
    let err = h
        .backend
        .bind_phone(
            &who,
            PhoneProof::Encrypted {
                encrypted_data: "AAAA".into(),
                iv: "AAAA".into(),
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Internal(_)), "{err:?}");
}

#[tokio::test]
async fn a_phone_code_made_for_another_mini_program_is_the_callers_invalid_code() {
    // WeChat answers 40013 when the code belongs to another appid: before, that counted as a
    // rejected app secret (503 MISCONFIGURED and an operator alarm) for a client's mistake.
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "ivan").await;
    let foreign = h
        .wechat
        .issue_phone_code(APP2, "ivan", "86", "13100131000", false);
    let r = h
        .backend
        .bind_phone(&claimant_of(&s, "ivan"), PhoneProof::Code(foreign), None)
        .await;
    assert!(matches!(r, Err(AppError::InvalidCode)), "{r:?}");
    // Nothing was bound, and a code of this app still works.
    bind_code(&h, &claimant_of(&s, "ivan"), "ivan", "13100131000")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_phone_path_rereads_a_rotated_app_secret_once() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "jana").await;
    let s2 = h.session(APP, "kurt").await;
    // The operator rotated the secret: WeChat knows the new one, our cached copy is stale.
    h.wechat.add_app(APP, "rotated-secret");
    h.secrets.set(
        WECHAT_SECRET_ID,
        &serde_json::json!({"apps": {APP: "rotated-secret", APP2: SECRET2}}).to_string(),
    );
    let bound = bind_code(&h, &claimant_of(&s, "jana"), "jana", "13000130000")
        .await
        .expect("bound after one re-read of the secret");
    assert_eq!(bound.user.phone.as_deref(), Some("130****0000"));
    assert!(h.wechat.secret_was_sent("rotated-secret"));
    // A secret that stays wrong is MISCONFIGURED, and the code stays usable.
    h.wechat.add_app(APP, "something-else");
    h.wechat.invalidate_access_tokens();
    let code = h
        .wechat
        .issue_phone_code(APP, "kurt", "86", "13000130001", false);
    let r = h
        .backend
        .bind_phone(&claimant_of(&s2, "kurt"), PhoneProof::Code(code), None)
        .await;
    assert!(matches!(r, Err(AppError::Misconfigured(_))), "{r:?}");
}

#[tokio::test]
async fn a_stalled_wechat_is_cut_at_the_request_deadline_and_the_code_claim_released() {
    use crate::fake::wechat::{Misbehaviour, PHONE_NUMBER_PATH};
    use std::time::Duration;
    use tokio::time::Instant;
    // The production timeout per call (3 s), a request with 2.5 s left: before, the calls'
    // own timeouts ran past the deadline (Lambda killed the process) and the claim stayed
    // pending for 10 minutes.
    let h =
        Harness::with_wechat_timeout(SignupMode::OpenId, crate::wechat::client::REQUEST_TIMEOUT)
            .await;
    let s = h.session(APP, "lena").await;
    let who = claimant_of(&s, "lena");
    let code = h
        .wechat
        .issue_phone_code(APP, "lena", "86", "13900139000", false);
    h.wechat.misbehave(
        PHONE_NUMBER_PATH,
        Misbehaviour::Slow(Duration::from_secs(30)),
    );
    let deadline = Instant::now() + Duration::from_millis(2_500);
    let answered = crate::deadline::within(
        deadline,
        tokio::time::timeout_at(
            deadline,
            h.backend
                .bind_phone(&who, PhoneProof::Code(code.clone()), None),
        ),
    )
    .await
    .expect("the flow answered before the request's deadline");
    assert!(
        matches!(
            answered,
            Err(AppError::Upstream(crate::error::UpstreamFault::Timeout))
        ),
        "{answered:?}"
    );
    // The claim was released: with WeChat answering again, the same code binds.
    let bound = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code), None)
        .await
        .expect("the code is not stuck as pending");
    assert_eq!(bound.user.phone.as_deref(), Some("139****9000"));
    assert_eq!(h.wechat.calls(PHONE_NUMBER_PATH), 2);
}
