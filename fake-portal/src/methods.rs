//! The method table: handlers, seeded lists and required parameters registered by hand or
//! read from specs, aliases, and running one call (budget, `ERROR_ARGUMENT`, the answer).

use std::sync::Arc;

use serde_json::Value;

use crate::limits::Operating;
use crate::lists::list;
use crate::{FakeError, FakePortal, Handler, Outcome, Portal};

/// One method the portal answers: a handler, else a seeded list, else `true`.
#[derive(Clone, Default)]
pub(crate) struct MethodDef {
    pub(crate) name: String,
    pub(crate) required: Vec<String>,
    pub(crate) handler: Option<Handler>,
    pub(crate) list: Option<Arc<Vec<(i64, Value)>>>,
    /// The key of `result` the list's rows sit under (`items`), if not `result` itself.
    pub(crate) wrap: Option<String>,
}

impl FakePortal {
    /// Registers (or replaces) a method answered by `handler`.
    pub fn on(
        &self,
        method: &str,
        handler: impl Fn(&Value) -> Result<Value, FakeError> + Send + Sync + 'static,
    ) {
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.handler = Some(Arc::new(handler));
    }

    /// Requires these top-level parameters of a method (`ERROR_ARGUMENT` when missing).
    pub fn require(&self, method: &str, params: &[&str]) {
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.required = params.iter().map(|p| (*p).to_owned()).collect();
    }

    /// Registers every method of the specs in `dir` (`*.md`), with their aliases and
    /// required parameters. Methods without a handler or list answer `true`. Returns how
    /// many specs were read; specs that do not parse are skipped.
    pub fn load_specs(&self, dir: &std::path::Path) -> std::io::Result<usize> {
        let mut count = 0;
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path)?;
            let src = codegen::SourceFile {
                path: path.display().to_string(),
                text,
            };
            let mut diags = codegen::Diagnostics::default();
            let Some(spec) = codegen::spec::parse(&src, &mut diags) else {
                continue;
            };
            let required = match &spec.params.root.kind {
                codegen::schema::Kind::Object(o) => o
                    .properties
                    .iter()
                    .filter(|p| p.required)
                    .map(|p| p.name.clone())
                    .collect(),
                _ => Vec::new(),
            };
            if spec.api == codegen::ApiVersion::V3 {
                crate::v3::register(&self.portal, &spec.method, required);
                count += 1;
                continue;
            }
            let mut s = self.portal.lock();
            let key = spec.method.to_ascii_lowercase();
            let def = s.methods.entry(key.clone()).or_default();
            def.name = spec.method.clone();
            def.required = required;
            for alias in &spec.aliases {
                s.aliases.insert(alias.to_ascii_lowercase(), key.clone());
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Portal {
    /// Runs one method, budget checked and counted; returns the outcome and the method's
    /// operating figures.
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<(Outcome, Option<Operating>), FakeError> {
        let (def, key) = {
            let mut s = self.lock();
            s.record(method, params);
            let key = s
                .aliases
                .get(method)
                .cloned()
                .unwrap_or_else(|| method.to_owned());
            match s.methods.get(&key) {
                Some(d) => (d.clone(), key),
                None => {
                    return Err(FakeError::new(
                        404,
                        "ERROR_METHOD_NOT_FOUND",
                        "Method not found!",
                    ));
                }
            }
        };
        let operating = self.spend(&key)?;
        for r in &def.required {
            let present = params.as_object().is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(r) && !v.is_null() && v.as_str() != Some("")
                })
            });
            if !present {
                return Err(FakeError::new(
                    400,
                    "ERROR_ARGUMENT",
                    &format!("Required parameter '{r}' is missing"),
                ));
            }
        }
        let outcome = if let Some(h) = &def.handler {
            Outcome {
                result: h(params)?,
                total: None,
                next: None,
            }
        } else if let Some(rows) = &def.list {
            let mut outcome = list(rows, params)?;
            outcome.result = crate::extra::wrap(def.wrap.as_deref(), outcome.result);
            outcome
        } else {
            Outcome {
                result: Value::Bool(true),
                total: None,
                next: None,
            }
        };
        Ok((outcome, Some(operating)))
    }
}
