//! Reads configuration files line by line as HAProxy's `readcfgfile()`:
//! line splitting, NUL and missing-LF checks, tokenizing with the
//! pseudo-variables, `no`/`default` prefixes, and the `.if` family of
//! directives, handing every effective line to the section parser.

use super::cond::{self, CondContext};
use super::keywords::Flow;
use super::lexer::{self, Vars};
use super::line::{Line, Modifier};
use super::parser::Parser;
use crate::diag::{Diagnostic, Origin, Style};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Maximum `.if` nesting (HAProxy's MAXNESTEDCONDS).
const MAX_NESTED: usize = 100;

/// HAProxy counts fatal errors per file and gives up at 50.
const MAX_FATAL: usize = 50;

/// Expands `-f` arguments: a directory yields its regular, non-hidden
/// `*.cfg` files sorted by byte value, named `DIR/` + name.
pub fn expand_paths(args: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    for a in args {
        let meta = std::fs::metadata(a).map_err(|e| {
            format!(
                "Cannot open configuration file/directory {} : {}",
                a.display(),
                crate::util::io_error_text(&e)
            )
        })?;
        if meta.is_dir() {
            let mut names: Vec<Vec<u8>> = std::fs::read_dir(a)
                .map_err(|e| {
                    format!(
                        "Cannot open configuration file/directory {} : {}",
                        a.display(),
                        crate::util::io_error_text(&e)
                    )
                })?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .map(|e| e.file_name().into_encoded_bytes())
                .filter(|n| !n.starts_with(b".") && n.ends_with(b".cfg"))
                .collect();
            names.sort();
            for n in names {
                let name = String::from_utf8_lossy(&n).into_owned();
                let shown = format!("{}/{}", a.display(), name);
                out.push((shown, a.join(&name)));
            }
        } else {
            out.push((a.display().to_string(), a.clone()));
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    IfTake,
    IfDrop,
    IfSkip,
    ElifTake,
    ElifDrop,
    ElifSkip,
    ElseTake,
    ElseDrop,
}

impl Cond {
    fn dropping(self) -> bool {
        matches!(
            self,
            Cond::IfDrop | Cond::IfSkip | Cond::ElifDrop | Cond::ElifSkip | Cond::ElseDrop
        )
    }

    fn taken_before(self) -> bool {
        matches!(
            self,
            Cond::IfTake | Cond::ElifTake | Cond::IfSkip | Cond::ElifSkip
        )
    }
}

struct LineVars<'a> {
    parser: &'a Parser,
    file: &'a str,
    line: u32,
}

impl Vars for LineVars<'_> {
    fn env(&self, name: &str) -> Option<String> {
        self.parser.sv.env_var(name)
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        match name {
            ".FILE" => Some(self.file.to_string()),
            ".LINE" => Some(self.line.to_string()),
            ".SECTION" => Some(self.parser.section_label.clone()),
            _ => None,
        }
    }
}

struct Conditions<'a> {
    parser: &'a Parser,
}

impl CondContext for Conditions<'_> {
    fn env_defined(&self, name: &str) -> bool {
        self.parser.sv.env.contains_key(name)
    }

    fn has_feature(&self, name: &str) -> bool {
        self.parser.sv.opts.features.contains(&name)
    }

    fn version(&self) -> &str {
        &self.parser.sv.opts.version
    }
}

/// The outcome of reading one file.
pub struct FileResult {
    pub fatal: bool,
    pub aborted: bool,
}

/// Reads one file into the parser.
pub fn read_file(parser: &mut Parser, shown: &str, path: &Path) -> Result<FileResult, String> {
    let data = std::fs::read(path).map_err(|e| {
        format!(
            "Cannot open configuration file/directory {} : {}",
            shown,
            crate::util::io_error_text(&e)
        )
    })?;
    Ok(read_bytes(parser, shown, &data))
}

/// Reads configuration text (a whole file) into the parser.
pub fn read_bytes(parser: &mut Parser, shown: &str, data: &[u8]) -> FileResult {
    let file: Arc<str> = Arc::from(shown);
    let fatal_before = parser.sv.diags.fatal_count();
    let mut fatal_here = 0usize;
    let mut conds: Vec<Cond> = Vec::new();
    let mut aborted = false;
    let mut lineno: u32 = 0;
    let mut rest = data;

    while !rest.is_empty() {
        let (raw, has_lf, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        };
        rest = next;
        lineno += 1;
        let origin = Origin::new(&file, lineno);

        if fatal_here >= MAX_FATAL {
            parser.sv.diags.push(
                Diagnostic::alert(
                    Some(origin),
                    format!("too many fatal errors ({fatal_here}), stopping now."),
                )
                .style(Style::ParsingTight),
            );
            break;
        }
        if let Some(nul) = raw.iter().position(|&b| b == 0) {
            parser.sv.diags.push(
                Diagnostic::alert(
                    Some(origin),
                    format!("Stray NUL character at position {}.", nul + 1),
                )
                .style(Style::ParsingTight),
            );
            break;
        }
        if !has_lf {
            // HAProxy 2.3+ refuses a file whose last line has no LF; a
            // sixth of real configs end that way, and rproxy reads them.
            parser.sv.diags.push(
                Diagnostic::warning(
                    Some(origin.clone()),
                    format!(
                        "Missing LF on last line, file might have been truncated at position {}. rproxy reads the line anyway (HAProxy 2.6 refuses the file).",
                        raw.len() + 1
                    ),
                )
                .style(Style::ParsingTight)
                .rproxy_only(),
            );
        }

        let trimmed = trim_start(raw);
        if trimmed.first() == Some(&b'[') {
            // `[scope]` markers only change how HAProxy names things in
            // messages; nothing to do.
            continue;
        }

        let words = {
            let vars = LineVars {
                parser,
                file: shown,
                line: lineno,
            };
            lexer::split_line(raw, &vars)
        };
        let words = match words {
            Ok(w) => w,
            Err(e) => {
                parser.sv.diags.push(
                    Diagnostic::alert(Some(origin), e.message(raw)).style(Style::ParsingTight),
                );
                fatal_here += 1;
                continue;
            }
        };
        if words.is_empty() {
            continue;
        }

        let before = parser.sv.diags.fatal_count();
        let flow = if words[0].starts_with('.') {
            directive(parser, &mut conds, &words, &origin, raw)
        } else if conds.last().is_some_and(|c| c.dropping()) {
            Flow::Continue
        } else {
            let (modifier, words) = match words[0].as_str() {
                "no" => (Modifier::No, words[1..].to_vec()),
                "default" => (Modifier::Default, words[1..].to_vec()),
                _ => (Modifier::Std, words),
            };
            if words.is_empty() {
                Flow::Continue
            } else {
                let line = Line {
                    origin: origin.clone(),
                    words,
                    modifier,
                };
                parser.line(&line)
            }
        };
        fatal_here += parser.sv.diags.fatal_count() - before;
        match flow {
            Flow::Abort => {
                aborted = true;
                break;
            }
            Flow::StopFile => break,
            Flow::Continue if parser.aborted => {
                aborted = true;
                break;
            }
            Flow::Continue => {}
        }
    }

    if !aborted && !conds.is_empty() {
        parser.sv.diags.push(
            Diagnostic::alert(
                Some(Origin::new(&file, lineno)),
                "non-terminated '.if' block.",
            )
            .style(Style::ParsingTight),
        );
        aborted = true;
    }
    parser.end_file();
    FileResult {
        fatal: parser.sv.diags.fatal_count() > fatal_before,
        aborted,
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let i = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[i..]
}

/// `.if`, `.elif`, `.else`, `.endif`, `.diag`, `.notice`, `.warning`,
/// `.alert`; anything else starting with a dot is refused.
fn directive(
    parser: &mut Parser,
    conds: &mut Vec<Cond>,
    words: &[String],
    origin: &Origin,
    raw: &[u8],
) -> Flow {
    let alert = |parser: &mut Parser, msg: String| {
        parser
            .sv
            .diags
            .push(Diagnostic::alert(Some(origin.clone()), msg).style(Style::ParsingTight));
    };
    let name = words[0].as_str();
    let parent_dropping = conds.last().is_some_and(|c| c.dropping());
    match name {
        ".if" => {
            if conds.len() >= MAX_NESTED {
                alert(
                    parser,
                    format!("too many nested '.if', max is {MAX_NESTED}."),
                );
                return Flow::Abort;
            }
            if parent_dropping {
                conds.push(Cond::IfSkip);
                return Flow::Continue;
            }
            match eval(parser, ".if", &words[1..]) {
                Ok(true) => conds.push(Cond::IfTake),
                Ok(false) => conds.push(Cond::IfDrop),
                Err(msg) => {
                    alert(parser, msg);
                    return Flow::Abort;
                }
            }
            Flow::Continue
        }
        ".elif" => {
            let Some(top) = conds.last().copied() else {
                alert(parser, "lone '.elif' with no matching '.if'.".into());
                return Flow::Abort;
            };
            if matches!(top, Cond::ElseTake | Cond::ElseDrop) {
                alert(parser, "'.elif' after '.else' is not permitted.".into());
                return Flow::Abort;
            }
            let grand_dropping = conds.len() >= 2 && conds[conds.len() - 2].dropping();
            let new = if top.taken_before() || grand_dropping {
                Cond::ElifSkip
            } else {
                match eval(parser, ".elif", &words[1..]) {
                    Ok(true) => Cond::ElifTake,
                    Ok(false) => Cond::ElifDrop,
                    Err(msg) => {
                        alert(parser, msg);
                        return Flow::Abort;
                    }
                }
            };
            if let Some(t) = conds.last_mut() {
                *t = new;
            }
            Flow::Continue
        }
        ".else" => {
            let Some(top) = conds.last().copied() else {
                alert(parser, "lone '.else' with no matching '.if'.".into());
                return Flow::Abort;
            };
            if matches!(top, Cond::ElseTake | Cond::ElseDrop) {
                alert(parser, "'.else' after '.else' is not permitted.".into());
                return Flow::Abort;
            }
            let grand_dropping = conds.len() >= 2 && conds[conds.len() - 2].dropping();
            let new = if top.taken_before() || grand_dropping {
                Cond::ElseDrop
            } else {
                Cond::ElseTake
            };
            if let Some(t) = conds.last_mut() {
                *t = new;
            }
            Flow::Continue
        }
        ".endif" => {
            if conds.pop().is_none() {
                alert(parser, "lone '.endif' with no matching '.if'.".into());
                return Flow::Abort;
            }
            Flow::Continue
        }
        _ if parent_dropping => Flow::Continue,
        ".diag" | ".notice" | ".warning" | ".alert" => {
            if let Some(extra) = words.get(2) {
                alert(
                    parser,
                    format!(
                        "Unexpected argument '{extra}' for '{name}'. Use quotes if the message should contain spaces."
                    ),
                );
                return Flow::Continue;
            }
            let msg = format!("'{}'.", words.get(1).map_or("", String::as_str));
            let d = match name {
                ".diag" => {
                    if !parser.sv.opts.diag_mode {
                        return Flow::Continue;
                    }
                    Diagnostic::diag(Some(origin.clone()), msg)
                }
                ".notice" => Diagnostic::notice(Some(origin.clone()), msg),
                ".warning" => Diagnostic::warning(Some(origin.clone()), msg),
                _ => Diagnostic::alert(Some(origin.clone()), msg),
            };
            parser.sv.diags.push(d.style(Style::ParsingTight));
            if name == ".alert" {
                return Flow::Abort;
            }
            Flow::Continue
        }
        _ => {
            let _ = raw;
            alert(parser, format!("unknown directive '{name}'."));
            Flow::StopFile
        }
    }
}

fn eval(parser: &Parser, directive: &str, words: &[String]) -> Result<bool, String> {
    let text = words.join(" ");
    let ctx = Conditions { parser };
    cond::evaluate(&text, &ctx).map_err(|e| {
        format!(
            "{} in '{directive}' at position {}:\n  {directive} {text}\n  {:>width$}",
            e.message,
            e.pos + 1,
            "^",
            width = directive.len() + 1 + e.pos + 1
        )
    })
}
