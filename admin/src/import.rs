//! `wxlogin-admin import FORMAT FILE`: reads an export (`leancloud`, `cloudbase`, or the
//! `wxlogin` JSON-lines format; `-` reads stdin), plans it, runs it against the store (or only
//! reads, with `--dry-run`), with a progress bar when stderr is a terminal, and answers the
//! report (plus the process's peak memory).

mod cloudbase;
mod fields;
mod leancloud;
mod wxlogin_lines;

use crate::progress::ProgressBar;
use serde_json::{Value, json};
use std::io::Read;
use wxlogin::domain::AppId;
use wxlogin::flows::import::{Mode, run_import};
use wxlogin::flows::import_plan::{ParsedExport, plan};
use wxlogin::store::AccountImport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    LeanCloud,
    CloudBase,
    Wxlogin,
}

impl Format {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "leancloud" => Some(Self::LeanCloud),
            "cloudbase" => Some(Self::CloudBase),
            "wxlogin" => Some(Self::Wxlogin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::LeanCloud => "leancloud",
            Self::CloudBase => "cloudbase",
            Self::Wxlogin => "wxlogin",
        }
    }

    /// LeanCloud and CloudBase exports do not say which mini program their openids are of.
    pub fn needs_appid(self) -> bool {
        self != Self::Wxlogin
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    pub format: Format,
    /// A path, or `-` for stdin.
    pub file: String,
    pub appid: Option<AppId>,
    pub dry_run: bool,
}

/// Reads `format` from `text` (the appid is checked by the command line for the formats that
/// need it).
pub fn read(format: Format, text: &str, appid: Option<&AppId>) -> Result<ParsedExport, String> {
    match (format, appid) {
        (Format::Wxlogin, _) => Ok(wxlogin_lines::read(text)),
        (Format::LeanCloud, Some(a)) => Ok(leancloud::read(text, a)),
        (Format::CloudBase, Some(a)) => Ok(cloudbase::read(text, a)),
        (_, None) => Err(format!("{} needs --appid", format.name())),
    }
}

fn read_input(file: &str) -> Result<String, String> {
    let mut text = String::new();
    let result = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    result.map_err(|e| format!("cannot read {file}: {}", e.kind()))?;
    Ok(text)
}

/// The report, and whether every record was imported (or was there already); `Err` when the
/// input cannot be read at all.
pub async fn run<S: AccountImport>(
    store: &S,
    args: &ImportArgs,
    now: u64,
) -> Result<(Value, ImportStatus), String> {
    let text = read_input(&args.file)?;
    let parsed = read(args.format, &text, args.appid.as_ref())?;
    drop(text);
    let planned = plan(args.format.name(), parsed.clone(), now);
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let mut bar = ProgressBar::on_terminal(planned.accounts.len());
    let report = run_import(store, args.format.name(), parsed, planned, mode, |p| {
        bar.show(p.done)
    })
    .await;
    bar.finish();
    let status = if report.store_error.is_some() {
        ImportStatus::StoreFailed
    } else if report.complete() {
        ImportStatus::Complete
    } else {
        ImportStatus::SomeLeftOut
    };
    let mut output = json!(report);
    if let Some(object) = output.as_object_mut() {
        object.insert("peak_rss_kib".into(), json!(peak_rss_kib()));
    }
    Ok((output, status))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Complete,
    /// Conflicts, malformed lines or records without an identity: see the report.
    SomeLeftOut,
    StoreFailed,
}

/// The process's peak resident memory (Linux `VmHWM`), in KiB; `None` elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
