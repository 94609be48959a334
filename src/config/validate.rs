//! HAProxy's post-parse checks (`check_config_validity()`), run only when
//! parsing found no error, then the start-up checks that touch the machine
//! (server address resolution).

use super::address::{self, Endpoint, Host, Port};
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Style};

/// Cross-references and semantic checks over the whole model.
pub fn check(cfg: &mut Config, deferred: Diagnostics) -> Diagnostics {
    let mut d = deferred;
    let backends: std::collections::HashMap<&str, &Proxy> = cfg
        .proxies
        .iter()
        .rev()
        .filter(|p| p.kind.has_backend())
        .map(|p| (p.name.as_str(), p))
        .collect();
    let backend = |n: &str| {
        backends
            .get(n)
            .map(|b| (b.name.clone(), b.kind, b.mode, b.origin.clone()))
    };

    // `track` links resolved so far, HAProxy's way (see `track_error`).
    let mut tracks = std::collections::HashMap::new();
    for p in cfg.proxies.iter() {
        if p.disabled {
            continue;
        }
        let what = format!("{} '{}'", p.kind.word(), p.name);

        if p.kind.has_frontend() {
            let check_target = |d: &mut Diagnostics, target: &str, rule: &str| match backend(target)
            {
                None => d.push(Diagnostic::alert(
                    None,
                    format!(
                        "Proxy '{}': unable to find required {rule}: '{target}'.",
                        p.name
                    ),
                )),
                Some((bn, _, bmode, borigin)) => {
                    if p.mode == Mode::Http && bmode == Mode::Tcp {
                        let how = if rule == "default_backend" {
                            "as its default backend".to_string()
                        } else {
                            "in a 'use_backend' rule".to_string()
                        };
                        d.push(Diagnostic::alert(
                            None,
                            format!(
                                "http frontend '{}' ({}) tries to use incompatible tcp backend '{bn}' ({}) {how} (see 'mode').",
                                p.name, p.origin, borigin
                            ),
                        ));
                    }
                }
            };
            if let Some((db, _)) = &p.default_backend {
                check_target(&mut d, db, "default_backend");
            }
            for ub in &p.rules.use_backends {
                if let BackendTarget::Name(n) = &ub.target {
                    check_target(&mut d, n, "use_backend");
                }
            }
            if p.kind == ProxyKind::Listen && p.default_backend.is_some() && !p.servers.is_empty() {
                d.push(Diagnostic::warning(
                    None,
                    format!(
                        "In proxy '{}', the 'default_backend' rule always has precedence over the servers, which will never be used.",
                        p.name
                    ),
                ));
            }
        }

        if p.kind == ProxyKind::Listen && p.binds.is_empty() {
            d.push(Diagnostic::warning(
                None,
                format!(
                    "proxy '{}' has no 'bind' directive. Please declare it as a backend if this was intended.",
                    p.name
                ),
            ));
        }

        let t = &p.timeouts;
        let fe_missing = p.kind.has_frontend() && t.client.is_none();
        let be_missing = p.kind.has_backend()
            && !p.servers.is_empty()
            && (t.connect.is_none() || t.server.is_none());
        if fe_missing || be_missing {
            d.push(Diagnostic::warning(
                None,
                format!(
                    "missing timeouts for {what}.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'."
                ),
            ));
        }

        if p.mode == Mode::Tcp {
            for (list, name) in [
                (!p.rules.http_request.is_empty(), "http-request"),
                (!p.rules.http_response.is_empty(), "http-response"),
                (
                    !p.rules.http_after_response.is_empty(),
                    "http-after-response",
                ),
            ] {
                if list {
                    d.push(Diagnostic::warning(
                        None,
                        format!("'{name}' rules ignored for {what} as they require HTTP mode."),
                    ));
                }
            }
            if p.cookie.is_some() && p.kind.has_backend() {
                d.push(Diagnostic::warning(
                    None,
                    format!("cookie will be ignored for {what} (needs 'mode http')."),
                ));
                for s in p.servers.iter().filter(|s| s.opts.cookie.is_some()) {
                    d.push(Diagnostic::warning(
                        None,
                        format!(
                            "{} '{}' : ignoring cookie for server '{}' as HTTP mode is disabled.",
                            p.kind.word(),
                            p.name,
                            s.name
                        ),
                    ));
                }
            }
            if matches!(
                p.log_style,
                LogStyle::Http | LogStyle::HttpClf | LogStyle::Https
            ) && p.kind.has_frontend()
            {
                let opt = match p.log_style {
                    LogStyle::Https => "httpslog",
                    _ => "httplog",
                };
                d.push(Diagnostic::warning(
                    p.log_style_origin.clone(),
                    format!(
                        "'option {opt}' not usable with {what} (needs 'mode http'). Falling back to 'option tcplog'."
                    ),
                ));
            }
        }

        if p.kind.has_frontend() && matches!(p.log_style, LogStyle::Custom(_)) && p.logs.is_empty()
        {
            d.push(Diagnostic::warning(
                None,
                format!("log format ignored for {what} since it has no log address."),
            ));
        }

        for page in &p.error_pages {
            if let ErrorPage::Section { name } = &page.page
                && !cfg.http_errors.iter().any(|h| &h.name == name)
            {
                d.push(Diagnostic::alert(
                    None,
                    format!(
                        "proxy '{}': unknown http-errors section '{name}' (at {}).",
                        p.name, page.origin
                    ),
                ));
                break;
            }
        }

        for b in &p.binds {
            if let Some(ssl) = &b.ssl
                && ssl.crt.is_empty()
                && ssl.crt_list.is_empty()
                && p.kind.has_frontend()
            {
                let shown = b
                    .addrs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                d.push(Diagnostic::alert(
                        None,
                        format!(
                            "Proxy '{}': no SSL certificate specified for bind '{}' at [{}] (use 'crt').",
                            p.name,
                            bind_text(b, &shown),
                            b.origin
                        ),
                    ));
            }
        }

        if p.kind.has_backend() {
            for s in &p.servers {
                let no_port = matches!(s.addr.port(), Port::None | Port::Offset(_))
                    && matches!(s.addr, Endpoint::Inet { .. });
                if s.opts.check.enabled
                    && no_port
                    && s.opts.check.port.is_none()
                    && matches!(s.addr.port(), Port::None)
                {
                    d.push(Diagnostic::alert(
                            None,
                            format!(
                                "config: backend '{}': server '{}' has neither service port nor check port.",
                                p.name, s.name
                            ),
                        ));
                }
                if let Some(msg) = track_error(cfg, p, s, &mut tracks) {
                    d.push(
                        Diagnostic::alert(
                            Some(s.origin.clone()),
                            format!("'server {}/{}' : {msg}", p.name, s.name),
                        )
                        .style(Style::Located),
                    );
                }
                if let Some(r) = &s.opts.extra().resolvers
                    && !cfg.resolvers.iter().any(|x| &x.name == r)
                {
                    d.push(Diagnostic::alert(
                        None,
                        format!(
                            "backend '{}', server '{}': unable to find required resolvers '{r}'",
                            p.name, s.name
                        ),
                    ));
                }
                let ssl = &s.opts.extra().ssl;
                if ssl.enabled
                    && ssl.verify.as_deref() != Some("none")
                    && ssl.ca_file.is_none()
                    && !cfg.global.ssl_server_verify_none
                {
                    d.push(
                        Diagnostic::alert(
                            Some(s.origin.clone()),
                            format!(
                                "'server {}/{}' : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.",
                                p.name, s.name
                            ),
                        )
                        .style(Style::Located),
                    );
                }
            }
        }
    }

    references(cfg, &mut d);

    for prog in &cfg.programs {
        if !prog
            .lines
            .iter()
            .any(|l| l.first().is_some_and(|w| w == "command"))
        {
            d.push(Diagnostic::alert(
                None,
                format!(
                    "The program section '{}' lacks a command to launch.",
                    prog.name
                ),
            ));
        }
    }
    d
}

/// Every ACL term a proxy evaluates: its named ACLs and the anonymous
/// `{ … }` ones inside its conditions.
pub fn acl_terms(p: &Proxy) -> Vec<&AclTerm> {
    let mut out: Vec<&AclTerm> = p.rules.acls.iter().flat_map(|a| a.terms.iter()).collect();
    for c in p.rules.conditions() {
        for t in c.alternatives.iter().flatten() {
            if let AclRef::Anonymous(a) = &t.acl {
                out.extend(a.terms.iter());
            }
        }
    }
    out
}

/// References to other sections: userlists (`http_auth`), caches, peers
/// of stick tables, and the tables `track-sc` names.
/// (proxy, server) names.
type SrvKey<'a> = (&'a str, &'a str);

/// `track [BACKEND/]SERVER` as HAProxy's `srv_apply_track` checks it,
/// server after server: the proxy and the server exist, the tracked one
/// is checked (or tracks one itself), and the link does not close a loop
/// with those resolved before (`tracks`).
fn track_error<'a>(
    cfg: &'a Config,
    p: &'a Proxy,
    s: &'a crate::config::model::Server,
    tracks: &mut std::collections::HashMap<SrvKey<'a>, SrvKey<'a>>,
) -> Option<String> {
    let track = s.opts.extra().track.as_deref()?;
    let (px, sname) = match track.split_once('/') {
        Some((b, n)) => match cfg
            .proxies
            .iter()
            .find(|x| x.name == b && x.kind.has_backend())
        {
            Some(x) => (x, n),
            None => return Some(format!("unable to find required proxy '{b}' for tracking.")),
        },
        None => (p, track),
    };
    let Some(strack) = px.servers.iter().find(|y| y.name == sname) else {
        return Some(format!(
            "unable to find required server '{sname}' for tracking."
        ));
    };
    let x = strack.opts.extra();
    if !strack.opts.check.enabled && !x.agent.enabled && x.track.is_none() {
        return Some(format!(
            "unable to use {}/{} for tracking as it does not have any check nor agent enabled.",
            px.name, strack.name
        ));
    }
    let me = (p.name.as_str(), s.name.as_str());
    let target = (px.name.as_str(), strack.name.as_str());
    let mut cur = tracks.get(&target).copied();
    for _ in 0..tracks.len() {
        match cur {
            Some(c) if c != me => cur = tracks.get(&c).copied(),
            _ => break,
        }
    }
    if me == target || cur.is_some() {
        return Some(format!(
            "unable to track {}/{} as it belongs to a tracking chain looping back to {}/{}.",
            px.name,
            strack.name,
            px.name,
            if me == target { &strack.name } else { &s.name }
        ));
    }
    tracks.insert(me, target);
    None
}

fn references(cfg: &Config, d: &mut Diagnostics) {
    for p in &cfg.proxies {
        for t in acl_terms(p) {
            if matches!(
                t.expr.fetch.as_str(),
                "http_auth" | "http_auth_group" | "http_auth_bearer"
            ) {
                let ul = t.expr.args.first().map(String::as_str).unwrap_or("");
                if cfg.userlist(ul).is_none() && t.expr.fetch != "http_auth_bearer" {
                    d.push(
                        Diagnostic::alert(
                            Some(t.origin.clone()),
                            format!(
                                "unable to find userlist '{ul}' referenced in arg 1 of ACL keyword '{}' in proxy '{}'.",
                                t.expr.fetch, p.name
                            ),
                        )
                        .style(Style::ParsingTight),
                    );
                }
            }
        }
        if let Some(st) = &p.stick_table
            && let Some(peers) = &st.peers
            && !cfg.peers.iter().any(|x| &x.name == peers)
        {
            d.push(Diagnostic::alert(
                None,
                format!("Proxy '{}': unable to find sync peers '{peers}'.", p.name),
            ));
        }
        let http_rules = p
            .rules
            .http_request
            .iter()
            .chain(p.rules.http_response.iter())
            .map(|r| &r.action);
        for a in http_rules {
            if let HttpAction::NotEnforced { name, args } = a
                && matches!(name.as_str(), "cache-use" | "cache-store")
            {
                let cache = args.first().map(String::as_str).unwrap_or("");
                if !cfg.caches.iter().any(|c| c.name == cache) {
                    d.push(Diagnostic::alert(
                            None,
                            format!(
                                "config: {} '{}': unable to find the cache '{cache}' referenced by the filter 'cache'.",
                                p.kind.word(),
                                p.name
                            ),
                        ));
                    break;
                }
            }
        }
        let tracks = p
            .rules
            .http_request
            .iter()
            .filter_map(|r| match &r.action {
                HttpAction::NotEnforced { name, args } => Some((name, args)),
                _ => None,
            })
            .chain(
                p.rules
                    .tcp_request_connection
                    .iter()
                    .chain(p.rules.tcp_request_session.iter())
                    .chain(p.rules.tcp_request_content.iter())
                    .filter_map(|r| match &r.action {
                        TcpAction::NotEnforced { name, args } => Some((name, args)),
                        _ => None,
                    }),
            );
        for (name, args) in tracks {
            if !name.starts_with("track-sc") {
                continue;
            }
            let table = args
                .iter()
                .position(|a| a == "table")
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
                .unwrap_or(p.name.as_str());
            let found = cfg
                .proxies
                .iter()
                .any(|x| x.name == table && x.stick_table.is_some());
            if !found {
                d.push(Diagnostic::alert(
                    None,
                    format!(
                        "Proxy '{}': unable to find table '{table}' referenced by {name}.",
                        p.name
                    ),
                ));
            }
        }
    }
}

fn bind_text(b: &Bind, shown: &str) -> String {
    let _ = b;
    shown.replace("0.0.0.0:", ":")
}

/// Whether anything would listen: binds (even ignored ones), stats
/// sockets, peers with a local peer. HAProxy exits with 2 otherwise.
pub fn has_listener(cfg: &Config) -> bool {
    cfg.proxies
        .iter()
        .any(|p| !p.binds.is_empty() && !p.disabled)
        || !cfg.global.stats_sockets.is_empty()
        || !cfg.log_forwards.is_empty()
}

/// Resolves server host names as HAProxy's `srv_init_addr()` does, following
/// each server's `init-addr` methods. Returns the diagnostics; a server that
/// cannot be resolved and has no `none` fallback is fatal.
pub fn resolve_servers(cfg: &mut Config) -> Diagnostics {
    let mut d = Diagnostics::new();
    for p in cfg.proxies.iter_mut() {
        let pname = p.name.clone();
        for s in p.servers.iter_mut() {
            let Endpoint::Inet {
                host: Host::Name(name),
                family,
                ..
            } = &s.addr
            else {
                continue;
            };
            let name = name.clone();
            let family = *family;
            let mut resolved = None;
            let mut fallback_ip = None;
            let mut allow_none = false;
            for m in s.opts.init_addr.iter() {
                match m {
                    InitAddr::Last => {}
                    InitAddr::Libc => {
                        if resolved.is_none() {
                            resolved = address::resolve_host(&name, family);
                        }
                    }
                    InitAddr::None => allow_none = true,
                    InitAddr::Ip(ip) => {
                        if fallback_ip.is_none() {
                            fallback_ip = Some(*ip);
                        }
                    }
                }
                if resolved.is_some() {
                    break;
                }
            }
            let tries_libc = s.opts.init_addr.contains(&InitAddr::Libc);
            match (resolved, fallback_ip, allow_none) {
                (Some(ip), _, _) => s.resolved = Some(ip),
                (None, Some(ip), _) => {
                    if tries_libc {
                        d.push(
                            Diagnostic::warning(
                                Some(s.origin.clone()),
                                format!(
                                    "'server {pname}/{}' : could not resolve address '{name}', falling back to configured address.",
                                    s.name
                                ),
                            )
                            .style(Style::Located),
                        );
                    }
                    s.resolved = Some(ip);
                }
                (None, None, true) => {
                    if tries_libc {
                        d.push(
                            Diagnostic::warning(
                                Some(s.origin.clone()),
                                format!(
                                    "'server {pname}/{}' : could not resolve address '{name}', disabling server.",
                                    s.name
                                ),
                            )
                            .style(Style::Located),
                        );
                    }
                    s.resolved = None;
                    s.opts.disabled = true;
                }
                (None, None, false) => d.push(
                    Diagnostic::alert(
                        Some(s.origin.clone()),
                        format!(
                            "'server {pname}/{}' : could not resolve address '{name}'.",
                            s.name
                        ),
                    )
                    .style(Style::Located),
                ),
            }
        }
    }
    if d.has_fatal() {
        d.push(Diagnostic::alert(
            None,
            "Failed to initialize server(s) addr.",
        ));
    }
    d
}
