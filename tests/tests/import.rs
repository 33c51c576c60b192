//! `wxlogin-admin import`, the real binary against moto, with the real code-exchange function
//! afterwards: each format on generated exports with its edge cases (no phone, unverified
//! phone, unionid only, no identity, repeats, one phone on two users, one openid twice, a key a
//! user of the table holds, malformed lines); a dry run writes nothing; a second run changes
//! nothing; imported users sign in with `wx.login` as the same users; and one LeanCloud export
//! of 10,000 users, whose throughput, memory and conflict report the test prints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::fake::FakeWeChat;
use wxlogin::flows::import_plan::imported_user_id;
use wxlogin_tests::admin_cli::{Run, on};
use wxlogin_tests::stack::Stack;

/// Writes `lines` to a fresh file and returns its path.
fn export_file(lines: &[String]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "wxlogin-import-{}.jsonl",
        wxlogin::crypto::random_id(8)
    ));
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

async fn import(stack: &Stack, format: &str, file: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec!["import", format, file.to_str().unwrap()];
    if format != "wxlogin" {
        args.extend(["--appid", stack.appid()]);
    }
    args.extend_from_slice(extra);
    let run = on(stack, &args).await;
    assert!(run.stdout.is_object(), "{} {}", run.raw, run.stderr);
    run
}

fn conflict_kinds(report: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = report["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// A LeanCloud `_User` line for the fake WeChat user `name` of `appid`.
fn leancloud_user(appid: &str, name: &str, phone: Option<(&str, bool)>, unionid: bool) -> Value {
    let mut weapp = json!({
        "session_key": "2zIDoEEUhkb0B5pUTzsLVg==",
        "expires_in": 7200,
        "openid": FakeWeChat::openid(appid, name),
    });
    let mut auth = json!({});
    if unionid {
        weapp["unionid"] = json!(FakeWeChat::unionid(name));
        auth["_weixin_unionid"] = json!({"uid": FakeWeChat::unionid(name)});
    }
    auth["lc_weapp"] = weapp;
    let mut user = json!({
        "objectId": format!("obj{name}"),
        "username": format!("rand{name}"),
        "createdAt": "2019-04-29T07:46:41.687Z",
        "updatedAt": "2020-11-04T03:29:17.441Z",
        "password": "tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug==",
        "salt": "h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2",
        "authData": auth,
        "nickName": format!("用户{name}"),
        "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
    });
    if let Some((number, verified)) = phone {
        user["mobilePhoneNumber"] = json!(format!("+86{number}"));
        user["mobilePhoneVerified"] = json!(verified);
    }
    user
}

#[tokio::test]
async fn a_leancloud_export_imports_its_edge_cases_once_and_its_users_sign_in_as_themselves() {
    let stack = Stack::new().await;
    stack.wechat.enable_unionid(stack.appid());
    let app = stack.appid();
    let mut lines: Vec<String> = [
        leancloud_user(app, "anna", Some(("13800138101", true)), true),
        leancloud_user(app, "ben", Some(("13800138102", false)), false), // unverified phone
        leancloud_user(app, "cleo", None, false),                        // no phone
        json!({"objectId": "objdora", "authData": {"_weixin_unionid": {"uid": FakeWeChat::unionid("dora")}}}), // unionid only
        json!({"objectId": "objemil", "username": "emil", "email": "e@example.com"}), // nothing to sign in with
        leancloud_user(app, "finn", Some(("13800138106", true)), false),
        json!({"objectId": "objgwen", "mobilePhoneNumber": "+8613800138106", "mobilePhoneVerified": true}), // finn's phone again
        leancloud_user(app, "hugo", None, false),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    lines.push(lines[2].clone()); // cleo, repeated exactly
    let mut hugo_again = leancloud_user(app, "hugo", None, false);
    hugo_again["objectId"] = json!("objhugo2"); // hugo's openid on a second record
    lines.push(hugo_again.to_string());
    lines.push("{\"objectId\":\"objcut\",\"authData\":".to_owned()); // a cut line
    let file = export_file(&lines);

    let dry = import(&stack, "leancloud", &file, &["--dry-run"]).await;
    assert_eq!(dry.code, 1, "records were left out: {}", dry.raw);
    assert_eq!(dry.stdout["dry_run"], true);
    assert_eq!(dry.stdout["imported"], 4, "{}", dry.raw);
    assert_eq!(
        stack.count_items("USER#").await,
        0,
        "a dry run writes nothing"
    );

    let first = import(&stack, "leancloud", &file, &[]).await;
    let r = &first.stdout;
    assert_eq!(first.code, 1, "{}", first.raw);
    assert_eq!(
        (
            r["lines"].as_u64(),
            r["imported"].as_u64(),
            r["already_present"].as_u64()
        ),
        (Some(11), Some(4), Some(0)),
        "{}",
        first.raw
    );
    assert_eq!(r["malformed"], 1);
    assert_eq!(r["malformed_lines"][0]["line"], 11);
    assert_eq!(r["duplicates"], 1);
    assert_eq!(r["unverified_phones_dropped"], 1);
    assert_eq!(r["without_identity"][0]["line"], 5);
    assert_eq!(conflict_kinds(r), vec!["openid", "phone"]);
    for secret in [
        "13800138106",
        "2zIDoEEUhkb0B5pUTzsLVg",
        "h60d8x797",
        &FakeWeChat::openid(app, "hugo"),
    ] {
        assert!(!first.raw.contains(secret), "the report shows no {secret}");
    }
    assert!(r["peak_rss_kib"].as_u64().unwrap() > 0);
    assert!(
        !first.stderr.contains("users,"),
        "no progress bar into a pipe: {}",
        first.stderr
    );
    // anna, ben, cleo, dora: users, their openid links (dora has none yet), anna's unionid
    // link and dora's, anna's phone. Nothing of finn, gwen or either hugo.
    assert_eq!(stack.count_items("USER#").await, 4);
    assert_eq!(stack.count_items("OPENID#").await, 3);
    assert_eq!(stack.count_items("UNIONID#").await, 2);
    assert_eq!(stack.count_items("PHONE#").await, 1);
    let before = stack.snapshot().await;

    let again = import(&stack, "leancloud", &file, &[]).await;
    assert_eq!(
        (
            again.stdout["imported"].as_u64(),
            again.stdout["already_present"].as_u64()
        ),
        (Some(0), Some(4)),
        "{}",
        again.raw
    );
    assert_eq!(
        stack.snapshot().await,
        before,
        "a second run changes nothing"
    );

    let code_exchange = stack.start("code-exchange", &[]).await;
    let anna = stack.login(&code_exchange, "anna").await;
    assert_eq!(
        anna["user"]["id"],
        imported_user_id("leancloud", "objanna").as_str()
    );
    assert_eq!(anna["user"]["created"], false, "{anna}");
    assert_eq!(anna["user"]["phone"], "138****8101");
    let ben = stack.login(&code_exchange, "ben").await;
    assert_eq!(
        ben["user"]["phone_bound"], false,
        "an unverified phone is not bound"
    );
    // Dora was known by her unionid only: her first wx.login joins the imported user.
    let dora = stack.login(&code_exchange, "dora").await;
    assert_eq!(
        dora["user"]["id"],
        imported_user_id("leancloud", "objdora").as_str()
    );
    assert_eq!(dora["user"]["created"], false);
    // Finn's record was in conflict: he is new here.
    let finn = stack.login(&code_exchange, "finn").await;
    assert_eq!(finn["user"]["created"], true);
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn a_cloudbase_export_and_the_wxlogin_format_import_and_meet_the_users_of_the_table() {
    let stack = Stack::new().await;
    let app = stack.appid();
    let code_exchange = stack.start("code-exchange", &[]).await;
    // Already a user here, before the import: a record naming her openid is a conflict.
    let existing = stack.login(&code_exchange, "iris").await;

    let cloudbase: Vec<String> = [
        json!({"_id": "c1", "_openid": FakeWeChat::openid(app, "jack"), "nickName": "杰克", "avatarUrl": "cloud://prod-1a2b/a.png", "phoneNumber": "13800138201", "purePhoneNumber": "13800138201", "countryCode": "86", "createTime": {"$date": "2018-08-31T17:30:00.882Z"}}),
        json!({"_id": "c2", "openid": FakeWeChat::openid(app, "kate"), "phone": "13800138202"}), // typed phone
        json!({"_id": "c3", "_openid": FakeWeChat::openid(app, "iris")}), // the table's user
        json!({"_openid": FakeWeChat::openid(app, "liam")}),              // no _id
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let file = export_file(&cloudbase);
    let run = import(&stack, "cloudbase", &file, &[]).await;
    let r = &run.stdout;
    assert_eq!(run.code, 1, "{}", run.raw);
    assert_eq!(r["imported"], 2, "{}", run.raw);
    assert_eq!(r["unverified_phones_dropped"], 1);
    assert_eq!(
        r["profile_fields_dropped"], 1,
        "a cloud:// avatar is not an https URL"
    );
    assert_eq!(r["malformed_lines"][0]["line"], 4);
    assert_eq!(conflict_kinds(r), vec!["openid"]);
    assert!(
        r["conflicts"][0]["held_by"]
            .as_str()
            .unwrap()
            .contains("****")
    );
    let jack = stack.login(&code_exchange, "jack").await;
    assert_eq!(
        jack["user"]["id"],
        imported_user_id("cloudbase", "c1").as_str()
    );
    assert_eq!(jack["user"]["phone"], "138****8201");
    let iris = stack.login(&code_exchange, "iris").await;
    assert_eq!(
        iris["user"]["id"], existing["user"]["id"],
        "the table's user is untouched"
    );

    let other_app = "wx00000000000000ff";
    let wxlogin_lines: Vec<String> = [
        json!({"source_id": "w1", "openids": {app: FakeWeChat::openid(app, "mona"), other_app: FakeWeChat::openid(other_app, "mona")}, "phone": "+8613800138301", "nickname": "莫娜", "created_at": 1_600_000_000}),
        json!({"source_id": 2, "phone": "13800138302"}), // phone only: SMS sign-in
        json!({"source_id": "w3", "openids": {app: FakeWeChat::openid(app, "ned")}, "phnoe": "1"}),
        json!({"source_id": "w4", "phone": "13800138201"}), // jack's phone, imported above
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let file2 = export_file(&wxlogin_lines);
    let run = import(&stack, "wxlogin", &file2, &[]).await;
    let r = &run.stdout;
    assert_eq!(r["imported"], 2, "{}", run.raw);
    assert_eq!(r["malformed_lines"][0]["reason"], "unknown field `phnoe`");
    assert_eq!(conflict_kinds(r), vec!["phone"]);
    let mona = stack.login(&code_exchange, "mona").await;
    assert_eq!(
        mona["user"]["id"],
        imported_user_id("wxlogin", "w1").as_str()
    );
    let item = stack
        .item(&format!(
            "USER#{}",
            imported_user_id("wxlogin", "w1").as_str()
        ))
        .await
        .unwrap();
    assert_eq!(item["openids"]["M"].as_object().unwrap().len(), 2, "{item}");
    assert_eq!(item["created_at"]["N"], "1600000000");
    std::fs::remove_file(file).ok();
    std::fs::remove_file(file2).ok();
}

#[tokio::test]
#[ignore = "scripts/test.sh runs it as its own step: 30,000 writes would starve the other tests"]
async fn ten_thousand_leancloud_users_import_against_moto() {
    const USERS: usize = 10_000;
    // Its own moto: 30,000 puts through the shared one would slow every other test.
    let stack = Stack::on_private_moto().await;
    let app = stack.appid();
    let mut lines: Vec<String> = (0..USERS)
        .map(|i| {
            let phone = (i % 2 == 0).then(|| format!("139{i:08}"));
            let verified = i % 10 != 0;
            leancloud_user(
                app,
                &format!("bulk{i}"),
                phone.as_deref().map(|p| (p, verified)),
                i % 3 == 0,
            )
            .to_string()
        })
        .collect();
    // Conflicts: a second record with user 2's phone, one with user 5's openid; a repeat; a
    // malformed line.
    lines.push(
        json!({"objectId": "dup-phone", "mobilePhoneNumber": "+8613900000002", "mobilePhoneVerified": true})
            .to_string(),
    );
    let mut same_openid = leancloud_user(app, "bulk5", None, false);
    same_openid["objectId"] = json!("dup-openid");
    lines.push(same_openid.to_string());
    lines.push(lines[7].clone());
    lines.push("not json".to_owned());
    let file = export_file(&lines);
    let run = import(&stack, "leancloud", &file, &[]).await;
    let r = &run.stdout;
    println!(
        "import of {} lines: {} imported in {:.1} s ({:.0} users/s), peak memory {} KiB, {} conflicts: {}",
        r["lines"],
        r["imported"],
        r["seconds"].as_f64().unwrap(),
        r["users_per_second"].as_f64().unwrap(),
        r["peak_rss_kib"],
        r["conflicts"].as_array().unwrap().len(),
        r["conflicts"]
    );
    assert_eq!(
        r["imported"],
        USERS - 2,
        "users 2 and 5 are in conflict: {}",
        run.raw
    );
    assert_eq!(conflict_kinds(r), vec!["openid", "phone"]);
    assert_eq!(
        (r["duplicates"].as_u64(), r["malformed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stack.count_items("USER#").await, USERS - 2);
    let code_exchange = stack.start("code-exchange", &[]).await;
    let s = stack.login(&code_exchange, "bulk9998").await;
    assert_eq!(
        s["user"]["id"],
        imported_user_id("leancloud", "objbulk9998").as_str()
    );
    assert_eq!(s["user"]["created"], false);
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn the_progress_bar_is_drawn_on_a_terminal() {
    let stack = Stack::new().await;
    let lines: Vec<String> = (0..60)
        .map(|i| json!({"source_id": format!("tty{i}"), "openids": {stack.appid(): FakeWeChat::openid(stack.appid(), &format!("tty{i}"))}}).to_string())
        .collect();
    let file = export_file(&lines);
    // `script` gives the tool a pseudo-terminal for stdout and stderr alike.
    let command = format!(
        "'{}' --table {} --region us-east-1 --endpoint-url {} import wxlogin '{}'",
        wxlogin_tests::emulator::binary("wxlogin-admin").display(),
        stack.table,
        stack.endpoint,
        file.display()
    );
    let mut script = tokio::process::Command::new("script");
    script.args(["-qec", &command, "/dev/null"]).env_clear();
    for (k, v) in wxlogin_tests::moto::aws_env() {
        if k != "AWS_REGION" && k != "AWS_ENDPOINT_URL" {
            script.env(k, v);
        }
    }
    let out = script.output().await.unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(&format!("[{}] 60/60 users", "#".repeat(30))),
        "{shown}"
    );
    assert!(shown.contains("\"imported\":60"), "{shown}");
    std::fs::remove_file(file).ok();
}
