use lopdf::{Dictionary, Document, Object};

use super::font::FontBook;
use super::layout::{fit, wrap};
use super::*;

fn report(blocks: Vec<Block>) -> Report {
    Report {
        title: "增值税发票确认汇总".into(),
        taxpayer_name: "北京示例科技有限公司".into(),
        taxpayer_id: "91110108MA01ABCD2X".into(),
        period: "2026年10月".into(),
        updated_at: "报表更新时间：2026-11-02 08:15:00".into(),
        blocks,
    }
}

fn invoice_table(rows: usize) -> Table {
    let columns = vec![
        Column::center("序号", 0.7),
        Column::left("发票代码", 1.6),
        Column::left("发票号码", 1.4),
        Column::center("开票日期", 1.4),
        Column::left("销售方名称", 3.0),
        Column::right("金额", 1.5),
        Column::right("税额", 1.3),
        Column::center("状态", 1.0),
    ];
    let rows = (1..=rows)
        .map(|i| {
            vec![
                i.to_string(),
                "011002100111".into(),
                format!("N{i:07}"),
                "2026-10-15".into(),
                format!("上海第{i}号贸易有限责任公司"),
                "1,234.56".into(),
                "160.49".into(),
                "已勾选".into(),
            ]
        })
        .collect();
    Table::new(columns).with_rows(rows).with_total(vec![
        "合计".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        "¥2,469,120.00".into(),
        "320,980.00".into(),
        String::new(),
    ])
}

fn parse(bytes: &[u8]) -> Document {
    Document::load_mem(bytes).expect("output parses")
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    match obj {
        Object::Reference(id) => doc.get_object(*id).expect("reference resolves"),
        other => other,
    }
}

fn dict<'a>(doc: &'a Document, obj: &'a Object) -> &'a Dictionary {
    match deref(doc, obj) {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        other => panic!("not a dictionary: {other:?}"),
    }
}

/// The one Type0 font of the document (every page shares it).
fn type0_font(doc: &Document) -> &Dictionary {
    let fonts: Vec<&Dictionary> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Subtype").and_then(|s| s.as_name()).ok() == Some(b"Type0"))
        .collect();
    assert_eq!(fonts.len(), 1, "exactly one Type0 font");
    fonts[0]
}

fn font_file_len(doc: &Document) -> usize {
    let cid = dict(
        doc,
        &type0_font(doc)
            .get(b"DescendantFonts")
            .unwrap()
            .as_array()
            .unwrap()[0],
    );
    let descriptor = dict(doc, cid.get(b"FontDescriptor").unwrap());
    match deref(doc, descriptor.get(b"FontFile3").unwrap()) {
        Object::Stream(s) => s.content.len(),
        other => panic!("FontFile3 is not a stream: {other:?}"),
    }
}

fn page_texts(doc: &Document) -> Vec<String> {
    let pages = doc.get_pages();
    pages
        .keys()
        .map(|n| doc.extract_text(&[*n]).expect("text extracts"))
        .collect()
}

#[test]
fn font_is_type0_identity_h_over_embedded_cff_cid_font_with_to_unicode() {
    let pdf = render(&report(vec![
        Block::Heading("一、发票确认情况".into()),
        Block::Paragraph("本期共确认发票 2 份，金额合计 ¥1,234.56 元。".into()),
        Block::Table(invoice_table(2)),
    ]))
    .unwrap();
    let doc = parse(&pdf);
    let font = type0_font(&doc);
    assert_eq!(
        font.get(b"Encoding").unwrap().as_name().unwrap(),
        b"Identity-H"
    );
    let to_unicode = deref(&doc, font.get(b"ToUnicode").unwrap());
    let cmap = to_unicode
        .as_stream()
        .unwrap()
        .decompressed_content()
        .unwrap();
    let cmap = String::from_utf8(cmap).unwrap();
    assert!(cmap.contains("beginbfchar"), "{cmap}");
    // 确 is U+786E: it must be in the map.
    assert!(cmap.contains("<786E>"), "{cmap}");

    let descendants = font.get(b"DescendantFonts").unwrap().as_array().unwrap();
    assert_eq!(descendants.len(), 1);
    let cid = dict(&doc, &descendants[0]);
    assert_eq!(
        cid.get(b"Subtype").unwrap().as_name().unwrap(),
        b"CIDFontType0"
    );
    let base = cid.get(b"BaseFont").unwrap().as_name().unwrap();
    let base = std::str::from_utf8(base).unwrap();
    assert!(
        base.len() > 7
            && base.as_bytes()[6] == b'+'
            && base[..6].chars().all(|c| c.is_ascii_uppercase()),
        "subset tag: {base}"
    );
    let descriptor = dict(&doc, cid.get(b"FontDescriptor").unwrap());
    let file = deref(&doc, descriptor.get(b"FontFile3").unwrap())
        .as_stream()
        .unwrap();
    assert_eq!(
        file.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"CIDFontType0C"
    );
    let program = file.decompressed_content().unwrap();
    assert_eq!(&program[..2], &[1, 0], "a CFF header (major 1, minor 0)");

    // /W gives every subset glyph a width, none of them silly.
    let w = cid.get(b"W").unwrap().as_array().unwrap();
    assert_eq!(w[0].as_i64().unwrap(), 0);
    let widths = w[1].as_array().unwrap();
    assert!(widths.len() > 30, "{} glyphs", widths.len());
    for width in widths {
        let width = width.as_i64().unwrap();
        assert!((0..=1000).contains(&width), "width {width}");
    }
    // Ideographs are full-width, digits about half.
    assert!(
        widths
            .iter()
            .filter(|w| w.as_i64().unwrap() == 1000)
            .count()
            > 20
    );

    let info = dict(&doc, doc.trailer.get(b"Info").unwrap());
    let producer = lopdf::decode_text_string(info.get(b"Producer").unwrap()).unwrap();
    assert_eq!(producer, "fapiao");
    let title = lopdf::decode_text_string(info.get(b"Title").unwrap()).unwrap();
    assert_eq!(title, "增值税发票确认汇总");
}

#[test]
fn content_streams_are_compressed() {
    let doc = parse(&render(&report(vec![Block::Table(invoice_table(40))])).unwrap());
    for page in doc.get_pages().values() {
        for content in doc.get_page_contents(*page) {
            let stream = doc.get_object(content).unwrap().as_stream().unwrap();
            assert_eq!(
                stream.dict.get(b"Filter").unwrap().as_name().unwrap(),
                b"FlateDecode"
            );
        }
    }
}

#[test]
fn text_extracts_as_drawn() {
    let doc = parse(
        &render(&report(vec![
            Block::Fields(vec![
                ("发票份数".into(), "2".into()),
                ("金额合计".into(), "¥1,234.56".into()),
            ]),
            Block::Table(invoice_table(3)),
        ]))
        .unwrap(),
    );
    let text = page_texts(&doc).concat();
    for want in [
        "增值税发票确认汇总",
        "北京示例科技有限公司",
        "91110108MA01ABCD2X",
        "2026年10月",
        "报表更新时间：2026-11-02 08:15:00",
        "¥1,234.56",
        "上海第3号贸易有限责任公司",
        "¥2,469,120.00",
        "已勾选",
        "第 1 页 共 1 页",
    ] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
}

#[test]
fn two_thousand_rows_paginate_with_repeated_header_and_page_numbers() {
    let rows = 2000;
    let pdf = render(&report(vec![
        Block::Heading("发票明细".into()),
        Block::Table(invoice_table(rows)),
    ]))
    .unwrap();
    let doc = parse(&pdf);
    let texts = page_texts(&doc);
    let pages = texts.len();
    // About 36 rows fit a page; the exact number follows from the layout constants.
    assert!((50..=60).contains(&pages), "{pages} pages");
    let mut seen = 0;
    for (i, text) in texts.iter().enumerate() {
        let footer = format!("第 {} 页 共 {} 页", i + 1, pages);
        assert!(text.contains(&footer), "page {}: no {footer:?}", i + 1);
        assert!(
            text.contains("增值税发票确认汇总"),
            "page {} has no title",
            i + 1
        );
        assert!(
            text.contains("纳税人识别号"),
            "page {} has no taxpayer line",
            i + 1
        );
        assert!(
            text.contains("销售方名称"),
            "page {} does not repeat the table header",
            i + 1
        );
        seen += text.matches("011002100111").count();
    }
    assert_eq!(seen, rows, "every row drawn exactly once");
    // Every invoice number appears, in order, once.
    let all = texts.concat();
    let mut at = 0;
    for i in 1..=rows {
        let n = format!("N{i:07}");
        let found = all[at..]
            .find(&n)
            .unwrap_or_else(|| panic!("{n} missing or out of order"));
        at += found + n.len();
    }
    assert!(
        texts.last().unwrap().contains("合计"),
        "the total row closes the table"
    );
}

#[test]
fn page_of_text_embeds_a_small_subset() {
    let para = "根据国家税务总局关于增值税发票综合服务平台等事项的公告，纳税人取得的增值税专用发票，\
                可以通过增值税发票综合服务平台进行用途确认。本期已勾选发票如下所列，请核对无误后提交。"
        .repeat(6);
    let pdf = render(&report(vec![
        Block::Heading("说明".into()),
        Block::Paragraph(para),
        Block::Table(invoice_table(20)),
    ]))
    .unwrap();
    let doc = parse(&pdf);
    assert_eq!(doc.get_pages().len(), 1);
    let font = font_file_len(&doc);
    assert!(font < 200 * 1024, "embedded font {font} bytes");
    assert!(pdf.len() < 300 * 1024, "document {} bytes", pdf.len());
    // The whole 1.8 MB asset is far bigger: this really is a subset.
    assert!(
        font * 10 < super::font::FONT_DATA.len(),
        "embedded font {font} bytes"
    );
}

#[test]
fn characters_missing_from_the_font_become_question_marks() {
    let book = FontBook::new().unwrap();
    for c in ['😀', '𠀀', '\u{E000}'] {
        assert!(!book.has_char(c), "{c} unexpectedly in the font");
    }
    let mut table = invoice_table(1);
    table.rows[0][4] = "😀公司\u{E000}".into();
    let pdf = render(&report(vec![
        Block::Heading("表情😀".into()),
        Block::Paragraph("行一\n行二\t制表\u{7}铃 𠀀 end".into()),
        Block::Fields(vec![("名称😀".into(), "𠀀𠀀".into())]),
        Block::Table(table),
    ]))
    .unwrap();
    let text = page_texts(&parse(&pdf)).concat();
    assert!(text.contains("表情?"), "{text}");
    assert!(text.contains("?公司?"), "{text}");
    assert!(text.contains("??"), "{text}");
    assert!(!text.contains('😀'));
}

#[test]
fn malformed_tables_are_typed_errors() {
    let bad = |t: Table| render(&report(vec![Block::Paragraph("x".into()), Block::Table(t)]));
    assert!(matches!(
        bad(Table::new(vec![])),
        Err(PdfError::NoColumns { block: 1 })
    ));
    for w in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = bad(Table::new(vec![
            Column::left("a", 1.0),
            Column::left("b", w),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                PdfError::ColumnWidth {
                    block: 1,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }
    let err =
        bad(Table::new(vec![Column::left("a", 1.0)]).with_rows(vec![vec![], vec!["x".into()]]))
            .unwrap_err();
    assert!(
        matches!(
            err,
            PdfError::RowLength {
                row: Some(0),
                found: 0,
                expected: 1,
                ..
            }
        ),
        "{err}"
    );
    let err =
        bad(Table::new(vec![Column::left("a", 1.0)]).with_total(vec!["a".into(), "b".into()]))
            .unwrap_err();
    assert!(
        matches!(
            err,
            PdfError::RowLength {
                row: None,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "block 1, total row: 2 cells for 1 columns");
}

#[test]
fn empty_report_and_empty_table_render() {
    let doc = parse(&render(&Report::default()).unwrap());
    assert_eq!(doc.get_pages().len(), 1);
    let t = Table::new(vec![
        Column::left("发票号码", 1.0),
        Column::right("金额", 1.0),
    ]);
    let text = page_texts(&parse(&render(&report(vec![Block::Table(t)])).unwrap())).concat();
    assert!(text.contains("无记录"), "{text}");
}

#[test]
fn output_is_deterministic() {
    let r = report(vec![Block::Table(invoice_table(50))]);
    assert_eq!(render(&r).unwrap(), render(&r).unwrap());
}

#[test]
fn wrap_breaks_cjk_per_character_and_latin_per_word() {
    let mut font = FontBook::new().unwrap();
    // Ideographs are 1 em wide: 10 of them at 10 pt fill 100 pt.
    let lines = wrap(&mut font, "一二三四五六七八九十甲乙丙丁", 10.0, 100.0);
    assert_eq!(lines, vec!["一二三四五六七八九十", "甲乙丙丁"]);
    // Latin words are not split.
    let lines = wrap(&mut font, "invoice selection platform", 10.0, 80.0);
    assert!(
        lines
            .iter()
            .all(|l| !l.starts_with(' ') && !l.ends_with(' ')),
        "{lines:?}"
    );
    assert_eq!(lines.concat().replace(' ', ""), "invoiceselectionplatform");
    for l in &lines {
        assert!(
            [
                "invoice",
                "selection",
                "platform",
                "invoice selection",
                "selection platform"
            ]
            .contains(&l.as_str()),
            "{lines:?}"
        );
    }
    // Closing punctuation hangs rather than starting a line.
    let lines = wrap(&mut font, "一二三四五六七八九十，甲", 10.0, 100.0);
    assert_eq!(lines, vec!["一二三四五六七八九十，", "甲"]);
    // Hard breaks and an over-long word.
    let lines = wrap(&mut font, "甲\n乙", 10.0, 100.0);
    assert_eq!(lines, vec!["甲", "乙"]);
    let long = "x".repeat(100);
    let lines = wrap(&mut font, &long, 10.0, 50.0);
    assert!(lines.len() > 1);
    assert_eq!(lines.concat(), long);
    for l in &lines {
        assert!(font.width(l, 10.0) <= 50.0 + 1e-3, "{l}");
    }
}

#[test]
fn fit_shrinks_then_truncates_with_an_ellipsis() {
    let mut font = FontBook::new().unwrap();
    let (s, size) = fit(&mut font, "短", 9.0, 6.5, 100.0);
    assert_eq!((s.as_str(), size), ("短", 9.0));
    // Slightly too wide: shrunk, not cut.
    let (s, size) = fit(&mut font, "一二三四五六七八九十一", 9.0, 6.5, 90.0);
    assert_eq!(s, "一二三四五六七八九十一");
    assert!(
        (6.5..9.0).contains(&size) && font.width(&s, size) <= 90.0,
        "{size}"
    );
    // Far too wide: cut at the minimum size, ending in an ellipsis, within the width.
    let long = "上海浦东新区某某国际贸易有限责任公司第一分公司";
    let (s, size) = fit(&mut font, long, 9.0, 6.5, 60.0);
    assert_eq!(size, 6.5);
    assert!(
        s.ends_with('…') && s.chars().count() < long.chars().count(),
        "{s}"
    );
    assert!(font.width(&s, size) <= 60.0, "{s}");
    assert!(long.starts_with(s.trim_end_matches('…')));
}

#[test]
fn spaces_beside_ideographs_are_half_an_em() {
    let mut font = FontBook::new().unwrap();
    // 第, 页: 1 em; 1: the font's digit; a space beside an ideograph: ½ em (EN SPACE).
    let digit = font.width("1", 10.0);
    let w = font.width("第 1 页", 10.0);
    assert!((w - (20.0 + digit + 10.0)).abs() < 0.01, "{w}");
    // Between Latin words the font's own (narrower) space.
    let narrow = font.width("a b", 10.0) - font.width("ab", 10.0);
    assert!(narrow > 1.0 && narrow < 3.0, "{narrow}");
    // Both extract as U+0020.
    let doc = parse(&render(&report(vec![Block::Paragraph("共 2 页 and more".into())])).unwrap());
    assert!(page_texts(&doc).concat().contains("共 2 页 and more"));
}

/// A PNG generated here: `w`×`h`, RGBA when `alpha`, else RGB; a gradient.
fn tiny_png(w: u32, h: u32, alpha: bool) -> (Vec<u8>, Vec<u8>) {
    let ch = if alpha { 4 } else { 3 };
    let mut pixels = Vec::new();
    for y in 0..h {
        for x in 0..w {
            pixels.extend_from_slice(&[(x * 40) as u8, (y * 60) as u8, 200]);
            if alpha {
                pixels.push(if x == 0 { 0 } else { 255 });
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(if alpha {
            png::ColorType::Rgba
        } else {
            png::ColorType::Rgb
        });
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&pixels).unwrap();
    }
    assert_eq!(pixels.len(), (w * h) as usize * ch);
    (out, pixels)
}

/// Image XObjects of the document, by their resource name.
fn images(doc: &Document) -> Vec<(Vec<u8>, &lopdf::Stream)> {
    let mut out = Vec::new();
    for page in doc.get_pages().values() {
        let page = doc.get_dictionary(*page).unwrap();
        let res = dict(doc, page.get(b"Resources").unwrap());
        let Ok(xo) = res.get(b"XObject") else {
            continue;
        };
        for (name, obj) in dict(doc, xo).iter() {
            let Object::Reference(id) = obj else {
                panic!("XObject not a reference")
            };
            let stream = doc.get_object(*id).unwrap().as_stream().unwrap();
            out.push((name.clone(), stream));
        }
        break; // every page shares its resources
    }
    out
}

#[test]
fn image_block_embeds_a_png_as_a_flate_xobject_with_its_alpha_as_smask() {
    let (png, pixels) = tiny_png(5, 3, true);
    let bytes = render(&report(vec![
        Block::Heading("截图".into()),
        Block::Image(Image::new(png, "图：示例")),
    ]))
    .unwrap();
    let doc = parse(&bytes);
    let imgs = images(&doc);
    assert_eq!(imgs.len(), 1);
    let (name, img) = &imgs[0];
    assert_eq!(name, b"Im0");
    let d = &img.dict;
    let int = |d: &Dictionary, k: &[u8]| d.get(k).unwrap().as_i64().unwrap();
    let name_of = |d: &Dictionary, k: &[u8]| d.get(k).unwrap().as_name().unwrap().to_vec();
    assert_eq!(name_of(d, b"Subtype"), b"Image");
    assert_eq!((int(d, b"Width"), int(d, b"Height")), (5, 3));
    assert_eq!(int(d, b"BitsPerComponent"), 8);
    assert_eq!(name_of(d, b"ColorSpace"), b"DeviceRGB");
    assert_eq!(name_of(d, b"Filter"), b"FlateDecode");
    let parms = dict(&doc, d.get(b"DecodeParms").unwrap());
    assert_eq!(int(parms, b"Predictor"), 15);
    assert_eq!((int(parms, b"Colors"), int(parms, b"Columns")), (3, 5));
    // The samples come back exactly (lopdf undoes the Flate filter and the predictors).
    let rgb = img.decompressed_content().unwrap();
    let want: Vec<u8> = pixels.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
    assert_eq!(rgb, want);
    // The alpha as a gray soft mask of the same size.
    let smask = dict(&doc, d.get(b"SMask").unwrap());
    assert_eq!(name_of(smask, b"ColorSpace"), b"DeviceGray");
    assert_eq!((int(smask, b"Width"), int(smask, b"Height")), (5, 3));
    assert_eq!(name_of(smask, b"Filter"), b"FlateDecode");
    // The page draws it across the text width (510.28 pt), keeping the aspect ratio.
    let page = *doc.get_pages().values().next().unwrap();
    let content = String::from_utf8(doc.get_page_content(page)).unwrap();
    assert!(content.contains("q 510.28 0 0 306.17 "), "{content}");
    assert!(content.contains("/Im0 Do Q"), "{content}");
    assert!(page_texts(&doc)[0].contains("图：示例"));
}

#[test]
fn opaque_images_have_no_smask_and_wide_ones_are_scaled_down() {
    let (png, _) = tiny_png(40, 10, true); // RGBA, but column 0 transparent
    let (opaque, _) = tiny_png(40, 10, false);
    let bytes = render(&report(vec![
        Block::Image(Image::new(opaque, "").with_max_px(20)),
        Block::Image(Image::new(png, "")),
    ]))
    .unwrap();
    let doc = parse(&bytes);
    let imgs = images(&doc);
    let get = |n: &[u8]| &imgs.iter().find(|(k, _)| k == n).unwrap().1.dict;
    let d0 = get(b"Im0");
    assert!(d0.get(b"SMask").is_err());
    assert_eq!(d0.get(b"Width").unwrap().as_i64().unwrap(), 20);
    assert_eq!(d0.get(b"Height").unwrap().as_i64().unwrap(), 5);
    let d1 = get(b"Im1");
    assert!(d1.get(b"SMask").is_ok());
    assert_eq!(d1.get(b"Width").unwrap().as_i64().unwrap(), 40);
}

#[test]
fn an_image_that_does_not_fit_starts_the_next_page_and_a_tall_one_fits_the_page() {
    // A long paragraph, then a square image (510 pt tall): it goes to page 2.
    let (square, _) = tiny_png(8, 8, false);
    let (tall, _) = tiny_png(2, 20, false);
    let text = "示例文字。".repeat(400);
    let bytes = render(&report(vec![
        Block::Paragraph(text),
        Block::Image(Image::new(square, "方")),
        Block::Image(Image::new(tall, "高")),
    ]))
    .unwrap();
    let doc = parse(&bytes);
    let pages: Vec<_> = doc.get_pages().values().copied().collect();
    let content = |p| String::from_utf8(doc.get_page_content(p)).unwrap();
    let first_with = |name: &str| pages.iter().position(|p| content(*p).contains(name));
    let text_pages = pages
        .iter()
        .filter(|p| !content(**p).contains(" Do Q"))
        .count();
    let square_page = first_with("/Im0 Do").unwrap();
    let tall_page = first_with("/Im1 Do").unwrap();
    assert_eq!(
        square_page + 1,
        tall_page,
        "the tall one needs a page of its own"
    );
    assert!(text_pages >= 1);
    // The tall image is shrunk to the body height, not drawn off the page.
    let c = content(pages[tall_page]);
    let cm = c.lines().find(|l| l.contains("/Im1 Do")).unwrap();
    let nums: Vec<f32> = cm
        .split_whitespace()
        .skip(1)
        .take(6)
        .map(|n| n.parse().unwrap())
        .collect();
    let (w, h, y) = (nums[0], nums[3], nums[5]);
    assert!(h < PAGE_H - 100.0 && y > 30.0, "{cm}");
    assert!((h / w - 10.0).abs() < 0.01, "{cm}");
}

#[test]
fn a_broken_png_is_a_typed_error() {
    let err = render(&report(vec![
        Block::Paragraph("x".into()),
        Block::Image(Image::new(b"not a png".to_vec(), "")),
    ]))
    .unwrap_err();
    assert!(matches!(err, PdfError::Image { block: 1, .. }), "{err}");
}
