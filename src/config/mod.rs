//! Configuration front-end: haproxy.cfg text → typed `Config`.
//!
//! Stages, in HAProxy's order: read every file (lexer, sections, keyword
//! registry); if that found no error, run the post-parse checks; then
//! resolve server addresses; then see whether anything would listen.
//! Each stage runs only when the previous one succeeded, so that the
//! errors reported are the ones `haproxy -c` reports.

pub mod acl;
pub mod address;
pub mod cond;
pub mod keywords;
pub mod lexer;
pub mod line;
pub mod logformat;
pub mod model;
pub mod modernize;
pub mod parser;
pub mod reader;
pub mod sample;
pub mod validate;
pub mod values;

pub use model::Config;
pub use parser::LoadOptions;

use crate::diag::{Diagnostic, Diagnostics};
use std::path::PathBuf;

/// `haproxy -c`'s verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0.
    Valid,
    /// Exit 1.
    Invalid,
    /// Exit 2: valid, but nothing would listen.
    NoListener,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::NoListener => 2,
        }
    }
}

pub struct Loaded {
    pub config: Config,
    pub diags: Diagnostics,
    pub verdict: Verdict,
}

/// Loads configuration files (and directories) as HAProxy does.
pub fn load(paths: &[PathBuf], opts: LoadOptions) -> Loaded {
    let mut diags = Diagnostics::new();
    let files = match reader::expand_paths(paths) {
        Ok(f) => f,
        Err(msg) => {
            diags.push(Diagnostic::alert(None, msg));
            return Loaded {
                config: Config::default(),
                diags,
                verdict: Verdict::Invalid,
            };
        }
    };
    let mut sources = Vec::new();
    for (shown, path) in &files {
        match std::fs::read(path) {
            Ok(data) => sources.push((shown.clone(), data)),
            Err(e) => {
                diags.push(Diagnostic::alert(
                    None,
                    format!(
                        "Cannot open configuration file/directory {shown} : {}",
                        crate::util::io_error_text(&e)
                    ),
                ));
                return Loaded {
                    config: Config::default(),
                    diags,
                    verdict: Verdict::Invalid,
                };
            }
        }
    }
    load_sources(&sources, opts)
}

/// Loads configuration text already read (file name, content).
pub fn load_sources(sources: &[(String, Vec<u8>)], opts: LoadOptions) -> Loaded {
    let check_system = opts.check_system;
    let mut parser = parser::Parser::new(opts);
    let mut file_errors = Diagnostics::new();
    let mut aborted = false;
    for (shown, data) in sources {
        let r = reader::read_bytes(&mut parser, shown, data);
        if r.fatal || r.aborted {
            parser.sv.diags.push(Diagnostic::alert(
                None,
                format!("Error(s) found in configuration file : {shown}"),
            ));
        }
        if r.aborted {
            aborted = true;
            break;
        }
    }
    let deferred = std::mem::take(&mut parser.sv.deferred);
    let names: Vec<String> = sources.iter().map(|(n, _)| n.clone()).collect();
    let (mut config, mut diags) = parser.finish(names);
    diags.extend(std::mem::take(&mut file_errors));
    if aborted {
        return Loaded {
            config,
            diags,
            verdict: Verdict::Invalid,
        };
    }
    if diags.has_fatal() {
        diags.push(Diagnostic::alert(
            None,
            "Fatal errors found in configuration.",
        ));
        return Loaded {
            config,
            diags,
            verdict: Verdict::Invalid,
        };
    }
    let checks = validate::check(&mut config, deferred);
    let fatal = checks.has_fatal();
    diags.extend(checks);
    if fatal {
        diags.push(Diagnostic::alert(
            None,
            "Fatal errors found in configuration.",
        ));
        return Loaded {
            config,
            diags,
            verdict: Verdict::Invalid,
        };
    }
    let resolution = if check_system {
        validate::resolve_servers(&mut config)
    } else {
        Diagnostics::new()
    };
    let fatal = resolution.has_fatal();
    diags.extend(resolution);
    let verdict = if fatal {
        Verdict::Invalid
    } else if !validate::has_listener(&config) {
        Verdict::NoListener
    } else {
        Verdict::Valid
    };
    Loaded {
        config,
        diags,
        verdict,
    }
}

#[cfg(test)]
mod tests;
