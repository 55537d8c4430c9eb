//! PDF reports checked with poppler (Debian `poppler-utils`, installed by `.ci/run`): the font
//! is an embedded subset with a Unicode map, the text extracts as drawn, page 1 rasterises.
//!
//! Set `FAPIAO_PDF_KEEP=/some/dir` to keep the PDF and the PNG of page 1 there.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use fapiao::formats::pdf::{render, Block, Column, Report, Table};

fn report(rows: usize) -> Report {
    let columns = vec![
        Column::center("序号", 0.6),
        Column::left("发票代码", 1.5),
        Column::left("发票号码", 1.2),
        Column::center("开票日期", 1.3),
        Column::left("销售方名称", 3.0),
        Column::right("金额", 1.5),
        Column::right("税额", 1.3),
        Column::center("勾选状态", 1.0),
    ];
    let sellers = [
        "北京京东世纪贸易有限公司",
        "上海浦东新区某某国际贸易有限责任公司第一分公司（长名称应被缩小或截断）",
        "深圳市腾讯计算机系统有限公司",
        "Acme Trading (Shenzhen) Co., Ltd.",
    ];
    let rows: Vec<Vec<String>> = (1..=rows)
        .map(|i| {
            let cents = 123_456 + i as i64 * 1_001;
            vec![
                i.to_string(),
                "011002100111".into(),
                format!("{:08}", 30_000_000 + i),
                "2026-10-15".into(),
                sellers[i % sellers.len()].into(),
                if i == 1 {
                    "1,234.56".into()
                } else {
                    money(cents)
                },
                money(cents * 13 / 100),
                "已勾选".into(),
            ]
        })
        .collect();
    Report {
        title: "增值税发票确认汇总".into(),
        taxpayer_name: "北京示例科技有限公司".into(),
        taxpayer_id: "91110108MA01ABCD2X".into(),
        period: "2026年10月".into(),
        updated_at: "报表更新时间：2026-11-02 08:15:00".into(),
        blocks: vec![
            Block::Heading("一、确认情况".into()),
            Block::Fields(vec![
                ("确认批次".into(), "202610-0001".into()),
                ("发票份数".into(), rows.len().to_string()),
                ("金额合计".into(), "¥1,234,567.89".into()),
                ("税额合计".into(), "¥160,493.83".into()),
            ]),
            Block::Paragraph(
                "说明：本表列示本期已勾选确认用于抵扣的增值税专用发票。Amounts are in CNY；\
                 如对确认结果有疑问，请在申报期内通过征纳互动联系主管税务机关。"
                    .into(),
            ),
            Block::Heading("二、发票明细".into()),
            Block::Table(Table::new(columns).with_rows(rows).with_total(vec![
                "合计".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "¥1,234,567.89".into(),
                "160,493.83".into(),
                String::new(),
            ])),
        ],
    }
}

fn money(cents: i64) -> String {
    let yuan = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in yuan.chars().enumerate() {
        if i > 0 && (yuan.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", cents % 100)
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils) not runnable: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn keep(path: &Path) {
    if let Ok(dir) = std::env::var("FAPIAO_PDF_KEEP") {
        let name = path.file_name().expect("file name");
        std::fs::copy(path, Path::new(&dir).join(name)).expect("copy to FAPIAO_PDF_KEEP");
    }
}

#[test]
fn poppler_sees_an_embedded_subset_unicode_font_and_extracts_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    // 50 rows: the table continues onto page 2.
    std::fs::write(&path, render(&report(50)).unwrap()).unwrap();
    keep(&path);
    let path = path.to_str().unwrap();

    let fonts = run("pdffonts", &[path]);
    // name  type  encoding  emb sub uni  object ID
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "one font:\n{fonts}");
    let row = rows[0];
    assert!(
        row.contains("CID Type 0C") || row.contains("CID TrueType"),
        "type:\n{fonts}"
    );
    assert!(row.contains("Identity-H"), "encoding:\n{fonts}");
    let cols: Vec<&str> = row.split_whitespace().collect();
    let n = cols.len();
    assert_eq!(
        &cols[n - 5..n - 2],
        ["yes", "yes", "yes"],
        "emb sub uni:\n{fonts}"
    );
    assert!(cols[0].contains('+'), "subset tag:\n{fonts}");

    let text = run("pdftotext", &["-layout", path, "-"]);
    for want in [
        "增值税发票确认汇总",
        "北京示例科技有限公司",
        "91110108MA01ABCD2X",
        "2026年10月",
        "报表更新时间：2026-11-02 08:15:00",
        "深圳市腾讯计算机系统有限公司",
        "Acme Trading (Shenzhen) Co., Ltd.",
        "1,234.56",
        "¥1,234,567.89",
        "已勾选",
        "第 1 页 共 2 页",
        "第 2 页 共 2 页",
    ] {
        assert!(text.contains(want), "pdftotext lacks {want:?}:\n{text}");
    }
    let pages = text.matches('\u{c}').count();
    assert_eq!(pages, 2, "two pages:\n{text}");
    // The header row repeats on page 2.
    let page2 = text.split('\u{c}').nth(1).unwrap();
    assert!(
        page2.contains("销售方名称") && page2.contains("纳税人识别号"),
        "{page2}"
    );

    let info = run("pdfinfo", &[path]);
    assert!(
        info.contains("增值税发票确认汇总") && info.contains("fapiao"),
        "{info}"
    );
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
}

#[test]
fn poppler_renders_page_one() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, render(&report(50)).unwrap()).unwrap();
    let prefix = dir.path().join("page");
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils) runnable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Error"), "poppler complained: {stderr}");
    let png = dir.path().join("page.png");
    keep(&png);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // A4 at 80 dpi is 661.4 x 935.4 pixels; poppler rounds up (IHDR width and height).
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (662, 936));
}

#[test]
fn two_thousand_rows_render_quickly() {
    let report = report(2000);
    let start = Instant::now();
    let pdf = render(&report).unwrap();
    let took = start.elapsed();
    eprintln!("2,000 rows: {} bytes in {took:?}", pdf.len());
    // < 1 s in a release build; the test profile is unoptimised, so allow more here.
    assert!(took.as_secs_f64() < 10.0, "{took:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let info = run("pdfinfo", &[path.to_str().unwrap()]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages line")
        .trim()
        .parse()
        .unwrap();
    assert!((50..=60).contains(&pages), "{pages} pages");
    let last = run(
        "pdftotext",
        &[
            "-f",
            &pages.to_string(),
            "-l",
            &pages.to_string(),
            path.to_str().unwrap(),
            "-",
        ],
    );
    assert!(
        last.contains(&format!("第 {pages} 页 共 {pages} 页")),
        "{last}"
    );
    assert!(
        last.contains("30002000"),
        "the last row is on the last page: {last}"
    );
}
