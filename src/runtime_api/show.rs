//! `show stat`, `show info` and `show schema json`: the arguments as
//! HAProxy 2.6's `cli_parse_show_stat` / `cli_parse_show_info` read them,
//! then the rows or fields in the form asked for.

use super::Session;
use crate::config::model::CliLevel;
use crate::engine::state::Shared;
use crate::stats::{self, Format, View, csv::Filter};

/// C's `atoi`: optional sign and leading digits, 0 when there are none.
pub(super) fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let v = digits[..end].parse::<i64>().unwrap_or(0);
    if neg { -v } else { v }
}

/// `show stat [domain proxy] [{<iid>|<proxy>} <type> <sid>] [typed|json]
/// [desc] [up] [no-maint]`. As in HAProxy, three words after `stat` are
/// always read as the object filter, whatever they are.
pub fn stat(shared: &Shared, sess: &Session, args: &[&str]) -> String {
    let mut rest = args;
    if rest.first() == Some(&"domain") {
        match rest.get(1) {
            Some(&"proxy") => rest = &rest[2..],
            _ => return "Invalid statistics domain.\n".into(),
        }
    }
    let mut filter = Filter::ALL;
    if let [px, t, s, ..] = rest {
        let iid = shared
            .config
            .proxies
            .iter()
            .find(|p| p.name == *px)
            .map_or_else(|| atoi(px), |p| i64::from(p.uuid));
        if iid == 0 {
            return "No such proxy.\n".into();
        }
        // -1 stands for every proxy, every type, every object.
        filter.iid = (iid != -1).then_some(iid as u32);
        filter.types = Some(atoi(t) as u32);
        let sid = atoi(s);
        filter.sid = (sid != -1).then_some(sid as u32);
        rest = &rest[3..];
    }
    let mut format = Format::Plain;
    let (mut desc, mut up, mut no_maint) = (false, false, false);
    for a in rest {
        match *a {
            "typed" => format = Format::Typed,
            "json" => format = Format::Json,
            "desc" => desc = true,
            "up" => up = true,
            "no-maint" => no_maint = true,
            _ => {}
        }
    }
    let view = View {
        legends: sess.level >= CliLevel::Operator,
    };
    let mut rows: Vec<_> = stats::rows(shared, view)
        .into_iter()
        .filter(|r| filter.keeps(r))
        .filter(|r| {
            r.srv
                .is_none_or(|s| !stats::hidden(shared, r.px, s, up, no_maint))
        })
        .collect();
    if up || no_maint {
        stats::count_servers_in_status(shared, &mut rows);
    }
    match format {
        Format::Plain => stats::csv::render(&rows, Filter::ALL),
        Format::Typed => stats::typed::stat(&rows, desc),
        Format::Json => stats::json::stat(&rows),
    }
}

/// `show info [typed|json] [desc] [float]`.
pub fn info(shared: &Shared, args: &[&str]) -> String {
    let mut format = Format::Plain;
    let (mut desc, mut float) = (false, false);
    for a in args {
        match *a {
            "typed" => format = Format::Typed,
            "json" => format = Format::Json,
            "desc" => desc = true,
            "float" => float = true,
            _ => {}
        }
    }
    stats::info::render_with(shared, format, desc, float)
}

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi("-1"), -1);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("typed"), 0);
        assert_eq!(atoi("+4"), 4);
    }
}
