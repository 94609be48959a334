//! Diagnostics are data: the config front-end and start-up code collect
//! `Diagnostic`s and render them in HAProxy's format only at the edge, so that
//! `rproxy -c` and `haproxy -c` print the same lines and a caller (tests, the
//! master process on reload) can inspect them without parsing text.

use std::fmt;
use std::sync::Arc;

/// Where a configuration word came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
}

impl Origin {
    pub fn new(file: &Arc<str>, line: u32) -> Self {
        Origin {
            file: Arc::clone(file),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Only shown in diagnostic mode (`-dD`), as HAProxy's `.diag`.
    Diag,
    Notice,
    Warning,
    Alert,
}

impl Severity {
    /// HAProxy pads the bracketed level to 10 columns.
    fn tag(self) -> &'static str {
        match self {
            Severity::Diag => "[DIAG]     ",
            Severity::Notice => "[NOTICE]   ",
            Severity::Warning => "[WARNING]  ",
            Severity::Alert => "[ALERT]    ",
        }
    }
}

/// How the location is written: HAProxy is not consistent, and operators'
/// scripts grep for the exact forms, so each message keeps its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `parsing [f:l] : msg` — keyword parsers.
    Parsing,
    /// `parsing [f:l]: msg` — the line reader (lexer errors, `.if`, `.notice`).
    ParsingTight,
    /// `[f:l] : msg` — post-parse checks that point at a line.
    Located,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// An alert that makes the configuration unusable (HAProxy's ERR_FATAL).
    pub fatal: bool,
    pub origin: Option<Origin>,
    pub style: Style,
    /// `config` for everything the parser says; other subsystems name themselves.
    pub context: &'static str,
    pub message: String,
    /// Emitted by rproxy only (legacy keyword accepted, directive not enforced):
    /// HAProxy would have said nothing, or refused the line.
    pub rproxy_only: bool,
}

impl Diagnostic {
    fn new(severity: Severity, origin: Option<Origin>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            fatal: severity == Severity::Alert,
            origin,
            style: Style::Parsing,
            context: "config",
            message: message.into(),
            rproxy_only: false,
        }
    }

    pub fn alert(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Self::new(Severity::Alert, origin, message)
    }

    pub fn warning(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, origin, message)
    }

    pub fn notice(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Self::new(Severity::Notice, origin, message)
    }

    pub fn diag(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Self::new(Severity::Diag, origin, message)
    }

    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Counts as a fatal error whatever its level (HAProxy prints some
    /// fatal errors as warnings).
    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    pub fn non_fatal(mut self) -> Self {
        self.fatal = false;
        self
    }

    pub fn rproxy_only(mut self) -> Self {
        self.rproxy_only = true;
        self
    }

    pub fn context(mut self, context: &'static str) -> Self {
        self.context = context;
        self
    }

    /// Renders the message as HAProxy 2.6 prints it on stderr, continuation
    /// lines included, with a trailing newline.
    pub fn render(&self, pid: u32) -> String {
        let mut out = String::with_capacity(self.message.len() + 64);
        out.push_str(self.severity.tag());
        out.push_str(&format!("({pid}) : "));
        if !self.context.is_empty() {
            out.push_str(self.context);
            out.push_str(" : ");
        }
        if let Some(o) = &self.origin {
            match self.style {
                Style::Parsing => out.push_str(&format!("parsing [{o}] : ")),
                Style::ParsingTight => out.push_str(&format!("parsing [{o}]: ")),
                Style::Located => out.push_str(&format!("[{o}] : ")),
            }
        }
        out.push_str(&self.message);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// An ordered collection of diagnostics with HAProxy's error accounting.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// Kept up to date so that parsers can ask "did this line fail?" in
    /// constant time on configurations with tens of thousands of lines.
    fatal: usize,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        if d.fatal {
            self.fatal += 1;
        }
        self.items.push(d);
    }

    pub fn alert(&mut self, origin: Option<&Origin>, message: impl Into<String>) {
        self.push(Diagnostic::alert(origin.cloned(), message));
    }

    pub fn warning(&mut self, origin: Option<&Origin>, message: impl Into<String>) {
        self.push(Diagnostic::warning(origin.cloned(), message));
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.fatal += other.fatal;
        self.items.extend(other.items);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn fatal_count(&self) -> usize {
        self.fatal
    }

    pub fn has_fatal(&self) -> bool {
        self.fatal > 0
    }

    pub fn has_warnings(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Warning)
    }

    /// Warnings HAProxy itself would print; `zero-warning` counts only these,
    /// so that the verdict under `-dW` stays HAProxy's.
    pub fn has_haproxy_warnings(&self) -> bool {
        self.items
            .iter()
            .any(|d| d.severity == Severity::Warning && !d.rproxy_only)
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_haproxy() {
        let file: Arc<str> = Arc::from("t1.cfg");
        let d = Diagnostic::alert(
            Some(Origin::new(&file, 11)),
            "unknown keyword 'foo' in 'frontend' section",
        );
        assert_eq!(
            d.render(4413),
            "[ALERT]    (4413) : config : parsing [t1.cfg:11] : unknown keyword 'foo' in 'frontend' section\n"
        );
        let w = Diagnostic::warning(None, "missing timeouts for frontend 'fe'.");
        assert_eq!(
            w.render(7),
            "[WARNING]  (7) : config : missing timeouts for frontend 'fe'.\n"
        );
        let n =
            Diagnostic::notice(Some(Origin::new(&file, 2)), "'text'.").style(Style::ParsingTight);
        assert_eq!(
            n.render(1),
            "[NOTICE]   (1) : config : parsing [t1.cfg:2]: 'text'.\n"
        );
    }
}
