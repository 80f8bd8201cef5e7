//! The reader of method pages: the official Bitrix24 docs (YFM Markdown: `#| … |#` tables,
//! `{% … %}` tags) and spec bodies, which use the same layout. One reader for `lint` and
//! `import`.
//!
//! Everything here is a pure function over text: no file I/O, no panics on any input. What the
//! reader keeps are facts (names, types, required marks, enum values, error codes, JSON
//! examples); descriptions are read only to find enum bullets and links and are never kept.
//! Pages that do not follow the usual layout produce [`Problem`]s with line numbers, not errors.
//!
//! - `scan`: lines, headings, code blocks, tables and cells; Markdown text helpers.
//! - `page`: [`read_page`], what the page says (parameters, errors, examples).
//! - `literal`: code blocks as JSON ([`parse_json_loose`], cURL bodies, JS/PHP literals).
//! - `types`: doc types to JSON Schema ([`type_schema`], [`param_schema`], [`object_schema`]).

mod literal;
mod page;
mod scan;
mod types;

pub use literal::parse_json_loose;
pub use page::{Pages, read_page, read_page_in};
pub use types::{
    is_pattern_value, is_placeholder_key, object_schema, param_schema, type_schema, unname_tables,
};

use serde_json::Value;

/// Something irregular on a page, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// 1-based line in the page.
    pub line: usize,
    /// What is irregular, in one sentence (no text copied from the page beyond names).
    pub message: String,
}

/// One row of a parameter (or returned-data) table.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Wire name, as written in bold in the first cell.
    pub name: String,
    /// 1-based line of the row.
    pub line: usize,
    /// The doc type as written (`integer`, `string[]`, `crm_status`, `object`, `string | null`),
    /// empty when the row has none; a field of a type (`crm_currency.CURRENCY`) whose table
    /// the reader found is that field's type.
    pub doc_type: String,
    /// A `*` mark beside the name (inside or outside the bold, `\*`, `^*^`).
    pub required: bool,
    /// Values of an enum-like bullet list in the description (only for scalar types).
    pub enum_values: Vec<Value>,
    /// Rows of the nested table that describes this object (or the items of this array).
    pub children: Vec<Param>,
}

/// A JSON example found in a code block.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// 1-based line of the code block's first line of content.
    pub line: usize,
    /// Where it came from: `response`, `curl`, `js`, `php`.
    pub kind: &'static str,
    /// The parsed JSON.
    pub value: Value,
}

/// What the reader found on one page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The first level-1 heading, with its line.
    pub title: Option<(usize, String)>,
    /// The method name named in the title (a dotted name, the last one in the title).
    pub method: Option<String>,
    /// Scopes listed on the `Scope:` line, in order (`базовый` is read as `basic`).
    pub scopes: Vec<String>,
    /// Line of the `Scope:` line (0 when there is none).
    pub scope_line: usize,
    /// A DEPRECATED note, or a note that development of the method stopped.
    pub deprecated: bool,
    /// The page says the method belongs to REST 3.0 ("Метод относится к REST 3.0").
    pub rest_v3: bool,
    /// Other wire names the page gives for this method.
    pub aliases: Vec<String>,
    /// The method's parameter table, nested tables attached.
    pub params: Vec<Param>,
    /// Line of the parameter table (0 when there is none).
    pub params_line: usize,
    /// The returned-data table, nested tables attached.
    pub returned: Vec<Param>,
    /// Error codes from error tables, in page order, without duplicates.
    pub errors: Vec<String>,
    /// Line of the first error table (0 when there is none).
    pub errors_line: usize,
    /// The success-response example (the whole envelope when it has `result`).
    pub response: Option<Example>,
    /// Request examples: cURL JSON bodies, JS and PHP parameter literals.
    pub requests: Vec<Example>,
    /// Irregularities found while reading.
    pub problems: Vec<Problem>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = "# Добавить что-то crm.thing.add

> Scope: [`crm`](../../scopes/permissions.md)
>
> Кто может выполнять метод: любой

{% note warning \"DEPRECATED\" %}

x

{% endnote %}

## Параметры метода

#|
|| **Название**
`тип` | **Описание** ||
|| **fields***
[`object`](../../data-types.md) | Поля ([подробнее](#fields)) ||
|| **ID**\\*
[`integer`](../../data-types.md) | x ||
|| **MODE**
[`string`](x) | Режим:
- `fast` — быстро
- `slow` — медленно
 ||
|| **LEVEL** ^*^
`integer` | x:
- 1 — one
- 2 — two ||
|#

### Параметр fields {#fields}

#|
|| **Название**
`тип` | **Описание** ||
|| **TITLE** *
[`string`](x) | a | b in `c | d` ||
|| **TAGS**
[`string[]`](x) | x ||
|#

## Примеры кода

- cURL (Webhook)

    ```bash
    curl -X POST \\
    -d '{\"fields\":{\"TITLE\":\"x\"},\"ID\":1}' \\
    https://example/rest/crm.thing.add
    ```

- JS

    ```js
    BX24.callMethod(
        'crm.thing.add',
        {
            fields: { TITLE: 'x', TAGS: ['a', 'b'], },
            ID: 1,
        },
        function(result) {}
    );
    ```

- PHP

    ```php
    $r = $b24->core->call('crm.thing.add', ['fields' => ['TITLE' => 'x'], 'ID' => 1]);
    ```

## Обработка ответа

HTTP-статус: **200**

```json
{
    \"result\": 5, // a comment
    \"time\": {\"start\": 1.5,}
}
```

### Возвращаемые данные

#|
|| **Название**
`тип` | **Описание** ||
|| **result**
[`integer`](x) | x ||
|#

## Обработка ошибок

### Возможные коды ошибок

#|
|| **Статус** | **Код** | **Описание** ||
|| `400` | `ACCESS_DENIED` | x ||
|| `400` | Пустое значение | x ||
|| `400` | `NOT_FOUND` | x ||
|#
";

    #[test]
    fn reads_a_regular_page() {
        let p = read_page(PAGE);
        assert_eq!(p.method.as_deref(), Some("crm.thing.add"));
        assert_eq!(p.title.as_ref().map(|t| t.0), Some(1));
        assert_eq!(p.scopes, vec!["crm"]);
        assert_eq!(p.scope_line, 3);
        assert!(p.deprecated);
        let names: Vec<&str> = p.params.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["fields", "ID", "MODE", "LEVEL"]);
        let req: Vec<bool> = p.params.iter().map(|x| x.required).collect();
        assert_eq!(req, [true, true, false, true]);
        assert_eq!(p.params[0].doc_type, "object");
        assert_eq!(p.params[1].doc_type, "integer");
        assert_eq!(p.params[2].enum_values, vec![json!("fast"), json!("slow")]);
        assert_eq!(p.params[3].enum_values, vec![json!(1), json!(2)]);
        let child: Vec<(&str, bool, &str)> = p.params[0]
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.required, c.doc_type.as_str()))
            .collect();
        assert_eq!(
            child,
            [("TITLE", true, "string"), ("TAGS", false, "string[]")]
        );
        assert_eq!(p.errors, ["ACCESS_DENIED", "NOT_FOUND"]);
        assert_eq!(p.returned.len(), 1);
        assert_eq!(p.returned[0].name, "result");
        let resp = p.response.as_ref().map(|e| e.value.clone());
        assert_eq!(resp, Some(json!({"result": 5, "time": {"start": 1.5}})));
        let reqs: Vec<(&str, Value)> = p
            .requests
            .iter()
            .map(|e| (e.kind, e.value.clone()))
            .collect();
        assert_eq!(
            reqs,
            [
                ("curl", json!({"fields": {"TITLE": "x"}, "ID": 1})),
                (
                    "js",
                    json!({"fields": {"TITLE": "x", "TAGS": ["a", "b"]}, "ID": 1})
                ),
                ("php", json!({"fields": {"TITLE": "x"}, "ID": 1})),
            ]
        );
    }

    #[test]
    fn schema_from_params() {
        let p = read_page(PAGE);
        let s = object_schema(&p.params, true);
        assert_eq!(s["required"], json!(["fields", "ID", "LEVEL"]));
        assert_eq!(s["properties"]["fields"]["required"], json!(["TITLE"]));
        assert_eq!(
            s["properties"]["fields"]["properties"]["TAGS"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(
            s["properties"]["MODE"],
            json!({"type": "string", "enum": ["fast", "slow"]})
        );
        assert_eq!(
            s["properties"]["LEVEL"],
            json!({"type": "integer", "enum": [1, 2]})
        );
    }

    #[test]
    fn irregular_pages_do_not_panic() {
        let cases = [
            "",
            "#|",
            "#|\n||",
            "|#",
            "# t a.b\n#|\n|| **x\n",
            "```",
            "```json\n{",
            "## Параметры\n#|\n|| **Название** | **Описание** ||\n|| **x** ||\n|#",
            "## Параметры\n#|\n|| **Название** ||\n|| **ё*** `объект` | ||\n|#\n### ё\n#|\n|#",
            "# Метод a.b\n## Обработка ответа\n```json\n{\"result\": [1, 2,, ...]}\n```",
            "# a.b\n## Примеры\n```js\nBX24.callMethod('a.b', {x: y}, f)\n```\n```php\ncall('a.b', ['x' => $y])\n```",
            "**\u{202e}**",
            "\u{feff}# x.y\r\n> Scope: [`crm, базовый, Плохой`]\r\n",
        ];
        for c in cases {
            let _ = read_page(c);
        }
        // Every prefix of the full page, cut at every char boundary.
        for (i, _) in PAGE.char_indices() {
            let _ = read_page(&PAGE[..i]);
        }
    }
}
