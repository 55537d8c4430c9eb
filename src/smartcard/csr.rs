//! A PKCS#10 certificate request for the key in a card's slot, signed by the card: rcgen
//! assembles the request and hands us the bytes to sign; we hash them (SHA-256) and the card
//! signs the digest (GENERAL AUTHENTICATE). The private key never leaves the card.

use std::cell::RefCell;

use sha2::{Digest, Sha256};

use super::apdu::Transport;
use super::piv::Piv;
use super::CardError;

/// The key in `slot` of a card, as rcgen's signing key.
struct CardKey<'a, T: Transport> {
    piv: RefCell<&'a mut Piv<T>>,
    slot: u8,
    point: Vec<u8>,
    error: RefCell<Option<CardError>>,
}

impl<T: Transport> rcgen::PublicKeyData for CardKey<'_, T> {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl<T: Transport> rcgen::SigningKey for CardKey<'_, T> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let digest = Sha256::digest(msg);
        self.piv
            .borrow_mut()
            .sign_p256(self.slot, &digest)
            .map_err(|e| {
                *self.error.borrow_mut() = Some(e);
                rcgen::Error::RemoteKeyError
            })
    }
}

/// A CSR (PEM) for the P-256 key `point` in `slot`, subject CN `common_name` (the office
/// replaces the subject with the taxpayer's anyway). The PIN must have been verified.
pub fn request(
    piv: &mut Piv<impl Transport>,
    slot: u8,
    point: &[u8],
    common_name: &str,
) -> Result<String, CardError> {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let key = CardKey {
        piv: RefCell::new(piv),
        slot,
        point: point.to_vec(),
        error: RefCell::new(None),
    };
    let csr = params.serialize_request(&key);
    if let Some(e) = key.error.borrow_mut().take() {
        return Err(e);
    }
    csr.and_then(|c| c.pem())
        .map_err(|e| CardError::Transport(format!("无法生成证书请求：{e}")))
}
