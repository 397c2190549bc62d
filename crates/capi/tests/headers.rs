//! The committed headers in include/ must be what build.rs generates.
// Test code: the rules against panics are for the libraries and programs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

const GENERATED: [(&str, &str); 3] = [
    (
        "lockfile.h",
        include_str!(concat!(env!("OUT_DIR"), "/lockfile.h")),
    ),
    (
        "maillock.h",
        include_str!(concat!(env!("OUT_DIR"), "/maillock.h")),
    ),
    (
        "lockfile_mbox.h",
        include_str!(concat!(env!("OUT_DIR"), "/lockfile_mbox.h")),
    ),
];

#[test]
fn committed_headers_are_up_to_date() {
    for (name, generated) in GENERATED {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../include")
            .join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "include/{name} is out of date: run make headers"
        );
    }
}
