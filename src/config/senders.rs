//! A queue's sender lists, `allow_senders` and `deny_senders`: patterns parsed once from the
//! config file (or the console) and the one decision over them, [`check`].
//!
//! A pattern is `user@domain` (that address), `@domain` (every address at that domain, not its
//! subdomains) or `@*.domain` (every address at a subdomain of the domain, and at the domain
//! itself). Addresses and patterns compare without regard to ASCII case.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// One entry of a sender list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderPattern {
    /// `user@domain`.
    Address(String),
    /// `@domain`.
    Domain(String),
    /// `@*.domain`: the domain and every subdomain.
    Subdomains(String),
}

/// A domain name as a list may name it: labels of letters, digits and hyphens (and `_`), at
/// least two labels, none empty or longer than 63 characters.
fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl SenderPattern {
    /// Parses `user@domain`, `@domain` or `@*.domain`.
    ///
    /// # Errors
    /// A sentence saying what is wrong with `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        let Some((local, domain)) = t.rsplit_once('@') else {
            return Err(format!("{text:?} is not a sender pattern: write user@domain, @domain or @*.domain"));
        };
        let (pattern, domain) = match (local, domain.strip_prefix("*.")) {
            ("", Some(rest)) => (Self::Subdomains(rest.to_owned()), rest),
            ("", None) => (Self::Domain(domain.to_owned()), domain),
            (_, Some(_)) => return Err(format!("{text:?}: a wildcard goes only in @*.domain, without a user")),
            (local, None) => {
                if local.len() > 64 || local.contains(char::is_whitespace) || local.contains('*') {
                    return Err(format!("{text:?}: the part before @ is not a mailbox name"));
                }
                (Self::Address(t.clone()), domain)
            }
        };
        if !valid_domain(domain) {
            return Err(format!("{text:?}: {domain:?} is not a domain name"));
        }
        Ok(pattern)
    }

    /// Whether `address` (`user@domain`, any case) is one this pattern names.
    pub fn matches(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        let Some((_, domain)) = address.rsplit_once('@') else { return false };
        match self {
            Self::Address(a) => *a == address,
            Self::Domain(d) => d == domain,
            Self::Subdomains(d) => domain == d || domain.strip_suffix(d.as_str()).is_some_and(|head| head.ends_with('.')),
        }
    }
}

impl fmt::Display for SenderPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(a) => f.write_str(a),
            Self::Domain(d) => write!(f, "@{d}"),
            Self::Subdomains(d) => write!(f, "@*.{d}"),
        }
    }
}

impl<'de> Deserialize<'de> for SenderPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a queue's lists say about a mail's senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderCheck {
    Allowed,
    /// An address of the mail matches this `deny_senders` entry.
    Denied(SenderPattern),
    /// The queue has an allow list and the patron's address is not on it.
    NotAllowed,
}

/// The lists' decision for one mail. `patron` is the address the mail is from (the From
/// header's, which DMARC authenticates and the reply goes to; the envelope sender when there is
/// none); `envelope` is the envelope sender. Deny wins: the mail is denied when either address
/// matches a deny entry. Otherwise an empty allow list allows everyone, and a non-empty one
/// must name the patron (the envelope alone does not: forwarders rewrite it).
pub fn check(allow: &[SenderPattern], deny: &[SenderPattern], patron: &str, envelope: &str) -> SenderCheck {
    for address in [patron, envelope].into_iter().filter(|a| !a.is_empty()) {
        if let Some(p) = deny.iter().find(|p| p.matches(address)) {
            return SenderCheck::Denied(p.clone());
        }
    }
    if allow.is_empty() || allow.iter().any(|p| p.matches(patron)) { SenderCheck::Allowed } else { SenderCheck::NotAllowed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<SenderPattern> {
        entries.iter().map(|e| SenderPattern::parse(e).unwrap()).collect()
    }

    #[test]
    fn patterns_parse_to_one_form_and_print_back() {
        for (text, shown) in [
            ("Patron@Example.ORG", "patron@example.org"),
            ("@example.org", "@example.org"),
            (" @*.Uni.Example ", "@*.uni.example"),
            ("first.last+print@mail.example.org", "first.last+print@mail.example.org"),
        ] {
            assert_eq!(SenderPattern::parse(text).unwrap().to_string(), shown, "{text:?}");
        }
        for bad in [
            "example.org",
            "@",
            "user@",
            "@*.",
            "*@example.org",
            "user@*.example.org",
            "@exa mple.org",
            "@localhost",
            "@-x.org",
            "@x..org",
            "",
        ] {
            assert!(SenderPattern::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn patterns_match_addresses() {
        for (pattern, address, matches) in [
            ("p@example.org", "P@EXAMPLE.org", true),
            ("p@example.org", "q@example.org", false),
            ("@example.org", "anyone@example.org", true),
            ("@example.org", "anyone@mail.example.org", false),
            ("@*.example.org", "anyone@mail.example.org", true),
            ("@*.example.org", "anyone@a.b.example.org", true),
            ("@*.example.org", "anyone@example.org", true),
            ("@*.example.org", "anyone@badexample.org", false),
            ("@*.example.org", "anyone@example.org.evil.test", false),
            ("@example.org", "not an address", false),
            ("@example.org", "", false),
        ] {
            assert_eq!(SenderPattern::parse(pattern).unwrap().matches(address), matches, "{pattern} ~ {address}");
        }
    }

    #[test]
    fn deny_wins_and_an_empty_allow_list_allows_everyone() {
        use SenderCheck::*;
        let deny = list(&["@spam.test", "blocked@uni.example"]);
        let denied = |p: &str| Denied(SenderPattern::parse(p).unwrap());
        // (allow list, patron, envelope, decision)
        for (allow, patron, envelope, expected) in [
            (vec![], "anyone@example.org", "anyone@example.org", Allowed),
            (vec![], "x@spam.test", "x@spam.test", denied("@spam.test")),
            (vec![], "patron@example.org", "bounce@spam.test", denied("@spam.test")),
            (vec!["@*.uni.example"], "student@mail.uni.example", "", Allowed),
            (vec!["@*.uni.example"], "blocked@uni.example", "blocked@uni.example", denied("blocked@uni.example")),
            (vec!["@*.uni.example"], "guest@example.org", "guest@example.org", NotAllowed),
            (vec!["@*.uni.example"], "guest@example.org", "student@uni.example", NotAllowed),
            (vec!["@*.uni.example"], "", "", NotAllowed),
            (vec!["librarian@example.org"], "Librarian@Example.org", "srs=x@forwarder.test", Allowed),
        ] {
            assert_eq!(check(&list(&allow), &deny, patron, envelope), expected, "allow {allow:?}, {patron} / {envelope}");
        }
    }
}
