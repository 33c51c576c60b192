//! What the export readers share: splitting an input into JSON values (JSON lines, or one JSON
//! array, or LeanCloud's `{"results": [...]}`), and reading the fields exports spell in
//! different ways (dates, phones, the first of several names a field goes by).

use serde_json::{Map, Value};
use wxlogin::clock::parse_rfc3339;
use wxlogin::domain::PhoneNumber;
use wxlogin::flows::import_plan::{Malformed, ParsedExport, SourceRecord};

/// A line longer than this is refused unread (no user record is near it).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Each record of the input with its line (or, for a JSON array, its 1-based position), or why
/// it cannot be read.
pub fn values(text: &str) -> Vec<(usize, Result<Value, String>)> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') || (trimmed.starts_with('{') && !first_line_is_whole(trimmed)) {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(items)) => numbered(items),
            Ok(Value::Object(mut object)) => match object.remove("results") {
                Some(Value::Array(items)) => numbered(items),
                _ => vec![(
                    1,
                    Err("a JSON object without a \"results\" array".to_owned()),
                )],
            },
            _ => vec![(
                1,
                Err("not JSON lines, a JSON array or {\"results\": [...]}".to_owned()),
            )],
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let line = line.trim_start_matches('\u{feff}');
            let value = if line.len() > MAX_LINE_BYTES {
                Err("line too long".to_owned())
            } else {
                serde_json::from_str::<Value>(line)
                    .map_err(|e| format!("not JSON ({})", e.classify_name()))
            };
            (i + 1, value)
        })
        .collect()
}

/// Reads every object of `text` with `record`, which answers the record and whether it had a
/// phone the source had not verified, or why the object cannot be used.
pub fn read_objects(
    text: &str,
    record: impl Fn(usize, &Map<String, Value>) -> Result<(SourceRecord, bool), String>,
) -> ParsedExport {
    let mut parsed = ParsedExport::default();
    for (line, value) in values(text) {
        parsed.lines += 1;
        let outcome = value.and_then(|v| match v {
            Value::Object(object) => record(line, &object),
            _ => Err("not a JSON object".to_owned()),
        });
        match outcome {
            Ok((record, unverified)) => {
                parsed.unverified_phones += u64::from(unverified);
                parsed.records.push(record);
            }
            Err(reason) => parsed.malformed.push(Malformed { line, reason }),
        }
    }
    parsed
}

fn numbered(items: Vec<Value>) -> Vec<(usize, Result<Value, String>)> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i + 1, Ok(v)))
        .collect()
}

/// Whether the first line is a JSON value by itself (JSON lines), rather than the start of a
/// pretty-printed document.
fn first_line_is_whole(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    serde_json::from_str::<Value>(first).is_ok()
}

/// The name serde_json's error kind goes by (never the text around it: it may be personal).
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected value",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// The first of `names` that holds a non-empty string.
pub fn first_string<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .filter_map(|n| object.get(*n).and_then(Value::as_str))
        .find(|s| !s.trim().is_empty())
}

/// A string, a number as digits, or nothing (exports store ids and country codes either way).
pub fn string_or_number(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A date as exports write it, in Unix seconds: an RFC 3339 string, LeanCloud's
/// `{"__type": "Date", "iso": …}`, MongoDB-style `{"$date": string | millis | {"$numberLong":
/// millis}}` (CloudBase), or a number (milliseconds when it is that large, else seconds).
pub fn date(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => parse_rfc3339(s),
        Value::Number(n) => n
            .as_u64()
            .map(|v| if v > 100_000_000_000 { v / 1000 } else { v }),
        Value::Object(o) => {
            if let Some(iso) = o.get("iso") {
                return date(Some(iso));
            }
            match o.get("$date")? {
                Value::Object(inner) => inner
                    .get("$numberLong")
                    .and_then(Value::as_str)
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .map(|ms| ms / 1000),
                other => date(Some(other)),
            }
        }
        _ => None,
    }
}

/// A phone as exports write it: E.164 (`+8613800138000`), or national digits with a country
/// code (`86` when the export has none: these backends serve the Chinese mainland). Spaces and
/// dashes are ignored.
pub fn phone(raw: &str, country_code: Option<&str>) -> Result<PhoneNumber, String> {
    let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let parsed = if cleaned.starts_with('+') {
        PhoneNumber::parse_e164(&cleaned)
    } else {
        let cc = country_code.map_or("86", |c| c.trim_start_matches('+'));
        // A mainland number is 11 digits; 13 starting with 86 carries its country code.
        let national = match cleaned.strip_prefix("86") {
            Some(rest) if cc == "86" && rest.len() == 11 => rest,
            _ => &cleaned,
        };
        PhoneNumber::from_parts(cc, national)
    };
    parsed.map_err(|_| "phone is malformed".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn json_lines_arrays_and_results_objects_are_all_read() {
        let lines = values("{\"a\":1}\n\n{oops\n{\"a\":2}\n");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0, 1);
        assert_eq!(lines[1], (3, Err("not JSON (syntax error)".to_owned())));
        assert_eq!(lines[2].0, 4);
        let array = values("[{\"a\":1},{\"a\":2}]");
        assert_eq!(
            array.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let results = values("{\n  \"results\": [\n {\"a\":1}\n ]\n}");
        assert_eq!(results.len(), 1);
        assert!(results[0].1.is_ok());
        assert!(values("{\n \"other\": 1\n}")[0].1.is_err());
    }

    #[test]
    fn dates_in_every_export_spelling() {
        let iso = 1_534_406_624;
        for v in [
            serde_json::json!("2018-08-16T08:03:44.203Z"),
            serde_json::json!({"__type": "Date", "iso": "2018-08-16T08:03:44.203Z"}),
            serde_json::json!({"$date": "2018-08-16T08:03:44.203Z"}),
            serde_json::json!({"$date": 1_534_406_624_203_u64}),
            serde_json::json!({"$date": {"$numberLong": "1534406624203"}}),
            serde_json::json!(1_534_406_624_203_u64),
            serde_json::json!(1_534_406_624),
        ] {
            assert_eq!(date(Some(&v)), Some(iso), "{v}");
        }
        assert_eq!(date(Some(&serde_json::json!("soon"))), None);
        assert_eq!(date(None), None);
    }

    #[test]
    fn phones_in_every_export_spelling() {
        let p = PhoneNumber::from_parts("86", "13800138000").unwrap();
        assert_eq!(phone("+8613800138000", None).unwrap(), p);
        assert_eq!(phone("13800138000", None).unwrap(), p);
        assert_eq!(phone("138-0013-8000", Some("86")).unwrap(), p);
        assert_eq!(phone("8613800138000", Some("86")).unwrap(), p);
        assert_eq!(
            phone("91234567", Some("852")).unwrap(),
            PhoneNumber::from_parts("852", "91234567").unwrap()
        );
        assert!(phone("not a phone", None).is_err());
        assert!(phone("+86", None).is_err());
    }
}
