//! Tokenizer and recursive-descent parser for the SoQL subset the server evaluates. Produces an AST with
//! names unresolved; `plan` resolves them against the data set.

use super::SoqlError;
use crate::value::{Decimal, SoqlType};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `:id`, `:updated_at`, ... (lower-cased, with the colon).
    System(String),
    SystemStar,
    Str(String),
    Num(String),
    Sym(&'static str),
}

fn tokenize(input: &str) -> Result<Vec<Token>, SoqlError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(SoqlError::invalid(format!("unterminated string literal in `{input}`"))),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(s));
        } else if c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&ch| ch == '`')
                .ok_or_else(|| SoqlError::invalid(format!("unterminated `quoted` identifier in `{input}`")))?;
            out.push(Token::Ident(chars[i + 1..i + 1 + end].iter().collect::<String>().to_lowercase()));
            i += end + 2;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(Token::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '@' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '@') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect::<String>().to_lowercase()));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token::Sym("::"));
            i += 2;
        } else if c == ':' && chars.get(i + 1) == Some(&'*') {
            out.push(Token::SystemStar);
            i += 2;
        } else if c == ':' && chars.get(i + 1).is_some_and(|ch| ch.is_alphabetic() || *ch == '@') {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '@') {
                i += 1;
            }
            out.push(Token::System(chars[start..i].iter().collect::<String>().to_lowercase()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "!=" => Some("!="),
                "<>" => Some("<>"),
                "<=" => Some("<="),
                ">=" => Some(">="),
                "||" => Some("||"),
                _ => None,
            };
            if let Some(s) = sym {
                out.push(Token::Sym(s));
                i += 2;
                continue;
            }
            let s = match c {
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '*' => "*",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                '+' => "+",
                '-' => "-",
                '/' => "/",
                _ => return Err(SoqlError::invalid(format!("unexpected character '{c}' in `{input}`"))),
            };
            out.push(Token::Sym(s));
            i += 1;
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Concat,
}

/// A parsed expression (names not yet resolved).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ast {
    /// A column name or a `$select` alias.
    Name(String),
    /// `:id`, `:created_at`, `:updated_at`.
    System(String),
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    /// `count(*)` has `star`.
    Call {
        name: String,
        args: Vec<Ast>,
        star: bool,
    },
    Cast(Box<Ast>, SoqlType),
    Not(Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Cmp(CmpOp, Box<Ast>, Box<Ast>),
    Arith(ArithOp, Box<Ast>, Box<Ast>),
    Neg(Box<Ast>),
    IsNull {
        expr: Box<Ast>,
        negated: bool,
    },
    Between {
        expr: Box<Ast>,
        low: Box<Ast>,
        high: Box<Ast>,
        negated: bool,
    },
    In {
        expr: Box<Ast>,
        list: Vec<Ast>,
        negated: bool,
    },
    Like {
        expr: Box<Ast>,
        pattern: Box<Ast>,
        negated: bool,
    },
}

impl Ast {
    /// The output column name Socrata gives an unaliased expression (`count(*)` → `count`,
    /// `max(x)` → `max_x`, `x::number` → `x`).
    pub(crate) fn default_name(&self) -> String {
        match self {
            Ast::Name(n) => n.clone(),
            Ast::System(n) => n.clone(),
            Ast::Cast(inner, _) => inner.default_name(),
            Ast::Call { name, star: true, .. } => name.clone(),
            Ast::Call { name, args, .. } => {
                let mut out = name.clone();
                for a in args {
                    out.push('_');
                    out.push_str(a.default_name().trim_start_matches(':'));
                }
                out
            }
            _ => "_expr".to_string(),
        }
    }
}

/// One `$select` item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    /// `*`: every data column.
    Star,
    /// `:*`: the system fields.
    SystemStar,
    Expr {
        expr: Ast,
        alias: Option<String>,
    },
}

/// One `$order` key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub expr: Ast,
    pub descending: bool,
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    source: &'a str,
}

fn is_keyword(t: &Token, kw: &str) -> bool {
    matches!(t, Token::Ident(s) if s == kw)
}

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Result<Parser<'a>, SoqlError> {
        Ok(Parser { tokens: tokenize(source)?, pos: 0, source })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| is_keyword(t, kw))
    }

    fn peek_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Token::Sym(x)) if *x == s)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let hit = self.peek_keyword(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        let hit = self.peek_sym(s);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn err(&self, what: &str) -> SoqlError {
        let near = match self.peek() {
            Some(t) => format!("{t:?}"),
            None => "end of input".to_string(),
        };
        SoqlError::invalid(format!("{what}, found {near} in `{}`", self.source))
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), SoqlError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{s}'")))
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn expr(&mut self) -> Result<Ast, SoqlError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Ast::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Ast, SoqlError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Ast::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Ast, SoqlError> {
        if self.eat_keyword("not") {
            return Ok(Ast::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Ast, SoqlError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Sym("=")) => Some(CmpOp::Eq),
            Some(Token::Sym("!=")) | Some(Token::Sym("<>")) => Some(CmpOp::Ne),
            Some(Token::Sym("<")) => Some(CmpOp::Lt),
            Some(Token::Sym("<=")) => Some(CmpOp::Le),
            Some(Token::Sym(">")) => Some(CmpOp::Gt),
            Some(Token::Sym(">=")) => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Ast::Cmp(op, Box::new(left), Box::new(right)));
        }
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.eat_keyword("null") {
                return Err(self.err("expected NULL after IS"));
            }
            return Ok(Ast::IsNull { expr: Box::new(left), negated });
        }
        let negated = self.eat_keyword("not");
        if self.eat_keyword("between") {
            let low = self.additive()?;
            if !self.eat_keyword("and") {
                return Err(self.err("expected AND in BETWEEN"));
            }
            let high = self.additive()?;
            return Ok(Ast::Between { expr: Box::new(left), low: Box::new(low), high: Box::new(high), negated });
        }
        if self.eat_keyword("in") {
            self.expect_sym("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_sym(",") {
                list.push(self.expr()?);
            }
            self.expect_sym(")")?;
            return Ok(Ast::In { expr: Box::new(left), list, negated });
        }
        if self.eat_keyword("like") {
            let pattern = self.additive()?;
            return Ok(Ast::Like { expr: Box::new(left), pattern: Box::new(pattern), negated });
        }
        if negated {
            return Err(self.err("expected BETWEEN, IN or LIKE after NOT"));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Ast, SoqlError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                ArithOp::Add
            } else if self.eat_sym("-") {
                ArithOp::Sub
            } else if self.eat_sym("||") {
                ArithOp::Concat
            } else {
                return Ok(left);
            };
            left = Ast::Arith(op, Box::new(left), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Ast, SoqlError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                ArithOp::Mul
            } else if self.eat_sym("/") {
                ArithOp::Div
            } else {
                return Ok(left);
            };
            left = Ast::Arith(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Ast, SoqlError> {
        if self.eat_sym("-") {
            return Ok(Ast::Neg(Box::new(self.unary()?)));
        }
        let mut e = self.primary()?;
        while self.eat_sym("::") {
            let ty = match self.peek() {
                Some(Token::Ident(t)) => match t.as_str() {
                    "number" | "double" => SoqlType::Number,
                    "text" => SoqlType::Text,
                    "floating_timestamp" => SoqlType::FloatingTimestamp,
                    "fixed_timestamp" => SoqlType::FixedTimestamp,
                    "boolean" | "checkbox" => SoqlType::Boolean,
                    other => return Err(SoqlError::invalid(format!("unknown type '{other}' in cast"))),
                },
                _ => return Err(self.err("expected a type after ::")),
            };
            self.pos += 1;
            e = Ast::Cast(Box::new(e), ty);
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Ast, SoqlError> {
        let tok = self.peek().cloned().ok_or_else(|| self.err("expected an expression"))?;
        self.pos += 1;
        match tok {
            Token::Str(s) => Ok(Ast::Str(s)),
            Token::Num(n) => Ok(Ast::Num(n)),
            Token::System(s) => Ok(Ast::System(s)),
            Token::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Token::Ident(name) => match name.as_str() {
                "true" => Ok(Ast::Bool(true)),
                "false" => Ok(Ast::Bool(false)),
                "null" => Ok(Ast::Null),
                _ if self.peek_sym("(") => {
                    self.pos += 1;
                    if self.eat_sym("*") {
                        self.expect_sym(")")?;
                        return Ok(Ast::Call { name, args: Vec::new(), star: true });
                    }
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        args.push(self.expr()?);
                        while self.eat_sym(",") {
                            args.push(self.expr()?);
                        }
                        self.expect_sym(")")?;
                    }
                    Ok(Ast::Call { name, args, star: false })
                }
                _ => Ok(Ast::Name(name)),
            },
            _ => {
                self.pos -= 1;
                Err(self.err("expected an expression"))
            }
        }
    }

    fn alias(&mut self) -> Result<Option<String>, SoqlError> {
        if !self.eat_keyword("as") {
            return Ok(None);
        }
        match self.peek().cloned() {
            Some(Token::Ident(a)) => {
                self.pos += 1;
                Ok(Some(a))
            }
            _ => Err(self.err("expected an alias after AS")),
        }
    }
}

pub(crate) fn parse_expr(source: &str) -> Result<Ast, SoqlError> {
    let mut p = Parser::new(source)?;
    let e = p.expr()?;
    if !p.at_end() {
        return Err(p.err("unexpected token"));
    }
    Ok(e)
}

pub(crate) fn parse_select(source: &str) -> Result<Vec<SelectItem>, SoqlError> {
    let mut p = Parser::new(source)?;
    let mut items = Vec::new();
    loop {
        if p.eat_sym("*") {
            items.push(SelectItem::Star);
        } else if matches!(p.peek(), Some(Token::SystemStar)) {
            p.pos += 1;
            items.push(SelectItem::SystemStar);
        } else {
            let expr = p.expr()?;
            let alias = p.alias()?;
            items.push(SelectItem::Expr { expr, alias });
        }
        if p.at_end() {
            return Ok(items);
        }
        p.expect_sym(",")?;
    }
}

pub(crate) fn parse_list(source: &str) -> Result<Vec<Ast>, SoqlError> {
    let mut p = Parser::new(source)?;
    let mut items = vec![p.expr()?];
    while p.eat_sym(",") {
        items.push(p.expr()?);
    }
    if !p.at_end() {
        return Err(p.err("unexpected token"));
    }
    Ok(items)
}

pub(crate) fn parse_order(source: &str) -> Result<Vec<OrderItem>, SoqlError> {
    let mut p = Parser::new(source)?;
    let mut items = Vec::new();
    loop {
        let expr = p.expr()?;
        let descending = if p.eat_keyword("desc") {
            true
        } else {
            p.eat_keyword("asc");
            false
        };
        items.push(OrderItem { expr, descending });
        if p.at_end() {
            return Ok(items);
        }
        p.expect_sym(",")?;
    }
}

/// A number literal as a decimal, for planning.
pub(crate) fn number_literal(n: &str) -> Result<Decimal, SoqlError> {
    Decimal::parse(n).ok_or_else(|| SoqlError::invalid(format!("'{n}' is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_clients_aggregate_select() {
        let items = parse_select(
            "date_trunc_ym(report_date_time) AS month, count(*) AS n, max(:updated_at) AS u, sum(offense_id::number) AS s",
        )
        .unwrap();
        assert_eq!(items.len(), 4);
        match &items[3] {
            SelectItem::Expr { expr: Ast::Call { name, args, .. }, alias } => {
                assert_eq!(name, "sum");
                assert_eq!(alias.as_deref(), Some("s"));
                assert_eq!(args[0], Ast::Cast(Box::new(Ast::Name("offense_id".into())), SoqlType::Number));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(parse_select(":*,*").unwrap(), vec![SelectItem::SystemStar, SelectItem::Star]);
    }

    #[test]
    fn parses_where_with_precedence_and_escapes() {
        let e = parse_expr("a = 'it''s' OR b IS NOT NULL AND NOT c between 1 and 2").unwrap();
        match e {
            Ast::Or(l, r) => {
                assert_eq!(*l, Ast::Cmp(CmpOp::Eq, Box::new(Ast::Name("a".into())), Box::new(Ast::Str("it's".into()))));
                assert!(matches!(*r, Ast::And(_, _)));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_expr("a = ").is_err());
        assert!(parse_expr("a = 'open").is_err());
        assert!(parse_expr("x in ('a', 'b')").is_ok());
    }
}
