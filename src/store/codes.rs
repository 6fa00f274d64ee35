//! Release codes: N decimal digits from the CSPRNG, shown in groups of four.

use std::fmt;

use crate::crypto::{self, CryptoError};

/// A release code. Its `Debug` form hides the digits so it never lands in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ReleaseCode(String);

impl fmt::Debug for ReleaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReleaseCode(..)")
    }
}

impl ReleaseCode {
    /// Draws `digits` uniformly random decimal digits (rejection sampling: no modulo bias).
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the system generator fails.
    pub fn generate(digits: usize) -> Result<Self, CryptoError> {
        let digits = digits.clamp(4, 18);
        let space = 10u64.pow(digits as u32);
        let limit = u64::MAX - (u64::MAX % space);
        loop {
            let n = u64::from_be_bytes(crypto::random::<8>()?);
            if n < limit {
                return Ok(Self(format!("{:0width$}", n % space, width = digits)));
            }
        }
    }

    /// Reads a code as a patron types it: spaces and dashes are ignored.
    pub fn parse(typed: &str) -> Option<Self> {
        let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')).collect();
        (digits.len() >= 4 && digits.len() <= 18 && digits.chars().all(|c| c.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Groups of four: `4821 0937`.
    pub fn display(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_right_shape_and_vary() {
        let codes: Vec<ReleaseCode> = (0..200).map(|_| ReleaseCode::generate(8).unwrap()).collect();
        assert!(codes.iter().all(|c| c.digits().len() == 8 && c.digits().chars().all(|d| d.is_ascii_digit())));
        let distinct: std::collections::HashSet<_> = codes.iter().map(|c| c.digits().to_owned()).collect();
        assert!(distinct.len() > 190, "codes repeat too often: {}", distinct.len());
        // Every digit position takes many values (no stuck digit).
        for pos in 0..8 {
            let values: std::collections::HashSet<char> = codes.iter().map(|c| c.digits().as_bytes()[pos] as char).collect();
            assert!(values.len() >= 8, "position {pos} only took {values:?}");
        }
    }

    #[test]
    fn typed_codes_ignore_spaces_and_dashes() {
        assert_eq!(ReleaseCode::parse("4821 0937").unwrap().digits(), "48210937");
        assert_eq!(ReleaseCode::parse("4821-0937").unwrap().display(), "4821 0937");
        assert!(ReleaseCode::parse("4821 09a7").is_none());
        assert!(ReleaseCode::parse("12").is_none());
        assert_eq!(format!("{:?}", ReleaseCode::parse("48210937").unwrap()), "ReleaseCode(..)");
    }
}
