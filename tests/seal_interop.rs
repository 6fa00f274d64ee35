//! Interoperability of the sealed-job format v1 (docs/sealed-job.md) with an independent
//! implementation: tests/interop/sealed_job.py, written from the document in Python with the
//! `cryptography` and `zstandard` packages (Debian's python3-cryptography and python3-zstandard,
//! run with /usr/bin/python3).
//!
//! Each direction is checked: printgate seals and the script opens, the script seals and
//! printgate opens. Changed, truncated and mislabelled jobs must fail on both sides, and both
//! sides must name the same failed check. Nothing here hard-codes what a side returns: every
//! expectation comes from the other implementation or from the layout in the document.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use printgate::convert::sample::sample_pdf;
use printgate::seal::{self, Expect, Header, SealError, SitePrivateKey, SitePublicKey};
use tempfile::TempDir;

/// Debian's interpreter: the one python3-cryptography and python3-zstandard install into.
const PYTHON: &str = "/usr/bin/python3";
const SITE: &str = "north-wing";
const JOB: [u8; 16] = *b"interop-job-0001";
const OTHER_JOB: [u8; 16] = *b"interop-job-0002";
const ERROR_PREFIX: &str = "sealed_job.py: error: ";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sealed_job.py")
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Runs the script; panics only if it cannot be started at all.
fn python<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let out = Command::new(PYTHON)
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} (install python3 from Debian): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named") && !stderr.contains("install python3-cryptography"),
        "the script's Python packages are missing (scripts/lib.sh pg_install): {stderr}"
    );
    out
}

/// Runs the script and requires success.
fn python_ok<S: AsRef<OsStr>>(args: &[S]) -> String {
    let out = python(args);
    assert!(
        out.status.success(),
        "sealed_job.py {:?} failed ({}): {}",
        args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints UTF-8")
}

/// The script's one-line error for a run that must fail.
fn python_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "the script must exit 1; stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr");
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(!line.contains('\n'), "the error must be one line: {stderr:?}");
    line.strip_prefix(ERROR_PREFIX).unwrap_or_else(|| panic!("unexpected stderr: {stderr:?}")).to_owned()
}

/// The check that failed, in the script's words (`flipcheck` prints these names).
fn kind(e: &SealError) -> &'static str {
    match e {
        SealError::BadMagic => "bad-magic",
        SealError::Version(_) => "version",
        SealError::Truncated => "truncated",
        SealError::WrongKey { .. } => "wrong-key",
        SealError::WrongSite { .. } => "wrong-site",
        SealError::WrongJob { .. } => "wrong-job",
        SealError::Unwrap => "unwrap",
        SealError::Decrypt => "decrypt",
        SealError::Decompress(_) => "decompress",
        SealError::Crypto(_) => "crypto",
        SealError::SiteName => "site-name",
    }
}

/// Both sides failed, and for the same reason: the same message, except that zstd's own wording
/// after "decompression failed:" differs between the libraries.
fn assert_same_failure(rust: &SealError, python_message: &str, what: &str) {
    let rust_message = rust.to_string();
    if matches!(rust, SealError::Decompress(_)) {
        assert!(
            python_message.starts_with("decompression failed: "),
            "{what}: printgate says {rust_message:?}, the script {python_message:?}"
        );
    } else {
        assert_eq!(python_message, rust_message, "{what}: the two implementations report different failures");
    }
}

/// A site key pair in a temporary directory.
struct Keys {
    _dir: TempDir,
    public_pem: PathBuf,
    private_pem: PathBuf,
    public: SitePublicKey,
    private: SitePrivateKey,
}

impl Keys {
    fn from_files(dir: TempDir, public_pem: PathBuf, private_pem: PathBuf) -> Self {
        let public = SitePublicKey::load(&public_pem).unwrap();
        let private = SitePrivateKey::load(&private_pem).unwrap();
        Self { _dir: dir, public_pem, private_pem, public, private }
    }

    /// `printgate keygen`, as an operator makes a site key (RSA-3072).
    fn printgate(site: &str) -> Self {
        let dir = TempDir::new().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_printgate")).args(["keygen", "--site", site, "--out"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "printgate keygen: {}", String::from_utf8_lossy(&out.stderr));
        let (public, private) = (dir.path().join(format!("{site}.pub.pem")), dir.path().join(format!("{site}.key.pem")));
        Self::from_files(dir, public, private)
    }

    /// A key pair made and written by Python's `cryptography` (OpenSSL), not by printgate.
    fn python(bits: u32) -> Self {
        let dir = TempDir::new().unwrap();
        let (public, private) = (dir.path().join("py.pub.pem"), dir.path().join("py.key.pem"));
        python_ok(&[
            OsStr::new("keygen"),
            OsStr::new("--bits"),
            OsStr::new(&bits.to_string()),
            OsStr::new("--out-key"),
            private.as_os_str(),
            OsStr::new("--out-pub"),
            public.as_os_str(),
        ]);
        Self::from_files(dir, public, private)
    }

    /// The committed test vector key of site `main`.
    fn vector() -> Self {
        let dir = TempDir::new().unwrap();
        Self::from_files(dir, vectors().join("main.pub.pem"), vectors().join("main.key.pem"))
    }
}

fn py_open(keys: &Keys, job_id: [u8; 16], site: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
    let dir = TempDir::new().unwrap();
    let (input, output) = (dir.path().join("job.pgsj"), dir.path().join("out.pdf"));
    std::fs::write(&input, sealed).unwrap();
    let out = python(&[
        OsStr::new("open"),
        OsStr::new("--key"),
        keys.private_pem.as_os_str(),
        OsStr::new("--job-id"),
        OsStr::new(&hex::encode(job_id)),
        OsStr::new("--site"),
        OsStr::new(site),
        input.as_os_str(),
        output.as_os_str(),
    ]);
    if out.status.success() {
        Ok(std::fs::read(&output).expect("the script exited 0 but wrote no output"))
    } else {
        assert!(!output.exists(), "the script wrote output for a job it refused");
        Err(python_error(&out))
    }
}

/// The script seals `pdf`; `extra` are its test-only options (`--flags`, `--payload`).
fn py_seal(keys: &Keys, job_id: [u8; 16], site: &str, pdf: &[u8], extra: &[&OsStr]) -> Vec<u8> {
    let dir = TempDir::new().unwrap();
    let (input, output) = (dir.path().join("in.pdf"), dir.path().join("out.pgsj"));
    std::fs::write(&input, pdf).unwrap();
    let mut args = vec![OsStr::new("seal"), OsStr::new("--pub"), keys.public_pem.as_os_str()];
    let job_hex = hex::encode(job_id);
    args.extend([OsStr::new("--job-id"), OsStr::new(&job_hex), OsStr::new("--site"), OsStr::new(site)]);
    args.extend_from_slice(extra);
    args.extend([input.as_os_str(), output.as_os_str()]);
    python_ok(&args);
    std::fs::read(&output).unwrap()
}

fn pg_open(keys: &Keys, job_id: [u8; 16], site: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    seal::open(sealed, &keys.private, Expect { job_id, site })
}

#[test]
fn the_script_opens_the_committed_vectors_and_passes_its_self_test() {
    let out = python_ok(&[OsStr::new("selftest"), vectors().as_os_str()]);
    assert!(out.starts_with("selftest OK"), "{out}");
    // And the script's plain `open` gives the committed PDF, as printgate's unit test does.
    let keys = Keys::vector();
    let job_id: [u8; 16] = hex::decode("00112233445566778899aabbccddeeff").unwrap().try_into().unwrap();
    let sealed = std::fs::read(vectors().join("job-v1.pgsj")).unwrap();
    let pdf = std::fs::read(vectors().join("job-v1.pdf")).unwrap();
    assert_eq!(py_open(&keys, job_id, "main", &sealed).unwrap(), pdf);
    assert_eq!(pg_open(&keys, job_id, "main", &sealed).unwrap(), pdf);
}

#[test]
fn fingerprints_agree_for_keys_made_by_either_side() {
    for keys in [Keys::printgate("fp-site"), Keys::python(3072), Keys::python(2048), Keys::vector()] {
        let from_public = python_ok(&[OsStr::new("fingerprint"), OsStr::new("--pub"), keys.public_pem.as_os_str()]);
        let from_private = python_ok(&[OsStr::new("fingerprint"), OsStr::new("--key"), keys.private_pem.as_os_str()]);
        let ours = hex::encode(keys.public.fingerprint());
        assert_eq!(from_public.trim(), ours, "{}", keys.public_pem.display());
        assert_eq!(from_private.trim(), ours, "{}", keys.private_pem.display());
        assert_eq!(hex::encode(keys.private.fingerprint()), ours);
    }
}

#[test]
fn printgate_seals_and_the_script_opens() {
    for keys in [Keys::printgate(SITE), Keys::python(2048)] {
        for pdf in [sample_pdf("interop printgate to python", 1), sample_pdf("a longer job", 60), b"%PDF-1.4 tiny".to_vec()] {
            let sealed = seal::seal(&pdf, JOB, SITE, &keys.public).unwrap();
            assert_eq!(py_open(&keys, JOB, SITE, &sealed).expect("the script must open printgate's job"), pdf);
        }
    }
}

#[test]
fn the_script_seals_and_printgate_opens() {
    for (keys, modulus_bytes) in [(Keys::printgate(SITE), 384), (Keys::python(2048), 256)] {
        for pdf in [sample_pdf("interop python to printgate", 1), sample_pdf("a longer job", 60), b"%PDF-1.4 tiny".to_vec()] {
            let sealed = py_seal(&keys, JOB, SITE, &pdf, &[]);
            assert_eq!(pg_open(&keys, JOB, SITE, &sealed).expect("printgate must open the script's job"), pdf);
            // The header the script wrote is the one the document describes.
            let (header, len) = Header::decode(&sealed).unwrap();
            assert_eq!(header.flags, seal::FLAG_ZSTD);
            assert_eq!((header.job_id, header.site.as_str()), (JOB, SITE));
            assert_eq!(header.key_fingerprint, keys.public.fingerprint());
            assert_eq!(header.wrapped_key.len(), modulus_bytes, "K is the RSA modulus size");
            assert_eq!(len, 69 + SITE.len() + modulus_bytes, "H = 69 + L + K");
            assert!(sealed.len() >= len + 16, "the body holds at least the tag");
        }
        // Sealing is randomized: two seals of the same PDF differ.
        let pdf = sample_pdf("twice", 1);
        assert_ne!(py_seal(&keys, JOB, SITE, &pdf, &[]), py_seal(&keys, JOB, SITE, &pdf, &[]));
    }
}

/// What the document says a change at `offset` must be reported as (step order of `seal::open`).
fn documented_kinds(offset: usize, site_len: usize, header_len: usize) -> &'static [&'static str] {
    let fingerprint = 23 + site_len;
    let key_len = fingerprint + 32;
    match offset {
        0..4 => &["bad-magic"],
        4 => &["version"],
        5 => &["decrypt"], // flags: only the AAD notices
        6..22 => &["wrong-job"],
        // L: the fields after it shift, so the parse runs short or a later check fails.
        22 => &["truncated", "wrong-key", "wrong-site"],
        o if o < fingerprint => &["wrong-site", "truncated"], // not UTF-8 counts as truncated
        o if o < key_len => &["wrong-key"],
        o if o < key_len + 2 => &["truncated", "unwrap"], // K too long, or not the modulus size
        o if o < header_len - 12 => &["unwrap"],
        _ => &["decrypt"], // nonce and body
    }
}

/// Runs the script's `flipcheck` on `sealed`, then makes every listed change on printgate's side
/// and checks that both sides failed at the same step, and at the step the document names.
fn flips_fail_on_both_sides(keys: &Keys, sealed: &[u8]) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("job.pgsj");
    std::fs::write(&path, sealed).unwrap();
    let job_hex = hex::encode(JOB);
    let out = python(&[
        OsStr::new("flipcheck"),
        OsStr::new("--key"),
        keys.private_pem.as_os_str(),
        OsStr::new("--job-id"),
        OsStr::new(&job_hex),
        OsStr::new("--site"),
        OsStr::new(SITE),
        path.as_os_str(),
    ]);
    let report = String::from_utf8(out.stdout).unwrap();
    let opened: Vec<&str> = report.lines().filter(|l| l.ends_with(" opened")).collect();
    assert!(
        out.status.success() && opened.is_empty(),
        "the script opened changed jobs: {opened:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (header, header_len) = Header::decode(sealed).unwrap();
    let site_len = header.site.len();
    let mut flipped = std::collections::BTreeSet::new();
    let mut truncated = std::collections::BTreeSet::new();
    for line in report.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (bad, py_kind, documented, what) = match fields.as_slice() {
            ["flip", offset, mask, py_kind] => {
                let offset: usize = offset.parse().unwrap();
                let mask = u8::from_str_radix(mask.trim_start_matches("0x"), 16).unwrap();
                let mut bad = sealed.to_vec();
                bad[offset] ^= mask;
                flipped.insert(offset);
                (bad, *py_kind, documented_kinds(offset, site_len, header_len), line)
            }
            ["trunc", len, py_kind] => {
                let len: usize = len.parse().unwrap();
                truncated.insert(len);
                let documented: &[&str] = if len < header_len { &["truncated"] } else { &["decrypt"] };
                (sealed[..len].to_vec(), *py_kind, documented, line)
            }
            _ => panic!("unexpected flipcheck line {line:?}"),
        };
        let err = match pg_open(keys, JOB, SITE, &bad) {
            Ok(_) => panic!("{what}: printgate opened a changed job"),
            Err(e) => e,
        };
        assert_eq!(kind(&err), py_kind, "{what}: printgate says {err}");
        assert!(documented.contains(&py_kind), "{what}: both sides say {py_kind}, the document says {documented:?}");
        assert!(!err.to_string().is_empty() && !err.to_string().contains('\n'));
    }
    // The script tried every header byte, the first and last body byte and every 97th, and
    // truncations at every header length.
    let body_sample = (header_len..sealed.len()).step_by(97).chain([sealed.len() - 1]);
    for offset in (0..header_len).chain(body_sample) {
        assert!(flipped.contains(&offset), "the script did not flip byte {offset}");
    }
    for len in 0..=header_len {
        assert!(truncated.contains(&len), "the script did not truncate to {len} bytes");
    }
}

#[test]
fn changing_any_header_byte_or_sampled_body_byte_fails_on_both_sides() {
    let keys = Keys::printgate(SITE);
    let pdf = sample_pdf("flip me", 3);
    let ours = seal::seal(&pdf, JOB, SITE, &keys.public).unwrap();
    flips_fail_on_both_sides(&keys, &ours);
    let theirs = py_seal(&keys, JOB, SITE, &pdf, &[]);
    flips_fail_on_both_sides(&keys, &theirs);
}

#[test]
fn the_wrong_site_job_id_or_key_fails_on_both_sides() {
    let keys = Keys::printgate(SITE);
    let other = Keys::python(2048);
    let pdf = sample_pdf("not for you", 1);
    for sealed in [seal::seal(&pdf, JOB, SITE, &keys.public).unwrap(), py_seal(&keys, JOB, SITE, &pdf, &[])] {
        let cases: [(&Keys, [u8; 16], &str, &str); 4] = [
            (&keys, JOB, "south-wing", "wrong-site"),
            (&keys, JOB, "north-wing ", "wrong-site"),
            (&keys, OTHER_JOB, SITE, "wrong-job"),
            (&other, JOB, SITE, "wrong-key"),
        ];
        for (key, job_id, site, expected) in cases {
            let what = format!("{expected} (job {}, site {site:?})", hex::encode(job_id));
            let rust = pg_open(key, job_id, site, &sealed).expect_err(&what);
            assert_eq!(kind(&rust), expected, "{what}: printgate says {rust}");
            let python = py_open(key, job_id, site, &sealed).expect_err(&what);
            assert_same_failure(&rust, &python, &what);
        }
        // The right expectations still open it on both sides.
        assert_eq!(pg_open(&keys, JOB, SITE, &sealed).unwrap(), pdf);
        assert_eq!(py_open(&keys, JOB, SITE, &sealed).unwrap(), pdf);
    }
}

/// The flags byte and the compressed stream, beyond what printgate writes: both readers must
/// accept and refuse the same things and give the same bytes.
#[test]
fn both_readers_treat_odd_payloads_alike() {
    let keys = Keys::printgate(SITE);
    let pdf = sample_pdf("odd payloads", 2);
    let (a, b) = pdf.split_at(pdf.len() / 3);
    let frame_a = zstd::bulk::compress(a, 3).unwrap();
    let frame_b = zstd::bulk::compress(b, 19).unwrap();
    let whole = zstd::bulk::compress(&pdf, 3).unwrap();
    let mut skippable = 0x184D_2A50u32.to_le_bytes().to_vec();
    skippable.extend_from_slice(&5u32.to_le_bytes());
    skippable.extend_from_slice(b"skip!");
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("uncompressed, flag clear", "0x00", pdf.clone()),
        ("unknown flag bits set", "0xfd", whole.clone()),
        ("two concatenated frames", "0x01", [frame_a.clone(), frame_b.clone()].concat()),
        ("a skippable frame between", "0x01", [frame_a.clone(), skippable.clone(), frame_b.clone()].concat()),
        ("empty, flag clear", "0x00", Vec::new()),
        ("empty, flag set", "0x01", Vec::new()),
        ("truncated frame", "0x01", whole[..whole.len() - 3].to_vec()),
        ("frame then garbage", "0x01", [whole.clone(), b"garbage!".to_vec()].concat()),
        ("not zstd at all", "0x01", pdf.clone()),
    ];
    let dir = TempDir::new().unwrap();
    let mut outcomes = Vec::new();
    for (i, (what, flags, payload)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("payload-{i}"));
        std::fs::write(&path, payload).unwrap();
        let sealed =
            py_seal(&keys, JOB, SITE, b"ignored", &[OsStr::new("--flags"), OsStr::new(flags), OsStr::new("--payload"), path.as_os_str()]);
        let rust = pg_open(&keys, JOB, SITE, &sealed);
        let python = py_open(&keys, JOB, SITE, &sealed);
        match (&rust, &python) {
            (Ok(r), Ok(p)) => assert_eq!(r, p, "{what}: the readers give different bytes"),
            (Err(r), Err(p)) => assert_same_failure(r, p, what),
            _ => panic!("{what}: printgate gives {:?}, the script {:?}", rust.as_ref().map(Vec::len), python.as_ref().map(Vec::len)),
        }
        outcomes.push((*what, rust.map(|r| r.len()).map_err(|e| e.to_string())));
    }
    // Where a payload stands for the PDF, it is the PDF (these are the document's rules; the
    // agreement above is what this test is about).
    assert_eq!(outcomes[0].1, Ok(pdf.len()), "{outcomes:?}");
    assert_eq!(outcomes[1].1, Ok(pdf.len()), "{outcomes:?}");
    assert_eq!(outcomes[2].1, Ok(pdf.len()), "{outcomes:?}");
    assert_eq!(outcomes[4].1, Ok(0), "{outcomes:?}");
    for (what, outcome) in &outcomes[6..] {
        assert!(outcome.is_err(), "{what} must fail: {outcomes:?}");
    }
}
