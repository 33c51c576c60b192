//! Running the real `wxlogin-admin` binary: with moto's credentials and neither a region nor a
//! table in its environment (so only its arguments can name them), against a stack's table.

use crate::emulator::binary;
use crate::moto;
use crate::stack::Stack;
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: Value,
    pub stderr: String,
    pub raw: String,
}

/// Runs the tool with `args`, moto's credentials and no region or table in the environment.
pub async fn admin(args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(binary("wxlogin-admin"));
    command.args(args).env_clear();
    for (k, v) in moto::aws_env() {
        if k != "AWS_REGION" && k != "AWS_ENDPOINT_URL" {
            command.env(k, v);
        }
    }
    let out = command.output().await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        stderr: String::from_utf8(out.stderr).unwrap(),
        raw: stdout,
    }
}

/// `admin` against the stack's table in moto's region.
pub async fn on(stack: &Stack, args: &[&str]) -> Run {
    let endpoint = stack.endpoint.clone();
    let mut all = vec![
        "--table",
        stack.table.as_str(),
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint.as_str(),
    ];
    all.extend_from_slice(args);
    admin(&all).await
}
