//! HAProxy 2.6's line tokenizer (`parse_line()` in tools.c), byte for byte:
//! words split on unquoted blanks, `#` comments, single and double quotes,
//! backslash escapes, and environment variables expanded inside double
//! quotes only (`$V`, `${V}`, `${V-default}`, `${V[*]}` word splitting and the
//! `${.FILE}`/`${.LINE}`/`${.SECTION}` pseudo-variables).

/// HAProxy stores words in `args[MAX_LINE_ARGS + 1]`.
pub const MAX_LINE_ARGS: usize = 64;

/// Variable lookups the tokenizer needs. The reader provides the process
/// environment as modified by `setenv`/`unsetenv` lines seen so far, and the
/// pseudo-variables of the line being read.
pub trait Vars {
    fn env(&self, name: &str) -> Option<String>;
    /// `None` means "unknown pseudo-variable", which HAProxy refuses.
    fn pseudo(&self, name: &str) -> Option<String>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexErrorKind {
    Quote,
    Brace,
    VarName,
    Hex,
    WrongExpand,
    TooMany,
}

/// A tokenizer error at byte offset `pos` of the line as it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub pos: usize,
    /// For `TooMany`: the 64th word and its offset in the output.
    pub word: String,
}

impl LexError {
    /// The message of HAProxy's `readcfgfile()`, without the location prefix.
    pub fn message(&self, line: &[u8]) -> String {
        let what = match self.kind {
            LexErrorKind::Quote => "unmatched quote",
            LexErrorKind::Brace => "unmatched brace in environment variable name",
            LexErrorKind::VarName => "forbidden first char in environment variable name",
            LexErrorKind::Hex => "truncated or invalid hexadecimal sequence",
            LexErrorKind::WrongExpand => "truncated or invalid word expansion sequence",
            LexErrorKind::TooMany => {
                return format!(
                    "too many words, truncating after word {}, position {}: <{}>.",
                    MAX_LINE_ARGS,
                    self.pos + 1,
                    self.word
                );
            }
        };
        let (shown, caret) = sanitize_for_printing(line, self.pos, 80);
        format!(
            "{what} at position {}:\n  {shown}\n  {:>width$}",
            self.pos + 1,
            "^",
            width = caret + 1
        )
    }
}

/// HAProxy's `sanitize_for_printing()`: the line (without its leading blanks)
/// with non-printable bytes as `?`, cut to about `width` characters around
/// `pos`; returns the text and the caret column.
fn sanitize_for_printing(line: &[u8], pos: usize, width: usize) -> (String, usize) {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|&b| b != b'\n' && b != b'\r')
        .map_or(0, |e| e + 1)
        .max(start);
    let body = &line[start..end];
    let mut caret = pos.saturating_sub(start);
    let mut text: String = body
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if text.len() > width {
        let half = width / 2;
        if caret > half {
            let cut = (caret - half).min(text.len().saturating_sub(width - 3));
            text = format!("...{}", &text[cut + 3..]);
            caret -= cut;
        }
        if text.len() > width {
            text.truncate(width - 3);
            text.push_str("...");
        }
    }
    (text, caret)
}

fn is_space(b: u8) -> bool {
    // C isspace(): space, \t, \n, \v, \f, \r
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits one configuration line into words. `line` excludes nothing: leading
/// blanks are skipped here, and the line ends at the first NUL, CR or LF.
pub fn split_line(line: &[u8], vars: &dyn Vars) -> Result<Vec<String>, LexError> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    // HAProxy counts a word as present once a separator follows it, even when
    // empty (`"" x` has two words) but drops an empty word at the very end.
    let mut squote = false;
    let mut dquote = false;
    let mut quote_pos: Option<usize> = None;
    let mut too_many: Option<usize> = None;
    let mut i = line
        .iter()
        .position(|&b| !is_space(b) || b == b'\n' || b == b'\r')
        .unwrap_or(line.len());
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };

    loop {
        let c = at(i);
        if c >= b'-' && c != b'\\' {
            cur.push(c);
            i += 1;
        } else if c == 0 || c == b'\n' || c == b'\r' || (c == b'#' && !squote && !dquote) {
            // end of line, or an unquoted comment
            break;
        } else if c == b'"' && !squote {
            dquote = !dquote;
            quote_pos = if dquote { Some(i) } else { None };
            i += 1;
        } else if c == b'\'' && !dquote {
            squote = !squote;
            quote_pos = if squote { Some(i) } else { None };
            i += 1;
        } else if c == b'\\' && !squote {
            let mut tosend = c;
            match at(i + 1) {
                b' ' | b'\\' => {
                    tosend = at(i + 1);
                    i += 1;
                }
                b't' => {
                    tosend = b'\t';
                    i += 1;
                }
                b'n' => {
                    tosend = b'\n';
                    i += 1;
                }
                b'r' => {
                    tosend = b'\r';
                    i += 1;
                }
                b'#' | b'\'' | b'"' => {
                    i += 1;
                    tosend = at(i);
                }
                b'$' => {
                    // `\$` is an escape only inside double quotes; outside,
                    // both characters are kept.
                    if dquote {
                        i += 1;
                    }
                    tosend = at(i);
                }
                b'x' => {
                    let (h1, h2) = (at(i + 2), at(i + 3));
                    if !h1.is_ascii_hexdigit() || !h2.is_ascii_hexdigit() {
                        return Err(LexError {
                            kind: LexErrorKind::Hex,
                            pos: i,
                            word: String::new(),
                        });
                    }
                    tosend = (hex_val(h1) << 4) | hex_val(h2);
                    i += 3;
                }
                _ => {}
            }
            i += 1;
            cur.push(tosend);
        } else if is_space(c) && !squote && !dquote {
            while is_space(at(i)) && at(i) != b'\n' && at(i) != b'\r' {
                i += 1;
            }
            words.push(std::mem::take(&mut cur));
            if words.len() >= MAX_LINE_ARGS && too_many.is_none() {
                too_many = Some(i);
            }
        } else if c == b'$' && dquote {
            i += 1;
            let mut brace: Option<usize> = None;
            if at(i) == b'{' {
                brace = Some(i);
                i += 1;
            }
            let first = at(i);
            if !first.is_ascii_alphabetic() && first != b'_' && first != b'.' {
                return Err(LexError {
                    kind: LexErrorKind::VarName,
                    pos: i,
                    word: String::new(),
                });
            }
            let name_start = i;
            if first == b'.' {
                i += 1;
            }
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' {
                i += 1;
            }
            let name = String::from_utf8_lossy(&line[name_start..i]).into_owned();
            let mut value = if name.starts_with('.') {
                match vars.pseudo(&name) {
                    Some(v) => Some(v),
                    None => {
                        return Err(LexError {
                            kind: LexErrorKind::VarName,
                            pos: name_start,
                            word: String::new(),
                        });
                    }
                }
            } else {
                vars.env(&name)
            };
            let mut word_expand = false;
            if at(i) == b'[' && brace.is_some() {
                let wpos = i;
                i += 1;
                if at(i) != b'*' || at(i + 1) != b']' {
                    return Err(LexError {
                        kind: LexErrorKind::WrongExpand,
                        pos: wpos,
                        word: String::new(),
                    });
                }
                i += 2;
                word_expand = true;
            }
            if let Some(bpos) = brace {
                if at(i) == b'-' {
                    let def_start = i + 1;
                    while at(i) != 0 && at(i) != b'}' {
                        i += 1;
                    }
                    if at(i) != b'}' {
                        return Err(LexError {
                            kind: LexErrorKind::Brace,
                            pos: bpos,
                            word: String::new(),
                        });
                    }
                    if value.is_none() {
                        value = Some(String::from_utf8_lossy(&line[def_start..i]).into_owned());
                    }
                } else if at(i) != b'}' {
                    return Err(LexError {
                        kind: LexErrorKind::Brace,
                        pos: bpos,
                        word: String::new(),
                    });
                }
                i += 1;
            }
            if let Some(v) = value {
                let v = v.as_bytes();
                let mut k = 0;
                while k < v.len() {
                    if word_expand && is_space(v[k]) {
                        words.push(std::mem::take(&mut cur));
                        if words.len() >= MAX_LINE_ARGS && too_many.is_none() {
                            too_many = Some(i);
                        }
                        while k < v.len() && is_space(v[k]) {
                            k += 1;
                        }
                    } else {
                        cur.push(v[k]);
                        k += 1;
                    }
                }
            }
        } else {
            cur.push(c);
            i += 1;
        }
    }

    // The last word counts only if something was written for it: HAProxy
    // drops an empty word after trailing blanks, and so `x ""` is one word.
    if !cur.is_empty() {
        words.push(cur);
    }
    if let Some(q) = quote_pos {
        return Err(LexError {
            kind: LexErrorKind::Quote,
            pos: q,
            word: String::new(),
        });
    }
    if too_many.is_some() {
        let pos = words
            .iter()
            .take(MAX_LINE_ARGS - 1)
            .map(|w| w.len() + 1)
            .sum();
        return Err(LexError {
            kind: LexErrorKind::TooMany,
            pos,
            word: String::from_utf8_lossy(words.get(MAX_LINE_ARGS - 1).map_or(&[][..], |w| w))
                .into_owned(),
        });
    }
    Ok(words
        .into_iter()
        .map(|w| match String::from_utf8(w) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
        .collect())
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// The legacy second pass HAProxy applies to address arguments
/// (`env_expand()`): `$NAME` and `${NAME}` are replaced anywhere, quoted or
/// not, with no default values and no word splitting.
pub fn expand_address_env(input: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = input[i..].find('$').map_or(bytes.len(), |n| i + n);
            out.push_str(&input[i..next]);
            i = next;
            continue;
        }
        let mut j = i + 1;
        let braced = bytes.get(j) == Some(&b'{');
        if braced {
            j += 1;
        }
        let name_start = j;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j == name_start {
            out.push('$');
            i += 1;
            continue;
        }
        let name = &input[name_start..j];
        if braced && bytes.get(j) == Some(&b'}') {
            j += 1;
        }
        if let Some(v) = env(name) {
            out.push_str(&v);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct TestVars(HashMap<&'static str, &'static str>);
    impl Vars for TestVars {
        fn env(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|s| s.to_string())
        }
        fn pseudo(&self, name: &str) -> Option<String> {
            match name {
                ".LINE" => Some("7".into()),
                ".FILE" => Some("t.cfg".into()),
                ".SECTION" => Some("fe".into()),
                _ => None,
            }
        }
    }

    fn vars() -> TestVars {
        TestVars(HashMap::from([
            ("ADDR", "127.0.0.1"),
            ("LIST", "a:1  b:2"),
            ("EMPTY", ""),
        ]))
    }

    fn split(s: &str) -> Vec<String> {
        split_line(s.as_bytes(), &vars()).expect("valid line")
    }

    fn err(s: &str) -> LexError {
        split_line(s.as_bytes(), &vars()).expect_err("invalid line")
    }

    #[test]
    fn blanks_and_comments() {
        assert_eq!(split("  bind   :80  # web"), ["bind", ":80"]);
        assert_eq!(split("daemon#x"), ["daemon"]);
        assert_eq!(split("\t\t"), Vec::<String>::new());
        assert_eq!(split("a b\r\n"), ["a", "b"]);
        assert_eq!(split("a b \n"), ["a", "b"]);
    }

    #[test]
    fn quotes() {
        assert_eq!(split(r#""x"'y'z"#), ["xyz"]);
        assert_eq!(split(r#"a "b c" 'd e'"#), ["a", "b c", "d e"]);
        assert_eq!(split(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(split(r#"a """#), ["a"]);
        assert_eq!(split(r##"'#' "#""##), ["#", "#"]);
        assert_eq!(split(r#"'$ADDR' $ADDR"#), ["$ADDR", "$ADDR"]);
        assert_eq!(err(r#"a "b c"#).kind, LexErrorKind::Quote);
        assert_eq!(err(r#"a "b c"#).pos, 2);
        assert_eq!(err("a 'b").kind, LexErrorKind::Quote);
    }

    #[test]
    fn escapes() {
        assert_eq!(split(r"a\ b"), ["a b"]);
        assert_eq!(split(r"a\\b"), [r"a\b"]);
        assert_eq!(split(r"\t\n\r"), ["\t\n\r"]);
        assert_eq!(split(r"\x41\x7a"), ["Az"]);
        assert_eq!(split(r"\#x"), ["#x"]);
        assert_eq!(split(r#"\"\'"#), [r#""'"#]);
        // `\$` outside double quotes stays two characters; inside, a dollar.
        assert_eq!(split(r"\$X"), [r"\$X"]);
        assert_eq!(split(r#""\$X""#), ["$X"]);
        assert_eq!(split(r"\1"), [r"\1"]);
        // single quotes keep everything literally
        assert_eq!(split(r"'\t\x41'"), [r"\t\x41"]);
        assert_eq!(err(r"\xZZ").kind, LexErrorKind::Hex);
        assert_eq!(err(r"ab \x4").pos, 3);
    }

    #[test]
    fn environment() {
        assert_eq!(split(r#""$ADDR:80""#), ["127.0.0.1:80"]);
        assert_eq!(split(r#""${ADDR}:80""#), ["127.0.0.1:80"]);
        assert_eq!(split(r#""${UNSET-10.0.0.1}""#), ["10.0.0.1"]);
        assert_eq!(split(r#"a "${EMPTY-x}" b"#), ["a", "", "b"]);
        assert_eq!(split(r#"x "$UNSET" y"#), ["x", "", "y"]);
        assert_eq!(split(r#"server "${LIST[*]}""#), ["server", "a:1", "b:2"]);
        assert_eq!(split(r#""${.LINE} ${.FILE} ${.SECTION}""#), ["7 t.cfg fe"]);
        assert_eq!(err(r#""$1""#).kind, LexErrorKind::VarName);
        assert_eq!(err(r#""${.FOO}""#).kind, LexErrorKind::VarName);
        assert_eq!(err(r#""${ADDR""#).kind, LexErrorKind::Brace);
        assert_eq!(err(r#""${LIST[x]}""#).kind, LexErrorKind::WrongExpand);
    }

    #[test]
    fn word_limit() {
        let ok: Vec<String> = (0..64).map(|i| format!("w{i}")).collect();
        assert_eq!(split(&ok.join(" ")).len(), 64);
        let too: Vec<String> = (0..65).map(|i| format!("w{i}")).collect();
        let e = err(&too.join(" "));
        assert_eq!(e.kind, LexErrorKind::TooMany);
        assert_eq!(e.word, "w63");
    }

    #[test]
    fn address_env_pass() {
        let env = |n: &str| (n == "ADDR").then(|| "10.1.1.1".to_string());
        assert_eq!(expand_address_env("$ADDR:80", &env), "10.1.1.1:80");
        assert_eq!(expand_address_env("${ADDR}:80", &env), "10.1.1.1:80");
        assert_eq!(expand_address_env("${NOPE}:80", &env), ":80");
        assert_eq!(expand_address_env("a$", &env), "a$");
    }

    #[test]
    fn error_message_has_caret() {
        let line = br#"  foo "bar"#;
        let e = split_line(line, &vars()).expect_err("quote");
        assert_eq!(
            e.message(line),
            "unmatched quote at position 7:\n  foo \"bar\n      ^"
        );
    }
}
