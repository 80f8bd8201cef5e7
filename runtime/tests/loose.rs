//! The lenient decoders on their own: every loose form the wire sends, and the inputs that
//! must stay errors because accepting them would lose data.

use std::collections::BTreeMap;

use bitrix24_runtime::loose::{Loose, Loosely, Misfit, Object};
use serde_json::{Value, json};

fn decode<T: Loose>(v: Value) -> Result<T, String> {
    serde_json::from_value::<Loosely<T>>(v)
        .map(|l| l.0)
        .map_err(|e| e.to_string())
}

#[test]
fn integers() {
    assert_eq!(decode::<i64>(json!(42)), Ok(42));
    assert_eq!(decode::<i64>(json!("42")), Ok(42));
    assert_eq!(decode::<i64>(json!(" -7 ")), Ok(-7));
    assert_eq!(decode::<i64>(json!("1500.00")), Ok(1500));
    assert_eq!(decode::<i64>(json!(3.0)), Ok(3));
    assert_eq!(decode::<i32>(json!("2147483647")), Ok(i32::MAX));
    for bad in [
        json!("12abc"),
        json!(""),
        json!("1.5"),
        json!(1.5),
        json!(true),
        json!(null),
        json!([]),
    ] {
        assert!(
            decode::<i64>(bad.clone()).is_err(),
            "{bad} must not be an integer"
        );
    }
    assert!(decode::<i64>(json!(u64::MAX)).is_err());
    assert!(decode::<i32>(json!("2147483648")).is_err());
    let msg = decode::<i64>(json!("12abc")).unwrap_err();
    assert!(msg.contains("\"12abc\""), "{msg}");
}

#[test]
fn numbers() {
    assert_eq!(decode::<f64>(json!("1500.50")), Ok(1500.5));
    assert_eq!(decode::<f64>(json!(" 2 ")), Ok(2.0));
    assert_eq!(decode::<f64>(json!(7)), Ok(7.0));
    assert_eq!(decode::<f64>(json!("1e3")), Ok(1000.0));
    for bad in ["", "NaN", "inf", "12abc", "1,5"] {
        assert!(
            decode::<f64>(json!(bad)).is_err(),
            "{bad:?} must not be a number"
        );
    }
}

#[test]
fn booleans() {
    for yes in [
        json!(true),
        json!("Y"),
        json!("y"),
        json!("1"),
        json!(1),
        json!("true"),
    ] {
        assert_eq!(decode::<bool>(yes.clone()), Ok(true), "{yes}");
    }
    for no in [
        json!(false),
        json!("N"),
        json!("n"),
        json!("0"),
        json!(0),
        json!("false"),
    ] {
        assert_eq!(decode::<bool>(no.clone()), Ok(false), "{no}");
    }
    for bad in [json!(2), json!("yes please"), json!(""), json!(null)] {
        assert!(decode::<bool>(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn strings_take_numbers_but_not_booleans() {
    assert_eq!(decode::<String>(json!("abc")), Ok("abc".into()));
    assert_eq!(decode::<String>(json!(42)), Ok("42".into()));
    assert_eq!(decode::<String>(json!(1.25)), Ok("1.25".into()));
    assert!(decode::<String>(json!(true)).is_err());
    assert!(decode::<String>(json!({})).is_err());
}

#[test]
fn absent_spellings_in_optional_values() {
    // null, false, "" and [] are PHP's ways of saying "nothing".
    for absent in [json!(null), json!(false), json!(""), json!([])] {
        assert_eq!(decode::<Option<i64>>(absent.clone()), Ok(None), "{absent}");
    }
    assert_eq!(decode::<Option<i64>>(json!("5")), Ok(Some(5)));
    // ...but not where they are real values of the type.
    assert_eq!(decode::<Option<bool>>(json!(false)), Ok(Some(false)));
    assert_eq!(decode::<Option<bool>>(json!("N")), Ok(Some(false)));
    assert_eq!(decode::<Option<String>>(json!("")), Ok(Some(String::new())));
    assert_eq!(decode::<Option<String>>(json!(false)), Ok(None));
    assert_eq!(decode::<Option<Vec<i64>>>(json!([])), Ok(Some(vec![])));
    assert_eq!(
        decode::<Option<Value>>(json!(false)),
        Ok(Some(json!(false)))
    );
    // A value that is there but wrong is still an error.
    assert!(decode::<Option<i64>>(json!("12abc")).is_err());
    assert!(decode::<Option<i64>>(json!([1])).is_err());
}

#[test]
fn lists_and_maps() {
    assert_eq!(decode::<Vec<i64>>(json!(["1", 2, "3"])), Ok(vec![1, 2, 3]));
    assert_eq!(decode::<Vec<i64>>(json!({})), Ok(vec![]));
    assert!(decode::<Vec<i64>>(json!({"0": 1})).is_err());
    assert!(decode::<Vec<i64>>(json!(["1", "x"])).is_err());

    let m = decode::<BTreeMap<String, i64>>(json!({"a": "1", "b": 2})).unwrap();
    assert_eq!(m, BTreeMap::from([("a".into(), 1), ("b".into(), 2)]));
    assert_eq!(
        decode::<BTreeMap<String, i64>>(json!([])),
        Ok(BTreeMap::new())
    );
    // A PHP array keyed 0..n arrives as a list: its keys are the positions.
    let m = decode::<BTreeMap<String, i64>>(json!(["10", "20"])).unwrap();
    assert_eq!(m, BTreeMap::from([("0".into(), 10), ("1".into(), 20)]));

    let obj = decode::<serde_json::Map<String, Value>>(json!([])).unwrap();
    assert!(obj.is_empty());
    assert!(decode::<serde_json::Map<String, Value>>(json!([1])).is_err());
}

/// A struct written the way the generator writes them.
#[derive(Debug, PartialEq, serde::Serialize)]
struct Deal {
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "OPENED", skip_serializing_if = "Option::is_none")]
    opened: Option<bool>,
    #[serde(rename = "CONTACT", skip_serializing_if = "Option::is_none")]
    contact: Option<Contact>,
    #[serde(rename = "TAGS", skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
}

impl Loose for Deal {
    fn from_loose(v: &Value) -> Result<Self, Misfit> {
        let o = Object::new(v)?;
        let contact = o.opt("CONTACT")?;
        let id = o.req("ID")?;
        let opened = o.opt("OPENED")?;
        let tags = o.opt("TAGS")?;
        let id = o.need(id, "ID")?;
        Ok(Self {
            id,
            opened,
            contact,
            tags,
        })
    }
}

bitrix24_runtime::loose_deserialize!(Deal);

#[derive(Debug, PartialEq, serde::Serialize)]
struct Contact {
    #[serde(rename = "ID")]
    id: i64,
}

impl Loose for Contact {
    fn from_loose(v: &Value) -> Result<Self, Misfit> {
        let o = Object::new(v)?;
        let id = o.req("ID")?;
        let id = o.need(id, "ID")?;
        Ok(Self { id })
    }
}

bitrix24_runtime::loose_deserialize!(Contact);

#[test]
fn structs() {
    let d =
        decode::<Deal>(json!({"ID": "7", "OPENED": "Y", "CONTACT": {"ID": "3"}, "TAGS": ["a", 1]}))
            .unwrap();
    assert_eq!(
        d,
        Deal {
            id: 7,
            opened: Some(true),
            contact: Some(Contact { id: 3 }),
            tags: Some(vec!["a".into(), "1".into()])
        }
    );
    // `[]` for an absent optional object, `false` for an absent list.
    let d = decode::<Deal>(json!({"ID": 7, "CONTACT": [], "TAGS": false})).unwrap();
    assert_eq!(d.contact, None);
    assert_eq!(d.tags, None);
    // `[]` for a whole object with a required field is not enough.
    assert!(decode::<Deal>(json!([])).unwrap_err().contains("ID"));
    assert!(decode::<Deal>(json!([{"ID": 1}])).is_err());
}

#[test]
fn errors_carry_the_json_path() {
    let v = json!([{"ID": 1}, {"ID": 2, "CONTACT": {"ID": "12abc"}}]);
    let err = <Vec<Deal>>::from_loose(&v).unwrap_err();
    assert_eq!(err.path_text(), "[1].CONTACT.ID");
    assert!(err.to_string().contains("12abc"));
}
