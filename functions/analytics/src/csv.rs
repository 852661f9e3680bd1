//! CSV as spreadsheets read it (RFC 4180, CRLF line ends), safe to open.
//!
//! A cell holding a comma, a quote or a line break is quoted, its quotes doubled. Text that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a CR: a visitor
//! can name themselves `=HYPERLINK(...)`) is prefixed with `'`, so it shows as typed.

use axum::{
    http::header::{CONTENT_DISPOSITION, CONTENT_TYPE},
    response::{IntoResponse, Response},
};

pub struct Csv {
    out: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        let mut csv = Self { out: String::new() };
        csv.row(header.iter().map(|h| text(h)).collect());
        csv
    }

    /// One row of cells made by [`text`], [`number`] and [`optional`].
    pub fn row(&mut self, cells: Vec<String>) {
        self.out.push_str(&cells.join(","));
        self.out.push_str("\r\n");
    }

    /// The document as a download named `filename`.
    pub fn into_response(self, filename: &str) -> Response {
        let disposition = format!("attachment; filename=\"{filename}\"");
        ([(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, disposition)], self.out)
            .into_response()
    }

    pub fn as_str(&self) -> &str {
        &self.out
    }
}

/// A text cell.
pub fn text(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// A number cell.
pub fn number(value: impl std::fmt::Display) -> String {
    value.to_string()
}

/// A cell that may be empty.
pub fn optional(value: Option<impl std::fmt::Display>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let mut csv = Csv::new(&["name", "n"]);
        csv.row(vec![text("Vera, \"V\""), number(3)]);
        csv.row(vec![text("=HYPERLINK(\"http://x\")"), optional(None::<u8>)]);
        csv.row(vec![text("-1+2"), optional(Some(1.5))]);
        assert_eq!(
            csv.as_str(),
            "name,n\r\n\"Vera, \"\"V\"\"\",3\r\n\"'=HYPERLINK(\"\"http://x\"\")\",\r\n'-1+2,1.5\r\n"
        );
    }
}
