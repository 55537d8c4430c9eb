//! Spreadsheet files: `.xlsx` written with umya-spreadsheet, `.xlsx`/`.xls` read with calamine,
//! and the 批量勾选 sheet (S-T5) in both directions. No store, no HTTP; each error maps to its
//! HTTP answer here, beside its definition.

pub mod read;
pub mod selection;
pub mod write;

pub use read::{Format, Limits};

use crate::error::{AppError, Code};

/// Why a file could not be read or written. Each maps to one HTTP status (below).
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

/// Spreadsheet errors (批量勾选 uploads, exports): 415 for a wrong type, 413 over a limit,
/// 422 for a file that cannot be used; a failure to write one is internal.
impl From<SheetError> for AppError {
    fn from(e: SheetError) -> Self {
        let code = match e {
            SheetError::UnsupportedType => Code::UnsupportedType,
            SheetError::TooLarge | SheetError::TooManyRows => Code::TooLarge,
            SheetError::Write(_) => return AppError::internal(e.to_string()),
            SheetError::Empty
            | SheetError::Encrypted
            | SheetError::Corrupt(_)
            | SheetError::MissingColumns(_) => Code::InvalidValue,
        };
        let message = match &e {
            SheetError::TooLarge => "上传的文件过大".to_string(),
            _ => e.to_string(),
        };
        let mut err = AppError::new(code).with_message(message);
        if code == Code::InvalidValue {
            err = err.with_field("file");
        }
        err
    }
}
