//! The PIV card management key (slot 9B): 3DES or AES, one-block ECB as SP 800-73-4's
//! challenge–response authentication uses it.

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use super::CardError;

/// The factory management key of most PIV cards: 01 02 … 08 three times.
pub const DEFAULT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// A management key algorithm (SP 800-78 algorithm identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    TripleDes,
    Aes128,
    Aes192,
    Aes256,
}

impl Algorithm {
    pub fn id(self) -> u8 {
        match self {
            Algorithm::TripleDes => 0x03,
            Algorithm::Aes128 => 0x08,
            Algorithm::Aes192 => 0x0A,
            Algorithm::Aes256 => 0x0C,
        }
    }

    pub fn from_id(id: u8) -> Option<Algorithm> {
        Some(match id {
            0x00 | 0x03 => Algorithm::TripleDes,
            0x08 => Algorithm::Aes128,
            0x0A => Algorithm::Aes192,
            0x0C => Algorithm::Aes256,
            _ => return None,
        })
    }

    pub fn block_len(self) -> usize {
        match self {
            Algorithm::TripleDes => 8,
            _ => 16,
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Algorithm::TripleDes | Algorithm::Aes192 => 24,
            Algorithm::Aes128 => 16,
            Algorithm::Aes256 => 32,
        }
    }

    /// The algorithms a key of this length may be for, the likelier first.
    pub fn candidates(key_len: usize) -> &'static [Algorithm] {
        match key_len {
            24 => &[Algorithm::TripleDes, Algorithm::Aes192],
            16 => &[Algorithm::Aes128],
            32 => &[Algorithm::Aes256],
            _ => &[],
        }
    }
}

/// Parses a management key given in hex (spaces and colons allowed).
pub fn parse_key(hex_key: &str) -> Result<Vec<u8>, CardError> {
    let clean: String = hex_key
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let key = hex::decode(clean).map_err(|_| CardError::BadManagementKey)?;
    if Algorithm::candidates(key.len()).is_empty() {
        return Err(CardError::BadManagementKey);
    }
    Ok(key)
}

fn run<C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt>(
    key: &[u8],
    block: &[u8],
    encrypt: bool,
) -> Result<Vec<u8>, CardError> {
    let c = C::new_from_slice(key).map_err(|_| CardError::BadManagementKey)?;
    let mut b =
        Block::<C>::try_from(block).map_err(|_| CardError::Malformed("认证数据长度不正确"))?;
    if encrypt {
        c.encrypt_block(&mut b);
    } else {
        c.decrypt_block(&mut b);
    }
    Ok(b.to_vec())
}

/// Encrypts (or decrypts) one block with the management key.
pub fn cipher(
    alg: Algorithm,
    key: &[u8],
    block: &[u8],
    encrypt: bool,
) -> Result<Vec<u8>, CardError> {
    if key.len() != alg.key_len() {
        return Err(CardError::BadManagementKey);
    }
    match alg {
        Algorithm::TripleDes => run::<des::TdesEde3>(key, block, encrypt),
        Algorithm::Aes128 => run::<aes::Aes128>(key, block, encrypt),
        Algorithm::Aes192 => run::<aes::Aes192>(key, block, encrypt),
        Algorithm::Aes256 => run::<aes::Aes256>(key, block, encrypt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_for_each_algorithm() {
        for alg in [
            Algorithm::TripleDes,
            Algorithm::Aes128,
            Algorithm::Aes192,
            Algorithm::Aes256,
        ] {
            let key: Vec<u8> = (1..=alg.key_len() as u8).collect();
            let block = vec![0x42; alg.block_len()];
            let e = cipher(alg, &key, &block, true).unwrap();
            assert_ne!(e, block);
            assert_eq!(cipher(alg, &key, &e, false).unwrap(), block);
        }
        assert_eq!(parse_key("0102").unwrap_err(), CardError::BadManagementKey);
        assert_eq!(parse_key(&hex::encode(DEFAULT_KEY)).unwrap(), DEFAULT_KEY);
    }
}
