//! insta snapshots of the generated source: one per spec in `specs/` and per fixture in
//! `tests/fixtures/specs/` (the module files that hold the spec's items), plus the fixture
//! registry. Review a changed snapshot before accepting it.

mod common;
use common::*;

fn snapshot_each(dir: &str, runtime: &str, prefix: &str) {
    let specs = read_specs(dir);
    assert!(!specs.is_empty(), "no specs in {dir}");
    let opts = options(runtime, dir);
    for spec in &specs {
        let g = generate(std::slice::from_ref(spec), &opts);
        let marker = format!("//   {}\n", spec.path);
        let text = concat(&g, |_, text| text.contains(&marker));
        assert!(
            !text.is_empty(),
            "{}: no module file names this spec",
            spec.path
        );
        let stem = spec
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&spec.path)
            .trim_end_matches(".md")
            .replace('.', "_");
        insta::assert_snapshot!(format!("{prefix}__{stem}"), text);
    }
}

#[test]
fn every_spec_in_specs() {
    snapshot_each("specs", "crate::runtime", "specs");
}

#[test]
fn every_fixture_spec() {
    snapshot_each("tests/fixtures/specs", "::bitrix24::runtime", "fixture");
}

#[test]
fn fixture_registry() {
    let dir = "tests/fixtures/specs";
    let g = generate(&read_specs(dir), &options("::bitrix24::runtime", dir));
    insta::assert_snapshot!(
        "fixture_registry",
        concat(&g, |p, _| p == "registry.rs" || p == "mod.rs")
    );
}
