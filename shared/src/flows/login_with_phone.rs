//! `POST /auth/login` with a phone proof (`phone_code`, or legacy `encrypted_data` + `iv`):
//! sign in and bind in one request, for phone-first mini programs. The login runs as alone;
//! then the proof goes through the very bind of `POST /auth/phone` (`bind_phone`: the same
//! binding rules, fee guard, limits and paid-code claim), as the user the login found or, in
//! `SIGNUP_MODE=phone`, as the openid the bind token names (the fresh session_key decrypts
//! legacy data). A user whose phone is bound already spends nothing: the proof is left
//! unused. A refused proof does not undo the login: the answer is the login's, with the
//! phone's error beside it, so the client can prove again through `POST /auth/phone`.

use super::backend::Backend;
use super::bind_phone::PhoneProof;
use super::login::{LoginOutcome, LoginRequest};
use crate::error::{AppError, AppResult};
use crate::principal::{self, Principal};
use crate::secrets::SecretSource;
use crate::store::{CodeClaims, Counters, Identities, PhoneOwnership, Sessions, SmsCodes};
use crate::tokens::KeyDirectory;
use crate::wechat::WeChatApi;

/// What a login with a phone proof answered: the session (with the phone bound, when the
/// proof held) or the bind token, and why the phone was not bound, when it was not.
#[derive(Debug)]
pub struct LoginWithPhone {
    pub outcome: LoginOutcome,
    pub phone_error: Option<AppError>,
}

impl<S, W: WeChatApi, X: SecretSource> Backend<S, W, X>
where
    S: CodeClaims + SmsCodes + Counters + Sessions + Identities + PhoneOwnership + KeyDirectory,
{
    pub async fn login_with_phone(
        &self,
        request: LoginRequest,
        proof: PhoneProof,
    ) -> AppResult<LoginWithPhone> {
        let source_ip = request.source_ip.clone();
        let outcome = self.login(request).await?;
        let token = match &outcome {
            LoginOutcome::Session(s) if s.user.phone_bound => {
                return Ok(LoginWithPhone {
                    outcome,
                    phone_error: None,
                });
            }
            LoginOutcome::Session(s) => s.access_token.clone(),
            LoginOutcome::PhoneRequired(p) => p.bind_token.clone(),
        };
        // The one place claims become a Principal reads the tokens just minted.
        let verifier = self.verifier().await?;
        let claimant: Principal = principal::access_or_bind(&verifier, &token)
            .map_err(|_| AppError::Internal("a token just issued does not verify".into()))?;
        let login_created = matches!(&outcome, LoginOutcome::Session(s) if s.user.created);
        match Box::pin(self.bind_phone(&claimant, proof, source_ip.as_deref())).await {
            Ok(mut tokens) => {
                // This request created the user, whether at the login or at the bind.
                tokens.user.created |= login_created;
                Ok(LoginWithPhone {
                    outcome: LoginOutcome::Session(tokens),
                    phone_error: None,
                })
            }
            Err(e) => Ok(LoginWithPhone {
                outcome,
                phone_error: Some(e),
            }),
        }
    }
}
