//! The authorizer's one read: the published public keys, fetched with a single SigV4-signed
//! DynamoDB `GetItem` over HTTPS, without the AWS SDK or reqwest (either would add to the
//! authorizer's size and cold start). Credentials, region and endpoint come from the Lambda environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`). Signed by `aws_signed` (the SDK's own `aws-sigv4`). One attempt per read, 2 s timeout;
//! callers decide when to read again.

use super::attrs::PK;
use super::keys::SIGNING_KEYS;
use super::{StoreError, StoreResult, published_keys_item};
use crate::aws_signed::{JsonApi, SignedHttp, post_json};
use crate::error::Cause;
use crate::tokens::{PublishedKeySource, PublishedKeys};
use aws_credential_types::Credentials;
use serde_json::{Value, json};
use std::time::Duration;

pub struct SignedKeyReader {
    http: SignedHttp,
    endpoint: String,
    region: String,
    table: String,
    credentials: Credentials,
}

/// `AWS_ENDPOINT_URL_DYNAMODB`/`AWS_ENDPOINT_URL` when set, else DynamoDB in `region`'s
/// partition (`amazonaws.com.cn` in the China regions).
fn endpoint_from(lookup: impl Fn(&str) -> Option<String>, region: &str) -> String {
    crate::partition::endpoint_override(lookup, "dynamodb")
        .unwrap_or_else(|| crate::partition::regional_endpoint("dynamodb", region))
}

impl SignedKeyReader {
    pub fn from_lambda_env(table: &str) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let region = var("AWS_REGION")?;
        let endpoint = endpoint_from(|name| std::env::var(name).ok(), &region);
        let credentials = Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "lambda-environment",
        );
        Self::new(&endpoint, &region, table, credentials)
    }

    /// The endpoint the read goes to: the override, else DynamoDB in the region's partition.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn new(
        endpoint: &str,
        region: &str,
        table: &str,
        credentials: Credentials,
    ) -> Result<Self, String> {
        let http = SignedHttp::new(Duration::from_secs(1), Duration::from_secs(2))?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            table: table.to_owned(),
            credentials,
        })
    }

    async fn get_item(&self) -> StoreResult<Value> {
        let body = json!({"TableName": self.table, "Key": {PK: {"S": SIGNING_KEYS}}, "ConsistentRead": true}).to_string();
        let api = JsonApi {
            endpoint: &self.endpoint,
            region: &self.region,
            service: "dynamodb",
            content_type: "application/x-amz-json-1.0",
        };
        let (status, text) = post_json(
            &self.http,
            api,
            "DynamoDB_20120810.GetItem",
            body,
            &self.credentials,
        )
        .await
        .map_err(StoreError::Unavailable)?;
        if !(200..300).contains(&status) {
            // The body names the error type (throttling, access denied), never a secret.
            return Err(StoreError::Unavailable(Cause::new(format!(
                "GetItem HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ))));
        }
        serde_json::from_str(&text)
            .map_err(|_| StoreError::Unavailable("GetItem answered non-JSON".into()))
    }
}

/// A string attribute of an item in DynamoDB's JSON (`{"name": {"S": "value"}}`).
fn string_attr<'a>(item: &'a Value, name: &str) -> Option<&'a str> {
    item.get(name)?.get("S")?.as_str()
}

impl PublishedKeySource for SignedKeyReader {
    async fn load_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        let answer = self.get_item().await?;
        let Some(item) = answer.get("Item") else {
            return Ok(None);
        };
        published_keys_item::decode(|name| string_attr(item, name)).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::serve;
    use crate::http::{HttpRequest, HttpResponse};
    use std::sync::{Arc, Mutex};

    /// The authorizer configured for a China region reads from `amazonaws.com.cn`.
    #[test]
    fn an_authorizer_in_cn_north_1_addresses_amazonaws_com_cn() {
        let lambda_env = |region: &'static str, endpoint: Option<&'static str>| {
            move |name: &str| match name {
                "AWS_REGION" => Some(region.to_owned()),
                "AWS_ENDPOINT_URL" => endpoint.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(
            endpoint_from(lambda_env("cn-north-1", None), "cn-north-1"),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            endpoint_from(lambda_env("cn-northwest-1", Some("")), "cn-northwest-1"),
            "https://dynamodb.cn-northwest-1.amazonaws.com.cn",
            "an empty override is no override"
        );
        assert_eq!(
            endpoint_from(
                lambda_env("cn-north-1", Some("http://127.0.0.1:5000/")),
                "cn-north-1"
            ),
            "http://127.0.0.1:5000"
        );
        let reader = SignedKeyReader::new(
            &endpoint_from(lambda_env("cn-north-1", None), "cn-north-1"),
            "cn-north-1",
            "t",
            Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
        )
        .unwrap();
        assert_eq!(
            reader.endpoint(),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
    }

    #[tokio::test]
    async fn the_get_item_is_signed_with_sigv4_for_dynamodb_and_an_absent_item_is_none() {
        let seen: Arc<Mutex<Option<HttpRequest>>> = Arc::default();
        let keep = seen.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Arc::new(move |req: HttpRequest| {
                *keep.lock().unwrap() = Some(req);
                Box::pin(async {
                    HttpResponse {
                        status: 200,
                        headers: vec![],
                        body: "{}".into(),
                    }
                })
            }),
        )
        .unwrap();
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session-token".into()),
            None,
            "test",
        );
        let reader =
            SignedKeyReader::new(&server.url(), "ap-east-1", "wxlogin-table", creds).unwrap();
        assert_eq!(reader.load_keys().await.unwrap(), None);
        let req = seen.lock().unwrap().clone().unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.header("x-amz-target"),
            Some("DynamoDB_20120810.GetItem")
        );
        assert_eq!(req.header("x-amz-security-token"), Some("session-token"));
        assert!(req.header("x-amz-date").is_some());
        let auth = req.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/ap-east-1/dynamodb/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=content-type;host;"), "{auth}");
        assert!(auth.contains("x-amz-target"), "{auth}");
        assert!(!auth.contains("secret"), "the secret key is never sent");
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"TableName": "wxlogin-table", "Key": {"pk": {"S": "SIGNING_KEYS"}}, "ConsistentRead": true})
        );
    }

    #[tokio::test]
    async fn a_stored_item_decodes_to_the_published_set() {
        let secret = crate::tokens::Keyring::generate_secret_json(Some(&"a".repeat(40)));
        let ring = crate::tokens::Keyring::from_secret_json(&secret).unwrap();
        let published = PublishedKeys::of(&ring);
        let answer = json!({"Item": {
            "pk": {"S": "SIGNING_KEYS"},
            "kind": {"S": "signing_keys"},
            "current_kid": {"S": published.current_kid},
            "previous_kid": {"S": published.previous_kid.clone().unwrap()},
            "keys": {"S": serde_json::to_string(&published.keys).unwrap()},
        }})
        .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Arc::new(move |_req: HttpRequest| {
                let body = answer.clone();
                Box::pin(async move {
                    HttpResponse {
                        status: 200,
                        headers: vec![],
                        body,
                    }
                })
            }),
        )
        .unwrap();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let reader = SignedKeyReader::new(&server.url(), "us-east-1", "t", creds).unwrap();
        assert_eq!(reader.load_keys().await.unwrap(), Some(published));
    }

    #[tokio::test]
    async fn an_error_status_is_unavailable_not_an_empty_key_set() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Arc::new(|_req: HttpRequest| {
                Box::pin(async {
                    HttpResponse {
                        status: 400,
                        headers: vec![],
                        body: r#"{"__type":"ThrottlingException"}"#.into(),
                    }
                })
            }),
        )
        .unwrap();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let reader = SignedKeyReader::new(&server.url(), "us-east-1", "t", creds).unwrap();
        assert!(matches!(
            reader.load_keys().await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
