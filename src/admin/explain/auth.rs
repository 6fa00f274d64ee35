//! The sender-authentication stage in words. Reads the trace's `auth` line, the
//! `Authentication-Results`-style summary that [`crate::screen::auth`] writes
//! (`host; spf=fail smtp.mailfrom=d; dkim=none; dmarc=fail header.from=d policy.dmarc=reject;
//! arc=none`), and its `grade` (`authenticated`, `unauthenticated`, `failing`).

use super::{Stage, Verdict};

/// The results of one `auth` line; a method or property the line lacks is "".
#[derive(Debug, Default, PartialEq)]
pub(super) struct AuthFacts<'a> {
    pub spf: &'a str,
    /// The domain SPF checked: the envelope sender's, or the HELO name for a bounce.
    pub spf_domain: &'a str,
    pub dkim: &'a str,
    /// The signing domain (`header.d`) of the signature that speaks for the mail.
    pub dkim_domain: &'a str,
    pub dmarc: &'a str,
    pub from_domain: &'a str,
    /// The DMARC policy of the From domain: `reject`, `quarantine`, `none`, or "" (no record).
    pub policy: &'a str,
}

/// Parses the summary line; unknown methods and properties are ignored.
pub(super) fn parse(line: &str) -> AuthFacts<'_> {
    let mut facts = AuthFacts::default();
    for part in line.split(';').skip(1) {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else { continue };
        for (property, value) in words.filter_map(|w| w.split_once('=')) {
            match property {
                "smtp.mailfrom" | "smtp.helo" => facts.spf_domain = value,
                "header.d" => facts.dkim_domain = value,
                "header.from" => facts.from_domain = value,
                "policy.dmarc" => facts.policy = value,
                _ => {}
            }
        }
        match method {
            "spf" => facts.spf = result,
            "dkim" => facts.dkim = result,
            "dmarc" => facts.dmarc = result,
            _ => {}
        }
    }
    facts
}

/// How the refusal (if any) in the SMTP reply relates to the sender.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum AuthRefusal {
    /// Refused because the From domain's DMARC policy says reject.
    Failing,
    /// Refused because the queue takes authenticated senders only.
    OnlyAuthenticated,
    None,
}

impl AuthRefusal {
    /// Reads the reply that [`crate::smtp::SmtpReply::sender_failing`] and
    /// `sender_unauthenticated` write.
    pub(super) fn of(reply: &str) -> Self {
        if reply.contains("Sender authentication failed") {
            Self::Failing
        } else if reply.contains("only accepts authenticated senders") {
            Self::OnlyAuthenticated
        } else {
            Self::None
        }
    }
}

/// The sender-authentication stage: what the mail claims, whether its domain confirms it, and
/// the evidence (SPF, DKIM) in words.
/// `outcome` and `reply` are the trace's: they tell whether this stage refused the mail.
pub(super) fn stage(auth: &str, grade: &str, outcome: &str, reply: &str) -> Stage {
    let name = "Sender";
    if auth.trim().is_empty() {
        return Stage::new(name, Verdict::Info, "The sender was not checked for this mail (no authentication results were recorded).");
    }
    let facts = parse(auth);
    let refusal = AuthRefusal::of(reply);
    let (verdict, headline) = headline(&facts, grade);
    let mut sentence = format!("{headline}: {}; {}.", spf_words(&facts), dkim_words(&facts));
    let verdict = match refusal {
        AuthRefusal::Failing => {
            sentence.push_str(" So the mail was refused, as the domain asks.");
            Verdict::Refused
        }
        AuthRefusal::OnlyAuthenticated => {
            sentence.push_str(" This queue takes mail from confirmed senders only, so the mail was refused.");
            Verdict::Refused
        }
        AuthRefusal::None if grade == "failing" => {
            if outcome == "accepted" {
                sentence.push_str(" It was accepted all the same: this queue takes mail from any sender.");
            }
            Verdict::Warning
        }
        AuthRefusal::None => verdict,
    };
    Stage::new(name, verdict, &sentence)
}

/// The first half of the sentence: the claim and what the From domain says of it.
fn headline(f: &AuthFacts<'_>, grade: &str) -> (Verdict, String) {
    let d = f.from_domain;
    if d.is_empty() {
        return (
            Verdict::Warning,
            "The mail does not name one sender domain in its From line, so nothing could confirm who sent it".into(),
        );
    }
    let claim = format!("The mail claims to be from {d}");
    match (f.dmarc, f.policy) {
        ("pass", _) => (Verdict::Pass, format!("{claim}, and {d} confirms it (DMARC pass)")),
        ("fail", "reject") => {
            (Verdict::Refused, format!("{claim}, but {d}'s DMARC policy rejects mail from the server that sent it (DMARC fail, p=reject)"))
        }
        ("fail", "quarantine") => (
            Verdict::Warning,
            format!("{claim}, but {d} does not confirm it and asks that such mail be treated as suspect (DMARC fail, p=quarantine)"),
        ),
        ("fail", _) => (
            Verdict::Warning,
            format!("{claim}, but {d} does not confirm it; it asks for nothing to be done about that (DMARC fail, p=none)"),
        ),
        ("temperror", _) => {
            (Verdict::Warning, format!("{claim}, but {d}'s DMARC policy could not be looked up just then (DMARC temperror)"))
        }
        ("permerror", _) => {
            (Verdict::Warning, format!("{claim}, but {d}'s DMARC policy is broken and could not be read (DMARC permerror)"))
        }
        _ if grade == "authenticated" => {
            (Verdict::Pass, format!("{claim}; {d} publishes no DMARC policy, but the checks below confirm it"))
        }
        _ => (Verdict::Warning, format!("{claim}; {d} publishes no DMARC policy, and nothing confirms the mail comes from {d}")),
    }
}

/// SPF in words: is the sending server one the sender's domain allows?
fn spf_words(f: &AuthFacts<'_>) -> String {
    let d = if f.spf_domain.is_empty() { "the sender's domain" } else { f.spf_domain };
    match f.spf {
        "pass" => format!("the sending server is one {d} allows (SPF pass)"),
        "fail" => format!("{d} says the sending server may not send its mail (SPF fail)"),
        "softfail" => format!("{d} says the sending server should probably not send its mail (SPF softfail)"),
        "neutral" => format!("{d} says nothing about the sending server (SPF neutral)"),
        "temperror" => format!("{d}'s list of sending servers could not be looked up just then (SPF temperror)"),
        "permerror" => format!("{d}'s list of sending servers is broken (SPF permerror)"),
        _ if f.spf_domain.is_empty() || f.spf_domain.starts_with('[') => {
            "there was no sender domain to check the sending server against (SPF none)".into()
        }
        _ => format!("{d} publishes no list of its sending servers (SPF none)"),
    }
}

/// DKIM in words: does a valid signature vouch for the content?
fn dkim_words(f: &AuthFacts<'_>) -> String {
    let of = if f.dkim_domain.is_empty() { String::new() } else { format!(" of {}", f.dkim_domain) };
    match f.dkim {
        "pass" => format!("it carries a valid signature{of} (DKIM pass)"),
        "fail" => format!("its signature{of} does not match the mail: it was changed on the way, or forged (DKIM fail)"),
        "temperror" => format!("its signature{of} could not be checked just then (DKIM temperror)"),
        "permerror" => format!("its signature{of} is broken (DKIM permerror)"),
        "neutral" => format!("its signature{of} could not be checked (DKIM neutral)"),
        _ => "it is not signed (DKIM none)".into(),
    }
}
