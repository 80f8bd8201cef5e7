//! The whole corpus's JSON Schemas (feature `schemars`) against the docs' examples: every
//! example the decoder accepts is valid against the loosened schema, and what the type
//! writes back against the canonical one (see `tests/tests/common/schema_check.rs`).
//!
//! `cargo test -p bitrix24 --features schemars --test schemas -- --nocapture` prints the
//! figures.

#[path = "../../tests/tests/common/schema_check.rs"]
mod schema_check;

use bitrix24::api::registry;
use bitrix24::runtime::schema::loosen;

#[test]
fn the_docs_examples_validate_against_the_schemas() {
    let f = schema_check::run(&schema_check::Registry {
        params_schema: registry::params_schema,
        result_schema: registry::result_schema,
        validate_params: |m, v| registry::validate_params(m, v).map_err(|e| e.to_string()),
        decode_result: |m, v| registry::decode_result(m, v).map_err(|e| e.to_string()),
        loosen,
    });
    println!(
        "checked {:?}\ndecoded {:?}\nvalid (loosened) {:?}\nvalid (canonical) {:?}",
        f.checked, f.decoded, f.loose_valid, f.strict_valid
    );
    assert!(
        f.failures.is_empty(),
        "{} example(s) break the schemas:\n{}",
        f.failures.len(),
        f.failures.join("\n")
    );
    for side in ["params", "result"] {
        assert!(
            f.decoded.get(side).copied().unwrap_or(0) >= 1000,
            "too few {side} examples checked"
        );
    }
}
