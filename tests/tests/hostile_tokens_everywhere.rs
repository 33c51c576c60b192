//! The hostile-token battery (`wxlogin::fake::hostile_tokens`) against every route that takes a
//! Bearer token, through the real binaries: POST /auth/phone (bind-phone), POST /auth/password
//! and POST /auth/password/login (account), GET/PATCH/PUT /auth/me, POST /auth/me/userinfo and
//! POST /auth/logout (session).
//!
//! The battery's tokens all name one subject (`u_hostile`, app `wxhostile`, openid `ohostile`,
//! session `f_hostile`). That subject is made real here — a logged-in user's items are copied
//! under those ids — so that the battery's control token is a working session on every route:
//! a hostile token refused with 401 is refused for its one defect, not for naming nobody, and
//! one that got through would change the table or answer differently.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use std::collections::HashMap;
use wxlogin::fake::hostile_tokens;
use wxlogin::tokens::Keyring;
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::stack::{AUDIENCE, ISSUER, Stack};

const SUB: &str = "u_hostile";
const APPID: &str = "wxhostile";
const OPENID: &str = "ohostile";
const SID: &str = "f_hostile";
const PHONE: &str = "13800138555";
const PASSWORD: &str = "correct horse battery staple 42";

fn now() -> u64 {
    wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock)
}

/// Rewrites every string of an attribute (and every map key) with `swap`.
fn rewrite(v: &AttributeValue, swap: &dyn Fn(&str) -> String) -> AttributeValue {
    match v {
        AttributeValue::S(s) => AttributeValue::S(swap(s)),
        AttributeValue::M(m) => {
            AttributeValue::M(m.iter().map(|(k, v)| (swap(k), rewrite(v, swap))).collect())
        }
        AttributeValue::L(l) => AttributeValue::L(l.iter().map(|v| rewrite(v, swap)).collect()),
        other => other.clone(),
    }
}

/// Copies the items of a logged-in user (user, openid link, refresh family, session_key)
/// under the battery's ids, whatever their attributes are.
async fn make_the_hostile_subject_real(stack: &Stack, session: &Value) {
    let claims = stack
        .verifier()
        .verify_access(session["access_token"].as_str().unwrap())
        .unwrap();
    let swaps = [
        (claims.sub.clone(), SUB),
        (claims.sid.clone(), SID),
        (claims.openid.clone(), OPENID),
        (claims.appid.clone(), APPID),
    ];
    let swap = |s: &str| {
        swaps.iter().fold(s.to_owned(), |acc, (from, to)| {
            acc.replace(from.as_str(), to)
        })
    };
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut copied = 0;
    for item in moto::scan_prefix(&stack.sdk, &stack.table, "").await {
        let pk = item["pk"].as_s().unwrap();
        let ours = [&claims.sub, &claims.sid, &claims.openid]
            .iter()
            .any(|id| pk.contains(id.as_str()));
        if !ours {
            continue;
        }
        let copy: HashMap<String, AttributeValue> = item
            .iter()
            .map(|(k, v)| (k.clone(), rewrite(v, &swap)))
            .collect();
        client
            .put_item()
            .table_name(&stack.table)
            .set_item(Some(copy))
            .send()
            .await
            .unwrap();
        copied += 1;
    }
    assert_eq!(copied, 4, "user, openid link, family and session_key");
}

/// Legacy open data for the hostile subject: encrypted under the session_key it was given
/// (the copied one), watermarked with its app.
fn open_data(session_key: &str, plaintext: &Value) -> (String, String) {
    let key: [u8; 16] = wxlogin::crypto::b64_decode(session_key)
        .unwrap()
        .try_into()
        .unwrap();
    let iv = wxlogin::crypto::random_bytes::<16>();
    let data = wxlogin::crypto::aes128_cbc_encrypt(&key, &iv, plaintext.to_string().as_bytes());
    (
        wxlogin::crypto::b64_encode(&data),
        wxlogin::crypto::b64_encode(&iv),
    )
}

struct Route<'a> {
    lambda: &'a Emulator,
    method: &'static str,
    path: &'static str,
    body: Option<String>,
    /// The route also serves callers without a token.
    token_optional: bool,
}

impl Route<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    async fn call(&self, token: &str) -> HttpReply {
        let auth = format!("Bearer {token}");
        self.lambda
            .http(events::http(
                self.method,
                self.path,
                self.body.as_deref(),
                &[("authorization", &auth)],
            ))
            .await
    }
}

#[tokio::test]
async fn every_hostile_token_is_refused_on_every_route_that_takes_a_token() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let s = stack.login(&login_fn, "mallory").await;
    make_the_hostile_subject_real(&stack, &s).await;
    let bind = stack.start("bind-phone", &[]).await;
    let account = stack.start("account", &[]).await;
    let session = stack.start("session", &[]).await;

    let session_key = stack.wechat.session_key(stack.appid(), "mallory").unwrap();
    let stamp = json!({"appid": APPID, "timestamp": now()});
    let (phone_data, phone_iv) = open_data(
        &session_key,
        &json!({"phoneNumber": PHONE, "purePhoneNumber": PHONE, "countryCode": "86", "watermark": stamp}),
    );
    let raw_data = json!({"nickName": "Mallory"}).to_string();
    let (info_data, info_iv) = open_data(
        &session_key,
        &json!({"nickName": "Mallory", "watermark": stamp}),
    );
    let signature = wxlogin::crypto::sha1_hex(format!("{raw_data}{session_key}").as_bytes());
    let body = |v: Value| Some(v.to_string());
    // In the order the control runs them: each one's effect is what the next one needs (a
    // phone before a password, a password before a password login).
    let routes = [
        Route {
            lambda: &bind,
            method: "POST",
            path: "/auth/phone",
            body: body(json!({"encrypted_data": phone_data, "iv": phone_iv})),
            token_optional: false,
        },
        Route {
            lambda: &session,
            method: "GET",
            path: "/auth/me",
            body: None,
            token_optional: false,
        },
        Route {
            lambda: &session,
            method: "PATCH",
            path: "/auth/me",
            body: body(json!({"nickname": "Mallory P"})),
            token_optional: false,
        },
        Route {
            lambda: &session,
            method: "PUT",
            path: "/auth/me",
            body: body(json!({"nickname": "Mallory U"})),
            token_optional: false,
        },
        Route {
            lambda: &session,
            method: "POST",
            path: "/auth/me/userinfo",
            body: body(
                json!({"raw_data": raw_data, "signature": signature, "encrypted_data": info_data, "iv": info_iv}),
            ),
            token_optional: false,
        },
        Route {
            lambda: &account,
            method: "POST",
            path: "/auth/password",
            body: body(json!({ "password": PASSWORD })),
            token_optional: false,
        },
        Route {
            lambda: &account,
            method: "POST",
            path: "/auth/password/login",
            body: body(json!({"phone": PHONE, "password": PASSWORD})),
            token_optional: true,
        },
        Route {
            lambda: &session,
            method: "POST",
            path: "/auth/logout",
            body: body(json!({"all": true})),
            token_optional: false,
        },
    ];

    let ring = Keyring::from_secret_json(&stack.signing_secret).unwrap();
    let hostile = hostile_tokens::all(&ring, ISSUER, AUDIENCE, now());
    assert!(hostile.len() >= 25);
    let before = stack.snapshot().await;
    for route in &routes {
        for (what, token) in &hostile {
            if token.is_empty() && route.token_optional {
                // `Bearer ` with nothing after it is no token: a tokenless password login,
                // which account.rs covers.
                continue;
            }
            let r = route.call(token).await;
            assert_eq!(
                (r.status, r.error_code()),
                (401, "UNAUTHORIZED"),
                "{} with {what}: {}",
                route.name(),
                r.raw_body
            );
            for field in ["access_token", "refresh_token", "bind_token"] {
                assert!(r.body.get(field).is_none(), "{} with {what}", route.name());
            }
        }
        assert_eq!(
            stack.snapshot().await,
            before,
            "{}: no state change",
            route.name()
        );
    }
    assert_eq!(stack.count_items("PHONE#").await, 0);

    // The control: the well-formed token of the same subject works on every route. Setting
    // a password ends every session, the caller's too (account.rs): from there on the control
    // is the new session that answer carries.
    let mut control = hostile_tokens::valid(&ring, ISSUER, AUDIENCE, now());
    for route in &routes {
        let r = route.call(&control).await;
        assert_eq!(
            r.status,
            200,
            "{} with the control: {}",
            route.name(),
            r.raw_body
        );
        if route.path == "/auth/password" {
            control = r.body["access_token"].as_str().unwrap().to_owned();
        }
    }
    let user = stack.item(&format!("USER#{SUB}")).await.unwrap();
    assert_eq!(user["phone"]["S"], format!("+86{PHONE}"), "{user}");
    assert!(user.get("password_hash").is_some(), "{user}");
    assert_eq!(stack.count_items("PHONE#").await, 1);
}
