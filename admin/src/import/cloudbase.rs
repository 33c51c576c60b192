//! WeChat Cloud Development (CloudBase) database export of the users collection (JSON lines,
//! MongoDB-style types: `{"$date": …}`). The collection's fields are the app's own; read are:
//! `_id` (the source id); the openid from `_openid` (set by the platform on records the mini
//! program wrote), else `openid`/`openId`; the unionid from `unionid`/`unionId`/`_unionid`;
//! the phone from `phoneNumber` (with `countryCode`) or `purePhoneNumber` + `countryCode`,
//! the fields WeChat's getPhoneNumber answers, so counted as verified (a `phone` or `mobile`
//! field the user may have typed is not); `nickName`/`nickname`; `avatarUrl`/`avatarurl`/
//! `avatar` (cloud:// file ids are refused by the profile rules); `createTime`/`createdAt`/
//! `created_at`.

use super::fields::{date, first_string, phone, read_objects, string_or_number};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use wxlogin::domain::{AppId, OpenId, UnionId};
use wxlogin::flows::import_plan::{ParsedExport, SourceRecord};

pub fn read(text: &str, appid: &AppId) -> ParsedExport {
    read_objects(text, |line, object| record(line, object, appid))
}

/// The record, and whether it had only a phone WeChat had not given (typed by the user).
fn record(
    line: usize,
    object: &Map<String, Value>,
    appid: &AppId,
) -> Result<(SourceRecord, bool), String> {
    let id = object.get("_id").and_then(|v| match v {
        Value::Object(o) => o.get("$oid").and_then(Value::as_str).map(str::to_owned),
        other => string_or_number(Some(other)),
    });
    let source_id = id.ok_or("no _id")?;
    let mut openids = BTreeMap::new();
    if let Some(raw) = first_string(object, &["_openid", "openid", "openId"]) {
        openids.insert(
            appid.clone(),
            OpenId::parse(raw).map_err(|_| "openid is malformed")?,
        );
    }
    let unionid = first_string(object, &["unionid", "unionId", "_unionid"])
        .map(|raw| UnionId::parse(raw).map_err(|_| "unionid is malformed"))
        .transpose()?;
    let country_code = string_or_number(object.get("countryCode"));
    let phone = first_string(object, &["phoneNumber", "purePhoneNumber"])
        .map(|raw| phone(raw, country_code.as_deref()))
        .transpose()?;
    let typed_only = phone.is_none() && first_string(object, &["phone", "mobile"]).is_some();
    let record = SourceRecord {
        line,
        source_id,
        openids,
        unionid,
        phone,
        nickname: first_string(object, &["nickName", "nickname"]).map(str::to_owned),
        avatar_url: first_string(object, &["avatarUrl", "avatarurl", "avatar"]).map(str::to_owned),
        created_at: ["createTime", "createdAt", "created_at"]
            .iter()
            .find_map(|n| date(object.get(*n))),
    };
    Ok((record, typed_only))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use wxlogin::flows::import_plan::Malformed;

    const APPID: &str = "wx0123456789abcdef";

    fn read_all(lines: &[&str]) -> ParsedExport {
        read(&lines.join("\n"), &AppId::parse(APPID).unwrap())
    }

    #[test]
    fn a_typical_users_line_maps_to_openid_unionid_phone_and_profile() {
        let parsed = read_all(&[
            r#"{"_id":"Wzia0lk5_O_dt0vR","_openid":"ohl4L0Rnhq7vmmbT_DaNQa4ePaz0","unionid":"ox7NLs5BlEqPS4glxqhn5kkO0UUo","nickName":"小明","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132","phoneNumber":"13580006666","purePhoneNumber":"13580006666","countryCode":"86","gender":0,"createTime":{"$date":"2018-08-31T17:30:00.882Z"},"loginCount":3}"#,
        ]);
        assert_eq!(parsed.malformed, vec![]);
        let r = &parsed.records[0];
        assert_eq!(r.source_id, "Wzia0lk5_O_dt0vR");
        assert_eq!(
            r.openids.values().next().unwrap().as_str(),
            "ohl4L0Rnhq7vmmbT_DaNQa4ePaz0"
        );
        assert_eq!(
            r.unionid.as_ref().unwrap().as_str(),
            "ox7NLs5BlEqPS4glxqhn5kkO0UUo"
        );
        assert_eq!(r.phone.as_ref().unwrap().e164(), "+8613580006666");
        assert_eq!(r.created_at, Some(1_535_736_600));
    }

    #[test]
    fn records_without_openid_numbers_as_country_codes_typed_phones_and_oids() {
        let parsed = read_all(&[
            // Written by a cloud function: no _openid, the app stored `openid` itself.
            r#"{"_id":"c1","openid":"oEEEEEEEEEEEEEEEEEEEEEEEEEEE","createdAt":1535736600882}"#,
            // Hong Kong number, countryCode as a number (the documented example's type).
            r#"{"_id":"c2","_openid":"oFFFFFFFFFFFFFFFFFFFFFFFFFFF","purePhoneNumber":"91234567","countryCode":852}"#,
            // Only a phone the user typed: not taken as verified.
            r#"{"_id":"c3","_openid":"oGGGGGGGGGGGGGGGGGGGGGGGGGGG","phone":"13800138000"}"#,
            r#"{"_id":{"$oid":"5f1a2b3c4d5e6f7a8b9c0d1e"},"unionId":"uHHHHHHHHHHHHHHHHHHHHHHHHHHH"}"#,
            r#"{"_openid":"oIIIIIIIIIIIIIIIIIIIIIIIIIII"}"#,
        ]);
        let r = &parsed.records;
        assert_eq!(r[0].openids.len(), 1);
        assert_eq!(r[0].created_at, Some(1_535_736_600));
        assert_eq!(r[1].phone.as_ref().unwrap().e164(), "+85291234567");
        assert_eq!(r[2].phone, None);
        assert_eq!(parsed.unverified_phones, 1);
        assert_eq!(r[3].source_id, "5f1a2b3c4d5e6f7a8b9c0d1e");
        assert!(r[3].unionid.is_some() && r[3].openids.is_empty());
        assert_eq!(
            parsed.malformed,
            vec![Malformed {
                line: 5,
                reason: "no _id".into()
            }]
        );
    }
}
