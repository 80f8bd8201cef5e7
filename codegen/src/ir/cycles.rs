//! Cycles in the type space: alias loops become newtypes, struct loops are broken with `Box`.

use super::*;

/// Turns aliases that reach themselves through other aliases only into newtypes: a cycle of
/// type aliases never ends, a cycle through a struct does.
pub(super) fn newtype_alias_cycles(m: &mut Module) {
    let n = m.types.len();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, t) in m.types.iter().enumerate() {
        if let Body::Alias(ty) = &t.body {
            all_refs(ty, &mut edges[i]);
        }
    }
    let is_alias: Vec<bool> = m
        .types
        .iter()
        .map(|t| matches!(t.body, Body::Alias(_)))
        .collect();
    for i in 0..n {
        if !is_alias[i] {
            continue;
        }
        let mut seen = vec![false; n];
        let mut stack: Vec<usize> = edges[i].iter().copied().collect();
        let mut cyclic = false;
        while let Some(x) = stack.pop() {
            if x == i {
                cyclic = true;
                break;
            }
            if !is_alias[x] || std::mem::replace(&mut seen[x], true) {
                continue;
            }
            stack.extend(edges[x].iter().copied());
        }
        if cyclic {
            if let Body::Alias(ty) = &m.types[i].body {
                m.types[i].body = Body::Newtype(ty.clone());
            }
        }
    }
    for c in m.children.values_mut() {
        newtype_alias_cycles(c);
    }
}

pub(super) fn all_refs(ty: &Ty, out: &mut BTreeSet<usize>) {
    match ty {
        Ty::Named(i) => {
            out.insert(*i);
        }
        Ty::Option(t) | Ty::Vec(t) | Ty::Map(t) | Ty::Box(t) => all_refs(t, out),
        _ => {}
    }
}

/// Wraps in `Box` every direct (not behind `Vec`/`BTreeMap`/`Box`) reference that closes a cycle.
pub(super) fn box_cycles(m: &mut Module) {
    let n = m.types.len();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, t) in m.types.iter().enumerate() {
        for ty in body_types(&t.body) {
            direct_refs(ty, &mut edges[i]);
        }
    }
    let reach = |from: usize, to: usize| -> bool {
        let mut seen = vec![false; n];
        let mut stack = vec![from];
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            stack.extend(edges[x].iter().copied());
        }
        false
    };
    let mut to_box: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for i in 0..n {
        for &j in &edges[i] {
            if reach(j, i) {
                to_box[i].insert(j);
            }
        }
    }
    for (i, t) in m.types.iter_mut().enumerate() {
        if to_box[i].is_empty() {
            continue;
        }
        let targets = &to_box[i];
        match &mut t.body {
            Body::Struct { fields, extra, .. } => {
                for f in fields {
                    box_direct(&mut f.ty, targets);
                }
                if let Some((_, ty)) = extra {
                    box_direct(ty, targets);
                }
            }
            Body::Union(vs) => {
                for v in vs {
                    box_direct(&mut v.ty, targets);
                }
            }
            Body::Alias(ty) | Body::Newtype(ty) => box_direct(ty, targets),
            Body::Pending => {}
        }
    }
    for c in m.children.values_mut() {
        box_cycles(c);
    }
}

pub(super) fn body_types(b: &Body) -> Vec<&Ty> {
    match b {
        Body::Struct { fields, extra, .. } => fields
            .iter()
            .map(|f| &f.ty)
            .chain(extra.iter().map(|(_, t)| t))
            .collect(),
        Body::Union(vs) => vs.iter().map(|v| &v.ty).collect(),
        Body::Alias(t) | Body::Newtype(t) => vec![t],
        Body::Pending => Vec::new(),
    }
}

pub(super) fn direct_refs(ty: &Ty, out: &mut BTreeSet<usize>) {
    match ty {
        Ty::Named(i) => {
            out.insert(*i);
        }
        Ty::Option(inner) => direct_refs(inner, out),
        _ => {}
    }
}

pub(super) fn box_direct(ty: &mut Ty, targets: &BTreeSet<usize>) {
    match ty {
        Ty::Named(i) if targets.contains(i) => *ty = Ty::Box(Box::new(Ty::Named(*i))),
        Ty::Option(inner) => box_direct(inner, targets),
        _ => {}
    }
}
