//! CSV files the system writes (the audit export): UTF-8 with a BOM so spreadsheet programs
//! read the Chinese, and every cell that a spreadsheet would take for a formula neutralised.
//!
//! A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
//! WPS and LibreOffice (OWASP "CSV injection"); such a cell is written with a leading `'`,
//! which the programs show as text and do not evaluate. The XLSX files are not affected:
//! their cells are written as typed strings, never as formulas.

use std::borrow::Cow;

/// The cell as written: text that a spreadsheet would evaluate gets a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV file of `header` and `rows`, every cell neutralised.
pub fn write<R, C>(header: &[&str], rows: R) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(header.iter().map(|h| neutralise(h).into_owned()))?;
    for row in rows {
        w.write_record(row.into_iter().map(|c| neutralise(&c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_written_as_text() {
        let bytes = write(
            &["操作", "对象"],
            [
                vec![
                    "=HYPERLINK(\"http://evil.example/?x\",\"点击\")".to_string(),
                    "+1".into(),
                ],
                vec!["-2".into(), "@SUM(A1)".into()],
                vec!["\tx".into(), "\rx".into()],
                vec!["staff.login".into(), "1+1".into()],
            ],
        )
        .unwrap();
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("操作,对象"));
        assert_eq!(
            lines.next(),
            Some("\"'=HYPERLINK(\"\"http://evil.example/?x\"\",\"\"点击\"\")\",'+1")
        );
        assert_eq!(lines.next(), Some("'-2,'@SUM(A1)"));
        assert!(text.contains("'\tx,"), "{text}");
        assert!(text.contains("staff.login,1+1"), "{text}");
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        for line in text.lines().skip(1) {
            assert!(!line.starts_with(['=', '+', '-', '@']), "{line}");
        }
    }
}
