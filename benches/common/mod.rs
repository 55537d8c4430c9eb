//! Helpers shared by the benchmarks: flags and generated taxpayer IDs.
#![allow(dead_code, clippy::unwrap_used)]

use fapiao::domain::TaxpayerId;

/// Numeric flags `--name N` (underscores allowed) from the command line, with defaults;
/// flags this benchmark does not know (cargo passes `--bench`) are ignored.
pub fn flags(defaults: &[(&str, u64)]) -> std::collections::HashMap<String, u64> {
    let mut out: std::collections::HashMap<String, u64> = defaults
        .iter()
        .map(|(k, v)| ((*k).to_string(), *v))
        .collect();
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let name = argv[i].trim_start_matches("--").to_string();
        let value = argv
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse::<u64>().ok());
        match value {
            Some(v) if out.contains_key(&name) => {
                out.insert(name, v);
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// A valid unified social credit code: the region of Fuzhou and a counter in base 31, plus
/// its check character.
pub fn credit_code(n: u64) -> TaxpayerId {
    let chars = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut body = String::from("91350100");
    let mut v = n;
    let mut tail = Vec::new();
    for _ in 0..9 {
        tail.push(chars[(v % 31) as usize] as char);
        v /= 31;
    }
    body.extend(tail.iter().rev());
    TaxpayerId::from_credit_code_body(&body).unwrap()
}

/// A comma-separated list of numbers `--name 1000000,3_000_000` from the command line
/// (empty when the flag is absent).
pub fn list_flag(name: &str) -> Vec<u64> {
    let argv: Vec<String> = std::env::args().collect();
    let flag = format!("--{name}");
    argv.iter()
        .position(|a| *a == flag)
        .and_then(|i| argv.get(i + 1))
        .map(|v| {
            v.split(',')
                .map(|n| {
                    n.trim()
                        .replace('_', "")
                        .parse::<u64>()
                        .unwrap_or_else(|_| panic!("--{name}: {n:?} is not a number"))
                })
                .collect()
        })
        .unwrap_or_default()
}
