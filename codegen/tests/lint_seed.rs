//! `cargo xtask lint` on the seed spec as shared (`../shared/seed-spec.md`): its front-matter
//! (one required `fields` object) does not match its own body (five required flat parameters),
//! and lint says so, line by line. The project's copy in `specs/` was corrected from its body
//! (the README says why), so lint finds nothing there.

mod common;

#[test]
fn the_seed_mismatch_is_reported() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/seed-spec.md");
    let text = std::fs::read_to_string(&shared).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared folder must sit beside the checkout)",
            shared.display()
        )
    });
    let seed = codegen::SourceFile {
        path: "shared/seed-spec.md".into(),
        text,
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
    assert!(text.contains("shared/seed-spec.md:8: warning: params.properties.fields: the front-matter declares `fields`"), "{text}");
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
