//! Call functions, alias functions and `impl Method` of each method.

use super::{Emitter, docs, ident};
use crate::ir::{AliasFn, Api, Body, Field, Method, Module, Ty, TypeDef};
use crate::spec::Pagination;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

impl Emitter<'_> {
    fn method_docs(&self, method: &Method) -> Vec<String> {
        let s = &method.spec;
        let mut lines = vec![format!("Calls `{}`.", s.method)];
        let rate = format_rate(s.rate_limit_per_sec);
        lines.push(format!("Scope `{}`; at most {rate} per second.", s.scope));
        if s.pagination == Pagination::Start {
            lines.push(
                "Pages of 50 rows: set `start` to the offset; the envelope's `next` and `total` say what is left."
                    .to_owned(),
            );
        }
        if !s.aliases.is_empty() {
            let list: Vec<String> = s.aliases.iter().map(|a| format!("`{a}`")).collect();
            lines.push(format!("Also reachable as {}.", list.join(", ")));
        }
        if !s.errors.is_empty() {
            let codes: Vec<String> = s.errors.iter().map(|c| format!("\"{c}\"")).collect();
            if let Some(l) = crate::naming::doc_line(
                &format!("Documented error codes: {}.", codes.join(", ")),
                1000,
            ) {
                lines.push(l);
            }
        }
        let req = &self.module_of(method).types[method.request].name;
        lines.push(format!(
            "Build the request with `{req}::new` and its setters; send it with this function or with `Client::call`."
        ));
        lines.extend(docs_link(method));
        lines
    }

    pub(super) fn method_fn(&self, method: &Method, cfg: &TokenStream) -> TokenStream {
        let rt = &self.rt;
        let s = &method.spec;
        let doc = docs(&self.method_docs(method));
        let name = ident(&method.fn_ident);
        let m = self.module_of(method);
        let req = ident(&m.types[method.request].name);
        let resp = ident(&m.types[method.response].name);
        let deprecated = deprecated(method);
        if s.pagination == Pagination::Start {
            quote! {
                #doc #cfg #deprecated
                pub async fn #name(client: &#rt::Client, request: &#req) -> Result<#rt::Envelope<#resp>, #rt::Error> {
                    client.call_envelope(request).await
                }
            }
        } else {
            quote! {
                #doc #cfg #deprecated
                pub async fn #name(client: &#rt::Client, request: &#req) -> Result<#resp, #rt::Error> {
                    client.call(request).await
                }
            }
        }
    }

    pub(super) fn method_impl(
        &self,
        method: &Method,
        m: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let req = ident(&m.types[method.request].name);
        let resp = ident(&m.types[method.response].name);
        let wire = &method.spec.method;
        let pagination = self.pagination(method.spec.pagination);
        let rate = Literal::f64_unsuffixed(method.spec.rate_limit_per_sec);
        let errors = &method.spec.errors;
        let errors = (!errors.is_empty()).then(|| {
            quote! { const ERRORS: &'static [&'static str] = &[#(#errors),*]; }
        });
        let mut list_consts = TokenStream::new();
        let mut rows = TokenStream::new();
        if let Some(shape) = list_shape(self.api, method, m) {
            if let Some(f) = shape.field {
                let key = &f.wire;
                let field = ident(&f.ident);
                let elem = self.ty(&shape.elem, m);
                let take = if matches!(f.ty, Ty::Option(_)) {
                    quote!(self.#field.unwrap_or_default().into_iter())
                } else {
                    quote!(self.#field.into_iter())
                };
                list_consts.extend(quote! { const ITEMS_KEY: Option<&'static str> = Some(#key); });
                rows = quote! {
                    #cfg
                    impl ::std::iter::IntoIterator for #resp {
                        type Item = #elem;
                        type IntoIter = ::std::vec::IntoIter<#elem>;
                        fn into_iter(self) -> Self::IntoIter { #take }
                    }
                };
            }
            if shape.id_key != "ID" {
                let id = shape.id_key;
                list_consts.extend(quote! { const ID_KEY: &'static str = #id; });
            }
        }
        let api = (method.spec.api == crate::spec::ApiVersion::V3)
            .then(|| quote! { const API: #rt::ApiVersion = #rt::ApiVersion::V3; });
        quote! {
            #cfg
            impl #rt::Method for #req {
                const NAME: &'static str = #wire;
                const PAGINATION: #rt::Pagination = #pagination;
                const RATE_LIMIT_PER_SEC: f64 = #rate;
                #errors
                #list_consts
                #api
                type Response = #resp;
            }
            #rows
        }
    }

    /// The field enum of a classic list method (`ListField`), when its rows are a struct with
    /// declared fields: one variant per wire name, for `Filter`, `Order` and `select`.
    pub(super) fn list_field_enum(
        &self,
        method: &Method,
        m: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let Some(name) = &method.field_enum else {
            return TokenStream::new();
        };
        let Some(shape) = list_shape(self.api, method, m) else {
            return TokenStream::new();
        };
        let elem = match &shape.elem {
            Ty::Box(b) => b.as_ref(),
            t => t,
        };
        let row_type = match elem {
            Ty::Named(i) => m.types.get(*i).map(|t| through_alias(self.api, t)),
            Ty::Shared(i) => self.api.shared_def(*i).map(|(_, t)| t),
            _ => None,
        };
        let Some(row_type) = row_type else {
            return TokenStream::new();
        };
        let Body::Struct { fields, .. } = &row_type.body else {
            return TokenStream::new();
        };
        let wires: Vec<&str> = fields.iter().map(|f| f.wire.as_str()).collect();
        let doc = vec![
            format!(
                "The fields of `{}`'s rows (`{}`), by wire name: for `Filter`, `Order` and `select`.",
                method.spec.method, row_type.name
            ),
            "Fields the spec does not declare (user fields `UF_*`) go in as text.".to_owned(),
        ];
        self.field_enum(name, &doc, &wires, cfg)
    }

    pub(super) fn alias_fn(
        &self,
        a: &AliasFn,
        method: &Method,
        here: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let target = self.module_of(method);
        // Relative path from this module to the method's module.
        let mut path = TokenStream::new();
        for _ in 0..here.path.len() {
            path.extend(quote!(super::));
        }
        for seg in &method.module {
            let id = ident(seg);
            path.extend(quote!(#id::));
        }
        let req_name = ident(&target.types[method.request].name);
        let resp_name = ident(&target.types[method.response].name);
        let req = quote!(#path #req_name);
        let resp = quote!(#path #resp_name);
        let fn_name = ident(&a.fn_ident);
        let wire = &a.wire;
        let mut lines = vec![
            format!(
                "Calls `{}` under its alias `{}`.",
                method.spec.method, a.wire
            ),
            format!("Same parameters and result as `{}`.", method.spec.method),
        ];
        lines.extend(docs_link(method));
        let doc = docs(&lines);
        let deprecated = deprecated(method);
        if method.spec.pagination == Pagination::Start {
            quote! {
                #doc #cfg #deprecated
                pub async fn #fn_name(client: &#rt::Client, request: &#req) -> Result<#rt::Envelope<#resp>, #rt::Error> {
                    client.call_envelope_as(#wire, request).await
                }
            }
        } else {
            quote! {
                #doc #cfg #deprecated
                pub async fn #fn_name(client: &#rt::Client, request: &#req) -> Result<#resp, #rt::Error> {
                    client.call_as(#wire, request).await
                }
            }
        }
    }

    pub(super) fn pagination(&self, p: Pagination) -> TokenStream {
        let rt = &self.rt;
        match p {
            Pagination::None => quote!(#rt::Pagination::None),
            Pagination::Start => quote!(#rt::Pagination::Start),
        }
    }
}

/// Where a list method's rows sit, from its response type: the `result` array itself, or the
/// one array field of an object `result` (`{items: [...]}`); the rows' ID key is `ID`, or `id`
/// when only that is declared. `None` for a method without `pagination: start` or whose rows
/// cannot be found. Shared by `impl Method` (`ITEMS_KEY`, `ID_KEY`) and the registry.
pub(super) struct ListShape<'a> {
    /// The array field of an object `result`; `None` when `result` is the array.
    pub field: Option<&'a Field>,
    /// The rows' type.
    pub elem: Ty,
    /// The rows' ID key.
    pub id_key: &'static str,
}

pub(super) fn list_shape<'a>(
    api: &'a Api,
    method: &Method,
    m: &'a Module,
) -> Option<ListShape<'a>> {
    // A `Vec<T>` (or `Option<Vec<T>>`): its element type, and the type of a named `T`.
    let array = |t: &Ty| -> Option<(Ty, Option<&'a TypeDef>)> {
        let t = match t {
            Ty::Option(t) => t.as_ref(),
            t => t,
        };
        match t {
            Ty::Vec(e) => Some((
                e.as_ref().clone(),
                match e.as_ref() {
                    Ty::Named(n) => m.types.get(*n).map(|t| through_alias(api, t)),
                    Ty::Shared(n) => api.shared_def(*n).map(|(_, t)| t),
                    _ => None,
                },
            )),
            _ => None,
        }
    };
    let struct_fields = |t: &'a TypeDef| match &t.body {
        Body::Struct { fields, .. } => Some(fields),
        _ => None,
    };
    let (field, (elem, item)) = match (method.spec.pagination, &m.types[method.response].body) {
        (Pagination::Start, Body::Alias(t)) => (None, array(t)?),
        (Pagination::Start, Body::Struct { fields, .. }) => {
            let arrays: Vec<(&Field, (Ty, Option<&TypeDef>))> = fields
                .iter()
                .filter_map(|f| array(&f.ty).map(|a| (f, a)))
                .collect();
            match <[_; 1]>::try_from(arrays) {
                Ok([(f, a)]) => (Some(f), a),
                Err(_) => return None,
            }
        }
        _ => return None,
    };
    let has = |t: &'a TypeDef, key: &str| {
        struct_fields(t).is_some_and(|f| f.iter().any(|f| f.wire == key))
    };
    let id_key = match item {
        Some(i) if !has(i, "ID") && has(i, "id") => "id",
        _ => "ID",
    };
    Some(ListShape {
        field,
        elem,
        id_key,
    })
}

/// A type, or the type spec's type it is an alias of (a property's name for a shared type).
fn through_alias<'a>(api: &'a Api, t: &'a TypeDef) -> &'a TypeDef {
    match &t.body {
        Body::Alias(Ty::Shared(i)) => api.shared_def(*i).map_or(t, |(_, s)| s),
        _ => t,
    }
}

fn deprecated(method: &Method) -> TokenStream {
    if method.spec.deprecated {
        quote!(#[deprecated(note = "marked deprecated in its spec; avoid it in new code")])
    } else {
        TokenStream::new()
    }
}

fn format_rate(r: f64) -> String {
    if r == 1.0 {
        "1 call".to_owned()
    } else {
        format!("{r} calls")
    }
}

/// The doc line linking a method's official page (the spec's `docs`), when the URL is safe to
/// show: `https://`, a host, and only characters that can neither end the `<…>` autolink nor
/// mean anything to Markdown or HTML. Anything else is left out rather than escaped.
pub(super) fn docs_link(method: &Method) -> Option<String> {
    let url = method.spec.docs.as_deref()?;
    safe_url(url).then(|| format!("Official documentation: <{url}>."))
}

pub(crate) fn safe_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    url.len() <= 300
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        && rest.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'/'
                        | b'%'
                        | b'?'
                        | b'='
                        | b'&'
                        | b'+'
                        | b'#'
                        | b':'
                        | b','
                )
        })
}

#[cfg(test)]
mod tests {
    use super::safe_url;

    #[test]
    fn only_plain_https_urls_are_linked() {
        assert!(safe_url(
            "https://apidocs.bitrix24.ru/api-reference/crm/deals/crm-deal-get.html"
        ));
        assert!(safe_url("https://example.com/a?b=c&d=e#f"));
        for bad in [
            "http://example.com/",
            "https://",
            "https:///path",
            "https://example.com/<script>",
            "https://example.com/a>b",
            "https://example.com/a b",
            "https://example.com/a\nb",
            "https://example.com/a)b",
            "https://example.com/a`b",
            "https://example.com/a\"b",
            "https://example.com/[x](y)",
            "https://exa_mple.com/",
            "javascript:alert(1)",
        ] {
            assert!(!safe_url(bad), "{bad:?}");
        }
    }
}
