//! The method table and calls by wire name, on the specs in `specs/`.

use bitrix24::api::registry::{METHODS, decode_result, find, validate_params};
use bitrix24::runtime::{Error, ErrorCode, Pagination, Part};
use serde_json::json;

#[test]
fn the_table_lists_the_seed_method() {
    let m = find("imopenlines.crm.message.add").expect("seed method in the table");
    assert_eq!(m.scope, "imopenlines");
    assert!(!m.deprecated);
    assert_eq!(m.rate_limit_per_sec, 2.0);
    assert_eq!(m.pagination, Pagination::None);
    assert!(m.enabled);
    // The error codes of the spec are there to match against, in any case.
    assert_eq!(
        m.errors,
        [
            "ACCESS_DENIED",
            "ERROR_ARGUMENT",
            "CHAT_NOT_IN_CRM",
            "MESSAGE_ADD_ERROR"
        ]
    );
    assert_eq!(
        <bitrix24::api::imopenlines::crm::message::AddRequest as bitrix24::runtime::Method>::ERRORS,
        m.errors
    );
    assert!(m.documents(&ErrorCode::Text("chat_not_in_crm".into())));
    assert!(!m.documents(&ErrorCode::Text("QUERY_LIMIT_EXCEEDED".into())));
    // Method names are case-insensitive on the wire, and so is the lookup.
    assert_eq!(find("IMOPENLINES.CRM.MESSAGE.ADD"), Some(m));
    assert_eq!(find("imopenlines.crm.message"), None);
    // Sorted by wire name, no duplicates; a name in both APIs appears twice, classic first.
    use bitrix24::runtime::ApiVersion;
    assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name
        || (w[0].name == w[1].name
            && w[0].api == ApiVersion::Classic
            && w[1].api == ApiVersion::V3)));
}

#[test]
fn rest_v3_methods_carry_their_api() {
    use bitrix24::runtime::{ApiVersion, find_api};
    let v3 = METHODS.iter().filter(|m| m.api == ApiVersion::V3).count();
    assert_eq!(v3, 106);
    // Only in REST 3.0: found by name, marked V3.
    assert_eq!(
        find("humanresources.node.add").map(|m| m.api),
        Some(ApiVersion::V3)
    );
    // In both: `find` gives the classic one, `find_api` either.
    assert_eq!(
        find("tasks.task.get").map(|m| m.api),
        Some(ApiVersion::Classic)
    );
    let twin = find_api(METHODS, "tasks.task.get", ApiVersion::V3).expect("the v3 twin");
    assert!(twin.errors.iter().any(|e| e.starts_with("BITRIX_REST_V3_")));
    assert_eq!(
        <bitrix24::api::tasks::task::GetV3Request as bitrix24::runtime::Method>::API,
        ApiVersion::V3
    );
    assert_eq!(
        <bitrix24::api::tasks::task::GetRequest as bitrix24::runtime::Method>::API,
        ApiVersion::Classic
    );
}

#[test]
fn params_are_checked_and_normalised() {
    // Loose wire values come back as their declared types.
    let loose = json!({
        "CRM_ENTITY_TYPE": "deal",
        "CRM_ENTITY": "288",
        "USER_ID": 12,
        "CHAT_ID": "8773",
        "MESSAGE": "hi"
    });
    let out = validate_params("imopenlines.crm.message.add", &loose).unwrap();
    assert_eq!(
        out,
        json!({
            "CRM_ENTITY_TYPE": "deal",
            "CRM_ENTITY": 288,
            "USER_ID": 12,
            "CHAT_ID": 8773,
            "MESSAGE": "hi"
        })
    );
    // An entity type the spec does not list is kept, not refused.
    let mut other = out.clone();
    other["CRM_ENTITY_TYPE"] = json!("smart_process");
    assert_eq!(
        validate_params("imopenlines.crm.message.add", &other).unwrap(),
        other
    );
}

#[test]
fn bad_params_name_the_method_and_path() {
    let params = json!({
        "CRM_ENTITY_TYPE": "deal",
        "CRM_ENTITY": 288,
        "USER_ID": 12,
        "CHAT_ID": "12abc",
        "MESSAGE": "hi"
    });
    let err = validate_params("imopenlines.crm.message.add", &params).unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(d.method, "imopenlines.crm.message.add");
    assert_eq!(d.part, Part::Params);
    assert_eq!(d.path, "params.CHAT_ID");
    assert_eq!(d.excerpt, "\"12abc\"");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "imopenlines.crm.message.add: params does not fit its type at `params.CHAT_ID`"
        ),
        "{text}"
    );

    let err = validate_params("imopenlines.crm.message.add", &json!({})).unwrap_err();
    assert!(
        err.to_string().contains("missing field `CRM_ENTITY_TYPE`"),
        "{err}"
    );
}

#[test]
fn results_are_decoded_by_name() {
    assert_eq!(
        decode_result("imopenlines.crm.message.add", &json!("19880117")).unwrap(),
        json!(19880117)
    );
    let err = decode_result("imopenlines.crm.message.add", &json!("x")).unwrap_err();
    assert!(
        matches!(&err, Error::Decode(d) if d.part == Part::Result && d.path == "result"),
        "{err:?}"
    );
}

#[test]
fn unknown_names_are_an_error() {
    for name in ["crm.deal.nothing", "", "imopenlines.crm.message.add.x"] {
        let err = validate_params(name, &json!({})).unwrap_err();
        assert!(
            matches!(&err, Error::UnknownMethod(n) if n == name),
            "{err:?}"
        );
        assert!(decode_result(name, &json!({})).is_err());
    }
}

/// What `b24 describe` shows comes from the table: parameters with type text and whether
/// required, the result, the docs link; and the list keys agree with `impl Method`.
#[test]
fn the_table_describes_parameters_results_and_lists() {
    use bitrix24::runtime::{FieldInfo, Method};
    let get = find("crm.deal.get").unwrap();
    // The table marks `id` required, but every cURL example of the page sends `ID`: the
    // importer's reconciliation (rule 4) no longer requires a key an example spells otherwise.
    assert_eq!(
        get.params,
        [FieldInfo {
            name: "id",
            ty: "integer",
            required: false
        }]
    );
    assert_eq!(
        get.docs,
        Some("https://apidocs.bitrix24.ru/api-reference/crm/deals/crm-deal-get.html")
    );
    let add = find("crm.deal.add").unwrap();
    assert_eq!(add.result, "integer");
    // Members of an object parameter are listed under it, as `outer.inner` (the wire name
    // `FIELDS`: every request example of the page spells it so; the table writes `fields`).
    let title = add
        .params
        .iter()
        .find(|p| p.name == "FIELDS.TITLE")
        .unwrap();
    assert_eq!(title.ty, "string");
    let begin = add
        .params
        .iter()
        .find(|p| p.name == "FIELDS.BEGINDATE")
        .unwrap();
    assert_eq!(begin.ty, "string (date)");
    let closed = add
        .params
        .iter()
        .find(|p| p.name == "FIELDS.CLOSED")
        .unwrap();
    assert_eq!(closed.ty, "\"Y\" | \"N\"");
    // The list keys are those of the typed requests.
    type Item = bitrix24::api::crm::item::ListRequest;
    type Task = bitrix24::api::tasks::task::ListRequest;
    type Deal = bitrix24::api::crm::deal::ListRequest;
    for (name, items, id) in [
        ("crm.item.list", Item::ITEMS_KEY, Item::ID_KEY),
        ("tasks.task.list", Task::ITEMS_KEY, Task::ID_KEY),
        ("crm.deal.list", Deal::ITEMS_KEY, Deal::ID_KEY),
    ] {
        let m = find(name).unwrap();
        assert_eq!((m.items_key, m.id_key), (items, id), "{name}");
    }
    assert_eq!(find("crm.item.list").unwrap().items_key, Some("items"));
    // Every docs link is plain https, every type text one line.
    for m in METHODS {
        assert!(
            m.docs.is_none_or(|u| u.starts_with("https://")),
            "{}",
            m.name
        );
        for f in m.params.iter().chain(m.result_fields) {
            assert!(
                !f.ty.is_empty() && !f.ty.contains('\n'),
                "{}: {f:?}",
                m.name
            );
        }
    }
}
