//! The generated `Event` enums of the fixture event specs: names matched without regard to
//! case, `Unknown` for the rest, no clash between an event called `onUnknown` and the
//! catch-all.

use bitrix24_runtime::events::{EventPayload, RawEvent};
use bitrix24_tests::events::{catalog, crm};

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
