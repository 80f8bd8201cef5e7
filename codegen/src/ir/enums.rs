//! The shared enums: one per list of values, named from the values alone.

use super::*;

/// The shared enums met so far, by their values.
#[derive(Default)]
pub(super) struct EnumTable {
    pub(super) by_values: BTreeMap<Vec<EnumValue>, usize>,
    pub(super) list: Vec<SharedEnum>,
}

/// Names the shared enums from their values alone, so a name never depends on which specs
/// use the enum or on what else is in the corpus (unless two value lists fold to one name):
/// the variant names joined (`LeadDealCompanyContact`; integer enums start with `Int`),
/// cut to the first three and `Etc` past four variants or 40 characters. Value lists whose
/// names collide all get a hash of their values (`TextHtmlH1a2b3c4d`). `Y`/`N` is the
/// runtime's `YesNo`.
pub fn name_enums(enums: &mut [SharedEnum]) {
    const RESERVED: &[&str] = &[
        "String",
        "Option",
        "Vec",
        "Box",
        "Result",
        "Some",
        "None",
        "Ok",
        "Err",
        "Default",
        "Clone",
        "Copy",
        "Debug",
        "Hash",
        "Eq",
        "PartialEq",
        "Value",
        "Map",
        "YesNo",
    ];
    let base: Vec<String> = enums
        .iter()
        .map(|e| {
            let int = e.values.iter().all(|(_, v)| matches!(v, EnumValue::Int(_)));
            let idents: Vec<&str> = e.values.iter().map(|(n, _)| n.as_str()).collect();
            let all = idents.concat();
            let mut name = if idents.len() <= 4 && all.len() <= 40 {
                all
            } else {
                format!("{}Etc", idents[..idents.len().min(3)].concat())
            };
            if int {
                name.insert_str(0, "Int");
            }
            if name.is_empty() {
                name.push_str("Values");
            }
            if RESERVED.contains(&name.as_str()) {
                name.push_str("Enum");
            }
            name
        })
        .collect();
    let mut groups: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, b) in base.iter().enumerate() {
        if !enums[i].runtime {
            groups.entry(b).or_default().insert(i);
        }
    }
    let mut names = vec![String::new(); enums.len()];
    for (b, members) in &groups {
        for &i in members {
            names[i] = if members.len() == 1 {
                (*b).to_owned()
            } else {
                format!("{b}H{:08x}", values_hash(&enums[i].values))
            };
        }
    }
    for (e, n) in enums.iter_mut().zip(names) {
        e.name = if e.runtime { "YesNo".to_owned() } else { n };
    }
}

/// FNV-1a (32 bits) of the values, for names that would otherwise collide.
pub(super) fn values_hash(values: &[(String, EnumValue)]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for (_, v) in values {
        let text = match v {
            EnumValue::Str(s) => format!("s{s}\0"),
            EnumValue::Int(n) => format!("i{n}\0"),
        };
        for b in text.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// Variant names of an enum of values, and its catch-all variant's name.
pub(super) fn enum_variants(values: &[EnumValue]) -> (Vec<(String, EnumValue)>, String) {
    let mut local = Names::default();
    let other = local.take("Other");
    let mut out = Vec::new();
    for v in values {
        let base = match v {
            EnumValue::Str(s) if s.is_empty() => "Empty".to_owned(),
            EnumValue::Str(s) => naming::pascal(s, "Value"),
            EnumValue::Int(n) if *n < 0 => format!("Minus{}", n.unsigned_abs()),
            EnumValue::Int(n) => format!("V{n}"),
        };
        out.push((local.take(&base), v.clone()));
    }
    (out, other)
}
