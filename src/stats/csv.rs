//! `show stat` and the stats page's `;csv`: a `# ` header line naming the
//! columns, then one line per row; every field ends with a comma.

use super::{COLUMNS, Row, RowType};

/// Which rows `show stat [PROXY|-1] [TYPE-MASK] [SID|-1]` selects.
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    /// A proxy's `iid`, or all.
    pub iid: Option<u32>,
    /// Bit set of row types (1 frontend, 2 backend, 4 server), or all.
    pub types: Option<u32>,
    /// A server's `sid`, or all.
    pub sid: Option<u32>,
}

impl Filter {
    pub const ALL: Filter = Filter {
        iid: None,
        types: None,
        sid: None,
    };

    pub fn keeps(&self, r: &Row) -> bool {
        if let Some(iid) = self.iid
            && r.get("iid").as_u64() != u64::from(iid)
        {
            return false;
        }
        if let Some(mask) = self.types {
            let bit = match r.kind {
                RowType::Frontend => 1,
                RowType::Backend => 2,
                RowType::Server => 4,
                RowType::Listener => 8,
            };
            if mask & bit == 0 {
                return false;
            }
        }
        // A sid selects among servers and listeners alike.
        if let Some(sid) = self.sid
            && matches!(r.kind, RowType::Server | RowType::Listener)
            && r.get("sid").as_u64() != u64::from(sid)
        {
            return false;
        }
        true
    }
}

pub fn header() -> String {
    let mut out = String::from("# ");
    for c in COLUMNS {
        out.push_str(c);
        out.push(',');
    }
    out.push('\n');
    out
}

pub fn line(r: &Row, out: &mut String) {
    for f in &r.fields {
        f.write(out);
        out.push(',');
    }
    out.push('\n');
}

pub fn render(rows: &[Row], filter: Filter) -> String {
    let mut out = header();
    for r in rows.iter().filter(|r| filter.keeps(r)) {
        line(r, &mut out);
    }
    out
}
