//! Uploads and downloads: the uploaded file of a request (multipart or a raw body, with a
//! size limit that answers 413 instead of resetting the connection) and a file download with
//! its name in ASCII and UTF-8.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::error::{AppError, AppResult, Code};
use crate::service::File;

/// The media type of an `.xlsx` download.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download: `attachment` with the name in ASCII and in UTF-8 (RFC 6266 / 5987), or
/// `inline` for a PDF to open in the browser's viewer.
pub fn send(file: File, content_type: &str, inline: bool) -> HttpResponse {
    let ascii: String = file
        .name
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    let cd = ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.name.into_bytes(),
            }),
        ],
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(cd)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(file.bytes)
}

/// Bytes a request may carry beyond the file itself (multipart boundaries and headers).
const MULTIPART_SLACK: usize = 64 * 1024;
/// An oversize body is read (and dropped) up to this much so the client sees the 413
/// instead of a reset connection; beyond it the connection is simply closed.
const DRAIN_LIMIT: usize = 64 << 20;

/// The uploaded file of a request: the `file` field of `multipart/form-data`, or the whole
/// body otherwise (name from `?name=`). Over `limit` bytes: 413, whatever the body holds.
pub async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> AppResult<(String, Vec<u8>)> {
    let too_large = || AppError::new(Code::TooLarge).with_message("上传的文件过大");
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(too_large());
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("multipart/form-data"));
    if !is_multipart {
        let name =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.get("name").cloned())
                .unwrap_or_else(|| "上传文件".into());
        let bytes = read_capped(payload, limit).await?.ok_or_else(too_large)?;
        return Ok((name, bytes));
    }
    let mut mp = actix_multipart::Multipart::new(req.headers(), payload);
    let mut found: Option<(String, Vec<u8>)> = None;
    let mut over = false;
    let mut seen = 0usize;
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(|e| {
            AppError::new(Code::Malformed).with_message(format!("上传内容格式不正确：{e}"))
        })?;
        let is_file = field.name() == Some("file") && found.is_none();
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_string))
            .unwrap_or_else(|| "上传文件".into());
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::new(Code::Malformed).with_message(format!("上传内容格式不正确：{e}"))
            })?;
            seen += chunk.len();
            if seen > DRAIN_LIMIT {
                return Err(too_large());
            }
            if is_file && !over {
                if buf.len() + chunk.len() > limit {
                    over = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        if is_file && !over {
            found = Some((name, buf));
        }
        if seen > limit + MULTIPART_SLACK {
            over = true;
        }
    }
    if over {
        return Err(too_large());
    }
    found.ok_or_else(|| AppError::invalid("file", "请选择要上传的文件"))
}

/// The body up to `limit` bytes; `None` when it is longer (the rest is drained).
async fn read_capped(mut payload: web::Payload, limit: usize) -> AppResult<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut seen = 0usize;
    let mut over = false;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::new(Code::Malformed).with_message(format!("请求内容读取失败：{e}"))
        })?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            return Ok(None);
        }
        if !over {
            if buf.len() + chunk.len() > limit {
                over = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if over { None } else { Some(buf) })
}
