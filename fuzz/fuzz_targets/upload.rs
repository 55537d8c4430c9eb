//! The 批量勾选 upload parser on arbitrary bytes: it must return (a parsed sheet or an error)
//! without panicking, aborting or allocating without bound, whatever the file holds.
//! Run: `cargo +nightly fuzz run upload fuzz/seeds/upload -- -max_total_time=600 -rss_limit_mb=2048`
#![no_main]

use fapiao::formats::sheet::{selection, Limits};
use libfuzzer_sys::fuzz_target;

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // The reader turns a panic inside calamine into an error (the server answers 422); let
    // such a panic unwind to it instead of aborting here. A panic that escapes `parse` still
    // unwinds into libFuzzer and is reported as a crash.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
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
