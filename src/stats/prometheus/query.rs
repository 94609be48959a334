//! The exporter's query string, parsed as promex's `promex_parse_uri`
//! parses it: which parts to dump (`scope=`) and `no-maint`.

/// The `scope=` values (promex's `PROMEX_FL_SCOPE_*`).
pub const GLOBAL: u8 = 1;
pub const FRONT: u8 = 2;
pub const LISTENER: u8 = 4;
pub const BACK: u8 = 8;
pub const SERVER: u8 = 16;
pub const STICKTABLE: u8 = 32;
const ALL: u8 = GLOBAL | FRONT | LISTENER | BACK | SERVER | STICKTABLE;

/// What the query string asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub scopes: u8,
    /// `no-maint`: servers in maintenance are left out.
    pub no_maint: bool,
}

/// HAProxy's `url_decode(…, 1)`: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits is an error.
fn url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*s.get(i + 1)?)?;
                let lo = hex(*s.get(i + 2)?)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// promex's `promex_parse_uri`: the query string's `scope=` parameters
/// (each one adds a scope, an empty one clears them; without any, all
/// scopes) and `no-maint`. `None` is a malformed query (answered 400): a
/// `scope` without a value, an unknown scope, a second `=` in a value or a
/// bad `%` escape.
pub fn parse_query(uri: &[u8]) -> Option<Query> {
    let mut q = Query {
        scopes: 0,
        no_maint: false,
    };
    let mut defaults = ALL;
    let Some(start) = uri.iter().position(|&b| b == b'?') else {
        q.scopes = defaults;
        return Some(q);
    };
    let s = &uri[start + 1..];
    let stop = |b: u8| matches!(b, b'=' | b'&' | b'#');
    let mut p = 0;
    while p < s.len() && s[p] != 0 && s[p] != b'#' {
        let key_start = p;
        while p < s.len() && !stop(s[p]) {
            p += 1;
        }
        let key = &s[key_start..p];
        // The parameter ends the parsing at a '#' (the fragment).
        let mut last = false;
        let mut value = None;
        match s.get(p) {
            Some(b'=') => {
                p += 1;
                let v_start = p;
                while p < s.len() && !stop(s[p]) {
                    p += 1;
                }
                value = Some(&s[v_start..p]);
                match s.get(p) {
                    Some(b'=') => return None,
                    Some(b'&') => p += 1,
                    Some(_) => last = true,
                    None => {}
                }
            }
            Some(b'&') => p += 1,
            Some(_) => last = true,
            None => {}
        }
        let key = url_decode(key)?;
        let value = match value {
            Some(v) => Some(url_decode(v)?),
            None => None,
        };
        if key == b"scope" {
            defaults = 0;
            let v = value?;
            match v.as_slice() {
                [] => q.scopes = 0,
                [b'*', ..] => q.scopes |= ALL,
                b"global" => q.scopes |= GLOBAL,
                b"server" => q.scopes |= SERVER,
                b"backend" => q.scopes |= BACK,
                b"frontend" => q.scopes |= FRONT,
                b"listener" => q.scopes |= LISTENER,
                b"sticktable" => q.scopes |= STICKTABLE,
                _ => return None,
            }
        } else if key == b"no-maint" {
            q.no_maint = true;
        }
        if last {
            break;
        }
    }
    q.scopes |= defaults;
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(uri: &str) -> Option<u8> {
        parse_query(uri.as_bytes()).map(|q| q.scopes)
    }

    #[test]
    fn query_scopes_as_promex() {
        assert_eq!(scopes("/metrics"), Some(ALL));
        assert_eq!(scopes("/metrics?"), Some(ALL));
        assert_eq!(scopes("/metrics?scope=global"), Some(GLOBAL));
        assert_eq!(
            scopes("/metrics?scope=frontend&scope=server"),
            Some(FRONT | SERVER)
        );
        assert_eq!(scopes("/metrics?scope="), Some(0));
        assert_eq!(scopes("/metrics?scope=&scope=backend"), Some(BACK));
        assert_eq!(scopes("/metrics?scope=global&scope="), Some(0));
        assert_eq!(scopes("/metrics?scope=*"), Some(ALL));
        assert_eq!(scopes("/metrics?scope=%67lobal"), Some(GLOBAL));
        assert_eq!(scopes("/metrics?other=1"), Some(ALL));
        // A fragment ends the query string.
        assert_eq!(scopes("/metrics?scope=global#scope=bad"), Some(GLOBAL));
        assert_eq!(scopes("/metrics?scope=bad"), None);
        assert_eq!(scopes("/metrics?scope"), None);
        assert_eq!(scopes("/metrics?scope&x"), None);
        assert_eq!(scopes("/metrics?x=1=2"), None);
        assert_eq!(scopes("/metrics?scope=%zz"), None);
        let q = parse_query(b"/metrics?no-maint&scope=server").expect("valid");
        assert!(q.no_maint);
        assert_eq!(q.scopes, SERVER);
    }
}
