//! One handler per function: request → flow → response, every error through the table. The
//! local server calls several of them; each Lambda binary calls its own.

pub mod account;
pub mod bind_phone;
pub mod code_exchange;
pub mod session;

use super::{HttpRequest, HttpResponse, log_outcome};
use crate::error::AppResult;
use std::future::Future;
use std::time::Instant;

/// Runs `flow` until the request's deadline, maps its error, logs the outcome line.
pub async fn respond<F>(request: &HttpRequest, route: &str, flow: F) -> HttpResponse
where
    F: Future<Output = AppResult<HttpResponse>>,
{
    let started = Instant::now();
    let outcome = match crate::deadline::enforce(flow).await {
        Some(outcome) => outcome,
        None => {
            tracing::warn!(request_id = %request.request_id, route, "request deadline reached; cut");
            Err(crate::error::AppError::Upstream(
                crate::error::UpstreamFault::Timeout,
            ))
        }
    };
    let (response, error_code) = match outcome {
        Ok(r) => (r, ""),
        Err(e) => (
            super::error_table::error_response(&e, &request.request_id),
            super::error_table::describe(&e).1,
        ),
    };
    log_outcome(request, route, &response, error_code, started);
    response
}

/// 404 for a path this function does not serve.
pub fn not_found(request: &HttpRequest) -> HttpResponse {
    let body = serde_json::json!({"error": {"code": "NOT_FOUND", "message": "No such route.", "request_id": request.request_id}});
    HttpResponse::json(404, &body)
}
