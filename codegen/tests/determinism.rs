//! Same specs, byte-identical output: whatever the input order, wherever the files live.

mod common;
use common::*;

/// The fixtures and the corpus in one run. Both describe some of the same methods and types
/// (the fixtures were written before the import); a method or type appears once, from the
/// fixtures.
fn all_specs() -> Vec<codegen::SourceFile> {
    let method = |s: &codegen::SourceFile| {
        s.text
            .lines()
            .find_map(|l| {
                l.strip_prefix("method:")
                    .or_else(|| l.strip_prefix("type:"))
            })
            .map(|m| m.trim().to_ascii_lowercase())
    };
    let mut v = read_specs("tests/fixtures/specs");
    let taken: std::collections::BTreeSet<Option<String>> = v.iter().map(method).collect();
    v.extend(
        read_specs("specs")
            .into_iter()
            .filter(|s| !taken.contains(&method(s))),
    );
    v
}

#[test]
fn output_does_not_depend_on_input_order() {
    let specs = all_specs();
    let opts = options("::bitrix24_runtime", "specs");
    let reference = generate(&specs, &opts);
    // A few deterministic shuffles: reversed, rotated, interleaved.
    let mut reversed = specs.clone();
    reversed.reverse();
    let mut rotated = specs.clone();
    rotated.rotate_left(specs.len() / 3);
    let (even, odd): (Vec<_>, Vec<_>) = specs
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let interleaved: Vec<_> = odd.into_iter().chain(even).map(|(_, s)| s).collect();
    for order in [reversed, rotated, interleaved] {
        assert_eq!(generate(&order, &opts), reference);
    }
}

#[test]
fn generating_twice_gives_identical_bytes() {
    let specs = all_specs();
    let opts = options("::bitrix24_runtime", "specs");
    let a = generate(&specs, &opts);
    let b = generate(&specs, &opts);
    assert_eq!(a.files, b.files);
}

#[test]
fn output_holds_no_machine_specific_text() {
    let g = generate(&all_specs(), &options("::bitrix24_runtime", "specs"));
    let root = workspace().to_string_lossy().into_owned();
    for (path, text) in &g.files {
        assert!(!text.contains(&root), "{path} mentions the checkout path");
        assert!(!text.contains('\r'), "{path} has a carriage return");
        assert!(
            text.starts_with("// @generated"),
            "{path} lacks the @generated header"
        );
    }
}

#[test]
fn event_output_does_not_depend_on_input_order() {
    let events = read_event_specs("specs");
    assert!(events.len() > 100, "{} event specs", events.len());
    // With the type specs the payloads refer to.
    let mut specs = events.clone();
    specs.extend(
        read_specs("specs")
            .into_iter()
            .filter(|s| s.path.starts_with("specs/types/")),
    );
    let opts = options("::bitrix24_runtime", "specs");
    let reference = generate_events(&specs, &opts);
    let mut reversed = specs.clone();
    reversed.reverse();
    let mut rotated = specs.clone();
    rotated.rotate_left(specs.len() / 3);
    for order in [reversed, rotated] {
        assert_eq!(generate_events(&order, &opts), reference);
    }
    // One typed variant per event spec.
    assert_eq!(
        reference
            .matches("::bitrix24_runtime::events::TypedEvent<")
            .count(),
        events.len()
    );
}
