//! The account function: `POST /auth/sms/send`, `POST /auth/password/login`,
//! `POST /auth/password`, `POST /auth/password/reset` — the login paths that do not need WeChat's paid phone button.

use super::bind_phone::caller;
use super::{not_found, respond};
use crate::error::AppError;
use crate::flows::Backend;
use crate::flows::password::LoginVia;
use crate::flows::sms::parse_phone;
use crate::http::answers;
use crate::http::body::parse_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::principal::Principal;
use crate::secrets::SecretSource;
use crate::sms::SmsSender;
use crate::store::Store;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordLoginBody {
    phone: String,
    password: String,
    #[serde(default)]
    appid: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetPasswordBody {
    phone: String,
    sms_code: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPasswordBody {
    password: String,
    #[serde(default)]
    old_password: Option<String>,
}

pub fn serves(request: &HttpRequest) -> bool {
    request.method == "POST"
        && matches!(
            request.path.as_str(),
            "/auth/sms/send" | "/auth/password/login" | "/auth/password" | "/auth/password/reset"
        )
}

fn password_field(p: &str) -> Result<&str, AppError> {
    if p.len() > 512 {
        return Err(AppError::InvalidRequest("password is too long"));
    }
    Ok(p)
}

pub async fn handle<S: Store, W, X: SecretSource>(
    backend: &Backend<S, W, X>,
    sender: &dyn SmsSender,
    request: &HttpRequest,
) -> HttpResponse {
    match request.path.as_str() {
        "/auth/sms/send" if serves(request) => {
            respond(request, "POST /auth/sms/send", async {
                let body: SendBody = parse_json(&request.body)?;
                let phone = parse_phone(&body.phone)?;
                let expires_in = backend
                    .send_sms_code(sender, &phone, request.source_ip.as_deref())
                    .await?;
                Ok(HttpResponse::json(
                    200,
                    &serde_json::json!({"status": "sent", "expires_in": expires_in}),
                ))
            })
            .await
        }
        "/auth/password/login" if serves(request) => {
            respond(request, "POST /auth/password/login", async {
                let body: PasswordLoginBody = parse_json(&request.body)?;
                let phone = parse_phone(&body.phone)?;
                let via = match request.bearer() {
                    Some(token) => match caller(backend, token).await? {
                        Principal::User(session) => LoginVia::Access(session),
                        unlinked @ Principal::Unlinked { .. } => LoginVia::Bind(unlinked),
                    },
                    None => LoginVia::Nothing(body.appid),
                };
                let tokens = backend
                    .password_login(
                        &phone,
                        password_field(&body.password)?,
                        via,
                        request.source_ip.as_deref(),
                    )
                    .await?;
                Ok(answers::tokens(&tokens))
            })
            .await
        }
        "/auth/password/reset" if serves(request) => {
            respond(request, "POST /auth/password/reset", async {
                let body: ResetPasswordBody = parse_json(&request.body)?;
                let phone = parse_phone(&body.phone)?;
                backend
                    .reset_password(&phone, &body.sms_code, password_field(&body.password)?)
                    .await?;
                Ok(HttpResponse::json(
                    200,
                    &serde_json::json!({"status": "ok"}),
                ))
            })
            .await
        }
        "/auth/password" if serves(request) => {
            respond(request, "POST /auth/password", async {
                let token = request.bearer().ok_or(AppError::Unauthorized)?;
                let Principal::User(session) = caller(backend, token).await? else {
                    return Err(AppError::Unauthorized);
                };
                let body: SetPasswordBody = parse_json(&request.body)?;
                let old = body
                    .old_password
                    .as_deref()
                    .map(password_field)
                    .transpose()?;
                let tokens = backend
                    .set_password(
                        &session,
                        password_field(&body.password)?,
                        old,
                        request.source_ip.as_deref(),
                    )
                    .await?;
                Ok(answers::tokens(&tokens))
            })
            .await
        }
        _ => not_found(request),
    }
}
