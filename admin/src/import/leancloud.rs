//! LeanCloud's `_User` export (the console's 数据导出: JSON lines, one user per line in the
//! REST encoding; a JSON array or `{"results": [...]}` is read too). What is taken:
//! `objectId` (the source id); the mini-program login `authData.lc_weapp.openid` (for the
//! `--appid` the LeanCloud app served; the legacy `authData.lc_weapp_union.openid` too); the
//! unionid from `authData._weixin_unionid.uid`, else `authData.lc_weapp.unionid`, else
//! `authData.lc_weapp_union.uid`; `mobilePhoneNumber` only when `mobilePhoneVerified` is true;
//! `nickName`/`nickname` and `avatarUrl`/`avatar` (a string, or a File with a `url`);
//! `createdAt`. Never taken: `password` and `salt` (LeanCloud's own SHA-512 scheme; users set
//! a password again by SMS reset), `sessionToken`, `session_key` and other tokens.

use super::fields::{date, first_string, phone, read_objects};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use wxlogin::domain::{AppId, OpenId, UnionId};
use wxlogin::flows::import_plan::{ParsedExport, SourceRecord};

pub fn read(text: &str, appid: &AppId) -> ParsedExport {
    read_objects(text, |line, object| record(line, object, appid))
}

fn auth<'a>(object: &'a Map<String, Value>, provider: &str) -> Option<&'a Map<String, Value>> {
    object
        .get("authData")
        .and_then(Value::as_object)
        .and_then(|a| a.get(provider))
        .and_then(Value::as_object)
}

/// The record, and whether it had a phone LeanCloud had not verified.
fn record(
    line: usize,
    object: &Map<String, Value>,
    appid: &AppId,
) -> Result<(SourceRecord, bool), String> {
    let source_id = first_string(object, &["objectId"]).ok_or("no objectId")?;
    let weapp = auth(object, "lc_weapp");
    let legacy = auth(object, "lc_weapp_union");
    let mut openids = BTreeMap::new();
    if let Some(raw) = weapp
        .and_then(|w| first_string(w, &["openid"]))
        .or_else(|| legacy.and_then(|l| first_string(l, &["openid"])))
    {
        let openid = OpenId::parse(raw).map_err(|_| "openid is malformed")?;
        openids.insert(appid.clone(), openid);
    }
    let unionid = auth(object, "_weixin_unionid")
        .and_then(|u| first_string(u, &["uid"]))
        .or_else(|| weapp.and_then(|w| first_string(w, &["unionid"])))
        .or_else(|| legacy.and_then(|l| first_string(l, &["uid"])))
        .map(|raw| UnionId::parse(raw).map_err(|_| "unionid is malformed"))
        .transpose()?;
    let number = first_string(object, &["mobilePhoneNumber"]);
    let verified = object.get("mobilePhoneVerified").and_then(Value::as_bool) == Some(true);
    let phone = match number {
        Some(raw) if verified => Some(phone(raw, None)?),
        _ => None,
    };
    let avatar_url = first_string(object, &["avatarUrl", "avatar"])
        .map(str::to_owned)
        .or_else(|| {
            object
                .get("avatar")
                .and_then(Value::as_object)
                .and_then(|file| first_string(file, &["url"]))
                .map(str::to_owned)
        });
    let record = SourceRecord {
        line,
        source_id: source_id.to_owned(),
        openids,
        unionid,
        phone,
        nickname: first_string(object, &["nickName", "nickname"]).map(str::to_owned),
        avatar_url,
        created_at: date(object.get("createdAt")),
    };
    Ok((record, number.is_some() && !verified))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const APPID: &str = "wx0123456789abcdef";

    /// A line as LeanCloud's export writes it (the documented fields and encodings).
    const DOCUMENTED: &str = r#"{"objectId":"5b752fe0a22b9d003137e16d","username":"vp7szn9ytuaylgtnw14qnjx2u","createdAt":"2018-08-16T08:03:44.203Z","updatedAt":"2020-11-04T03:29:17.441Z","ACL":{"*":{"read":true,"write":true}},"emailVerified":false,"mobilePhoneNumber":"+8619201680101","mobilePhoneVerified":true,"password":"tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug==","salt":"h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2","sessionToken":"xxxxxxxxxxxxxxxxxxxxxxxxx","authData":{"lc_weapp":{"session_key":"2zIDoEEUhkb0B5pUTzsLVg==","expires_in":7200,"openid":"obznq0GuHPxdRYaaDkPOHk785DuA","unionid":"ox7NLs5BlEqPS4glxqhn5kkO0UUo","platform":"weixin","main_account":true},"_weixin_unionid":{"uid":"ox7NLs5BlEqPS4glxqhn5kkO0UUo"}},"nickName":"小明","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132","lastSeen":{"__type":"Date","iso":"2024-05-01T08:00:00.000Z"}}"#;

    fn read_one(line: &str) -> ParsedExport {
        read(line, &AppId::parse(APPID).unwrap())
    }

    #[test]
    fn the_documented_user_line_maps_to_openid_unionid_phone_and_profile() {
        let parsed = read_one(DOCUMENTED);
        assert_eq!(parsed.malformed, vec![]);
        let r = &parsed.records[0];
        assert_eq!(r.source_id, "5b752fe0a22b9d003137e16d");
        assert_eq!(
            r.openids
                .get(&AppId::parse(APPID).unwrap())
                .unwrap()
                .as_str(),
            "obznq0GuHPxdRYaaDkPOHk785DuA"
        );
        assert_eq!(
            r.unionid.as_ref().unwrap().as_str(),
            "ox7NLs5BlEqPS4glxqhn5kkO0UUo"
        );
        assert_eq!(r.phone.as_ref().unwrap().e164(), "+8619201680101");
        assert_eq!(r.nickname.as_deref(), Some("小明"));
        assert!(
            r.avatar_url
                .as_deref()
                .unwrap()
                .starts_with("https://thirdwx")
        );
        assert_eq!(r.created_at, Some(1_534_406_624));
        // Nothing secret is carried over: the record has no field for it, and its Debug form
        // (what a log could show) holds none of the secret values.
        let shown = format!("{r:?}");
        for secret in [
            "2zIDoEEUhkb0B5pUTzsLVg",
            "tA7BLW",
            "h60d8x797",
            "xxxxxxxxxxxx",
        ] {
            assert!(!shown.contains(secret), "{secret}");
        }
    }

    #[test]
    fn unverified_phones_unionid_only_users_and_the_legacy_key() {
        let lines = [
            r#"{"objectId":"a1","mobilePhoneNumber":"13800138000","mobilePhoneVerified":false,"authData":{"lc_weapp":{"openid":"oAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}}"#,
            r#"{"objectId":"a2","authData":{"_weixin_unionid":{"uid":"uBBBBBBBBBBBBBBBBBBBBBBBBBBB"}}}"#,
            r#"{"objectId":"a3","authData":{"lc_weapp_union":{"openid":"oCCCCCCCCCCCCCCCCCCCCCCCCCCC","uid":"uCCCCCCCCCCCCCCCCCCCCCCCCCCC"}}}"#,
            r#"{"objectId":"a4","username":"bob","mobilePhoneNumber":"13900139000","mobilePhoneVerified":true}"#,
            r#"{"objectId":"a5","avatar":{"__type":"File","id":"543cbaede4b07db196f50f3c","url":"https://files.example.com/a.png"}}"#,
        ]
        .join("\n");
        let parsed = read_one(&lines);
        assert_eq!(parsed.lines, 5);
        assert_eq!(parsed.unverified_phones, 1);
        let r = &parsed.records;
        assert_eq!((r[0].phone.as_ref(), r[0].openids.len()), (None, 1));
        assert_eq!((r[1].openids.len(), r[1].unionid.is_some()), (0, true));
        assert_eq!(
            r[2].openids.values().next().unwrap().as_str(),
            "oCCCCCCCCCCCCCCCCCCCCCCCCCCC"
        );
        assert_eq!(
            r[2].unionid.as_ref().unwrap().as_str(),
            "uCCCCCCCCCCCCCCCCCCCCCCCCCCC"
        );
        assert_eq!(r[3].phone.as_ref().unwrap().e164(), "+8613900139000");
        assert_eq!(
            r[4].avatar_url.as_deref(),
            Some("https://files.example.com/a.png")
        );
    }

    #[test]
    fn malformed_lines_are_reported_by_line_and_reason_only() {
        let lines = [
            r#"{"objectId":"ok1","authData":{"lc_weapp":{"openid":"oDDDDDDDDDDDDDDDDDDDDDDDDDDD"}}}"#,
            r#"{"username":"no id"}"#,
            r#"[1,2]"#,
            r#"{"objectId":"bad","authData":{"lc_weapp":{"openid":"has spaces in it"}}}"#,
            r#"{"objectId":"bad2","mobilePhoneNumber":"12","mobilePhoneVerified":true}"#,
            r#"{"objectId":"cut"#,
        ]
        .join("\n");
        let parsed = read_one(&lines);
        assert_eq!(parsed.records.len(), 1);
        let reasons: Vec<(usize, &str)> = parsed
            .malformed
            .iter()
            .map(|m| (m.line, m.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (2, "no objectId"),
                (3, "not a JSON object"),
                (4, "openid is malformed"),
                (5, "phone is malformed"),
                (6, "not JSON (cut short)"),
            ]
        );
    }
}
