//! Two behaviours of real portals, kept apart from the core: a portal that moved to a new
//! address (it answers `302` with a `Location`, as a renamed cloud portal does), and list
//! methods whose rows sit inside the `result` object (`crm.item.list` → `{"items": [...]}`,
//! `tasks.task.list` → `{"tasks": [...]}`), with a lowercase `id`.

use std::sync::Arc;

use hyper::Response;
use hyper::body::Bytes;
use serde_json::{Value, json};

use http_body_util::Full;

use crate::server::Body;
use crate::{FakePortal, Portal, loose_i64};

impl FakePortal {
    /// Makes every REST call answer `302 Found` with `Location: <base><path>?<query>`, the
    /// way a renamed portal sends clients to its new address (`None`: serve again).
    pub fn moved_to(&self, base: Option<&str>) {
        self.portal.lock().moved = base.map(|b| b.trim_end_matches('/').to_owned());
    }

    /// Registers (or replaces) a list method whose rows sit under `key` in `result`
    /// (`{"items": [...]}`), with integer IDs under `id_key` (`id`). Paged, filtered and
    /// ordered like [`FakePortal::seed_list`]; `total` and `next` stay at the top level.
    pub fn seed_wrapped_list(&self, method: &str, key: &str, id_key: &str, items: Vec<Value>) {
        let mut rows: Vec<(i64, Value)> = items
            .into_iter()
            .filter_map(|v| Some((loose_i64(v.get(id_key)?)?, v)))
            .collect();
        rows.sort_by_key(|r| r.0);
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.list = Some(Arc::new(rows));
        def.wrap = Some(key.to_owned());
    }
}

/// `n` CRM items as `crm.item.list` returns them: `id` 1..=n as numbers, camelCase keys.
pub fn crm_items(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({ "id": i, "title": format!("Item #{i}"), "entityTypeId": 2, "opportunity": i * 10 }))
        .collect()
}

/// `n` tasks as `tasks.task.list` returns them: `id` 1..=n as strings.
pub fn tasks(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({ "id": i.to_string(), "title": format!("Task #{i}"), "status": "2" }))
        .collect()
}

impl Portal {
    /// The redirect of a moved portal, when it moved.
    pub(crate) fn moved_answer(&self, path: &str, query: &str) -> Option<Response<Body>> {
        let base = self.lock().moved.clone()?;
        if !path.starts_with("/rest/") {
            return None;
        }
        let location = if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        };
        Response::builder()
            .status(302)
            .header("location", location)
            .header("content-type", "text/html")
            .body(Full::new(Bytes::from_static(b"<html>302 Found</html>")))
            .ok()
    }
}

/// Wraps a list page's rows under the method's key, when it has one.
pub(crate) fn wrap(key: Option<&str>, rows: Value) -> Value {
    match key {
        Some(k) => json!({ k: rows }),
        None => rows,
    }
}
