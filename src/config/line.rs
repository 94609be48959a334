//! One tokenized configuration line, as keyword parsers see it.

use crate::diag::Origin;

/// HAProxy's keyword modifiers: `no option x`, `default option x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    Std,
    No,
    Default,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub origin: Origin,
    /// The words with `no`/`default` already removed.
    pub words: Vec<String>,
    pub modifier: Modifier,
}

impl Line {
    /// Word `i`, or "" past the end (HAProxy's `args[i]` is never NULL).
    pub fn arg(&self, i: usize) -> &str {
        self.words.get(i).map_or("", String::as_str)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words from `i` on.
    pub fn rest(&self, i: usize) -> &[String] {
        self.words.get(i..).unwrap_or(&[])
    }

    /// HAProxy's `alertif_too_many_args(n)`: words after the `n`th argument.
    pub fn extra_after(&self, n: usize) -> Option<&str> {
        self.words.get(n + 1).map(String::as_str)
    }

    pub fn joined(&self) -> String {
        self.words.join(" ")
    }
}
