//! Every Rust name the generator emits is decided here, and only here.
//!
//! Rules (also in the README):
//! * words are split at non-alphanumeric characters and at case changes (`entityTypeId` ->
//!   `entity`, `type`, `id`; `HTTPServer` -> `http`, `server`); digits stay with their word;
//! * Cyrillic letters are transliterated; other non-ASCII letters become `uXXXX`;
//! * fields, functions and modules are `snake_case`, types and variants `PascalCase`;
//! * a name that would be a Rust keyword (2024 edition, `gen` included) gets a `_` suffix
//!   (`type_`), a `PascalCase` one (`Self`) a `Value` suffix; a leading digit gets a `_`
//!   prefix (`_1c_id`) or a `V` prefix (`V1`);
//! * names that fold to the same identifier in one scope all survive: the first (in a
//!   deterministic order) keeps the name, the next get `_2`, `_3` (`Name2`, `V1_2` for types).

use std::collections::BTreeSet;

/// Strict and reserved keywords of Rust 2024, plus `gen` and the weak keywords that cannot be
/// used everywhere.
const KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "macro_rules",
    "raw",
    "safe",
    "_",
];

/// True for characters that change how text is displayed without being visible (bidi
/// controls, zero-width characters): never let them into output.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}'
        | '\u{00AD}' | '\u{180E}' | '\u{FFF9}'..='\u{FFFB}')
}

fn translit(c: char) -> Option<&'static str> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    Some(match lower {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' => "",
        'ы' => "y",
        'ь' => "",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        'і' => "i",
        'ї' => "yi",
        'є' => "ye",
        'ґ' => "g",
        _ => return None,
    })
}

/// Splits a wire name into lowercase ASCII words.
pub fn words(name: &str) -> Vec<String> {
    // First map every character to ASCII, marking case so boundaries can be found.
    let mut chars: Vec<(char, bool)> = Vec::new(); // (ascii char or ' ' separator, was uppercase)
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            chars.push((c.to_ascii_lowercase(), c.is_ascii_uppercase()));
        } else if let Some(t) = translit(c) {
            let upper = c.is_uppercase();
            for (i, tc) in t.chars().enumerate() {
                chars.push((tc, upper && i == 0));
            }
        } else if c.is_alphanumeric() {
            chars.push((' ', false));
            for tc in format!("u{:04x}", c as u32).chars() {
                chars.push((tc, false));
            }
            chars.push((' ', false));
        } else {
            chars.push((' ', false));
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for i in 0..chars.len() {
        let (c, upper) = chars[i];
        if c == ' ' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if upper && !cur.is_empty() {
            let prev_upper = chars[i - 1].1;
            let prev_digit = chars[i - 1].0.is_ascii_digit();
            let next_lower = chars
                .get(i + 1)
                .is_some_and(|&(n, u)| n.is_ascii_lowercase() && !u);
            // fooBar | HTTPServer (boundary before the S) ; not inside ABC, not after a digit (1C)
            if (!prev_upper && !prev_digit) || (prev_upper && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `snake_case` identifier for fields, functions and modules (never a keyword, never empty).
pub fn snake(name: &str, fallback: &str) -> String {
    let w = words(name);
    let mut s = if w.is_empty() {
        fallback.to_owned()
    } else {
        w.join("_")
    };
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// `PascalCase` identifier for types and variants (never a keyword, never empty).
pub fn pascal(name: &str, fallback: &str) -> String {
    let w = words(name);
    let mut s = String::new();
    for word in &w {
        let mut cs = word.chars();
        if let Some(f) = cs.next() {
            // Keep digits-then-letters readable: 1c -> 1C
            s.push(f.to_ascii_uppercase());
            let rest: String = cs.collect();
            if f.is_ascii_digit() {
                s.push_str(&upper_after_digits(&rest))
            } else {
                s.push_str(&rest)
            }
        }
    }
    if s.is_empty() {
        s = fallback.to_owned();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'V');
    }
    if s == "Self" {
        s.push_str("Value");
    }
    s
}

fn upper_after_digits(rest: &str) -> String {
    let mut out = String::new();
    let mut seen_letter = false;
    for c in rest.chars() {
        if !seen_letter && c.is_ascii_alphabetic() {
            out.push(c.to_ascii_uppercase());
            seen_letter = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// Hands out unique names within one Rust scope. Candidates are taken in call order, so callers
/// must call in a deterministic order.
#[derive(Debug, Default, Clone)]
pub struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// A scope where `reserved` names are already taken.
    pub fn with_reserved<'a>(reserved: impl IntoIterator<Item = &'a str>) -> Names {
        Names {
            taken: reserved.into_iter().map(str::to_owned).collect(),
        }
    }

    /// Takes `base`, or `base_2`, `base_3`, ... (`Base2` for Pascal names not ending in a digit).
    pub fn take(&mut self, base: &str) -> String {
        if self.taken.insert(base.to_owned()) {
            return base.to_owned();
        }
        let pascal_style = base.starts_with(|c: char| c.is_ascii_uppercase());
        let ends_digit = base.ends_with(|c: char| c.is_ascii_digit());
        // `self_` (a keyword escaped) collides as `self_2`, not `self__2`.
        let stem = match base.trim_end_matches('_') {
            "" => base,
            trimmed => trimmed,
        };
        let mut n = 2usize;
        loop {
            let cand = if pascal_style && !ends_digit {
                format!("{base}{n}")
            } else {
                format!("{stem}_{n}")
            };
            if self.taken.insert(cand.clone()) {
                return cand;
            }
            n += 1;
        }
    }

    /// True when `name` is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

/// Turns spec-controlled text into doc-comment lines that cannot break out of the comment,
/// create a doctest, or render as HTML/links: whitespace collapsed to one line, control and
/// invisible characters dropped, Markdown-active characters escaped, length bounded.
pub fn doc_line(text: &str, max_chars: usize) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if count >= max_chars {
            out.push('…');
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if matches!(c, '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '~' | '#') {
            out.push('\\');
        }
        out.push(c);
        count += 1;
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Text safe to put inside a `//` line comment: one line, printable.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_camel_snake_and_acronyms() {
        assert_eq!(snake("entityTypeId", "f"), "entity_type_id");
        assert_eq!(snake("CRM_ENTITY_TYPE", "f"), "crm_entity_type");
        assert_eq!(snake("HTTPServer", "f"), "http_server");
        assert_eq!(snake("UF_CRM_1712345678", "f"), "uf_crm_1712345678");
        assert_eq!(snake("1C_ID", "f"), "_1c_id");
        assert_eq!(snake("ID", "f"), "id");
        assert_eq!(pascal("getFields", "T"), "GetFields");
        assert_eq!(pascal("1C_ID", "T"), "V1CId");
    }

    #[test]
    fn keywords_get_a_suffix() {
        for k in [
            "type", "gen", "self", "crate", "super", "match", "async", "try", "dyn", "union",
            "mod", "fn",
        ] {
            assert_eq!(snake(k, "f"), format!("{k}_"));
        }
        assert_eq!(pascal("Self", "T"), "SelfValue");
        assert_eq!(snake("_", "field"), "field");
    }

    #[test]
    fn cyrillic_is_transliterated_and_other_scripts_escaped() {
        assert_eq!(snake("ФИО", "f"), "fio");
        assert_eq!(snake("Телефон", "f"), "telefon");
        assert_eq!(snake("名前", "f"), "u540d_u524d");
    }

    #[test]
    fn collisions_get_numbered() {
        let mut n = Names::default();
        assert_eq!(n.take("a_b"), "a_b");
        assert_eq!(n.take("a_b"), "a_b_2");
        assert_eq!(n.take("Name"), "Name");
        assert_eq!(n.take("Name"), "Name2");
        assert_eq!(n.take("V1"), "V1");
        assert_eq!(n.take("V1"), "V1_2");
        assert_eq!(n.take("self_"), "self_");
        assert_eq!(n.take("self_"), "self_2");
    }

    #[test]
    fn doc_lines_are_neutralised() {
        let d =
            doc_line("a */ \"# `x` ```rust\n<script>\u{202E}\0 [l](j:x)", 200).unwrap_or_default();
        assert!(!d.contains('\n') && !d.contains('\u{202E}') && !d.contains('\0'));
        assert!(d.contains("\\`\\`\\`rust") && d.contains("\\<script\\>"));
        assert_eq!(doc_line("   \t ", 10), None);
    }
}
