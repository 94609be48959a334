//! `stats …` in proxies: the statistics page.

use super::Flow;
use crate::config::line::Line;
use crate::config::model::*;
use crate::config::parser::ProxyCtx;
use crate::config::values::{self, TimeUnit};

fn cfg<'a>(ctx: &'a mut ProxyCtx) -> &'a mut StatsCfg {
    ctx.px.stats.get_or_insert_with(StatsCfg::default)
}

pub fn stats(ctx: &mut ProxyCtx, line: &Line) -> Flow {
    let sub = line.arg(1);
    let v = line.arg(2);
    match sub {
        "enable" => cfg(ctx).enabled = true,
        "uri" => {
            if v.is_empty() {
                ctx.sv.alert(line, "'uri' needs an URI prefix.");
                return Flow::Continue;
            }
            let s = cfg(ctx);
            s.enabled = true;
            s.uri = v.to_string();
        }
        "realm" => {
            if v.is_empty() {
                ctx.sv.alert(line, "'realm' needs an realm name.");
                return Flow::Continue;
            }
            let s = cfg(ctx);
            s.enabled = true;
            s.realm = v.to_string();
        }
        "auth" => {
            if v.is_empty() {
                ctx.sv.alert(line, "'auth' needs a user:password account.");
                return Flow::Continue;
            }
            let (user, pass) = v.split_once(':').unwrap_or((v, ""));
            let s = cfg(ctx);
            s.enabled = true;
            s.auth.push((user.to_string(), pass.to_string()));
        }
        "refresh" => match values::parse_time(v, TimeUnit::Seconds) {
            Ok(t) => {
                let s = cfg(ctx);
                s.enabled = true;
                s.refresh = Some(t.value);
            }
            Err(values::TimeError::UnexpectedChar(c)) => ctx.sv.alert_tight(
                line,
                format!("unexpected character '{c}' in argument to stats refresh interval."),
            ),
            Err(_) => ctx
                .sv
                .alert(line, "'refresh' needs a positive interval in seconds."),
        },
        "hide-version" => {
            let s = cfg(ctx);
            s.enabled = true;
            s.hide_version = true;
        }
        "show-legends" => {
            let s = cfg(ctx);
            s.enabled = true;
            s.show_legends = true;
        }
        "show-node" => {
            let node = if v.is_empty() {
                ctx.global.node.clone().unwrap_or_else(crate::util::hostname)
            } else {
                v.to_string()
            };
            let s = cfg(ctx);
            s.enabled = true;
            s.show_node = Some(node);
        }
        "show-desc" => {
            let desc = if line.len() > 2 {
                Some(line.rest(2).join(" "))
            } else {
                ctx.global.description.clone()
            };
            match desc {
                Some(d) => {
                    let s = cfg(ctx);
                    s.enabled = true;
                    s.show_desc = Some(d);
                }
                None => ctx.sv.warn(
                    line,
                    "'show-desc' requires a parameter or 'desc' to be set in the global section.",
                ),
            }
        }
        "scope" => {
            if v.is_empty() {
                ctx.sv
                    .alert(line, "'scope' needs a proxy name.");
                return Flow::Continue;
            }
            let s = cfg(ctx);
            s.enabled = true;
            s.scope.push(v.to_string());
        }
        "admin" => {
            if !matches!(v, "if" | "unless") {
                ctx.sv.alert(
                    line,
                    "'stats admin' requires either 'if' or 'unless' followed by a condition.",
                );
                return Flow::Continue;
            }
            let known: Vec<String> = ctx.px.rules.acls.iter().map(|a| a.name.clone()).collect();
            let known = |n: &str| known.iter().any(|k| k == n);
            match crate::config::acl::parse_condition(
                line.rest(2),
                &line.origin,
                &known,
                &super::rules::read_pattern_file,
            ) {
                Ok((c, _)) => {
                    let s = cfg(ctx);
                    s.enabled = true;
                    s.admin.push(c);
                }
                Err(e) => ctx.sv.alert(
                    line,
                    format!("error detected while parsing a 'stats admin' rule : {e}."),
                ),
            }
        }
        "http-request" => {
            // Parsed with the http-request grammar, kept apart for the page.
            let words: Vec<String> = line.rest(1).to_vec();
            let sub = Line {
                origin: line.origin.clone(),
                words,
                modifier: line.modifier,
            };
            let before = ctx.px.rules.http_request.len();
            let flow = super::rules::http_request(ctx, &sub);
            if ctx.px.rules.http_request.len() > before
                && let Some(rule) = ctx.px.rules.http_request.pop() {
                    let s = cfg(ctx);
                    s.enabled = true;
                    s.http_request.push(rule);
                }
            return flow;
        }
        "bind-process" => {}
        other => ctx.sv.alert_tight(
            line,
            format!(
                "unknown stats parameter '{other}', expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'."
            ),
        ),
    }
    Flow::Continue
}
