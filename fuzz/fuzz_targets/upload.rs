//! The 批量勾选 upload parser on arbitrary bytes: it must return (a parsed sheet or an error)
//! without panicking, aborting or allocating without bound, whatever the file holds.
//! Run: `cargo +nightly fuzz run upload fuzz/seeds/upload -- -max_total_time=600 -rss_limit_mb=2048`
#![no_main]

use fapiao::sheet::{selection, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 5 << 20,
        max_rows: 20_000,
    };
    if let Ok(p) = selection::parse(data, limits) {
        // Every reported row is below the header and within the limit.
        assert!(p.rows <= limits.max_rows);
        for c in &p.choices {
            assert!(c.row >= 2);
        }
    }
});
