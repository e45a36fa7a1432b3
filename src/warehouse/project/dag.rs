//! Orders nodes so each runs after everything it `ref`s. Ties run in name order, so every build runs the same
//! sequence; a cycle is an error that names the nodes on it.

use std::collections::{BTreeMap, BTreeSet};

use crate::warehouse::error::WarehouseError;

/// Node name → the names it depends on. Returns the names in a valid build order.
pub fn order(deps: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>, WarehouseError> {
    for (node, ds) in deps {
        if let Some(missing) = ds.iter().find(|d| !deps.contains_key(*d)) {
            return Err(WarehouseError::Graph {
                message: format!("{node} refers to {missing}, which is neither a model nor a seed"),
            });
        }
    }
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> =
        deps.iter().map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect())).collect();
    let mut out = Vec::with_capacity(deps.len());
    loop {
        let ready: Vec<&str> = remaining.iter().filter(|(_, ds)| ds.is_empty()).map(|(k, _)| *k).collect();
        if ready.is_empty() {
            break;
        }
        for r in &ready {
            remaining.remove(r);
        }
        for ds in remaining.values_mut() {
            for r in &ready {
                ds.remove(r);
            }
        }
        out.extend(ready.into_iter().map(str::to_string));
    }
    if remaining.is_empty() {
        return Ok(out);
    }
    Err(WarehouseError::Graph { message: format!("the refs form a cycle: {}", describe_cycle(&remaining)) })
}

/// Walks from any node still blocked until a node repeats: that stretch is a cycle.
fn describe_cycle(remaining: &BTreeMap<&str, BTreeSet<&str>>) -> String {
    let Some(start) = remaining.keys().next() else { return String::new() };
    let mut path: Vec<&str> = vec![start];
    let mut current = *start;
    while let Some(next) = remaining.get(current).and_then(|ds| ds.iter().next()) {
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle: Vec<&str> = path[pos..].to_vec();
            cycle.push(next);
            return cycle.join(" → ");
        }
        path.push(next);
        current = next;
    }
    remaining.keys().copied().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn dependencies_come_first() {
        let g = graph(&[
            ("fct", &["stg"]),
            ("stg", &["seed"]),
            ("seed", &[]),
            ("mart", &["fct", "dim"]),
            ("dim", &["fct"]),
        ]);
        assert_eq!(order(&g).unwrap(), ["seed", "stg", "fct", "dim", "mart"]);
    }

    #[test]
    fn cycle_is_an_error_naming_its_members() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        let err = order(&g).unwrap_err().to_string();
        assert!(err.contains("cycle") && err.contains("a → b → c → a"), "{err}");
        let g = graph(&[("a", &["ghost"])]);
        assert!(order(&g).unwrap_err().to_string().contains("ghost"));
    }
}
