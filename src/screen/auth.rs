//! Sender authentication: SPF, DKIM, DMARC and ARC through mail-auth, graded for policy.
//!
//! Owns the question "is the From address really the sender's?" and nothing else: it reads the
//! raw message and the SMTP envelope, asks the DNS, and returns [`AuthResults`]. It never decides
//! accept or reject by itself and never logs or returns message content.
//!
//! # Identities
//! SPF checks the MAIL FROM domain; for a null sender (`MAIL FROM:<>`) it checks the HELO name
//! instead (RFC 7208 §2.4), and that identity is also what DMARC aligns against. An address
//! literal HELO (`[192.0.2.1]`) has no SPF identity: the result is `none` without a lookup.
//! DKIM verifies every signature; ARC verifies the chain and is reported, not graded.
//!
//! # Grading ([`SenderGrade`])
//! - **Authenticated**: DMARC passes; or the From domain has no DMARC record (DMARC `none`) and
//!   either SPF passes for a domain aligned with From, or a DKIM signature passes with `d=`
//!   aligned with From. Without a DMARC record there is no organisational domain to compare, so
//!   "aligned" is the safe subset of relaxed alignment: the same domain, or the authenticated
//!   domain is a parent of the From domain (`d=example.com` for `From: a@mail.example.com`).
//!   A *child* of the From domain is not enough, as without a public-suffix list
//!   `evil.github.io` could vouch for `github.io`.
//! - **Failing**: DMARC fails and the policy that applies to the From domain is `reject`
//!   (after `sp`/`np` and the `t=y` testing downgrade).
//! - **Unauthenticated**: everything else, including DMARC `quarantine` failures (the domain
//!   owner asked for suspicion, not refusal), DNS trouble (temperror), several From domains and
//!   unparseable messages.
//!
//! # DNS budget
//! Each query waits at most [`DNS_TIMEOUT`] with one attempt, and each stage (SPF, DKIM and ARC
//! side by side, then DMARC) at most [`STAGE_BUDGET`]; a stage out of time reports temperror.
//! So an unreachable DNS costs a session about two budgets at worst, never minutes.

mod dns;
mod report;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::hickory_resolver::net::NetError;
use mail_auth::hickory_resolver::system_conf::read_system_conf;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, DnsError, Error, MessageAuthenticator, Parameters,
    SpfOutput, SpfResult,
};

use dns::DnsView;
use report::Outcome;

/// How long one DNS query may take. Short, because an SMTP session waits on it.
pub const DNS_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per DNS query: one, so a dead resolver costs [`DNS_TIMEOUT`] and not a multiple of it.
pub const DNS_ATTEMPTS: usize = 1;
/// Time for one verification stage. SPF alone may chain ten lookups (RFC 7208 §4.6.4), which at
/// [`DNS_TIMEOUT`] each would hold a session for 20 s; past this budget the stage is temperror.
pub const STAGE_BUDGET: Duration = Duration::from_secs(6);

/// What the authentication results mean for replying to (and trusting) the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderGrade {
    /// DMARC pass, or no DMARC record and SPF or DKIM aligned with From.
    Authenticated,
    /// Nothing proves the sender, but the domain did not ask for rejection either.
    Unauthenticated,
    /// DMARC fails and the From domain's policy is `reject`.
    Failing,
}

impl SenderGrade {
    /// The word used in traces, spool entries and config (`authenticated`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Unauthenticated => "unauthenticated",
            Self::Failing => "failing",
        }
    }
}

/// The outcome of [`SenderAuth::check`] for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// "pass" | "fail" | "softfail" | "neutral" | "none" | "temperror" | "permerror"
    pub spf: String,
    /// The best result among the signatures ("pass" before "temperror" before "fail" …), or
    /// "none" when the message is unsigned. A body that no longer matches its hash is "fail".
    pub dkim: String,
    /// "pass" | "fail" | "temperror" | "permerror" | "none" (no record, or several From domains).
    pub dmarc: String,
    /// The policy applying to the From domain: "reject" | "quarantine" | "none", "" without record.
    pub dmarc_policy: String,
    /// "pass" | "fail" | "neutral" | "temperror" | "permerror" | "none" (no ARC headers).
    pub arc: String,
    /// The RFC5322.From domain, lowercase (A-label); "" when missing or not a single domain.
    pub from_domain: String,
    /// The policy reading of the results above.
    pub grade: SenderGrade,
    /// An `Authentication-Results`-style one-line summary for traces and logs (no content).
    pub summary: String,
}

impl AuthResults {
    /// A message that came in through no mail server (the web upload form): nothing can prove
    /// its sender, so it is treated as an unauthenticated guest, and nothing was looked up.
    pub fn not_applicable(from_domain: &str, host_domain: &str) -> Self {
        let none = || "none".to_owned();
        Self {
            spf: none(),
            dkim: none(),
            dmarc: none(),
            dmarc_policy: String::new(),
            arc: none(),
            from_domain: from_domain.to_ascii_lowercase(),
            grade: SenderGrade::Unauthenticated,
            summary: format!("{host_domain}; web upload, sender not authenticated"),
        }
    }
}

/// Sender authentication, shared by all SMTP sessions (`Send + Sync`, used behind `Arc`).
pub struct SenderAuth {
    /// `None`: disabled, no DNS at all.
    engine: Option<Engine>,
}

/// Cannot set up sender authentication.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The system resolver configuration (`/etc/resolv.conf`) is missing or unreadable.
    #[error("cannot read the system DNS configuration: {0}")]
    SystemConfig(#[source] NetError),
    /// The resolver could not be built from its configuration.
    #[error("cannot build the DNS resolver: {0}")]
    Resolver(#[source] NetError),
    /// A fixed record's name cannot be a DNS name.
    #[error("invalid DNS name {name:?} in the fixed DNS records")]
    RecordName { name: String },
}

impl SenderAuth {
    /// Real DNS through the system resolver configuration, with short timeouts ([`DNS_TIMEOUT`],
    /// [`DNS_ATTEMPTS`]) so an unreachable DNS never stalls SMTP sessions for long.
    ///
    /// # Errors
    /// [`AuthError::SystemConfig`] when the system configuration cannot be read,
    /// [`AuthError::Resolver`] when the resolver cannot be built from it.
    pub fn system() -> Result<Self, AuthError> {
        let (config, mut options) = read_system_conf().map_err(AuthError::SystemConfig)?;
        options.timeout = DNS_TIMEOUT;
        options.attempts = DNS_ATTEMPTS;
        let authenticator = MessageAuthenticator::new(config, options).map_err(AuthError::Resolver)?;
        Ok(Self { engine: Some(Engine { authenticator, dns: DnsView::live() }) })
    }

    /// Offline: only the given TXT records exist (name, text), e.g. `("example.com",
    /// "v=spf1 ip4:192.0.2.1 -all")`, `("sel._domainkey.example.com", "v=DKIM1; k=rsa; p=…")`,
    /// `("_dmarc.example.com", "v=DMARC1; p=reject")`. Every other lookup is answered in-process
    /// (TXT: NXDOMAIN, MX/PTR: no records, A/AAAA: temperror), so nothing goes to the network.
    ///
    /// # Errors
    /// [`AuthError::RecordName`] for a name that cannot be a DNS name.
    pub fn with_records(records: &[(String, String)]) -> Result<Self, AuthError> {
        let dns = DnsView::fixed(records).map_err(|name| AuthError::RecordName { name })?;
        // No name servers: a lookup the fixed records do not answer fails at once.
        let config = ResolverConfig::from_name_servers(Vec::new());
        let mut options = ResolverOpts::default();
        options.timeout = DNS_TIMEOUT;
        options.attempts = DNS_ATTEMPTS;
        let authenticator = MessageAuthenticator::new(config, options).map_err(AuthError::Resolver)?;
        Ok(Self { engine: Some(Engine { authenticator, dns }) })
    }

    /// Disabled: every result "none", grade Unauthenticated, no DNS at all.
    pub fn disabled() -> Self {
        Self { engine: None }
    }

    /// Checks one message. Never fails: DNS trouble shows as temperror in the results.
    /// `helo` is the EHLO/HELO argument, `mail_from` the envelope sender (`None` or `""` for
    /// `<>`), `host_domain` this server's name (SPF `%{r}` and the summary's authserv-id).
    pub async fn check(
        &self,
        raw_message: &[u8],
        client_ip: IpAddr,
        helo: &str,
        mail_from: Option<&str>,
        host_domain: &str,
    ) -> AuthResults {
        let envelope = Envelope { client_ip, helo, mail_from: mail_from.filter(|m| !m.is_empty()) };
        match &self.engine {
            Some(engine) => engine.check(raw_message, &envelope, host_domain).await,
            None => disabled_results(raw_message, &envelope, host_domain),
        }
    }
}

impl fmt::Debug for SenderAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.engine {
            None => "disabled",
            Some(engine) if engine.dns.is_live() => "system DNS",
            Some(_) => "fixed records",
        };
        f.debug_struct("SenderAuth").field("mode", &mode).finish()
    }
}

/// The SMTP envelope facts authentication needs.
struct Envelope<'a> {
    client_ip: IpAddr,
    helo: &'a str,
    mail_from: Option<&'a str>,
}

impl Envelope<'_> {
    /// The SPF identity domain: MAIL FROM's domain, or the HELO name for a null sender.
    fn spf_domain(&self) -> &str {
        match self.mail_from {
            Some(sender) => sender.rsplit_once('@').map_or(self.helo, |(_, domain)| domain),
            None => self.helo,
        }
    }
}

struct Engine {
    authenticator: MessageAuthenticator,
    dns: DnsView,
}

type Params<'x, P> = Parameters<'x, P, DnsView, DnsView, DnsView, DnsView, DnsView>;

impl Engine {
    async fn check(&self, raw: &[u8], envelope: &Envelope<'_>, host: &str) -> AuthResults {
        let message = AuthenticatedMessage::parse(raw);
        let (spf, dkim, arc) = tokio::join!(self.spf(envelope, host), self.dkim(message.as_ref()), self.arc(message.as_ref()));
        let dmarc = self.dmarc(message.as_ref(), &dkim, envelope.spf_domain(), &spf).await;
        let from_domain = message.as_ref().map(single_from_domain).unwrap_or_default();
        let grade = grade(&dmarc, &spf, &dkim, &from_domain);
        let results = Outcome { spf: &spf, dkim: &dkim, dmarc: &dmarc, arc: &arc };
        results.into_results(envelope, host, from_domain, grade)
    }

    /// mail-auth's parameters with our DNS view as every cache.
    fn params<P>(&self, params: P) -> Params<'_, P> {
        Parameters::new(params)
            .with_txt_cache(&self.dns)
            .with_mx_cache(&self.dns)
            .with_ptr_cache(&self.dns)
            .with_ipv4_cache(&self.dns)
            .with_ipv6_cache(&self.dns)
    }

    async fn spf(&self, envelope: &Envelope<'_>, host: &str) -> SpfOutput {
        let domain = envelope.spf_domain();
        if domain.is_empty() || domain.starts_with('[') || domain.parse::<IpAddr>().is_ok() {
            return SpfOutput::new(domain.to_string()).with_result(SpfResult::None);
        }
        let params = match envelope.mail_from {
            Some(sender) => SpfParameters::verify_mail_from(envelope.client_ip, envelope.helo, host, sender),
            None => SpfParameters::verify_ehlo(envelope.client_ip, envelope.helo, host),
        };
        let verify = self.authenticator.verify_spf(self.params(params));
        tokio::time::timeout(STAGE_BUDGET, verify)
            .await
            .unwrap_or_else(|_| SpfOutput::new(domain.to_string()).with_result(SpfResult::TempError))
    }

    async fn dkim<'x>(&'x self, message: Option<&'x AuthenticatedMessage<'x>>) -> Vec<DkimOutput<'x>> {
        let Some(message) = message else { return Vec::new() };
        let verify = self.authenticator.verify_dkim(self.params(message));
        tokio::time::timeout(STAGE_BUDGET, verify).await.unwrap_or_else(|_| vec![DkimOutput::temp_err(out_of_time())])
    }

    async fn arc<'x>(&'x self, message: Option<&'x AuthenticatedMessage<'x>>) -> ArcOutput<'x> {
        let Some(message) = message else { return ArcOutput::default() };
        let verify = self.authenticator.verify_arc(self.params(message));
        tokio::time::timeout(STAGE_BUDGET, verify)
            .await
            .unwrap_or_else(|_| ArcOutput::default().with_result(DkimResult::TempError(out_of_time())))
    }

    async fn dmarc<'x>(
        &self,
        message: Option<&'x AuthenticatedMessage<'x>>,
        dkim: &'x [DkimOutput<'x>],
        spf_domain: &'x str,
        spf: &'x SpfOutput,
    ) -> DmarcOutput {
        let Some(message) = message else { return DmarcOutput::default() };
        let params = DmarcParameters::new(message, dkim, spf_domain, spf);
        let verify = self.authenticator.verify_dmarc(self.params(params));
        tokio::time::timeout(STAGE_BUDGET, verify).await.unwrap_or_else(|_| {
            let temp = DmarcResult::TempError(out_of_time());
            DmarcOutput::default().with_spf_result(temp.clone()).with_dkim_result(temp)
        })
    }
}

fn out_of_time() -> Error {
    Error::Dns(DnsError::Resolver(format!("no answer within {STAGE_BUDGET:?}")))
}

fn disabled_results(raw: &[u8], envelope: &Envelope<'_>, host: &str) -> AuthResults {
    // Reading the From header costs no DNS and tells the trace whom the message claims to be from.
    let message = AuthenticatedMessage::parse(raw);
    let from_domain = message.as_ref().map(single_from_domain).unwrap_or_default();
    let (spf, dmarc, arc) = (SpfOutput::default(), DmarcOutput::default(), ArcOutput::default());
    let results = Outcome { spf: &spf, dkim: &[], dmarc: &dmarc, arc: &arc };
    results.into_results(envelope, host, from_domain, SenderGrade::Unauthenticated)
}

/// The From domain DMARC would evaluate: one domain shared by all From addresses, else "".
fn single_from_domain(message: &AuthenticatedMessage<'_>) -> String {
    let mut domains = message
        .froms()
        .iter()
        .filter_map(|from| from.rsplit_once('@'))
        .map(|(_, domain)| mail_auth::common::to_a_label(domain).into_owned());
    let Some(first) = domains.next() else { return String::new() };
    if domains.all(|d| d == first) { first } else { String::new() }
}

/// Applies the grading rules in the module docs.
fn grade(dmarc: &DmarcOutput, spf: &SpfOutput, dkim: &[DkimOutput<'_>], from_domain: &str) -> SenderGrade {
    match dmarc.result() {
        DmarcResult::Pass => return SenderGrade::Authenticated,
        DmarcResult::Fail(_) if dmarc.policy() == Policy::Reject => return SenderGrade::Failing,
        DmarcResult::None => {}
        // A record exists (or could not be read): only DMARC itself may authenticate.
        _ => return SenderGrade::Unauthenticated,
    }
    if from_domain.is_empty() {
        return SenderGrade::Unauthenticated;
    }
    let spf_aligned = spf.result() == SpfResult::Pass && aligned(spf.domain(), from_domain);
    let dkim_aligned = dkim.iter().any(|output| {
        output.result() == &DkimResult::Pass && output.signature().is_some_and(|signature| aligned(&signature.d, from_domain))
    });
    if spf_aligned || dkim_aligned { SenderGrade::Authenticated } else { SenderGrade::Unauthenticated }
}

/// Alignment without a DMARC record: `authenticated` is the From domain or a parent of it with
/// at least two labels. Case and a trailing dot are ignored.
fn aligned(authenticated: &str, from_domain: &str) -> bool {
    let auth = authenticated.trim_end_matches('.').to_ascii_lowercase();
    let from = from_domain.trim_end_matches('.').to_ascii_lowercase();
    if auth.is_empty() || from.is_empty() {
        return false;
    }
    auth == from || (auth.contains('.') && from.strip_suffix(auth.as_str()).is_some_and(|prefix| prefix.ends_with('.')))
}

#[cfg(test)]
mod tests;
