//! PHP-style query strings (`fields[TITLE]=x&select[]=ID`) to JSON, as a portal reads them.

use serde_json::{Map, Value};

/// Decodes `%XX` and `+`.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a query string into a JSON object; every scalar is a string, as in PHP.
pub fn parse_query(query: &str) -> Map<String, Value> {
    let mut root = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k);
        let value = Value::String(decode(v));
        let (base, rest) = match key.find('[') {
            Some(i) if i > 0 => (key[..i].to_owned(), &key[i..]),
            _ => (key.clone(), ""),
        };
        let mut segments = Vec::new();
        let mut r = rest;
        // Bounded by the key's length.
        while let Some(stripped) = r.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            segments.push(stripped[..end].to_owned());
            r = &stripped[end + 1..];
        }
        insert(&mut root, base, &segments, value);
    }
    root
}

fn insert(map: &mut Map<String, Value>, key: String, segments: &[String], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        map.insert(key, value);
        return;
    };
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    let Value::Object(inner) = slot else { return };
    let k = if first.is_empty() {
        inner.len().to_string()
    } else {
        first.clone()
    };
    insert(inner, k, rest, value);
}

/// Replaces `$result[id][key]...` references with values from earlier batch results;
/// a reference that does not resolve to a scalar becomes the empty string.
pub fn substitute(query: &str, results: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    // Bounded: every round consumes input.
    while let Some(i) = rest.find("$result[") {
        out.push_str(&rest[..i]);
        let mut r = &rest[i + "$result".len()..];
        let mut path = Vec::new();
        while let Some(stripped) = r.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(decode(&stripped[..end]));
            r = &stripped[end + 1..];
        }
        let mut value = path.first().and_then(|id| results.get(id));
        for seg in path.iter().skip(1) {
            value = value.and_then(|v| match v {
                Value::Object(m) => m.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            });
        }
        let text = match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_owned(),
            _ => String::new(),
        };
        out.push_str(&encode(&text));
        rest = r;
    }
    out.push_str(rest);
    out
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_and_references() {
        let q = parse_query("fields[TITLE]=a+b&select[]=ID&select[]=NAME&filter[%3EID]=5&x=%ZZ");
        assert_eq!(q["fields"]["TITLE"], "a b");
        assert_eq!(q["select"]["1"], "NAME");
        assert_eq!(q["filter"][">ID"], "5");
        assert_eq!(q["x"], "%ZZ");
        let mut results = Map::new();
        results.insert("c00".into(), serde_json::json!([{"ID": "7"}, {"ID": 9}]));
        assert_eq!(
            substitute("a=$result[c00][1][ID]&b=$result[c09][0][ID]", &results),
            "a=9&b="
        );
    }
}
