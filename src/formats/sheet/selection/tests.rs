use std::io::{Cursor, Write};

use chrono::NaiveDate;

use super::*;

const LIMITS: Limits = Limits {
    max_bytes: 5 << 20,
    max_rows: 20_000,
};

fn row(i: usize, selected: bool) -> DownloadRow {
    DownloadRow {
        code: "0440012345".into(),
        number: format!("{:08}", i),
        digital: String::new(),
        issued_on: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
        kind: "增值税专用发票".into(),
        seller_id: "91440300MA5DXXXX1K".into(),
        seller_name: "深圳市某某科技有限公司".into(),
        amount: 123_456,
        tax: 16_049,
        status: "正常".into(),
        selected,
        usage: None,
    }
}

fn keys(p: &Parsed) -> Vec<(usize, bool, String)> {
    p.choices
        .iter()
        .map(|c| (c.row, c.tick, c.key.number().to_string()))
        .collect()
}

#[test]
fn the_downloaded_file_reads_back_with_every_row_and_its_choice() {
    let rows: Vec<_> = (1..=5).map(|i| row(i, i % 2 == 0)).collect();
    let bytes = workbook(&rows).unwrap();
    assert_eq!(read::sniff(&bytes), Some(Format::Xlsx));
    let p = parse(&bytes, LIMITS).unwrap();
    assert_eq!(p.format, Format::Xlsx);
    assert_eq!(p.sheet, "发票清单");
    assert_eq!(p.rows, 5);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        keys(&p),
        (1..=5)
            .map(|i| (i + 1, i % 2 == 0, format!("{i:08}")))
            .collect::<Vec<_>>()
    );
    // Codes keep their leading zero: they are text cells.
    assert_eq!(p.choices[0].key.code_or_dash(), "0440012345");
}

/// A sheet written by hand: columns in another order, a title row, codes typed as numbers,
/// full-width and padded 是/否, merged cells, a formula with and without a value, blank
/// rows and a totals line.
#[test]
fn an_edited_sheet_is_read_sensibly() {
    let mut book = umya_spreadsheet::new_file();
    let ws = book.sheet_mut(0).unwrap();
    ws.cell_mut((1u32, 1u32)).set_value_string("我的勾选清单");
    ws.cell_mut((1u32, 2u32))
        .set_value_string(" 是否勾选（是/否） ");
    ws.cell_mut((2u32, 2u32)).set_value_string("发票号码");
    ws.cell_mut((3u32, 2u32)).set_value_string("金额");
    ws.cell_mut((4u32, 2u32)).set_value_string("发票代码");
    let put =
        |ws: &mut umya_spreadsheet::Worksheet, r: u32, choice: &str, number: f64, code: f64| {
            if !choice.is_empty() {
                ws.cell_mut((1u32, r)).set_value_string(choice);
            }
            ws.cell_mut((2u32, r)).set_value_number(number);
            ws.cell_mut((4u32, r)).set_value_number(code);
        };
    put(ws, 3, "是", 1.0, 440012345.0); // leading zeros lost on both
    put(ws, 4, "　是　", 2.0, 440012345.0); // full-width spaces
    put(ws, 5, "否 ", 3.0, 44001900111.0); // 12-digit code without its zero
                                           // Row 6 blank; rows 7–8 share a merged 是否勾选 cell.
    put(ws, 7, "是", 7.0, 440012345.0);
    put(ws, 8, "", 8.0, 440012345.0);
    ws.add_merge_cells("A7:A8");
    // A formula with a cached value, and one never calculated.
    ws.cell_mut((1u32, 9u32))
        .set_formula("IF(1=1,\"是\",\"否\")")
        .set_formula_result_string("是");
    ws.cell_mut((2u32, 9u32))
        .set_value_string("０００００００９"); // full-width digits
    ws.cell_mut((4u32, 9u32)).set_value_string("0440012345");
    ws.cell_mut((1u32, 10u32))
        .set_formula("IF(1=1,\"是\",\"否\")");
    ws.cell_mut((2u32, 10u32)).set_value_string("00000010");
    ws.cell_mut((4u32, 10u32)).set_value_string("0440012345");
    // Bad rows.
    ws.cell_mut((1u32, 11u32)).set_value_string("Y");
    ws.cell_mut((2u32, 11u32)).set_value_string("00000011");
    ws.cell_mut((4u32, 11u32)).set_value_string("0440012345");
    ws.cell_mut((2u32, 12u32)).set_value_string("00000012");
    ws.cell_mut((4u32, 12u32)).set_value_string("0440012345");
    ws.cell_mut((1u32, 13u32)).set_value_string("是");
    ws.cell_mut((2u32, 13u32)).set_value_string("123");
    ws.cell_mut((4u32, 13u32)).set_value_string("ABC");
    ws.cell_mut((1u32, 14u32)).set_value_string("是");
    // Totals line: only an amount.
    ws.cell_mut((3u32, 15u32)).set_value_number(999.5);
    let mut out = Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
    let p = parse(&out.into_inner(), LIMITS).unwrap();

    assert_eq!(
        keys(&p),
        vec![
            (3, true, "00000001".into()),
            (4, true, "00000002".into()),
            (5, false, "00000003".into()),
            (7, true, "00000007".into()),
            (8, true, "00000008".into()),
            (9, true, "00000009".into()),
        ]
    );
    assert_eq!(p.choices[0].key.code_or_dash(), "0440012345");
    assert_eq!(p.choices[2].key.code_or_dash(), "044001900111");
    let problems: Vec<_> = p.problems.iter().map(|x| (x.row, x.reason)).collect();
    assert_eq!(
        problems,
        vec![
            (10, "formula_without_value"),
            (11, "choice_invalid"),
            (12, "choice_missing"),
            (13, "invalid_key"),
            (14, "key_missing"),
        ]
    );
    assert!(p.problems[1].message.contains("“Y”"));
    assert_eq!(p.rows, 11);
}

#[test]
fn a_sheet_without_the_columns_is_refused_naming_them() {
    let sheet = write::Sheet {
        name: "Sheet1".into(),
        caption: vec![],
        columns: vec![
            Column::new(CODE, Kind::Text, 10.0),
            Column::new(NUMBER, Kind::Text, 10.0),
        ],
        rows: vec![vec!["0440012345".into(), "00000001".into()]],
    };
    let bytes = write::xlsx(&[sheet]).unwrap();
    assert_eq!(
        parse(&bytes, LIMITS).unwrap_err(),
        SheetError::MissingColumns(CHOICE.into())
    );
    let other = write::Sheet {
        name: "Sheet1".into(),
        caption: vec![],
        columns: vec![Column::new("名称", Kind::Text, 10.0)],
        rows: vec![vec!["x".into()]],
    };
    let bytes = write::xlsx(&[other]).unwrap();
    assert!(matches!(
        parse(&bytes, LIMITS).unwrap_err(),
        SheetError::MissingColumns(s) if s.contains(CODE) && s.contains(CHOICE)
    ));
}

#[test]
fn the_header_is_found_on_a_later_sheet() {
    let notes = write::Sheet {
        name: "说明".into(),
        caption: vec!["请在第二个工作表中填写".into()],
        columns: vec![],
        rows: vec![],
    };
    let list = write::Sheet {
        name: "清单".into(),
        caption: vec![],
        columns: COLUMNS.to_vec(),
        rows: vec![],
    };
    let bytes = write::xlsx(&[notes, list]).unwrap();
    let p = parse(&bytes, LIMITS).unwrap();
    assert_eq!(p.sheet, "清单");
    assert_eq!(p.rows, 0);
}

#[test]
fn wrong_types_and_broken_files_are_refused() {
    assert_eq!(parse(b"", LIMITS).unwrap_err(), SheetError::Empty);
    for bytes in [
        &b"%PDF-1.7\n..."[..],
        b"\xEF\xBB\xBF\xE5\x8F\x91\xE7\xA5\xA8\xE4\xBB\xA3\xE7\xA0\x81,x\n",
        b"<html></html>",
        &[0u8; 100][..],
    ] {
        assert_eq!(
            parse(bytes, LIMITS).unwrap_err(),
            SheetError::UnsupportedType
        );
    }
    let good = workbook(&[row(1, true)]).unwrap();
    // Truncated at several points.
    for cut in [10, good.len() / 3, good.len() / 2, good.len() - 10] {
        let e = parse(&good[..cut], LIMITS).unwrap_err();
        assert!(matches!(e, SheetError::Corrupt(_)), "cut {cut}: {e:?}");
    }
    // Corrupted in the middle.
    let mut bad = good.clone();
    for b in bad.iter_mut().skip(good.len() / 2).take(200) {
        *b ^= 0x5A;
    }
    assert!(parse(&bad, LIMITS).is_err());
    // A zip that is not a workbook.
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    z.start_file("readme.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"hello").unwrap();
    let plain = z.finish().unwrap().into_inner();
    assert!(matches!(
        parse(&plain, LIMITS).unwrap_err(),
        SheetError::Corrupt(_)
    ));
    // An OLE file that is not a workbook (no Workbook stream).
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    cf.create_stream("/WordDocument")
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let doc = cf.into_inner().into_inner();
    assert_eq!(
        parse(&doc, LIMITS).unwrap_err(),
        SheetError::UnsupportedType
    );
}

#[test]
fn size_and_row_limits() {
    let rows: Vec<_> = (1..=30).map(|i| row(i, true)).collect();
    let bytes = workbook(&rows).unwrap();
    let small = Limits {
        max_bytes: bytes.len() - 1,
        max_rows: 100,
    };
    assert_eq!(parse(&bytes, small).unwrap_err(), SheetError::TooLarge);
    let few = Limits {
        max_bytes: 5 << 20,
        max_rows: 29,
    };
    assert_eq!(parse(&bytes, few).unwrap_err(), SheetError::TooManyRows);
    let exact = Limits {
        max_bytes: 5 << 20,
        max_rows: 30,
    };
    assert_eq!(parse(&bytes, exact).unwrap().choices.len(), 30);
}

/// A package member that expands far beyond its compressed size is refused before any
/// parser reads it.
#[test]
fn a_zip_bomb_is_refused() {
    let good = workbook(&[row(1, true)]).unwrap();
    let mut src = zip::ZipArchive::new(Cursor::new(good)).unwrap();
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    for i in 0..src.len() {
        let f = src.by_index(i).unwrap();
        z.raw_copy_file(f).unwrap();
    }
    z.start_file("xl/media/padding.bin", opts).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..70 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap().into_inner();
    assert!(bomb.len() < 5 << 20, "compressed to {}", bomb.len());
    assert_eq!(parse(&bomb, LIMITS).unwrap_err(), SheetError::TooLarge);
}

/// calamine reserves the announced number of shared strings: an absurd count is refused.
#[test]
fn an_absurd_shared_string_count_is_refused() {
    let good = workbook(&[row(1, true)]).unwrap();
    let mut src = zip::ZipArchive::new(Cursor::new(good)).unwrap();
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut replaced = false;
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if name == "xl/sharedStrings.xml" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).unwrap();
            let s = s.replacen("uniqueCount=\"", "uniqueCount=\"99999999999", 1);
            z.start_file(name, opts).unwrap();
            z.write_all(s.as_bytes()).unwrap();
            replaced = true;
        } else {
            z.raw_copy_file(f).unwrap();
        }
    }
    assert!(replaced, "the writer produced no shared strings");
    let bad = z.finish().unwrap().into_inner();
    assert!(matches!(
        parse(&bad, LIMITS).unwrap_err(),
        SheetError::Corrupt(_)
    ));
}

#[test]
fn normalize_handles_full_width_and_invisible_characters() {
    assert_eq!(normalize("　是　"), "是");
    assert_eq!(normalize("\u{FEFF}０４４０ "), "0440");
    assert_eq!(normalize("\u{00A0}否\t"), "否");
    assert_eq!(key_text("440012345", &[10, 12], 1), "0440012345");
    assert_eq!(key_text("44001900111", &[10, 12], 1), "044001900111");
    assert_eq!(key_text("'0440012345", &[10, 12], 1), "0440012345");
    assert_eq!(key_text("0440 0123 45", &[10, 12], 1), "0440012345");
    assert_eq!(key_text("1234567890123", &[10, 12], 1), "1234567890123");
    // A code that lost more than one digit is not guessed at.
    assert_eq!(key_text("12", &[10, 12], 1), "12");
    assert_eq!(key_text("12", &[8], 7), "00000012");
    assert_eq!(header_name(" 是否勾选（是/否）"), CHOICE);
    assert_eq!(header_name("发票 代码"), CODE);
}

#[test]
fn money_is_written_in_yuan_with_two_decimals_and_codes_as_text() {
    let bytes = workbook(&[row(1, false)]).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    // Built-in formats: 4 is `#,##0.00`, 49 is `@` (text).
    assert!(styles.contains(r#"numFmtId="4""#), "{styles}");
    assert!(styles.contains(r#"numFmtId="49""#), "{styles}");
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    // 1,234.56 yuan as a number; the code is a string (t="s"), not a number.
    assert!(sheet.contains("<v>1234.56</v>"), "{sheet}");
    assert!(sheet.contains(r#"<c r="A2" t="s""#), "{sheet}");
}

/// Found by the fuzzer: an .xls whose BIFF5-style DIMENSIONS record (four u16) claims about
/// 2^32 cells made calamine reserve them all and abort the process.
#[test]
fn an_xls_claiming_a_huge_used_range_is_refused() {
    let bytes = include_bytes!("../../../../fuzz/regressions/xls-dimensions-biff5.xls");
    assert!(parse(bytes, LIMITS).is_err());
}

/// Found by the fuzzer next: a DIMENSIONS record whose first row is after its last; calamine
/// computes the row count in wrapping u32 arithmetic and reserved ~6·10^9 cells.
#[test]
fn an_xls_whose_used_range_wraps_around_is_refused() {
    let bytes = include_bytes!("../../../../fuzz/regressions/xls-dimensions-first-after-last.xls");
    assert!(parse(bytes, LIMITS).is_err());
}

/// Found by the bulk benchmark: thousands of cells repeating a few strings give a shared
/// string `count` far above the member's size; only `uniqueCount` is reserved, and a real
/// file must pass.
#[test]
fn many_cells_repeating_few_strings_are_read() {
    let rows: Vec<_> = (1..=3_000).map(|i| row(i, i % 3 == 0)).collect();
    let bytes = workbook(&rows).unwrap();
    let p = parse(&bytes, LIMITS).unwrap();
    assert_eq!(p.choices.len(), 3_000);
    assert!(p.problems.is_empty());
}

/// Found by the fuzzer: a date cell whose serial is out of chrono's range made calamine's
/// date conversion panic; dates are converted with checked arithmetic instead.
#[test]
fn a_date_out_of_range_does_not_panic() {
    let bytes = include_bytes!("../../../../fuzz/regressions/xls-date-out-of-range.xls");
    // A panic inside the reader is caught and reported as this; it must not happen.
    let r = parse(bytes, LIMITS);
    assert!(
        !matches!(&r, Err(SheetError::Corrupt(m)) if m == "文件内容无法解析"),
        "{r:?}"
    );
    assert_eq!(super::read::excel_date_for_tests(45_000.0), "2023-03-15");
    assert_eq!(super::read::excel_date_for_tests(1e300), "1e300");
}

/// Found by the fuzzer: a MERGECELLS record shorter than its count made calamine index out
/// of bounds (a panic, caught but not to be relied on); it is refused before calamine.
#[test]
fn an_xls_with_a_short_merge_record_is_refused_without_a_panic() {
    let bytes = include_bytes!("../../../../fuzz/regressions/xls-short-mergecells.xls");
    let r = parse(bytes, LIMITS);
    assert!(
        matches!(&r, Err(SheetError::Corrupt(m)) if m != "文件内容无法解析"),
        "{r:?}"
    );
}

#[test]
fn documents_without_a_code_round_trip_with_the_digital_number_column() {
    let mut rows = vec![row(1, false)];
    rows.push(DownloadRow {
        code: String::new(),
        number: String::new(),
        digital: "26330000000000000101".into(),
        kind: "电子发票（增值税专用发票）".into(),
        ..row(2, true)
    });
    rows.push(DownloadRow {
        code: String::new(),
        number: "290120261000000001-L01".into(),
        digital: String::new(),
        kind: "海关进口增值税专用缴款书".into(),
        ..row(3, true)
    });
    let p = parse(&workbook(&rows).unwrap(), LIMITS).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let shapes: Vec<_> = p.choices.iter().map(|c| (c.key.shape(), c.tick)).collect();
    assert_eq!(
        shapes,
        [
            (crate::domain::KeyShape::Coded, false),
            (crate::domain::KeyShape::Digital, true),
            (crate::domain::KeyShape::Customs, true)
        ]
    );
    assert_eq!(p.choices[1].key.number(), "26330000000000000101");
    // A 数电票 row that also has a code is refused with its reason; a number of eight digits
    // or fewer without a code is a missing code, as before.
    let bad = vec![
        DownloadRow {
            digital: "26330000000000000101".into(),
            ..row(4, true)
        },
        DownloadRow {
            code: String::new(),
            ..row(5, true)
        },
    ];
    let p = parse(&workbook(&bad).unwrap(), LIMITS).unwrap();
    let reasons: Vec<_> = p.problems.iter().map(|x| (x.row, x.reason)).collect();
    assert_eq!(reasons, [(2, "invalid_key"), (3, "key_missing")]);
    assert!(p.problems[0]
        .message
        .starts_with("数电票没有发票代码和发票号码"));
}

/// The header row of the first sheet of a workbook.
fn header_of(bytes: &[u8]) -> Vec<String> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

const OLD_COLUMNS: [&str; 10] = [
    "发票代码",
    "发票号码",
    "开票日期",
    "发票类型",
    "销方税号",
    "销方名称",
    "金额",
    "税额",
    "发票状态",
    "是否勾选",
];

#[test]
fn a_download_without_uses_keeps_the_old_columns_and_one_with_uses_appends_them() {
    // Plain 抵扣 selections only: exactly the ten columns of before.
    let plain = vec![
        row(1, false),
        DownloadRow {
            usage: Some(RowUsage {
                use_label: "抵扣".into(),
                plain: true,
                effective_tax: 16_049,
                reason: String::new(),
                reason_text: String::new(),
            }),
            ..row(2, true)
        },
    ];
    assert_eq!(header_of(&workbook(&plain).unwrap()), OLD_COLUMNS);
    // A 不抵扣 selection: the four 用途 columns follow, filled for the selected row.
    let mut used = plain.clone();
    used.push(DownloadRow {
        usage: Some(RowUsage {
            use_label: "不抵扣".into(),
            plain: false,
            effective_tax: 16_049,
            reason: "其他".into(),
            reason_text: "样品".into(),
        }),
        ..row(3, true)
    });
    let bytes = workbook(&used).unwrap();
    let mut want: Vec<&str> = OLD_COLUMNS.to_vec();
    want.extend(["用途", "有效税额", "不抵扣原因", "原因说明"]);
    assert_eq!(header_of(&bytes), want);
    // Asked for (a taxpayer registered for 退税): the columns even without used rows.
    assert_eq!(header_of(&workbook_with(&plain, true).unwrap()).len(), 14);
    // The file reads back with each row's use.
    let p = parse(&bytes, LIMITS).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        p.choices[1].request.use_,
        Some(crate::domain::InvoiceUse::Deduct)
    );
    assert_eq!(p.choices[1].request.effective_tax, Some(Fen::new(16_049)));
    let r = &p.choices[2].request;
    assert_eq!(r.use_, Some(crate::domain::InvoiceUse::NoDeduct));
    assert_eq!(r.reason, Some(NoDeductReason::Other));
    assert_eq!(r.reason_text.as_deref(), Some("样品"));
}

/// A sheet written by hand with the 用途 columns in another order: names, labels and codes
/// are read; a bad value refuses its row with the reason; a row marked 否 ignores them.
#[test]
fn the_use_columns_are_read_and_bad_values_refuse_their_row() {
    let mut book = umya_spreadsheet::new_file();
    let ws = book.sheet_mut(0).unwrap();
    for (i, h) in [
        "发票代码",
        "发票号码",
        "有效税额（元）",
        "是否勾选",
        "用途",
        "不抵扣原因",
        "原因说明",
    ]
    .iter()
    .enumerate()
    {
        ws.cell_mut((i as u32 + 1, 1u32)).set_value_string(*h);
    }
    let put = |ws: &mut umya_spreadsheet::Worksheet,
               r: u32,
               tax: &str,
               choice: &str,
               use_: &str,
               reason: &str,
               text: &str| {
        ws.cell_mut((1u32, r)).set_value_string("0440012345");
        ws.cell_mut((2u32, r)).set_value_string(format!("{r:08}"));
        if let Ok(v) = tax.parse::<f64>() {
            ws.cell_mut((3u32, r)).set_value_number(v);
        } else if !tax.is_empty() {
            ws.cell_mut((3u32, r)).set_value_string(tax);
        }
        ws.cell_mut((4u32, r)).set_value_string(choice);
        ws.cell_mut((5u32, r)).set_value_string(use_);
        ws.cell_mut((6u32, r)).set_value_string(reason);
        ws.cell_mut((7u32, r)).set_value_string(text);
    };
    put(ws, 2, "", "是", "", "", ""); // plain 抵扣
    put(ws, 3, "100.5", "是", "抵扣", "", ""); // a lowered 有效税额, typed as a number
    put(ws, 4, "", "是", "6", "3", ""); // 不抵扣 by code, reason by code
    put(ws, 5, "", "是", "退税", "", "");
    put(ws, 6, "", "是", "代办退税", "", "");
    put(ws, 7, "", "是", "不抵扣", "其他", "职工食堂");
    put(ws, 8, "", "是", "出口", "", ""); // bad use
    put(ws, 9, "十元", "是", "抵扣", "", ""); // bad amount
    put(ws, 10, "", "是", "不抵扣", "丢了", ""); // bad reason
    put(ws, 11, "十元", "否", "出口", "丢了", ""); // 否: the columns do not matter
    let mut out = Cursor::new(Vec::new());
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).unwrap();
    let p = parse(&out.into_inner(), LIMITS).unwrap();
    use crate::domain::InvoiceUse::*;
    let got: Vec<_> = p
        .choices
        .iter()
        .map(|c| (c.row, c.tick, c.request.use_, c.request.effective_tax))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, true, None, None),
            (3, true, Some(Deduct), Some(Fen::new(10_050))),
            (4, true, Some(NoDeduct), None),
            (5, true, Some(Refund), None),
            (6, true, Some(AgentRefund), None),
            (7, true, Some(NoDeduct), None),
            (11, false, None, None),
        ]
    );
    assert_eq!(p.choices[2].request.reason, Some(NoDeductReason::Welfare));
    assert_eq!(p.choices[5].request.reason, Some(NoDeductReason::Other));
    assert_eq!(
        p.choices[5].request.reason_text.as_deref(),
        Some("职工食堂")
    );
    let problems: Vec<_> = p.problems.iter().map(|x| (x.row, x.reason)).collect();
    assert_eq!(
        problems,
        vec![
            (8, "invalid_use"),
            (9, "invalid_effective_tax"),
            (10, "invalid_reason"),
        ]
    );
    assert!(
        p.problems[0].message.contains("“出口”"),
        "{}",
        p.problems[0].message
    );
    assert!(p.problems[1].message.contains("“十元”"));
    assert!(p.problems[2].message.contains("不抵扣原因"));
}

#[test]
fn yuan_cells_take_typed_and_floating_values() {
    assert_eq!(yuan("130.5"), Some(Fen::new(13_050)));
    assert_eq!(yuan("1,300.00"), Some(Fen::new(130_000)));
    assert_eq!(yuan("130.50000000000003"), Some(Fen::new(13_050)));
    assert_eq!(yuan("130.505"), None);
    assert_eq!(yuan("abc"), None);
    assert_eq!(yuan("inf"), None);
}
