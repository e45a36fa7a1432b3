//! The SoQL subset the test server evaluates for real: `$select` (with aliases, `*`, `:*`, aggregates,
//! `date_trunc_*`, casts), `$where`, `$group`, `$having`, `$order`, `$limit`, `$offset`, simple column filters.
//! Errors come back in Socrata's shape (`errorCode` + `message` + `data`).

mod exec;
mod parse;
mod plan;

pub(crate) use exec::execute;
pub(crate) use plan::{query_aggregates_updated_at, query_sums_column};

/// Socrata's maximum `$limit` on 2.x endpoints.
pub(crate) const MAX_LIMIT: u64 = 50_000;
/// Socrata's `$limit` when none is given.
pub(crate) const DEFAULT_LIMIT: u64 = 1_000;

/// A query the server rejects with HTTP 400.
#[derive(Debug, Clone)]
pub(crate) struct SoqlError {
    /// Socrata's `errorCode`, e.g. `query.soql.no-such-column`.
    pub code: &'static str,
    pub message: String,
    pub data: serde_json::Value,
}

impl SoqlError {
    pub(crate) fn invalid(message: String) -> SoqlError {
        SoqlError { code: "query.soql.invalid-query", message, data: serde_json::json!({}) }
    }

    pub(crate) fn no_such_column(column: &str, dataset: &str) -> SoqlError {
        SoqlError {
            code: "query.soql.no-such-column",
            message: format!("No such column: {column}"),
            data: serde_json::json!({"column": column, "dataset": dataset, "position": {"row": 1, "column": 1}}),
        }
    }

    pub(crate) fn type_mismatch(message: String) -> SoqlError {
        SoqlError { code: "query.soql.type-mismatch", message, data: serde_json::json!({}) }
    }

    pub(crate) fn no_such_function(name: &str) -> SoqlError {
        SoqlError {
            code: "query.soql.no-such-function",
            message: format!("No such function: {name}"),
            data: serde_json::json!({"function": name}),
        }
    }

    /// The JSON body Socrata sends with a 400.
    pub(crate) fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "message": format!("Query coordinator error: {}; {}", self.code, self.message),
            "errorCode": self.code,
            "data": self.data,
        })
    }
}

/// The SoQL parameters of one request, decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueryParams {
    pub select: Option<String>,
    pub where_: Option<String>,
    pub group: Option<String>,
    pub having: Option<String>,
    pub order: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// `$$exclude_system_fields=false` adds the system fields to a default select (SODA 2.0 endpoints).
    pub include_system_fields: bool,
    /// `?column=value` equality filters.
    pub filters: Vec<(String, String)>,
}

impl QueryParams {
    /// From decoded query-string pairs; an unknown `$` parameter is an error, as on Socrata.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Result<QueryParams, SoqlError> {
        let mut q = QueryParams::default();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "$select" => &mut q.select,
                "$where" => &mut q.where_,
                "$group" => &mut q.group,
                "$having" => &mut q.having,
                "$order" => &mut q.order,
                "$limit" => &mut q.limit,
                "$offset" => &mut q.offset,
                "$$exclude_system_fields" => {
                    q.include_system_fields = v.eq_ignore_ascii_case("false");
                    continue;
                }
                "$$app_token" | "$$read_from_nbe" | "$$version" => continue,
                other if other.starts_with('$') => {
                    return Err(SoqlError::invalid(format!("Unrecognized parameter {other}")));
                }
                _ => {
                    q.filters.push((k.clone(), v.clone()));
                    continue;
                }
            };
            *slot = Some(v.clone());
        }
        Ok(q)
    }
}

/// True when the request's `$select` or `$group` asks for an aggregate (used to classify requests, before
/// and regardless of planning).
pub(crate) fn looks_aggregate(params: &QueryParams) -> bool {
    if params.group.is_some() {
        return true;
    }
    let Some(select) = &params.select else { return false };
    let lower = select.to_lowercase();
    plan::AGGREGATES.iter().any(|f| {
        lower.match_indices(f).any(|(i, _)| {
            let before_ok =
                i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric() && lower.as_bytes()[i - 1] != b'_';
            before_ok && lower[i + f.len()..].trim_start().starts_with('(')
        })
    })
}
