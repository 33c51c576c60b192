//! Smoke tier for `session` (logout, me, JWKS) and key rotation: real binaries under the
//! Runtime API emulator against moto and the fake WeChat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::tokens::Keyring;
use wxlogin_tests::emulator::{Emulator, Outcome};
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

fn bearer(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

async fn refresh(lambda: &Emulator, session: &Value) -> wxlogin_tests::emulator::HttpReply {
    lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        ))
        .await
}

async fn authorized(authorizer: &Emulator, session: &Value) -> bool {
    match authorizer
        .invoke(events::authorizer(Some(&bearer(session))))
        .await
    {
        Outcome::Response(v) => v["isAuthorized"] == true,
        Outcome::Error(e) => panic!("{e}"),
        Outcome::TimedOut => panic!("the authorizer answered after its deadline"),
    }
}

#[tokio::test]
async fn me_returns_the_callers_profile_and_refuses_without_a_token() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let s = stack.login(&code_exchange, "alice").await;
    let session = stack.start("session", &[]).await;
    let me = session
        .http(events::http(
            "GET",
            "/auth/me",
            None,
            &[("authorization", &bearer(&s))],
        ))
        .await;
    assert_eq!(me.status, 200, "{}", me.raw_body);
    assert_eq!(me.body["id"], s["user"]["id"]);
    assert_eq!(me.body["appid"], stack.appid());
    assert_eq!(me.body["phone_bound"], false);
    assert!(me.body["created_at"].as_str().unwrap().ends_with('Z'));
    let none = session
        .http(events::http("GET", "/auth/me", None, &[]))
        .await;
    assert_eq!((none.status, none.error_code()), (401, "UNAUTHORIZED"));
    let forged = session
        .http(events::http(
            "GET",
            "/auth/me",
            None,
            &[("authorization", "Bearer a.b.c")],
        ))
        .await;
    assert_eq!((forged.status, forged.error_code()), (401, "UNAUTHORIZED"));
}

#[tokio::test]
async fn jwks_lists_the_published_keys_that_verify_our_tokens() {
    let stack = Stack::new().await;
    let _code_exchange = stack.start("code-exchange", &[]).await;
    let session = stack.start("session", &[]).await;
    let r = session
        .http(events::http("GET", "/.well-known/jwks.json", None, &[]))
        .await;
    assert_eq!(r.status, 200);
    let ring = Keyring::from_secret_json(&stack.signing_secret).unwrap();
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["keys"][0]["kid"], ring.current.kid.as_str());
    assert_eq!(r.body["keys"][0], ring.current.public.jwk());
    assert_eq!(r.body["keys"][0]["alg"], "RS256");
    assert_eq!(r.body["keys"][0]["kty"], "RSA");
    for private in ["current\"", "pkcs8", "\"d\"", "\"p\"", "\"q\""] {
        assert!(!r.raw_body.contains(private), "no key material: {private}");
    }
}

#[tokio::test]
async fn logout_revokes_this_refresh_family_at_once_and_leaves_others() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let phone_a = stack.login(&code_exchange, "bob").await;
    let phone_b = stack.login(&code_exchange, "bob").await;
    let session = stack.start("session", &[]).await;
    let authorizer = stack.start("authorizer", &[]).await;
    let out = session
        .http(events::http(
            "POST",
            "/auth/logout",
            None,
            &[("authorization", &bearer(&phone_a))],
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.raw_body);
    let r = refresh(&code_exchange, &phone_a).await;
    assert_eq!(
        (r.status, r.error_code()),
        (401, "REFRESH_REVOKED"),
        "refresh dies at once"
    );
    assert_eq!(
        refresh(&code_exchange, &phone_b).await.status,
        200,
        "the other session lives"
    );
    // Documented: the access token itself stays valid until it expires (no I/O in the authorizer).
    assert!(authorized(&authorizer, &phone_a).await);
}

#[tokio::test]
async fn logout_all_makes_every_older_refresh_token_fail() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let a = stack.login(&code_exchange, "carol").await;
    let b = stack.login(&code_exchange, "carol").await;
    let other_user = stack.login(&code_exchange, "dave").await;
    let session = stack.start("session", &[]).await;
    let out = session
        .http(events::http(
            "POST",
            "/auth/logout",
            Some(r#"{"all": true}"#),
            &[("authorization", &bearer(&a))],
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.raw_body);
    for s in [&a, &b] {
        let r = refresh(&code_exchange, s).await;
        assert_eq!((r.status, r.error_code()), (401, "REFRESH_REVOKED"));
    }
    assert_eq!(refresh(&code_exchange, &other_user).await.status, 200);
    // A login after the logout works (its family is newer than the cut-off second).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let c = stack.login(&code_exchange, "carol").await;
    assert_eq!(refresh(&code_exchange, &c).await.status, 200);
}

#[tokio::test]
async fn logout_with_only_a_refresh_token_works_and_bad_proofs_are_refused() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let s = stack.login(&code_exchange, "erin").await;
    let session = stack.start("session", &[]).await;
    let out = session
        .http(events::post_json(
            "/auth/logout",
            &json!({"refresh_token": s["refresh_token"]}),
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.raw_body);
    assert_eq!(
        refresh(&code_exchange, &s).await.error_code(),
        "REFRESH_REVOKED"
    );
    let none = session
        .http(events::http("POST", "/auth/logout", None, &[]))
        .await;
    assert_eq!((none.status, none.error_code()), (401, "UNAUTHORIZED"));
    let junk = session
        .http(events::post_json(
            "/auth/logout",
            &json!({"refresh_token": "f_x.y"}),
        ))
        .await;
    assert_eq!((junk.status, junk.error_code()), (401, "REFRESH_REVOKED"));
    let extra = session
        .http(events::post_json(
            "/auth/logout",
            &json!({"everything": true}),
        ))
        .await;
    assert_eq!((extra.status, extra.error_code()), (400, "INVALID_REQUEST"));
}

#[tokio::test]
async fn a_key_rotation_keeps_old_tokens_working_while_new_ones_use_the_new_key() {
    let stack = Stack::new().await;
    let old_signer = stack.start("code-exchange", &[]).await;
    let authorizer = stack.start("authorizer", &[]).await;
    let before = stack.login(&old_signer, "frank").await;
    let old_kid = Keyring::from_secret_json(&stack.signing_secret)
        .unwrap()
        .current
        .kid;

    // Rotate: what the key-rotation function writes.
    let rotated = wxlogin::tokens::rotated_secret_json(
        &stack.signing_secret,
        wxlogin::tokens::SigningAlgorithm::Rs256,
        wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock),
        0,
    )
    .unwrap();
    moto::update_secret(&stack.sdk, &stack.signing_secret_id, &rotated).await;
    let new_kid = Keyring::from_secret_json(&rotated).unwrap().current.kid;
    assert_ne!(old_kid, new_kid);

    let new_signer = stack.start("code-exchange", &[]).await; // cold start: new key, published
    let after = stack.login(&new_signer, "frank").await;
    let header = |s: &Value| {
        jsonwebtoken::decode_header(s["access_token"].as_str().unwrap())
            .unwrap()
            .kid
            .unwrap()
    };
    assert_eq!(header(&before), old_kid);
    assert_eq!(header(&after), new_kid, "new tokens use the new key");

    // The authorizer from before the rotation: the old token still works, the new kid is
    // learned by one re-read.
    assert!(authorized(&authorizer, &before).await);
    assert!(authorized(&authorizer, &after).await);
    // A fresh authorizer knows both.
    let fresh = stack.start("authorizer", &[]).await;
    assert!(authorized(&fresh, &before).await);
    assert!(authorized(&fresh, &after).await);
    // The JWKS publishes current then previous.
    let session = stack.start("session", &[]).await;
    let jwks = session
        .http(events::http("GET", "/.well-known/jwks.json", None, &[]))
        .await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    // Refresh through the old signer still works (its key is the published previous one).
    assert_eq!(refresh(&old_signer, &before).await.status, 200);
}

#[tokio::test]
async fn the_export_lists_the_callers_data_without_secrets_and_only_for_a_live_session() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let session = stack.start("session", &[]).await;
    let s = stack.login(&code_exchange, "erika").await;
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "erika", "86", "13800138071", false);
    let bound = bind
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({ "code": code }).to_string()),
            &[("authorization", &bearer(&s))],
        ))
        .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    let export = |who: &Value| {
        events::http(
            "GET",
            "/auth/me/export",
            None,
            &[("authorization", &bearer(who))],
        )
    };
    let e = session.http(export(&bound.body)).await;
    assert_eq!(e.status, 200, "{}", e.raw_body);
    assert_eq!(e.header("cache-control"), Some("no-store"));
    let body = &e.body;
    assert_eq!(body["user"]["id"], s["user"]["id"]);
    assert_eq!(
        body["user"]["phone"], "+8613800138071",
        "the owner sees the whole number"
    );
    assert_eq!(body["user"]["password_set"], false);
    let wechat = body["wechat"].as_array().unwrap();
    assert_eq!(wechat.len(), 1);
    assert_eq!(wechat[0]["appid"], stack.appid());
    assert_eq!(
        wechat[0]["openid"],
        wxlogin::fake::FakeWeChat::openid(stack.appid(), "erika")
    );
    assert_eq!(wechat[0]["session_key_held"], true);
    assert!(
        body["current_session"]["expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(!body["not_listed"].as_array().unwrap().is_empty());
    // Never a secret: not the session_key, not a token.
    let session_key = stack.wechat.session_key(stack.appid(), "erika").unwrap();
    assert!(!e.raw_body.contains(&session_key), "session_key exported");
    assert!(!e.raw_body.contains("eyJ"), "a token exported");
    // No token, or a logged-out session's token (still a valid JWT): nothing.
    let none = session
        .http(events::http("GET", "/auth/me/export", None, &[]))
        .await;
    assert_eq!((none.status, none.error_code()), (401, "UNAUTHORIZED"));
    let out = session
        .http(events::http(
            "POST",
            "/auth/logout",
            None,
            &[("authorization", &bearer(&bound.body))],
        ))
        .await;
    assert_eq!(out.status, 200, "{}", out.raw_body);
    let after = session.http(export(&bound.body)).await;
    assert_eq!((after.status, after.error_code()), (401, "UNAUTHORIZED"));
}

#[tokio::test]
async fn the_demo_routes_answer_what_the_gateways_authorizer_passed_and_refuse_without_one() {
    let stack = Stack::new().await;
    let session = stack.start("session", &[]).await;
    let with = |path: &str, authorizer: Option<Value>| {
        let mut event = events::http("GET", path, None, &[]);
        if let Some(a) = authorizer {
            event["requestContext"]["authorizer"] = a;
        }
        event
    };
    let lambda = serde_json::json!({"lambda": {"user_id": "u_demo", "appid": "wxdemo", "openid": "odemo", "phone_bound": false}});
    let r = session
        .http(with("/demo/protected", Some(lambda.clone())))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["authorizer"], lambda);
    let jwt = serde_json::json!({"jwt": {"claims": {"sub": "u_demo", "appid": "wxdemo", "phone_bound": "false"}, "scopes": null}});
    let r = session.http(with("/demo/jwt", Some(jwt))).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["authorizer"]["jwt"]["claims"]["sub"], "u_demo");
    for path in ["/demo/protected", "/demo/jwt"] {
        let r = session.http(with(path, None)).await;
        assert_eq!((r.status, r.error_code()), (401, "UNAUTHORIZED"), "{path}");
    }
}
