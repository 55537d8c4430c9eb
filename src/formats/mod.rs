//! Pure file formats: the invoice import files (NDJSON, CSV), spreadsheets (`.xlsx`/`.xls`,
//! the 批量勾选 sheet) and A4 PDF reports. Bytes in, domain values out (or the reverse);
//! nothing here knows the store, HTTP or the clock.

pub mod invoice_file;
pub mod pdf;
pub mod sheet;
pub mod table_csv;
