//! Sealed jobs (format v1): `Header::decode` and `open` on arbitrary bytes must not panic.
//!
//! `open` runs twice: once expecting the test vector's job and site (so mutations of
//! `tests/vectors/job-v1.pgsj` get through to key unwrapping and decryption), and once
//! expecting whatever job and site the input's own header names.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use printgate::seal::{self, Expect, Header, SitePrivateKey};

/// The job id of `tests/vectors/job-v1.pgsj`.
const VECTOR_JOB: [u8; 16] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];

fn key() -> &'static SitePrivateKey {
    static KEY: OnceLock<SitePrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SitePrivateKey::from_pem(include_str!("../../tests/vectors/main.key.pem")).expect("test vector key")
    })
}

fuzz_target!(|data: &[u8]| {
    let key = key();
    let _ = seal::open(data, key, Expect { job_id: VECTOR_JOB, site: "main" });
    if let Ok((header, len)) = Header::decode(data) {
        assert!(len <= data.len(), "header length {len} past the input's {}", data.len());
        let _ = seal::open(data, key, Expect { job_id: header.job_id, site: &header.site });
    }
});
