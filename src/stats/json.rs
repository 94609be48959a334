//! `show stat json`, `show info json` and `show schema json`: HAProxy
//! 2.6's JSON forms, byte for byte in structure and order — an array of
//! rows, each an array of field objects (`objType`, `proxyId`, `id`,
//! `field`, `processNum`, `tags`, `value`) for statistics; one array of
//! field objects for information.
//!
//! One intentional difference: string values are escaped (`"`, `\`,
//! control characters), where HAProxy 2.6 copies them raw and can emit
//! invalid JSON.

use super::meta::{self, Meta, Ty};
use super::{Row, RowType};
use std::fmt::Write as _;

/// HAProxy 2.6's JSON schema for the two documents, as its
/// `stats_dump_json_schema` prints it.
pub const SCHEMA: &str = include_str!("schema.json");

fn obj_type(kind: RowType) -> &'static str {
    match kind {
        RowType::Frontend => "Frontend",
        RowType::Backend => "Backend",
        RowType::Server => "Server",
        RowType::Listener => "Listener",
    }
}

/// Appends `s` as JSON string content.
fn escaped(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// `"tags":{…},"value":{"type":…,"value":…}`.
fn tags_and_value(m: Meta, raw: &str, out: &mut String) {
    let [origin, nature, scope] = meta::tag_names(m.tags);
    let _ = write!(
        out,
        "\"tags\":{{\"origin\":\"{origin}\",\"nature\":\"{nature}\",\"scope\":\"{scope}\"}},\"value\":{{\"type\":\"{}\",\"value\":",
        m.ty.name()
    );
    if m.ty == Ty::Str {
        out.push('"');
        escaped(raw, out);
        out.push('"');
    } else {
        out.push_str(raw);
    }
    out.push('}');
}

/// Every row, rows in the order given.
pub fn stat(rows: &[Row]) -> String {
    let mut out = String::from("[");
    for (k, r) in rows.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        row(r, &mut out);
    }
    out.push_str("]\n");
    out
}

fn row(r: &Row, out: &mut String) {
    let iid = r.get("iid").as_u64();
    let sid = r.get("sid").as_u64();
    let pid = r.get("pid").as_u64();
    out.push('[');
    let mut first = true;
    let mut raw = String::new();
    for (c, v) in r.fields.iter().enumerate() {
        if v.is_empty() {
            continue;
        }
        let Some((pos, f)) = meta::stat_field(c) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(
            out,
            "{{\"objType\":\"{}\",\"proxyId\":{iid},\"id\":{sid},\"field\":{{\"pos\":{pos},\"name\":\"{}\"}},\"processNum\":{pid},",
            obj_type(r.kind),
            f.name
        );
        raw.clear();
        v.write(&mut raw);
        tags_and_value(meta::stat_meta(f, r.kind), &raw, out);
        out.push('}');
    }
    out.push(']');
}

/// `show info json [float]` from `info::fields_with`'s pairs.
pub fn info(fields: &[(&'static str, String)], float: bool) -> String {
    let mut out = String::from("[");
    let mut first = true;
    for (name, v) in fields {
        let Some(f) = meta::info_field(name) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(
            out,
            "{{\"field\":{{\"pos\":{},\"name\":\"{}\"}},\"processNum\":1,",
            f.pos, f.name
        );
        tags_and_value(meta::info_meta(f, float), v, &mut out);
        out.push('}');
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_numbers_bare() {
        let mut out = String::new();
        tags_and_value(
            Meta {
                tags: "MOP",
                ty: Ty::Str,
            },
            "a \"b\"\\",
            &mut out,
        );
        assert_eq!(
            out,
            r#""tags":{"origin":"Metric","nature":"Output","scope":"Process"},"value":{"type":"str","value":"a \"b\"\\"}"#
        );
        let v: Result<serde_json::Value, _> = serde_json::from_str(&format!("{{{out}}}"));
        assert!(v.is_ok(), "{out}");
    }

    #[test]
    fn schema_is_haproxys_document() {
        assert!(SCHEMA.starts_with("{\"$schema\":\"http://json-schema.org/draft-04/schema#\""));
        assert!(SCHEMA.ends_with("}}}}}\n"));
        assert!(serde_json::from_str::<serde_json::Value>(SCHEMA).is_ok());
    }
}
