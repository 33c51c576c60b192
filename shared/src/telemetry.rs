//! Log setup: JSON lines for Lambda (CloudWatch), readable text for the local server.
//! What must never be logged is enforced where values are made (Debug impls hide secrets).

/// JSON lines on stdout, no ANSI, no target noise. Safe to call once per process.
pub fn init_json_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// Human-readable logs for the local server.
pub fn init_text_logs() {
    let _ = tracing_subscriber::fmt().with_target(false).try_init();
}
