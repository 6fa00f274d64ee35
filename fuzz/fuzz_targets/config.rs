//! Configuration: `printgate::config::Config::from_toml` on any UTF-8 text must not panic
//! (it returns every problem as an error instead).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use printgate::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::from_toml(text, Path::new("fuzz.toml"), std::iter::empty());
    }
});
