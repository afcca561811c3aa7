//! AWS errors in plain words, end to end: the built binary with credentials missing,
//! a profile that is not there, an expired SSO session, and an AWS endpoint (a stub on
//! loopback) that refuses the key or the permission. Each case must read as one line of
//! what is wrong and one of what to do, in `status` (text and JSON), `logs` and an
//! action, never as the SDK's debug output.
//!
//! Every run has an environment of its own: no variables but the ones set here, `HOME`
//! in a temporary folder, instance metadata off. Nothing leaves loopback: a case that
//! needs an endpoint starts its stub, and the others fail before any request.

use crate::support::config_toml;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");

/// An AWS endpoint on loopback that answers every request with one error, as a JSON 1.1
/// service (ECS, CloudWatch Logs) does: HTTP 400 and `{"__type": CODE, "message": …}`.
struct ErrorStub {
    url: String,
}

impl ErrorStub {
    fn start(code: &str, message: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { break };
                // Read the request head and body (its length is in the head).
                let mut raw = Vec::new();
                let mut buf = [0_u8; 4096];
                while let Ok(n) = socket.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw);
                    if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .and_then(|v| v.trim().parse().ok())
                            })
                            .unwrap_or(0);
                        if rest.len() >= length {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes());
            }
        });
        Self { url }
    }
}

/// A temporary home with a console config of one environment (`staging`, one cluster,
/// on `endpoint` when given) and the AWS files a case writes there.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(endpoint: Option<&str>, aws_profile: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = config_toml::environment("staging", endpoint, false);
        if let Some(profile) = aws_profile {
            config.push_str("aws_profile = \"");
            config.push_str(profile);
            config.push_str("\"\n");
        }
        config.push_str(&config_toml::cluster("node-api", "ibet-stg-node-api"));
        std::fs::write(dir.path().join("console.toml"), config).expect("write config");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` under the home, folders included.
    fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Runs the binary with `args` after `--config`, in an environment of `vars` only.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(self.path().join("console.toml"))
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1");
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = command.output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `status --json`: the ECS error of the cluster, message and hint.
    fn status_ecs_error(&self, vars: &[(&str, &str)]) -> (String, String) {
        let (_, stdout, stderr) = self.run(&["status", "--json"], vars);
        let json: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        let errors = &json["environments"][0]["clusters"][0]["errors"];
        let ecs = errors
            .as_array()
            .and_then(|a| a.iter().find(|e| e["source"] == "ecs"))
            .unwrap_or_else(|| panic!("no ecs error: {json}"));
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        (text(&ecs["message"]), text(&ecs["hint"]))
    }

    fn home(&self, relative: &str) -> String {
        self.path().join(relative).display().to_string()
    }
}

/// The keys every stub case signs with (the stub reads none of them).
const KEYS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
];

fn assert_plain(text: &str) {
    for debug in ["Some(", "ConnectorError", "CredentialsNotLoaded", "Error {"] {
        assert!(!text.contains(debug), "debug output: {text}");
    }
}

#[test]
fn no_credentials_names_where_it_looked_in_status_text_and_json() {
    let home = Home::new(None, None);
    let (message, hint) = home.status_ecs_error(&[]);
    assert_eq!(
        message,
        format!(
            "no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID), {} \
             and {} (profile `default`), SSO, and the container and instance metadata",
            home.home(".aws/config"),
            home.home(".aws/credentials"),
        )
    );
    assert_eq!(
        hint,
        "run `aws configure` (a key) or `aws configure sso`, or set AWS_PROFILE or \
         aws_profile in the console config to a profile that has credentials"
    );
    let (code, stdout, _) = home.run(&["status"], &[]);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "error: staging node-api ecs: {message}\n  hint: {hint}\n"
        )),
        "{stdout}"
    );
    assert_plain(&stdout);
}

#[test]
fn a_profile_that_is_not_there_is_named_with_its_file() {
    let home = Home::new(None, None);
    // No config file at all.
    let (message, hint) = home.status_ecs_error(&[("AWS_PROFILE", "nope")]);
    let config = home.home(".aws/config");
    assert_eq!(
        message,
        format!("the AWS profile `nope` (AWS_PROFILE) is not in {config} (no such file)")
    );
    assert_eq!(
        hint,
        format!(
            "add `[profile nope]` to {config} (`aws configure --profile nope`), or name a \
             profile that is there"
        )
    );
    // A config file with other profiles, the missing one named by the console's config.
    home.write(".aws/config", "[profile other]\nregion = ap-northeast-1\n");
    home.write(
        ".aws/credentials",
        "[other]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n",
    );
    let named = Home::new(None, Some("ibet-stg"));
    named.write(".aws/config", "[profile other]\nregion = ap-northeast-1\n");
    let (message, _) = named.status_ecs_error(&[("AWS_PROFILE", "other")]);
    assert_eq!(
        message,
        format!(
            "the AWS profile `ibet-stg` (aws_profile in the console config) is not in {}",
            named.home(".aws/config")
        )
    );
    let (message, _) = home.status_ecs_error(&[("AWS_PROFILE", "nope")]);
    assert_eq!(
        message,
        format!("the AWS profile `nope` (AWS_PROFILE) is not in {config}")
    );
}

#[test]
fn an_expired_sso_session_asks_for_a_login() {
    let home = Home::new(None, None);
    home.write(
        ".aws/config",
        "[profile ibet-sso]\nsso_session = ibet\nsso_account_id = 123456789012\n\
         sso_role_name = operator\nregion = ap-northeast-1\n\n\
         [sso-session ibet]\nsso_start_url = https://example.awsapps.com/start\n\
         sso_region = ap-northeast-1\n",
    );
    // The token cache of session `ibet` (its file is named by the SHA-1 of the name),
    // expired and without what a refresh needs: the SDK gives up without a request.
    home.write(
        ".aws/sso/cache/c5af4dcc152e0917b8ba59e4b799405e138b19bf.json",
        r#"{"accessToken":"expired","expiresAt":"2020-01-01T00:00:00Z","region":"ap-northeast-1","startUrl":"https://example.awsapps.com/start"}"#,
    );
    let (message, hint) = home.status_ecs_error(&[("AWS_PROFILE", "ibet-sso")]);
    assert_eq!(
        message,
        "the AWS SSO session of profile `ibet-sso` has expired"
    );
    assert_eq!(hint, "run `aws sso login --profile ibet-sso`");
}

#[test]
fn keys_aws_refuses_say_what_is_wrong_with_them() {
    let cases = [
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "AWS does not recognise the access key or its token (InvalidClientTokenId)",
            "the key is mistyped, deleted or inactive: check AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or make a new key",
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            "AWS does not recognise the access key or its token (UnrecognizedClientException)",
            "the key is mistyped, deleted or inactive: check AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or make a new key",
        ),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            "the AWS session token has expired (ExpiredTokenException)",
            "get fresh credentials: a new AWS_SESSION_TOKEN, or renew AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY",
        ),
        (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
            "AWS rejected the request's signature (InvalidSignatureException): the secret \
             key does not match the access key, or this machine's clock is off",
            "check the secret key in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and the \
             clock (NTP)",
        ),
    ];
    for (code, said, message, hint) in cases {
        let stub = ErrorStub::start(code, said);
        let home = Home::new(Some(&stub.url), None);
        assert_eq!(
            home.status_ecs_error(KEYS),
            (message.to_string(), hint.to_string()),
            "{code}"
        );
    }
}

#[test]
fn access_denied_names_who_what_and_on_what_in_status_logs_and_an_action() {
    let stub = ErrorStub::start(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: \
         ecs:ListServices on resource: arn:aws:ecs:ap-northeast-1:123456789012:cluster/ibet-stg-node-api \
         because no identity-based policy allows the ecs:ListServices action",
    );
    let home = Home::new(Some(&stub.url), None);
    let message = "access denied: arn:aws:iam::123456789012:user/x may not ecs:ListServices \
                   on arn:aws:ecs:ap-northeast-1:123456789012:cluster/ibet-stg-node-api \
                   (no identity-based policy allows the ecs:ListServices action)";
    let hint = "the IAM policy of arn:aws:iam::123456789012:user/x must allow \
                `ecs:ListServices` on \
                `arn:aws:ecs:ap-northeast-1:123456789012:cluster/ibet-stg-node-api`, or use a \
                profile whose role has it";
    assert_eq!(
        home.status_ecs_error(KEYS),
        (message.to_string(), hint.to_string())
    );

    let (code, _, stderr) = home.run(
        &[
            "--env",
            "staging",
            "logs",
            "--cluster",
            "node-api",
            "--service",
            "api",
        ],
        KEYS,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot read ECS cluster ibet-stg-node-api: {message}\n  hint: {hint}\n"
        )),
        "{stderr}"
    );

    let (code, stdout, stderr) = home.run(
        &[
            "--env",
            "staging",
            "restart",
            "--cluster",
            "node-api",
            "--service",
            "api",
            "--yes",
        ],
        KEYS,
    );
    let all = format!("{stdout}{stderr}");
    assert_ne!(code, Some(0), "{all}");
    assert!(all.contains(message), "{all}");
    assert_plain(&all);
}
