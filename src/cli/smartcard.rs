//! PC/SC smart-card readers and PIV cards (feature `smartcard`): `fapiao readers` lists the
//! readers; `fapiao card` lists readers and cards, enrols a taxpayer onto a PIV card (a P-256
//! key generated on the card, its CSR signed by the card, the certificate issued by the office
//! and written back with a CHUID so standard middleware such as OpenSC finds it), shows what a
//! card holds, changes its PIN, and plays a virtual card for development (`emulate`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::Settings;
use crate::domain::TaxpayerId;
use crate::service::{App, StartError};
use crate::smartcard::emulator::{self, Emulator, Kind};
use crate::smartcard::mgmt::{self, Algorithm};
use crate::smartcard::pcsc_card::{self, PcscCard};
use crate::smartcard::piv::{self, PinState, Piv};
use crate::smartcard::{csr, CardError};

fn fail(msg: impl Into<String>) -> StartError {
    StartError::Other(msg.into())
}

fn card_err(e: CardError) -> StartError {
    StartError::Other(e.to_string())
}

/// Lists the PC/SC readers and whether a card is present in each.
pub fn list_readers() -> Result<Vec<(String, bool)>, StartError> {
    Ok(pcsc_card::readers()
        .map_err(card_err)?
        .into_iter()
        .map(|r| (r.name, r.card_present))
        .collect())
}

/// `fapiao card …`.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// List the readers, whether a card is in each and whether it is a PIV card.
    List,
    /// Enrol a taxpayer onto a PIV card: a P-256 key is generated on the card (slot 9A), the
    /// card signs the certificate request, the office issues the certificate (from a stopped
    /// data directory with `--data`, or a running server with `--url` and a staff `--token`)
    /// and it is written onto the card with a CHUID.
    Enrol(EnrolArgs),
    /// Show what a PIV card holds: its CHUID, the certificate in slot 9A, the PIN's tries left.
    Show {
        /// The reader (default: the only reader with a card).
        #[arg(long)]
        reader: Option<String>,
    },
    /// Change the card's PIN (6–8 characters).
    Pin {
        #[arg(long)]
        reader: Option<String>,
        /// The current PIN.
        #[arg(long, env = "FAPIAO_CARD_PIN", hide_env_values = true, default_value = piv::DEFAULT_PIN)]
        pin: String,
        /// The new PIN.
        #[arg(long, env = "FAPIAO_CARD_NEW_PIN", hide_env_values = true)]
        new_pin: String,
    },
    /// Play a virtual PIV card (keys in memory) in vsmartcard's vpcd reader, for development
    /// and tests; runs until vpcd closes the connection.
    Emulate {
        /// vpcd's address.
        #[arg(long, default_value = "127.0.0.1:35963")]
        vpcd: String,
        /// Play a card without the PIV application.
        #[arg(long)]
        not_piv: bool,
    },
}

#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The taxpayer's ID (纳税人识别号).
    #[arg(long)]
    pub taxpayer: String,
    /// The reader (default: the only reader with a card).
    #[arg(long)]
    pub reader: Option<String>,
    /// The card's PIN.
    #[arg(long, env = "FAPIAO_CARD_PIN", hide_env_values = true, default_value = piv::DEFAULT_PIN)]
    pub pin: String,
    /// The card's management key, hex (default: the factory key 010203…08 three times, tried
    /// as 3DES and as AES-192).
    #[arg(long, env = "FAPIAO_CARD_MANAGEMENT_KEY", hide_env_values = true)]
    pub management_key: Option<String>,
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Data directory of a stopped server (overrides the configuration).
    #[arg(long, conflicts_with = "url")]
    pub data: Option<PathBuf>,
    /// A running server, e.g. `https://127.0.0.1:8443`.
    #[arg(long, requires = "token")]
    pub url: Option<String>,
    /// A staff session token (from `POST /api/v1/office/session`) of an operator or
    /// administrator.
    #[arg(long, env = "FAPIAO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) of the server's certificate, for `https://`.
    #[arg(long)]
    pub ca: Option<PathBuf>,
}

pub fn run(c: CardCommand) -> Result<(), StartError> {
    match c {
        CardCommand::List => list(),
        CardCommand::Enrol(a) => enrol(a),
        CardCommand::Show { reader } => show(reader.as_deref()),
        CardCommand::Pin {
            reader,
            pin,
            new_pin,
        } => {
            let mut p = open(reader.as_deref())?;
            p.change_pin(&pin, &new_pin).map_err(card_err)?;
            println!("PIN 码已修改。");
            Ok(())
        }
        CardCommand::Emulate { vpcd, not_piv } => {
            let kind = if not_piv { Kind::Other } else { Kind::Piv };
            let card = Arc::new(Mutex::new(Emulator::with(
                kind,
                Algorithm::TripleDes,
                &mgmt::DEFAULT_KEY,
            )));
            let stream = std::net::TcpStream::connect(&vpcd).map_err(|e| {
                fail(format!(
                    "无法连接 vpcd（{vpcd}）：{e}；pcscd 是否已加载 vsmartcard-vpcd？"
                ))
            })?;
            println!("虚拟 PIV 卡已插入 vpcd 读卡器（{vpcd}），PIN 123456，默认管理密钥。按 Ctrl-C 拔出。");
            emulator::serve_vpcd(stream, card).map_err(|e| fail(e.to_string()))
        }
    }
}

fn open(reader: Option<&str>) -> Result<Piv<PcscCard>, StartError> {
    let card = PcscCard::connect(reader).map_err(card_err)?;
    let mut p = Piv::new(card);
    p.select().map_err(card_err)?;
    Ok(p)
}

fn list() -> Result<(), StartError> {
    let readers = pcsc_card::readers().map_err(card_err)?;
    if readers.is_empty() {
        return Err(card_err(CardError::NoReader));
    }
    for r in readers {
        let what = if !r.card_present {
            "无卡".to_string()
        } else {
            match PcscCard::connect(Some(&r.name)) {
                Ok(card) => {
                    let mut p = Piv::new(card);
                    match p.select() {
                        Ok(_) => match p.read_object(&piv::TAG_CERT_9A) {
                            Ok(Some(_)) => "PIV 卡（9A 已有证书）".to_string(),
                            Ok(None) => "PIV 卡（9A 无证书）".to_string(),
                            Err(e) => format!("PIV 卡（{e}）"),
                        },
                        Err(CardError::NotPiv(_)) => "非 PIV 卡".to_string(),
                        Err(e) => format!("无法读取：{e}"),
                    }
                }
                Err(e) => format!("无法连接：{e}"),
            }
        };
        println!("{}\t{what}", r.name);
    }
    Ok(())
}

fn pin_text(s: PinState) -> String {
    match s {
        PinState::Verified => "已验证".into(),
        PinState::TriesLeft(n) => format!("还可尝试 {n} 次"),
        PinState::Blocked => "已锁定".into(),
    }
}

fn show(reader: Option<&str>) -> Result<(), StartError> {
    let mut p = open(reader)?;
    match p.read_object(&piv::TAG_CHUID).map_err(card_err)? {
        Some(obj) => println!(
            "CHUID：GUID {}",
            piv::chuid_guid(&obj)
                .map(hex::encode)
                .unwrap_or_else(|| "（无）".into())
        ),
        None => println!("CHUID：（无）"),
    }
    match p.certificate_9a().map_err(card_err)? {
        Some(der) => {
            let (_, cert) = x509_parser::parse_x509_certificate(&der)
                .map_err(|e| fail(format!("槽位 9A 的证书无法解析：{e}")))?;
            println!("槽位 9A 证书：");
            println!("  主题：{}", cert.subject());
            println!("  颁发者：{}", cert.issuer());
            println!("  序列号：{}", hex::encode(cert.raw_serial()));
            println!(
                "  有效期：{} 至 {}",
                cert.validity().not_before,
                cert.validity().not_after
            );
        }
        None => println!("槽位 9A 证书：（无）"),
    }
    println!("PIN 码：{}", pin_text(p.pin_state().map_err(card_err)?));
    Ok(())
}

fn enrol(a: EnrolArgs) -> Result<(), StartError> {
    let id = TaxpayerId::parse(&a.taxpayer).map_err(|e| fail(e.message))?;
    let key = match &a.management_key {
        Some(k) => mgmt::parse_key(k).map_err(card_err)?,
        None => mgmt::DEFAULT_KEY.to_vec(),
    };
    // The office is reached before the card is touched: a typo in --data or --url changes
    // nothing on the card.
    let office = Office::open(&a)?;
    let mut p = open(a.reader.as_deref())?;
    p.verify_pin(&a.pin).map_err(card_err)?;
    p.authenticate(&key).map_err(card_err)?;
    println!("正在卡片上生成密钥（EC P-256，槽位 9A）…");
    let point = p
        .generate_p256(piv::SLOT_AUTHENTICATION)
        .map_err(card_err)?;
    let request =
        csr::request(&mut p, piv::SLOT_AUTHENTICATION, &point, id.as_str()).map_err(card_err)?;
    let (serial, pem) = office.issue(&id, &request)?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| fail(format!("签发的证书无法读取：{e}")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| fail(format!("签发的证书无法解析：{e}")))?;
    if cert.public_key().subject_public_key.data.as_ref() != point.as_slice() {
        return Err(fail("签发的证书与卡片上的密钥不符，未写入卡片"));
    }
    let until = cert.validity().not_after.to_datetime();
    let expiry = format!(
        "{:04}{:02}{:02}",
        until.year(),
        u8::from(until.month()),
        until.day()
    );
    drop(cert);
    p.write_certificate_9a(der.as_ref()).map_err(card_err)?;
    let mut guid = [0u8; 16];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut guid);
    p.write_object(&piv::TAG_CHUID, &piv::chuid_object(&guid, &expiry))
        .map_err(card_err)?;
    println!(
        "已为纳税人 {} 发证并写入卡片（读卡器：{}）：证书序列号 {serial}，有效期至 {expiry}。私钥只在卡片中。",
        id.as_str(),
        p.into_inner().reader
    );
    Ok(())
}

/// Where the certificate is issued: a stopped data directory or a running server.
enum Office {
    Local(Arc<App>),
    Remote {
        url: String,
        token: String,
        ca: Option<PathBuf>,
    },
}

impl Office {
    fn open(a: &EnrolArgs) -> Result<Office, StartError> {
        if let Some(url) = &a.url {
            let token = a
                .token
                .clone()
                .ok_or_else(|| fail("请用 --token 给出税务人员的会话令牌"))?;
            return Ok(Office::Remote {
                url: url.trim_end_matches('/').to_string(),
                token,
                ca: a.ca.clone(),
            });
        }
        let mut settings = Settings::load(a.config.as_deref())?;
        if let Some(d) = &a.data {
            settings.data_dir = d.clone();
        }
        let db = settings.db_path();
        if !db.exists() {
            return Err(fail(format!("数据文件 {} 不存在", db.display())));
        }
        let app = App::open(settings).map_err(|e| match e {
            StartError::Store(crate::store::StoreError::Open {
                source: redb::DatabaseError::DatabaseAlreadyOpen,
                ..
            }) => fail(format!(
                "数据文件 {} 正由运行中的 fapiao 服务使用：请用 --url 和 --token 请运行中的服务签发",
                db.display()
            )),
            e => e,
        })?;
        Ok(Office::Local(app))
    }

    /// Issues a certificate for the CSR: (serial, certificate PEM).
    fn issue(&self, id: &TaxpayerId, csr_pem: &str) -> Result<(String, String), StartError> {
        match self {
            Office::Local(app) => {
                let who = app.system("cli-card");
                let issued =
                    crate::service::office::certificates::issue(app, &who, id, Some(csr_pem))
                        .map_err(|e| fail(format!("签发失败：{}", e.message)))?;
                Ok((issued.serial, issued.certificate))
            }
            Office::Remote { url, token, ca } => {
                remote_issue(url, token, ca.as_deref(), id, csr_pem)
            }
        }
    }
}

fn remote_issue(
    url: &str,
    token: &str,
    ca: Option<&Path>,
    id: &TaxpayerId,
    csr_pem: &str,
) -> Result<(String, String), StartError> {
    let body = serde_json::json!({ "csr": csr_pem }).to_string();
    let (status, answer) = super::health::exchange_with_body(
        "POST",
        &format!("{url}/api/v1/office/taxpayers/{}/certificates", id.as_str()),
        ca,
        Some(token),
        Some(body.as_bytes()),
        Duration::from_secs(60),
    )?;
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if super::health::code(&status) != Some(201) {
        let msg = v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&answer).into_owned());
        return Err(fail(format!("服务器未签发证书（{status}）：{msg}")));
    }
    match (v["serial"].as_str(), v["certificate"].as_str()) {
        (Some(s), Some(c)) => Ok((s.to_string(), c.to_string())),
        _ => Err(fail("服务器的回应中没有证书")),
    }
}
