//! A PIV card emulator (a subset of NIST SP 800-73-4) with its keys in memory, for tests and
//! `fapiao card emulate`: SELECT, GET DATA, PUT DATA, VERIFY (with its tries counter), CHANGE
//! REFERENCE DATA, GENERATE ASYMMETRIC KEY PAIR (EC P-256), GENERAL AUTHENTICATE (signing and
//! the management key's witness/challenge authentication), command chaining and GET RESPONSE.
//! It is good enough for OpenSC's PIV driver.
//!
//! It plays a card in a vsmartcard `vpcd` reader ([`serve_vpcd`]): vpcd, loaded by pcscd as a
//! reader driver, listens on a TCP port (35963 for its first reader); the card connects to it
//! and answers each message, framed as a 2-byte big-endian length then the bytes. A message
//! of one byte is a control: 0 power off, 1 power on, 2 reset, 4 "send your ATR".

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use rand::Rng;

use super::apdu::{Command, Transport};
use super::mgmt::{self, Algorithm};
use super::piv::{PIN_REFERENCE, SLOT_MANAGEMENT};
use super::tlv;
use super::CardError;

/// vpcd's port for its first reader.
pub const VPCD_PORT: u16 = 35963;

/// The emulator's ATR: T=0 and T=1, historical bytes "fapiao". Not a known card's ATR, so no
/// middleware applies a model's quirks to it (the bare `3B 80 80 01 01` is listed by OpenSC as
/// a PIVKey model without EC, for one).
pub const ATR: [u8; 11] = [
    0x3B, 0x86, 0x80, 0x01, 0x66, 0x61, 0x70, 0x69, 0x61, 0x6F, 0x17,
];

const PIN_TRIES: u8 = 3;

/// What kind of card to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A PIV card.
    Piv,
    /// A card without the PIV application (it refuses the PIV SELECT).
    Other,
}

/// The emulated card's state.
pub struct Emulator {
    kind: Kind,
    pin: [u8; 8],
    tries: u8,
    pin_verified: bool,
    mgmt_alg: Algorithm,
    mgmt_key: Vec<u8>,
    mgmt_ok: bool,
    /// The witness or challenge of a management-key authentication under way.
    pending_auth: Option<Vec<u8>>,
    keys: BTreeMap<u8, SigningKey>,
    objects: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Data of a chained command so far.
    chain: Option<Vec<u8>>,
    /// Answer bytes waiting for GET RESPONSE.
    pending: Vec<u8>,
    /// Every command's INS and status word, for tests.
    pub log: Vec<(u8, u16)>,
}

fn sw(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

/// The discovery object: the PIV AID and the PIN usage policy (PIV PIN only).
fn discovery() -> Vec<u8> {
    let mut v = tlv::tlv(
        &[0x4F],
        &[
            0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
        ],
    );
    v.extend(tlv::tlv(&[0x5F, 0x2F], &[0x40, 0x00]));
    tlv::tlv(&[0x7E], &v)
}

impl Emulator {
    /// A factory-fresh PIV card: PIN 123456, the default 3DES management key, no keys.
    pub fn new() -> Emulator {
        Emulator::with(Kind::Piv, Algorithm::TripleDes, &mgmt::DEFAULT_KEY)
    }

    /// A card of `kind` whose management key is `key` for `alg`.
    pub fn with(kind: Kind, alg: Algorithm, key: &[u8]) -> Emulator {
        let mut objects = BTreeMap::new();
        objects.insert(vec![0x7E], discovery());
        let mut pin = [0xFF; 8];
        pin[..6].copy_from_slice(b"123456");
        Emulator {
            kind,
            pin,
            tries: PIN_TRIES,
            pin_verified: false,
            mgmt_alg: alg,
            mgmt_key: key.to_vec(),
            mgmt_ok: false,
            pending_auth: None,
            keys: BTreeMap::new(),
            objects,
            chain: None,
            pending: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Power off or reset: the security state is lost, the data stays.
    pub fn reset(&mut self) {
        self.pin_verified = false;
        self.mgmt_ok = false;
        self.pending_auth = None;
        self.chain = None;
        self.pending.clear();
    }

    /// Answers one command APDU (data then SW1 SW2).
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let out = match Command::parse(apdu) {
            Some(c) => self.command(c),
            None => sw(0x6700),
        };
        let status = match out.as_slice() {
            [.., a, b] => u16::from(*a) << 8 | u16::from(*b),
            _ => 0,
        };
        self.log.push((apdu.get(1).copied().unwrap_or(0), status));
        out
    }

    fn command(&mut self, c: Command) -> Vec<u8> {
        if c.ins != 0xC0 {
            self.pending.clear();
        }
        if c.cla & 0x10 != 0 {
            self.chain.get_or_insert_with(Vec::new).extend(&c.data);
            return sw(0x9000);
        }
        let mut c = c;
        if let Some(mut head) = self.chain.take() {
            head.extend(&c.data);
            c.data = head;
        }
        // A short command gets at most its Le (256 at most) now, the rest through GET
        // RESPONSE; middleware sizes its receive buffer by the Le it sent.
        let max = if c.extended {
            c.le.unwrap_or(65536)
        } else {
            c.le.unwrap_or(256).min(256)
        };
        let (data, status) = match (self.kind, c.ins) {
            (_, 0xC0) => {
                let n = self.pending.len().min(c.le.unwrap_or(256)).min(256);
                let chunk: Vec<u8> = self.pending.drain(..n).collect();
                return self.answer(chunk, 0x9000, 256);
            }
            (_, 0xA4) => self.select(&c),
            (Kind::Other, _) => (Vec::new(), 0x6D00),
            (Kind::Piv, 0xCB) => self.get_data(&c),
            (Kind::Piv, 0xDB) => self.put_data(&c),
            (Kind::Piv, 0x20) => self.verify(&c),
            (Kind::Piv, 0x24) => self.change_pin(&c),
            (Kind::Piv, 0x47) => self.generate(&c),
            (Kind::Piv, 0x87) => self.general_authenticate(&c),
            _ => (Vec::new(), 0x6D00),
        };
        self.answer(data, status, max)
    }

    /// Sends at most `max` bytes now; the rest waits for GET RESPONSE (61xx).
    fn answer(&mut self, mut data: Vec<u8>, status: u16, max: usize) -> Vec<u8> {
        if data.len() > max {
            let rest = data.split_off(max);
            self.pending = rest;
        }
        let status = if !self.pending.is_empty() && status == 0x9000 {
            let n = self.pending.len();
            0x6100 | if n >= 256 { 0 } else { n as u16 }
        } else {
            status
        };
        data.extend(sw(status));
        data
    }

    fn select(&mut self, c: &Command) -> (Vec<u8>, u16) {
        let aid = &super::piv::AID;
        if c.p1 != 0x04 || !c.data.starts_with(aid) || self.kind != Kind::Piv {
            return (Vec::new(), 0x6A82);
        }
        self.reset();
        let mut t = tlv::tlv(&[0x4F], &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
        t.extend(tlv::tlv(&[0x79], &tlv::tlv(&[0x4F], aid)));
        t.extend(tlv::tlv(&[0x50], b"fapiao virtual PIV"));
        (tlv::tlv(&[0x61], &t), 0x9000)
    }

    fn object_tag(data: &[u8]) -> Option<(Vec<u8>, &[u8])> {
        let (tag, value, rest) = tlv::parse(data)?;
        (tag == [0x5C]).then(|| (value.to_vec(), rest))
    }

    fn get_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p1 != 0x3F || c.p2 != 0xFF {
            return (Vec::new(), 0x6A86);
        }
        let Some((tag, _)) = Self::object_tag(&c.data) else {
            return (Vec::new(), 0x6A80);
        };
        match self.objects.get(&tag) {
            Some(v) => (v.clone(), 0x9000),
            None => (Vec::new(), 0x6A82),
        }
    }

    fn put_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_ok {
            return (Vec::new(), 0x6982);
        }
        let Some((tag, rest)) = Self::object_tag(&c.data) else {
            return (Vec::new(), 0x6A80);
        };
        let expected: &[u8] = if tag == [0x7E] { &[0x7E] } else { &[0x53] };
        match tlv::parse(rest) {
            Some((t, _, tail)) if t == expected && tail.is_empty() => {
                self.objects.insert(tag, rest.to_vec());
                (Vec::new(), 0x9000)
            }
            _ => (Vec::new(), 0x6A80),
        }
    }

    fn pin_status(&self) -> u16 {
        if self.tries == 0 {
            0x6983
        } else {
            0x63C0 | u16::from(self.tries)
        }
    }

    /// Checks `block` against the PIN, counting a wrong one.
    fn check_pin(&mut self, block: &[u8]) -> u16 {
        if self.tries == 0 {
            return 0x6983;
        }
        if block == self.pin {
            self.tries = PIN_TRIES;
            0x9000
        } else {
            self.tries -= 1;
            self.pin_verified = false;
            self.pin_status()
        }
    }

    fn verify(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p2 != PIN_REFERENCE {
            return (Vec::new(), 0x6A88);
        }
        if c.p1 == 0xFF {
            self.pin_verified = false;
            return (Vec::new(), 0x9000);
        }
        if c.data.is_empty() {
            let s = if self.pin_verified {
                0x9000
            } else {
                self.pin_status()
            };
            return (Vec::new(), s);
        }
        if c.data.len() != 8 {
            return (Vec::new(), 0x6A80);
        }
        let s = self.check_pin(&c.data);
        self.pin_verified = s == 0x9000;
        (Vec::new(), s)
    }

    fn change_pin(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p2 != PIN_REFERENCE {
            return (Vec::new(), 0x6A88);
        }
        if c.data.len() != 16 {
            return (Vec::new(), 0x6A80);
        }
        let s = self.check_pin(&c.data[..8]);
        if s != 0x9000 {
            return (Vec::new(), s);
        }
        let new = &c.data[8..];
        let digits = new.iter().take_while(|&&b| b != 0xFF).count();
        if digits < 6 || new[digits..].iter().any(|&b| b != 0xFF) {
            return (Vec::new(), 0x6A80);
        }
        self.pin.copy_from_slice(new);
        self.pin_verified = true;
        (Vec::new(), 0x9000)
    }

    fn generate(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_ok {
            return (Vec::new(), 0x6982);
        }
        if !matches!(c.p2, 0x9A | 0x9C | 0x9D | 0x9E) {
            return (Vec::new(), 0x6A86);
        }
        let alg = tlv::find(&c.data, &[0xAC]).and_then(|t| tlv::find(t, &[0x80]));
        if alg != Some(&[super::piv::ALG_ECC_P256][..]) {
            return (Vec::new(), 0x6A80);
        }
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        self.keys.insert(c.p2, key);
        let body = tlv::tlv(&[0x86], point.as_bytes());
        (tlv::tlv(&[0x7F, 0x49], &body), 0x9000)
    }

    fn general_authenticate(&mut self, c: &Command) -> (Vec<u8>, u16) {
        let Some(t) = tlv::find(&c.data, &[0x7C]) else {
            return (Vec::new(), 0x6A80);
        };
        let t = t.to_vec();
        if c.p2 == SLOT_MANAGEMENT {
            return self.management(c.p1, &t);
        }
        if c.p1 != super::piv::ALG_ECC_P256 {
            return (Vec::new(), 0x6A80);
        }
        let Some(key) = self.keys.get(&c.p2) else {
            return (Vec::new(), 0x6A88);
        };
        if !self.pin_verified {
            return (Vec::new(), 0x6982);
        }
        let (Some(digest), Some(_)) = (tlv::find(&t, &[0x81]), tlv::find(&t, &[0x82])) else {
            return (Vec::new(), 0x6A80);
        };
        let sig: Result<Signature, _> = key.sign_prehash(digest);
        match sig {
            Ok(sig) => {
                let der = sig.to_der();
                let body = tlv::tlv(&[0x82], der.as_bytes());
                (tlv::tlv(&[0x7C], &body), 0x9000)
            }
            Err(_) => (Vec::new(), 0x6A80),
        }
    }

    fn management(&mut self, alg_id: u8, t: &[u8]) -> (Vec<u8>, u16) {
        if Algorithm::from_id(alg_id) != Some(self.mgmt_alg) {
            return (Vec::new(), 0x6A86);
        }
        let alg = self.mgmt_alg;
        let items = tlv::items(t);
        let get = |tag: u8| items.iter().find(|(k, _)| *k == [tag]).map(|(_, v)| *v);
        let crypt = |block: &[u8], enc: bool| mgmt::cipher(alg, &self.mgmt_key, block, enc);
        match (get(0x80), get(0x81), get(0x82)) {
            // Step 1 of mutual authentication: the card's witness, encrypted.
            (Some([]), None, None) => {
                let mut w = vec![0u8; alg.block_len()];
                rand::rngs::OsRng.fill(w.as_mut_slice());
                let Ok(enc) = crypt(&w, true) else {
                    return (Vec::new(), 0x6F00);
                };
                self.pending_auth = Some(w);
                self.mgmt_ok = false;
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x80], &enc)), 0x9000)
            }
            // Step 2: the witness decrypted and the host's challenge.
            (Some(w), Some(challenge), None) if !challenge.is_empty() => {
                let expected = self.pending_auth.take();
                if expected.as_deref() != Some(w) {
                    return (Vec::new(), 0x6982);
                }
                let Ok(enc) = crypt(challenge, true) else {
                    return (Vec::new(), 0x6A80);
                };
                self.mgmt_ok = true;
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x82], &enc)), 0x9000)
            }
            // Single authentication: the card's challenge, then the host's answer.
            (None, Some([]), None) => {
                let mut ch = vec![0u8; alg.block_len()];
                rand::rngs::OsRng.fill(ch.as_mut_slice());
                self.pending_auth = Some(ch.clone());
                self.mgmt_ok = false;
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x81], &ch)), 0x9000)
            }
            (None, None, Some(answer)) => {
                let ch = self.pending_auth.take();
                let ok = ch.is_some_and(|ch| crypt(&ch, true).is_ok_and(|e| e == answer));
                self.mgmt_ok = ok;
                (Vec::new(), if ok { 0x9000 } else { 0x6982 })
            }
            _ => (Vec::new(), 0x6A80),
        }
    }
}

impl Default for Emulator {
    fn default() -> Emulator {
        Emulator::new()
    }
}

impl Transport for Emulator {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        Ok(self.process(apdu))
    }
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn write_frame(s: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let n = u16::try_from(data.len())
        .map_err(|_| std::io::Error::other("answer longer than 65535 bytes"))?;
    let mut out = n.to_be_bytes().to_vec();
    out.extend_from_slice(data);
    s.write_all(&out)
}

/// Plays `card` in the vpcd reader at `addr` (e.g. `127.0.0.1:35963`) until vpcd closes the
/// connection or `stream` is shut down. The card is "inserted" while connected.
pub fn serve_vpcd(mut stream: TcpStream, card: Arc<Mutex<Emulator>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    while let Some(msg) = read_frame(&mut stream)? {
        let mut card = card
            .lock()
            .map_err(|_| std::io::Error::other("emulator state poisoned"))?;
        if msg.len() == 1 {
            match msg[0] {
                0 | 2 => card.reset(),
                1 => {}
                4 => write_frame(&mut stream, &ATR)?,
                _ => {}
            }
            continue;
        }
        let answer = card.process(&msg);
        drop(card);
        write_frame(&mut stream, &answer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smartcard::piv::{self, PinState, Piv};

    fn enrolled() -> (Piv<Emulator>, Vec<u8>) {
        let mut p = Piv::new(Emulator::new());
        p.select().unwrap();
        p.verify_pin("123456").unwrap();
        assert_eq!(
            p.authenticate(&mgmt::DEFAULT_KEY).unwrap(),
            Algorithm::TripleDes
        );
        let point = p.generate_p256(0x9A).unwrap();
        (p, point)
    }

    #[test]
    fn the_card_signs_a_csr_that_verifies() {
        let (mut p, point) = enrolled();
        let pem =
            crate::smartcard::csr::request(&mut p, 0x9A, &point, "91350100M000100Y43").unwrap();
        // rcgen checks the request's signature when it reads it back.
        let parsed = rcgen::CertificateSigningRequestParams::from_pem(&pem).unwrap();
        assert_eq!(
            rcgen::PublicKeyData::der_bytes(&parsed.public_key),
            point.as_slice()
        );
    }

    #[test]
    fn objects_are_written_chained_and_read_through_get_response() {
        let (mut p, _) = enrolled();
        let cert: Vec<u8> = (0..900u32).map(|i| i as u8).collect();
        p.write_certificate_9a(&cert).unwrap();
        assert_eq!(p.certificate_9a().unwrap(), Some(cert));
        let log = &p.into_inner().log;
        assert!(log.iter().any(|&(ins, sw)| ins == 0xDB && sw == 0x9000));
        assert!(log.iter().any(|&(ins, sw)| ins == 0xCB && sw >> 8 == 0x61));
        assert!(log.iter().any(|&(ins, _)| ins == 0xC0));
    }

    #[test]
    fn a_short_le_is_honoured_as_middleware_expects() {
        // OpenSC reads an object's first 8 bytes (Le 8) to learn its length, then the whole.
        let (mut p, _) = enrolled();
        p.write_certificate_9a(&[5u8; 600]).unwrap();
        let mut emu = p.into_inner();
        let head = emu.process(&[0, 0xCB, 0x3F, 0xFF, 5, 0x5C, 3, 0x5F, 0xC1, 0x05, 8]);
        assert_eq!(head.len(), 10);
        assert_eq!(&head[..4], &[0x53, 0x82, 0x02, 0x61]);
        assert_eq!(&head[8..], &[0x61, 0x00]);
        let tail = emu.process(&[0, 0xC0, 0, 0, 0]);
        assert_eq!(tail.len(), 258);
        assert_eq!(&tail[256..], &[0x61, 0x00]);
        let atr = &ATR;
        let tck = atr[1..atr.len() - 1].iter().fold(0u8, |x, b| x ^ b);
        assert_eq!(tck, atr[atr.len() - 1], "the ATR's check byte");
    }

    #[test]
    fn writes_and_key_generation_need_the_management_key() {
        let mut p = Piv::new(Emulator::new());
        p.select().unwrap();
        assert_eq!(p.generate_p256(0x9A), Err(CardError::ManagementKey));
        assert_eq!(
            p.write_object(&piv::TAG_CHUID, b"x"),
            Err(CardError::ManagementKey)
        );
        let wrong = [9u8; 24];
        assert_eq!(p.authenticate(&wrong), Err(CardError::ManagementKey));
        let mut aes = Piv::new(Emulator::with(
            Kind::Piv,
            Algorithm::Aes192,
            &mgmt::DEFAULT_KEY,
        ));
        aes.select().unwrap();
        assert_eq!(
            aes.authenticate(&mgmt::DEFAULT_KEY).unwrap(),
            Algorithm::Aes192
        );
        assert!(aes
            .write_object(&piv::TAG_CHUID, &piv::chuid_object(&[7; 16], "20301231"))
            .is_ok());
    }

    #[test]
    fn wrong_pins_count_down_and_block() {
        let mut p = Piv::new(Emulator::new());
        p.select().unwrap();
        assert_eq!(p.pin_state().unwrap(), PinState::TriesLeft(3));
        assert_eq!(p.verify_pin("000000"), Err(CardError::WrongPin(2)));
        assert_eq!(p.verify_pin("123456"), Ok(()));
        assert_eq!(p.pin_state().unwrap(), PinState::Verified);
        assert_eq!(p.change_pin("123456", "654321"), Ok(()));
        assert_eq!(p.verify_pin("123456"), Err(CardError::WrongPin(2)));
        assert_eq!(p.verify_pin("123456"), Err(CardError::WrongPin(1)));
        assert_eq!(p.verify_pin("123456"), Err(CardError::PinBlocked));
        assert_eq!(p.verify_pin("654321"), Err(CardError::PinBlocked));
        assert_eq!(p.pin_state().unwrap(), PinState::Blocked);
        assert_eq!(p.verify_pin("12"), Err(CardError::BadPinFormat));
    }

    #[test]
    fn signing_needs_the_pin_and_a_card_without_piv_is_named() {
        let (p, _) = enrolled();
        let mut emu = p.into_inner();
        emu.reset();
        let mut p = Piv::new(emu);
        p.select().unwrap();
        assert!(matches!(
            p.sign_p256(0x9A, &[0; 32]),
            Err(CardError::Refused { sw: 0x6982, .. })
        ));
        let mut other = Piv::new(Emulator::with(
            Kind::Other,
            Algorithm::TripleDes,
            &mgmt::DEFAULT_KEY,
        ));
        assert_eq!(other.select(), Err(CardError::NotPiv(0x6A82)));
    }
}
