//! `rproxy -c --modernize`: prints a configuration with the 1.x syntax
//! HAProxy 2.x removed rewritten into what HAProxy 2.6 accepts, line by
//! line, keeping comments, indentation and every other line as written.
//!
//! Rules with no exact modern equivalent (a `reqrep` on an arbitrary part of
//! the request) are commented out with a note, and listed on stderr.

use super::lexer::{self, Vars};
use std::path::PathBuf;

/// Rewrites every file given with `-f` (directories expanded), in order.
pub fn rewrite_files(paths: &[PathBuf]) -> Result<String, String> {
    let files = super::reader::expand_paths(paths)?;
    let mut out = String::new();
    for (shown, p) in files {
        let data = std::fs::read(&p).map_err(|e| format!("{shown}: {e}"))?;
        let (text, notes) = rewrite(&String::from_utf8_lossy(&data));
        for n in notes {
            eprintln!("{shown}:{n}");
        }
        out.push_str(&text);
    }
    Ok(out)
}

/// Keeps `$VAR` references as text: the rewritten file is expanded by
/// whoever reads it next.
struct KeepVars;

impl Vars for KeepVars {
    fn env(&self, name: &str) -> Option<String> {
        Some(format!("${{{name}}}"))
    }
    fn pseudo(&self, name: &str) -> Option<String> {
        Some(format!("${{{name}}}"))
    }
}

/// Rewrites one file; returns the text and notes about lines it could not
/// translate exactly (`LINE: message`).
pub fn rewrite(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut notes = Vec::new();
    let mut lines = text.split('\n').peekable();
    let mut n = 0;
    while let Some(raw) = lines.next() {
        n += 1;
        let is_last = lines.peek().is_none();
        if is_last && raw.is_empty() {
            break;
        }
        let indent: String = raw.chars().take_while(|c| c.is_whitespace()).collect();
        let words = lexer::split_line(raw.as_bytes(), &KeepVars).unwrap_or_default();
        let comment = trailing_comment(raw);
        match translate(&words) {
            Rewrite::Keep => out.push_str(raw),
            Rewrite::Replace(new_lines) => {
                let next_indent = lines
                    .peek()
                    .map(|l| {
                        l.chars()
                            .take_while(|c| c.is_whitespace())
                            .collect::<String>()
                    })
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(|| "    ".to_string());
                for (i, l) in new_lines.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                        out.push_str(&next_indent);
                    } else {
                        out.push_str(&indent);
                    }
                    out.push_str(l);
                }
                if let Some(c) = &comment {
                    out.push(' ');
                    out.push_str(c);
                }
            }
            Rewrite::Comment(why) => {
                notes.push(format!("{n}: {why}"));
                out.push_str(&indent);
                out.push_str("# ");
                out.push_str(raw.trim_start());
                out.push_str(&format!("  # rproxy --modernize: {why}"));
            }
        }
        // A last line without LF gets one: HAProxy 2.3+ requires it.
        out.push('\n');
    }
    (out, notes)
}

fn trailing_comment(raw: &str) -> Option<String> {
    // Only plain unquoted lines keep a trailing comment; the words already
    // drop it, so find an unquoted, unescaped '#'.
    let b = raw.as_bytes();
    let (mut sq, mut dq) = (false, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if !sq => i += 1,
            b'\'' if !dq => sq = !sq,
            b'"' if !sq => dq = !dq,
            b'#' if !sq && !dq => return Some(raw[i..].trim_end().to_string()),
            _ => {}
        }
        i += 1;
    }
    None
}

enum Rewrite {
    Keep,
    Replace(Vec<String>),
    Comment(String),
}

/// Quotes a word so that HAProxy reads it back unchanged.
fn quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'\'' | b'#' | b'$'));
    if plain {
        return w.to_string();
    }
    if w.contains("${") && !w.contains('"') && !w.contains('\\') {
        // a kept environment reference: double quotes expand it
        return format!("\"{w}\"");
    }
    if !w.contains('\'') {
        return format!("'{w}'");
    }
    let mut s = String::from("\"");
    for c in w.chars() {
        match c {
            '"' | '\\' | '$' => {
                s.push('\\');
                s.push(c);
            }
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn translate(words: &[String]) -> Rewrite {
    let Some(kw) = words.first().map(String::as_str) else {
        return Rewrite::Keep;
    };
    let rest = &words[1..];
    match kw {
        "listen" | "frontend" if words.len() >= 3 && words[2] != "from" => Rewrite::Replace(vec![
            format!("{kw} {}", quote(&words[1])),
            format!("bind {}", join(&words[2..])),
        ]),
        "contimeout" | "clitimeout" | "srvtimeout" => {
            let which = match kw {
                "contimeout" => "connect",
                "clitimeout" => "client",
                _ => "server",
            };
            Rewrite::Replace(vec![format!("timeout {which} {}", join(rest))])
        }
        "redispatch" | "redisp" => Rewrite::Replace(vec!["option redispatch".into()]),
        "option" | "no" => translate_option(words),
        "nbproc" => Rewrite::Replace(vec![format!(
            "# nbproc {}  # removed in HAProxy 2.5: threads are used instead",
            join(rest)
        )]),
        "debug" => Rewrite::Replace(vec![
            "# debug  # removed in HAProxy 2.3: use -d on the command line".into(),
        ]),
        "block" => Rewrite::Replace(vec![format!("http-request deny {}", join(rest))]),
        "monitor-net" if !rest.is_empty() => Rewrite::Replace(vec![format!(
            "http-request return status 200 if {{ src {} }}",
            quote(&rest[0])
        )]),
        "appsession" => Rewrite::Comment(
            "appsession was removed in HAProxy 1.6; use 'cookie' persistence or a stick table"
                .into(),
        ),
        _ if is_legacy_rule(kw) => translate_rule(kw, rest),
        _ => Rewrite::Keep,
    }
}

fn translate_option(words: &[String]) -> Rewrite {
    let (neg, w) = if words[0] == "no" {
        ("no ", &words[1..])
    } else {
        ("", words)
    };
    match w.get(1).map(String::as_str) {
        Some("forceclose") if w.first().is_some_and(|x| x == "option") => {
            Rewrite::Replace(vec![format!("{neg}option httpclose")])
        }
        Some("http-tunnel") if w.first().is_some_and(|x| x == "option") => {
            Rewrite::Replace(vec![format!(
                "# {neg}option http-tunnel  # removed in HAProxy 2.1: requests are always parsed"
            )])
        }
        _ => Rewrite::Keep,
    }
}

fn is_legacy_rule(kw: &str) -> bool {
    let base = kw.strip_prefix("req").or_else(|| kw.strip_prefix("rsp"));
    matches!(
        base.map(|b| b.strip_prefix('i').unwrap_or(b)),
        Some("add" | "rep" | "del" | "deny" | "allow" | "pass" | "tarpit")
    )
}

/// `Name:` at the start of a header-line regex, and the value regex after it.
fn header_regex(re: &str) -> Option<(String, String)> {
    let body = re.strip_prefix('^')?;
    let name_len = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .count();
    if name_len == 0 || body.as_bytes().get(name_len) != Some(&b':') {
        return None;
    }
    let name = body[..name_len].to_string();
    let mut value = &body[name_len + 1..];
    for p in [" *", " ", "\\s*", "[ ]*"] {
        if let Some(v) = value.strip_prefix(p) {
            value = v;
            break;
        }
    }
    Some((name, value.to_string()))
}

/// A request-line regex split into its method part and a URI regex.
fn request_line_regex(re: &str) -> Option<(Option<String>, bool, String)> {
    let body = re.strip_prefix('^')?;
    // The words were unescaped by the tokenizer: `\ ` is a plain space.
    let any_method = [
        "[^: ]* ",
        "[^ :]* ",
        "[^ ]* ",
        "[A-Z]* ",
        "[A-Z]+ ",
        ".* ",
        "[^:\\ ]* ",
    ];
    for m in any_method {
        if let Some(rest) = body.strip_prefix(m) {
            return Some((None, false, format!("^{rest}")));
        }
        let captured = format!("({}) ", m.trim_end_matches(' '));
        if let Some(rest) = body.strip_prefix(&captured) {
            return Some((None, true, format!("^{rest}")));
        }
    }
    let meth_len = body.bytes().take_while(u8::is_ascii_uppercase).count();
    if meth_len > 0
        && let Some(rest) = body[meth_len..].strip_prefix(' ')
    {
        return Some((
            Some(body[..meth_len].to_string()),
            false,
            format!("^{rest}"),
        ));
    }
    None
}

/// `\1\ /x\2` → `/x\1` when the first group held the method.
fn drop_method_group(repl: &str) -> Option<String> {
    let rest = repl.strip_prefix("\\1 ")?;
    let mut out = String::new();
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii_digit() && b[i + 1] > b'1' {
            out.push('\\');
            out.push((b[i + 1] - 1) as char);
            i += 2;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    Some(out)
}

fn translate_rule(kw: &str, rest: &[String]) -> Rewrite {
    let response = kw.starts_with("rsp");
    let family = if response {
        "http-response"
    } else {
        "http-request"
    };
    let op = &kw[3..];
    let (icase, op) = match op.strip_prefix('i') {
        Some(o) => (true, o),
        None => (false, op),
    };
    let Some(first) = rest.first() else {
        return Rewrite::Keep;
    };
    let (args, cond) = match rest.iter().position(|w| w == "if" || w == "unless") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, &[][..]),
    };
    let cond_text = if cond.is_empty() {
        String::new()
    } else {
        format!(" {}", join(cond))
    };
    let ci = if icase { "(?i)" } else { "" };
    match op {
        "add" => match first.split_once(':') {
            Some((name, value)) => Rewrite::Replace(vec![format!(
                "{family} add-header {} {}{cond_text}",
                quote(name),
                quote(value.trim_start())
            )]),
            None => Rewrite::Comment("header line without ':'".into()),
        },
        "del" => match header_regex(first) {
            Some((name, value)) if value.is_empty() || value == ".*" => {
                Rewrite::Replace(vec![format!(
                    "{family} del-header {}{cond_text}",
                    quote(&name)
                )])
            }
            _ => Rewrite::Comment("only whole-header deletions have an exact modern form".into()),
        },
        "rep" => {
            let repl = args.get(1).map(String::as_str).unwrap_or("");
            if let Some((name, value)) = header_regex(first) {
                let Some(new_value) = repl
                    .strip_prefix(&format!("{name}:"))
                    .map(|v| v.trim_start().to_string())
                else {
                    return Rewrite::Comment(
                        "a rewrite that renames a header has no exact modern form".into(),
                    );
                };
                return Rewrite::Replace(vec![format!(
                    "{family} replace-header {} {} {}{cond_text}",
                    quote(&name),
                    quote(&format!("{ci}{value}")),
                    quote(&new_value)
                )]);
            }
            if response {
                return Rewrite::Comment("status-line rewrites have no exact modern form".into());
            }
            match request_line_regex(first) {
                Some((None, captured, uri_re)) => {
                    let new = if captured {
                        drop_method_group(repl)
                    } else {
                        repl.split_once(' ').map(|(_, u)| u.to_string())
                    };
                    match new {
                        Some(u) => Rewrite::Replace(vec![format!(
                            "http-request replace-uri {} {}{cond_text}",
                            quote(&format!("{ci}{uri_re}")),
                            quote(&u)
                        )]),
                        None => Rewrite::Comment(
                            "the method part of the rewrite changes; rewrite by hand".into(),
                        ),
                    }
                }
                _ => Rewrite::Comment("this request-line rewrite has no exact modern form".into()),
            }
        }
        "deny" | "allow" | "tarpit" | "pass" => {
            if cond.iter().any(|w| w == "||" || w == "or")
                || cond.first().is_some_and(|w| w == "unless")
            {
                return Rewrite::Comment(
                    "combining this rule with its condition needs a rewrite by hand".into(),
                );
            }
            let extra = if cond.len() > 1 {
                format!(" {}", join(&cond[1..]))
            } else {
                String::new()
            };
            let icase_flag = if icase { " -i" } else { "" };
            let matcher = if let Some((name, value)) = header_regex(first) {
                if value.is_empty() || value == ".*" {
                    format!("{{ req.hdr({name}) -m found }}")
                } else {
                    format!("{{ req.hdr({name}){icase_flag} -m reg {} }}", quote(&value))
                }
            } else if let Some((method, _, uri_re)) = request_line_regex(first) {
                let m = method
                    .map(|m| format!("{{ method {m} }} "))
                    .unwrap_or_default();
                format!("{m}{{ url_reg{icase_flag} {} }}", quote(&uri_re))
            } else {
                return Rewrite::Comment("this request-line test has no exact modern form".into());
            };
            if op == "pass" {
                return Rewrite::Replace(vec![format!(
                    "# {kw} {}  # removed: 'pass' rules had no effect",
                    join(rest)
                )]);
            }
            let action = if response && op == "deny" { "deny" } else { op };
            let fam = if response {
                "http-response"
            } else {
                "http-request"
            };
            let matcher = if response {
                matcher.replace("req.hdr(", "res.hdr(")
            } else {
                matcher
            };
            Rewrite::Replace(vec![format!("{fam} {action} if {matcher}{extra}")])
        }
        _ => Rewrite::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> String {
        rewrite(&format!("{line}\n")).0.trim_end().to_string()
    }

    #[test]
    fn sections_and_timeouts() {
        assert_eq!(
            rewrite("listen web 0.0.0.0:8080\n    mode http\n").0,
            "listen web\n    bind 0.0.0.0:8080\n    mode http\n"
        );
        assert_eq!(one("    contimeout 4000"), "    timeout connect 4000");
        assert_eq!(
            one("  clitimeout 42000 # client"),
            "  timeout client 42000 # client"
        );
        assert_eq!(one("    redispatch"), "    option redispatch");
        assert_eq!(one("    option forceclose"), "    option httpclose");
        assert_eq!(
            one("    block if blocked_ua"),
            "    http-request deny if blocked_ua"
        );
        assert_eq!(rewrite("a\nb").0, "a\nb\n");
    }

    #[test]
    fn rewrite_rules() {
        assert_eq!(
            one(r"    reqadd X-Forwarded-Proto:\ http"),
            "    http-request add-header X-Forwarded-Proto http"
        );
        assert_eq!(
            one(r"    reqdel ^X-Debug:.*"),
            "    http-request del-header X-Debug"
        );
        assert_eq!(
            one(r"    rspdel ^Server:.*"),
            "    http-response del-header Server"
        );
        assert_eq!(
            one(r"    reqirep ^Host:\ www\.(.*) Host:\ \1"),
            r"    http-request replace-header Host '(?i)www\.(.*)' '\1'"
        );
        assert_eq!(
            one(r"    rsprep ^Location:\ http://(.*) Location:\ https://\1"),
            r"    http-response replace-header Location http://(.*) 'https://\1'"
        );
        assert_eq!(
            one(r"    reqrep ^([^\ :]*)\ /static/(.*) \1\ /assets/\2"),
            r"    http-request replace-uri ^/static/(.*) '/assets/\1'"
        );
        assert_eq!(
            one(r"    reqdeny ^[^:\ ]*\ /admin"),
            "    http-request deny if { url_reg ^/admin }"
        );
        assert_eq!(
            one(r"    reqallow ^GET\ /public/"),
            "    http-request allow if { method GET } { url_reg ^/public/ }"
        );
        assert_eq!(
            one(r"    reqideny ^User-Agent:\ .*sqlmap"),
            "    http-request deny if { req.hdr(User-Agent) -i -m reg .*sqlmap }"
        );
        assert!(one(r"    reqrep ^(.*)foo bar").starts_with("    # reqrep"));
    }

    #[test]
    fn quoting_round_trips() {
        for w in [
            "a b",
            "it's",
            r"back\slash",
            "$HOME",
            "plain",
            "#x",
            "\"q\"",
        ] {
            let q = quote(w);
            let back = lexer::split_line(q.as_bytes(), &KeepVars).unwrap();
            assert_eq!(back, vec![w.to_string()], "{w} -> {q}");
        }
    }
}
