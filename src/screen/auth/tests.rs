//! Offline tests: real mail-auth verification against fixed DNS records, no network.

use std::time::Instant;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;

const HOST: &str = "print.example.org";
const HELO: &str = "mx.example.com";
const SENDER: &str = "patron@example.com";
const BODY: &str = "Please print the attached timetable, two copies.\r\n";
const SPF_EXAMPLE: &str = "v=spf1 ip4:192.0.2.0/24 ~ip4:203.0.113.0/24 -all";
const IN_RANGE: &str = "192.0.2.10";
const SOFT_RANGE: &str = "203.0.113.5";
const OUT_OF_RANGE: &str = "198.51.100.7";

fn message() -> String {
    format!(
        "From: Patron <{SENDER}>\r\nTo: bw@{HOST}\r\nSubject: Timetable\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <t1@example.com>\r\n\r\n{BODY}"
    )
}

fn records(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(name, text)| (name.to_string(), text.to_string())).collect()
}

fn offline(list: &[(&str, &str)]) -> SenderAuth {
    SenderAuth::with_records(&records(list)).expect("fixed records")
}

async fn check(auth: &SenderAuth, raw: &str, ip: &str, mail_from: Option<&str>) -> AuthResults {
    auth.check(raw.as_bytes(), ip.parse().unwrap(), HELO, mail_from, HOST).await
}

/// A fresh RSA-2048 key: the DKIM TXT record text and a signer for `d=example.com; s=sel`.
fn dkim_key() -> (String, RsaKey<Sha256>) {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let record = format!("v=DKIM1; k=rsa; p={}", base64::engine::general_purpose::STANDARD.encode(spki.as_ref()));
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec()));
    (record, RsaKey::<Sha256>::from_key_der(der).unwrap())
}

fn sign(key: RsaKey<Sha256>, domain: &str, raw: &str) -> String {
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector("sel")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(raw.as_bytes())
        .unwrap();
    format!("{}{raw}", signature.to_header())
}

#[tokio::test]
async fn dkim_pass_with_dmarc_reject_authenticates_and_tampering_fails() {
    let (dkim_record, key) = dkim_key();
    let auth = offline(&[
        ("sel._domainkey.example.com", &dkim_record),
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("example.com", SPF_EXAMPLE),
    ]);
    let signed = sign(key, "example.com", &message());

    let good = check(&auth, &signed, OUT_OF_RANGE, Some(SENDER)).await;
    assert_eq!((good.spf.as_str(), good.dkim.as_str()), ("fail", "pass"));
    assert_eq!((good.dmarc.as_str(), good.dmarc_policy.as_str()), ("pass", "reject"));
    assert_eq!(good.from_domain, "example.com");
    assert_eq!(good.grade, SenderGrade::Authenticated);

    let tampered = signed.replace("two copies", "ten copies");
    let bad = check(&auth, &tampered, OUT_OF_RANGE, Some(SENDER)).await;
    assert_eq!((bad.spf.as_str(), bad.dkim.as_str()), ("fail", "fail"));
    assert_eq!((bad.dmarc.as_str(), bad.dmarc_policy.as_str()), ("fail", "reject"));
    assert_eq!(bad.grade, SenderGrade::Failing);
}

#[tokio::test]
async fn dkim_without_dmarc_record_needs_alignment() {
    let (dkim_record, key) = dkim_key();
    let auth = offline(&[("sel._domainkey.example.com", &dkim_record)]);
    let aligned = check(&auth, &sign(key, "example.com", &message()), OUT_OF_RANGE, Some(SENDER)).await;
    assert_eq!((aligned.dkim.as_str(), aligned.dmarc.as_str()), ("pass", "none"));
    assert_eq!(aligned.dmarc_policy, "");
    assert_eq!(aligned.grade, SenderGrade::Authenticated);

    let (other_record, other_key) = dkim_key();
    let auth = offline(&[("sel._domainkey.mailer.example.net", &other_record)]);
    let signed = sign(other_key, "mailer.example.net", &message());
    let third_party = check(&auth, &signed, OUT_OF_RANGE, Some(SENDER)).await;
    assert_eq!(third_party.dkim, "pass");
    assert_eq!(third_party.grade, SenderGrade::Unauthenticated);
}

#[tokio::test]
async fn dkim_key_missing_from_dns_is_permerror() {
    let (_, key) = dkim_key();
    let auth = offline(&[]);
    let results = check(&auth, &sign(key, "example.com", &message()), IN_RANGE, Some(SENDER)).await;
    assert_eq!(results.dkim, "permerror");
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
}

#[tokio::test]
async fn spf_pass_softfail_fail_without_dmarc() {
    let auth = offline(&[("example.com", SPF_EXAMPLE)]);
    let cases = [
        (IN_RANGE, "pass", SenderGrade::Authenticated),
        (SOFT_RANGE, "softfail", SenderGrade::Unauthenticated),
        (OUT_OF_RANGE, "fail", SenderGrade::Unauthenticated),
    ];
    for (ip, spf, grade) in cases {
        let results = check(&auth, &message(), ip, Some(SENDER)).await;
        assert_eq!(results.spf, spf, "{ip}");
        assert_eq!((results.dkim.as_str(), results.dmarc.as_str()), ("none", "none"), "{ip}");
        assert_eq!(results.grade, grade, "{ip}");
    }
}

#[tokio::test]
async fn spf_with_dmarc_reject_and_quarantine() {
    let reject = offline(&[("example.com", SPF_EXAMPLE), ("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let pass = check(&reject, &message(), IN_RANGE, Some(SENDER)).await;
    assert_eq!((pass.spf.as_str(), pass.dmarc.as_str()), ("pass", "pass"));
    assert_eq!(pass.grade, SenderGrade::Authenticated);
    for ip in [OUT_OF_RANGE, SOFT_RANGE] {
        let fail = check(&reject, &message(), ip, Some(SENDER)).await;
        assert_eq!((fail.dkim.as_str(), fail.dmarc.as_str()), ("none", "fail"), "{ip}");
        assert_eq!(fail.grade, SenderGrade::Failing, "{ip}");
    }

    let quarantine = offline(&[("example.com", SPF_EXAMPLE), ("_dmarc.example.com", "v=DMARC1; p=quarantine")]);
    let fail = check(&quarantine, &message(), OUT_OF_RANGE, Some(SENDER)).await;
    assert_eq!((fail.dmarc.as_str(), fail.dmarc_policy.as_str()), ("fail", "quarantine"));
    assert_eq!(fail.grade, SenderGrade::Unauthenticated);
}

#[tokio::test]
async fn spf_pass_for_an_unaligned_envelope_domain_does_not_authenticate() {
    let auth = offline(&[("bounces.example.net", "v=spf1 ip4:192.0.2.0/24 -all")]);
    let results = check(&auth, &message(), IN_RANGE, Some("list@bounces.example.net")).await;
    assert_eq!(results.spf, "pass");
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
}

#[tokio::test]
async fn null_sender_checks_the_helo_identity() {
    let auth = offline(&[(HELO, "v=spf1 ip4:192.0.2.10 -all"), ("example.com", "v=spf1 -all")]);
    let results = check(&auth, &message(), IN_RANGE, None).await;
    assert_eq!(results.spf, "pass");
    assert!(results.summary.contains("smtp.helo=mx.example.com"), "{}", results.summary);
    // mx.example.com is a child of the From domain: not aligned without a DMARC record.
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
    let empty = check(&auth, &message(), OUT_OF_RANGE, Some("")).await;
    assert_eq!(empty.spf, "fail");

    let raw = message();
    let literal = auth.check(raw.as_bytes(), IN_RANGE.parse().unwrap(), "[192.0.2.10]", None, HOST);
    assert_eq!(literal.await.spf, "none");
}

#[tokio::test]
async fn no_records_means_none_fast_and_offline() {
    let auth = offline(&[]);
    let started = Instant::now();
    let results = check(&auth, &message(), IN_RANGE, Some(SENDER)).await;
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!((results.spf.as_str(), results.dkim.as_str()), ("none", "none"));
    assert_eq!((results.dmarc.as_str(), results.arc.as_str()), ("none", "none"));
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
}

#[tokio::test]
async fn lookups_beyond_txt_never_reach_the_network() {
    // `mx` finds no MX records; `a` cannot be answered offline and is a temperror, at once.
    let mx = offline(&[("example.com", "v=spf1 mx -all")]);
    let a = offline(&[("example.com", "v=spf1 a -all")]);
    let started = Instant::now();
    assert_eq!(check(&mx, &message(), IN_RANGE, Some(SENDER)).await.spf, "fail");
    assert_eq!(check(&a, &message(), IN_RANGE, Some(SENDER)).await.spf, "temperror");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn disabled_reports_none_without_dns() {
    let auth = SenderAuth::disabled();
    let results = check(&auth, &message(), IN_RANGE, Some(SENDER)).await;
    for value in [&results.spf, &results.dkim, &results.dmarc, &results.arc] {
        assert_eq!(value, "none");
    }
    assert_eq!(results.dmarc_policy, "");
    assert_eq!(results.from_domain, "example.com");
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
    assert!(results.summary.contains("spf=none"), "{}", results.summary);
}

#[tokio::test]
async fn summary_names_every_method_and_no_content() {
    let (dkim_record, key) = dkim_key();
    let auth = offline(&[
        ("sel._domainkey.example.com", &dkim_record),
        ("_dmarc.example.com", "v=DMARC1; p=reject"),
        ("example.com", SPF_EXAMPLE),
    ]);
    let results = check(&auth, &sign(key, "example.com", &message()), IN_RANGE, Some(SENDER)).await;
    let summary = &results.summary;
    assert_eq!(
        summary,
        "print.example.org; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; \
         dmarc=pass header.from=example.com policy.dmarc=reject; arc=none"
    );
    for absent in ["timetable", "Timetable", "patron@", "\r", "\n"] {
        assert!(!summary.contains(absent), "{absent:?} in {summary}");
    }
}

#[tokio::test]
async fn summary_strips_peer_text_that_could_forge_fields() {
    let auth = offline(&[]);
    let helo = "evil; dkim=pass\r\nX-Injected: 1";
    let results = auth.check(message().as_bytes(), IN_RANGE.parse().unwrap(), helo, None, HOST).await;
    assert!(!results.summary.contains("dkim=pass"), "{}", results.summary);
    assert!(!results.summary.contains('\n'), "{}", results.summary);
}

#[tokio::test]
async fn several_from_domains_are_never_authenticated() {
    let auth = offline(&[("example.com", SPF_EXAMPLE)]);
    let raw = message().replacen(&format!("From: Patron <{SENDER}>"), &format!("From: Patron <{SENDER}>, Other <someone@example.net>"), 1);
    let results = check(&auth, &raw, IN_RANGE, Some(SENDER)).await;
    assert_eq!((results.spf.as_str(), results.from_domain.as_str()), ("pass", ""));
    assert_eq!(results.grade, SenderGrade::Unauthenticated);
}

#[test]
fn alignment_without_dmarc_accepts_same_or_parent_domain_only() {
    assert!(aligned("example.com", "example.com"));
    assert!(aligned("Example.COM.", "example.com"));
    assert!(aligned("example.com", "mail.example.com"));
    assert!(!aligned("mail.example.com", "example.com"));
    assert!(!aligned("notexample.com", "example.com"));
    assert!(!aligned("com", "example.com"));
    assert!(!aligned("", "example.com"));
}

#[test]
fn bad_record_names_are_refused() {
    for name in ["", "two words.example", "a..example"] {
        let err = SenderAuth::with_records(&records(&[(name, "v=spf1 -all")])).unwrap_err();
        assert!(matches!(err, AuthError::RecordName { .. }), "{name:?}: {err}");
    }
}

#[test]
fn sender_auth_and_its_check_can_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let auth = SenderAuth::with_records(&[]).unwrap();
    send_sync(&auth);
    let future = auth.check(b"", IN_RANGE.parse().unwrap(), HELO, None, HOST);
    send(&future);
    assert_eq!(format!("{auth:?}"), "SenderAuth { mode: \"fixed records\" }");
}

#[test]
fn system_resolver_builds_without_querying() {
    match SenderAuth::system() {
        Ok(auth) => assert_eq!(format!("{auth:?}"), "SenderAuth { mode: \"system DNS\" }"),
        Err(err) => assert!(matches!(err, AuthError::SystemConfig(_)), "{err}"),
    }
}
