//! Tencent Cloud signature v3 (`TC3-HMAC-SHA256`) for the client: the canonical request
//! (header names and values lower-cased), the credential scope (UTC date of the timestamp),
//! the string to sign, the derived key chain, the signature and the `Authorization` header, as
//! documented. Pinned by the documentation's worked example (tests below); the fake verifies
//! with its own canonicalisation (`fake::tencent_sms`), so one bug cannot hide in both.

use crate::crypto::{hex, hmac_sha256, hmac_sha256_hex, sha256_hex};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The canonical request and its signed-headers list, for a request with an empty query
/// string (API 3.0 POST). `headers` are the signed ones: names and values are lower-cased and
/// trimmed here, then sorted by name.
pub fn canonical_request(
    method: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> (String, String) {
    let mut entries: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    entries.sort();
    let canonical_headers: String = entries.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let request = format!(
        "{method}\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(payload)
    );
    (request, signed_headers)
}

/// `YYYY-MM-DD` of a Unix timestamp, in UTC.
pub fn utc_date(timestamp: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(timestamp);
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.chars().take(10).collect()
}

pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/tc3_request")
}

pub fn string_to_sign(timestamp: u64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// SecretSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request").
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    hmac_sha256(&secret_service, b"tc3_request")
}

pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hmac_sha256_hex(signing_key, string_to_sign.as_bytes())
}

pub fn authorization(
    secret_id: &str,
    scope: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// The hex form of a derived key, for comparing with the documentation's printed values.
pub fn key_hex(key: &[u8; 32]) -> String {
    hex(key)
}

#[cfg(test)]
mod tests {
    //! The worked example of "签名方法 v3" (CVM DescribeInstances, ap-guangzhou, timestamp
    //! 1551113065, SecretId `AKID` + 32 `*`, SecretKey 32 `*`, as printed):
    //! https://cloud.tencent.com/document/api/213/30654 (the page each product's API 3.0
    //! documentation repeats; it prints the derived keys SecretDate, SecretService and
    //! SecretSigning in hex, and the final signature).
    use super::*;

    const PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const SECRET_ID: &str = "AKID********************************";
    const SECRET_KEY: &str = "********************************";

    fn doc_canonical() -> (String, String) {
        canonical_request(
            "POST",
            &[
                ("Host", "cvm.tencentcloudapi.com"),
                ("X-TC-Action", "DescribeInstances"),
                ("Content-Type", "application/json; charset=utf-8"),
            ],
            PAYLOAD.as_bytes(),
        )
    }

    #[test]
    fn the_documented_payload_hash_and_canonical_request_are_rebuilt() {
        assert_eq!(
            sha256_hex(PAYLOAD.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let (request, signed) = doc_canonical();
        assert_eq!(
            request,
            "POST\n/\n\n\
             content-type:application/json; charset=utf-8\n\
             host:cvm.tencentcloudapi.com\n\
             x-tc-action:describeinstances\n\n\
             content-type;host;x-tc-action\n\
             35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(signed, "content-type;host;x-tc-action");
    }

    #[test]
    fn the_documented_string_to_sign_uses_the_utc_date() {
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        let scope = credential_scope(&utc_date(1_551_113_065), "cvm");
        assert_eq!(scope, "2019-02-25/cvm/tc3_request");
        let (request, _) = doc_canonical();
        assert_eq!(
            string_to_sign(1_551_113_065, &scope, &request),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
             7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
        );
    }

    #[test]
    fn the_documented_key_chain_signature_and_authorization_are_reproduced() {
        let key = signing_key(SECRET_KEY, "2019-02-25", "cvm");
        // The document prints SecretSigning in hex.
        assert_eq!(
            key_hex(&key),
            "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
        );
        let scope = credential_scope("2019-02-25", "cvm");
        let (request, signed) = doc_canonical();
        let sig = signature(&key, &string_to_sign(1_551_113_065, &scope, &request));
        assert_eq!(
            sig,
            "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
        );
        assert_eq!(
            authorization(SECRET_ID, &scope, &signed, &sig),
            "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host;x-tc-action, \
             Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
        );
    }
}
