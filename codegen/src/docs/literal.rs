//! Code-block text read as JSON: loose JSON (`//` comments, trailing commas, `...`), the `-d`
//! body of a cURL call, JS object and PHP array literals, and which of them is a request to
//! the page's method.
//!
//! Depends on nothing else in the crate.

use serde_json::{Map, Value, json};

/// Parses JSON, forgiving what doc authors often write: `//` comments, trailing commas and
/// `...` placeholders are removed first when strict parsing fails.
pub fn parse_json_loose(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let cleaned = clean_json(text);
            serde_json::from_str::<Value>(&cleaned)
                .map_err(|_| format!("line {} column {}", first.line(), first.column()))
        }
    }
}

fn clean_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut k = 0;
    let mut in_str = false;
    while k < chars.len() {
        let c = chars[k];
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(&n) = chars.get(k + 1) {
                    out.push(n);
                }
                k += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            k += 1;
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '/' if chars.get(k + 1) == Some(&'/') => {
                while k < chars.len() && chars[k] != '\n' {
                    k += 1;
                }
                continue;
            }
            '.' if chars.get(k + 1) == Some(&'.') && chars.get(k + 2) == Some(&'.') => {
                k += 3;
                continue;
            }
            '…' => {}
            _ => out.push(c),
        }
        k += 1;
    }
    // Trailing commas, and commas left before a closing bracket by removed placeholders.
    let mut res = String::with_capacity(out.len());
    let oc: Vec<char> = out.chars().collect();
    let mut in_str = false;
    let mut k = 0;
    while k < oc.len() {
        let c = oc[k];
        if in_str {
            res.push(c);
            if c == '\\' {
                if let Some(&n) = oc.get(k + 1) {
                    res.push(n);
                }
                k += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            k += 1;
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = oc[k + 1..].iter().find(|x| !x.is_whitespace());
            if matches!(next, Some('}' | ']') | None) {
                k += 1;
                continue;
            }
            let prev = res.chars().rev().find(|x| !x.is_whitespace());
            if matches!(prev, Some('{' | '[' | ',')) {
                k += 1;
                continue;
            }
        }
        res.push(c);
        k += 1;
    }
    res
}

/// Request parameters in one example code block: the JSON body of a cURL call to `method`,
/// the parameter object of `BX24.callMethod('method', {…})` / `call.make({method, params})`,
/// or the parameter array of a PHP `call('method', […])`.
pub(super) fn request_examples(
    text: &str,
    lang: &str,
    method: &str,
) -> Vec<(&'static str, Result<Value, String>)> {
    let mut out = Vec::new();
    if (lang == "bash" || lang == "sh" || lang == "curl" || text.contains("curl "))
        && text.contains(method)
    {
        if let Some(body) = curl_body(text) {
            let body = shell_dates(&body);
            let r = if body.contains("'\"") || body.contains("$(") {
                Err("the body is built by the shell".to_owned())
            } else {
                parse_json_loose(&body)
            };
            let r = r.map(|mut v| {
                if let Value::Object(m) = &mut v {
                    m.remove("auth");
                }
                v
            });
            out.push(("curl", r));
        }
        return out;
    }
    if lang == "js" || lang == "javascript" {
        let quoted = [format!("'{method}'"), format!("\"{method}\"")];
        for q in &quoted {
            if let Some(p) = text.find(&format!("callMethod({q}")).or_else(|| {
                text.find("callMethod(\n")
                    .filter(|_| text.contains(q.as_str()))
            }) {
                let after = text.get(p..).unwrap_or("");
                let Some(qp) = after.find(q.as_str()) else {
                    continue;
                };
                let rest = after.get(qp + q.len()..).unwrap_or("").trim_start();
                if let Some(rest) = rest.strip_prefix(',') {
                    let rest = rest.trim_start();
                    if rest.starts_with('{') || rest.starts_with('[') {
                        out.push(("js", js_literal(rest)));
                    } else {
                        out.push(("js", Ok(json!({}))));
                    }
                } else {
                    out.push(("js", Ok(json!({}))));
                }
                break;
            }
        }
    }
    if lang == "php"
        && !text.contains("CRest")
        && let Some(p) = text
            .find(&format!("'{method}'"))
            .or_else(|| text.find(&format!("\"{method}\"")))
    {
        let rest = text.get(p + method.len() + 2..).unwrap_or("").trim_start();
        if let Some(rest) = rest.strip_prefix(',') {
            let rest = rest.trim_start();
            if rest.starts_with('[') {
                out.push(("php", php_literal(rest)));
            }
        }
    }
    out
}

/// Replaces the `'"$(date …)"'` pieces doc examples splice into JSON bodies with a fixed date
/// of the same form, so the body can be read; other shell substitutions stay (and are reported).
fn shell_dates(body: &str) -> String {
    let mut out = body.to_owned();
    for _ in 0..20 {
        let Some(a) = out.find("'\"$(date") else {
            break;
        };
        let Some(rel) = out.get(a..).and_then(|r| r.find(")\"'")) else {
            break;
        };
        let cmd = out.get(a..a + rel).unwrap_or("");
        let value = if cmd.contains("%Y-%m-%d") && !cmd.contains("%H") {
            "2025-01-01"
        } else {
            "2025-01-01T00:00:00+03:00"
        };
        out = format!("{}{value}{}", &out[..a], &out[a + rel + 3..]);
    }
    out
}

/// The `-d '…'` argument of a curl command.
fn curl_body(text: &str) -> Option<String> {
    let p = text
        .find("-d '")
        .or_else(|| text.find("--data '"))
        .or_else(|| text.find("--data-raw '"))?;
    let after = text.get(p..)?;
    let q = after.find('\'')?;
    let body = after.get(q + 1..)?;
    // The body ends at the last `'` followed by a line break or ` \`.
    let mut end = None;
    for (i, c) in body.char_indices() {
        if c == '\'' {
            let next = body.get(i + 1..).unwrap_or("");
            if next.starts_with(" \\")
                || next.starts_with('\n')
                || next.starts_with(" ")
                || next.is_empty()
            {
                end = Some(i);
                if !next.starts_with('"') {
                    break;
                }
            }
        }
    }
    Some(body.get(..end?)?.to_owned())
}

/// Reads a JS object or array literal (unquoted keys, single quotes, trailing commas) at the
/// start of `s` as JSON. Anything that is not a literal (a variable, a call) is an error.
fn js_literal(s: &str) -> Result<Value, String> {
    let mut p = LitParser {
        c: s.chars().collect(),
        k: 0,
        php: false,
    };
    p.value(0)
}

/// Reads a PHP array literal (`['a' => 1, 'b' => [1, 2]]`) at the start of `s` as JSON.
fn php_literal(s: &str) -> Result<Value, String> {
    let mut p = LitParser {
        c: s.chars().collect(),
        k: 0,
        php: true,
    };
    p.value(0)
}

struct LitParser {
    c: Vec<char>,
    k: usize,
    php: bool,
}

impl LitParser {
    fn ws(&mut self) {
        loop {
            while self.k < self.c.len() && self.c[self.k].is_whitespace() {
                self.k += 1;
            }
            if self.peek() == Some('/') && self.c.get(self.k + 1) == Some(&'/') {
                while self.k < self.c.len() && self.c[self.k] != '\n' {
                    self.k += 1;
                }
                continue;
            }
            if self.peek() == Some('/') && self.c.get(self.k + 1) == Some(&'*') {
                self.k += 2;
                while self.k + 1 < self.c.len()
                    && !(self.c[self.k] == '*' && self.c[self.k + 1] == '/')
                {
                    self.k += 1;
                }
                self.k += 2;
                continue;
            }
            break;
        }
    }
    fn peek(&self) -> Option<char> {
        self.c.get(self.k).copied()
    }
    fn eat(&mut self, ch: char) -> bool {
        self.ws();
        if self.peek() == Some(ch) {
            self.k += 1;
            true
        } else {
            false
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.k))
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return self.err("nesting too deep");
        }
        self.ws();
        match self.peek() {
            Some('{') if !self.php => {
                self.k += 1;
                let mut m = Map::new();
                loop {
                    if self.eat('}') {
                        break;
                    }
                    let key = self.key()?;
                    if !self.eat(':') {
                        return self.err("expected `:`");
                    }
                    let v = self.value(depth + 1)?;
                    m.insert(key, v);
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat('}') {
                        break;
                    }
                    return self.err("expected `,` or `}`");
                }
                Ok(Value::Object(m))
            }
            Some('[') => {
                self.k += 1;
                let mut list = Vec::new();
                let mut map = Map::new();
                let mut keyed = false;
                loop {
                    if self.eat(']') {
                        break;
                    }
                    let v = self.value(depth + 1)?;
                    self.ws();
                    if self.php && self.peek() == Some('=') && self.c.get(self.k + 1) == Some(&'>')
                    {
                        self.k += 2;
                        let key = match v {
                            Value::String(s) => s,
                            Value::Number(n) => n.to_string(),
                            _ => return self.err("unsupported PHP array key"),
                        };
                        let val = self.value(depth + 1)?;
                        keyed = true;
                        map.insert(key, val);
                    } else {
                        map.insert(list.len().to_string(), v.clone());
                        list.push(v);
                    }
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat(']') {
                        break;
                    }
                    return self.err("expected `,` or `]`");
                }
                if keyed {
                    Ok(Value::Object(map))
                } else {
                    Ok(Value::Array(list))
                }
            }
            Some('\'') | Some('"') => self.string().map(Value::String),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.k;
                self.k += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.k += 1;
                }
                let t: String = self.c[start..self.k].iter().collect();
                match serde_json::from_str::<Value>(&t) {
                    Ok(v @ Value::Number(_)) => Ok(v),
                    _ => self.err("bad number"),
                }
            }
            Some(c) if c.is_alphabetic() || c == '$' || c == '_' => {
                let start = self.k;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    self.k += 1;
                }
                let word: String = self.c[start..self.k].iter().collect();
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "undefined" => Ok(Value::Null),
                    _ => self.err("a variable or expression, not a literal"),
                }
            }
            _ => self.err("unexpected character"),
        }
    }
    fn key(&mut self) -> Result<String, String> {
        self.ws();
        match self.peek() {
            Some('\'') | Some('"') => self.string(),
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                let start = self.k;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    self.k += 1;
                }
                Ok(self.c[start..self.k].iter().collect())
            }
            _ => self.err("expected a key"),
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let Some(q) = self.peek() else {
            return self.err("expected a string");
        };
        self.k += 1;
        let mut s = String::new();
        while let Some(c) = self.peek() {
            self.k += 1;
            if c == q {
                let next = self.c.get(self.k).copied();
                // String concatenation (`'a' + b`, `'a' . $b`) is an expression.
                let mut j = self.k;
                while self.c.get(j).is_some_and(|c| *c == ' ') {
                    j += 1;
                }
                if matches!(self.c.get(j), Some('+'))
                    || (self.php && matches!(self.c.get(j), Some('.')) && next != Some('.'))
                {
                    return self.err("string concatenation");
                }
                return Ok(s);
            }
            if c == '\\' {
                let Some(n) = self.peek() else { break };
                self.k += 1;
                s.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                continue;
            }
            if c == '`' {
                return self.err("template string");
            }
            s.push(c);
        }
        self.err("unterminated string")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_dates_in_curl_bodies() {
        assert_eq!(
            shell_dates(r#"{"A":"'"$(date --iso-8601=seconds)"'","B":"'"$(date +%Y-%m-%d)"'"}"#),
            r#"{"A":"2025-01-01T00:00:00+03:00","B":"2025-01-01"}"#
        );
    }

    #[test]
    fn literals() {
        assert_eq!(
            js_literal("{a: 'x', 'b': [1, -2.5, true, null,], c: {d: \"e\"}}"),
            Ok(json!({"a": "x", "b": [1, -2.5, true, null], "c": {"d": "e"}}))
        );
        assert!(js_literal("{a: someVar}").is_err());
        assert!(js_literal("{a: 'x' + y}").is_err());
        assert_eq!(
            php_literal("['a' => 1, 'b' => ['x', 'y'], 'c' => ['k' => false]]"),
            Ok(json!({"a": 1, "b": ["x", "y"], "c": {"k": false}}))
        );
        assert!(php_literal("['a' => $x]").is_err());
    }
}
