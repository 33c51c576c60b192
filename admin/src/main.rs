//! `wxlogin-admin`: the operator's tool over the deployed table (or a local moto). Parses the
//! command line, connects to the named table in the named region, runs one command, prints
//! its JSON. Exit codes: 0 done, 1 no such user (or an import that left records out), 2 usage
//! (or an unreadable import file), 3 the store failed.

mod cli;
mod commands;
mod import;
mod progress;

use std::process::ExitCode;
use wxlogin::clock::{Clock, SystemClock};
use wxlogin::store::dynamo::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    wxlogin::metrics::silence();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let invocation = match cli::parse(&args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("wxlogin-admin: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let sdk =
        wxlogin::aws::load_sdk_config_in(&invocation.region, invocation.endpoint_url.as_deref())
            .await;
    let store = DynamoStore::new(&sdk, &invocation.table);
    match commands::run(&store, &invocation.command, SystemClock.now()).await {
        Ok(outcome) => {
            println!("{}", outcome.output);
            match outcome.end {
                commands::End::Done => ExitCode::SUCCESS,
                commands::End::Partly => ExitCode::from(1),
                commands::End::Usage => ExitCode::from(2),
                commands::End::StoreFailed => ExitCode::from(3),
            }
        }
        Err(error) => {
            // The error and its causes (AWS errors by code and request id only: `sdk_fault`).
            let mut text = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(e) = cause {
                text.push_str(&format!(": {e}"));
                cause = e.source();
            }
            eprintln!("wxlogin-admin: {text}");
            ExitCode::from(3)
        }
    }
}
