//! The session function: `POST /auth/logout`, `GET|PATCH|DELETE /auth/me`, `GET /auth/me/export`,
//! `POST /auth/me/userinfo`, `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`.

use super::{not_found, respond};
use crate::error::AppError;
use crate::flows::SessionService;
use crate::flows::profile::UserInfoData;
use crate::flows::session::LogoutProof;
use crate::http::answers;
use crate::http::body::{parse_json, parse_optional_json};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInfoBody {
    raw_data: String,
    signature: String,
    encrypted_data: String,
    iv: String,
}

/// The demo routes: one behind the Lambda authorizer, one behind API Gateway's JWT authorizer
/// (`AuthorizerType=jwt`). Each answers what one of your routes would receive from it.
pub const DEMO_LAMBDA_PATH: &str = "/demo/protected";
pub const DEMO_JWT_PATH: &str = "/demo/jwt";

pub fn serves(request: &HttpRequest) -> bool {
    matches!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/auth/logout")
            | ("GET", "/auth/me")
            | ("GET", "/auth/me/export")
            | ("DELETE", "/auth/me")
            | ("PATCH", "/auth/me")
            | ("PUT", "/auth/me")
            | ("POST", "/auth/me/userinfo")
            | ("GET", "/.well-known/jwks.json")
            | ("GET", "/.well-known/openid-configuration")
            | ("GET", DEMO_LAMBDA_PATH)
            | ("GET", DEMO_JWT_PATH)
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
                let caller = service.authenticate(request.bearer()).await?;
                Ok(answers::profile(&service.profile(&caller).await?))
            })
            .await
        }
        ("GET", "/auth/me/export") => {
            respond(request, "GET /auth/me/export", async {
                let caller = service.authenticate(request.bearer()).await?;
                // `no-store`, as every JSON answer: no cache on the way keeps personal data.
                Ok(HttpResponse::json(200, &service.export(&caller).await?))
            })
            .await
        }
        ("DELETE", "/auth/me") => {
            respond(request, "DELETE /auth/me", async {
                let caller = service.authenticate(request.bearer()).await?;
                // The same answer when a retried request finds the account already gone.
                service.delete_account(&caller).await?;
                Ok(HttpResponse::json(
                    200,
                    &serde_json::json!({"status": "deleted"}),
                ))
            })
            .await
        }
        // PUT too: WeChat's wx.request has no PATCH method.
        ("PATCH" | "PUT", "/auth/me") => {
            respond(request, "PATCH /auth/me", async {
                let caller = service.authenticate(request.bearer()).await?;
                let body: ProfileBody = parse_json(&request.body)?;
                service
                    .update_profile(
                        &caller,
                        body.nickname.as_deref(),
                        body.avatar_url.as_deref(),
                    )
                    .await?;
                Ok(answers::profile(&service.profile(&caller).await?))
            })
            .await
        }
        ("POST", "/auth/me/userinfo") => {
            respond(request, "POST /auth/me/userinfo", async {
                let caller = service.authenticate(request.bearer()).await?;
                let body: UserInfoBody = parse_json(&request.body)?;
                let data = UserInfoData {
                    raw_data: &body.raw_data,
                    signature: &body.signature,
                    encrypted_data: &body.encrypted_data,
                    iv: &body.iv,
                };
                service.apply_user_info(&caller, data).await?;
                Ok(answers::profile(&service.profile(&caller).await?))
            })
            .await
        }
        ("GET", "/.well-known/jwks.json") => {
            respond(request, "GET /.well-known/jwks.json", async {
                let keys = service.gate.published_keys().await;
                let mut response = HttpResponse::json(200, &keys.jwks());
                response.headers.retain(|(k, _)| k != "cache-control");
                // Staleness bound: JWKS_MAX_AGE_SECS here plus this max-age at the client.
                response
                    .headers
                    .push(("cache-control".into(), "public, max-age=300".into()));
                Ok(response)
            })
            .await
        }
        ("GET", "/.well-known/openid-configuration") => {
            respond(request, "GET /.well-known/openid-configuration", async {
                let document = answers::discovery(
                    service.gate.issuer(),
                    request.header("host"),
                    service.gate.algorithm(),
                );
                let mut response = HttpResponse::json(200, &document);
                response.headers.retain(|(k, _)| k != "cache-control");
                response
                    .headers
                    .push(("cache-control".into(), "public, max-age=300".into()));
                Ok(response)
            })
            .await
        }
        ("GET", DEMO_LAMBDA_PATH | DEMO_JWT_PATH) => match &request.authorizer {
            // The gateway's authorizer admitted the caller; its context is what a route gets.
            Some(context) => HttpResponse::json(200, &serde_json::json!({ "authorizer": context })),
            // Reached without an authorizer (a misrouted deployment): refuse, never echo.
            None => crate::http::error_table::error_response(
                &AppError::Unauthorized,
                &request.request_id,
            ),
        },
        _ => not_found(request),
    }
}
