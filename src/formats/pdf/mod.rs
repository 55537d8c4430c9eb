//! A4 PDF reports (lopdf) with an embedded, per-document subset CJK font.
//!
//! A [`Report`] is a title, the taxpayer facts every page repeats in its header, and a list of
//! [`Block`]s (headings, paragraphs, label：value fields, ruled tables, images). [`render`] lays it out on
//! A4 portrait pages with a `第 N 页 共 M 页` footer and returns the PDF bytes.
//!
//! Text is set in "Fapiao Sans SC" (Noto Sans CJK SC reduced to GB 2312, OFL; see
//! `assets/fonts/README.md`), embedded per document as a subset of just the glyphs drawn: a
//! Type0 font (Identity-H) over a CIDFontType0 with a `FontFile3 /CIDFontType0C` program, `/W`
//! widths from the font's advances and a ToUnicode CMap, so text extracts exactly as drawn.
//! Characters the font lacks are drawn as `?`.
//!
//! An [`Image`] block embeds a PNG (a screenshot): decoded, scaled down to at most
//! [`Image::max_px`] pixels wide, and written as an `/XObject /Image` (DeviceRGB or DeviceGray,
//! `/FlateDecode` with PNG row predictors, alpha as an `/SMask`). It is drawn across the text
//! width keeping its aspect ratio (shrunk to the page height if it is taller), with a thin
//! frame and its caption centred under it; an image that does not fit below the text on the
//! page starts the next page.
//!
//! This module is a leaf: it depends on nothing else in the crate.
//!
//! ```ignore
//! let pdf = fapiao::formats::pdf::render(&Report {
//!     title: "增值税发票确认汇总".into(),
//!     taxpayer_name: "某某科技有限公司".into(),
//!     taxpayer_id: "91110108MA01XXXXXX".into(),
//!     period: "2026年10月".into(),
//!     updated_at: "报表更新时间：2026-11-02 08:15:00".into(),
//!     blocks: vec![Block::Table(Table::new(vec![
//!         Column::left("发票号码", 2.0),
//!         Column::right("金额", 1.5),
//!     ]).with_rows(rows))],
//! })?;
//! ```

mod font;
mod image;
mod layout;
#[cfg(test)]
mod tests;

use lopdf::{dictionary, Document, Object, Stream};

use self::font::{text_string, FontBook};
use self::layout::{PAGE_H, PAGE_W};

/// One document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Document title, e.g. "增值税发票确认汇总"; heads every page and is the PDF's /Title.
    pub title: String,
    /// 纳税人名称.
    pub taxpayer_name: String,
    /// 纳税人识别号.
    pub taxpayer_id: String,
    /// 税款所属期, e.g. "2026年10月".
    pub period: String,
    /// The update-time line as it is to be printed, e.g. "报表更新时间：2026-11-02 08:15:00".
    pub updated_at: String,
    /// The body, in order.
    pub blocks: Vec<Block>,
}

/// A piece of the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading (kept on the page of what follows it).
    Heading(String),
    /// Running text wrapped to the page width (CJK per character, other scripts per word);
    /// `\n` starts a new line.
    Paragraph(String),
    /// label：value pairs, two per line when they fit in half a line.
    Fields(Vec<(String, String)>),
    /// A ruled table; its header row repeats on every page it continues onto.
    Table(Table),
    /// A PNG image across the text width, with its caption under it.
    Image(Image),
}

/// A PNG image block.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The PNG file's bytes (any colour type and bit depth; transparency kept).
    pub png: Vec<u8>,
    /// A caption centred under the image (none when empty).
    pub caption: String,
    /// Wider images are scaled down to this many pixels wide before embedding (0: never), to
    /// keep the file small: 1000 px across the 180 mm text width is about 140 dpi.
    pub max_px: u32,
}

impl Image {
    /// An image with a caption, scaled down to at most [`Image::DEFAULT_MAX_PX`] wide.
    pub fn new(png: impl Into<Vec<u8>>, caption: impl Into<String>) -> Self {
        Self {
            png: png.into(),
            caption: caption.into(),
            max_px: Self::DEFAULT_MAX_PX,
        }
    }

    /// The default of [`Image::max_px`].
    pub const DEFAULT_MAX_PX: u32 = 1000;

    /// The same image, scaled down to at most `px` wide (0: embedded at its own size).
    #[must_use]
    pub fn with_max_px(mut self, px: u32) -> Self {
        self.max_px = px;
        self
    }
}

/// A ruled table: shaded header row, one line per row, an optional shaded total row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The columns; every row must have exactly one cell per column.
    pub columns: Vec<Column>,
    /// The body rows. Cell text that does not fit is shrunk, then cut with "…".
    pub rows: Vec<Vec<String>>,
    /// A total row (合计) drawn after the last row.
    pub total: Option<Vec<String>>,
}

impl Table {
    /// A table with these columns and no rows yet.
    pub fn new(columns: Vec<Column>) -> Self {
        Self {
            columns,
            rows: Vec::new(),
            total: None,
        }
    }

    /// The same table with these rows.
    #[must_use]
    pub fn with_rows(mut self, rows: Vec<Vec<String>>) -> Self {
        self.rows = rows;
        self
    }

    /// The same table with a total row.
    #[must_use]
    pub fn with_total(mut self, total: Vec<String>) -> Self {
        self.total = Some(total);
        self
    }
}

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// Relative width: the table spans the page, shared out by these weights (finite, > 0).
    pub width: f32,
    /// How cell text sits in the column (header text is always centred).
    pub align: Align,
}

impl Column {
    /// A column.
    pub fn new(title: impl Into<String>, width: f32, align: Align) -> Self {
        Self {
            title: title.into(),
            width,
            align,
        }
    }

    /// A left-aligned column (text).
    pub fn left(title: impl Into<String>, width: f32) -> Self {
        Self::new(title, width, Align::Left)
    }

    /// A right-aligned column (money, counts).
    pub fn right(title: impl Into<String>, width: f32) -> Self {
        Self::new(title, width, Align::Right)
    }

    /// A centred column (dates, codes, states).
    pub fn center(title: impl Into<String>, width: f32) -> Self {
        Self::new(title, width, Align::Center)
    }
}

/// Horizontal alignment of cell text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Flush left.
    #[default]
    Left,
    /// Flush right (money columns).
    Right,
    /// Centred.
    Center,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// A table block has no columns.
    #[error("block {block}: table has no columns")]
    NoColumns {
        /// Index of the block in [`Report::blocks`].
        block: usize,
    },
    /// A column's relative width is not a finite positive number.
    #[error("block {block}, column {column}: width {width} is not a positive number")]
    ColumnWidth {
        /// Index of the block in [`Report::blocks`].
        block: usize,
        /// Index of the column.
        column: usize,
        /// The offending width.
        width: f32,
    },
    /// A row (or the total row, `row: None`) has a different number of cells than columns.
    #[error("block {block}, {}: {found} cells for {expected} columns", row.map_or("total row".to_owned(), |r| format!("row {r}")))]
    RowLength {
        /// Index of the block in [`Report::blocks`].
        block: usize,
        /// Index of the row, `None` for the total row.
        row: Option<usize>,
        /// Cells in the row.
        found: usize,
        /// Columns in the table.
        expected: usize,
    },
    /// An image block's bytes are not a PNG that can be decoded.
    #[error("block {block}: image: {reason}")]
    Image {
        /// Index of the block in [`Report::blocks`].
        block: usize,
        /// What the decoder said.
        reason: String,
    },
    /// The embedded font could not be read or subset (a bug or a broken asset).
    #[error("font: {0}")]
    Font(String),
    /// lopdf failed to build or write the document.
    #[error("writing the PDF: {0}")]
    Pdf(#[from] lopdf::Error),
    /// Serialising the document failed.
    #[error("serialising the PDF: {0}")]
    Io(#[from] std::io::Error),
}

/// Renders `report` as an A4 PDF.
///
/// # Errors
/// [`PdfError`] for a malformed table (no columns, bad widths, rows of the wrong length), an
/// image that is not a readable PNG, or a font/PDF failure. Text never causes an error: characters the font lacks are drawn as `?`.
pub fn render(report: &Report) -> Result<Vec<u8>, PdfError> {
    validate(report)?;
    let rasters = report
        .blocks
        .iter()
        .enumerate()
        .filter_map(|(block, b)| match b {
            Block::Image(i) => Some(
                image::decode(&i.png, i.max_px).map_err(|reason| PdfError::Image { block, reason }),
            ),
            _ => None,
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut font = FontBook::new()?;
    let sizes: Vec<(u32, u32)> = rasters.iter().map(|r| (r.width, r.height)).collect();
    let pages = layout::layout(report, &sizes, &mut font);

    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let (font_id, glyph_map) = font.embed(&mut doc)?;
    let mut resources = dictionary! {
        "Font" => dictionary! { "F1" => font_id },
        "ProcSet" => vec![Object::from("PDF"), Object::from("Text")],
    };
    if !rasters.is_empty() {
        let mut xobjects = lopdf::Dictionary::new();
        for (n, r) in rasters.iter().enumerate() {
            xobjects.set(layout::image_name(n), r.embed(&mut doc)?);
        }
        resources.set("XObject", xobjects);
        resources.set(
            "ProcSet",
            vec![
                Object::from("PDF"),
                Object::from("Text"),
                Object::from("ImageB"),
                Object::from("ImageC"),
            ],
        );
    }
    let resources_id = doc.add_object(resources);
    let media_box = || vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()];

    let mut kids = Vec::with_capacity(pages.len());
    for ops in &pages {
        let mut stream = Stream::new(dictionary! {}, layout::content(ops, &glyph_map));
        stream.compress()?;
        let content_id = doc.add_object(stream);
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => media_box(),
            "Resources" => resources_id,
            "Contents" => content_id,
        });
        kids.push(Object::Reference(page_id));
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
        "Lang" => Object::string_literal("zh-CN"),
        "ViewerPreferences" => dictionary! { "DisplayDocTitle" => true },
    });
    let mut info = dictionary! {
        "Title" => text_string(&report.title),
        "Producer" => text_string("fapiao"),
        "Creator" => text_string("fapiao"),
    };
    if !report.taxpayer_name.is_empty() {
        info.set("Author", text_string(&report.taxpayer_name));
    }
    let info_id = doc.add_object(info);
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);

    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

fn validate(report: &Report) -> Result<(), PdfError> {
    for (block, b) in report.blocks.iter().enumerate() {
        let Block::Table(t) = b else { continue };
        if t.columns.is_empty() {
            return Err(PdfError::NoColumns { block });
        }
        for (column, c) in t.columns.iter().enumerate() {
            if !(c.width.is_finite() && c.width > 0.0) {
                return Err(PdfError::ColumnWidth {
                    block,
                    column,
                    width: c.width,
                });
            }
        }
        let expected = t.columns.len();
        let rows = t.rows.iter().enumerate().map(|(i, r)| (Some(i), r));
        for (row, cells) in rows.chain(t.total.iter().map(|r| (None, r))) {
            if cells.len() != expected {
                return Err(PdfError::RowLength {
                    block,
                    row,
                    found: cells.len(),
                    expected,
                });
            }
        }
    }
    Ok(())
}
