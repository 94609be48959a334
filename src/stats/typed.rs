//! `show stat typed` and `show info typed`: one line per field that has a
//! value, `OBJ.IID.SID.POS.NAME.PROCESS:TAGS:TYPE:VALUE` for statistics
//! and `POS.NAME.PROCESS:TAGS:TYPE:VALUE` for process information, with
//! `:"description"` appended under `desc` — HAProxy's
//! `stats_dump_fields_typed` and `stats_dump_typed_info_fields`.

use super::meta;
use super::{Row, RowType};
use std::fmt::Write as _;

/// The letter a typed line starts with for each kind of object.
pub fn letter(kind: RowType) -> char {
    match kind {
        RowType::Frontend => 'F',
        RowType::Backend => 'B',
        RowType::Server => 'S',
        RowType::Listener => 'L',
    }
}

/// Every row's fields, rows in the order given.
pub fn stat(rows: &[Row], desc: bool) -> String {
    let mut out = String::new();
    for r in rows {
        row(r, desc, &mut out);
    }
    out
}

fn row(r: &Row, desc: bool, out: &mut String) {
    let iid = r.get("iid").as_u64();
    let sid = r.get("sid").as_u64();
    let pid = r.get("pid").as_u64();
    for (c, v) in r.fields.iter().enumerate() {
        if v.is_empty() {
            continue;
        }
        let Some((pos, f)) = meta::stat_field(c) else {
            continue;
        };
        let m = meta::stat_meta(f, r.kind);
        let _ = write!(
            out,
            "{}.{iid}.{sid}.{pos}.{}.{pid}:{}:{}:",
            letter(r.kind),
            f.name,
            m.tags,
            m.ty.name()
        );
        v.write(out);
        if desc {
            let _ = write!(out, ":\"{}\"", f.desc);
        }
        out.push('\n');
    }
}

/// `show info typed [desc] [float]` from `info::fields_with`'s pairs.
pub fn info(fields: &[(&'static str, String)], desc: bool, float: bool) -> String {
    let mut out = String::new();
    for (name, v) in fields {
        let Some(f) = meta::info_field(name) else {
            continue;
        };
        let m = meta::info_meta(f, float);
        let _ = write!(out, "{}.{}.1:{}:{}:{v}", f.pos, f.name, m.tags, m.ty.name());
        if desc {
            let _ = write!(out, ":\"{}\"", f.desc);
        }
        out.push('\n');
    }
    out
}
