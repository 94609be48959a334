//! The HTML stats report: HAProxy's layout and colours (one table per
//! proxy: frontend, servers, backend), the process summary, the legend,
//! and the admin form where `stats admin` allows it.

use super::page::Options;
use super::{Field, Row, RowType};
use crate::config::model::StatsCfg;
use crate::engine::state::Shared;
use std::fmt::Write as _;

const STYLE: &str = r#"<style type="text/css"><!--
body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}
li { margin-top: 0.25em; margin-right: 2em;}
.hr {margin-top: 0.25em; border-color: black; border-bottom-style: solid;}
.titre	{background: #20D0D0;color: #000000; font-weight: bold; text-align: center;}
.total	{background: #20D0D0;color: #ffff80;}
.frontend	{background: #e8e8d0;}
.socket	{background: #d0d0d0;}
.backend	{background: #e8e8d0;}
.active_down		{background: #ff9090;}
.active_going_up		{background: #ffd020;}
.active_going_down	{background: #ffffa0;}
.active_up		{background: #c0ffc0;}
.active_nolb		{background: #20a0ff;}
.active_draining		{background: #20a0FF;}
.active_no_check		{background: #e0e0e0;}
.backup_down		{background: #ff9090;}
.backup_going_up		{background: #ff80ff;}
.backup_going_down	{background: #c060ff;}
.backup_up		{background: #b0d0ff;}
.backup_nolb		{background: #90b0e0;}
.backup_draining		{background: #cc9900;}
.backup_no_check		{background: #e0e0e0;}
.maintain	{background: #c07820;}
a.px:link {color: #ffff40; text-decoration: none;}a.px:visited {color: #ffff40; text-decoration: none;}a.px:hover {color: #ffffff; text-decoration: none;}
a.lfsb:link {color: #000000; text-decoration: none;}a.lfsb:visited {color: #000000; text-decoration: none;}a.lfsb:hover {color: #505050; text-decoration: none;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td { text-align: right; border-width: 1px 1px 1px 1px; border-style: solid solid solid solid; padding: 2px 3px; border-color: gray; white-space: nowrap;}
table.tbl td.ac { text-align: center;}
table.tbl th { border-width: 1px; border-style: solid solid solid solid; border-color: gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
table.tbl th.desc { background: white; border-style: solid solid none solid; text-align: left; padding: 2px 3px;}
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}
table.lgd td { border-width: 1px; border-style: solid solid solid solid; border-color: gray; padding: 2px;}
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}
-->
</style>"#;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn f(r: &Row, name: &str) -> String {
    match r.get(name) {
        Field::Empty => String::new(),
        Field::U(v) => v.to_string(),
        Field::I(v) => v.to_string(),
        Field::S(s) => esc(s),
    }
}

/// Seconds as HAProxy's `human_time`: `1d2h`, `3h4m`, `5m6s`, `7s`.
fn human_time(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The CSS class of a server row, from its `status` text.
fn row_class(r: &Row) -> &'static str {
    let status = match r.get("status") {
        Field::S(s) => s.as_str(),
        _ => "",
    };
    let backup = r.get("bck").as_u64() == 1;
    let state = if status.starts_with("MAINT") {
        return "maintain";
    } else if status == "no check" {
        "no_check"
    } else if status.starts_with("DRAIN") {
        "draining"
    } else if status.starts_with("NOLB") {
        "nolb"
    } else if status.starts_with("UP ") {
        "going_down"
    } else if status.starts_with("DOWN ") {
        "going_up"
    } else if status.starts_with("UP") {
        "up"
    } else {
        "down"
    };
    match (backup, state) {
        (false, "no_check") => "active_no_check",
        (false, "draining") => "active_draining",
        (false, "nolb") => "active_nolb",
        (false, "going_down") => "active_going_down",
        (false, "going_up") => "active_going_up",
        (false, "up") => "active_up",
        (false, _) => "active_down",
        (true, "no_check") => "backup_no_check",
        (true, "draining") => "backup_draining",
        (true, "nolb") => "backup_nolb",
        (true, "going_down") => "backup_going_down",
        (true, "going_up") => "backup_going_up",
        (true, "up") => "backup_up",
        (true, _) => "backup_down",
    }
}

const HEADER: &str = "<tr class=\"titre\"><th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>\n";

fn cells(out: &mut String, r: &Row) {
    let lastchg = r.get("lastchg").as_u64();
    let status = match r.kind {
        RowType::Frontend | RowType::Listener => f(r, "status"),
        _ => format!("{} {}", human_time(lastchg), f(r, "status")),
    };
    let lastsess = match r.get("lastsess") {
        Field::I(v) if *v >= 0 => human_time(*v as u64),
        Field::Empty => String::new(),
        _ => String::new(),
    };
    let lastchk = if r.kind == RowType::Server {
        let st = f(r, "check_status");
        let code = f(r, "check_code");
        let dur = f(r, "check_duration");
        match (st.is_empty(), code.is_empty(), dur.is_empty()) {
            (true, _, _) => String::new(),
            (false, true, true) => st,
            (false, true, false) => format!("{st} in {dur}ms"),
            (false, false, _) => format!("{st}/{code} in {dur}ms"),
        }
    } else {
        String::new()
    };
    let yn = |n: &str| match r.get(n) {
        Field::U(1) if r.kind == RowType::Server => "Y".to_string(),
        Field::U(0) if r.kind == RowType::Server => "-".to_string(),
        _ => f(r, n),
    };
    let vals = [
        f(r, "qcur"),
        f(r, "qmax"),
        f(r, "qlimit"),
        f(r, "rate"),
        f(r, "rate_max"),
        f(r, "rate_lim"),
        f(r, "scur"),
        f(r, "smax"),
        f(r, "slim"),
        f(r, "stot"),
        f(r, "lbtot"),
        lastsess,
        f(r, "bin"),
        f(r, "bout"),
        f(r, "dreq"),
        f(r, "dresp"),
        f(r, "ereq"),
        f(r, "econ"),
        f(r, "eresp"),
        f(r, "wretr"),
        f(r, "wredis"),
    ];
    for v in vals {
        let _ = write!(out, "<td>{v}</td>");
    }
    let _ = write!(
        out,
        "<td class=ac>{status}</td><td class=ac>{lastchk}</td><td class=ac>{}</td><td class=ac>{}</td><td class=ac>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        f(r, "weight"),
        yn("act"),
        yn("bck"),
        f(r, "chkfail"),
        f(r, "chkdown"),
        match r.get("downtime") {
            Field::U(v) => human_time(*v),
            _ => String::new(),
        },
        match r.get("throttle") {
            Field::U(v) => format!("{v} %"),
            _ => "-".into(),
        },
    );
}

pub fn render(shared: &Shared, cfg: &StatsCfg, o: &Options, rows: &[Row], admin: bool) -> String {
    let node = cfg
        .show_node
        .clone()
        .unwrap_or_else(|| super::info::node_name(shared));
    let prefix = esc(&cfg.uri);
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n<html><head><title>Statistics Report for HAProxy{}</title>\n<link rel=\"icon\" href=\"data:,\">\n<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n{STYLE}</head>\n<body>",
        if cfg.show_node.is_some() {
            format!(" on {}", esc(&node))
        } else {
            String::new()
        }
    );
    if cfg.hide_version {
        out.push_str("<h1>rproxy</h1>\n");
    } else {
        let _ = write!(
            out,
            "<h1>rproxy {} (HAProxy {} compatible)</h1>",
            crate::VERSION,
            crate::HAPROXY_VERSION
        );
    }
    let _ = write!(
        out,
        "<h2>Statistics Report for pid {}{}</h2>\n<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n",
        std::process::id(),
        if cfg.show_node.is_some() {
            format!(" on {}", esc(&node))
        } else {
            String::new()
        }
    );
    let info: std::collections::HashMap<&str, String> =
        super::info::fields(shared).into_iter().collect();
    let get = |k: &str| info.get(k).cloned().unwrap_or_default();
    let _ = write!(
        out,
        "<table border=0><tr><td align=\"left\" nowrap width=\"1%\"><p><b>pid = </b> {} (process #1, nbproc = 1, nbthread = {})<br>\n<b>uptime = </b> {}<br>\n<b>system limits:</b> memmax = unlimited; ulimit-n = {}<br>\n<b>maxsock = </b> {}; <b>maxconn = </b> {}; <b>maxpipes = </b> {}<br>\ncurrent conns = {}; current pipes = 0/0; conn rate = {}/sec; bit rate = 0 bps<br>\nRunning tasks: 0/{}; idle = {} %<br>\n</td>",
        get("Pid"),
        get("Nbthread"),
        get("Uptime"),
        get("Ulimit-n"),
        get("Maxsock"),
        get("Maxconn"),
        get("Maxpipes"),
        get("CurrConns"),
        get("ConnRate"),
        get("Tasks"),
        get("Idle_pct"),
    );
    if cfg.show_legends {
        out.push_str("<td align=\"center\" nowrap><table class=\"lgd\"><tr>\n<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td><td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td><td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td><td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td><td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\nNote: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>");
    }
    let _ = write!(
        out,
        "<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\"><li><a href=\"{prefix}{}\">{}</a><br>\n<li><a href=\"{prefix}{}\">{}</a><br>\n<li><a href=\"{prefix};csv\">CSV export</a><br>\n</ul></td></tr></table>\n",
        if o.up { "" } else { ";up" },
        if o.up {
            "Show all servers"
        } else {
            "Hide 'DOWN' servers"
        },
        if o.norefresh { "" } else { ";norefresh" },
        if o.norefresh {
            "Refresh now"
        } else {
            "Disable refresh"
        },
    );
    if let Some(st) = &o.status {
        let (class, text) = match st.as_str() {
            "DONE" => ("active_up", "Action processed successfully."),
            "NONE" => ("active_going_down", "Nothing has changed."),
            "PART" => ("active_going_down", "Action partially processed."),
            "ERRP" => (
                "active_down",
                "Action not processed because of invalid parameters.",
            ),
            "DENY" => ("active_down", "<b>Action denied.</b>"),
            _ => ("active_no_check", "Unexpected result."),
        };
        let _ = write!(
            out,
            "<p><div class={class}><a class=lfsb href=\"{prefix};norefresh\" title=\"Remove this message\">[X]</a> {text}</div>"
        );
    }
    let mut i = 0;
    while i < rows.len() {
        let p = rows[i].px;
        let name = esc(&shared.config.proxies[p].name);
        let has_servers = rows[i..]
            .iter()
            .take_while(|r| r.px == p)
            .any(|r| r.kind == RowType::Server);
        let form = admin && has_servers;
        if form {
            let _ = write!(out, "<form method=\"post\">");
        }
        let _ = write!(
            out,
            "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%\"><a name=\"{name}\"></a><a class=px href=\"#{name}\">{name}</a></th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n<table class=\"tbl\" width=\"100%\">\n{HEADER}"
        );
        while i < rows.len() && rows[i].px == p {
            let r = &rows[i];
            let (class, label) = match r.kind {
                RowType::Frontend => ("frontend".to_string(), "Frontend".to_string()),
                RowType::Backend => ("backend".to_string(), "Backend".to_string()),
                RowType::Listener => ("socket".to_string(), f(r, "svname")),
                RowType::Server => (row_class(r).to_string(), f(r, "svname")),
            };
            let check = if form && r.kind == RowType::Server {
                format!(
                    "<input type=\"checkbox\" name=\"s\" value=\"{}\">",
                    f(r, "svname")
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td class=ac>{check}{label}</td>"
            );
            cells(&mut out, r);
            i += 1;
        }
        out.push_str("</table>");
        if form {
            let _ = write!(
                out,
                "Choose the action to perform on the checked servers : <select name=action><option value=\"\"></option><option value=\"ready\">Set state to READY</option><option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option><option value=\"dhlth\">Health: disable checks</option><option value=\"ehlth\">Health: enable checks</option><option value=\"hrunn\">Health: force UP</option><option value=\"hnolb\">Health: force NOLB</option><option value=\"hdown\">Health: force DOWN</option><option value=\"shutdown\">Kill Sessions</option></select><input type=\"hidden\" name=\"b\" value=\"{name}\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>"
            );
        }
        out.push_str("<p>\n");
    }
    out.push_str("</body></html>\n");
    out
}
