//! `.if` / `.elif` conditions (HAProxy 2.6 `cfgcond.c`): integers, `!`, `&&`,
//! `||`, parentheses and the predicates `defined`, `feature`, `streq`,
//! `strneq`, `version_atleast`, `version_before`.

/// What a condition can ask about the running program.
pub trait CondContext {
    fn env_defined(&self, name: &str) -> bool;
    /// True for a feature `-vv` lists with a `+`.
    fn has_feature(&self, name: &str) -> bool;
    /// The HAProxy version whose behaviour rproxy implements.
    fn version(&self) -> &str;
}

/// An error, with the byte offset in the condition text it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondError {
    pub message: String,
    pub pos: usize,
}

/// Evaluates the condition text (the words after `.if` joined with spaces).
pub fn evaluate(text: &str, ctx: &dyn CondContext) -> Result<bool, CondError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        ctx,
    };
    p.skip_blanks();
    if p.pos >= p.s.len() {
        return Ok(false);
    }
    let v = p.expr()?;
    p.skip_blanks();
    if p.pos < p.s.len() {
        return Err(CondError {
            message: format!(
                "unexpected character '{}' at the end of conditional expression '{}'",
                p.s[p.pos] as char, text
            ),
            pos: p.pos,
        });
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    ctx: &'a dyn CondContext,
}

#[derive(Clone, Copy)]
enum Pred {
    Defined,
    Feature,
    Streq,
    Strneq,
    VersionAtLeast,
    VersionBefore,
}

impl Pred {
    fn lookup(name: &str) -> Option<Pred> {
        Some(match name {
            "defined" => Pred::Defined,
            "feature" => Pred::Feature,
            "streq" => Pred::Streq,
            "strneq" => Pred::Strneq,
            "version_atleast" => Pred::VersionAtLeast,
            "version_before" => Pred::VersionBefore,
            _ => return None,
        })
    }

    fn arity(self) -> usize {
        match self {
            Pred::Streq | Pred::Strneq => 2,
            _ => 1,
        }
    }
}

impl Parser<'_> {
    fn skip_blanks(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn unparsable(&self) -> CondError {
        CondError {
            message: format!("unparsable conditional expression '{}'", self.rest()),
            pos: self.pos,
        }
    }

    fn expr(&mut self) -> Result<bool, CondError> {
        let mut v = self.and_expr()?;
        loop {
            self.skip_blanks();
            if self.rest().starts_with("||") {
                let op_at = self.pos;
                self.pos += 2;
                self.skip_blanks();
                if self.pos >= self.s.len() {
                    // HAProxy points at a dangling operator, not past it.
                    self.pos = op_at;
                    return Err(self.unparsable());
                }
                let r = self.and_expr()?;
                v = v || r;
            } else {
                return Ok(v);
            }
        }
    }

    fn and_expr(&mut self) -> Result<bool, CondError> {
        let mut v = self.term()?;
        loop {
            self.skip_blanks();
            if self.rest().starts_with("&&") {
                let op_at = self.pos;
                self.pos += 2;
                self.skip_blanks();
                if self.pos >= self.s.len() {
                    // HAProxy points at a dangling operator, not past it.
                    self.pos = op_at;
                    return Err(self.unparsable());
                }
                let r = self.term()?;
                v = v && r;
            } else {
                return Ok(v);
            }
        }
    }

    fn term(&mut self) -> Result<bool, CondError> {
        self.skip_blanks();
        let mut negate = false;
        while self.peek() == b'!' {
            negate = !negate;
            self.pos += 1;
            self.skip_blanks();
        }
        let c = self.peek();
        let v = if c == b'(' {
            let start = self.pos;
            self.pos += 1;
            let v = self.expr()?;
            self.skip_blanks();
            if self.peek() != b')' {
                return Err(CondError {
                    message: format!(
                        "expected ')' after conditional expression '{}'",
                        &self.text[start..]
                    ),
                    pos: start,
                });
            }
            self.pos += 1;
            v
        } else if c.is_ascii_digit() || c == b'-' || c == b'+' {
            let start = self.pos;
            self.pos += 1;
            while self.peek().is_ascii_digit() {
                self.pos += 1;
            }
            let n: i64 = self.text[start..self.pos].parse().unwrap_or(0);
            n != 0
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = self.pos;
            while self.peek().is_ascii_alphanumeric() || self.peek() == b'_' {
                self.pos += 1;
            }
            let name = &self.text[start..self.pos];
            let pred = match Pred::lookup(name) {
                Some(p) if self.peek() == b'(' => p,
                _ => {
                    self.pos = start;
                    return Err(self.unparsable());
                }
            };
            self.pos += 1;
            let args = self.args(name)?;
            self.apply(pred, name, &args)?
        } else {
            return Err(self.unparsable());
        };
        Ok(v ^ negate)
    }

    /// Comma-separated arguments up to the closing parenthesis, with quotes
    /// and backslashes handled as HAProxy's second-level argument parser.
    fn args(&mut self, pred: &str) -> Result<Vec<String>, CondError> {
        let mut args = Vec::new();
        let mut cur = String::new();
        let mut quote: Option<u8> = None;
        let mut any = false;
        loop {
            let c = self.peek();
            if c == 0 {
                return Err(CondError {
                    message: format!(
                        "expected ')' in argument {} of predicate '{pred}' used in conditional expression",
                        args.len() + 1
                    ),
                    pos: self.pos,
                });
            }
            self.pos += 1;
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), b'\\') | (None, b'\\') => {
                    if self.peek() != 0 {
                        cur.push(self.peek() as char);
                        self.pos += 1;
                    }
                }
                (Some(_), _) => cur.push(c as char),
                (None, b'"') | (None, b'\'') => {
                    quote = Some(c);
                    any = true;
                }
                (None, b',') => {
                    args.push(std::mem::take(&mut cur));
                    any = true;
                }
                (None, b')') => {
                    if any || !cur.is_empty() {
                        args.push(cur);
                    }
                    return Ok(args);
                }
                (None, _) => {
                    cur.push(c as char);
                    any = true;
                }
            }
        }
    }

    fn apply(&mut self, pred: Pred, name: &str, args: &[String]) -> Result<bool, CondError> {
        let want = pred.arity();
        if args.len() > want {
            return Err(CondError {
                message: format!(
                    "too many arguments for predicate '{name}' used in conditional expression"
                ),
                pos: self.pos,
            });
        }
        if args.is_empty() && want == 1 {
            // `defined()` and friends with nothing inside evaluate to false.
            return Ok(false);
        }
        if args.len() < want {
            return Err(CondError {
                message: format!(
                    "missing arguments (got {}/{want}), type 'string' expected in argument {} of predicate '{name}' used in conditional expression",
                    args.len(),
                    args.len()
                ),
                pos: self.pos.saturating_sub(1),
            });
        }
        Ok(match pred {
            Pred::Defined => self.ctx.env_defined(&args[0]),
            Pred::Feature => self.ctx.has_feature(&args[0]),
            Pred::Streq => args[0] == args[1],
            Pred::Strneq => args[0] != args[1],
            Pred::VersionAtLeast => compare_versions(self.ctx.version(), &args[0]).is_ge(),
            Pred::VersionBefore => compare_versions(self.ctx.version(), &args[0]).is_lt(),
        })
    }
}

/// Compares dotted versions numerically, component by component; anything
/// after the numeric part (`-dev`, `+deb12u4`) is ignored, and a version that
/// does not start with a number compares as 0, as HAProxy does.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(v: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for comp in v.split('.') {
            let digits: String = comp.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                break;
            }
            out.push(digits.parse().unwrap_or(0));
            if digits.len() != comp.len() {
                break;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    let n = pa.len().max(pb.len());
    for i in 0..n {
        let (x, y) = (
            pa.get(i).copied().unwrap_or(0),
            pb.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    impl CondContext for Ctx {
        fn env_defined(&self, name: &str) -> bool {
            name == "HOME"
        }
        fn has_feature(&self, name: &str) -> bool {
            name == "LINUX_TPROXY"
        }
        fn version(&self) -> &str {
            "2.6.12"
        }
    }

    fn eval(s: &str) -> Result<bool, CondError> {
        evaluate(s, &Ctx)
    }

    #[test]
    fn values_and_operators() {
        assert_eq!(eval(""), Ok(false));
        assert_eq!(eval("0"), Ok(false));
        assert_eq!(eval("1"), Ok(true));
        assert_eq!(eval("2"), Ok(true));
        assert_eq!(eval("!0 && !!1"), Ok(true));
        assert_eq!(eval("0 || 1 && 0"), Ok(false));
        assert_eq!(eval("(0 || 1) && 1"), Ok(true));
        assert_eq!(eval("1 || 0 && 0"), Ok(true));
    }

    #[test]
    fn predicates() {
        assert_eq!(eval("defined(HOME)"), Ok(true));
        assert_eq!(eval("defined(NOPE)"), Ok(false));
        assert_eq!(eval("defined()"), Ok(false));
        assert_eq!(eval("feature(LINUX_TPROXY)"), Ok(true));
        assert_eq!(eval("feature(QUIC)"), Ok(false));
        assert_eq!(eval("streq(a,a)"), Ok(true));
        assert_eq!(eval("strneq(a,b)"), Ok(true));
        assert_eq!(eval(r#"streq("a,b",'a,b')"#), Ok(true));
        assert_eq!(eval("version_atleast(2.4)"), Ok(true));
        assert_eq!(eval("version_atleast(2.6.12)"), Ok(true));
        assert_eq!(eval("version_atleast(2.7)"), Ok(false));
        assert_eq!(eval("version_before(2.8-dev0)"), Ok(true));
        assert_eq!(eval("version_atleast(x)"), Ok(true));
    }

    #[test]
    fn errors_like_haproxy() {
        let e = eval("foo(x)").unwrap_err();
        assert_eq!(e.message, "unparsable conditional expression 'foo(x)'");
        assert_eq!(e.pos, 0);
        let e = eval("1 &&").unwrap_err();
        assert_eq!(e.message, "unparsable conditional expression '&&'");
        assert_eq!(e.pos, 2);
        let e = eval("2 || )").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.pos),
            ("unparsable conditional expression ')'", 5)
        );
        let e = eval("( 1").unwrap_err();
        assert_eq!(e.message, "expected ')' after conditional expression '( 1'");
        let e = eval("defined(HOME) extra").unwrap_err();
        assert_eq!(e.pos, 14);
        assert!(
            eval("streq(a)")
                .unwrap_err()
                .message
                .starts_with("missing arguments (got 1/2)")
        );
        assert!(
            eval("defined(HOME")
                .unwrap_err()
                .message
                .starts_with("expected ')' in argument 1")
        );
        assert!(eval("abc").is_err());
    }
}
