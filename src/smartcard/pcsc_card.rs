//! Readers and cards through the system's PC/SC service (pcscd on Linux, the smart-card
//! service on Windows and macOS).

use super::apdu::Transport;
use super::CardError;

/// A reader and whether a card is in it.
#[derive(Debug, Clone)]
pub struct Reader {
    pub name: String,
    pub card_present: bool,
}

fn context() -> Result<pcsc::Context, CardError> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(|e| CardError::NoService(e.to_string()))
}

fn readers_of(ctx: &pcsc::Context) -> Result<Vec<Reader>, CardError> {
    let names = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(pcsc::Error::NoService) | Err(pcsc::Error::ServiceStopped) => {
            return Err(CardError::NoService("pcscd 未运行".into()))
        }
        Err(e) => return Err(CardError::Transport(e.to_string())),
    };
    let mut out = Vec::new();
    for r in names {
        let mut state = [pcsc::ReaderState::new(r.clone(), pcsc::State::UNAWARE)];
        let present = ctx
            .get_status_change(std::time::Duration::from_millis(0), &mut state)
            .map(|_| state[0].event_state().contains(pcsc::State::PRESENT))
            .unwrap_or(false);
        out.push(Reader {
            name: r.to_string_lossy().into_owned(),
            card_present: present,
        });
    }
    Ok(out)
}

/// The readers PC/SC sees.
pub fn readers() -> Result<Vec<Reader>, CardError> {
    readers_of(&context()?)
}

/// A card connected through PC/SC.
pub struct PcscCard {
    card: pcsc::Card,
    pub reader: String,
}

impl PcscCard {
    /// Connects to the card in `reader`, or when none is named, in the only reader that has
    /// one.
    pub fn connect(reader: Option<&str>) -> Result<PcscCard, CardError> {
        let ctx = context()?;
        let all = readers_of(&ctx)?;
        if all.is_empty() {
            return Err(CardError::NoReader);
        }
        let chosen = match reader {
            Some(name) => all
                .iter()
                .find(|r| r.name == name)
                .or_else(|| all.iter().find(|r| r.name.contains(name)))
                .ok_or_else(|| CardError::ReaderNotFound(name.to_string()))?,
            None => {
                let with: Vec<&Reader> = all.iter().filter(|r| r.card_present).collect();
                match with.as_slice() {
                    [one] => *one,
                    [] => {
                        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
                        return Err(CardError::NoCard(format!(
                            "（读卡器：{}）",
                            names.join("、")
                        )));
                    }
                    many => {
                        let names: Vec<&str> = many.iter().map(|r| r.name.as_str()).collect();
                        return Err(CardError::Ambiguous(names.join("、")));
                    }
                }
            }
        };
        if !chosen.card_present {
            return Err(CardError::NoCard(format!("（读卡器：{}）", chosen.name)));
        }
        let name = std::ffi::CString::new(chosen.name.clone())
            .map_err(|_| CardError::ReaderNotFound(chosen.name.clone()))?;
        let card = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(|e| match e {
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => {
                    CardError::NoCard(format!("（读卡器：{}）", chosen.name))
                }
                e => CardError::Transport(e.to_string()),
            })?;
        Ok(PcscCard {
            card,
            reader: chosen.name.clone(),
        })
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let n = self
            .card
            .transmit(apdu, &mut buf)
            .map_err(|e| match e {
                pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard => {
                    CardError::NoCard(String::new())
                }
                e => CardError::Transport(e.to_string()),
            })?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
}
