use super::*;

const JOB: [u8; 16] = [7; 16];

fn keys() -> (SitePublicKey, SitePrivateKey) {
    let private = std::fs::read_to_string("tests/vectors/main.key.pem").unwrap();
    let public = std::fs::read_to_string("tests/vectors/main.pub.pem").unwrap();
    (SitePublicKey::from_pem(&public).unwrap(), SitePrivateKey::from_pem(&private).unwrap())
}

#[test]
fn the_committed_vector_opens_to_its_pdf() {
    let (public, private) = keys();
    assert_eq!(hex::encode(public.fingerprint()), "fbdde5116f35f630b11c2c9257f5a94c737a1f21156974ead1fa07f5860ffddd");
    let sealed = std::fs::read("tests/vectors/job-v1.pgsj").unwrap();
    let job_id: [u8; 16] = hex::decode("00112233445566778899aabbccddeeff").unwrap().try_into().unwrap();
    let pdf = open(&sealed, &private, Expect { job_id, site: "main" }).unwrap();
    assert_eq!(pdf, std::fs::read("tests/vectors/job-v1.pdf").unwrap());
}

#[test]
fn round_trip_uses_a_fresh_key_every_time() {
    let (public, private) = keys();
    let pdf = crate::convert::sample::sample_pdf("hello SEALTEST", 2);
    let a = seal(&pdf, JOB, "main", &public).unwrap();
    let b = seal(&pdf, JOB, "main", &public).unwrap();
    assert_ne!(a, b, "two seals of the same PDF must differ (fresh key and nonce)");
    assert!(!a.windows(8).any(|w| w == b"SEALTEST"));
    assert_eq!(open(&a, &private, Expect { job_id: JOB, site: "main" }).unwrap(), pdf);
    let (header, len) = Header::decode(&a).unwrap();
    assert_eq!((header.site.as_str(), header.job_id, header.flags), ("main", JOB, FLAG_ZSTD));
    assert_eq!(header.wrapped_key.len(), 384, "RSA-3072 wraps to 384 bytes");
    assert!(len < a.len());
}

#[test]
fn any_changed_byte_is_detected() {
    let (public, private) = keys();
    let sealed = seal(b"%PDF-1.4 tiny", JOB, "main", &public).unwrap();
    for pos in (0..sealed.len()).step_by(7) {
        let mut bad = sealed.clone();
        bad[pos] ^= 0x20;
        assert!(open(&bad, &private, Expect { job_id: JOB, site: "main" }).is_err(), "flip at {pos} went unnoticed");
    }
    assert!(matches!(open(&sealed[..sealed.len() - 1], &private, Expect { job_id: JOB, site: "main" }), Err(SealError::Decrypt)));
    assert!(matches!(open(&sealed[..20], &private, Expect { job_id: JOB, site: "main" }), Err(SealError::Truncated)));
}

#[test]
fn a_job_cannot_be_relabelled_or_opened_elsewhere() {
    let (public, private) = keys();
    let sealed = seal(b"%PDF-1.4 tiny", JOB, "main", &public).unwrap();
    assert!(matches!(open(&sealed, &private, Expect { job_id: [8; 16], site: "main" }), Err(SealError::WrongJob { .. })));
    assert!(matches!(open(&sealed, &private, Expect { job_id: JOB, site: "branch" }), Err(SealError::WrongSite { .. })));
    let (_, other_private_pem) = (0, generate_other_key());
    let other = SitePrivateKey::from_pem(&other_private_pem).unwrap();
    assert!(matches!(open(&sealed, &other, Expect { job_id: JOB, site: "main" }), Err(SealError::WrongKey { .. })));
}

fn generate_other_key() -> String {
    keys::generate_pem(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap().0
}

#[test]
fn garbage_is_rejected_cleanly() {
    let (_, private) = keys();
    assert!(matches!(open(b"not a job", &private, Expect { job_id: JOB, site: "main" }), Err(SealError::BadMagic)));
    assert!(matches!(open(b"PGSJ\x02rest", &private, Expect { job_id: JOB, site: "main" }), Err(SealError::Version(2))));
}
