//! `cargo xtask lint` on the seed spec as shared (`shared/seed-spec.md`, committed unchanged as
//! `tests/fixtures/seed-spec.md`): its front-matter (one required `fields` object) does not
//! match its own body (five required flat parameters), and lint says so, line by line. The
//! project's copy in `specs/` was corrected from its body (the README says why), so lint finds
//! nothing there. With `BITRIX24_SHARED` set (CI sets it to `../shared`), the committed copy
//! is compared with the shared one.

mod common;

const SEED: &str = "tests/fixtures/seed-spec.md";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed copy of the shared seed.
fn committed_seed() -> String {
    let path = root().join(SEED);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_committed_seed_is_the_shared_one() {
    let Some(shared) = std::env::var_os("BITRIX24_SHARED") else {
        eprintln!("skipped: BITRIX24_SHARED is not set; CI sets it to ../shared");
        return;
    };
    // A relative path is taken from the workspace root.
    let path = root().join(shared).join("seed-spec.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text == committed_seed(),
        "{SEED} differs from {}; copy it again (unchanged)",
        path.display()
    );
}

#[test]
fn the_seed_mismatch_is_reported() {
    let seed = codegen::SourceFile {
        path: SEED.into(),
        text: committed_seed(),
    };
    // The shared seed is read exactly as it is: no errors.
    let (_, diags) = codegen::check(std::slice::from_ref(&seed));
    assert!(!diags.has_errors(), "{diags}");
    let d = codegen::lint::compare(&seed, false);
    let text = d.to_string();
    for name in [
        "CRM_ENTITY_TYPE",
        "CRM_ENTITY_ID",
        "USER_ID",
        "CHAT_ID",
        "MESSAGE",
    ] {
        assert!(
            text.contains(&format!(
                "warning: params.properties.{name}: the body lists required parameter `{name}`, which the front-matter lacks"
            )),
            "{text}"
        );
    }
    assert!(text.contains("tests/fixtures/seed-spec.md:8: warning: params.properties.fields: the front-matter declares `fields`"), "{text}");
    assert!(codegen::lint::compare(&seed, true).has_errors());

    // --fix rewrites the front-matter from the body; the result agrees with its body.
    let fixed = codegen::lint::fix(&seed).expect("the seed has something to fix");
    let again = codegen::SourceFile {
        path: seed.path.clone(),
        text: fixed,
    };
    assert!(codegen::lint::compare(&again, true).0.is_empty());
    let (specs, diags) = codegen::check(&[again]);
    assert!(!diags.has_errors(), "{diags}");
    let schema = &specs[0].params;
    let _ = schema;
}

#[test]
fn the_projects_seed_agrees_with_its_body() {
    let seed = common::read_specs("specs")
        .into_iter()
        .find(|s| s.path == "specs/imopenlines.crm.message.add.md")
        .expect("the seed spec is in specs/");
    let d = codegen::lint::compare(&seed, true);
    assert!(d.0.is_empty(), "{d}");
}
