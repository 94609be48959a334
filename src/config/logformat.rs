//! Log-format strings (`log-format`, `unique-id-format`, header values of
//! `http-request set-header`, …): literal text, `%var` with `%{+Q}`
//! flags, `%[sample]` expressions and `%%`.

use super::model::{LfFlags, LfNode, LfVar, LogFormat};
use super::sample;

/// Parses a log-format string, with HAProxy's error texts.
pub fn parse(text: &str) -> Result<LogFormat, String> {
    let mut nodes: Vec<LfNode> = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    let mut global = LfFlags::default();
    while let Some(pos) = rest.find('%') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if after.is_empty() {
            return Err("truncated line after '%'".to_string());
        }
        if let Some(r) = after.strip_prefix('%') {
            lit.push('%');
            rest = r;
            continue;
        }
        let mut flags = global;
        let mut body = after;
        if let Some(b) = body.strip_prefix('{') {
            let end = b
                .find('}')
                .ok_or_else(|| format!("missing '}}' after '%{{' near '%{after}'"))?;
            apply_flags(&mut flags, &b[..end]);
            body = &b[end + 1..];
        }
        if let Some(b) = body.strip_prefix('[') {
            let end = b
                .find(']')
                .ok_or_else(|| format!("missing ']' after '{b}'"))?;
            let expr = sample::parse_expr(&b[..end])
                .map_err(|e| format!("failed to parse sample expression <{b}> : {e}"))?;
            if !lit.is_empty() {
                nodes.push(LfNode::Text(std::mem::take(&mut lit)));
            }
            nodes.push(LfNode::Sample { expr, flags });
            rest = &b[end + 1..];
            continue;
        }
        let name_len = body.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        if name_len == 0 {
            if body.len() != after.len() {
                return Err(format!(
                    "parse argument modifier without variable name near '%{}'",
                    &after[..after.len() - body.len()]
                ));
            }
            return Err(format!(
                "no such format variable '{}'. If you wanted to emit the '%' character verbatim, you need to use '%%'.",
                body.chars().next().map(String::from).unwrap_or_default()
            ));
        }
        let name = &body[..name_len];
        let var = LfVar::from_name(name).ok_or_else(|| {
            format!(
                "no such format variable '{name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'."
            )
        })?;
        if var == LfVar::Omit {
            // `%o` gives its flags to every following variable.
            global = flags;
        } else {
            if !lit.is_empty() {
                nodes.push(LfNode::Text(std::mem::take(&mut lit)));
            }
            nodes.push(LfNode::Var { var, flags });
        }
        rest = &body[name_len..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        nodes.push(LfNode::Text(lit));
    }
    Ok(LogFormat {
        text: text.to_string(),
        nodes,
    })
}

/// `+Q,-X,+E…`: unknown flags are ignored, as HAProxy does.
fn apply_flags(flags: &mut LfFlags, spec: &str) {
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        let on = match c {
            '+' => true,
            '-' => false,
            _ => continue,
        };
        match chars.next() {
            Some('Q') => flags.quote = on,
            Some('X') => flags.hex = on,
            Some('E') => flags.escape = on,
            Some('M') => flags.omit_empty = on,
            _ => {}
        }
    }
}

/// The built-in formats of `option tcplog` / `option httplog` / `clf`,
/// as HAProxy 2.6 defines them.
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";
pub const CLFLOG: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::LfVar;

    #[test]
    fn builtins_parse() {
        for f in [TCPLOG, HTTPLOG, CLFLOG] {
            parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn variables_flags_samples() {
        let f = parse("%ci:%cp %{+Q}r %[src] 100%%").unwrap();
        assert_eq!(
            f.nodes[0],
            LfNode::Var {
                var: LfVar::ClientIp,
                flags: LfFlags::default()
            }
        );
        assert_eq!(f.nodes[1], LfNode::Text(":".into()));
        match &f.nodes[4] {
            LfNode::Var {
                var: LfVar::Request,
                flags,
            } => assert!(flags.quote),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&f.nodes[6], LfNode::Sample { expr, .. } if expr.fetch == "src"));
        assert_eq!(f.nodes.last(), Some(&LfNode::Text(" 100%".into())));
        let o = parse("%{+Q}o %r").unwrap();
        assert!(matches!(&o.nodes[1], LfNode::Var { flags, .. } if flags.quote));
    }

    #[test]
    fn errors_as_haproxy() {
        assert_eq!(parse("%").unwrap_err(), "truncated line after '%'");
        assert_eq!(parse("abc%").unwrap_err(), "truncated line after '%'");
        assert_eq!(
            parse("%T%Z").unwrap_err(),
            "no such format variable 'Z'. If you wanted to emit the '%' character verbatim, you need to use '%%'."
        );
        assert_eq!(
            parse("%[src,lower").unwrap_err(),
            "missing ']' after 'src,lower'"
        );
        assert_eq!(
            parse("%[nosuch]").unwrap_err(),
            "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"
        );
        assert_eq!(
            parse("%{+Q}").unwrap_err(),
            "parse argument modifier without variable name near '%{+Q}'"
        );
        assert!(parse("%{+Z}r").is_ok());
    }
}
