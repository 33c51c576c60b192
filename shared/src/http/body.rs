//! JSON request bodies: size cap first, then UTF-8, then an object of exactly the expected
//! fields (`deny_unknown_fields` on every request type). Messages are safe to return.

use super::MAX_BODY_BYTES;
use crate::error::AppError;
use serde::de::DeserializeOwned;

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::InvalidRequest("body is larger than 16 KiB"));
    }
    if body.is_empty() {
        return Err(AppError::InvalidRequest("body must be a JSON object"));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| AppError::InvalidRequest("body is not UTF-8"))?;
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => AppError::InvalidRequest("body must be a JSON object"),
            Err(_) => AppError::InvalidRequest("body is not valid JSON"),
        });
    }
    // Straight into the typed struct: serde then sees (and refuses) duplicate fields.
    serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            return AppError::InvalidRequest("body is not valid JSON");
        }
        let msg = e.to_string();
        AppError::InvalidRequest(if msg.contains("missing field") {
            "a required field is missing"
        } else if msg.contains("unknown field") {
            "the body has a field this route does not take"
        } else if msg.contains("duplicate field") {
            "a field appears twice"
        } else {
            "a field has the wrong type"
        })
    })
}

/// An empty body or a JSON object; for routes whose body is optional.
pub fn parse_optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Login {
        #[allow(dead_code)]
        code: String,
    }

    fn err(body: &[u8]) -> &'static str {
        match parse_json::<Login>(body) {
            Err(AppError::InvalidRequest(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn bad_bodies_get_a_clear_message() {
        assert!(err(b"").contains("object"));
        assert!(err(b"not json").contains("JSON"));
        assert!(err(&[0xff, 0xfe]).contains("UTF-8"));
        assert!(err(b"[1,2]").contains("object"));
        assert!(err(b"{}").contains("missing"));
        assert!(err(br#"{"code":"a","x":1}"#).contains("does not take"));
        assert!(err(br#"{"code":"a","code":"b"}"#).contains("twice"));
        assert!(err(br#"{"code":5}"#).contains("type"));
        assert!(err(&vec![b' '; MAX_BODY_BYTES + 1]).contains("16 KiB"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_json::<Login>(deep.as_bytes()).is_err());
        let deep_obj = format!("{{\"code\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse_json::<Login>(deep_obj.as_bytes()).is_err());
    }
}
