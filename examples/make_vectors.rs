//! Regenerates the sealed-job test vectors in tests/vectors/ (run once; the output is committed):
//! `cargo run --example make_vectors`. Sealing is randomized, so each run gives new bytes; the
//! committed files are the reference other implementations are checked against.

use printgate::seal::{self, SitePrivateKey, SitePublicKey};

fn main() -> anyhow::Result<()> {
    let dir = std::path::Path::new("tests/vectors");
    std::fs::create_dir_all(dir)?;
    let (private_pem, public_pem) = seal::keys::generate_pem(seal::keys::KEYGEN_SIZE).map_err(anyhow::Error::msg)?;
    let public = SitePublicKey::from_pem(&public_pem).map_err(anyhow::Error::msg)?;
    let pdf = printgate::convert::sample::sample_pdf("printgate sealed-job test vector", 1);
    let job_id: [u8; 16] = *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
    let sealed = seal::seal(&pdf, job_id, "main", &public)?;
    let private = SitePrivateKey::from_pem(&private_pem).map_err(anyhow::Error::msg)?;
    assert_eq!(seal::open(&sealed, &private, seal::Expect { job_id, site: "main" })?, pdf);
    std::fs::write(dir.join("main.key.pem"), private_pem)?;
    std::fs::write(dir.join("main.pub.pem"), public_pem)?;
    std::fs::write(dir.join("job-v1.pdf"), &pdf)?;
    std::fs::write(dir.join("job-v1.pgsj"), &sealed)?;
    println!("job id {} fingerprint {}", hex::encode(job_id), hex::encode(public.fingerprint()));
    Ok(())
}
