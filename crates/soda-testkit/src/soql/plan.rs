//! Resolves a parsed query against the data set: names become column indexes, select aliases are substituted
//! into `$group`/`$order`/`$having`, literals compared with timestamps are normalized once, types are checked
//! (Socrata's `type-mismatch`), and aggregate calls become accumulator slots.

use std::collections::HashMap;

use super::parse::{self, ArithOp, Ast, CmpOp, OrderItem, SelectItem};
use super::{QueryParams, SoqlError, DEFAULT_LIMIT, MAX_LIMIT};
use crate::dataset::Dataset;
use crate::value::{normalize_timestamp, Decimal, SoqlType, Value};

pub(crate) const AGGREGATES: &[&str] = &["count", "max", "min", "sum", "avg"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFn {
    CountStar,
    Count,
    Max,
    Min,
    Sum,
    Avg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    TruncYm,
    TruncY,
    TruncYmd,
    Upper,
    Lower,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    Col(usize, SoqlType),
    Id,
    CreatedAt,
    UpdatedAt,
    Lit(Value<'static>),
    Func(Func, Box<CExpr>),
    Cast(Box<CExpr>, SoqlType),
    Not(Box<CExpr>),
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    Cmp(CmpOp, Box<CExpr>, Box<CExpr>),
    Arith(ArithOp, Box<CExpr>, Box<CExpr>),
    Neg(Box<CExpr>),
    IsNull(Box<CExpr>, bool),
    Between(Box<CExpr>, Box<CExpr>, Box<CExpr>, bool),
    In(Box<CExpr>, Vec<CExpr>, bool),
    Like(Box<CExpr>, String, bool),
    /// The value of aggregate slot `n` for the current group.
    Agg(usize),
}

/// One output column.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub name: String,
    pub expr: CExpr,
    /// For `X-SODA2-Types`.
    pub type_name: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub outputs: Vec<Output>,
    pub filter: Option<CExpr>,
    pub aggregate: bool,
    pub group: Vec<CExpr>,
    pub having: Option<CExpr>,
    pub order: Vec<(CExpr, bool)>,
    pub aggs: Vec<(AggFn, Option<CExpr>)>,
    pub limit: u64,
    pub offset: u64,
}

impl Plan {
    /// True when the order is the storage order (`:id` ascending, or none).
    pub(crate) fn storage_order(&self) -> bool {
        matches!(self.order.as_slice(), [] | [(CExpr::Id, false)])
    }
}

fn contains_aggregate(a: &Ast) -> bool {
    match a {
        Ast::Call { name, args, .. } => AGGREGATES.contains(&name.as_str()) || args.iter().any(contains_aggregate),
        Ast::Cast(e, _) | Ast::Not(e) | Ast::Neg(e) => contains_aggregate(e),
        Ast::And(l, r) | Ast::Or(l, r) | Ast::Cmp(_, l, r) | Ast::Arith(_, l, r) => {
            contains_aggregate(l) || contains_aggregate(r)
        }
        Ast::IsNull { expr, .. } => contains_aggregate(expr),
        Ast::Between { expr, low, high, .. } => {
            contains_aggregate(expr) || contains_aggregate(low) || contains_aggregate(high)
        }
        Ast::In { expr, list, .. } => contains_aggregate(expr) || list.iter().any(contains_aggregate),
        Ast::Like { expr, pattern, .. } => contains_aggregate(expr) || contains_aggregate(pattern),
        _ => false,
    }
}

fn mentions(a: &Ast, pred: &dyn Fn(&Ast) -> bool) -> bool {
    if pred(a) {
        return true;
    }
    match a {
        Ast::Call { args, .. } => args.iter().any(|x| mentions(x, pred)),
        Ast::Cast(e, _) | Ast::Not(e) | Ast::Neg(e) => mentions(e, pred),
        Ast::And(l, r) | Ast::Or(l, r) | Ast::Cmp(_, l, r) | Ast::Arith(_, l, r) => {
            mentions(l, pred) || mentions(r, pred)
        }
        Ast::IsNull { expr, .. } => mentions(expr, pred),
        Ast::Between { expr, low, high, .. } => mentions(expr, pred) || mentions(low, pred) || mentions(high, pred),
        Ast::In { expr, list, .. } => mentions(expr, pred) || list.iter().any(|x| mentions(x, pred)),
        Ast::Like { expr, pattern, .. } => mentions(expr, pred) || mentions(pattern, pred),
        _ => false,
    }
}

/// True when an aggregate call's argument refers to `:updated_at` (which a server may refuse to aggregate).
pub(crate) fn aggregates_updated_at(a: &Ast) -> bool {
    mentions(a, &|x| match x {
        Ast::Call { name, args, .. } if AGGREGATES.contains(&name.as_str()) => {
            args.iter().any(|arg| mentions(arg, &|y| matches!(y, Ast::System(s) if s == ":updated_at")))
        }
        _ => false,
    })
}

/// Replaces names that are select aliases by the aliased expression.
fn substitute_aliases(a: &Ast, aliases: &HashMap<String, Ast>) -> Ast {
    let sub = |x: &Ast| Box::new(substitute_aliases(x, aliases));
    match a {
        Ast::Name(n) => aliases.get(n).cloned().unwrap_or_else(|| a.clone()),
        Ast::Call { name, args, star } => Ast::Call {
            name: name.clone(),
            args: args.iter().map(|x| substitute_aliases(x, aliases)).collect(),
            star: *star,
        },
        Ast::Cast(e, t) => Ast::Cast(sub(e), *t),
        Ast::Not(e) => Ast::Not(sub(e)),
        Ast::Neg(e) => Ast::Neg(sub(e)),
        Ast::And(l, r) => Ast::And(sub(l), sub(r)),
        Ast::Or(l, r) => Ast::Or(sub(l), sub(r)),
        Ast::Cmp(op, l, r) => Ast::Cmp(*op, sub(l), sub(r)),
        Ast::Arith(op, l, r) => Ast::Arith(*op, sub(l), sub(r)),
        Ast::IsNull { expr, negated } => Ast::IsNull { expr: sub(expr), negated: *negated },
        Ast::Between { expr, low, high, negated } => {
            Ast::Between { expr: sub(expr), low: sub(low), high: sub(high), negated: *negated }
        }
        Ast::In { expr, list, negated } => Ast::In {
            expr: sub(expr),
            list: list.iter().map(|x| substitute_aliases(x, aliases)).collect(),
            negated: *negated,
        },
        Ast::Like { expr, pattern, negated } => Ast::Like { expr: sub(expr), pattern: sub(pattern), negated: *negated },
        other => other.clone(),
    }
}

struct Compiler<'a> {
    ds: &'a Dataset,
    dataset_id: &'a str,
    /// `Some` while compiling expressions where aggregates are allowed.
    aggs: Option<Vec<(AggFn, Option<CExpr>)>>,
    agg_asts: Vec<Ast>,
}

fn is_literal(e: &CExpr) -> bool {
    matches!(e, CExpr::Lit(_))
}

impl Compiler<'_> {
    fn compile(&mut self, a: &Ast) -> Result<(CExpr, SoqlType), SoqlError> {
        Ok(match a {
            Ast::Name(n) => {
                let c = self.ds.column_index(n).ok_or_else(|| SoqlError::no_such_column(n, self.dataset_id))?;
                let ty = self.ds.columns[c].ty;
                (CExpr::Col(c, ty), ty)
            }
            Ast::System(s) => match s.as_str() {
                ":id" => (CExpr::Id, SoqlType::Text),
                ":created_at" => (CExpr::CreatedAt, SoqlType::FixedTimestamp),
                ":updated_at" => (CExpr::UpdatedAt, SoqlType::FixedTimestamp),
                other => return Err(SoqlError::no_such_column(other, self.dataset_id)),
            },
            Ast::Str(s) => (CExpr::Lit(Value::Text(s.clone().into())), SoqlType::Text),
            Ast::Num(n) => (CExpr::Lit(Value::Number(parse::number_literal(n)?)), SoqlType::Number),
            Ast::Bool(b) => (CExpr::Lit(Value::Bool(*b)), SoqlType::Boolean),
            Ast::Null => (CExpr::Lit(Value::Null), SoqlType::Null),
            Ast::Call { name, args, star } => return self.call(a, name, args, *star),
            Ast::Cast(e, ty) => {
                let (c, from) = self.compile(e)?;
                let ok = from == *ty
                    || from == SoqlType::Null
                    || *ty == SoqlType::Text
                    || from == SoqlType::Text
                    || (from.is_timestamp() && ty.is_timestamp());
                if !ok {
                    return Err(SoqlError::type_mismatch(format!(
                        "Cannot cast {} to {}",
                        from.soda_name(),
                        ty.soda_name()
                    )));
                }
                if let CExpr::Lit(v) = &c {
                    return Ok((CExpr::Lit(cast_literal(v, *ty)?), *ty));
                }
                (CExpr::Cast(Box::new(c), *ty), *ty)
            }
            Ast::Not(e) => {
                let c = self.boolean(e)?;
                (CExpr::Not(Box::new(c)), SoqlType::Boolean)
            }
            Ast::And(l, r) => (CExpr::And(Box::new(self.boolean(l)?), Box::new(self.boolean(r)?)), SoqlType::Boolean),
            Ast::Or(l, r) => (CExpr::Or(Box::new(self.boolean(l)?), Box::new(self.boolean(r)?)), SoqlType::Boolean),
            Ast::Cmp(op, l, r) => {
                let (l, r) = self.comparable(l, r, op_name(*op))?;
                (CExpr::Cmp(*op, Box::new(l), Box::new(r)), SoqlType::Boolean)
            }
            Ast::Arith(op, l, r) => {
                let (lc, lt) = self.compile(l)?;
                let (rc, rt) = self.compile(r)?;
                let want = if *op == ArithOp::Concat { SoqlType::Text } else { SoqlType::Number };
                for t in [lt, rt] {
                    if t != want && t != SoqlType::Null {
                        return Err(SoqlError::type_mismatch(format!(
                            "Type mismatch for arithmetic: {} is not {}",
                            t.soda_name(),
                            want.soda_name()
                        )));
                    }
                }
                (CExpr::Arith(*op, Box::new(lc), Box::new(rc)), want)
            }
            Ast::Neg(e) => {
                let (c, t) = self.compile(e)?;
                if t != SoqlType::Number {
                    return Err(SoqlError::type_mismatch(format!("Cannot negate {}", t.soda_name())));
                }
                (CExpr::Neg(Box::new(c)), SoqlType::Number)
            }
            Ast::IsNull { expr, negated } => {
                let (c, _) = self.compile(expr)?;
                (CExpr::IsNull(Box::new(c), *negated), SoqlType::Boolean)
            }
            Ast::Between { expr, low, high, negated } => {
                let (e1, lo) = self.comparable(expr, low, "between")?;
                let (_, hi) = self.comparable(expr, high, "between")?;
                (CExpr::Between(Box::new(e1), Box::new(lo), Box::new(hi), *negated), SoqlType::Boolean)
            }
            Ast::In { expr, list, negated } => {
                let mut items = Vec::new();
                let mut left = None;
                for item in list {
                    let (l, r) = self.comparable(expr, item, "in")?;
                    left = Some(l);
                    items.push(r);
                }
                let left = left.ok_or_else(|| SoqlError::invalid("IN needs at least one value".to_string()))?;
                (CExpr::In(Box::new(left), items, *negated), SoqlType::Boolean)
            }
            Ast::Like { expr, pattern, negated } => {
                let (c, t) = self.compile(expr)?;
                if t != SoqlType::Text {
                    return Err(SoqlError::type_mismatch(format!("LIKE needs text, not {}", t.soda_name())));
                }
                let Ast::Str(p) = pattern.as_ref() else {
                    return Err(SoqlError::invalid("LIKE needs a string literal pattern".to_string()));
                };
                (CExpr::Like(Box::new(c), p.clone(), *negated), SoqlType::Boolean)
            }
        })
    }

    fn boolean(&mut self, a: &Ast) -> Result<CExpr, SoqlError> {
        let (c, t) = self.compile(a)?;
        if t != SoqlType::Boolean && t != SoqlType::Null {
            return Err(SoqlError::type_mismatch(format!("Expected a boolean expression, found {}", t.soda_name())));
        }
        Ok(c)
    }

    /// Compiles both sides of a comparison and makes their types agree: a text literal next to a timestamp
    /// becomes a timestamp, next to a number a number; anything else that differs is a type mismatch.
    fn comparable(&mut self, l: &Ast, r: &Ast, op: &str) -> Result<(CExpr, CExpr), SoqlError> {
        let (mut lc, lt) = self.compile(l)?;
        let (mut rc, rt) = self.compile(r)?;
        if lt == rt || lt == SoqlType::Null || rt == SoqlType::Null || (lt.is_timestamp() && rt.is_timestamp()) {
            return Ok((lc, rc));
        }
        let mismatch = || {
            SoqlError::type_mismatch(format!("Type mismatch for {op}, is {} and {}", lt.soda_name(), rt.soda_name()))
        };
        if rt == SoqlType::Text && is_literal(&rc) && lt != SoqlType::Boolean {
            if let CExpr::Lit(v) = &rc {
                rc = CExpr::Lit(cast_literal(v, lt).map_err(|_| mismatch())?);
            }
            return Ok((lc, rc));
        }
        if lt == SoqlType::Text && is_literal(&lc) && rt != SoqlType::Boolean {
            if let CExpr::Lit(v) = &lc {
                lc = CExpr::Lit(cast_literal(v, rt).map_err(|_| mismatch())?);
            }
            return Ok((lc, rc));
        }
        Err(mismatch())
    }

    fn call(&mut self, whole: &Ast, name: &str, args: &[Ast], star: bool) -> Result<(CExpr, SoqlType), SoqlError> {
        if AGGREGATES.contains(&name) {
            if self.aggs.is_none() {
                return Err(SoqlError::invalid(format!("Aggregate {name}() is not allowed here")));
            }
            if let Some(i) = self.agg_asts.iter().position(|x| x == whole) {
                let ty = self.agg_type(name, args)?;
                return Ok((CExpr::Agg(i), ty));
            }
            let (func, arg, ty) = if star {
                if name != "count" {
                    return Err(SoqlError::invalid(format!("{name}(*) is not allowed")));
                }
                (AggFn::CountStar, None, SoqlType::Number)
            } else {
                let [arg] = args else {
                    return Err(SoqlError::invalid(format!("{name}() takes one argument")));
                };
                let saved = self.aggs.take();
                let compiled = self.compile(arg);
                self.aggs = saved;
                let (c, t) = compiled?;
                let func = match name {
                    "count" => AggFn::Count,
                    "max" => AggFn::Max,
                    "min" => AggFn::Min,
                    "sum" => AggFn::Sum,
                    _ => AggFn::Avg,
                };
                if matches!(func, AggFn::Sum | AggFn::Avg) && t != SoqlType::Number {
                    return Err(SoqlError::type_mismatch(format!(
                        "Type mismatch for {name}, is {}; cast it with ::number",
                        t.soda_name()
                    )));
                }
                let ty = if func == AggFn::Count { SoqlType::Number } else { t };
                (func, Some(c), ty)
            };
            let aggs = self.aggs.as_mut().ok_or_else(|| SoqlError::invalid("aggregate not allowed".to_string()))?;
            aggs.push((func, arg));
            self.agg_asts.push(whole.clone());
            return Ok((CExpr::Agg(aggs.len() - 1), ty));
        }
        let func = match name {
            "date_trunc_ym" => Func::TruncYm,
            "date_trunc_y" => Func::TruncY,
            "date_trunc_ymd" => Func::TruncYmd,
            "upper" => Func::Upper,
            "lower" => Func::Lower,
            other => return Err(SoqlError::no_such_function(other)),
        };
        let [arg] = args else {
            return Err(SoqlError::invalid(format!("{name}() takes one argument")));
        };
        let (c, t) = self.compile(arg)?;
        let ty = match func {
            Func::Upper | Func::Lower => {
                if t != SoqlType::Text {
                    return Err(SoqlError::type_mismatch(format!("{name}() needs text, not {}", t.soda_name())));
                }
                SoqlType::Text
            }
            _ => {
                if !t.is_timestamp() {
                    return Err(SoqlError::type_mismatch(format!("Type mismatch for {name}, is {}", t.soda_name())));
                }
                SoqlType::FloatingTimestamp
            }
        };
        Ok((CExpr::Func(func, Box::new(c)), ty))
    }

    fn agg_type(&mut self, name: &str, args: &[Ast]) -> Result<SoqlType, SoqlError> {
        if name == "count" {
            return Ok(SoqlType::Number);
        }
        let saved = self.aggs.take();
        let r = args.first().map(|a| self.compile(a)).transpose();
        self.aggs = saved;
        Ok(match (name, r?) {
            ("sum" | "avg", _) => SoqlType::Number,
            (_, Some((_, t))) => t,
            (_, None) => SoqlType::Null,
        })
    }
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "$eq",
        CmpOp::Ne => "$neq",
        CmpOp::Lt => "$lt",
        CmpOp::Le => "$lte",
        CmpOp::Gt => "$gt",
        CmpOp::Ge => "$gte",
    }
}

/// Converts a literal to `ty` at plan time (an unparseable literal is the caller's type mismatch).
fn cast_literal(v: &Value<'static>, ty: SoqlType) -> Result<Value<'static>, SoqlError> {
    let text = match v {
        Value::Null => return Ok(Value::Null),
        other => other.render().map(|t| t.into_owned()).unwrap_or_default(),
    };
    let bad = || SoqlError::type_mismatch(format!("'{text}' is not a valid {}", ty.soda_name()));
    Ok(match ty {
        SoqlType::Text | SoqlType::Null => Value::Text(text.into()),
        SoqlType::Number => Value::Number(Decimal::parse(&text).ok_or_else(bad)?),
        SoqlType::FloatingTimestamp => Value::Timestamp(normalize_timestamp(&text, false).ok_or_else(bad)?.into()),
        SoqlType::FixedTimestamp => Value::Timestamp(normalize_timestamp(&text, true).ok_or_else(bad)?.into()),
        SoqlType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
    })
}

fn parse_count(text: Option<&str>, what: &str, default: u64) -> Result<u64, SoqlError> {
    match text {
        None => Ok(default),
        Some(t) => t
            .trim()
            .parse::<u64>()
            .map_err(|_| SoqlError::invalid(format!("Invalid value for {what}: '{t}' is not a non-negative integer"))),
    }
}

/// Plans a query against `ds`.
pub(crate) fn plan(ds: &Dataset, dataset_id: &str, q: &QueryParams) -> Result<Plan, SoqlError> {
    let limit = parse_count(q.limit.as_deref(), "$limit", DEFAULT_LIMIT)?;
    if limit > MAX_LIMIT {
        return Err(SoqlError {
            code: "query.soql.invalid-limit",
            message: format!("$limit {limit} is above the maximum of {MAX_LIMIT}; page with $offset"),
            data: serde_json::json!({"limit": limit, "max": MAX_LIMIT}),
        });
    }
    let offset = parse_count(q.offset.as_deref(), "$offset", 0)?;

    let select_items = match &q.select {
        Some(s) => parse::parse_select(s)?,
        None if q.include_system_fields => vec![SelectItem::SystemStar, SelectItem::Star],
        None => vec![SelectItem::Star],
    };
    let group_asts = q.group.as_deref().map(parse::parse_list).transpose()?.unwrap_or_default();
    let order_items: Vec<OrderItem> = q.order.as_deref().map(parse::parse_order).transpose()?.unwrap_or_default();
    let where_ast = q.where_.as_deref().map(parse::parse_expr).transpose()?;
    let having_ast = q.having.as_deref().map(parse::parse_expr).transpose()?;

    let mut aliases = HashMap::new();
    for item in &select_items {
        if let SelectItem::Expr { expr, alias: Some(a) } = item {
            aliases.insert(a.clone(), expr.clone());
        }
    }
    let aggregate = !group_asts.is_empty()
        || select_items.iter().any(|i| matches!(i, SelectItem::Expr { expr, .. } if contains_aggregate(expr)));

    let mut c = Compiler { ds, dataset_id, aggs: None, agg_asts: Vec::new() };

    // $where and simple filters: row level, no aggregates.
    let mut filter = match &where_ast {
        Some(w) => Some(c.boolean(w)?),
        None => None,
    };
    for (col, val) in &q.filters {
        let ast = Ast::Cmp(CmpOp::Eq, Box::new(Ast::Name(col.clone())), Box::new(Ast::Str(val.clone())));
        let e = c.boolean(&ast)?;
        filter = Some(match filter {
            Some(f) => CExpr::And(Box::new(f), Box::new(e)),
            None => e,
        });
    }

    let group_resolved: Vec<Ast> = group_asts.iter().map(|g| substitute_aliases(g, &aliases)).collect();
    let mut group = Vec::new();
    for g in &group_resolved {
        if contains_aggregate(g) {
            return Err(SoqlError::invalid("aggregates are not allowed in $group".to_string()));
        }
        group.push(c.compile(g)?.0);
    }

    if aggregate {
        c.aggs = Some(Vec::new());
    }
    let mut outputs = Vec::new();
    for item in &select_items {
        match item {
            SelectItem::Star | SelectItem::SystemStar if aggregate => {
                return Err(SoqlError::invalid("* cannot be selected in an aggregate query".to_string()));
            }
            SelectItem::Star => {
                for (i, col) in ds.columns.iter().enumerate() {
                    outputs.push(Output {
                        name: col.name.clone(),
                        expr: CExpr::Col(i, col.ty),
                        type_name: col.ty.soda_name(),
                    });
                }
            }
            SelectItem::SystemStar => {
                for (name, expr) in
                    [(":id", CExpr::Id), (":created_at", CExpr::CreatedAt), (":updated_at", CExpr::UpdatedAt)]
                {
                    outputs.push(Output { name: name.to_string(), expr, type_name: "meta_data" });
                }
            }
            SelectItem::Expr { expr, alias } => {
                if aggregate
                    && !contains_aggregate(expr)
                    && mentions(expr, &|x| matches!(x, Ast::Name(_) | Ast::System(_)))
                    && !group_resolved.contains(expr)
                {
                    return Err(SoqlError {
                        code: "query.soql.invalid-group-by",
                        message: format!("`{}` must appear in $group or be used in an aggregate", expr.default_name()),
                        data: serde_json::json!({}),
                    });
                }
                let (compiled, ty) = c.compile(expr)?;
                let type_name = match (expr, alias) {
                    (Ast::System(_), None) => "meta_data",
                    _ => ty.soda_name(),
                };
                outputs.push(Output {
                    name: alias.clone().unwrap_or_else(|| expr.default_name()),
                    expr: compiled,
                    type_name,
                });
            }
        }
    }
    let mut order = Vec::new();
    for o in &order_items {
        let resolved = substitute_aliases(&o.expr, &aliases);
        order.push((c.compile(&resolved)?.0, o.descending));
    }
    let having = match &having_ast {
        Some(h) if aggregate => Some(c.boolean(&substitute_aliases(h, &aliases))?),
        Some(_) => return Err(SoqlError::invalid("$having needs an aggregate query".to_string())),
        None => None,
    };
    let aggs = c.aggs.take().unwrap_or_default();
    Ok(Plan { outputs, filter, aggregate, group, having, order, aggs, limit, offset })
}

/// True when a `sum(...)` call's argument refers to the column `column` (an independent SODA server refused
/// `sum(offense_id::number)` while computing every other aggregate).
fn sums_column(a: &Ast, column: &str) -> bool {
    mentions(a, &|x| match x {
        Ast::Call { name, args, .. } if name == "sum" => {
            args.iter().any(|arg| mentions(arg, &|y| matches!(y, Ast::Name(n) if n == column)))
        }
        _ => false,
    })
}

/// True when any aggregate in the query's `$select`/`$order`/`$having` is over `:updated_at`.
pub(crate) fn query_aggregates_updated_at(q: &QueryParams) -> bool {
    query_mentions(q, &aggregates_updated_at)
}

/// True when the query's `$select`/`$order`/`$having` sums the column `column`.
pub(crate) fn query_sums_column(q: &QueryParams, column: &str) -> bool {
    query_mentions(q, &|a| sums_column(a, column))
}

/// True when `pred` holds somewhere in the query's `$select`, `$order` or `$having` (aliases resolved).
fn query_mentions(q: &QueryParams, pred: &dyn Fn(&Ast) -> bool) -> bool {
    let select = q.select.as_deref().and_then(|s| parse::parse_select(s).ok()).unwrap_or_default();
    let mut aliases = HashMap::new();
    let mut hit = false;
    for item in &select {
        if let SelectItem::Expr { expr, alias } = item {
            hit |= pred(expr);
            if let Some(a) = alias {
                aliases.insert(a.clone(), expr.clone());
            }
        }
    }
    for o in q.order.as_deref().and_then(|s| parse::parse_order(s).ok()).unwrap_or_default() {
        hit |= pred(&substitute_aliases(&o.expr, &aliases));
    }
    if let Some(h) = q.having.as_deref().and_then(|s| parse::parse_expr(s).ok()) {
        hit |= pred(&substitute_aliases(&h, &aliases));
    }
    hit
}
