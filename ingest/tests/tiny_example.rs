//! The worked example's events: each line the example README rejects gets
//! the reason it states; every other line decodes.

use tripgate_ingest::decode;
use tripgate_model::RejectReason::{self, *};

#[path = "../../tests/support/contract_example.rs"]
mod contract_example;
use contract_example::tiny;

/// 1-based line numbers and reasons, from `examples/tiny/README.md` section 1.
const REJECTED: [(usize, RejectReason); 6] = [
    (8, MalformedJson),
    (12, MissingField),
    (17, InvalidField),
    (21, DuplicateField),
    (23, NotAnObject),
    (33, InvalidField),
];

#[test]
fn tiny_example_lines_decode_or_reject_as_the_readme_says() {
    let path = tiny("events.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 34);
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let expected = REJECTED
            .iter()
            .find(|(rejected, _)| *rejected == number)
            .map(|(_, reason)| *reason);
        match (decode(line.as_bytes(), 65536), expected) {
            (Ok(_), None) => {}
            (Err(rejection), Some(reason)) => {
                assert_eq!(rejection.reason, reason, "line {number}: {rejection}")
            }
            (Ok(event), Some(reason)) => {
                panic!("line {number}: expected {reason}, decoded {event:?}")
            }
            (Err(rejection), None) => panic!("line {number}: expected to decode, got {rejection}"),
        }
    }
}

#[test]
fn tiny_example_details_say_what_and_where() {
    let path = tiny("events.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let detail = |number: usize| {
        decode(lines[number - 1].as_bytes(), 65536)
            .unwrap_err()
            .detail
    };
    assert_eq!(detail(12), r#"missing field "warehouse""#);
    assert_eq!(
        detail(17),
        r#"quantity: expected an integer from 1 to 1000000, got "10""#
    );
    assert_eq!(detail(21), r#"duplicate field "order_id""#);
    assert_eq!(detail(23), "expected a JSON object, got an array");
    assert!(
        detail(33).starts_with("occurred_at: expected an RFC 3339 timestamp"),
        "{}",
        detail(33)
    );
}
