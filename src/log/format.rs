//! Rendering a parsed log-format string (`%ci:%cp [%t] …`) with the values
//! of one session.

use crate::config::model::{LfFlags, LfNode, LfVar, LogFormat};
use crate::engine::sample::{self, Context};

/// A field's value.
pub enum Value {
    Str(String),
    Int(i64),
    /// Nothing to print: `-`.
    Absent,
    /// Nothing at all (a field that is left out).
    Empty,
    /// Printed as is, never quoted (dates, `%r` already quoted by flags).
    Raw(String),
}

/// What a log line can show.
pub trait Vars: Context {
    fn var(&self, v: LfVar) -> Value;
}

fn escape_into(out: &mut String, s: &str, flags: LfFlags) {
    if flags.escape {
        for c in s.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    } else {
        out.push_str(s);
    }
}

fn push_value(out: &mut String, v: Value, flags: LfFlags) {
    match v {
        Value::Absent => {
            if !flags.omit_empty {
                out.push('-');
            }
        }
        Value::Int(i) => {
            if flags.hex {
                out.push_str(&format!("{:X}", i));
            } else {
                out.push_str(&i.to_string());
            }
        }
        Value::Raw(s) => out.push_str(&s),
        Value::Empty => {}
        Value::Str(s) => {
            if flags.quote {
                out.push('"');
                escape_into(out, &s, flags);
                out.push('"');
            } else {
                escape_into(out, &s, flags);
            }
        }
    }
}

/// Renders a log format. Spaces are HAProxy's separators: several in a
/// row (around a field that printed nothing, such as `%hr` without
/// captures) give one.
pub fn render(lf: &LogFormat, vars: &dyn Vars) -> String {
    let mut out = String::with_capacity(256);
    let mut last_sep = true;
    for n in &lf.nodes {
        match n {
            LfNode::Text(t) => {
                for ch in t.chars() {
                    if ch == ' ' {
                        if !last_sep {
                            out.push(' ');
                            last_sep = true;
                        }
                    } else {
                        out.push(ch);
                        last_sep = false;
                    }
                }
            }
            LfNode::Var { var, flags } => {
                let before = out.len();
                push_value(&mut out, vars.var(*var), *flags);
                if out.len() != before {
                    last_sep = false;
                }
            }
            LfNode::Sample { expr, flags } => {
                let v = match sample::fetch(expr, vars) {
                    Some(s) => Value::Str(s.as_str().into_owned()),
                    None => Value::Absent,
                };
                let before = out.len();
                push_value(&mut out, v, *flags);
                if out.len() != before {
                    last_sep = false;
                }
            }
        }
    }
    out
}
