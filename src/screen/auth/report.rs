//! Turning mail-auth's outputs into the plain strings of [`AuthResults`] and its summary line.

use mail_auth::arc::ArcError;
use mail_auth::dkim::DkimError;
use mail_auth::dmarc::Policy;
use mail_auth::{ArcOutput, DkimOutput, DkimResult, DmarcOutput, DmarcResult, Error, SpfOutput, SpfResult};

use super::{AuthResults, Envelope, SenderGrade};

/// mail-auth's outputs for one message, before they become plain strings.
pub(super) struct Outcome<'a> {
    pub(super) spf: &'a SpfOutput,
    pub(super) dkim: &'a [DkimOutput<'a>],
    pub(super) dmarc: &'a DmarcOutput,
    pub(super) arc: &'a ArcOutput<'a>,
}

impl Outcome<'_> {
    pub(super) fn into_results(self, envelope: &Envelope<'_>, host: &str, from_domain: String, grade: SenderGrade) -> AuthResults {
        let best_dkim = self.dkim.iter().min_by_key(|output| dkim_rank(output.result()));
        let dkim = best_dkim.map_or("none", |output| dkim_name(output.result()));
        let dmarc_policy = match self.dmarc.dmarc_record() {
            None => "",
            Some(_) => policy_name(self.dmarc.policy()),
        };
        let mut results = AuthResults {
            spf: spf_name(self.spf.result()).into(),
            dkim: dkim.into(),
            dmarc: dmarc_name(&self.dmarc.result()).into(),
            dmarc_policy: dmarc_policy.into(),
            arc: dkim_name(self.arc.result()).into(),
            from_domain,
            grade,
            summary: String::new(),
        };
        let dkim_domain = best_dkim.and_then(|output| output.signature()).map(|s| s.d.as_str());
        results.summary = summary(&results, envelope, host, dkim_domain);
        results
    }
}

/// `host; spf=… smtp.mailfrom=DOMAIN; dkim=… header.d=…; dmarc=… header.from=… policy.dmarc=…;
/// arc=…`. Domains only (never local parts or content), each reduced to DNS-name characters.
fn summary(results: &AuthResults, envelope: &Envelope<'_>, host: &str, dkim_domain: Option<&str>) -> String {
    let mut line = format!("{}; spf={}", clean(host), results.spf);
    match envelope.mail_from {
        Some(_) => push_property(&mut line, "smtp.mailfrom", envelope.spf_domain()),
        None => push_property(&mut line, "smtp.helo", envelope.helo),
    }
    line.push_str("; dkim=");
    line.push_str(&results.dkim);
    push_property(&mut line, "header.d", dkim_domain.unwrap_or_default());
    line.push_str("; dmarc=");
    line.push_str(&results.dmarc);
    push_property(&mut line, "header.from", &results.from_domain);
    push_property(&mut line, "policy.dmarc", &results.dmarc_policy);
    line.push_str("; arc=");
    line.push_str(&results.arc);
    line
}

fn push_property(line: &mut String, name: &str, value: &str) {
    let value = clean(value);
    if !value.is_empty() {
        line.push(' ');
        line.push_str(name);
        line.push('=');
        line.push_str(&value);
    }
}

/// Keeps what a domain or address literal may contain, so peer-chosen text cannot forge fields.
fn clean(value: &str) -> String {
    value.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']')).take(255).collect()
}

fn spf_name(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

/// mail-auth reports a body hash mismatch as "neutral"; RFC 6376 §6.1.3 calls it a failed
/// verification, and so do we. Used for DKIM and ARC alike.
fn dkim_name(result: &DkimResult) -> &'static str {
    match result {
        DkimResult::Pass => "pass",
        DkimResult::Fail(_) => "fail",
        DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch))
        | DkimResult::Neutral(Error::Arc(ArcError::FailedBodyHashMatch)) => "fail",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

/// Which signature speaks for the message: a pass, else one that might pass later, else the
/// clearest failure.
fn dkim_rank(result: &DkimResult) -> u8 {
    match dkim_name(result) {
        "pass" => 0,
        "temperror" => 1,
        "fail" => 2,
        "permerror" => 3,
        "neutral" => 4,
        _ => 5,
    }
}

fn dmarc_name(result: &DmarcResult) -> &'static str {
    match result {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}

fn policy_name(policy: Policy) -> &'static str {
    match policy {
        Policy::Reject => "reject",
        Policy::Quarantine => "quarantine",
        Policy::None | Policy::Unspecified => "none",
    }
}
