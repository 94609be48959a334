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

pub fn render(lf: &LogFormat, vars: &dyn Vars) -> String {
    let mut out = String::with_capacity(256);
    for n in &lf.nodes {
        match n {
            LfNode::Text(t) => out.push_str(t),
            LfNode::Var { var, flags } => push_value(&mut out, vars.var(*var), *flags),
            LfNode::Sample { expr, flags } => {
                let v = match sample::fetch(expr, vars) {
                    Some(s) => Value::Str(s.as_str().into_owned()),
                    None => Value::Absent,
                };
                push_value(&mut out, v, *flags);
            }
        }
    }
    out
}
