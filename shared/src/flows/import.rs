//! Running an import plan against the store (`AccountImport`): accounts are created in
//! batches of `BATCH_ACCOUNTS` (written concurrently by the store); each is created, found
//! there from an earlier run, or in conflict with a user of the table (and then leaves
//! nothing). A dry run only reads who holds the keys and says the same. A store failure stops
//! the run; what was done is reported, and running again resumes where it stopped.

use super::admin::mask_id;
use super::import_plan::{Conflict, Malformed, ParsedExport, Plan, PlannedAccount, RecordRef};
use crate::domain::UserId;
use crate::store::{AccountImport, AccountKey, CreateAccountOutcome, KeyHolder, NewAccount};
use serde::Serialize;
use std::time::Instant;

/// Accounts handed to the store at once (the DynamoDB adapter packs them into transactions of
/// at most 100 items).
pub const BATCH_ACCOUNTS: usize = 25;

/// Malformed lines listed in a report (all are counted).
const LISTED_MALFORMED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read and classify only.
    DryRun,
    Write,
}

/// What an import did (or, in a dry run, would do). Holds no personal datum: records are named
/// by line and masked source id, keys masked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub format: String,
    pub dry_run: bool,
    /// Records read from the input.
    pub lines: u64,
    pub malformed: u64,
    /// The first malformed lines and why.
    pub malformed_lines: Vec<Malformed>,
    pub duplicates: u64,
    /// Records whose phone the source had not verified: imported without the phone.
    pub unverified_phones_dropped: u64,
    pub without_identity: Vec<RecordRef>,
    pub too_many_openids: Vec<RecordRef>,
    /// Nicknames and avatar URLs the profile rules refused (the accounts are imported without).
    pub profile_fields_dropped: u64,
    /// Created now (a dry run: would be created).
    pub imported: u64,
    /// Already in the table from an earlier run: left as they are.
    pub already_present: u64,
    /// Keys claimed twice in the input, or held by another user of the table: those records
    /// are not imported at all.
    pub conflicts: Vec<Conflict>,
    /// Accounts not attempted because the store failed (run again to resume).
    pub not_attempted: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
    pub seconds: f64,
    pub users_per_second: f64,
}

impl ImportReport {
    /// Every record was imported or was already there.
    pub fn complete(&self) -> bool {
        self.malformed == 0
            && self.conflicts.is_empty()
            && self.without_identity.is_empty()
            && self.too_many_openids.is_empty()
            && self.not_attempted == 0
            && self.store_error.is_none()
    }
}

/// How far a run is: accounts handled, of all planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// What became of one account.
enum Fate {
    Imported,
    AlreadyPresent,
    Conflict(Conflict),
}

/// Runs `plan` (made from an export with `parsed`'s counts), calling `progress` after each batch.
pub async fn run_import<S: AccountImport>(
    store: &S,
    format: &str,
    mut parsed_counts: ParsedExport,
    plan: Plan,
    mode: Mode,
    mut progress: impl FnMut(Progress),
) -> ImportReport {
    let started = Instant::now();
    let malformed = parsed_counts.malformed.len() as u64;
    parsed_counts.malformed.truncate(LISTED_MALFORMED);
    let mut report = ImportReport {
        format: format.to_owned(),
        dry_run: mode == Mode::DryRun,
        lines: parsed_counts.lines,
        malformed,
        malformed_lines: parsed_counts.malformed,
        duplicates: plan.duplicates,
        unverified_phones_dropped: parsed_counts.unverified_phones,
        without_identity: plan.without_identity,
        too_many_openids: plan.too_many_openids,
        profile_fields_dropped: plan.profile_fields_dropped,
        conflicts: plan.conflicts,
        ..ImportReport::default()
    };
    let total = plan.accounts.len();
    let mut done = 0;
    for batch in plan.accounts.chunks(BATCH_ACCOUNTS) {
        match import_batch(store, batch, mode).await {
            Ok(fates) => {
                for fate in fates {
                    match fate {
                        Fate::Imported => report.imported += 1,
                        Fate::AlreadyPresent => report.already_present += 1,
                        Fate::Conflict(c) => report.conflicts.push(c),
                    }
                }
            }
            Err(e) => {
                report.store_error = Some(crate::error::AppError::from(e).to_string());
                report.not_attempted = (total - done) as u64;
                break;
            }
        }
        done += batch.len();
        progress(Progress { done, total });
    }
    report.seconds = started.elapsed().as_secs_f64();
    if report.seconds > 0.0 {
        report.users_per_second =
            (report.imported + report.already_present) as f64 / report.seconds;
    }
    report
}

async fn import_batch<S: AccountImport>(
    store: &S,
    batch: &[PlannedAccount],
    mode: Mode,
) -> crate::store::StoreResult<Vec<Fate>> {
    let accounts: Vec<NewAccount> = batch.iter().map(|p| p.account.clone()).collect();
    let outcomes = match mode {
        Mode::Write => store.create_accounts(&accounts).await?,
        Mode::DryRun => {
            let holders = store.key_holders(&accounts).await?;
            accounts.iter().map(|a| would_be(a, &holders)).collect()
        }
    };
    Ok(batch
        .iter()
        .zip(outcomes)
        .map(|(planned, outcome)| match outcome {
            CreateAccountOutcome::Created => Fate::Imported,
            CreateAccountOutcome::AlreadyPresent => Fate::AlreadyPresent,
            CreateAccountOutcome::Conflict { key, holder } => {
                Fate::Conflict(table_conflict(planned, &key, &holder))
            }
        })
        .collect())
}

/// What creating `account` would answer, from who holds its keys now: its own user item there
/// means an earlier run imported it; another user holding a key is a conflict.
fn would_be(account: &NewAccount, holders: &[KeyHolder]) -> CreateAccountOutcome {
    let keys = account.keys();
    let mine = || holders.iter().filter(|h| keys.contains(&h.key));
    if mine().any(|h| matches!(&h.key, AccountKey::User(id) if *id == account.user.id)) {
        return CreateAccountOutcome::AlreadyPresent;
    }
    match mine().find(|h| h.user_id != account.user.id) {
        Some(h) => CreateAccountOutcome::Conflict {
            key: h.key.clone(),
            holder: h.user_id.clone(),
        },
        None => CreateAccountOutcome::Created,
    }
}

/// The report's entry for a key a user of the table holds.
fn table_conflict(planned: &PlannedAccount, key: &AccountKey, holder: &UserId) -> Conflict {
    let (kind, value) = match key {
        AccountKey::User(id) => ("user", mask_id(id.as_str())),
        AccountKey::OpenId(_, openid) => ("openid", mask_id(openid.as_str())),
        AccountKey::UnionId(unionid) => ("unionid", mask_id(unionid.as_str())),
        AccountKey::Phone(phone) => ("phone", phone.masked()),
    };
    Conflict {
        key: kind,
        value,
        records: vec![planned.record.clone()],
        held_by: Some(mask_id(holder.as_str())),
    }
}
