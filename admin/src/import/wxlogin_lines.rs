//! The wxlogin import format, for every other backend: JSON lines, one user per line, fields
//! exactly these (an unknown field is refused, so a misspelt one is not silently lost):
//! `source_id` (required: your backend's id of the user, the same on every run), `openids`
//! (`{"<appid>": "<openid>"}`), `unionid`, `phone` (E.164, e.g. `+8613800138000`, or 11
//! mainland digits; only numbers you have verified), `nickname`, `avatar_url` (https),
//! `created_at` (Unix seconds or RFC 3339).

use super::fields::{date, phone, read_objects};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wxlogin::domain::{AppId, OpenId, UnionId};
use wxlogin::flows::import_plan::{ParsedExport, SourceRecord};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    source_id: Value,
    #[serde(default)]
    openids: BTreeMap<String, String>,
    unionid: Option<String>,
    phone: Option<String>,
    nickname: Option<String>,
    avatar_url: Option<String>,
    created_at: Option<Value>,
}

pub fn read(text: &str) -> ParsedExport {
    read_objects(text, |line, object| {
        record(line, Value::Object(object.clone())).map(|r| (r, false))
    })
}

fn record(line: usize, value: Value) -> Result<SourceRecord, String> {
    let fields: Line = serde_json::from_value(value).map_err(|e| {
        // serde names the unknown or missing field, never a value.
        let text = e.to_string();
        match text.split_once('`') {
            Some(_) if text.starts_with("unknown field") || text.starts_with("missing field") => {
                text.split(", expected").next().unwrap_or(&text).to_owned()
            }
            _ => "fields of the wrong type".to_owned(),
        }
    })?;
    let source_id = super::fields::string_or_number(Some(&fields.source_id))
        .ok_or("source_id must be a non-empty string or a number")?;
    let mut openids = BTreeMap::new();
    for (appid, openid) in &fields.openids {
        openids.insert(
            AppId::parse(appid).map_err(|_| "an appid in openids is malformed")?,
            OpenId::parse(openid).map_err(|_| "openid is malformed")?,
        );
    }
    let created_at = match &fields.created_at {
        None => None,
        Some(v) => Some(date(Some(v)).ok_or("created_at is not a date")?),
    };
    Ok(SourceRecord {
        line,
        source_id,
        openids,
        unionid: fields
            .unionid
            .as_deref()
            .map(|u| UnionId::parse(u).map_err(|_| "unionid is malformed"))
            .transpose()?,
        phone: fields
            .phone
            .as_deref()
            .map(|p| phone(p, None))
            .transpose()?,
        nickname: fields.nickname,
        avatar_url: fields.avatar_url,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_field_reads_and_unknown_or_missing_fields_are_refused_by_name() {
        let parsed = read(
            &[
                r#"{"source_id":"42","openids":{"wx0123456789abcdef":"oJJJJJJJJJJJJJJJJJJJJJJJJJJJ","wxfedcba9876543210":"oKKKKKKKKKKKKKKKKKKKKKKKKKKK"},"unionid":"uJJJJJJJJJJJJJJJJJJJJJJJJJJJ","phone":"+8613800138000","nickname":"小红","avatar_url":"https://example.com/a.png","created_at":1600000000}"#,
                r#"{"source_id":7,"phone":"13900139000","created_at":"2020-09-13T12:26:40Z"}"#,
                r#"{"source_id":"x","phnoe":"13900139000"}"#,
                r#"{"openids":{}}"#,
                r#"{"source_id":"y","openids":{"not-an-appid!":"o1"}}"#,
                r#"{"source_id":"z","created_at":"last week"}"#,
            ]
            .join("\n"),
        );
        assert_eq!(parsed.records.len(), 2);
        let r = &parsed.records;
        assert_eq!(r[0].openids.len(), 2);
        assert_eq!(r[0].created_at, Some(1_600_000_000));
        assert_eq!(r[1].source_id, "7");
        assert_eq!(r[1].created_at, Some(1_600_000_000));
        let reasons: Vec<&str> = parsed.malformed.iter().map(|m| m.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "unknown field `phnoe`",
                "missing field `source_id`",
                "an appid in openids is malformed",
                "created_at is not a date",
            ]
        );
    }

    #[test]
    fn the_readme_example_line_reads_whole() {
        for readme in [
            include_str!("../../../README.md"),
            include_str!("../../../README.zh-CN.md"),
        ] {
            let line = readme
                .lines()
                .find(|l| l.starts_with("{\"source_id\""))
                .unwrap();
            let parsed = read(line);
            assert_eq!(parsed.malformed, vec![]);
            let r = &parsed.records[0];
            assert_eq!(
                (r.openids.len(), r.unionid.is_some(), r.phone.is_some()),
                (1, true, true)
            );
            assert_eq!(
                (r.nickname.as_deref(), r.created_at),
                (Some("小明"), Some(1_600_000_000))
            );
        }
    }
}
