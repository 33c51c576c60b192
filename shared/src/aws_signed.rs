//! One SigV4-signed call to an AWS JSON-protocol API (`POST /` with `X-Amz-Target`), without
//! the SDK: the authorizer's key read (DynamoDB `GetItem`) and the account events
//! (EventBridge `PutEvents`). Signing is the SDK's own `aws-sigv4`; the caller's client holds
//! the timeouts and decides about retries.

use crate::error::Cause;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

/// One API's address and protocol.
#[derive(Debug, Clone, Copy)]
pub struct JsonApi<'a> {
    /// `https://dynamodb.cn-north-1.amazonaws.com.cn` or an override, without a trailing `/`.
    pub endpoint: &'a str,
    pub region: &'a str,
    /// The signing name: `dynamodb`, `events`.
    pub service: &'a str,
    /// `application/x-amz-json-1.0` (DynamoDB) or `-1.1` (EventBridge).
    pub content_type: &'a str,
}

/// Signs and sends `body` to `target` (`DynamoDB_20120810.GetItem`); the HTTP status and the
/// body. A transport failure names no URL (it may hold an override with credentials).
pub async fn post_json(
    http: &reqwest::Client,
    api: JsonApi<'_>,
    target: &str,
    body: String,
    credentials: &Credentials,
) -> Result<(u16, String), Cause> {
    let url = format!("{}/", api.endpoint);
    let unsigned = [("content-type", api.content_type), ("x-amz-target", target)];
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(api.region)
        .name(api.service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Cause::with_source("signing", e))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        unsigned.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| Cause::with_source("signing", e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| Cause::with_source("signing", e))?
        .into_parts();
    let mut request = http.post(&url).body(body);
    for (name, value) in unsigned.iter().copied().chain(instructions.headers()) {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Cause::with_source(target.to_owned(), e.without_url()))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| Cause::with_source(format!("{target} body"), e))?;
    Ok((status, text))
}
