//! The command line: `wxlogin-admin --table T --region R [--endpoint-url URL] COMMAND …`.
//! The table and the region are required, never taken from the environment, so that a command
//! cannot reach a table nobody named.

use crate::import::{Format, ImportArgs};
use wxlogin::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use wxlogin::flows::admin::Lookup;

pub const USAGE: &str = "\
usage: wxlogin-admin --table TABLE --region REGION [--endpoint-url URL] COMMAND
commands:
  find user USER_ID | find openid APPID OPENID | find unionid UNIONID | find phone PHONE
  disable USER_ID        a disabled user cannot log in, refresh or bind; their sessions end
  enable USER_ID
  logout USER_ID         end every session of the user now
  delete USER_ID --yes   delete the user and everything that points at them
  export USER_ID         every personal datum held about the user, as JSON
  counts                 live items of each kind in the table
  import FORMAT FILE [--appid APPID] [--dry-run]
                         create the users of an export (FILE, or - for stdin): FORMAT is
                         leancloud (_User, JSON lines), cloudbase (a users collection, JSON
                         lines) or wxlogin (README); leancloud and cloudbase need the
                         --appid of the mini program; --dry-run writes nothing
The table and region are never read from the environment; credentials are (the AWS chain).";

#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub table: String,
    pub region: String,
    pub endpoint_url: Option<String>,
    pub command: Command,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Find(Lookup),
    Disable(UserId),
    Enable(UserId),
    Logout(UserId),
    Delete(UserId),
    Export(UserId),
    Counts,
    Import(ImportArgs),
}

/// Parses the arguments after the program name; the message says what is wrong.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut table = None;
    let mut region = None;
    let mut endpoint_url = None;
    let mut rest: Vec<&str> = Vec::new();
    let mut args = args.iter().map(String::as_str);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg {
            "--table" => table = Some(value("--table")?),
            "--region" => region = Some(value("--region")?),
            "--endpoint-url" => endpoint_url = Some(value("--endpoint-url")?),
            other => rest.push(other),
        }
    }
    let table = table.ok_or("--table is required (the DynamoDB table to act on)")?;
    let region = region.ok_or("--region is required (for example cn-north-1)")?;
    Ok(Invocation {
        table,
        region,
        endpoint_url,
        command: command(&rest)?,
    })
}

fn command(words: &[&str]) -> Result<Command, String> {
    let user = |raw: &str| UserId::parse(raw).map_err(|_| format!("not a user id: {raw}"));
    match words {
        ["find", "user", id] => Ok(Command::Find(Lookup::User(user(id)?))),
        ["find", "openid", appid, openid] => Ok(Command::Find(Lookup::OpenId(
            AppId::parse(appid).map_err(|_| format!("not an appid: {appid}"))?,
            OpenId::parse(openid).map_err(|_| "not an openid".to_owned())?,
        ))),
        ["find", "unionid", unionid] => Ok(Command::Find(Lookup::UnionId(
            UnionId::parse(unionid).map_err(|_| "not a unionid".to_owned())?,
        ))),
        ["find", "phone", phone] => Ok(Command::Find(Lookup::Phone(parse_phone(phone)?))),
        ["disable", id] => Ok(Command::Disable(user(id)?)),
        ["enable", id] => Ok(Command::Enable(user(id)?)),
        ["logout", id] => Ok(Command::Logout(user(id)?)),
        ["delete", id, "--yes"] | ["delete", "--yes", id] => Ok(Command::Delete(user(id)?)),
        ["delete", _] => Err("delete cannot be undone: add --yes".to_owned()),
        ["export", id] => Ok(Command::Export(user(id)?)),
        ["counts"] => Ok(Command::Counts),
        ["import", rest @ ..] => import(rest).map(Command::Import),
        [] => Err("no command".to_owned()),
        _ => Err(format!("unknown command: {}", words.join(" "))),
    }
}

/// `import FORMAT FILE [--appid APPID] [--dry-run]`, the flags anywhere after `import`.
fn import(words: &[&str]) -> Result<ImportArgs, String> {
    let mut appid = None;
    let mut dry_run = false;
    let mut positional = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match *word {
            "--dry-run" => dry_run = true,
            "--appid" => {
                let raw = words.next().ok_or("--appid needs a value")?;
                appid = Some(AppId::parse(raw).map_err(|_| format!("not an appid: {raw}"))?);
            }
            other => positional.push(other),
        }
    }
    let [format, file] = positional[..] else {
        return Err("import needs FORMAT and FILE".to_owned());
    };
    let format = Format::parse(format)
        .ok_or_else(|| format!("unknown format {format}: leancloud, cloudbase or wxlogin"))?;
    if format.needs_appid() && appid.is_none() {
        return Err(format!(
            "{} exports do not name the mini program: add --appid",
            format.name()
        ));
    }
    Ok(ImportArgs {
        format,
        file: file.to_owned(),
        appid,
        dry_run,
    })
}

/// E.164 (`+8613800138000`), or a mainland number without its country code.
fn parse_phone(raw: &str) -> Result<PhoneNumber, String> {
    if raw.starts_with('+') {
        PhoneNumber::parse_e164(raw)
    } else {
        PhoneNumber::from_parts("86", raw)
    }
    .map_err(|_| "not a phone number".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_table_and_the_region_are_required() {
        assert!(parse(&args("counts")).unwrap_err().contains("--table"));
        assert!(
            parse(&args("--table t counts"))
                .unwrap_err()
                .contains("--region")
        );
        assert!(
            parse(&args("--region cn-north-1 counts"))
                .unwrap_err()
                .contains("--table")
        );
        assert!(
            parse(&args("--table"))
                .unwrap_err()
                .contains("needs a value")
        );
        let ok = parse(&args("--table t --region cn-north-1 counts")).unwrap();
        assert_eq!(
            ok,
            Invocation {
                table: "t".into(),
                region: "cn-north-1".into(),
                endpoint_url: None,
                command: Command::Counts
            }
        );
    }

    #[test]
    fn commands_parse_and_delete_needs_yes() {
        let base = "--table t --region r --endpoint-url http://127.0.0.1:1";
        let p = |rest: &str| parse(&args(&format!("{base} {rest}")));
        assert_eq!(
            p("find phone 13800138000").unwrap().command,
            Command::Find(Lookup::Phone(
                PhoneNumber::from_parts("86", "13800138000").unwrap()
            ))
        );
        assert_eq!(
            p("find phone +8613800138000").unwrap().command,
            p("find phone 13800138000").unwrap().command
        );
        assert!(p("find phone +4420").is_err());
        assert!(p("delete u_abc").unwrap_err().contains("--yes"));
        assert!(p("frobnicate").unwrap_err().contains("unknown command"));
        assert!(p("").unwrap_err().contains("no command"));
        assert_eq!(
            p("import leancloud users.jsonl --dry-run --appid wx0123456789abcdef")
                .unwrap()
                .command,
            Command::Import(ImportArgs {
                format: Format::LeanCloud,
                file: "users.jsonl".into(),
                appid: Some(AppId::parse("wx0123456789abcdef").unwrap()),
                dry_run: true,
            })
        );
        assert!(
            p("import leancloud users.jsonl")
                .unwrap_err()
                .contains("--appid")
        );
        assert!(
            p("import parse users.jsonl")
                .unwrap_err()
                .contains("unknown format")
        );
        assert!(p("import wxlogin").unwrap_err().contains("FORMAT and FILE"));
        assert!(p("import wxlogin -").is_ok());
        assert_eq!(
            p("find openid wxapp0000000001 o_abcdefgh")
                .unwrap()
                .endpoint_url
                .as_deref(),
            Some("http://127.0.0.1:1")
        );
    }
}
