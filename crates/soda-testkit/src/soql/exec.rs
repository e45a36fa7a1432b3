//! Runs a plan over the data set and writes the JSON body the way Socrata does (`[{...}\n,{...}]\n`, every
//! value a string, NULLs omitted). Values borrow from the column dictionaries, so a 50,000-row page
//! allocates almost nothing per value.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

// Group keys want a fast hash, not resistance to hash flooding; a fixed seed keeps every run alike.
use foldhash::fast::FixedState;

use super::parse::{ArithOp, CmpOp};
use super::plan::{plan, AggFn, CExpr, Func, Plan};
use super::{QueryParams, SoqlError};
use crate::dataset::Dataset;
use crate::value::{normalize_timestamp, Decimal, GroupKey, SoqlType, Value};

/// A query's answer: the body and the `X-SODA2-*` headers.
pub(crate) struct QueryOutput {
    pub fields: Vec<String>,
    pub types: Vec<&'static str>,
    pub body: Vec<u8>,
}

pub(crate) fn execute(ds: &Dataset, dataset_id: &str, q: &QueryParams) -> Result<QueryOutput, SoqlError> {
    let p = plan(ds, dataset_id, q)?;
    let ev = Eval { ds };
    let candidates = candidates(ds, p.filter.as_ref(), !p.aggregate);
    let mut body = Vec::with_capacity(1024);
    body.push(b'[');
    let keys: Vec<Vec<u8>> = p.outputs.iter().map(|o| json_key(&o.name)).collect();
    let mut rows = 0usize;
    if p.aggregate {
        for g in aggregate(&ev, &p, candidates)? {
            write_row(
                &mut body,
                &mut rows,
                p.outputs.iter().zip(&keys).map(|(o, k)| (k, ev.eval(&o.expr, g.first, &g.accs))),
            );
        }
    } else {
        for r in select_rows(&ev, &p, candidates) {
            write_row(
                &mut body,
                &mut rows,
                p.outputs.iter().zip(&keys).map(|(o, k)| (k, ev.eval(&o.expr, Some(r), &[]))),
            );
        }
    }
    body.extend_from_slice(b"]\n");
    Ok(QueryOutput {
        fields: p.outputs.iter().map(|o| o.name.clone()).collect(),
        types: p.outputs.iter().map(|o| o.type_name).collect(),
        body,
    })
}

fn json_key(name: &str) -> Vec<u8> {
    let mut k = Vec::new();
    write_json_str(&mut k, name);
    k.push(b':');
    k
}

fn write_row<'a>(body: &mut Vec<u8>, rows: &mut usize, fields: impl Iterator<Item = (&'a Vec<u8>, Value<'a>)>) {
    if *rows > 0 {
        body.extend_from_slice(b"\n,");
    }
    *rows += 1;
    body.push(b'{');
    let mut first = true;
    for (key, v) in fields {
        let Some(text) = v.render() else { continue };
        if !first {
            body.push(b',');
        }
        first = false;
        body.extend_from_slice(key);
        if matches!(v, Value::Bool(_)) {
            body.extend_from_slice(text.as_bytes());
        } else {
            write_json_str(body, &text);
        }
    }
    body.push(b'}');
}

pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s.as_bytes());
    } else {
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

/// Bounds found in the top-level AND chain of a `$where` for one timestamp column.
#[derive(Default)]
struct Range {
    low: Option<(String, bool)>,
    high: Option<(String, bool)>,
}

/// Collects timestamp-range conjuncts; returns true when every conjunct was such a bound (and no bound was
/// given twice), i.e. when the range alone decides the `$where`.
fn collect_ranges(e: &CExpr, out: &mut HashMap<usize, Range>) -> bool {
    let lit_ts = |x: &CExpr| match x {
        CExpr::Lit(Value::Timestamp(t)) => Some(t.to_string()),
        _ => None,
    };
    fn set(slot: &mut Option<(String, bool)>, v: (String, bool)) -> bool {
        let fresh = slot.is_none();
        // Keep a superset when a side is bounded twice: the full `$where` is then evaluated anyway.
        if fresh {
            *slot = Some(v);
        }
        fresh
    }
    match e {
        CExpr::And(l, r) => {
            let a = collect_ranges(l, out);
            let b = collect_ranges(r, out);
            a && b
        }
        CExpr::Cmp(op, l, r) => {
            let (col, lit, op) = match (l.as_ref(), r.as_ref()) {
                (CExpr::Col(c, t), other) if t.is_timestamp() => (*c, lit_ts(other), *op),
                (other, CExpr::Col(c, t)) if t.is_timestamp() => (*c, lit_ts(other), flip(*op)),
                _ => return false,
            };
            let Some(lit) = lit else { return false };
            let range = out.entry(col).or_default();
            match op {
                CmpOp::Ge => set(&mut range.low, (lit, true)),
                CmpOp::Gt => set(&mut range.low, (lit, false)),
                CmpOp::Le => set(&mut range.high, (lit, true)),
                CmpOp::Lt => set(&mut range.high, (lit, false)),
                CmpOp::Eq => set(&mut range.low, (lit.clone(), true)) & set(&mut range.high, (lit, true)),
                CmpOp::Ne => false,
            }
        }
        CExpr::Between(x, lo, hi, false) => {
            if let (CExpr::Col(c, t), Some(lo), Some(hi)) = (x.as_ref(), lit_ts(lo), lit_ts(hi)) {
                if t.is_timestamp() {
                    let range = out.entry(*c).or_default();
                    return set(&mut range.low, (lo, true)) & set(&mut range.high, (hi, true));
                }
            }
            false
        }
        _ => false,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The rows a query can match, ascending (storage order) when `sorted`: all rows, or, when the `$where` bounds a timestamp
/// column, only the rows in that range (found through the column's sorted index).
fn candidates(ds: &Dataset, filter: Option<&CExpr>, sorted: bool) -> Candidates {
    let mut ranges = HashMap::new();
    let covered = match filter {
        Some(f) => collect_ranges(f, &mut ranges),
        None => false,
    };
    let Some((&col, range)) = ranges.iter().min_by_key(|(c, _)| **c) else {
        return Candidates::All(ds.len() as u32);
    };
    let exact = covered && ranges.len() == 1;
    let index = ds.sorted_index(col);
    let v = |r: &u32| ds.value(col, *r).unwrap_or("");
    let start = match &range.low {
        Some((lo, true)) => index.partition_point(|r| v(r) < lo.as_str()),
        Some((lo, false)) => index.partition_point(|r| v(r) <= lo.as_str()),
        None => 0,
    };
    let end = match &range.high {
        Some((hi, true)) => index.partition_point(|r| v(r) <= hi.as_str()),
        Some((hi, false)) => index.partition_point(|r| v(r) < hi.as_str()),
        None => index.len(),
    };
    let end = end.max(start);
    // A range holding most rows is cheaper to scan in row order (sequential memory) than to gather.
    if (end - start) * 2 > ds.len() {
        return Candidates::All(ds.len() as u32);
    }
    let mut rows = index[start..end].to_vec();
    if sorted {
        rows.sort_unstable();
    }
    Candidates::Some { rows, exact }
}

enum Candidates {
    All(u32),
    /// `exact`: the rows are the answer to the `$where` (no need to evaluate it again).
    Some {
        rows: Vec<u32>,
        exact: bool,
    },
}

impl Candidates {
    fn iter(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            Candidates::All(n) => Box::new(0..*n),
            Candidates::Some { rows, .. } => Box::new(rows.iter().copied()),
        }
    }

    fn exact(&self) -> bool {
        matches!(self, Candidates::Some { exact: true, .. })
    }
}

fn passes<'a>(ev: &Eval<'a>, p: &'a Plan, exact: bool, row: u32) -> bool {
    if exact {
        return true;
    }
    match &p.filter {
        None => true,
        Some(f) => matches!(ev.eval(f, Some(row), &[]), Value::Bool(true)),
    }
}

/// Compares two sort keys: NULLs last ascending, first descending (as Socrata/PostgreSQL).
fn cmp_keys(a: &[Value<'_>], b: &[Value<'_>], dirs: &[bool]) -> Ordering {
    for ((x, y), desc) in a.iter().zip(b).zip(dirs) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => x.compare(y).unwrap_or(Ordering::Equal),
        };
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn select_rows<'a>(ev: &Eval<'a>, p: &'a Plan, cands: Candidates) -> Vec<u32> {
    let exact = cands.exact();
    let offset = p.offset as usize;
    let limit = p.limit as usize;
    if p.storage_order() {
        return cands.iter().filter(|r| passes(ev, p, exact, *r)).skip(offset).take(limit).collect();
    }
    if let [(CExpr::Id, true)] = p.order.as_slice() {
        let mut rows: Vec<u32> = cands.iter().filter(|r| passes(ev, p, exact, *r)).collect();
        rows.reverse();
        return rows.into_iter().skip(offset).take(limit).collect();
    }
    let dirs: Vec<bool> = p.order.iter().map(|(_, d)| *d).collect();
    let mut keyed: Vec<(Vec<Value<'_>>, u32)> = cands
        .iter()
        .filter(|r| passes(ev, p, exact, *r))
        .map(|r| (p.order.iter().map(|(e, _)| ev.eval(e, Some(r), &[])).collect(), r))
        .collect();
    keyed.sort_by(|a, b| cmp_keys(&a.0, &b.0, &dirs));
    keyed.into_iter().skip(offset).take(limit).map(|(_, r)| r).collect()
}

/// One aggregate accumulator.
#[derive(Debug, Clone)]
enum Acc<'a> {
    Count(u64),
    Extreme(Option<Value<'a>>),
    Sum(Option<Decimal>),
    Avg(Decimal, u64),
}

impl<'a> Acc<'a> {
    fn new(f: AggFn) -> Acc<'a> {
        match f {
            AggFn::CountStar | AggFn::Count => Acc::Count(0),
            AggFn::Max | AggFn::Min => Acc::Extreme(None),
            AggFn::Sum => Acc::Sum(None),
            AggFn::Avg => Acc::Avg(Decimal::zero(), 0),
        }
    }

    fn update(&mut self, f: AggFn, v: Option<Value<'a>>) {
        match (self, v) {
            (Acc::Count(n), None) => *n += 1,
            (Acc::Count(n), Some(v)) => *n += u64::from(!v.is_null()),
            (Acc::Extreme(cur), Some(v)) if !v.is_null() => {
                let better = match cur {
                    None => true,
                    Some(c) => {
                        let o = v.compare(c).unwrap_or(Ordering::Equal);
                        if f == AggFn::Max {
                            o == Ordering::Greater
                        } else {
                            o == Ordering::Less
                        }
                    }
                };
                if better {
                    *cur = Some(v);
                }
            }
            (Acc::Sum(s), Some(Value::Number(d))) => {
                *s = Some(s.unwrap_or(Decimal::zero()).checked_add(d).unwrap_or(d))
            }
            (Acc::Avg(s, n), Some(Value::Number(d))) => {
                *s = s.checked_add(d).unwrap_or(*s);
                *n += 1;
            }
            _ => {}
        }
    }

    fn value(&self) -> Value<'a> {
        match self {
            Acc::Count(n) => Value::Number(Decimal::from_i64(*n as i64)),
            Acc::Extreme(v) => v.clone().unwrap_or(Value::Null),
            Acc::Sum(s) => s.map(Value::Number).unwrap_or(Value::Null),
            Acc::Avg(s, n) => s.checked_div_int(*n).map(Value::Number).unwrap_or(Value::Null),
        }
    }
}

struct Group<'a> {
    first: Option<u32>,
    accs: Vec<Value<'a>>,
}

fn aggregate<'a>(ev: &Eval<'a>, p: &'a Plan, cands: Candidates) -> Result<Vec<Group<'a>>, SoqlError> {
    let mut index: HashMap<Vec<KeyPart<'a>>, usize, FixedState> = HashMap::default();
    let mut key: Vec<KeyPart<'a>> = Vec::with_capacity(p.group.len());
    let exact = cands.exact();
    let mut groups: Vec<(Option<u32>, Vec<Acc<'a>>)> = Vec::new();
    let fresh = || p.aggs.iter().map(|(f, _)| Acc::new(*f)).collect::<Vec<_>>();
    if p.group.is_empty() {
        groups.push((None, fresh()));
    }
    for r in cands.iter() {
        if !passes(ev, p, exact, r) {
            continue;
        }
        let gi = if p.group.is_empty() {
            0
        } else {
            key.clear();
            key.extend(p.group.iter().map(|g| ev.group_key(g, r)));
            match index.get(&key) {
                Some(&i) => i,
                None => {
                    groups.push((Some(r), fresh()));
                    index.insert(key.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            }
        };
        let g = &mut groups[gi];
        if g.0.is_none() {
            g.0 = Some(r);
        }
        for ((f, arg), acc) in p.aggs.iter().zip(g.1.iter_mut()) {
            acc.update(*f, arg.as_ref().map(|a| ev.eval(a, Some(r), &[])));
        }
    }
    let mut out: Vec<Group<'a>> =
        groups.into_iter().map(|(first, accs)| Group { first, accs: accs.iter().map(Acc::value).collect() }).collect();
    if let Some(h) = &p.having {
        out.retain(|g| matches!(ev.eval(h, g.first, &g.accs), Value::Bool(true)));
    }
    if !p.order.is_empty() {
        let dirs: Vec<bool> = p.order.iter().map(|(_, d)| *d).collect();
        let mut keyed: Vec<(Vec<Value<'a>>, Group<'a>)> =
            out.into_iter().map(|g| (p.order.iter().map(|(e, _)| ev.eval(e, g.first, &g.accs)).collect(), g)).collect();
        keyed.sort_by(|a, b| cmp_keys(&a.0, &b.0, &dirs));
        out = keyed.into_iter().map(|(_, g)| g).collect();
    }
    Ok(out.into_iter().skip(p.offset as usize).take(p.limit as usize).collect())
}

struct Eval<'a> {
    ds: &'a Dataset,
}

/// A `$group` key part: borrowed from the data set where possible (a column value, or the prefix of a
/// timestamp that a `date_trunc_*` keeps), so grouping a million rows allocates nothing per row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyPart<'a> {
    Borrowed(&'a str),
    Owned(GroupKey),
}

fn truncate(v: Value<'_>, f: Func) -> Value<'static> {
    let Value::Timestamp(t) = v else { return Value::Null };
    if t.len() < 10 {
        return Value::Null;
    }
    let zone = if t.ends_with('Z') { "Z" } else { "" };
    let s = match f {
        Func::TruncYm => format!("{}-01T00:00:00.000{zone}", &t[..7]),
        Func::TruncY => format!("{}-01-01T00:00:00.000{zone}", &t[..4]),
        _ => format!("{}T00:00:00.000{zone}", &t[..10]),
    };
    Value::Timestamp(Cow::Owned(s))
}

fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some(('_', rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}

impl<'a> Eval<'a> {
    fn group_key(&self, e: &'a CExpr, row: u32) -> KeyPart<'a> {
        match e {
            CExpr::Col(c, _) => match self.ds.value(*c, row) {
                Some(v) => KeyPart::Borrowed(v),
                None => KeyPart::Owned(GroupKey::Null),
            },
            CExpr::Func(f @ (Func::TruncYm | Func::TruncY | Func::TruncYmd), inner) => match inner.as_ref() {
                CExpr::Col(c, ty) if ty.is_timestamp() => {
                    let keep = match f {
                        Func::TruncYm => 7,
                        Func::TruncY => 4,
                        _ => 10,
                    };
                    match self.ds.value(*c, row) {
                        Some(v) if v.len() >= 10 && v.is_char_boundary(keep) => KeyPart::Borrowed(&v[..keep]),
                        _ => KeyPart::Owned(self.eval(e, Some(row), &[]).group_key()),
                    }
                }
                _ => KeyPart::Owned(self.eval(e, Some(row), &[]).group_key()),
            },
            _ => KeyPart::Owned(self.eval(e, Some(row), &[]).group_key()),
        }
    }

    fn eval(&self, e: &'a CExpr, row: Option<u32>, aggs: &[Value<'a>]) -> Value<'a> {
        let ds = self.ds;
        match e {
            CExpr::Col(c, ty) => match row.and_then(|r| ds.value(*c, r)) {
                None => Value::Null,
                Some(s) if ty.is_timestamp() => Value::Timestamp(Cow::Borrowed(s)),
                Some(s) => Value::Text(Cow::Borrowed(s)),
            },
            CExpr::Id => row.map(|r| Value::Text(Cow::Owned(ds.row_id(r)))).unwrap_or(Value::Null),
            CExpr::CreatedAt => row.map(|r| Value::Timestamp(Cow::Borrowed(ds.created_at(r)))).unwrap_or(Value::Null),
            CExpr::UpdatedAt => row.map(|r| Value::Timestamp(Cow::Borrowed(ds.updated_at(r)))).unwrap_or(Value::Null),
            CExpr::Lit(v) => match v {
                Value::Text(t) => Value::Text(Cow::Borrowed(t.as_ref())),
                Value::Timestamp(t) => Value::Timestamp(Cow::Borrowed(t.as_ref())),
                other => other.clone(),
            },
            CExpr::Agg(i) => aggs.get(*i).cloned().unwrap_or(Value::Null),
            CExpr::Func(f, x) => {
                let v = self.eval(x, row, aggs);
                match f {
                    Func::Upper | Func::Lower => match v {
                        Value::Text(t) if *f == Func::Upper => Value::Text(Cow::Owned(t.to_uppercase())),
                        Value::Text(t) => Value::Text(Cow::Owned(t.to_lowercase())),
                        _ => Value::Null,
                    },
                    _ => truncate(v, *f),
                }
            }
            CExpr::Cast(x, ty) => {
                let v = self.eval(x, row, aggs);
                match (v, ty) {
                    (Value::Null, _) => Value::Null,
                    (Value::Number(d), SoqlType::Number) => Value::Number(d),
                    (v, SoqlType::Number) => {
                        v.render().and_then(|t| Decimal::parse(&t)).map(Value::Number).unwrap_or(Value::Null)
                    }
                    (v, SoqlType::Text) => {
                        Value::Text(Cow::Owned(v.render().map(|t| t.into_owned()).unwrap_or_default()))
                    }
                    (Value::Timestamp(t), SoqlType::FloatingTimestamp) => Value::Timestamp(t),
                    (v, SoqlType::FloatingTimestamp | SoqlType::FixedTimestamp) => v
                        .render()
                        .and_then(|t| normalize_timestamp(&t, *ty == SoqlType::FixedTimestamp))
                        .map(|t| Value::Timestamp(Cow::Owned(t)))
                        .unwrap_or(Value::Null),
                    (v, _) => match v.render().as_deref() {
                        Some("true") => Value::Bool(true),
                        Some("false") => Value::Bool(false),
                        _ => Value::Null,
                    },
                }
            }
            CExpr::Not(x) => match self.eval(x, row, aggs) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            CExpr::And(l, r) => match (self.eval(l, row, aggs), self.eval(r, row, aggs)) {
                (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            },
            CExpr::Or(l, r) => match (self.eval(l, row, aggs), self.eval(r, row, aggs)) {
                (Value::Bool(true), _) | (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            },
            CExpr::Cmp(op, l, r) => {
                let (a, b) = (self.eval(l, row, aggs), self.eval(r, row, aggs));
                match a.compare(&b) {
                    None => Value::Null,
                    Some(o) => Value::Bool(match op {
                        CmpOp::Eq => o == Ordering::Equal,
                        CmpOp::Ne => o != Ordering::Equal,
                        CmpOp::Lt => o == Ordering::Less,
                        CmpOp::Le => o != Ordering::Greater,
                        CmpOp::Gt => o == Ordering::Greater,
                        CmpOp::Ge => o != Ordering::Less,
                    }),
                }
            }
            CExpr::Arith(op, l, r) => {
                let (a, b) = (self.eval(l, row, aggs), self.eval(r, row, aggs));
                match (op, a, b) {
                    (ArithOp::Concat, a, b) => match (a.render(), b.render()) {
                        (Some(x), Some(y)) => Value::Text(Cow::Owned(format!("{x}{y}"))),
                        _ => Value::Null,
                    },
                    (ArithOp::Add, Value::Number(x), Value::Number(y)) => {
                        x.checked_add(y).map(Value::Number).unwrap_or(Value::Null)
                    }
                    (ArithOp::Sub, Value::Number(x), Value::Number(y)) => {
                        x.checked_add(y.neg()).map(Value::Number).unwrap_or(Value::Null)
                    }
                    (ArithOp::Mul, Value::Number(x), Value::Number(y)) => {
                        Decimal::parse(&format!("{}", x.to_f64() * y.to_f64()))
                            .map(Value::Number)
                            .unwrap_or(Value::Null)
                    }
                    (ArithOp::Div, Value::Number(x), Value::Number(y)) if y.to_f64() != 0.0 => {
                        Decimal::parse(&format!("{}", x.to_f64() / y.to_f64()))
                            .map(Value::Number)
                            .unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                }
            }
            CExpr::Neg(x) => match self.eval(x, row, aggs) {
                Value::Number(d) => Value::Number(d.neg()),
                _ => Value::Null,
            },
            CExpr::IsNull(x, negated) => Value::Bool(self.eval(x, row, aggs).is_null() != *negated),
            CExpr::Between(x, lo, hi, negated) => {
                let v = self.eval(x, row, aggs);
                match (v.compare(&self.eval(lo, row, aggs)), v.compare(&self.eval(hi, row, aggs))) {
                    (Some(a), Some(b)) => Value::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated),
                    _ => Value::Null,
                }
            }
            CExpr::In(x, list, negated) => {
                let v = self.eval(x, row, aggs);
                if v.is_null() {
                    return Value::Null;
                }
                let hit = list.iter().any(|item| v.compare(&self.eval(item, row, aggs)) == Some(Ordering::Equal));
                Value::Bool(hit != *negated)
            }
            CExpr::Like(x, pattern, negated) => match self.eval(x, row, aggs) {
                Value::Text(t) => Value::Bool(like(&t, pattern) != *negated),
                _ => Value::Null,
            },
        }
    }
}
