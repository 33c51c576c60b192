//! The floor under the authorizer's figures in `scripts/bench.sh`: a Lambda function that is
//! only the runtime (the same `lambda::run_json` loop and current-thread Tokio as the
//! authorizer) answering every event with a constant; no logs, no config, no keys, no I/O.
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::lambda::run_json(|_event| async { json!({"isAuthorized": false, "context": {}}) })
        .await
}
