//! `wxlogin-admin`, the real binary, against moto and the real functions: it refuses to run
//! without an explicit table and region; it finds users by id, openid, unionid and phone
//! (masked); disable, enable, logout and delete take effect on the functions at once; export
//! and counts print the table's truth.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::fake::FakeWeChat;
use wxlogin_tests::admin_cli::{admin, on};
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

const PHONE: &str = "13800138066";

fn now() -> u64 {
    wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock)
}

#[tokio::test]
async fn the_tool_refuses_to_run_without_an_explicit_table_and_region() {
    let stack = Stack::new().await;
    let endpoint = moto::endpoint();
    for (args, missing) in [
        (vec!["counts"], "--table"),
        (vec!["--region", "us-east-1", "counts"], "--table"),
        (vec!["--table", stack.table.as_str(), "counts"], "--region"),
    ] {
        let mut args = args;
        args.extend(["--endpoint-url", endpoint.as_str()]);
        let r = admin(&args).await;
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(missing), "{}", r.stderr);
        assert!(r.stderr.contains("usage:"), "{}", r.stderr);
    }
    // The named region is the one used: the table is not in cn-north-1 (moto keeps regions
    // apart), so the store fails there, by error code only.
    let elsewhere = admin(&[
        "--table",
        &stack.table,
        "--region",
        "cn-north-1",
        "--endpoint-url",
        &endpoint,
        "counts",
    ])
    .await;
    assert_eq!(elsewhere.code, 3, "{}", elsewhere.stderr);
    assert!(
        elsewhere.stderr.contains("ResourceNotFoundException"),
        "{}",
        elsewhere.stderr
    );
    assert_eq!(
        on(&stack, &["delete", "u_abc"]).await.code,
        2,
        "delete needs --yes"
    );
}

#[tokio::test]
async fn operators_find_disable_enable_log_out_export_and_delete_users() {
    let stack = Stack::new().await;
    stack.wechat.enable_unionid(stack.appid());
    let code_exchange = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let s = stack.login(&code_exchange, "hana").await;
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", PHONE, now());
    let (data, iv) = stack
        .wechat
        .encrypt_for(stack.appid(), "hana", payload.to_string().as_bytes())
        .unwrap();
    let bound = bind
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({"encrypted_data": data, "iv": iv}).to_string()),
            &[(
                "authorization",
                &format!("Bearer {}", s["access_token"].as_str().unwrap()),
            )],
        ))
        .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    let id = s["user"]["id"].as_str().unwrap().to_owned();
    let openid = FakeWeChat::openid(stack.appid(), "hana");
    let unionid = FakeWeChat::unionid("hana");

    // Found four ways, the same masked summary each time.
    let by_id = on(&stack, &["find", "user", &id]).await;
    assert_eq!(by_id.code, 0, "{}", by_id.stderr);
    assert_eq!(by_id.stdout["id"], id.as_str());
    assert_eq!(by_id.stdout["phone"], "138****8066");
    assert_eq!(by_id.stdout["disabled"], false);
    assert_eq!(by_id.stdout["wechat"][0]["appid"], stack.appid());
    let shown = by_id.stdout.to_string();
    assert!(
        !shown.contains(PHONE) && !shown.contains(&openid),
        "{shown}"
    );
    for lookup in [
        vec!["find", "openid", stack.appid(), openid.as_str()],
        vec!["find", "unionid", unionid.as_str()],
        vec!["find", "phone", PHONE],
        vec!["find", "phone", "+8613800138066"],
    ] {
        let r = on(&stack, &lookup).await;
        assert_eq!((r.code, &r.stdout), (0, &by_id.stdout), "{lookup:?}");
    }
    let nobody = on(&stack, &["find", "phone", "13800138067"]).await;
    assert_eq!(
        (nobody.code, &nobody.stdout),
        (1, &json!({"error": "no such user"}))
    );

    // Disabled: no login, no refresh; enabled: the same user logs in again.
    let disabled = on(&stack, &["disable", &id]).await;
    assert_eq!(
        (disabled.code, &disabled.stdout["disabled"]),
        (0, &json!(true))
    );
    let code = stack.wechat.issue_code(stack.appid(), "hana");
    let refused = code_exchange
        .http(events::post_json("/auth/login", &json!({ "code": code })))
        .await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (403, "ACCOUNT_DISABLED")
    );
    let refresh = |session: &Value| {
        events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        )
    };
    let r = code_exchange.http(refresh(&bound.body)).await;
    assert_eq!((r.status, r.error_code()), (401, "REFRESH_REVOKED"));
    assert_eq!(on(&stack, &["enable", &id]).await.stdout["disabled"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = stack.login(&code_exchange, "hana").await;
    assert_eq!(again["user"]["id"], id.as_str());

    // Force logout: the session just started stops refreshing.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let out = on(&stack, &["logout", &id]).await;
    assert_eq!(out.stdout, json!({"id": id, "sessions": "ended"}));
    let r = code_exchange.http(refresh(&again)).await;
    assert_eq!((r.status, r.error_code()), (401, "REFRESH_REVOKED"));

    // Export: the user's own data, whole (this is what the user asked for).
    let export = on(&stack, &["export", &id]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert_eq!(export.stdout["user"]["phone"], "+8613800138066");
    assert_eq!(export.stdout["wechat"][0]["openid"], openid.as_str());
    assert_eq!(export.stdout["wechat"][0]["unionid"], unionid.as_str());
    assert_eq!(export.stdout["current_session"], Value::Null);

    // Counts: the table's live items by kind.
    let counts = on(&stack, &["counts"]).await.stdout;
    for (kind, n) in [
        ("USER", 1),
        ("OPENID", 1),
        ("UNIONID", 1),
        ("PHONE", 1),
        ("SIGNING_KEYS", 1),
    ] {
        assert_eq!(counts[kind], n, "{kind}: {counts}");
    }

    // Delete: gone everywhere; the next login is a new user; deleting again finds nobody.
    let deleted = on(&stack, &["delete", &id, "--yes"]).await;
    assert_eq!(deleted.code, 0, "{} {}", deleted.stderr, deleted.raw);
    assert_ne!(deleted.stdout, Value::Null, "{}", deleted.raw);
    assert_eq!(deleted.stdout, json!({"id": id, "status": "deleted"}));
    assert_eq!(on(&stack, &["find", "user", &id]).await.code, 1);
    let counts = on(&stack, &["counts"]).await.stdout;
    for kind in ["USER", "OPENID", "UNIONID", "PHONE", "SESSKEY"] {
        assert!(counts.get(kind).is_none(), "{kind}: {counts}");
    }
    let new = stack.login(&code_exchange, "hana").await;
    assert_ne!(new["user"]["id"], id.as_str());
    assert_eq!(on(&stack, &["delete", &id, "--yes"]).await.code, 1);
}
