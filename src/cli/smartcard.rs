//! PC/SC smart-card readers (feature `smartcard`): the tax certificate lives on a 金税盘 or
//! 税控盘; `fapiao readers` lists the readers the PC/SC daemon sees, to check a workstation.

use crate::service::StartError;

/// Lists the PC/SC readers and whether a card is present in each.
pub fn list_readers() -> Result<Vec<(String, bool)>, StartError> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User)
        .map_err(|e| StartError::Other(format!("PC/SC 服务不可用（pcscd 是否已启动？）：{e}")))?;
    let readers = ctx
        .list_readers_owned()
        .map_err(|e| StartError::Other(format!("无法列出读卡器：{e}")))?;
    let mut out = Vec::new();
    for r in readers {
        let name = r.to_string_lossy().into_owned();
        let mut state = [pcsc::ReaderState::new(r.clone(), pcsc::State::UNAWARE)];
        let present = ctx
            .get_status_change(std::time::Duration::from_millis(0), &mut state)
            .map(|_| state[0].event_state().contains(pcsc::State::PRESENT))
            .unwrap_or(false);
        out.push((name, present));
    }
    Ok(out)
}
