//! 操作手册: every module of the portal with its steps, in the manual's words, written once —
//! the help page renders it as HTML (with the screenshots the browser tests take) and
//! [`pdf`] prints it with the project's own PDF engine, each module's screenshots after its
//! steps as on the page.

use crate::error::{AppError, AppResult};
use crate::formats::pdf::{self, Block, Image};
use crate::service::File;

/// One module of the manual.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// The module's title (a menu entry or a function of the login page).
    pub title: &'static str,
    /// What the module is for.
    pub summary: &'static str,
    /// The steps, in order.
    pub steps: &'static [&'static str],
    /// Screenshots (names under `docs/screenshots/`, without `.png`) with their captions.
    pub shots: &'static [(&'static str, &'static str)],
}

/// The manual, module by module, in the order of the menu.
pub const SECTIONS: &[Section] = &[
    Section {
        title: "登录",
        summary: "使用税务数字证书（金税盘或税控盘）登录平台；设置了平台密码的，还需输入平台密码。",
        steps: &[
            "在电脑上连接好金税盘或税控盘（每次只插入一个，且不要同时插入银行U盾等其他数字证书），用浏览器打开本平台网址，浏览器提示时选择证书。",
            "登录页面显示“升级内容说明”：点击“关闭”只关闭本次；勾选“下次不再提醒我”并点击“确认”，以后不再显示。",
            "可点击登录页面右上角的“检测环境”检查本机的浏览器、连接和证书；“流程指引”“常见问题”也在右上角。",
            "点击“收藏本站”查看将平台地址加入收藏夹的快捷键（Ctrl+D，Mac 为 Command+D）。平台升级后建议重新收藏。",
            "已检测到证书时输入平台密码（未设置可不填），点击“登录”。平台密码错误超过十次将被锁定，请联系主管税务机关或明天再试。",
            "忘记平台密码时点击“忘记平台密码？”，回答密码找回问题后取消平台密码，再重新登录设置。培训模式下可在列表中选择培训纳税人直接登录，找回平台密码时选择纳税人即可。",
        ],
        shots: &[("login", "登录页面")],
    },
    Section {
        title: "档案信息维护",
        summary: "维护企业基本信息、办税人员信息和平台密码；首次登录必须先在此确认档案信息。",
        steps: &[
            "首次登录后平台自动进入“档案信息维护”：确认或补充企业基本信息和办税人员信息，点击“保存”。保存前平台的其他功能不可使用。",
            "点击右上角的企业名称也可进入本页面。",
            "“平台密码维护”中“是否启用”默认为“否”；选择“是”后输入平台密码、确认密码、密码找回问题及答案，点击“保存”，保存成功后自动跳转至首页。",
            "设置平台密码后，再次登录时需同时使用证书和平台密码；选择“否”并保存即取消平台密码。",
        ],
        shots: &[("profile", "档案信息维护（首次登录）")],
    },
    Section {
        title: "首页",
        summary: "显示当前税款所属期及可勾选、确认的截止日期，以及各月进项发票认证情况的工作台。",
        steps: &[
            "上方为功能菜单：发票勾选、批量勾选、确认勾选、发票查询、抵扣统计、档案信息维护。",
            "工作台的月份卡片：橙色为已过期（只可查询），绿色为当前税款所属期（可勾选和确认），灰色为未到期；卡片上显示当月已认证发票的份数和税额（含勾选认证和扫描认证）。",
            "点击年份可查看之前年度的认证情况。",
            "右上角为企业名称（档案信息维护）和“退出”。",
        ],
        shots: &[("home", "首页")],
    },
    Section {
        title: "发票勾选",
        summary: "按税款所属期查询并逐票勾选用于申报抵扣（或退税）的发票。",
        steps: &[
            "点击“发票勾选”，输入或选择查询条件：开票日期为必录条件；发票代码、发票号码、销方税号须输入完整。",
            "认证状态默认为“未认证”，此时可按“勾选状态”筛选；选择“已认证”时条件变为“认证方式”和“确认/扫描日期”。",
            "点击“查询”，在结果中勾选或取消勾选发票；表头的全选框可一次勾选本页发票（最多100份）。",
            "每页操作后点击“保存”，再进行其他页的操作；未保存就离开本页时平台会提示。",
            "用分页栏的“首页”“上一页”“下一页”“尾页”翻页，或输入页码并选择每页显示的条数后点击“跳转”。",
            "点击右上角的“帮助”查看本模块的关注要点。",
        ],
        shots: &[("select", "发票勾选"), ("select-pager", "分页栏与每页显示条数")],
    },
    Section {
        title: "批量勾选",
        summary: "发票较多时，下载发票文件、修改“是否勾选”后上传，批量完成勾选和撤销勾选。",
        steps: &[
            "按开票日期、销方税号、勾选标志筛选后点击“下载发票文件”，得到“纳税人识别号_随机数.zip”，解压后为Excel文件。",
            "将需要勾选的发票“是否勾选”改为“是”，需要撤销勾选的已勾选发票改为“否”，保存文件。",
            "点击“浏览”选择文件，再点击“上传”；平台汇总显示勾选和撤销勾选的情况，并以红色字体标识最近一次的日志记录。",
            "文件类型不正确或不符合勾选条件的行会给出提示和原因。",
        ],
        shots: &[("bulk", "批量勾选")],
    },
    Section {
        title: "确认勾选",
        summary: "对当期已勾选的发票进行确认，可在窗口期内多次确认；已确认的数据不可修改。",
        steps: &[
            "选择确认标志为“已勾选未确认”并点击“查询”，核对当期已勾选未确认的发票明细及合计。",
            "确认以上发票均需申报抵扣（或退税）时，点击列表上方或下方的“确定”；平台显示这是本期第几次确认、当期累计确认次数和当次的份数、金额、税额，状态为“待提交”。",
            "核对无误后点击“提交”。在征期内提交时，请按实际申报情况选择“未完成申报”“已完成申报”或“不确定”。",
            "平台再次提示当次确认的发票份数和税额，确认无误后点击“提交”；页面显示当前状态为“已提交”即确认成功。",
            "选择确认标志为“已确认”并点击“查询”可查看已提交的确认结果；在“确认历史明细”中选择税款所属期和确认次数，可“打印本页”或“导出明细”。",
        ],
        shots: &[("confirm", "确认勾选"), ("confirm-step", "提交前再次提示份数和税额")],
    },
    Section {
        title: "回退税款所属期",
        summary: "在征期内确认时误选“已完成申报”导致税款所属期跳转的，符合条件时可回退至原税款所属期。",
        steps: &[
            "回退条件：跳转到下期后未进行过确认；系统获取到的当期申报结果为“未申报”；确认时手工误选了“已完成申报”；在征期内。",
            "符合全部条件时，首页出现“回退税款所属期”按钮，点击后检查“当前税款所属期”和“回退后税款所属期”。",
            "点击“提交申请”，回退成功后点击“确定”，平台自动退出，重新登录后税款所属期已回退。",
        ],
        shots: &[],
    },
    Section {
        title: "抵扣统计",
        summary: "查询指定税款所属期可用于申报抵扣的发票汇总，包括勾选认证和扫描认证的发票。",
        steps: &[
            "选择税款所属期后点击“统计查询”，查看按发票类型和认证方式统计的份数、金额、税额。",
            "关注统计表上方的“报表更新时间”：当天勾选认证的数据准实时更新，扫描认证的数据次日更新。",
            "异常发票清单中的发票（作废、失控、红冲、异常）不能作为当期抵扣的有效依据。",
            "点击“查看明细”查看发票明细（可调整每页显示的条数），点击“打印”或“抵扣明细文件下载”打印或下载。",
        ],
        shots: &[("statistics", "抵扣统计")],
    },
    Section {
        title: "发票查询",
        summary: "单票查询和未到期发票查询。",
        steps: &[
            "单票查询：输入发票代码及发票号码（必须条件），点击“查询”，查看发票的详细信息和状态变更记录。",
            "未到期发票查询：按发票代码、发票号码、开票日期查询还未到抵扣期限的发票。",
        ],
        shots: &[("query", "发票查询")],
    },
    Section {
        title: "征纳互动",
        summary: "在线咨询：智能服务自动答复，需要时转人工坐席。",
        steps: &[
            "点击页面右侧的“征纳互动”按钮打开会话窗口，输入要咨询的内容后发送。",
            "所在地区开启了智能服务的，平台先自动答复；需要人工服务时转接所在地区的坐席。",
        ],
        shots: &[("interaction-taxpayer", "征纳互动")],
    },
    Section {
        title: "退出",
        summary: "安全退出平台。",
        steps: &[
            "点击页面右上角的“退出”，在提示中点击“确定”即退出平台；点击“取消”返回。",
            "在公用电脑上使用后请务必退出。",
        ],
        shots: &[],
    },
];

macro_rules! shot {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../docs/screenshots/", $name, ".png")),
        )
    };
}

/// The screenshots of the manual (the ones the browser tests take, `docs/screenshots/`),
/// embedded: every name a [`Section::shots`] uses.
pub const SHOTS: &[(&str, &[u8])] = &[
    shot!("login"),
    shot!("profile"),
    shot!("home"),
    shot!("select"),
    shot!("select-pager"),
    shot!("bulk"),
    shot!("confirm"),
    shot!("confirm-step"),
    shot!("statistics"),
    shot!("query"),
    shot!("interaction-taxpayer"),
];

/// The PNG of a screenshot by its name (without `.png`).
pub fn shot(name: &str) -> Option<&'static [u8]> {
    SHOTS.iter().find(|(n, _)| *n == name).map(|(_, png)| *png)
}

/// The manual as a PDF (A4, the project's own engine), the screenshots scaled down to at most
/// [`Image::DEFAULT_MAX_PX`] pixels wide.
///
/// Decoding, scaling and compressing the screenshots takes a moment, so the file is made once
/// per process (per version) and then handed out again.
pub fn pdf(version: &str) -> AppResult<File> {
    static MADE: std::sync::Mutex<Option<(String, Vec<u8>)>> = std::sync::Mutex::new(None);
    let mut made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = match &*made {
        Some((v, bytes)) if v == version => bytes.clone(),
        _ => {
            let bytes = render(version)?;
            *made = Some((version.to_owned(), bytes.clone()));
            bytes
        }
    };
    Ok(File {
        name: "fapiao-manual.pdf".into(),
        bytes,
    })
}

fn render(version: &str) -> AppResult<Vec<u8>> {
    let mut blocks = Vec::new();
    for (n, s) in SECTIONS.iter().enumerate() {
        blocks.push(Block::Heading(format!("{}、{}", n + 1, s.title)));
        blocks.push(Block::Paragraph(s.summary.to_string()));
        let steps: Vec<String> = s
            .steps
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}. {t}", i + 1))
            .collect();
        blocks.push(Block::Paragraph(steps.join("\n")));
        for (name, caption) in s.shots {
            if let Some(png) = shot(name) {
                blocks.push(Block::Image(Image::new(png, format!("图：{caption}"))));
            }
        }
    }
    let report = pdf::Report {
        title: "增值税发票选择确认平台 操作手册".into(),
        taxpayer_name: String::new(),
        taxpayer_id: String::new(),
        period: String::new(),
        updated_at: format!("版本：V{version}"),
        blocks,
    };
    pdf::render(&report).map_err(|e| AppError::internal(format!("pdf: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_of_the_menu_has_a_section_with_steps() {
        for m in [
            "登录",
            "档案信息维护",
            "首页",
            "发票勾选",
            "批量勾选",
            "确认勾选",
            "回退税款所属期",
            "抵扣统计",
            "发票查询",
            "征纳互动",
            "退出",
        ] {
            let s = SECTIONS.iter().find(|s| s.title == m).expect(m);
            assert!(s.steps.len() >= 2, "{m}");
        }
        let f = pdf("1.0.0").unwrap();
        assert!(f.bytes.starts_with(b"%PDF"));
    }

    /// Every screenshot a section names is embedded (a missing one would silently drop out of
    /// the page and the PDF).
    #[test]
    fn every_screenshot_named_is_embedded() {
        for s in SECTIONS {
            for (name, _) in s.shots {
                let png = shot(name).unwrap_or_else(|| panic!("{name} not in SHOTS"));
                assert!(png.starts_with(b"\x89PNG"), "{name}");
            }
        }
    }

    /// The PDF holds each module's screenshots, in order, at the embedded size (poppler's
    /// `pdfimages -list`): RGB, Flate-encoded, at most 1000 px wide in proportion.
    #[test]
    fn the_pdf_embeds_every_screenshot_scaled_down() {
        let f = pdf("1.0.0").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manual.pdf");
        std::fs::write(&path, &f.bytes).unwrap();
        let out = std::process::Command::new("pdfimages")
            .arg("-list")
            .arg(&path)
            .output()
            .expect("pdfimages (poppler-utils) is needed");
        assert!(out.status.success());
        let list = String::from_utf8(out.stdout).unwrap();
        // page num type width height color comp bpc enc …
        let images: Vec<Vec<&str>> = list
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect())
            .collect();
        let expected: Vec<(u32, u32)> = SECTIONS
            .iter()
            .flat_map(|s| s.shots)
            .map(|(name, _)| {
                let png = shot(name).unwrap();
                let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
                let (w, h) = (be(16), be(20));
                if w > Image::DEFAULT_MAX_PX {
                    let h =
                        (f64::from(h) * f64::from(Image::DEFAULT_MAX_PX) / f64::from(w)).round();
                    (Image::DEFAULT_MAX_PX, h as u32)
                } else {
                    (w, h)
                }
            })
            .collect();
        assert_eq!(images.len(), expected.len(), "{list}");
        let mut last_page = 0;
        for (row, (w, h)) in images.iter().zip(&expected) {
            assert_eq!(row[2], "image", "{list}");
            assert_eq!(
                (row[3], row[4]),
                (&*w.to_string(), &*h.to_string()),
                "{list}"
            );
            assert_eq!((row[5], row[6], row[7]), ("rgb", "3", "8"), "{list}");
            let page: u32 = row[0].parse().unwrap();
            assert!(page >= last_page, "{list}");
            last_page = page;
        }
        // Small enough to download: the screenshots are ~1.3 MB as PNG files.
        assert!(f.bytes.len() < 3 << 20, "{} bytes", f.bytes.len());
    }
}
