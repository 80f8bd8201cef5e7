//! Diagnostics: every problem the engine finds, with the file, line and JSON path it concerns.

use std::fmt;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Generation cannot go on.
    Error,
    /// Something was ignored; the output is still produced.
    Warning,
}

/// One problem found in one spec file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// The spec file, as the caller named it in [`crate::SourceFile::path`].
    pub file: String,
    /// 1-based line in that file.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// JSON path inside the front-matter (`params.properties.fields.type`), when there is one.
    pub path: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn error(
        file: &str,
        line: usize,
        path: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line,
            severity: Severity::Error,
            path,
            message: message.into(),
        }
    }

    pub(crate) fn warning(
        file: &str,
        line: usize,
        path: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line,
            severity: Severity::Warning,
            path,
            message: message.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {sev}: ", self.file, self.line)?;
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// All diagnostics of one run, sorted by file, line, severity and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn sort(&mut self) {
        self.0.sort();
        self.0.dedup();
    }

    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
