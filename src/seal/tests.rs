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

/// A zstd frame of `total` bytes of `A`, written by hand as RLE blocks (4 bytes per 128 KiB):
/// a decompression bomb of any size in a few kilobytes.
fn rle_zstd_frame(total: usize) -> Vec<u8> {
    const BLOCK: usize = 128 * 1024;
    // Magic, frame header descriptor (no content size, no checksum, no dictionary), window
    // descriptor 2^(10+7) = 128 KiB.
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 7 << 3];
    let mut left = total;
    while left > 0 {
        let size = left.min(BLOCK);
        left -= size;
        // Block header: last-block bit, block type 1 (RLE), block size; then the byte.
        let header = u32::from(left == 0) | (1 << 1) | ((size as u32) << 3);
        frame.extend_from_slice(&header.to_le_bytes()[..3]);
        frame.push(b'A');
    }
    frame
}

/// Seals already-compressed bytes, as a hostile or broken server could.
fn seal_compressed(compressed: &[u8], public: &SitePublicKey) -> Vec<u8> {
    let content_key = crypto::random::<32>().unwrap();
    let nonce = crypto::random::<NONCE_LEN>().unwrap();
    let header = Header {
        flags: FLAG_ZSTD,
        job_id: JOB,
        site: "main".into(),
        key_fingerprint: public.fingerprint(),
        wrapped_key: public.wrap(&content_key).unwrap(),
        nonce,
    };
    let mut out = header.encode().unwrap();
    let body = crypto::aead_seal_with_nonce(&content_key, nonce, &out, compressed).unwrap();
    out.extend_from_slice(&body);
    out
}

/// The station's guard against zstd bombs: a sealed job whose body inflates past
/// `MAX_PLAINTEXT` (512 MiB) is refused with a clear error; one just below opens.
#[test]
fn a_zstd_bomb_is_refused_at_the_plaintext_limit() {
    let (public, private) = keys();
    let expect = Expect { job_id: JOB, site: "main" };
    let small = 3 * 128 * 1024 + 5;
    assert_eq!(
        open(&seal_compressed(&rle_zstd_frame(small), &public), &private, expect).unwrap(),
        vec![b'A'; small],
        "the hand-made frame is valid zstd"
    );
    let bomb = rle_zstd_frame(MAX_PLAINTEXT + 128 * 1024);
    assert!(bomb.len() < 20_000, "{} bytes", bomb.len());
    let err = open(&seal_compressed(&bomb, &public), &private, expect).unwrap_err();
    assert!(matches!(err, SealError::Decompress(ref m) if m.contains("plaintext limit")), "{err}");
    let at_limit = open(&seal_compressed(&rle_zstd_frame(MAX_PLAINTEXT), &public), &private, expect).unwrap();
    assert_eq!(at_limit.len(), MAX_PLAINTEXT, "exactly the limit still opens");
}
