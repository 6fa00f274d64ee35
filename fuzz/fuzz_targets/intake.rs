//! MIME intake: `printgate::intake::Submission::parse` on arbitrary bytes must not panic, and
//! neither must describing what it found.

#![no_main]

use libfuzzer_sys::fuzz_target;
use printgate::intake::Submission;

fuzz_target!(|data: &[u8]| {
    if let Ok(submission) = Submission::parse(data) {
        let _ = submission.describe_contents();
    }
});
