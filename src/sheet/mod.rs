//! Spreadsheet files: `.xlsx` written with umya-spreadsheet, `.xlsx`/`.xls` read with calamine,
//! and the 批量勾选 sheet (S-T5) in both directions. A leaf: no store, no HTTP.

pub mod read;
pub mod selection;
pub mod write;

pub use read::{Format, Limits};

/// Why a file could not be read or written. Each maps to one HTTP status in `error`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    #[error("上传的文件为空")]
    Empty,
    #[error("文件类型不正确，请上传Excel文件（.xlsx 或 Excel 2003 格式的 .xls）")]
    UnsupportedType,
    #[error("文件过大")]
    TooLarge,
    #[error("文件行数过多")]
    TooManyRows,
    #[error("文件已加密，请取消密码保护后再上传")]
    Encrypted,
    #[error("文件已损坏或格式不正确：{0}")]
    Corrupt(String),
    #[error("未找到包含“{0}”列的表头，请使用平台下载的发票清单文件")]
    MissingColumns(String),
    #[error("生成文件失败：{0}")]
    Write(String),
}
