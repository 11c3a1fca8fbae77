//! Test 5 (a print, not an assertion): time parsing the 20 files of the 2023-10 snapshot
//! (19 national lists + LOTL 332). Meaningful in release:
//! `cargo test --release --test timing -- --nocapture`.
//!
//! Owns: the timing print. Must not: verify signatures or decide trust.

use std::time::{Duration, Instant};

use crate::common::{read, tsl, xml_files};

#[test]
fn parse_snapshot_timing() {
    let files = xml_files("snapshot-2023-10");
    assert_eq!(files.len(), 20);
    let inputs: Vec<(String, Vec<u8>)> = files.iter().map(|f| (f.clone(), read(f))).collect();
    let total_bytes: usize = inputs.iter().map(|(_, b)| b.len()).sum();
    let rounds = 5;
    let mut best_total = Duration::MAX;
    let mut per_file = vec![Duration::MAX; inputs.len()];
    for _ in 0..rounds {
        let start = Instant::now();
        for (i, (_, bytes)) in inputs.iter().enumerate() {
            let t = Instant::now();
            let tl = tsl::parse_bytes(bytes).expect("parses");
            std::hint::black_box(&tl);
            per_file[i] = per_file[i].min(t.elapsed());
        }
        best_total = best_total.min(start.elapsed());
    }
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("\nparse_bytes timing ({profile}, best of {rounds}):");
    for ((f, b), d) in inputs.iter().zip(&per_file) {
        println!(
            "  {:<40} {:>9} B  {:>8.2} ms",
            f,
            b.len(),
            d.as_secs_f64() * 1e3
        );
    }
    println!(
        "  all 20 files: {} B in {:.1} ms ({:.0} MB/s)",
        total_bytes,
        best_total.as_secs_f64() * 1e3,
        total_bytes as f64 / best_total.as_secs_f64() / 1e6
    );
}
