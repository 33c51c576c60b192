//! Each command against the store: the flow it runs and the JSON it prints. Generic over the
//! store, so the same code runs on DynamoDB and, in the unit tests, in memory.

use crate::cli::Command;
use crate::import::ImportStatus;
use serde_json::{Value, json};
use wxlogin::error::AppResult;
use wxlogin::flows::admin::{UserSummary, find_user, force_logout, set_disabled};
use wxlogin::flows::delete_account::{Deletion, erase_user};
use wxlogin::flows::export::export_user;
use wxlogin::store::Store;

/// What a command printed, and how it ended (the exit code).
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub output: Value,
    pub end: End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Done,
    /// No such user; an import that left records out (conflicts, malformed lines).
    Partly,
    /// The input could not be read.
    Usage,
    StoreFailed,
}

fn found(output: Value) -> Outcome {
    Outcome {
        output,
        end: End::Done,
    }
}

fn not_found() -> Outcome {
    Outcome {
        output: json!({"error": "no such user"}),
        end: End::Partly,
    }
}

pub async fn run<S: Store>(store: &S, command: &Command, now: u64) -> AppResult<Outcome> {
    Ok(match command {
        Command::Find(lookup) => match find_user(store, lookup, now).await? {
            Some(user) => found(json!(UserSummary::of(&user))),
            None => not_found(),
        },
        Command::Disable(id) | Command::Enable(id) => {
            let disabled = matches!(command, Command::Disable(_));
            match set_disabled(store, id, disabled).await? {
                Some(user) => found(json!(UserSummary::of(&user))),
                None => not_found(),
            }
        }
        Command::Logout(id) => match force_logout(store, id, now).await? {
            true => found(json!({"id": id.as_str(), "sessions": "ended"})),
            false => not_found(),
        },
        Command::Delete(id) => match erase_user(store, id, None, now).await? {
            Deletion::Deleted => found(json!({"id": id.as_str(), "status": "deleted"})),
            Deletion::AlreadyGone => not_found(),
        },
        Command::Export(id) => match store.get_user(id).await? {
            Some(user) => found(json!(export_user(store, &user, None, now).await?)),
            None => not_found(),
        },
        Command::Counts => found(json!(store.count_by_kind(now).await?)),
        Command::Import(args) => match crate::import::run(store, args, now).await {
            Ok((output, status)) => Outcome {
                output,
                end: match status {
                    ImportStatus::Complete => End::Done,
                    ImportStatus::SomeLeftOut => End::Partly,
                    ImportStatus::StoreFailed => End::StoreFailed,
                },
            },
            Err(message) => Outcome {
                output: json!({"error": message}),
                end: End::Usage,
            },
        },
    })
}
