//! insta snapshots of the generated source: one per fixture in `tests/fixtures/specs/` and per
//! spec of a fixed sample of the imported corpus in `specs/` (the module files that hold the
//! spec's items), plus the fixture registry. Review a changed snapshot before accepting it.
//!
//! The corpus has ~1,700 specs; a snapshot of each would be ~1,700 files nobody reviews.
//! `cargo xtask check` already fails on any drift of the committed generated code, so the
//! snapshots cover the seed, one spec of each shape the importer produces, and every fixture.

mod common;
use codegen::SourceFile;
use common::*;

/// The sample of `specs/` that is snapshotted: the seed and one spec per shape the importer
/// produces (paged list, nested objects, enums, deprecated, arrays of objects).
const SAMPLE: &[&str] = &[
    "specs/imopenlines.crm.message.add.md",
    "specs/crm.deal.list.md",
    "specs/crm.deal.add.md",
    "specs/crm.item.list.md",
    "specs/tasks.task.add.md",
    "specs/user.get.md",
    "specs/disk.folder.getChildren.md",
    "specs/catalog.product.add.md",
    "specs/im.message.add.md",
    "specs/sale.order.add.md",
];

fn snapshot_each(dir: &str, runtime: &str, prefix: &str) {
    let mut specs = read_specs(dir);
    if dir == "specs" {
        for s in SAMPLE {
            assert!(
                specs.iter().any(|x| x.path == *s),
                "{s}: in the snapshot sample but not in specs/"
            );
        }
        specs.retain(|x| SAMPLE.contains(&x.path.as_str()));
    }
    assert!(!specs.is_empty(), "no specs in {dir}");
    // Type specs (`types/`) are what the specs refer to: given with every spec, and each
    // snapshotted on its own too (its `types/<scope>.rs`).
    let types: Vec<SourceFile> = read_specs(dir)
        .into_iter()
        .filter(|s| s.path.contains("/types/"))
        .collect();
    let opts = options(runtime, dir);
    for spec in &specs {
        let is_type = spec.path.contains("/types/");
        let mut given = vec![spec.clone()];
        given.extend(types.iter().filter(|t| t.path != spec.path).cloned());
        let g = generate(&given, &opts);
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
        let stem = if is_type {
            format!("types_{stem}")
        } else {
            stem
        };
        insta::assert_snapshot!(format!("{prefix}__{stem}"), text);
    }
}

#[test]
fn sample_of_specs() {
    snapshot_each("specs", "::bitrix24_runtime", "specs");
}

#[test]
fn every_fixture_spec() {
    snapshot_each("tests/fixtures/specs", "::bitrix24_runtime", "fixture");
}

#[test]
fn fixture_enums() {
    let dir = "tests/fixtures/specs";
    let g = generate(&read_specs(dir), &options("::bitrix24_runtime", dir));
    insta::assert_snapshot!("fixture_enums", concat(&g, |p, _| p == "enums.rs"));
}

#[test]
fn fixture_registry() {
    let dir = "tests/fixtures/specs";
    let g = generate(&read_specs(dir), &options("::bitrix24_runtime", dir));
    insta::assert_snapshot!(
        "fixture_registry",
        concat(&g, |p, _| p == "registry.rs" || p == "mod.rs")
    );
}

/// `events.rs` of the fixture event specs: the `Event` enums, the payload types and their
/// shared enums.
#[test]
fn fixture_events() {
    let dir = "tests/fixtures/specs";
    let mut sources = read_event_specs(dir);
    sources.extend(
        read_specs(dir)
            .into_iter()
            .filter(|s| s.path.contains("/types/")),
    );
    let text = generate_events(&sources, &options("::bitrix24_runtime", dir));
    insta::assert_snapshot!("fixture_events", text);
}

/// One real event spec of each payload shape: nested open objects (`onCrmDealAdd`), required
/// fields (`OnAppInstall`), a list of objects (`OnOpenLineMessageAdd`), no schema at all.
#[test]
fn sample_of_event_specs() {
    const SAMPLE: &[&str] = &[
        "specs/events/onCrmDealAdd.md",
        "specs/events/OnAppInstall.md",
        "specs/events/OnOpenLineMessageAdd.md",
    ];
    let mut specs = read_event_specs("specs");
    specs.retain(|s| SAMPLE.contains(&s.path.as_str()));
    assert_eq!(specs.len(), SAMPLE.len(), "a sampled event spec is missing");
    specs.extend(
        read_specs("specs")
            .into_iter()
            .filter(|s| s.path.contains("/types/")),
    );
    let text = generate_events(&specs, &options("::bitrix24_runtime", "specs"));
    insta::assert_snapshot!("specs_events_sample", text);
}
