//! `tripgate backtest` against an independent implementation of the contract
//! (tests/reference/, plain Python written from the contract alone) on the
//! contract's example, adversarial generated logs, a simulated log and
//! hand-made edge cases. Any difference is a failure, except readings the
//! contract leaves open (reported as warnings by run.sh).

use std::path::Path;
use std::process::Command;

#[test]
fn backtest_agrees_with_the_independent_reference_implementation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new("bash")
        .arg(root.join("tests/reference/run.sh"))
        .arg(env!("CARGO_BIN_EXE_tripgate"))
        .current_dir(&root)
        .output()
        .expect("bash and python3 are needed for the reference cross-check");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the reference cross-check failed:\n{report}"
    );
    assert!(report.contains(" 0 failed"), "{report}");
}
