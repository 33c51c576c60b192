//! The Lambda adapter (feature `lambda`): API Gateway HTTP API (payload 2.0) events in and out
//! of the transport-neutral `HttpRequest`/`HttpResponse`. Every outcome is a response — a
//! handler error never reaches Lambda as an `errorType`.

#[cfg(feature = "apigw")]
use crate::http::{HttpRequest, HttpResponse};
#[cfg(feature = "apigw")]
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
#[cfg(feature = "apigw")]
use aws_lambda_events::encodings::Body;
#[cfg(feature = "apigw")]
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use lambda_runtime::{LambdaEvent, service_fn};
use std::future::Future;

pub use lambda_runtime::Error;

#[cfg(feature = "apigw")]
/// Converts an event; `Err` is the response for an event we refuse outright (invalid base64).
pub fn from_apigw(
    event: ApiGatewayV2httpRequest,
    lambda_request_id: &str,
) -> Result<HttpRequest, HttpResponse> {
    let ctx = &event.request_context;
    let request_id = ctx
        .request_id
        .clone()
        .unwrap_or_else(|| lambda_request_id.to_owned());
    let method = ctx.http.method.as_str().to_owned();
    let path = event
        .raw_path
        .clone()
        .or_else(|| ctx.http.path.clone())
        .unwrap_or_default();
    let source_ip = ctx.http.source_ip.clone();
    let headers = event
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned()))
        })
        .collect();
    let body = match event.body {
        None => Vec::new(),
        Some(text) if event.is_base64_encoded => match crate::crypto::b64_decode(&text) {
            Some(bytes) => bytes,
            None => {
                let err = crate::error::AppError::InvalidRequest("body is not valid base64");
                return Err(crate::http::error_table::error_response(&err, &request_id));
            }
        },
        Some(text) => text.into_bytes(),
    };
    let query = event.raw_query_string.clone().unwrap_or_default();
    let authorizer = ctx
        .authorizer
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok())
        .filter(|a| a.as_object().is_some_and(|o| !o.is_empty()));
    Ok(HttpRequest {
        method,
        path,
        query,
        headers,
        body,
        source_ip,
        request_id,
        authorizer,
    })
}

#[cfg(feature = "apigw")]
pub fn to_apigw(response: HttpResponse) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    for (k, v) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            headers.insert(name, value);
        }
    }
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(response.status);
    out.headers = headers;
    out.body = Some(Body::Text(response.body));
    out.is_base64_encoded = false;
    out
}

#[cfg(feature = "apigw")]
/// Runs an HTTP handler under the Lambda runtime until the process is stopped.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = HttpResponse>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let deadline = crate::deadline::from_lambda_deadline_ms(event.context.deadline);
            let response = match from_apigw(event.payload, &event.context.request_id) {
                Ok(request) => crate::deadline::within(deadline, handler(request)).await,
                Err(refused) => refused,
            };
            Ok::<_, std::convert::Infallible>(to_apigw(response))
        },
    ))
    .await
}

/// Runs a handler of plain JSON events (the authorizer: a malformed event is still an answer,
/// never an invocation error).
pub async fn run_json<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(serde_json::Value) -> Fut,
    Fut: Future<Output = serde_json::Value>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, std::convert::Infallible>(handler(event.payload).await)
        },
    ))
    .await
}

/// Runs a handler of plain JSON events whose failure must be an invocation error (the key
/// rotation: Secrets Manager reads a failed step from it). The error's text is logged and
/// returned; it names what failed, never a secret.
pub async fn run_fallible_json<F, Fut, E>(handler: F) -> Result<(), Error>
where
    F: Fn(serde_json::Value) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, E>>,
    E: std::fmt::Display,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler(event.payload).await.map_err(|e| {
                tracing::error!(error = %e, "invocation failed");
                Error::from(e.to_string())
            })
        },
    ))
    .await
}
