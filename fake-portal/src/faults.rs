//! Fault injection: which request gets which fault (`every` n-th matching request, `times` in
//! all). What a fault does to the answer is decided in `server`.

use std::time::Duration;

use crate::{FakePortal, State};

/// A fault to inject into matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only requests of this method (lower-case wire name; `batch` for batches); `None`
    /// for all.
    pub method: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// Every `every`-th matching request gets the fault (1 = each one).
    pub every: u64,
    /// How many times in all.
    pub times: u64,
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// HTTP 503 with an HTML page, before the method runs.
    Unavailable,
    /// HTTP 500 `INTERNAL_SERVER_ERROR`, before the method runs.
    ServerError,
    /// The method runs, then the answer waits this long.
    Slow(Duration),
    /// The method runs, then the connection is closed without an answer.
    Drop,
    /// The method runs, then the answer is cut-off JSON.
    Malformed,
}

/// The fault chosen for a request, if any.
pub(crate) enum Chosen {
    None,
    Before(FaultKind),
    After(FaultKind),
}

impl FakePortal {
    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        self.portal.lock().faults.push((fault, 0));
    }
}

/// The fault for this request (the first whose turn it is), counted in the stats.
pub(crate) fn choose_fault(s: &mut State, method: &str) -> Chosen {
    s.counter += 1;
    let mut chosen = Chosen::None;
    for (fault, seen) in s.faults.iter_mut() {
        if fault.times == 0 || fault.method.as_deref().is_some_and(|m| m != method) {
            continue;
        }
        *seen += 1;
        if *seen % fault.every.max(1) == 0 {
            fault.times -= 1;
            chosen = match &fault.kind {
                k @ (FaultKind::Unavailable | FaultKind::ServerError) => Chosen::Before(k.clone()),
                k => Chosen::After(k.clone()),
            };
            break;
        }
    }
    if !matches!(chosen, Chosen::None) {
        s.stats.faults += 1;
    }
    chosen
}
