//! What a failed AWS SDK call may say in our errors and logs: the service, the error code (or
//! the class of transport failure) and the AWS request id. Never the SDK's message text: it
//! can quote what was sent (an SNS error can echo the full phone number, a DynamoDB one an
//! item value). One macro for every SDK crate (each re-exports the same smithy types, but
//! under its own path).

/// `sdk_fault!(aws_sdk_sns, "SNS", &error)` → `"SNS: InvalidParameter (request id …)"`.
macro_rules! sdk_fault {
    ($sdk:ident, $service:expr, $error:expr) => {{
        #[allow(unused_imports)] // a generic caller may have the trait in scope already
        use $sdk::error::{ProvideErrorMetadata as _, SdkError};
        use $sdk::operation::RequestId as _;
        let error = $error;
        let request_id = error.request_id().unwrap_or("none").to_owned();
        let kind = match error {
            SdkError::ServiceError(service) => {
                service.err().code().unwrap_or("unknown service error")
            }
            SdkError::TimeoutError(_) => "timeout",
            SdkError::DispatchFailure(d) if d.is_timeout() => "connect timeout",
            SdkError::DispatchFailure(d) if d.is_io() => "connection failed",
            SdkError::DispatchFailure(_) => "dispatch failure",
            SdkError::ResponseError(_) => "unreadable response",
            SdkError::ConstructionFailure(_) => "request not built",
            _ => "SDK error",
        };
        format!("{}: {kind} (request id {request_id})", $service)
    }};
}
pub(crate) use sdk_fault;
