//! The PIV client (NIST SP 800-73-4 part 2): what `fapiao card` asks of a card.

use super::apdu::{Command, Response, Transport};
use super::mgmt::{self, Algorithm};
use super::tlv;
use super::CardError;

/// The PIV application identifier (the PIX's version bytes left out, as SELECT allows).
pub const AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// Key references.
pub const SLOT_AUTHENTICATION: u8 = 0x9A;
pub const SLOT_MANAGEMENT: u8 = 0x9B;
/// The PIV application PIN's key reference.
pub const PIN_REFERENCE: u8 = 0x80;
/// Algorithm identifier of ECC P-256.
pub const ALG_ECC_P256: u8 = 0x11;

/// Data object tags.
pub const TAG_CHUID: [u8; 3] = [0x5F, 0xC1, 0x02];
pub const TAG_CERT_9A: [u8; 3] = [0x5F, 0xC1, 0x05];
pub const TAG_DISCOVERY: [u8; 1] = [0x7E];

/// The factory PIN of most PIV cards.
pub const DEFAULT_PIN: &str = "123456";

/// A PIV card behind a transport.
pub struct Piv<T: Transport> {
    transport: T,
}

/// The PIN's state, as an empty VERIFY tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    Verified,
    TriesLeft(u8),
    Blocked,
}

fn pin_block(pin: &str) -> Result<[u8; 8], CardError> {
    let b = pin.as_bytes();
    if !(6..=8).contains(&b.len()) || !pin.is_ascii() {
        return Err(CardError::BadPinFormat);
    }
    let mut out = [0xFF; 8];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

fn pin_error(sw: u16) -> CardError {
    match sw {
        0x6983 => CardError::PinBlocked,
        sw if sw & 0xFFF0 == 0x63C0 => {
            if sw & 0x0F == 0 {
                CardError::PinBlocked
            } else {
                CardError::WrongPin((sw & 0x0F) as u8)
            }
        }
        sw => CardError::Refused {
            what: "PIN 码", sw
        },
    }
}

impl<T: Transport> Piv<T> {
    pub fn new(transport: T) -> Piv<T> {
        Piv { transport }
    }

    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Sends a command: chained when its data is longer than one short APDU, and the answer
    /// gathered with GET RESPONSE while the card says more is waiting (61xx).
    pub fn send(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Result<Response, CardError> {
        let mut chunks: Vec<&[u8]> = data.chunks(255).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        let mut resp = Response {
            data: Vec::new(),
            sw: 0x9000,
        };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let cla = if i < last { 0x10 } else { 0x00 };
            let mut c = Command::new(cla, ins, p1, p2, chunk);
            if i < last {
                c.le = None;
            }
            resp = Response::from_bytes(self.transport.transmit(&c.encode())?)?;
            if i < last && !resp.ok() {
                return Ok(resp);
            }
        }
        let mut data = std::mem::take(&mut resp.data);
        let mut sw = resp.sw;
        let mut rounds = 0;
        while sw >> 8 == 0x61 && rounds < 256 {
            rounds += 1;
            let le = match sw & 0xFF {
                0 => 256,
                n => usize::from(n as u8),
            };
            let mut c = Command::new(0, 0xC0, 0, 0, &[]);
            c.le = Some(le);
            let r = Response::from_bytes(self.transport.transmit(&c.encode())?)?;
            data.extend_from_slice(&r.data);
            sw = r.sw;
        }
        Ok(Response { data, sw })
    }

    /// Selects the PIV application; its application property template (tag 61) is answered.
    pub fn select(&mut self) -> Result<Vec<u8>, CardError> {
        let r = self.send(0xA4, 0x04, 0x00, &AID)?;
        if !r.ok() {
            return Err(CardError::NotPiv(r.sw));
        }
        Ok(r.data)
    }

    /// The PIN's state without trying a PIN.
    pub fn pin_state(&mut self) -> Result<PinState, CardError> {
        let c = Command {
            le: None,
            ..Command::new(0, 0x20, 0x00, PIN_REFERENCE, &[])
        };
        let r = Response::from_bytes(self.transport.transmit(&c.encode())?)?;
        Ok(match r.sw {
            0x9000 => PinState::Verified,
            0x6983 => PinState::Blocked,
            sw if sw & 0xFFF0 == 0x63C0 => match sw & 0x0F {
                0 => PinState::Blocked,
                n => PinState::TriesLeft(n as u8),
            },
            sw => {
                return Err(CardError::Refused {
                    what: "查询 PIN 码状态",
                    sw,
                })
            }
        })
    }

    /// VERIFY the PIN: a wrong one tells the tries left.
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), CardError> {
        let block = pin_block(pin)?;
        let mut c = Command::new(0, 0x20, 0x00, PIN_REFERENCE, &block);
        c.le = None;
        let r = Response::from_bytes(self.transport.transmit(&c.encode())?)?;
        if r.ok() {
            Ok(())
        } else {
            Err(pin_error(r.sw))
        }
    }

    /// CHANGE REFERENCE DATA of the PIN.
    pub fn change_pin(&mut self, old: &str, new: &str) -> Result<(), CardError> {
        let mut data = pin_block(old)?.to_vec();
        data.extend_from_slice(&pin_block(new)?);
        let mut c = Command::new(0, 0x24, 0x00, PIN_REFERENCE, &data);
        c.le = None;
        let r = Response::from_bytes(self.transport.transmit(&c.encode())?)?;
        if r.ok() {
            Ok(())
        } else {
            Err(pin_error(r.sw))
        }
    }

    /// Mutual authentication with the management key (GENERAL AUTHENTICATE on 9B): the card
    /// sends a witness encrypted with the key, we answer it decrypted with a challenge of our
    /// own, and the card proves it holds the key by answering the challenge encrypted. A key of
    /// 24 bytes is tried as 3DES, then as AES-192 (newer cards' default).
    pub fn authenticate(&mut self, key: &[u8]) -> Result<Algorithm, CardError> {
        let candidates = Algorithm::candidates(key.len());
        if candidates.is_empty() {
            return Err(CardError::BadManagementKey);
        }
        let mut last = CardError::ManagementKey;
        for &alg in candidates {
            match self.authenticate_with(alg, key) {
                Ok(()) => return Ok(alg),
                Err(e @ CardError::Transport(_)) => return Err(e),
                // The card took the algorithm but not the key: that is the answer.
                Err(CardError::ManagementKey) => return Err(CardError::ManagementKey),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn authenticate_with(&mut self, alg: Algorithm, key: &[u8]) -> Result<(), CardError> {
        let ask = tlv::tlv(&[0x7C], &[0x80, 0x00]);
        let r = self.send(0x87, alg.id(), SLOT_MANAGEMENT, &ask)?;
        if !r.ok() {
            return Err(CardError::Refused {
                what: "管理密钥认证",
                sw: r.sw,
            });
        }
        let witness = tlv::find(&r.data, &[0x7C])
            .and_then(|v| tlv::find(v, &[0x80]))
            .filter(|w| w.len() == alg.block_len())
            .ok_or(CardError::Malformed("管理密钥认证的回应"))?;
        let plain = mgmt::cipher(alg, key, witness, false)?;
        let mut challenge = vec![0u8; alg.block_len()];
        rand::Rng::fill(&mut rand::rngs::OsRng, challenge.as_mut_slice());
        let mut inner = tlv::tlv(&[0x80], &plain);
        inner.extend(tlv::tlv(&[0x81], &challenge));
        let r = self.send(0x87, alg.id(), SLOT_MANAGEMENT, &tlv::tlv(&[0x7C], &inner))?;
        if !r.ok() {
            return Err(CardError::ManagementKey);
        }
        let answer = tlv::find(&r.data, &[0x7C])
            .and_then(|v| tlv::find(v, &[0x82]))
            .ok_or(CardError::Malformed("管理密钥认证的回应"))?;
        if answer != mgmt::cipher(alg, key, &challenge, true)?.as_slice() {
            // The card did not prove it holds the key.
            return Err(CardError::ManagementKey);
        }
        Ok(())
    }

    /// GENERATE ASYMMETRIC KEY PAIR (EC P-256) in `slot`: the public point (04‖x‖y).
    pub fn generate_p256(&mut self, slot: u8) -> Result<Vec<u8>, CardError> {
        let template = tlv::tlv(&[0xAC], &[0x80, 0x01, ALG_ECC_P256]);
        let r = self.send(0x47, 0x00, slot, &template)?;
        if r.sw == 0x6982 {
            return Err(CardError::ManagementKey);
        }
        if !r.ok() {
            return Err(CardError::Refused {
                what: "生成密钥",
                sw: r.sw,
            });
        }
        tlv::find(&r.data, &[0x7F, 0x49])
            .and_then(|v| tlv::find(v, &[0x86]))
            .filter(|p| p.len() == 65 && p[0] == 4)
            .map(<[u8]>::to_vec)
            .ok_or(CardError::Malformed("生成密钥的回应中没有 P-256 公钥"))
    }

    /// Signs a digest with the key in `slot` (GENERAL AUTHENTICATE); the DER ECDSA signature.
    pub fn sign_p256(&mut self, slot: u8, digest: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut inner = vec![0x82, 0x00];
        inner.extend(tlv::tlv(&[0x81], digest));
        let r = self.send(0x87, ALG_ECC_P256, slot, &tlv::tlv(&[0x7C], &inner))?;
        match r.sw {
            0x9000 => {}
            0x6982 => {
                return Err(CardError::Refused {
                    what: "签名（需先验证 PIN 码）",
                    sw: r.sw,
                })
            }
            sw => return Err(CardError::Refused { what: "签名", sw }),
        }
        tlv::find(&r.data, &[0x7C])
            .and_then(|v| tlv::find(v, &[0x82]))
            .map(<[u8]>::to_vec)
            .ok_or(CardError::Malformed("签名的回应"))
    }

    /// GET DATA of an object: its whole answer (the `53` or `7E` TLV), `None` when absent.
    pub fn get_data(&mut self, tag: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
        let r = self.send(0xCB, 0x3F, 0xFF, &tlv::tlv(&[0x5C], tag))?;
        match r.sw {
            0x9000 => Ok(Some(r.data)),
            0x6A82 => Ok(None),
            sw => Err(CardError::Refused {
                what: "读取数据",
                sw,
            }),
        }
    }

    /// The contents of a `53` data object, `None` when absent.
    pub fn read_object(&mut self, tag: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
        Ok(match self.get_data(tag)? {
            Some(d) => Some(
                tlv::find(&d, &[0x53])
                    .ok_or(CardError::Malformed("数据对象不是 53 标签"))?
                    .to_vec(),
            ),
            None => None,
        })
    }

    /// PUT DATA of a `53` object with `contents` (needs the management key).
    pub fn write_object(&mut self, tag: &[u8], contents: &[u8]) -> Result<(), CardError> {
        let mut data = tlv::tlv(&[0x5C], tag);
        data.extend(tlv::tlv(&[0x53], contents));
        let r = self.send(0xDB, 0x3F, 0xFF, &data)?;
        match r.sw {
            0x9000 => Ok(()),
            0x6982 => Err(CardError::ManagementKey),
            sw => Err(CardError::Refused {
                what: "写入数据",
                sw,
            }),
        }
    }

    /// Writes the certificate object of slot 9A: the certificate (70), its info (71:
    /// uncompressed) and the error detection code (FE), as SP 800-73-4 lays it out.
    pub fn write_certificate_9a(&mut self, der: &[u8]) -> Result<(), CardError> {
        self.write_object(&TAG_CERT_9A, &certificate_object(der))
    }

    /// The certificate of slot 9A (DER), `None` when the card has none.
    pub fn certificate_9a(&mut self) -> Result<Option<Vec<u8>>, CardError> {
        Ok(match self.read_object(&TAG_CERT_9A)? {
            Some(obj) => Some(
                tlv::find(&obj, &[0x70])
                    .ok_or(CardError::Malformed("证书对象中没有证书（70）"))?
                    .to_vec(),
            ),
            None => None,
        })
    }
}

/// The contents of a certificate object for `der`.
pub fn certificate_object(der: &[u8]) -> Vec<u8> {
    let mut obj = tlv::tlv(&[0x70], der);
    obj.extend(tlv::tlv(&[0x71], &[0x00]));
    obj.extend(tlv::tlv(&[0xFE], &[]));
    obj
}

/// A FASC-N of the "non-federal issuer" form (agency code 9999, system 9999, credential
/// 999999), as card-management tools write for cards outside the US federal PKI.
const FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

/// The contents of a Card Holder Unique Identifier with `guid` and expiry `yyyymmdd`.
pub fn chuid_object(guid: &[u8; 16], expiry: &str) -> Vec<u8> {
    let mut obj = tlv::tlv(&[0x30], &FASCN);
    obj.extend(tlv::tlv(&[0x34], guid));
    obj.extend(tlv::tlv(&[0x35], expiry.as_bytes()));
    // No issuer signature: the certificate, signed by the office's CA, is what counts.
    obj.extend(tlv::tlv(&[0x3E], &[]));
    obj.extend(tlv::tlv(&[0xFE], &[]));
    obj
}

/// The GUID of a CHUID's contents.
pub fn chuid_guid(obj: &[u8]) -> Option<Vec<u8>> {
    tlv::find(obj, &[0x34]).map(<[u8]>::to_vec)
}
