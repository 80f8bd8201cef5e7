//! The layout of a page: lines, headings (with `{#anchor}`), fenced code blocks, and YFM
//! `#| … |#` tables split into rows and cells (code spans, `\|`, nested tables and code blocks
//! respected); small Markdown text helpers.
//!
//! Knows nothing about what the page means; depends on nothing else in the crate.

#[derive(Debug, Clone)]
pub(super) struct Heading {
    pub(super) line: usize,
    pub(super) level: usize,
    pub(super) text: String,
    pub(super) anchor: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct CodeBlock {
    /// 1-based line of the first content line.
    pub(super) line: usize,
    pub(super) lang: String,
    pub(super) text: String,
}

/// A table: its line and its rows (cells as text), header first.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) line: usize,
    pub(super) rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) line: usize,
    pub(super) cells: Vec<String>,
}

pub(super) struct Doc<'a> {
    pub(super) lines: Vec<&'a str>,
    pub(super) headings: Vec<Heading>,
    pub(super) tables: Vec<Table>,
    pub(super) code: Vec<CodeBlock>,
}

fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim_start();
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    if n < 3 {
        return None;
    }
    Some((c, n, t.get(n..).unwrap_or("").trim()))
}

pub(super) fn scan(text: &str) -> Doc<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut headings = Vec::new();
    let mut code = Vec::new();
    let mut tables = Vec::new();
    let mut fence: Option<(char, usize, String, usize, Vec<&str>)> = None;
    // Table state: depth of `#|` nesting, the table being read, the row being read.
    let mut depth = 0usize;
    let mut table: Option<Table> = None;
    let mut row: Option<(usize, Vec<&str>)> = None;
    for (i, &line) in lines.iter().enumerate() {
        let n = i + 1;
        if let Some((c, len, lang, start, body)) = &mut fence {
            if let Some((c2, len2, rest)) = fence_of(line)
                && c2 == *c
                && len2 >= *len
                && rest.is_empty()
            {
                code.push(CodeBlock {
                    line: *start,
                    lang: std::mem::take(lang),
                    text: dedent(body),
                });
                fence = None;
            } else {
                body.push(line);
            }
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        if let Some((c, len, lang)) = fence_of(line) {
            fence = Some((c, len, lang.to_ascii_lowercase(), n + 1, Vec::new()));
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        let t = line.trim();
        if t.starts_with("#|") {
            depth += 1;
            if depth == 1 {
                table = Some(Table {
                    line: n,
                    rows: Vec::new(),
                });
                row = None;
                continue;
            }
        }
        if depth > 0 && t.starts_with("|#") {
            depth -= 1;
            if depth == 0 {
                if let Some(mut tb) = table.take() {
                    if let Some((rl, r)) = row.take() {
                        tb.rows.push(Row {
                            line: rl,
                            cells: cells(&r),
                        });
                    }
                    tables.push(tb);
                }
                continue;
            }
        }
        if depth == 1 {
            match &mut row {
                None => {
                    if let Some(rest) = t.strip_prefix("||") {
                        let ends = rest.trim_end().len() >= 2 && rest.trim_end().ends_with("||");
                        if ends {
                            if let Some(tb) = &mut table {
                                tb.rows.push(Row {
                                    line: n,
                                    cells: cells(&[rest]),
                                });
                            }
                        } else {
                            row = Some((n, vec![rest]));
                        }
                    }
                }
                Some((rl, r)) => {
                    r.push(line);
                    if t.ends_with("||") {
                        let rl = *rl;
                        let r = std::mem::take(r);
                        row = None;
                        if let Some(tb) = &mut table {
                            tb.rows.push(Row {
                                line: rl,
                                cells: cells(&r),
                            });
                        }
                    }
                }
            }
            continue;
        }
        if depth > 1 {
            if let Some((_, r)) = &mut row {
                r.push(line);
            }
            continue;
        }
        if let Some(h) = heading(line, n) {
            headings.push(h);
        }
    }
    if let Some((_, _, lang, start, body)) = fence {
        code.push(CodeBlock {
            line: start,
            lang,
            text: dedent(&body),
        });
    }
    if let Some(mut tb) = table {
        if let Some((rl, r)) = row {
            tb.rows.push(Row {
                line: rl,
                cells: cells(&r),
            });
        }
        tables.push(tb);
    }
    Doc {
        lines,
        headings,
        tables,
        code,
    }
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn heading(line: &str, n: usize) -> Option<Heading> {
    let level = line.chars().take_while(|&c| c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = line.get(level..)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let mut text = rest.trim().to_owned();
    let mut anchor = None;
    if let Some(p) = text.rfind("{#")
        && text.ends_with('}')
    {
        anchor = text
            .get(p + 2..text.len() - 1)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        text = text.get(..p).unwrap_or("").trim().to_owned();
    }
    Some(Heading {
        line: n,
        level,
        text,
        anchor,
    })
}

/// Splits a row's text into cells at `|` outside backtick spans, nested tables and code
/// blocks; `\|` is not a separator. The row's trailing `||` is dropped.
pub(super) fn cells(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut fence = false;
    let last = lines.len().saturating_sub(1);
    for (i, raw) in lines.iter().enumerate() {
        let mut line: &str = raw;
        if i == last {
            let t = line.trim_end();
            line = t.strip_suffix("||").unwrap_or(t);
        }
        let t = line.trim();
        if fence_of(line).is_some() {
            fence = !fence;
        }
        if !fence && t.starts_with("#|") {
            depth += 1;
        }
        if !fence && depth > 0 && t.starts_with("|#") {
            depth -= 1;
            cur.push_str(line);
            cur.push('\n');
            continue;
        }
        if fence || depth > 0 {
            cur.push_str(line);
            cur.push('\n');
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut k = 0;
        let mut tick: usize = 0; // length of the open backtick run, 0 outside spans
        while k < chars.len() {
            let c = chars[k];
            if c == '`' {
                let run = chars[k..].iter().take_while(|&&x| x == '`').count();
                if tick == 0 {
                    tick = run;
                } else if run == tick {
                    tick = 0;
                }
                for _ in 0..run {
                    cur.push('`');
                }
                k += run;
                continue;
            }
            if c == '\\' && chars.get(k + 1) == Some(&'|') {
                cur.push('|');
                k += 2;
                continue;
            }
            if c == '|' && tick == 0 {
                out.push(std::mem::take(&mut cur).trim().to_owned());
                k += 1;
                continue;
            }
            cur.push(c);
            k += 1;
        }
        // A backtick span never crosses a line.
        cur.push('\n');
    }
    out.push(cur.trim().to_owned());
    out
}

/// The contents of backtick spans in `s`, in order.
pub(super) fn backtick_spans(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        if chars[k] == '`' {
            let run = chars[k..].iter().take_while(|&&x| x == '`').count();
            let start = k + run;
            let mut j = start;
            let mut found = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let r2 = chars[j..].iter().take_while(|&&x| x == '`').count();
                    if r2 == run {
                        found = Some(j);
                        break;
                    }
                    j += r2;
                } else {
                    j += 1;
                }
            }
            match found {
                Some(end) => {
                    out.push(
                        chars[start..end]
                            .iter()
                            .collect::<String>()
                            .trim()
                            .to_owned(),
                    );
                    k = end + run;
                }
                None => k = start,
            }
        } else {
            k += 1;
        }
    }
    out
}

/// Text without Markdown emphasis and code marks.
pub(super) fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_respect_code_spans_and_escapes() {
        assert_eq!(
            cells(&["a | `b | c` | d \\| e ||"]),
            ["a", "`b | c`", "d | e"]
        );
    }
}
