//! PIV smart cards (NIST SP 800-73-4) for taxpayer certificates, behind feature `smartcard`:
//! the APDU and BER-TLV encoding, the PIV client that `fapiao card` drives (select, PIN,
//! management key, key generation on the card, signing, data objects), the PKCS#10 request
//! signed by the card, and a PIV card emulator (keys in memory) that tests and
//! `fapiao card emulate` connect to the PC/SC stack through vsmartcard's vpcd reader.
//!
//! Everything here talks to a card through [`Transport`]: a PC/SC card in production
//! ([`pcsc_card`]), the emulator directly in unit tests. This module uses no other module of
//! the crate.

pub mod apdu;
pub mod csr;
pub mod emulator;
pub mod mgmt;
pub mod pcsc_card;
pub mod piv;
pub mod tlv;

/// What can go wrong with a reader or a card, each with its message for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("PC/SC 智能卡服务不可用（Linux 上请安装并启动 pcscd；Windows/macOS 上请确认智能卡服务已启用）：{0}")]
    NoService(String),
    #[error("未发现读卡器：请连接读卡器（Linux 上并确认 pcscd 已启动）")]
    NoReader,
    #[error("没有名为“{0}”的读卡器（用 fapiao card list 查看读卡器）")]
    ReaderNotFound(String),
    #[error("读卡器中没有卡片：请插入智能卡{0}")]
    NoCard(String),
    #[error("有多张卡片：请用 --reader 指定读卡器（{0}）")]
    Ambiguous(String),
    #[error("卡片不是 PIV 卡：选择 PIV 应用（A0 00 00 03 08）失败，状态字 {0:04X}")]
    NotPiv(u16),
    #[error("PIN 码错误，还可再试 {0} 次")]
    WrongPin(u8),
    #[error("PIN 码已锁定（错误次数过多）：请用 PUK 解锁，或重置卡片的 PIV 应用")]
    PinBlocked,
    #[error("PIN 码须为 6 至 8 位字符")]
    BadPinFormat,
    #[error(
        "管理密钥认证失败：卡片不接受所给的管理密钥（用 --management-key 给出卡片的管理密钥）"
    )]
    ManagementKey,
    #[error("管理密钥须为 16、24 或 32 字节的十六进制数")]
    BadManagementKey,
    #[error("卡片拒绝了{what}（状态字 {sw:04X}）")]
    Refused { what: &'static str, sw: u16 },
    #[error("卡片回应格式不正确：{0}")]
    Malformed(&'static str),
    #[error("与卡片通信失败：{0}")]
    Transport(String),
}
