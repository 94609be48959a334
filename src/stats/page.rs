//! The stats page of an HTTP proxy (`stats enable`, `stats uri`): Basic
//! authentication, the HTML report or `;csv`, `;typed`, `;json`,
//! `;json-schema`, `;up`, `;norefresh`,
//! `;no-maint`, and the admin form's POST (`stats admin if …`), answered
//! as HAProxy answers them.

use super::View;
use crate::config::model::StatsCfg;
use crate::engine::http::head::{Head, Header};
use crate::engine::http::reply::{self, Reply};
use crate::engine::state::Shared;
use std::sync::Arc;

/// Whether the request's URI starts with the page's `stats uri`.
pub fn matches(cfg: &StatsCfg, uri: &[u8]) -> bool {
    cfg.enabled && uri.starts_with(cfg.uri.as_bytes())
}

/// Options after the URI prefix (`;csv`, `;up`, `;norefresh`, `;st=X`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub csv: bool,
    /// `;typed` or `;json` (over `;csv`); `json_schema` over them all.
    pub format: super::Format,
    pub json_schema: bool,
    pub up: bool,
    pub no_maint: bool,
    pub norefresh: bool,
    pub status: Option<String>,
    pub scope: Option<String>,
}

pub fn options(cfg: &StatsCfg, uri: &[u8]) -> Options {
    let rest = String::from_utf8_lossy(&uri[cfg.uri.len().min(uri.len())..]).into_owned();
    let mut o = Options::default();
    let (mut typed, mut json) = (false, false);
    for part in rest.split([';', '?', '&']) {
        match part {
            "csv" => o.csv = true,
            "typed" => typed = true,
            "json" => json = true,
            "json-schema" => o.json_schema = true,
            "up" => o.up = true,
            "no-maint" => o.no_maint = true,
            "norefresh" => o.norefresh = true,
            _ => {
                if let Some(st) = part.strip_prefix("st=") {
                    o.status = Some(st.chars().take(4).collect());
                } else if let Some(sc) = part.strip_prefix("scope=") {
                    o.scope = Some(sc.to_string());
                }
            }
        }
    }
    // HAProxy looks for each option in turn, later ones overriding:
    // csv, typed, json, json-schema.
    if json {
        o.format = super::Format::Json;
    } else if typed {
        o.format = super::Format::Typed;
    }
    o
}

fn hdr(name: &str, value: impl AsRef<[u8]>) -> Header {
    Header::new(name, value)
}

fn response(status: u16, mut headers: Vec<Header>, body: Vec<u8>) -> Reply {
    headers.push(hdr("content-length", body.len().to_string()));
    Reply {
        head: reply::head(status, headers),
        body,
        log_status: status,
        silent: false,
    }
}

/// The 401 challenge.
fn unauthorized(cfg: &StatsCfg) -> Reply {
    let body = b"<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n".to_vec();
    response(
        401,
        vec![
            hdr("cache-control", "no-cache"),
            hdr("content-type", "text/html"),
            hdr(
                "www-authenticate",
                format!("Basic realm=\"{}\"", cfg.realm.replace('"', "")),
            ),
        ],
        body,
    )
}

/// `stats auth` accounts: when any is configured, the request must carry
/// one of them.
pub fn authorized(cfg: &StatsCfg, req: &Head) -> bool {
    if cfg.auth.is_empty() {
        return true;
    }
    match crate::engine::http::fetch::basic_credentials(req) {
        Some((u, p)) => cfg.auth.iter().any(|(cu, cp)| *cu == u && *cp == p),
        None => false,
    }
}

/// What the page answers to `req` on proxy `px`. `admin` tells whether
/// `stats admin` allows changes; `body` is a POST's form.
pub fn serve(
    shared: &Arc<Shared>,
    px: usize,
    req: &Head,
    body: Option<&[u8]>,
    admin: bool,
) -> Reply {
    let Some(cfg) = shared.config.proxies[px].stats.as_ref() else {
        return reply::builtin(503);
    };
    if !authorized(cfg, req) {
        return unauthorized(cfg);
    }
    let uri = req.uri();
    let opts = options(cfg, uri);
    if req.method() == "POST" {
        let status = if admin {
            apply_form(shared, body.unwrap_or_default())
        } else {
            "DENY"
        };
        let prefix = String::from_utf8_lossy(&uri[..cfg.uri.len().min(uri.len())]).into_owned();
        return response(
            303,
            vec![
                hdr("cache-control", "no-cache"),
                hdr("content-type", "text/plain"),
                hdr("location", format!("{prefix};st={status}")),
            ],
            Vec::new(),
        );
    }
    if !matches!(req.method(), "GET" | "HEAD") {
        return reply::builtin(405);
    }
    let mut headers = vec![hdr("cache-control", "no-cache")];
    // Addresses, cookies and algorithms only with `stats show-legends`.
    let view = View {
        legends: cfg.show_legends,
    };
    let (ctype, body) = if opts.json_schema {
        ("application/json", super::json::SCHEMA.as_bytes().to_vec())
    } else if opts.format != super::Format::Plain || opts.csv {
        let rows = filtered_rows(shared, cfg, &opts, view);
        match opts.format {
            super::Format::Json => ("application/json", super::json::stat(&rows).into_bytes()),
            super::Format::Typed => ("text/plain", super::typed::stat(&rows, false).into_bytes()),
            super::Format::Plain => (
                "text/plain",
                super::csv::render(&rows, super::csv::Filter::ALL).into_bytes(),
            ),
        }
    } else {
        let rows = filtered_rows(shared, cfg, &opts, view);
        (
            "text/html",
            super::html::render(shared, cfg, &opts, &rows, admin).into_bytes(),
        )
    };
    headers.push(hdr("content-type", ctype));
    if let Some(r) = cfg.refresh.filter(|_| !opts.norefresh) {
        headers.push(hdr("refresh", r.as_secs().to_string()));
    }
    response(200, headers, body)
}

/// Rows of the proxies `stats scope` lets the page show, without the
/// servers `;up` or `;no-maint` hide (backends then count their servers
/// in `status`).
fn filtered_rows(shared: &Shared, cfg: &StatsCfg, o: &Options, view: View) -> Vec<super::Row> {
    let mut rows = kept_rows(shared, cfg, o, view);
    if o.up || o.no_maint {
        super::count_servers_in_status(shared, &mut rows);
    }
    rows
}

fn kept_rows(shared: &Shared, cfg: &StatsCfg, o: &Options, view: View) -> Vec<super::Row> {
    super::rows(shared, view)
        .into_iter()
        .filter(|r| {
            let name = &shared.config.proxies[r.px].name;
            cfg.scope.is_empty() || cfg.scope.iter().any(|s| s == name || s == ".")
        })
        .filter(|r| {
            o.scope
                .as_ref()
                .is_none_or(|s| shared.config.proxies[r.px].name.contains(s.as_str()))
        })
        .filter(|r| {
            r.srv
                .is_none_or(|s| !super::hidden(shared, r.px, s, o.up, o.no_maint))
        })
        .collect()
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The admin form: `s=SERVER&…&action=ACTION&b=BACKEND`; returns the
/// status code the redirect carries (DONE, NONE, PART, ERRP).
pub fn apply_form(shared: &Arc<Shared>, body: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(body);
    let mut servers = Vec::new();
    let mut action = None;
    let mut backend = None;
    for kv in text.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = url_decode(v);
        match k {
            "s" => servers.push(v),
            "action" => action = Some(v),
            "b" => backend = Some(v),
            _ => {}
        }
    }
    let (Some(action), Some(backend)) = (action, backend) else {
        return "ERRP";
    };
    let Some(be) = shared.backend_index(&backend) else {
        return "ERRP";
    };
    let known = [
        "ready", "drain", "maint", "dhlth", "ehlth", "hrunn", "hnolb", "hdown", "shutdown",
        "disable", "enable", "stop", "start",
    ];
    if !known.contains(&action.as_str()) {
        return "ERRP";
    }
    if servers.is_empty() {
        return "NONE";
    }
    let mut done = 0;
    let mut missing = 0;
    for name in &servers {
        let Some(s) = shared.config.proxies[be]
            .servers
            .iter()
            .position(|x| &x.name == name)
        else {
            missing += 1;
            continue;
        };
        use crate::engine::admin;
        use crate::engine::transitions::{self, Why};
        let why = Why::Text("changed from the stats page");
        match action.as_str() {
            "ready" | "enable" => admin::state_ready(shared, be, s),
            "drain" => admin::state_drain(shared, be, s),
            "maint" | "disable" => admin::state_maint(shared, be, s),
            "dhlth" | "stop" => admin::set_checks(shared, be, s, false),
            "ehlth" | "start" if shared.server_cfg(be, s).opts.check.enabled => {
                admin::set_checks(shared, be, s, true);
            }
            // A tracker's health is its tracked server's: HAProxy ignores
            // these for it.
            "hrunn" | "hnolb" | "hdown" if shared.proxies[be].servers[s].tracks.is_some() => {}
            "hrunn" => transitions::set_running(shared, be, s, why),
            "hnolb" => transitions::set_stopping(shared, be, s, why),
            "hdown" => transitions::set_stopped(shared, be, s, why),
            "shutdown" => admin::shutdown_sessions(shared, be, s),
            _ => {}
        }
        done += 1;
    }
    match (done, missing) {
        (0, _) => "NONE",
        (_, 0) => "DONE",
        _ => "PART",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_options() {
        let cfg = StatsCfg {
            enabled: true,
            uri: "/stats".into(),
            ..Default::default()
        };
        let o = options(&cfg, b"/stats;csv;norefresh");
        assert!(o.csv && o.norefresh && !o.up);
        let o = options(&cfg, b"/stats;up;st=DONE");
        assert!(o.up);
        assert_eq!(o.status.as_deref(), Some("DONE"));
        assert!(matches(&cfg, b"/stats;csv"));
        assert!(!matches(&cfg, b"/other"));
        assert_eq!(url_decode("a%2Fb+c"), "a/b c");
    }
}
