//! The smaller sections: `userlist`, `peers`, `resolvers`, `mailers`,
//! `http-errors`, and `ring`, `cache`, `program`, `fcgi-app`,
//! `log-forward` (parsed and checked, not run).

use super::{Flow, Status};
use crate::config::address::Use;
use crate::config::line::Line;
use crate::config::model::*;
use crate::config::parser::Services;
use crate::config::values::{self, TimeUnit};
use crate::diag::Diagnostic;

use Status::{Enforced as E, ParsedOnly as P};

/// Keywords of each small section, for `-dK`.
pub static KEYWORDS: &[(&str, &[(&str, Status)])] = &[
    ("userlist", &[("group", E), ("user", E)]),
    (
        "peers",
        &[
            ("bind", P),
            ("default-bind", P),
            ("default-server", P),
            ("disabled", P),
            ("enabled", P),
            ("log", P),
            ("peer", P),
            ("server", P),
            ("shards", P),
            ("table", P),
        ],
    ),
    (
        "resolvers",
        &[
            ("accepted_payload_size", P),
            ("nameserver", P),
            ("parse-resolv-conf", P),
            ("hold", P),
            ("resolve_retries", P),
            ("timeout", P),
        ],
    ),
    ("mailers", &[("mailer", P), ("timeout", P)]),
    ("http-errors", &[("errorfile", P)]),
    (
        "ring",
        &[
            ("description", P),
            ("format", P),
            ("maxlen", P),
            ("size", P),
            ("timeout", P),
            ("server", P),
        ],
    ),
    (
        "cache",
        &[
            ("total-max-size", P),
            ("max-object-size", P),
            ("max-age", P),
            ("process-vary", P),
            ("max-secondary-entries", P),
        ],
    ),
    (
        "program",
        &[("command", P), ("user", P), ("group", P), ("option", P)],
    ),
    (
        "fcgi-app",
        &[
            ("docroot", P),
            ("index", P),
            ("log-stderr", P),
            ("option", P),
            ("path-info", P),
            ("pass-header", P),
            ("set-param", P),
        ],
    ),
    (
        "log-forward",
        &[
            ("bind", P),
            ("dgram-bind", P),
            ("log", P),
            ("maxconn", P),
            ("timeout", P),
            ("backlog", P),
        ],
    ),
    (
        "config",
        &[
            (".if/.elif/.else/.endif", E),
            (".diag/.notice/.warning/.alert", E),
            ("defaults", E),
        ],
    ),
];

fn status_of(section: &str, kw: &str) -> Option<Status> {
    KEYWORDS
        .iter()
        .find(|(s, _)| *s == section)
        .and_then(|(_, list)| list.iter().find(|(k, _)| *k == kw))
        .map(|(_, st)| *st)
}

fn unknown(sv: &mut Services, line: &Line, section: &str) {
    sv.alert(
        line,
        format!("unknown keyword '{}' in '{section}' section", line.arg(0)),
    );
}

pub fn userlist(u: &mut Userlist, sv: &mut Services, line: &Line) -> Flow {
    let kw = line.arg(0);
    let name = line.arg(1);
    match kw {
        "group" | "user" => {
            if name.is_empty() {
                sv.alert_tight(line, format!("'{kw}' expects <name> as arguments."));
                return Flow::Continue;
            }
        }
        _ => {
            sv.alert_tight(line, format!("unknown keyword '{kw}' in 'users' section"));
            return Flow::Continue;
        }
    }
    if kw == "group" {
        let mut g = Group {
            name: name.to_string(),
            users: Vec::new(),
        };
        let mut i = 2;
        while i < line.len() {
            if line.arg(i) != "users" {
                sv.alert_tight(line, "'group' only supports 'users' option.");
                return Flow::Continue;
            }
            g.users.extend(
                line.arg(i + 1)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            i += 2;
        }
        if u.groups.iter().any(|x| x.name == g.name) {
            sv.warn(
                line,
                format!(
                    "ignoring duplicated group '{name}' in userlist '{}'.",
                    u.name
                ),
            );
            return Flow::Continue;
        }
        u.groups.push(g);
    } else {
        let mut user = User {
            name: name.to_string(),
            password: None,
            groups: Vec::new(),
        };
        let mut i = 2;
        while i < line.len() {
            let v = line.arg(i + 1).to_string();
            match line.arg(i) {
                "password" => user.password = Some(Password::Crypt(v)),
                "insecure-password" => user.password = Some(Password::Plain(v)),
                "groups" => user
                    .groups
                    .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string)),
                _ => {
                    sv.alert_tight(
                        line,
                        "'user' only supports 'password', 'insecure-password' and 'groups' options.",
                    );
                    return Flow::Continue;
                }
            }
            i += 2;
        }
        if u.users.iter().any(|x| x.name == user.name) {
            sv.warn(
                line,
                format!(
                    "ignoring duplicated user '{name}' in userlist '{}'.",
                    u.name
                ),
            );
            return Flow::Continue;
        }
        u.users.push(user);
    }
    sv.apply_status(line, status_of("userlist", kw).unwrap_or(P), || {
        format!("userlist {kw}")
    });
    Flow::Continue
}

pub fn peers(p: &mut Peers, sv: &mut Services, line: &Line) -> Flow {
    let kw = line.arg(0);
    let Some(st) = status_of("peers", kw) else {
        unknown(sv, line, "peers");
        return Flow::Continue;
    };
    match kw {
        "peer" | "server" => {
            let name = line.arg(1);
            if name.is_empty() {
                sv.alert(
                    line,
                    format!("'{kw}' expects <name> and <addr>[:<port>] as arguments."),
                );
                return Flow::Continue;
            }
            let addr = match line.arg(2) {
                "" => None,
                a => match sv.address(a, Use::Plain) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        sv.alert(line, format!("'{kw}' : {e}"));
                        return Flow::Continue;
                    }
                },
            };
            p.peers.push(Peer {
                name: name.to_string(),
                addr,
                origin: line.origin.clone(),
            });
        }
        _ => {}
    }
    sv.apply_status(line, st, || format!("peers {kw}"));
    Flow::Continue
}

pub fn resolvers(r: &mut Resolvers, sv: &mut Services, line: &Line) -> Flow {
    let kw = line.arg(0);
    let Some(st) = status_of("resolvers", kw) else {
        unknown(sv, line, "resolvers");
        return Flow::Continue;
    };
    match kw {
        "nameserver" => {
            let (name, addr) = (line.arg(1), line.arg(2));
            if name.is_empty() || addr.is_empty() {
                sv.alert(
                    line,
                    "'nameserver' expects <name> and <addr>[:<port>] as arguments.",
                );
                return Flow::Continue;
            }
            match sv.address(addr, Use::Log) {
                Ok(e) => r.nameservers.push((name.to_string(), e)),
                Err(e) => {
                    sv.alert(line, format!("'nameserver' : {e}"));
                    return Flow::Continue;
                }
            }
        }
        "parse-resolv-conf" => r.parse_resolv_conf = true,
        "hold" => {
            let what = line.arg(1);
            match values::parse_time(line.arg(2), TimeUnit::Millis) {
                Ok(t) => r.hold.push((what.to_string(), t.value)),
                Err(_) => {
                    sv.alert(line, format!("'hold {what}' expects a valid time."));
                    return Flow::Continue;
                }
            }
        }
        "timeout" if !matches!(line.arg(1), "resolve" | "retry") => {
            sv.alert(
                line,
                format!(
                    "'timeout' supports 'resolve' and 'retry' (got '{}').",
                    line.arg(1)
                ),
            );
            return Flow::Continue;
        }
        _ => {}
    }
    sv.apply_status(line, st, || format!("resolvers {kw}"));
    Flow::Continue
}

pub fn mailers(m: &mut Mailers, sv: &mut Services, line: &Line) -> Flow {
    let kw = line.arg(0);
    let Some(st) = status_of("mailers", kw) else {
        unknown(sv, line, "mailers");
        return Flow::Continue;
    };
    match kw {
        "mailer" => {
            let (name, addr) = (line.arg(1), line.arg(2));
            if name.is_empty() || addr.is_empty() {
                sv.alert(
                    line,
                    "'mailer' expects <name> and <addr>[:<port>] as arguments.",
                );
                return Flow::Continue;
            }
            match sv.address(addr, Use::Plain) {
                Ok(e) => m.mailers.push((name.to_string(), e)),
                Err(e) => {
                    sv.alert(line, format!("'mailer' : {e}"));
                    return Flow::Continue;
                }
            }
        }
        _ => {
            if line.arg(1) != "mail" {
                sv.alert(line, "'timeout' expects 'mail' and <time> as arguments.");
                return Flow::Continue;
            }
            match values::parse_time(line.arg(2), TimeUnit::Millis) {
                Ok(t) => m.timeout_mail = Some(t.value),
                Err(e) => {
                    sv.alert(
                        line,
                        values::time_error_message(
                            &e,
                            "timeout mail",
                            line.arg(2),
                            TimeUnit::Millis,
                        ),
                    );
                    return Flow::Continue;
                }
            }
        }
    }
    sv.apply_status(line, st, || format!("mailers {kw}"));
    Flow::Continue
}

pub fn http_errors(h: &mut HttpErrors, sv: &mut Services, line: &Line) -> Flow {
    if line.arg(0) != "errorfile" {
        unknown(sv, line, "http-errors");
        return Flow::Continue;
    }
    let (code, path) = (line.arg(1), line.arg(2));
    if code.is_empty() || path.is_empty() {
        sv.alert(
            line,
            "errorfile : expects <status_code> and <file> as arguments.\n",
        );
        return Flow::Continue;
    }
    let status: u16 = code.parse().unwrap_or(0);
    if !super::logs::ERROR_CODES.contains(&status) {
        sv.alert(
            line,
            format!("errorfile : status code '{code}' not handled."),
        );
        return Flow::Continue;
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(_) => {
            sv.alert(line, format!("errorfile : error opening file '{path}'."));
            return Flow::Continue;
        }
    };
    if let Err(e) = super::logs::check_raw_response(&data) {
        sv.alert(line, format!("errorfile : '{path}': {e}"));
        return Flow::Continue;
    }
    h.pages.push(ErrorPageCfg {
        status,
        page: ErrorPage::File {
            path: path.into(),
            content: std::sync::Arc::new(data),
        },
        origin: line.origin.clone(),
    });
    Flow::Continue
}

/// `ring`, `cache`, `program`, `fcgi-app`, `log-forward`.
pub fn other(s: &mut NamedSection, sv: &mut Services, line: &Line) -> Flow {
    let kw = line.arg(0);
    let section = s.kind;
    if status_of(section, kw).is_none() {
        unknown(sv, line, section);
        return Flow::Continue;
    }
    match (section, kw) {
        ("ring", "format")
            if !matches!(
                line.arg(1),
                "iso" | "local" | "raw" | "rfc3164" | "rfc5424" | "short" | "priority" | "timed"
            ) =>
        {
            sv.alert(line, format!("unknown format '{}'.", line.arg(1)));
        }
        ("cache", "total-max-size") if values::parse_uint(line.arg(1)).is_none() => {
            sv.diags.push(
                Diagnostic::warning(
                    Some(line.origin.clone()),
                    format!("total-max-size wrong value '{}'", line.arg(1)),
                )
                .style(crate::diag::Style::ParsingTight)
                .fatal(),
            );
            return Flow::Abort;
        }
        _ => {}
    }
    s.lines.push(line.words.clone());
    Flow::Continue
}
