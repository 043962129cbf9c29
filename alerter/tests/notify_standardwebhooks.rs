//! Cross-check with an implementation we did not write: Python's
//! `standardwebhooks` package verifies a request our notifier really sent.
//! The interpreter comes from `TRIPGATE_PYTHON` (a venv with the package,
//! set by the project's test script); without it the check is skipped, loudly.

mod notify_support;

use std::io::Write as _;
use std::process::Stdio;

use notify_support::{fast_retries, transition, webhook_config, Receiver, Recorded, SECRET};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tripgate_alerter::notify::Notifier;

const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
request = json.load(sys.stdin)
payload = Webhook(request["secret"]).verify(request["body"], request["headers"])
print(json.dumps(payload, sort_keys=True))
"#;

/// Runs the verifier; `Ok(stdout)` when it accepts, `Err(stderr)` when not.
async fn python_verify(python: &str, request: &Recorded, body: &str) -> Result<String, String> {
    let input = serde_json::json!({ "secret": SECRET, "headers": request.headers, "body": body });
    let mut child = Command::new(python)
        .args(["-c", VERIFY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run TRIPGATE_PYTHON={python}: {error}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test]
async fn python_standardwebhooks_verifies_what_we_send() {
    let Ok(python) = std::env::var("TRIPGATE_PYTHON") else {
        // Straight to the process's stderr: the test harness captures eprintln!,
        // and a skipped check must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "TRIPGATE_PYTHON not set: standardwebhooks cross-check not run"
        );
        return;
    };
    let receiver = Receiver::start(vec![]).await;
    let notifier = Notifier::from_config("hook", &webhook_config(&receiver.url, "2s"))
        .unwrap()
        .with_retry_policy(fast_retries(0));
    let notification = transition(7, "red", "green", &["hook"]);
    notifier.send(&notification).await.unwrap();
    let request = &receiver
        .wait_for(1, std::time::Duration::from_secs(5))
        .await[0];
    let body = String::from_utf8(request.body.clone()).unwrap();

    let verified = python_verify(&python, request, &body)
        .await
        .unwrap_or_else(|error| panic!("standardwebhooks rejected our request: {error}"));
    let payload: serde_json::Value = serde_json::from_str(&verified).unwrap();
    assert_eq!(payload, serde_json::to_value(&notification).unwrap());

    // The same check must fail on a body we did not sign, or it proves nothing.
    let tampered = body.replace("\"to\":\"green\"", "\"to\":\"red\"");
    assert_ne!(tampered, body);
    let refused = python_verify(&python, request, &tampered).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.contains("No matching signature")),
        "{refused:?}"
    );
}
