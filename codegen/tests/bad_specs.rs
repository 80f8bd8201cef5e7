//! Every kind of bad spec gets one clear error naming the file and line (and the JSON path for
//! schema errors), and never a panic.

use codegen::{Options, SourceFile};

fn src(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

/// All diagnostics for one file, as printed.
fn diags(text: &str) -> Vec<String> {
    let (_, d) = codegen::check(&[src("specs/bad.md", text)]);
    d.0.iter().map(ToString::to_string).collect()
}

fn errors(text: &str) -> Vec<String> {
    let (_, d) = codegen::check(&[src("specs/bad.md", text)]);
    d.errors().map(ToString::to_string).collect()
}

fn one_error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected exactly one error, got {e:#?}");
    e[0].clone()
}

const HEAD: &str = "---\nmethod: crm.deal.get\nscope: crm\n";

#[test]
fn missing_front_matter() {
    assert_eq!(
        one_error("# crm.deal.get\n\nno front-matter here\n"),
        "specs/bad.md:1: error: the file does not start with a `---` line, so it has no front-matter"
    );
}

#[test]
fn unclosed_front_matter() {
    assert_eq!(
        one_error("---\nmethod: crm.deal.get\nscope: crm\n"),
        "specs/bad.md:1: error: the front-matter opened here is never closed by a `---` line"
    );
}

#[test]
fn invalid_yaml_points_at_its_line() {
    let e =
        one_error("---\nmethod: crm.deal.get\nscope: crm\nparams: {\"type\": \"object\"\n---\n");
    assert!(e.starts_with("specs/bad.md:"), "{e}");
    assert!(
        e.contains("error: the front-matter is not valid YAML"),
        "{e}"
    );
    let line: usize = e["specs/bad.md:".len()..]
        .split(':')
        .next()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!(
        (4..=5).contains(&line),
        "line should be at the broken flow mapping, got {e}"
    );
}

#[test]
fn front_matter_must_be_a_mapping() {
    assert_eq!(
        one_error("---\n- a\n- b\n---\n"),
        "specs/bad.md:1: error: the front-matter must be a YAML mapping of keys, not a list"
    );
    assert_eq!(
        one_error("---\n---\nbody\n"),
        "specs/bad.md:1: error: the front-matter must be a YAML mapping of keys, not null"
    );
}

#[test]
fn missing_method_and_scope_are_both_reported() {
    assert_eq!(
        errors("---\ndeprecated: false\n---\n"),
        vec![
            "specs/bad.md:1: error: the required key `method` is missing",
            "specs/bad.md:1: error: the required key `scope` is missing",
        ]
    );
}

#[test]
fn invalid_method_name() {
    assert_eq!(
        one_error("---\nscope: crm\nmethod: crm..deal\n---\n"),
        "specs/bad.md:3: error: method: `crm..deal` is not a valid method name (dot-separated segments of the form [A-Za-z][A-Za-z0-9_]*)"
    );
    assert_eq!(
        one_error("---\nscope: crm\nmethod: 42\n---\n"),
        "specs/bad.md:3: error: method: expected a string, found 42"
    );
}

#[test]
fn invalid_scope() {
    assert_eq!(
        one_error("---\nmethod: crm.deal.get\nscope: CRM\n---\n"),
        "specs/bad.md:3: error: scope: `CRM` is not a valid scope (dot-separated segments of the form [a-z][a-z0-9_]*)"
    );
}

#[test]
fn deprecated_must_be_a_boolean() {
    assert_eq!(
        one_error(&format!("{HEAD}deprecated: \"yes\"\n---\n")),
        "specs/bad.md:4: error: deprecated: expected `true` or `false`, found \"yes\""
    );
}

#[test]
fn aliases_must_be_valid_names() {
    assert_eq!(
        one_error(&format!("{HEAD}aliases: crm.deal.fetch\n---\n")),
        "specs/bad.md:4: error: aliases: expected a list of strings, found \"crm.deal.fetch\""
    );
    assert_eq!(
        one_error(&format!("{HEAD}aliases: [\"crm deal\"]\n---\n")),
        "specs/bad.md:4: error: aliases[0]: `crm deal` is not a valid method name for an alias"
    );
    assert_eq!(
        one_error(&format!("{HEAD}aliases: [CRM.DEAL.GET]\n---\n")),
        "specs/bad.md:4: error: aliases: alias `CRM.DEAL.GET` is the method's own name"
    );
}

#[test]
fn rate_limit_must_be_positive() {
    assert_eq!(
        one_error(&format!("{HEAD}rate_limit_per_sec: 0\n---\n")),
        "specs/bad.md:4: error: rate_limit_per_sec: must be a number greater than 0, found 0"
    );
    assert_eq!(
        one_error(&format!("{HEAD}rate_limit_per_sec: fast\n---\n")),
        "specs/bad.md:4: error: rate_limit_per_sec: expected a number > 0, found \"fast\""
    );
}

#[test]
fn pagination_must_be_none_or_start() {
    assert_eq!(
        one_error(&format!("{HEAD}pagination: cursor\n---\n")),
        "specs/bad.md:4: error: pagination: must be `none` or `start`, found \"cursor\""
    );
}

#[test]
fn api_must_be_classic_or_v3() {
    assert_eq!(
        one_error(&format!("{HEAD}deprecated: false\napi: v2\n---\n")),
        "specs/bad.md:5: error: api: must be `classic` or `v3`, found \"v2\""
    );
    assert_eq!(
        one_error(&format!("{HEAD}api: 3\n---\n")),
        "specs/bad.md:4: error: api: must be `classic` or `v3`, found 3"
    );
    assert_eq!(
        one_error(&format!("{HEAD}api: [v3]\n---\n")),
        "specs/bad.md:4: error: api: must be `classic` or `v3`, found a list"
    );
    // Both spellings parse, and the default is classic.
    for (text, api) in [
        (format!("{HEAD}---\n"), codegen::ApiVersion::Classic),
        (
            format!("{HEAD}api: classic\n---\n"),
            codegen::ApiVersion::Classic,
        ),
        (format!("{HEAD}api: v3\n---\n"), codegen::ApiVersion::V3),
    ] {
        let (specs, d) = codegen::check(&[src("specs/ok.md", &text)]);
        assert!(d.0.is_empty(), "{d}");
        assert_eq!(specs[0].api, api, "{text}");
    }
}

#[test]
fn one_name_may_exist_once_per_api() {
    let classic = src(
        "specs/a.md",
        "---\nmethod: tasks.task.get\nscope: task\n---\n",
    );
    let v3 = src(
        "specs/a.v3.md",
        "---\nmethod: tasks.task.get\nscope: task\napi: v3\n---\n",
    );
    let (specs, d) = codegen::check(&[v3.clone(), classic.clone()]);
    assert!(d.0.is_empty(), "{d}");
    // Classic first, whatever the input order.
    let apis: Vec<_> = specs.iter().map(|s| s.api).collect();
    assert_eq!(
        apis,
        [codegen::ApiVersion::Classic, codegen::ApiVersion::V3]
    );
    // Generated: the REST 3.0 twin gets `_v3`; the registry lists both, finds the classic one.
    let out = codegen::generate(&[v3.clone(), classic], &Options::default()).expect("generates");
    let module = &out.files["tasks/task.rs"];
    assert!(module.contains("pub async fn get("), "{module}");
    assert!(module.contains("pub async fn get_v3("), "{module}");
    assert!(
        module.contains("impl ::bitrix24_runtime::Method for GetV3Request"),
        "{module}"
    );
    assert!(
        module.contains(
            "const API: ::bitrix24_runtime::ApiVersion = ::bitrix24_runtime::ApiVersion::V3;"
        ),
        "{module}"
    );
    let registry = &out.files["registry.rs"];
    assert_eq!(
        registry.matches("\"tasks.task.get\" => Some").count(),
        1,
        "{registry}"
    );
    assert!(
        registry.contains("api: ::bitrix24_runtime::ApiVersion::V3"),
        "{registry}"
    );
    // Alone, a REST 3.0 method keeps its plain name.
    let out = codegen::generate(std::slice::from_ref(&v3), &Options::default()).expect("generates");
    assert!(out.files["tasks/task.rs"].contains("pub async fn get("));
    // Twice in one API is still an error.
    let v3b = src("specs/b.md", &v3.text);
    let e: Vec<String> = codegen::check(&[v3, v3b])
        .1
        .errors()
        .map(ToString::to_string)
        .collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("is already defined"), "{e:?}");
}

#[test]
fn params_must_be_an_object() {
    assert_eq!(
        one_error(&format!("{HEAD}params: {{\"type\": \"array\"}}\n---\n")),
        "specs/bad.md:4: error: params: the top level of `params` must be a non-nullable `type: object` schema"
    );
}

#[test]
fn unknown_type_names_the_json_path_in_flow_style() {
    assert_eq!(
        one_error(&format!(
            "{HEAD}params: {{\"type\":\"object\",\"properties\":{{\"fields\":{{\"type\":\"objekt\"}}}}}}\n---\n"
        )),
        "specs/bad.md:4: error: params.properties.fields.type: unknown type \"objekt\"; expected object, array, string, integer, number, boolean or null"
    );
}

#[test]
fn unknown_type_names_the_line_in_block_style() {
    let text = format!(
        "{HEAD}params:\n  type: object\n  properties:\n    ID:\n      type: integer\n    TITLE:\n      type: strng\n---\n"
    );
    assert_eq!(
        one_error(&text),
        "specs/bad.md:10: error: params.properties.TITLE.type: unknown type \"strng\"; expected object, array, string, integer, number, boolean or null"
    );
}

#[test]
fn unresolved_ref() {
    let text = format!(
        "{HEAD}returns:\n  type: object\n  properties:\n    owner:\n      $ref: \"#/$defs/User\"\n---\n"
    );
    assert_eq!(
        one_error(&text),
        "specs/bad.md:8: error: returns.properties.owner.$ref: `#/$defs/User` names no definition in this schema's `$defs`/`definitions`"
    );
}

#[test]
fn external_ref() {
    let text = format!("{HEAD}returns: {{\"$ref\": \"other.json#/User\"}}\n---\n");
    assert_eq!(
        one_error(&text),
        "specs/bad.md:4: error: returns.$ref: `other.json#/User` is not supported; only `#/$defs/Name` and `#/definitions/Name` of the same schema and `types/<scope>.<name>` (a type spec) are"
    );
}

#[test]
fn required_property_must_be_declared() {
    let text = format!(
        "{HEAD}params:\n  type: object\n  required: [id]\n  properties:\n    ID: {{type: integer}}\n---\n"
    );
    assert_eq!(
        one_error(&text),
        "specs/bad.md:6: error: params.required[0]: required property `id` is not declared in `properties`"
    );
}

#[test]
fn enum_values_must_be_strings_or_integers() {
    let text = format!("{HEAD}returns: {{\"enum\": [\"a\", 1.5]}}\n---\n");
    assert_eq!(
        one_error(&text),
        "specs/bad.md:4: error: returns.enum[1]: enum values must be strings or integers, found 1.5"
    );
    let text = format!("{HEAD}returns: {{\"enum\": []}}\n---\n");
    assert_eq!(
        one_error(&text),
        "specs/bad.md:4: error: returns.enum: an enum needs at least one value"
    );
}

#[test]
fn all_of_combines_objects_only() {
    let text = format!(
        "{HEAD}returns:\n  allOf:\n    - type: object\n      properties: {{a: {{type: string}}}}\n    - type: string\n---\n"
    );
    assert_eq!(
        one_error(&text),
        "specs/bad.md:5: error: returns.allOf[1]: `allOf` can only combine object schemas"
    );
}

#[test]
fn tuple_items_are_rejected() {
    let text = format!(
        "{HEAD}returns: {{\"type\": \"array\", \"items\": [{{\"type\": \"string\"}}]}}\n---\n"
    );
    assert_eq!(
        one_error(&text),
        "specs/bad.md:4: error: returns.items: tuple-form `items` (a list of schemas) is not supported; give one schema"
    );
}

#[test]
fn a_schema_must_be_a_mapping() {
    let text = format!("{HEAD}params:\n  type: object\n  properties:\n    ID: 5\n---\n");
    assert_eq!(
        one_error(&text),
        "specs/bad.md:7: error: params.properties.ID: a schema must be a mapping or `true`, found 5"
    );
    let text = format!("{HEAD}returns: false\n---\n");
    assert_eq!(
        one_error(&text),
        "specs/bad.md:4: error: returns: the schema `false` (no value allowed) is not supported"
    );
}

#[test]
fn keyword_values_have_types() {
    let text = format!(
        "{HEAD}returns: {{\"type\": \"string\", \"description\": 5, \"nullable\": \"yes\"}}\n---\n"
    );
    assert_eq!(
        errors(&text),
        vec![
            "specs/bad.md:4: error: returns.description: expected a string, found 5",
            "specs/bad.md:4: error: returns.nullable: expected `true` or `false`, found \"yes\"",
        ]
    );
}

#[test]
fn too_deep_nesting_is_an_error_not_a_stack_overflow() {
    let nest = |levels: usize| {
        let mut schema = String::from("{\"type\":\"string\"}");
        for _ in 0..levels {
            schema = format!("{{\"type\":\"array\",\"items\":{schema}}}");
        }
        format!("{HEAD}returns: {schema}\n---\n")
    };
    // Deeper than the engine's limit of 64 schema levels.
    let e = errors(&nest(100));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("specs/bad.md:4: error: returns.items.items."),
        "{e:#?}"
    );
    assert!(
        e[0].ends_with("the schema is nested more than 64 levels deep"),
        "{e:#?}"
    );
    // Far deeper: the YAML reader's own limit answers first.
    assert_eq!(
        errors(&nest(5000)),
        vec!["specs/bad.md:4: error: the front-matter is not valid YAML: recursion limit exceeded"]
    );
}

#[test]
fn duplicate_methods_across_files_name_both_files() {
    let a = src("specs/a.md", "---\nmethod: crm.deal.get\nscope: crm\n---\n");
    let b = src("specs/b.md", "---\nscope: crm\nmethod: CRM.Deal.Get\n---\n");
    // Input order must not matter.
    for files in [vec![a.clone(), b.clone()], vec![b, a]] {
        let (_, d) = codegen::check(&files);
        let e: Vec<String> = d.errors().map(ToString::to_string).collect();
        assert_eq!(
            e,
            vec![
                "specs/b.md:3: error: `CRM.Deal.Get` is already defined as `crm.deal.get` in specs/a.md:2; wire names and aliases must be unique (ignoring case)"
            ]
        );
    }
}

#[test]
fn duplicate_alias_across_files_names_both_files() {
    let a = src(
        "specs/a.md",
        "---\nmethod: crm.deal.get\nscope: crm\naliases: [crm.deal.fetch]\n---\n",
    );
    let b = src(
        "specs/b.md",
        "---\nmethod: crm.deal.fetch\nscope: crm\n---\n",
    );
    let (_, d) = codegen::check(&[a, b]);
    let e: Vec<String> = d.errors().map(ToString::to_string).collect();
    assert_eq!(
        e,
        vec![
            "specs/b.md:2: error: `crm.deal.fetch` is already defined as `crm.deal.fetch` in specs/a.md:4; wire names and aliases must be unique (ignoring case)"
        ]
    );
}

#[test]
fn warnings_for_unknown_keys_keywords_and_formats() {
    let text = format!(
        "{HEAD}summary: https://example.invalid/page\nreturns: {{\"type\": \"string\", \"format\": \"uuid\", \"widget\": 1, \"x-bitrix-type\": \"crm_status\"}}\n---\n"
    );
    assert_eq!(
        diags(&text),
        vec![
            "specs/bad.md:4: warning: unknown front-matter key `summary` ignored",
            "specs/bad.md:5: warning: returns.format: unknown format `uuid` ignored",
            "specs/bad.md:5: warning: returns.widget: unknown schema keyword `widget` ignored",
        ]
    );
    // Warnings do not stop generation.
    let g = codegen::generate(&[src("specs/bad.md", &text)], &Options::default());
    assert!(g.is_ok_and(|g| g.warnings.0.len() == 3));
}

#[test]
fn all_errors_of_a_run_come_together_sorted() {
    let files = vec![
        src("specs/z.md", "---\nmethod: a.b\nscope: Bad\n---\n"),
        src("specs/a.md", "no front matter"),
        src(
            "specs/m.md",
            "---\nmethod: c.d\nscope: crm\npagination: pages\nrate_limit_per_sec: -1\n---\n",
        ),
    ];
    let err = codegen::generate(&files, &Options::default())
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        "specs/a.md:1: error: the file does not start with a `---` line, so it has no front-matter\n\
         specs/m.md:4: error: pagination: must be `none` or `start`, found \"pages\"\n\
         specs/m.md:5: error: rate_limit_per_sec: must be a number greater than 0, found -1\n\
         specs/z.md:3: error: scope: `Bad` is not a valid scope (dot-separated segments of the form [a-z][a-z0-9_]*)\n"
    );
}

#[test]
fn hostile_text_in_messages_is_escaped() {
    let e = one_error("---\nmethod: \"a.b\\u202E\\n#[cfg(x)]\"\nscope: crm\n---\n");
    assert!(!e.contains('\u{202E}') && !e.contains('\n'), "{e:?}");
    assert!(e.contains("\\u{202e}"), "{e}");
}

#[test]
fn crlf_bom_and_a_body_starting_with_a_rule_are_accepted() {
    let text = "\u{feff}---\r\nmethod: crm.deal.get\r\nscope: crm\r\n---\r\n\r\n---\r\n# Title\r\n";
    let (specs, d) = codegen::check(&[src("specs/ok.md", text)]);
    assert!(d.0.is_empty(), "{d}");
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].body, "\n---\n# Title\n");
    assert_eq!(specs[0].body_line, 5);
    assert_eq!(specs[0].rate_limit_per_sec, 2.0);
    assert!(!specs[0].deprecated && specs[0].aliases.is_empty());
}

/// Every diagnostic of a run over several files, as printed.
fn all_diags(files: &[(&str, &str)]) -> Vec<String> {
    let sources: Vec<SourceFile> = files.iter().map(|(p, t)| src(p, t)).collect();
    let (_, d) = codegen::check(&sources);
    d.0.iter().map(ToString::to_string).collect()
}

const MULTIFIELD: &str = "---\ntype: crm.multifield\nscope: crm\nschema:\n  type: object\n  properties:\n    VALUE: {type: string}\n---\n";

#[test]
fn a_reference_to_a_type_spec_that_does_not_exist() {
    let method = format!(
        "{HEAD}returns:\n  type: object\n  properties:\n    PHONE:\n      type: array\n      items:\n        $ref: \"types/crm.multifeld\"\n---\n"
    );
    assert_eq!(
        all_diags(&[
            ("specs/crm.deal.get.md", &method),
            ("specs/types/crm.multifield.md", MULTIFIELD),
        ]),
        [
            "specs/crm.deal.get.md:10: error: returns.properties.PHONE.items.$ref: `types/crm.multifeld` names no type spec; a reference names a file of `types/` (`types/crm.multifeld.md`)"
        ]
    );
    // From an event's payload and from another type spec too, all reported together.
    let event = "---\nevent: onCrmDealAdd\nscope: crm\npayload: {\"type\": \"object\", \"properties\": {\"X\": {\"$ref\": \"types/crm.nothing\"}}}\n---\n";
    let other = "---\ntype: crm.other\nscope: crm\nschema: {\"$ref\": \"types/sale.order\"}\n---\n";
    assert_eq!(
        all_diags(&[
            ("specs/events/onCrmDealAdd.md", event),
            ("specs/types/crm.other.md", other),
        ]),
        [
            "specs/events/onCrmDealAdd.md:4: error: payload.properties.X.$ref: `types/crm.nothing` names no type spec; a reference names a file of `types/` (`types/crm.nothing.md`)",
            "specs/types/crm.other.md:4: error: schema.$ref: `types/sale.order` names no type spec; a reference names a file of `types/` (`types/sale.order.md`)",
        ]
    );
}

#[test]
fn a_malformed_type_reference() {
    for bad in [
        "types/Crm.Multifield",
        "types/multifield",
        "types/",
        "types/crm..x",
    ] {
        let text = format!("{HEAD}returns: {{\"$ref\": \"{bad}\"}}\n---\n");
        assert_eq!(
            one_error(&text),
            format!(
                "specs/bad.md:4: error: returns.$ref: `{bad}` is not a type reference; write `types/<scope>.<name>` ([a-z][a-z0-9_]* segments joined by `.`), the name of a file in `types/` without `.md`"
            )
        );
    }
}

#[test]
fn type_specs_that_contain_themselves() {
    let a = "---\ntype: crm.a\nscope: crm\nschema:\n  type: object\n  properties:\n    B: {$ref: \"types/crm.b\"}\n---\n";
    let b = "---\ntype: crm.b\nscope: crm\nschema:\n  type: object\n  properties:\n    LIST:\n      type: array\n      items: {$ref: \"types/crm.a\"}\n---\n";
    let own = "---\ntype: crm.self\nscope: crm\nschema:\n  type: object\n  properties:\n    NEXT: {$ref: \"types/crm.self\"}\n---\n";
    let fine = "---\ntype: crm.c\nscope: crm\nschema:\n  type: object\n  properties:\n    A: {$ref: \"types/crm.a\"}\n---\n";
    let sources: Vec<SourceFile> = [
        ("specs/types/crm.self.md", own),
        ("specs/types/crm.b.md", b),
        ("specs/types/crm.a.md", a),
        ("specs/types/crm.c.md", fine),
    ]
    .iter()
    .map(|(p, t)| src(p, t))
    .collect();
    let expected = [
        "specs/types/crm.a.md:7: error: schema.properties.B.$ref: the type `crm.a` contains itself through `crm.a` -> `crm.b` -> `crm.a`; references between type specs may not form a cycle",
        "specs/types/crm.b.md:9: error: schema.properties.LIST.items.$ref: the type `crm.b` contains itself through `crm.b` -> `crm.a` -> `crm.b`; references between type specs may not form a cycle",
        "specs/types/crm.self.md:7: error: schema.properties.NEXT.$ref: the type `crm.self` contains itself through `crm.self` -> `crm.self`; references between type specs may not form a cycle",
    ];
    let (_, d) = codegen::check(&sources);
    let got: Vec<String> = d.0.iter().map(ToString::to_string).collect();
    assert_eq!(got, expected);
    // `generate` refuses them the same way (and does not hang or panic).
    let err = codegen::generate(&sources, &Options::default()).unwrap_err();
    let got: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_broken_type_spec_is_reported_once_and_breaks_nothing_else() {
    // The type spec has its own error; the method referring to it gets no second one.
    let broken = "---\ntype: crm.multifield\nscope: crm\nschema: {\"type\": \"strng\"}\n---\n";
    let method = format!("{HEAD}returns: {{\"$ref\": \"types/crm.multifield\"}}\n---\n");
    let files = [
        ("specs/crm.deal.get.md", method.as_str()),
        ("specs/types/crm.multifield.md", broken),
    ];
    assert_eq!(
        all_diags(&files),
        [
            "specs/types/crm.multifield.md:4: error: schema.type: unknown type \"strng\"; expected object, array, string, integer, number, boolean or null"
        ]
    );
    let sources: Vec<SourceFile> = files.iter().map(|(p, t)| src(p, t)).collect();
    assert!(codegen::generate(&sources, &Options::default()).is_err());
    assert!(codegen::generate_events(&sources[1..], &Options::default()).is_err());
    // A type defined twice (two spec folders handed in together).
    let twice = all_diags(&[
        ("a/types/crm.multifield.md", MULTIFIELD),
        ("b/types/crm.multifield.md", MULTIFIELD),
    ]);
    assert_eq!(
        twice,
        [
            "b/types/crm.multifield.md:2: error: type: the type `crm.multifield` is already defined in a/types/crm.multifield.md; a type is defined once"
        ]
    );
}
