//! The session function: `POST /auth/logout`, `GET /auth/me`, `GET /.well-known/jwks.json`.

use super::{not_found, respond};
use crate::error::AppError;
use crate::flows::SessionService;
use crate::flows::session::LogoutProof;
use crate::http::body::parse_optional_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::store::Store;
use serde::Deserialize;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutBody {
    #[serde(default)]
    all: bool,
    /// Lets a client whose access token has expired still end its session.
    #[serde(default)]
    refresh_token: Option<String>,
}

pub fn serves(request: &HttpRequest) -> bool {
    matches!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/auth/logout") | ("GET", "/auth/me") | ("GET", "/.well-known/jwks.json")
    )
}

pub async fn handle<S: Store + Clone>(
    service: &SessionService<S>,
    request: &HttpRequest,
) -> HttpResponse {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/auth/logout") => {
            respond(request, "POST /auth/logout", async {
                let body: LogoutBody = parse_optional_json(&request.body)?;
                let proof = match (request.bearer(), body.refresh_token.as_deref()) {
                    (Some(token), _) => LogoutProof::Access(token),
                    (None, Some(refresh)) if refresh.len() <= 256 => LogoutProof::Refresh(refresh),
                    (None, Some(_)) => {
                        return Err(AppError::InvalidRequest("refresh_token is too long"));
                    }
                    (None, None) => return Err(AppError::Unauthorized),
                };
                service.logout(proof, body.all).await?;
                Ok(HttpResponse::json(
                    200,
                    &serde_json::json!({"status": "ok"}),
                ))
            })
            .await
        }
        ("GET", "/auth/me") => {
            respond(request, "GET /auth/me", async {
                let claims = service.authenticate(request.bearer()).await?;
                Ok(HttpResponse::json(200, &service.profile(&claims).await?))
            })
            .await
        }
        ("GET", "/.well-known/jwks.json") => {
            respond(request, "GET /.well-known/jwks.json", async {
                let mut response = HttpResponse::json(200, &service.gate.keys().jwks());
                response.headers.retain(|(k, _)| k != "cache-control");
                response
                    .headers
                    .push(("cache-control".into(), "public, max-age=300".into()));
                Ok(response)
            })
            .await
        }
        _ => not_found(request),
    }
}
