//! Page layout: turns a [`Report`] into pages of drawing operations (text as asset glyph ids,
//! filled rectangles, rules, images), then each page into a content stream once the subset's glyph ids
//! are known.
//!
//! Layout works top-down in points from the top edge of the page (`top`); operations store
//! PDF coordinates (origin bottom left).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::font::{is_wide_char, FontBook};
use super::{Align, Block, Report, Table};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 42.5; // 15 mm
const MARGIN_TOP: f32 = 36.0;
const MARGIN_BOTTOM: f32 = 36.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;
const RIGHT: f32 = PAGE_W - MARGIN_X;

// Page header: title, two lines of taxpayer facts, a rule.
const TITLE_SIZE: f32 = 16.0;
const TITLE_MIN: f32 = 11.0;
const TITLE_BASE: f32 = MARGIN_TOP + 16.0;
const META_SIZE: f32 = 9.0;
const META_BASE_1: f32 = TITLE_BASE + 22.0;
const META_BASE_2: f32 = META_BASE_1 + 15.0;
const HEADER_RULE: f32 = META_BASE_2 + 7.0;
/// Where the body of every page starts.
const BODY_TOP: f32 = HEADER_RULE + 12.0;
/// Where the body of every page must end.
const BODY_BOTTOM: f32 = PAGE_H - MARGIN_BOTTOM - 14.0;
const FOOTER_BASE: f32 = PAGE_H - MARGIN_BOTTOM + 8.0;
const FOOTER_SIZE: f32 = 9.0;

const HEADING_SIZE: f32 = 12.5;
const HEADING_LEADING: f32 = 19.0;
const TEXT_SIZE: f32 = 10.0;
const TEXT_LEADING: f32 = 16.0;
const FIELD_ROW: f32 = 18.0;
const FIELD_GAP: f32 = 16.0;
const BLOCK_GAP: f32 = 8.0;

const CELL_SIZE: f32 = 9.0;
const CELL_MIN: f32 = 6.5;
const CELL_PAD: f32 = 4.0;
const ROW_H: f32 = 18.0;
const CAPTION_SIZE: f32 = 9.0;
const CAPTION_LEADING: f32 = 14.0;
/// Between an image and its caption.
const CAPTION_GAP: f32 = 4.0;
const HEAD_ROW_H: f32 = 20.0;

const LABEL_GRAY: f32 = 0.35;
const RULE_GRAY: f32 = 0.45;
const HEAD_FILL: f32 = 0.86;
const TOTAL_FILL: f32 = 0.94;

/// Share of the em above the baseline when centring a line of text vertically (CJK ideographs
/// in Noto Sans CJK sit on an em box from -0.12 to 0.88 em).
const EM_ASCENT: f32 = 0.88;

const ELLIPSIS: char = '…';

/// One drawing operation in PDF coordinates.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Text at baseline (`x`, `y`), glyph ids of the asset font.
    Text {
        x: f32,
        y: f32,
        size: f32,
        gray: f32,
        gids: Vec<u16>,
    },
    /// A filled rectangle, (`x`, `y`) its lower left corner.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: f32,
    },
    /// The `index`th image of the document drawn into the box with lower left corner
    /// (`x`, `y`).
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        index: usize,
    },
    /// A straight rule.
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        gray: f32,
    },
}

/// Lays out the whole report: body blocks, then every page's header and footer.
///
/// `images` holds the pixel size of each image block, in order.
pub(crate) fn layout(report: &Report, images: &[(u32, u32)], font: &mut FontBook) -> Vec<Vec<Op>> {
    let mut l = Layout {
        font,
        pages: vec![Vec::new()],
        cur: 0,
        top: BODY_TOP,
    };
    let mut next_image = 0;
    for block in &report.blocks {
        match block {
            Block::Heading(text) => l.heading(text),
            Block::Paragraph(text) => l.paragraph(text),
            Block::Fields(pairs) => l.fields(pairs),
            Block::Table(table) => l.table(table),
            Block::Image(image) => {
                if let Some(size) = images.get(next_image) {
                    l.image(next_image, *size, &image.caption);
                }
                next_image += 1;
            }
        }
    }
    let total = l.pages.len();
    for n in 0..total {
        l.page_frame(report, n, total);
    }
    l.pages
}

struct Layout<'a> {
    font: &'a mut FontBook,
    pages: Vec<Vec<Op>>,
    /// The page being drawn on.
    cur: usize,
    /// The cursor, in points from the top of the current page.
    top: f32,
}

impl Layout<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.cur >= self.pages.len() {
            self.pages.resize_with(self.cur + 1, Vec::new);
        }
        &mut self.pages[self.cur]
    }

    fn at_page_top(&self) -> bool {
        self.top <= BODY_TOP
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.cur = self.pages.len() - 1;
        self.top = BODY_TOP;
    }

    /// Starts a new page unless `height` more points fit (or the page is still empty).
    fn ensure(&mut self, height: f32) {
        if self.top + height > BODY_BOTTOM && !self.at_page_top() {
            self.new_page();
        }
    }

    /// Vertical space between blocks, dropped at the top of a page.
    fn gap(&mut self, gap: f32) {
        if !self.at_page_top() {
            self.top += gap;
        }
    }

    /// Draws `s` with its baseline `baseline` points from the top of the page.
    fn text(&mut self, x: f32, baseline: f32, size: f32, gray: f32, s: &str) {
        if s.is_empty() {
            return;
        }
        let gids = self.font.draw(s);
        self.ops().push(Op::Text {
            x,
            y: PAGE_H - baseline,
            size,
            gray,
            gids,
        });
    }

    /// A filled rectangle given by its top edge (from the top of the page) and height.
    fn fill(&mut self, x: f32, top: f32, w: f32, h: f32, gray: f32) {
        self.ops().push(Op::Fill {
            x,
            y: PAGE_H - top - h,
            w,
            h,
            gray,
        });
    }

    fn hline(&mut self, x1: f32, x2: f32, top: f32, width: f32, gray: f32) {
        let y = PAGE_H - top;
        self.ops().push(Op::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
            gray,
        });
    }

    fn vline(&mut self, x: f32, top1: f32, top2: f32, width: f32, gray: f32) {
        self.ops().push(Op::Line {
            x1: x,
            y1: PAGE_H - top1,
            x2: x,
            y2: PAGE_H - top2,
            width,
            gray,
        });
    }

    // ---- page frame -------------------------------------------------------------------

    fn page_frame(&mut self, report: &Report, index: usize, total: usize) {
        self.cur = index;

        let (title, size) = fit(self.font, &report.title, TITLE_SIZE, TITLE_MIN, CONTENT_W);
        let w = self.font.width(&title, size);
        self.text(
            MARGIN_X + (CONTENT_W - w) / 2.0,
            TITLE_BASE,
            size,
            0.0,
            &title,
        );

        // Right-hand items first: the left ones get what is left over. A document for no
        // taxpayer (the 操作手册) leaves the taxpayer's lines out.
        let half = CONTENT_W / 2.0;
        let for_taxpayer = !report.taxpayer_id.is_empty();
        let id_w = self.label_value_width("纳税人识别号：", &report.taxpayer_id, META_SIZE, half);
        if for_taxpayer {
            self.label_value(
                RIGHT - id_w,
                META_BASE_1,
                "纳税人识别号：",
                &report.taxpayer_id,
                META_SIZE,
                half,
            );
            self.label_value(
                MARGIN_X,
                META_BASE_1,
                "纳税人名称：",
                &report.taxpayer_name,
                META_SIZE,
                CONTENT_W - id_w - FIELD_GAP,
            );
        }

        let (updated, updated_size) = fit(self.font, &report.updated_at, META_SIZE, CELL_MIN, half);
        let uw = self.font.width(&updated, updated_size);
        self.text(RIGHT - uw, META_BASE_2, updated_size, LABEL_GRAY, &updated);
        if !report.period.is_empty() {
            self.label_value(
                MARGIN_X,
                META_BASE_2,
                "税款所属期：",
                &report.period,
                META_SIZE,
                CONTENT_W - uw - FIELD_GAP,
            );
        }

        self.hline(MARGIN_X, RIGHT, HEADER_RULE, 0.8, 0.0);

        let footer = format!("第 {} 页 共 {} 页", index + 1, total);
        let fw = self.font.width(&footer, FOOTER_SIZE);
        self.text(
            MARGIN_X + (CONTENT_W - fw) / 2.0,
            FOOTER_BASE,
            FOOTER_SIZE,
            LABEL_GRAY,
            &footer,
        );
    }

    /// Width that [`Self::label_value`] will take.
    fn label_value_width(&mut self, label: &str, value: &str, size: f32, max_w: f32) -> f32 {
        let lw = self.font.width(label, size);
        let (v, vs) = fit(self.font, value, size, CELL_MIN, (max_w - lw).max(0.0));
        lw + self.font.width(&v, vs)
    }

    /// A gray label followed by its value on one line, the value shrunk or cut to `max_w`.
    fn label_value(
        &mut self,
        x: f32,
        baseline: f32,
        label: &str,
        value: &str,
        size: f32,
        max_w: f32,
    ) {
        let lw = self.font.width(label, size);
        self.text(x, baseline, size, LABEL_GRAY, label);
        let (v, vs) = fit(self.font, value, size, CELL_MIN, (max_w - lw).max(0.0));
        self.text(x + lw, baseline, vs, 0.0, &v);
    }

    // ---- blocks -----------------------------------------------------------------------

    fn heading(&mut self, text: &str) {
        let lines = wrap(self.font, text, HEADING_SIZE, CONTENT_W);
        self.gap(BLOCK_GAP);
        // Keep a heading with at least two lines of what follows.
        self.ensure(lines.len() as f32 * HEADING_LEADING + 2.0 * TEXT_LEADING);
        for line in &lines {
            self.ensure(HEADING_LEADING);
            let base = baseline(self.top, HEADING_LEADING, HEADING_SIZE);
            self.text(MARGIN_X, base, HEADING_SIZE, 0.0, line);
            self.top += HEADING_LEADING;
        }
        self.top += 2.0;
    }

    fn paragraph(&mut self, text: &str) {
        let lines = wrap(self.font, text, TEXT_SIZE, CONTENT_W);
        for line in &lines {
            self.ensure(TEXT_LEADING);
            let base = baseline(self.top, TEXT_LEADING, TEXT_SIZE);
            self.text(MARGIN_X, base, TEXT_SIZE, 0.0, line);
            self.top += TEXT_LEADING;
        }
        self.top += BLOCK_GAP;
    }

    fn fields(&mut self, pairs: &[(String, String)]) {
        let col_w = (CONTENT_W - FIELD_GAP) / 2.0;
        // A field that fits half a line waits here for a neighbour to share the line with.
        let mut pending: Option<(String, &str)> = None;
        for (label, value) in pairs {
            let label = if label.ends_with('：') || label.ends_with(':') {
                label.clone()
            } else {
                format!("{label}：")
            };
            let width = self.font.width(&label, TEXT_SIZE) + self.font.width(value, TEXT_SIZE);
            if width <= col_w {
                match pending.take() {
                    Some((l0, v0)) => self.field_row(&[(&l0, v0), (&label, value)], col_w),
                    None => pending = Some((label, value)),
                }
            } else {
                if let Some((l0, v0)) = pending.take() {
                    self.field_row(&[(&l0, v0)], col_w);
                }
                self.wide_field(&label, value);
            }
        }
        if let Some((l0, v0)) = pending.take() {
            self.field_row(&[(&l0, v0)], col_w);
        }
        self.top += BLOCK_GAP;
    }

    fn field_row(&mut self, cells: &[(&str, &str)], col_w: f32) {
        self.ensure(FIELD_ROW);
        let base = baseline(self.top, FIELD_ROW, TEXT_SIZE);
        for (i, (label, value)) in cells.iter().enumerate() {
            let x = MARGIN_X + i as f32 * (col_w + FIELD_GAP);
            self.label_value(x, base, label, value, TEXT_SIZE, col_w);
        }
        self.top += FIELD_ROW;
    }

    /// A field too long for half a line: the whole width, the value wrapped under itself.
    fn wide_field(&mut self, label: &str, value: &str) {
        let lw = self.font.width(label, TEXT_SIZE);
        // A label wider than half the line puts its value on the lines below it.
        let indent = if lw > CONTENT_W / 2.0 { 0.0 } else { lw };
        let mut lines = wrap(self.font, value, TEXT_SIZE, CONTENT_W - indent).into_iter();
        self.ensure(FIELD_ROW);
        let base = baseline(self.top, FIELD_ROW, TEXT_SIZE);
        self.text(MARGIN_X, base, TEXT_SIZE, LABEL_GRAY, label);
        if indent > 0.0 {
            if let Some(first) = lines.next() {
                self.text(MARGIN_X + indent, base, TEXT_SIZE, 0.0, &first);
            }
        }
        self.top += FIELD_ROW;
        for line in lines {
            self.ensure(TEXT_LEADING);
            let base = baseline(self.top, TEXT_LEADING, TEXT_SIZE);
            self.text(MARGIN_X + indent, base, TEXT_SIZE, 0.0, &line);
            self.top += TEXT_LEADING;
        }
    }

    /// An image across the text width (shrunk to fit the page's height), framed, with its
    /// caption centred under it; on the next page if it does not fit on this one.
    fn image(&mut self, index: usize, (px_w, px_h): (u32, u32), caption: &str) {
        let caption = caption.trim();
        let lines = if caption.is_empty() {
            Vec::new()
        } else {
            wrap(self.font, caption, CAPTION_SIZE, CONTENT_W)
        };
        let caption_h = if lines.is_empty() {
            0.0
        } else {
            CAPTION_GAP + lines.len() as f32 * CAPTION_LEADING
        };
        let aspect = px_h.max(1) as f32 / px_w.max(1) as f32;
        let (mut w, mut h) = (CONTENT_W, CONTENT_W * aspect);
        let max_h = BODY_BOTTOM - BODY_TOP - caption_h;
        if h > max_h {
            h = max_h.max(1.0);
            w = h / aspect;
        }
        self.gap(2.0);
        self.ensure(h + caption_h);
        let x = MARGIN_X + (CONTENT_W - w) / 2.0;
        let top = self.top;
        self.ops().push(Op::Image {
            x,
            y: PAGE_H - top - h,
            w,
            h,
            index,
        });
        self.hline(x, x + w, top, 0.4, RULE_GRAY);
        self.hline(x, x + w, top + h, 0.4, RULE_GRAY);
        self.vline(x, top, top + h, 0.4, RULE_GRAY);
        self.vline(x + w, top, top + h, 0.4, RULE_GRAY);
        self.top += h;
        if !lines.is_empty() {
            self.top += CAPTION_GAP;
            for line in &lines {
                let lw = self.font.width(line, CAPTION_SIZE);
                let base = baseline(self.top, CAPTION_LEADING, CAPTION_SIZE);
                self.text(
                    MARGIN_X + (CONTENT_W - lw) / 2.0,
                    base,
                    CAPTION_SIZE,
                    LABEL_GRAY,
                    line,
                );
                self.top += CAPTION_LEADING;
            }
        }
        self.top += BLOCK_GAP;
    }

    // ---- tables -----------------------------------------------------------------------

    fn table(&mut self, table: &Table) {
        let total_weight: f32 = table.columns.iter().map(|c| c.width).sum();
        let mut xs = Vec::with_capacity(table.columns.len() + 1);
        let mut x = MARGIN_X;
        xs.push(x);
        for c in &table.columns {
            x += CONTENT_W * c.width / total_weight;
            xs.push(x);
        }
        if let Some(last) = xs.last_mut() {
            *last = RIGHT; // no rounding gap at the right edge
        }

        self.gap(2.0);
        // The header and at least one row (or the total) must share a page.
        self.ensure(HEAD_ROW_H + ROW_H);
        let mut seg = Segment::new(self.top);
        self.table_header(table, &xs, &mut seg);

        if table.rows.is_empty() {
            if self.top + ROW_H > BODY_BOTTOM {
                self.break_table(table, &xs, &mut seg);
            }
            let top = self.top;
            self.cell(
                xs[0],
                xs[xs.len() - 1],
                top,
                ROW_H,
                "（无记录）",
                Align::Center,
                LABEL_GRAY,
            );
            self.top += ROW_H;
            seg.rows.push(self.top);
            seg.span_rows.push(seg.rows.len() - 1);
        }
        for row in &table.rows {
            if self.top + ROW_H > BODY_BOTTOM {
                self.break_table(table, &xs, &mut seg);
            }
            self.table_row(table, &xs, row, None);
            seg.rows.push(self.top);
        }
        if let Some(total) = &table.total {
            if self.top + ROW_H > BODY_BOTTOM {
                self.break_table(table, &xs, &mut seg);
            }
            self.table_row(table, &xs, total, Some(TOTAL_FILL));
            seg.rows.push(self.top);
        }
        self.finish_segment(&xs, &seg);
        self.top += BLOCK_GAP;
    }

    /// Closes the table on this page and carries on with a repeated header on the next.
    fn break_table(&mut self, table: &Table, xs: &[f32], seg: &mut Segment) {
        self.finish_segment(xs, seg);
        self.new_page();
        *seg = Segment::new(self.top);
        self.table_header(table, xs, seg);
    }

    fn table_header(&mut self, table: &Table, xs: &[f32], seg: &mut Segment) {
        let top = self.top;
        self.fill(xs[0], top, xs[xs.len() - 1] - xs[0], HEAD_ROW_H, HEAD_FILL);
        for (i, col) in table.columns.iter().enumerate() {
            self.cell(
                xs[i],
                xs[i + 1],
                top,
                HEAD_ROW_H,
                &col.title,
                Align::Center,
                0.0,
            );
        }
        self.top += HEAD_ROW_H;
        seg.rows.push(self.top);
    }

    /// A body row, or with `fill` the shaded total row.
    fn table_row(&mut self, table: &Table, xs: &[f32], row: &[String], fill: Option<f32>) {
        let top = self.top;
        if let Some(f) = fill {
            self.fill(xs[0], top, xs[xs.len() - 1] - xs[0], ROW_H, f);
        }
        for (i, (col, text)) in table.columns.iter().zip(row).enumerate() {
            self.cell(xs[i], xs[i + 1], top, ROW_H, text, col.align, 0.0);
        }
        self.top += ROW_H;
    }

    /// One cell's text: shrunk, then cut with an ellipsis, so it never leaves its cell.
    #[allow(clippy::too_many_arguments)]
    fn cell(&mut self, x1: f32, x2: f32, top: f32, h: f32, text: &str, align: Align, gray: f32) {
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let text = text.trim();
        let avail = (x2 - x1 - 2.0 * CELL_PAD).max(0.0);
        let (s, size) = fit(self.font, text, CELL_SIZE, CELL_MIN, avail);
        let w = self.font.width(&s, size);
        let x = match align {
            Align::Left => x1 + CELL_PAD,
            Align::Right => x2 - CELL_PAD - w,
            Align::Center => x1 + (x2 - x1 - w) / 2.0,
        };
        self.text(x, baseline(top, h, size), size, gray, &s);
    }

    /// Rules of the part of a table on the current page: every row boundary, every column
    /// boundary (a row drawn as one span gets no inner column rules).
    fn finish_segment(&mut self, xs: &[f32], seg: &Segment) {
        let (left, right) = (xs[0], xs[xs.len() - 1]);
        let bottom = seg.rows.last().copied().unwrap_or(seg.top);
        self.hline(left, right, seg.top, 0.8, RULE_GRAY);
        let n = seg.rows.len();
        for (i, y) in seg.rows.iter().enumerate() {
            let width = if i + 1 == n { 0.8 } else { 0.4 };
            self.hline(left, right, *y, width, RULE_GRAY);
        }
        self.vline(left, seg.top, bottom, 0.8, RULE_GRAY);
        self.vline(right, seg.top, bottom, 0.8, RULE_GRAY);
        // Inner column rules stop above a full-width row ("no records").
        let inner_bottom = match seg.span_rows.first() {
            Some(i) if *i > 0 => seg.rows[*i - 1],
            _ => bottom,
        };
        for x in &xs[1..xs.len() - 1] {
            self.vline(*x, seg.top, inner_bottom, 0.4, RULE_GRAY);
        }
    }
}

/// The rows of one table on one page.
struct Segment {
    top: f32,
    /// Bottom edge of each row drawn so far (header first).
    rows: Vec<f32>,
    /// Indexes into `rows` of rows that span all columns.
    span_rows: Vec<usize>,
}

impl Segment {
    fn new(top: f32) -> Self {
        Self {
            top,
            rows: Vec::new(),
            span_rows: Vec::new(),
        }
    }
}

/// Baseline of a line of `size` text centred in a box starting `top` and `h` high.
fn baseline(top: f32, h: f32, size: f32) -> f32 {
    top + (h - size) / 2.0 + size * EM_ASCENT
}

/// Fits `s` into `max_w`: as is, else shrunk down to `min_size`, else cut with an ellipsis at
/// `min_size`. Returns the text to draw and its size.
pub(super) fn fit(
    font: &mut FontBook,
    s: &str,
    size: f32,
    min_size: f32,
    max_w: f32,
) -> (String, f32) {
    let w = font.width(s, size);
    if w <= max_w {
        return (s.to_owned(), size);
    }
    let shrunk = size * max_w / w * 0.999;
    if shrunk >= min_size {
        return (s.to_owned(), shrunk);
    }
    let ew = font.width(&ELLIPSIS.to_string(), min_size);
    if ew > max_w {
        return (String::new(), min_size);
    }
    let mut out = String::new();
    let mut acc = ew;
    for (c, cw) in s.chars().zip(font.advances(s, min_size)) {
        if acc + cw > max_w {
            break;
        }
        acc += cw;
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push(ELLIPSIS);
    (out, min_size)
}

/// Characters that may hang past the right edge rather than start a line.
fn no_line_start(c: char) -> bool {
    "，。、；：！？）》」』】〉〕”’…,.;:!?)]}%".contains(c)
}

/// Wraps `text` to `max_w` at `size`: CJK per character, other scripts per word, `\n` forces a
/// break, closing punctuation never starts a line.
pub(super) fn wrap(font: &mut FontBook, text: &str, size: f32, max_w: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for hard in text.split('\n') {
        let hard = hard.trim_end_matches('\r');
        // Each character with its advance in the context of the whole line (spaces beside
        // ideographs are wider), so that a line measures as it will be drawn.
        let chars: Vec<(char, f32)> = hard.chars().zip(font.advances(hard, size)).collect();
        // Tokens: a Latin word, one CJK character, or one whitespace character.
        let mut tokens: Vec<&[(char, f32)]> = Vec::new();
        let mut start = None;
        for (i, (c, _)) in chars.iter().enumerate() {
            let word_char = !c.is_whitespace() && !is_wide_char(*c);
            match (start, word_char) {
                (None, true) => start = Some(i),
                (Some(_), true) => {}
                (Some(s), false) => {
                    tokens.push(&chars[s..i]);
                    start = None;
                    tokens.push(&chars[i..=i]);
                }
                (None, false) => tokens.push(&chars[i..=i]),
            }
        }
        if let Some(s) = start {
            tokens.push(&chars[s..]);
        }

        let mut line = String::new();
        let mut line_w = 0.0;
        let mut wrapped = false;
        for tok in tokens {
            let is_space = tok.iter().all(|(c, _)| c.is_whitespace());
            if is_space && line.is_empty() && wrapped {
                continue; // no leading blank on a wrapped line
            }
            let tw: f32 = tok.iter().map(|(_, w)| w).sum();
            let hangs = tok.len() == 1 && no_line_start(tok[0].0) && !line.is_empty();
            if line_w + tw <= max_w || hangs {
                line.extend(tok.iter().map(|(c, _)| c));
                line_w += tw;
                continue;
            }
            if !line.is_empty() {
                lines.push(line.trim_end().to_owned());
                line.clear();
                line_w = 0.0;
                wrapped = true;
            }
            if is_space {
                continue;
            }
            if tw <= max_w {
                line.extend(tok.iter().map(|(c, _)| c));
                line_w = tw;
            } else {
                // A word longer than the line: break it by characters.
                for (c, cw) in tok {
                    if line_w + cw > max_w && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(*c);
                    line_w += cw;
                }
            }
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// A page's content stream, glyph ids mapped to the subset's.
pub(crate) fn content(ops: &[Op], map: &HashMap<u16, u16>) -> Vec<u8> {
    let mut s = String::with_capacity(ops.len() * 48);
    let mut fill_gray = 0.0_f32;
    let mut stroke: Option<(f32, f32)> = None;
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                gray,
                gids,
            } => {
                if *gray != fill_gray {
                    let _ = writeln!(s, "{} g", num(*gray));
                    fill_gray = *gray;
                }
                let _ = write!(s, "BT /F1 {} Tf {} {} Td <", num(*size), num(*x), num(*y));
                for g in gids {
                    let _ = write!(s, "{:04X}", map.get(g).copied().unwrap_or(0));
                }
                s.push_str("> Tj ET\n");
            }
            Op::Fill { x, y, w, h, gray } => {
                if *gray != fill_gray {
                    let _ = writeln!(s, "{} g", num(*gray));
                    fill_gray = *gray;
                }
                let _ = writeln!(s, "{} {} {} {} re f", num(*x), num(*y), num(*w), num(*h));
            }
            Op::Image { x, y, w, h, index } => {
                let _ = writeln!(
                    s,
                    "q {} 0 0 {} {} {} cm /{} Do Q",
                    num(*w),
                    num(*h),
                    num(*x),
                    num(*y),
                    image_name(*index)
                );
            }
            Op::Line {
                x1,
                y1,
                x2,
                y2,
                width,
                gray,
            } => {
                if stroke != Some((*width, *gray)) {
                    let _ = writeln!(s, "{} w {} G", num(*width), num(*gray));
                    stroke = Some((*width, *gray));
                }
                let _ = writeln!(
                    s,
                    "{} {} m {} {} l S",
                    num(*x1),
                    num(*y1),
                    num(*x2),
                    num(*y2)
                );
            }
        }
    }
    s.into_bytes()
}

/// The resource name of the `index`th image.
pub(crate) fn image_name(index: usize) -> String {
    format!("Im{index}")
}

/// A number as PDF wants it: at most two decimals, no trailing zeros.
fn num(v: f32) -> String {
    let mut s = format!("{v:.2}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}
