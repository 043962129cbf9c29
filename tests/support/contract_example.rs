//! Where the contract's worked example (`shared/examples/tiny`) is, for the
//! tests that run it; `#[path]`-included by them, so not a crate of its own.

use std::path::PathBuf;

/// `file` of the worked example: beside the workspace, where a checkout
/// next to `shared/` finds it, or else in `/work/shared`, where these
/// machines keep the contract (a clone elsewhere, as `tests/reference/run.sh`
/// also looks).
pub fn tiny(file: &str) -> PathBuf {
    let beside = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/examples/tiny"
    ));
    let example = if beside.is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared/examples/tiny")
    };
    example.join(file)
}
