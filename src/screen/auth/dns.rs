//! The DNS that sender authentication sees: the live resolver, or a fixed set of TXT records.
//!
//! mail-auth consults a [`ResolverCache`] before every query and trusts what it returns, error
//! answers included (`Txt::Error`). [`DnsView`] is that cache. Live, it is always empty, so every
//! lookup goes to the resolver (which keeps its own TTL cache). With fixed records it answers
//! every lookup itself, so no packet leaves the process:
//!
//! - TXT: the seeded record for the name, otherwise NXDOMAIN (SPF/DMARC "none", DKIM permerror).
//! - MX and PTR: an empty answer (NODATA), so SPF `mx`/`ptr` simply do not match.
//! - A and AAAA: no answer from the cache. The lookup falls through to a resolver configured with
//!   no name servers, which fails at once ("no connections"): SPF `a`/`exists` give temperror.
//!   This is deliberate: mail-auth's SPF `exists` treats *any* cached A answer, even an empty
//!   one, as "the name exists", so an empty A answer would make `+exists:` match everything.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::resolver::ToFqdn;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::Spf;
use mail_auth::{DnsError, DnssecStatus, Error, MX, RecordSet, ResolverCache, Txt};

/// Longest DNS name accepted in fixed records (RFC 1035: 253 characters without the root dot).
const MAX_NAME_LEN: usize = 253;

/// What verification sees of the DNS. Cheap to clone; `Send + Sync`.
#[derive(Clone, Default)]
pub(super) struct DnsView {
    /// `None`: live DNS. `Some`: only these TXT records exist.
    fixed: Option<Arc<HashMap<Box<str>, Txt>>>,
}

impl DnsView {
    /// Live DNS: the cache never answers, every lookup reaches the resolver.
    pub(super) fn live() -> Self {
        Self::default()
    }

    /// Whether lookups go to the resolver (no fixed records).
    pub(super) fn is_live(&self) -> bool {
        self.fixed.is_none()
    }

    /// Only `records` (name, TXT text) exist. Several texts under one name are allowed, as in real
    /// DNS: like mail-auth's own lookup, the first that parses as the type expected at that name
    /// wins, and a name where none parses answers with the parse error.
    ///
    /// # Errors
    /// The first name that cannot be a DNS name (empty, too long, blanks or control characters).
    pub(super) fn fixed(records: &[(String, String)]) -> Result<Self, String> {
        let mut grouped: HashMap<Box<str>, Vec<&str>> = HashMap::new();
        for (name, text) in records {
            let key = fqdn(name).ok_or_else(|| name.clone())?;
            grouped.entry(key).or_default().push(text.as_str());
        }
        let parsed = grouped.into_iter().map(|(name, texts)| {
            let txt = parse_for_name(&name, &texts);
            (name, txt)
        });
        Ok(Self { fixed: Some(Arc::new(parsed.collect())) })
    }
}

/// The lowercase, dot-terminated form mail-auth uses as the cache key.
fn fqdn(name: &str) -> Option<Box<str>> {
    let trimmed = name.trim().trim_end_matches('.');
    let valid = !trimmed.is_empty()
        && trimmed.len() <= MAX_NAME_LEN
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        && !trimmed.split('.').any(str::is_empty);
    valid.then(|| trimmed.to_fqdn().into_owned().into_boxed_str())
}

/// Chooses the record type by where it is published, as the verifier will ask for it there.
fn parse_for_name(name: &str, texts: &[&str]) -> Txt {
    if name.starts_with("_dmarc.") || name.contains("._dmarc.") {
        first_parsed::<Dmarc>(texts)
    } else if name.contains("._domainkey.") {
        first_parsed::<DomainKey>(texts)
    } else {
        first_parsed::<Spf>(texts)
    }
}

fn first_parsed<T: TxtRecordParser + Into<Txt>>(texts: &[&str]) -> Txt {
    let mut result = Err(Error::Dns(DnsError::InvalidRecordType));
    for text in texts {
        result = T::parse(text.as_bytes());
        if result.is_ok() {
            break;
        }
    }
    result.into()
}

fn nxdomain() -> Txt {
    Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)))
}

fn no_data<T>() -> RecordSet<T> {
    RecordSet { rrset: Arc::from(Vec::new()), dnssec_status: DnssecStatus::Indeterminate }
}

impl ResolverCache<Box<str>, Txt> for DnsView {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let fixed = self.fixed.as_ref()?;
        Some(fixed.get(name).cloned().unwrap_or_else(nxdomain))
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: Instant) {}
}

impl ResolverCache<Box<str>, RecordSet<MX>> for DnsView {
    fn get<Q>(&self, _: &Q) -> Option<RecordSet<MX>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.fixed.as_ref().map(|_| no_data())
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<MX>>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: RecordSet<MX>, _: Instant) {}
}

impl ResolverCache<IpAddr, RecordSet<Box<str>>> for DnsView {
    fn get<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.fixed.as_ref().map(|_| no_data())
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: IpAddr, _: RecordSet<Box<str>>, _: Instant) {}
}

/// A and AAAA are never answered here (see the module docs for why).
macro_rules! never_cached {
    ($value:ty) => {
        impl ResolverCache<Box<str>, RecordSet<$value>> for DnsView {
            fn get<Q>(&self, _: &Q) -> Option<RecordSet<$value>>
            where
                Box<str>: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                None
            }

            fn remove<Q>(&self, _: &Q) -> Option<RecordSet<$value>>
            where
                Box<str>: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                None
            }

            fn insert(&self, _: Box<str>, _: RecordSet<$value>, _: Instant) {}
        }
    };
}

never_cached!(Ipv4Addr);
never_cached!(Ipv6Addr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_mail_auth_keys() {
        assert_eq!(fqdn("Example.COM").as_deref(), Some("example.com."));
        assert_eq!(fqdn("sel._domainkey.example.com.").as_deref(), Some("sel._domainkey.example.com."));
        for bad in ["", ".", "a..b", "bad name.example", "x\u{7}.example"] {
            assert_eq!(fqdn(bad), None, "{bad:?}");
        }
        assert_eq!(fqdn(&"a".repeat(254)), None);
    }

    #[test]
    fn unknown_names_are_nxdomain_and_live_view_never_answers() {
        let view = DnsView::fixed(&[("example.com".into(), "v=spf1 -all".into())]).unwrap();
        let hit = ResolverCache::<Box<str>, Txt>::get(&view, "example.com.");
        assert!(matches!(hit, Some(Txt::Spf(_))));
        let miss = ResolverCache::<Box<str>, Txt>::get(&view, "other.example.");
        assert!(matches!(miss, Some(Txt::Error(Error::Dns(DnsError::RecordNotFound(_))))));
        let live = DnsView::live();
        assert!(ResolverCache::<Box<str>, Txt>::get(&live, "example.com.").is_none());
        assert!(ResolverCache::<Box<str>, RecordSet<MX>>::get(&live, "example.com.").is_none());
    }

    #[test]
    fn record_type_follows_the_name_and_first_valid_text_wins() {
        let view = DnsView::fixed(&[
            ("example.com".into(), "google-site-verification=abc".into()),
            ("example.com".into(), "v=spf1 ip4:192.0.2.1 -all".into()),
            ("_dmarc.example.com".into(), "v=DMARC1; p=reject".into()),
        ])
        .unwrap();
        let spf = ResolverCache::<Box<str>, Txt>::get(&view, "example.com.");
        assert!(matches!(spf, Some(Txt::Spf(_))));
        let dmarc = ResolverCache::<Box<str>, Txt>::get(&view, "_dmarc.example.com.");
        assert!(matches!(dmarc, Some(Txt::Dmarc(_))));
    }
}
