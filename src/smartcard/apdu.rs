//! ISO 7816-4 command and response APDUs, and the [`Transport`] a card is reached through.

use super::CardError;

/// Sends one command APDU to a card and returns its answer: data then SW1 SW2.
pub trait Transport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}

/// A command APDU, parsed or to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Expected answer length (`Some(256)` for a short `Le` of 00); `None` when absent.
    pub le: Option<usize>,
    /// Whether it was sent with extended lengths.
    pub extended: bool,
}

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Command {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le: Some(256),
            extended: false,
        }
    }

    /// Short encoding (data at most 255 bytes; longer data is chained by the caller).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            out.push(self.data.len().min(255) as u8);
            out.extend_from_slice(&self.data[..self.data.len().min(255)]);
        }
        if let Some(le) = self.le {
            out.push(if le >= 256 { 0 } else { le as u8 });
        }
        out
    }

    /// Parses a short or extended command APDU.
    pub fn parse(b: &[u8]) -> Option<Command> {
        let head: [u8; 4] = b.get(..4)?.try_into().ok()?;
        let [cla, ins, p1, p2] = head;
        let body = &b[4..];
        let mut c = Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
            extended: false,
        };
        match body.len() {
            0 => {}
            1 => {
                c.le = Some(if body[0] == 0 {
                    256
                } else {
                    usize::from(body[0])
                })
            }
            _ if body[0] != 0 => {
                let lc = usize::from(body[0]);
                c.data = body.get(1..1 + lc)?.to_vec();
                match body.len() - 1 - lc {
                    0 => {}
                    1 => {
                        let le = body[1 + lc];
                        c.le = Some(if le == 0 { 256 } else { usize::from(le) });
                    }
                    _ => return None,
                }
            }
            3 => {
                c.extended = true;
                let le = usize::from(body[1]) << 8 | usize::from(body[2]);
                c.le = Some(if le == 0 { 65536 } else { le });
            }
            _ => {
                c.extended = true;
                let lc = usize::from(body[1]) << 8 | usize::from(body[2]);
                c.data = body.get(3..3 + lc)?.to_vec();
                match body.len() - 3 - lc {
                    0 => {}
                    2 => {
                        let le = usize::from(body[3 + lc]) << 8 | usize::from(body[4 + lc]);
                        c.le = Some(if le == 0 { 65536 } else { le });
                    }
                    _ => return None,
                }
            }
        }
        Some(c)
    }
}

/// A response APDU: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    pub fn from_bytes(mut b: Vec<u8>) -> Result<Response, CardError> {
        if b.len() < 2 {
            return Err(CardError::Malformed("回应短于两个字节"));
        }
        let sw2 = b.pop().unwrap_or(0);
        let sw1 = b.pop().unwrap_or(0);
        Ok(Response {
            data: b,
            sw: u16::from(sw1) << 8 | u16::from(sw2),
        })
    }

    pub fn ok(&self) -> bool {
        self.sw == 0x9000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_commands_parse() {
        let c = Command::new(0, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x05]);
        let b = c.encode();
        assert_eq!(b, [0, 0xCB, 0x3F, 0xFF, 5, 0x5C, 3, 0x5F, 0xC1, 0x05, 0]);
        assert_eq!(Command::parse(&b), Some(c));
        let ext = [0u8, 0xDB, 0x3F, 0xFF, 0, 0x01, 0x00]
            .iter()
            .copied()
            .chain(std::iter::repeat_n(9u8, 256))
            .collect::<Vec<u8>>();
        let p = Command::parse(&ext).unwrap();
        assert!(p.extended);
        assert_eq!(p.data.len(), 256);
        assert_eq!(Command::parse(&[0, 0xA4, 4, 0, 5, 1]), None);
        assert_eq!(Command::parse(&[0, 0xC0, 0, 0, 0]).unwrap().le, Some(256));
    }
}
