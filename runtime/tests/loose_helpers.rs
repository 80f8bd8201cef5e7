//! The helpers generated code is written with: `Misfit` and its path, the `Object` reader,
//! `loose_deserialize!`, `string_enum!`, `int_enum!` and `YesNo`; and the messages, which are
//! serde's own words (as the decoders said them when they were serde visitors).

use std::collections::BTreeMap;

use bitrix24_runtime::YesNo;
use bitrix24_runtime::loose::{self, Loose, Misfit, Object, Segment};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Item {
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "KIND", skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    #[serde(flatten)]
    additional: BTreeMap<String, Value>,
}

impl Loose for Item {
    fn from_loose(v: &Value) -> Result<Self, Misfit> {
        let o = Object::new(v)?;
        let id = o.req("ID")?;
        let kind = o.opt("KIND")?;
        let additional = o.rest(&["ID", "KIND"])?;
        let id = o.need(id, "ID")?;
        Ok(Self {
            id,
            kind,
            additional,
        })
    }
}

bitrix24_runtime::loose_deserialize!(Item);

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Strict {
    #[serde(rename = "A")]
    a: i64,
}

impl Loose for Strict {
    fn from_loose(v: &Value) -> Result<Self, Misfit> {
        let o = Object::new(v)?;
        o.deny(&["A"])?;
        let a = o.req("A")?;
        let a = o.need(a, "A")?;
        Ok(Self { a })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Lead,
    Empty,
    Other(String),
}

bitrix24_runtime::string_enum!(Kind { Lead = "lead", Empty = "" } Other);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Level {
    V1,
    Minus2,
    Other(i64),
}

bitrix24_runtime::int_enum!(Level { V1 = 1, Minus2 = -2 } Other);

fn misfit<T: Loose + std::fmt::Debug>(v: Value) -> Misfit {
    T::from_loose(&v).expect_err("should not fit")
}

#[test]
fn messages_are_serdes_words() {
    assert_eq!(
        misfit::<i64>(json!("12abc")).message(),
        "invalid value: string \"12abc\", expected an integer (or an integer written as a string)"
    );
    assert_eq!(
        misfit::<i64>(json!(null)).message(),
        "invalid type: null, expected an integer (or an integer written as a string)"
    );
    assert_eq!(
        misfit::<bool>(json!(2)).message(),
        "invalid value: integer `2`, expected a boolean (true/false, \"Y\"/\"N\", 1/0)"
    );
    assert_eq!(
        misfit::<String>(json!({})).message(),
        "invalid type: map, expected a string"
    );
    assert_eq!(
        misfit::<Vec<i64>>(json!({"a": 1})).message(),
        "invalid type: map, expected an array"
    );
    assert_eq!(misfit::<Item>(json!({})).message(), "missing field `ID`");
    assert_eq!(
        misfit::<Item>(json!("x")).message(),
        "invalid type: string \"x\", expected an object"
    );
    assert_eq!(
        misfit::<Item>(json!([{"ID": 1}])).message(),
        "invalid type: sequence, expected an object"
    );
    // A non-empty list where an optional scalar goes: what serde_json said.
    assert_eq!(
        misfit::<Option<i64>>(json!([1, 2])).message(),
        "invalid length 2, expected fewer elements in array"
    );
    // ...but an optional object judges the list itself.
    assert_eq!(
        misfit::<Option<Item>>(json!([1])).message(),
        "invalid type: sequence, expected an object"
    );
    assert_eq!(
        misfit::<Strict>(json!({"A": 1, "B": 2})).message(),
        "unknown field `B`, expected `A`"
    );
}

#[test]
fn a_value_that_does_not_fit_is_reported_before_a_missing_field() {
    // `KIND` is read although `ID` is missing: its misfit wins, as with serde's visitors.
    let e = misfit::<Item>(json!({"KIND": true}));
    assert_eq!(e.path_text(), "KIND");
    assert_eq!(
        misfit::<Item>(json!({"KIND": "lead"})).message(),
        "missing field `ID`"
    );
}

#[test]
fn paths_are_pushed_as_the_error_bubbles_up() {
    let e = misfit::<BTreeMap<String, Vec<Item>>>(json!({"x": [{"ID": 1}, {"ID": "no"}]}));
    assert_eq!(e.path_text(), "x[1].ID");
    let steps: Vec<&Segment> = e.path().collect();
    assert_eq!(
        steps,
        [
            &Segment::Key("x".into()),
            &Segment::Index(1),
            &Segment::Key("ID".into())
        ]
    );
    // A PHP list read as a map: its keys are positions.
    let e = misfit::<BTreeMap<String, i64>>(json!(["1", "x"]));
    assert_eq!(e.path_text(), "[1]");
    assert_eq!(misfit::<i64>(json!("x")).path_text(), ".");
    let m = Misfit::new("bad").at_key("B").at_index(3).at_key("A");
    assert_eq!(m.path_text(), "A[3].B");
    assert_eq!(m.to_string(), "bad at `A[3].B`");
    // Undeclared keys kept in the flattened map carry their key too.
    let e = misfit::<Strict>(json!({"A": "1.5"}));
    assert_eq!(e.path_text(), "A");
}

#[test]
fn object_reads_fields_and_keeps_the_rest() {
    let item = Item::from_loose(&json!({"ID": "7", "KIND": "lead", "UF_X": [1]})).unwrap();
    assert_eq!(item.id, 7);
    assert_eq!(item.kind, Some(Kind::Lead));
    assert_eq!(
        item.additional,
        BTreeMap::from([("UF_X".into(), json!([1]))])
    );
    // `[]` is an empty object.
    assert!(Object::new(&json!([])).unwrap().map().is_empty());
    assert_eq!(
        Item::from_loose(&json!({"ID": 1, "KIND": false}))
            .unwrap()
            .kind,
        None
    );
    assert_eq!(
        Strict::from_loose(&json!({"A": "3"})).unwrap(),
        Strict { a: 3 }
    );
}

#[test]
fn loose_deserialize_gives_a_lenient_deserialize() {
    let item: Item = serde_json::from_str(r#"{"ID": "12", "KIND": "quote"}"#).unwrap();
    assert_eq!(item.id, 12);
    assert_eq!(item.kind, Some(Kind::Other("quote".into())));
    let err = serde_json::from_str::<Vec<Item>>(r#"[{"ID": 1}, {"ID": "x"}]"#).unwrap_err();
    assert!(err.to_string().contains("at `ID`"), "{err}");
    let d: Item = loose::de(&json!({"ID": 5})).unwrap();
    assert_eq!(d.id, 5);
}

#[test]
fn string_enums() {
    assert_eq!(Kind::from_loose(&json!("lead")).unwrap(), Kind::Lead);
    assert_eq!(Kind::from_loose(&json!("")).unwrap(), Kind::Empty);
    assert_eq!(
        Kind::from_loose(&json!(5)).unwrap(),
        Kind::Other("5".into())
    );
    assert_eq!(Kind::Other("x".into()).as_str(), "x");
    assert_eq!(Kind::Lead.to_string(), "lead");
    assert_eq!(serde_json::to_value(Kind::Empty).unwrap(), json!(""));
    // `""` is a value of this enum, not PHP's "absent".
    const { assert!(<Kind as Loose>::EMPTY_STRING_IS_VALUE) };
    assert_eq!(
        <Option<Kind>>::from_loose(&json!("")).unwrap(),
        Some(Kind::Empty)
    );
    assert_eq!(<Option<YesNo>>::from_loose(&json!("")).unwrap(), None);
    assert!(Kind::from_loose(&json!(true)).is_err());
}

#[test]
fn int_enums() {
    assert_eq!(Level::from_loose(&json!("1")).unwrap(), Level::V1);
    assert_eq!(Level::from_loose(&json!(-2)).unwrap(), Level::Minus2);
    assert_eq!(Level::from_loose(&json!(9)).unwrap(), Level::Other(9));
    assert_eq!(Level::Minus2.value(), -2);
    assert_eq!(serde_json::to_value(Level::V1).unwrap(), json!(1));
    let l: Level = serde_json::from_str("\"9\"").unwrap();
    assert_eq!(l, Level::Other(9));
    assert!(Level::from_loose(&json!("x")).is_err());
}

#[test]
fn yes_no() {
    assert_eq!(YesNo::from_loose(&json!("Y")).unwrap(), YesNo::Y);
    assert_eq!(
        YesNo::from_loose(&json!("N")).unwrap().as_bool(),
        Some(false)
    );
    assert_eq!(
        YesNo::from_loose(&json!("D")).unwrap(),
        YesNo::Other("D".into())
    );
    assert_eq!(YesNo::from(true).as_str(), "Y");
    assert_eq!(serde_json::to_value(YesNo::N).unwrap(), json!("N"));
    let y: YesNo = serde_json::from_str("\"Y\"").unwrap();
    assert_eq!(y, YesNo::Y);
}

#[test]
fn via_deserialize_reads_hand_written_types() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Plain {
        #[serde(default)]
        a: Option<i64>,
    }
    assert_eq!(
        loose::via_deserialize::<Plain>(&json!([])).unwrap(),
        Plain { a: None }
    );
    assert_eq!(
        loose::via_deserialize::<Plain>(&json!({"a": 2})).unwrap(),
        Plain { a: Some(2) }
    );
    assert!(loose::via_deserialize::<Plain>(&json!({"a": "x"})).is_err());
}
