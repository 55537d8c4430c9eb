//! Routing a hand-off (转人工) by region: an interaction waits for the agents who serve the
//! taxpayer's region (the operations centre of the taxpayer's area); when none of them is
//! online, the configured [`Fallback`] decides. An agent assigned no region serves every
//! region, so a setup without regions behaves as one national queue.
//!
//! Plain functions: who is online and what is configured are passed in.

use serde::{Deserialize, Serialize};

use crate::domain::error::DomainError;
use crate::domain::Region;

/// What happens to a hand-off when no agent serving the taxpayer's region is online.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Any online agent may take it (the national queue as a back-up).
    #[default]
    Any,
    /// It stays queued for its region until one of the region's agents comes online.
    Wait,
}

/// Whether an agent assigned `regions` serves `region` (no regions: every region).
pub fn serves(regions: &[Region], region: Option<Region>) -> bool {
    regions.is_empty() || region.is_some_and(|r| regions.contains(&r))
}

/// The online agents who may take a hand-off of a taxpayer of `region` (`None`: a taxpayer
/// whose region is unknown, served only by agents without regions, or by the fallback):
/// those serving the region; when none of them is online, every online agent with
/// [`Fallback::Any`] and nobody with [`Fallback::Wait`]. `online` is each online agent with
/// the regions assigned to them; the answer keeps its order.
pub fn who_may_take<'a, K: ?Sized>(
    region: Option<Region>,
    online: &[(&'a K, &[Region])],
    fallback: Fallback,
) -> Vec<&'a K> {
    let serving: Vec<&'a K> = online
        .iter()
        .filter(|(_, rs)| serves(rs, region))
        .map(|(k, _)| *k)
        .collect();
    if !serving.is_empty() {
        return serving;
    }
    match fallback {
        Fallback::Any => online.iter().map(|(k, _)| *k).collect(),
        Fallback::Wait => Vec::new(),
    }
}

/// Whether the bot answers taxpayers of `region`, given the regions it is switched off for.
/// Taxpayers of a region without the bot go straight to the human queue.
pub fn bot_on(off: &[Region], region: Option<Region>) -> bool {
    !region.is_some_and(|r| off.contains(&r))
}

/// The regions assigned to an agent, from what an administrator entered (codes such as
/// `"350000"` or names such as `"福建省"`): sorted, without duplicates. An unknown region is
/// refused (field `regions`) with its Chinese message.
pub fn parse_regions<S: AsRef<str>>(input: &[S]) -> Result<Vec<Region>, DomainError> {
    let mut out = Vec::with_capacity(input.len());
    for s in input {
        let r = Region::parse(s.as_ref())
            .map_err(|e| DomainError::new("regions", format!("服务地区有误：{}", e.message)))?;
        out.push(r);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(s: &str) -> Region {
        Region::parse(s).unwrap()
    }

    #[test]
    fn an_agent_without_regions_serves_every_region() {
        assert!(serves(&[], Some(r("350000"))));
        assert!(serves(&[], None));
        assert!(serves(&[r("350000")], Some(r("350000"))));
        assert!(!serves(&[r("350000")], Some(r("440000"))));
        assert!(!serves(&[r("350000")], None));
    }

    #[test]
    fn the_regions_agents_take_it_first() {
        let fj = [r("350000")];
        let gd = [r("440000"), r("440300")];
        let online: Vec<(&str, &[Region])> = vec![("fj", &fj), ("gd", &gd)];
        for fb in [Fallback::Any, Fallback::Wait] {
            assert_eq!(who_may_take(Some(r("350000")), &online, fb), vec!["fj"]);
            assert_eq!(who_may_take(Some(r("440300")), &online, fb), vec!["gd"]);
        }
        // An agent without regions is one of the region's agents everywhere.
        let all: [Region; 0] = [];
        let online: Vec<(&str, &[Region])> = vec![("fj", &fj), ("any", &all)];
        assert_eq!(
            who_may_take(Some(r("350000")), &online, Fallback::Wait),
            vec!["fj", "any"]
        );
        assert_eq!(
            who_may_take(Some(r("440000")), &online, Fallback::Wait),
            vec!["any"]
        );
    }

    #[test]
    fn without_the_regions_agents_the_fallback_decides() {
        let fj = [r("350000")];
        let online: Vec<(&str, &[Region])> = vec![("fj", &fj)];
        assert_eq!(
            who_may_take(Some(r("110000")), &online, Fallback::Any),
            vec!["fj"]
        );
        assert!(who_may_take(Some(r("110000")), &online, Fallback::Wait).is_empty());
        // An unknown region is nobody's region.
        assert_eq!(who_may_take(None, &online, Fallback::Any), vec!["fj"]);
        assert!(who_may_take(None, &online, Fallback::Wait).is_empty());
        // Nobody online: nobody, whatever the fallback.
        let none: Vec<(&str, &[Region])> = Vec::new();
        assert!(who_may_take(Some(r("110000")), &none, Fallback::Any).is_empty());
    }

    #[test]
    fn the_bot_is_switched_off_per_region() {
        let off = [r("110000")];
        assert!(!bot_on(&off, Some(r("110000"))));
        assert!(bot_on(&off, Some(r("350000"))));
        assert!(bot_on(&off, None));
        assert!(bot_on(&[], Some(r("110000"))));
    }

    #[test]
    fn regions_are_parsed_sorted_and_unique() {
        let got = parse_regions(&["440000", "福建省", "350000"]).unwrap();
        assert_eq!(got, vec![r("350000"), r("440000")]);
        assert!(parse_regions::<&str>(&[]).unwrap().is_empty());
        let e = parse_regions(&["350000", "999999"]).unwrap_err();
        assert_eq!(e.field, "regions");
        assert!(e.message.contains("999999"), "{}", e.message);
        assert!(parse_regions(&["35"]).is_err());
    }
}
