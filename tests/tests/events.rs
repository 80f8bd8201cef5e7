//! The generated `Event` enums of the fixture event specs: names matched without regard to
//! case, `Unknown` for the rest, no clash between an event called `onUnknown` and the
//! catch-all; payloads typed from the form body (loose values, open objects, lists, enums),
//! and a value that does not fit refused with the event and the form key.

use bitrix24_runtime::events::{EventError, EventPayload, RawEvent};
use bitrix24_tests::events::{catalog, crm, imbot};

fn raw(name: &str) -> RawEvent {
    RawEvent::from_form(format!("event={name}&data[FIELDS][ID]=7").as_bytes()).unwrap()
}

#[test]
fn documented_events_get_their_variant() {
    let e = crm::Event::from_raw(raw("ONCRMDEALADD")).unwrap();
    assert!(matches!(e, crm::Event::CrmDealAdd(_)), "{e:?}");
    assert_eq!(e.raw().fields_id(), Some(7));
    // The docs' spelling and any other case reach the same variant.
    assert!(matches!(
        crm::Event::from_raw(raw("onCrmDealAdd")).unwrap(),
        crm::Event::CrmDealAdd(_)
    ));
    assert!(matches!(
        crm::Event::from_raw(raw("OnCrmDealUpdate")).unwrap(),
        crm::Event::Crmdealupdate(_)
    ));
    assert!(matches!(
        catalog::Event::from_raw(raw("catalog.price.on.add")).unwrap(),
        catalog::Event::CatalogPriceOnAdd(_)
    ));
    assert_eq!(crm::Event::NAMES, ["ONCRMDEALADD", "ONCRMDEALUPDATE"]);
}

#[test]
fn other_events_are_unknown_and_keep_the_raw_event() {
    let e = crm::Event::from_raw(raw("ONCRMLEADADD")).unwrap();
    let crm::Event::Unknown(r) = e else {
        panic!("{e:?}")
    };
    assert_eq!(r.event, "ONCRMLEADADD");
    // An event of another scope is unknown here.
    assert!(matches!(
        catalog::Event::from_raw(raw("ONCRMDEALADD")).unwrap(),
        catalog::Event::Unknown(_)
    ));
    // `onUnknown` is a documented event, not the catch-all.
    assert!(matches!(
        catalog::Event::from_raw(raw("ONUNKNOWN")).unwrap(),
        catalog::Event::UnknownEvent(_)
    ));
}

/// The body of `events/index.md`, as a portal sends it (keys percent-encoded).
const DEAL_ADD: &str = "event=ONCRMDEALADD&event_handler_id=58&data%5BFIELDS%5D%5BID%5D=134806&data%5BFIELDS%5D%5BUF_CRM_X%5D=7&ts=1727018926&auth%5Baccess_token%5D=SECRETACCESS&auth%5Bexpires%5D=1727022526&auth%5Bdomain%5D=x.bitrix24.ru&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D=SECRETAPP";

#[test]
fn a_form_body_arrives_as_the_typed_payload() {
    let raw = RawEvent::from_form(DEAL_ADD.as_bytes()).unwrap();
    let crm::Event::CrmDealAdd(e) = crm::Event::from_raw(raw).unwrap() else {
        panic!("not CrmDealAdd")
    };
    // `"134806"` on the wire, an integer in the payload.
    let fields = e.data.fields.as_ref().expect("data[FIELDS]");
    assert_eq!(fields.id, Some(134_806));
    // An open object keeps the keys the spec does not list.
    assert_eq!(fields.additional["UF_CRM_X"], serde_json::json!("7"));
    assert_eq!(e.raw.handler_id, Some(58));
    assert_eq!(e.raw.member_id(), Some("m1"));
    let shown = format!("{e:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    // The enum still hands out the event as received.
    let again = crm::Event::from_raw(RawEvent::from_form(DEAL_ADD.as_bytes()).unwrap()).unwrap();
    assert_eq!(again.raw().fields_id(), Some(134_806));
    assert_eq!(again.into_raw().event, "ONCRMDEALADD");
}

#[test]
fn a_payload_that_does_not_fit_names_the_event_and_the_form_key() {
    let bad = DEAL_ADD.replace("=134806", "=134806abc");
    let err = crm::Event::from_raw(RawEvent::from_form(bad.as_bytes()).unwrap()).unwrap_err();
    let EventError::Payload {
        event,
        path,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(event, "ONCRMDEALADD");
    assert_eq!(path, "data[FIELDS][ID]");
    assert!(message.contains("134806abc"), "{message}");
    let text = err.to_string();
    assert!(
        text.contains("ONCRMDEALADD") && text.contains("`data[FIELDS][ID]`"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");
    // An unknown event is never decoded, so it cannot fail.
    let other = bad.replace("ONCRMDEALADD", "ONCRMLEADADD");
    assert!(crm::Event::from_raw(RawEvent::from_form(other.as_bytes()).unwrap()).is_ok());
}

fn imbot(body: &str) -> Result<imbot::Event, EventError> {
    imbot::Event::from_raw(RawEvent::from_form(body.as_bytes()).unwrap())
}

#[test]
fn nested_payloads_lists_enums_and_required_fields() {
    let e = imbot(
        "event=ONIMBOTMESSAGEADD&data[PARAMS][MESSAGE_ID]=91&data[PARAMS][CHAT_TYPE]=C\
         &data[PARAMS][SYSTEM]=N&data[PARAMS][FILES][0][ID]=5&data[PARAMS][FILES][1][ID]=6\
         &data[PARAMS][FILES][1][NAME]=a.txt&data[PARAMS][X_NEW]=kept&data[USER][ID]=3\
         &data[USER][IS_BOT]=Y&data[USER][UNLISTED]=dropped",
    )
    .unwrap();
    let imbot::Event::Imbotmessageadd(e) = e else {
        panic!("{e:?}")
    };
    let p = &e.data.params;
    assert_eq!(p.message_id, 91);
    assert_eq!(p.chat_type, Some(bitrix24_tests::events::enums::PCO::C));
    assert_eq!(p.system, Some(bitrix24_runtime::YesNo::N));
    let files = p.files.as_ref().unwrap();
    assert_eq!(
        files.iter().map(|f| f.id).collect::<Vec<_>>(),
        [Some(5), Some(6)]
    );
    assert_eq!(files[1].name.as_deref(), Some("a.txt"));
    assert_eq!(p.additional["X_NEW"], serde_json::json!("kept"));
    let user = e.data.user.as_ref().unwrap();
    assert_eq!((user.id, user.is_bot), (Some(3), Some(true)));
    // A value the enum does not list is kept, not refused.
    let e = imbot("event=ONIMBOTMESSAGEADD&data[PARAMS][MESSAGE_ID]=1&data[PARAMS][CHAT_TYPE]=Z");
    let Ok(imbot::Event::Imbotmessageadd(e)) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        e.data.params.chat_type,
        Some(bitrix24_tests::events::enums::PCO::Other("Z".into()))
    );

    // Errors name the form key, lists by index.
    let path = |body: &str| match imbot(body) {
        Err(EventError::Payload { path, message, .. }) => format!("{path}: {message}"),
        other => panic!("{other:?}"),
    };
    let p = path(
        "event=ONIMBOTMESSAGEADD&data[PARAMS][MESSAGE_ID]=1&data[PARAMS][FILES][0][ID]=1&data[PARAMS][FILES][1][ID]=x",
    );
    assert!(p.starts_with("data[PARAMS][FILES][1][ID]: "), "{p}");
    let p = path("event=ONIMBOTMESSAGEADD&data[PARAMS][MESSAGE]=hi");
    assert!(
        p.starts_with("data[PARAMS]: ") && p.contains("`MESSAGE_ID`"),
        "{p}"
    );
    // No `data` at all: the required `PARAMS` is missing.
    let p = path("event=ONIMBOTMESSAGEADD");
    assert!(p.starts_with("data: ") && p.contains("`PARAMS`"), "{p}");
}

/// Seeded bodies made of event pieces, typed by two scopes' `Event` enums: never a panic,
/// and a refused payload always names a form key under `data`.
#[test]
fn arbitrary_bodies_never_panic_when_typed() {
    let pieces: &[&str] = &[
        "event=ONCRMDEALADD",
        "event=ONIMBOTMESSAGEADD",
        "&",
        "data[FIELDS][ID]=",
        "data[FIELDS]=",
        "data[PARAMS][MESSAGE_ID]=",
        "data[PARAMS][FILES][0][ID]=",
        "data[PARAMS][FILES][1]=",
        "data[PARAMS][CHAT_TYPE]=",
        "data[USER][IS_BOT]=",
        "data[]=",
        "data=",
        "[",
        "]",
        "7",
        "-1",
        "99999999999999999999",
        "Y",
        "x",
        "%00",
        "%FF",
    ];
    // xorshift64: deterministic, no dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut typed = 0;
    for _ in 0..20_000 {
        let mut body = String::new();
        for _ in 0..next(12) {
            body.push_str(pieces[next(pieces.len())]);
        }
        let Ok(raw) = RawEvent::from_form(body.as_bytes()) else {
            continue;
        };
        for r in [
            crm::Event::from_raw(raw.clone()).map(|e| matches!(e, crm::Event::CrmDealAdd(_))),
            imbot::Event::from_raw(raw.clone())
                .map(|e| matches!(e, imbot::Event::Imbotmessageadd(_))),
        ] {
            match r {
                Ok(true) => typed += 1,
                Ok(false) => {}
                Err(EventError::Payload { path, .. }) => {
                    assert!(path.starts_with("data"), "{path} for {body}")
                }
                Err(e) => panic!("{e:?} for {body}"),
            }
        }
    }
    // The pieces do reach the typed variants.
    assert!(typed > 100, "{typed}");
}
