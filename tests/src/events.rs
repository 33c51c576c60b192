//! API Gateway HTTP API events (payload format 2.0), as API Gateway sends them.

use serde_json::{Value, json};

/// A request event with a JSON body (or none).
pub fn http(method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Value {
    let mut hdrs = serde_json::Map::new();
    hdrs.insert("content-type".into(), json!("application/json"));
    for (k, v) in headers {
        hdrs.insert((*k).to_owned(), json!(v));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": format!("apigw-{}", wxlogin::crypto::random_id(6)),
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "21/Nov/2026:20:00:00 +0000",
            "timeEpoch": 1_795_291_200_000_u64
        },
        "isBase64Encoded": false
    });
    if let Some(b) = body {
        event["body"] = json!(b);
    }
    event
}

pub fn post_json(path: &str, body: &Value) -> Value {
    http("POST", path, Some(&body.to_string()), &[])
}

/// The same request with its body base64-encoded by API Gateway (or not valid base64).
pub fn base64_body(path: &str, encoded: &str) -> Value {
    let mut e = http("POST", path, Some(encoded), &[]);
    e["isBase64Encoded"] = json!(true);
    e
}

/// A request whose body is raw bytes, base64-encoded by API Gateway as it does for a body that
/// is not text (`isBase64Encoded: true`).
pub fn raw_body(method: &str, path: &str, bytes: &[u8], headers: &[(&str, &str)]) -> Value {
    let mut e = http(
        method,
        path,
        Some(&wxlogin::crypto::b64_encode(bytes)),
        headers,
    );
    e["isBase64Encoded"] = json!(true);
    e
}

/// An HTTP API Lambda authorizer event (payload 2.0) for a customer route.
pub fn authorizer(authorization: Option<&str>) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(a) = authorization {
        headers.insert("authorization".into(), json!(a));
    }
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/orders",
        "identitySource": authorization.map(|a| vec![a]).unwrap_or_default(),
        "routeKey": "GET /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": "GET", "path": "/orders", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": format!("apigw-{}", wxlogin::crypto::random_id(6)),
            "routeKey": "GET /orders",
            "stage": "$default",
            "time": "21/Nov/2026:20:00:00 +0000",
            "timeEpoch": 1_795_291_200_000_u64
        }
    })
}
