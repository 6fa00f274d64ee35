//! Seeds a printgate store for `scripts/bench/release`: N messages of one small sealed job each,
//! stored through the real `Store::record` under the site key of the config, and writes their
//! release codes (one per line) to a file the wrk script reads. Mail intake and the scanners
//! are not involved: the benchmark measures the release API, not the pipeline.
//!
//!   bench_release_seed --config FILE --messages 1000 --codes codes.txt

use std::io::Write;

use clap::Parser;
use printgate::config::Config;
use printgate::seal::{self, SitePublicKey};
use printgate::store::{NewJob, NewMessage, Recorded, Store};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    config: std::path::PathBuf,
    #[arg(long, default_value_t = 1000)]
    messages: usize,
    #[arg(long)]
    codes: std::path::PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    printgate::server::install_crypto_provider();
    let config = Config::load(&args.config).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&config.store).await.expect("open the store");
    let site = &config.site[0];
    let key = SitePublicKey::load(&site.public_key).expect("site public key");
    let queue = config.queue.iter().find(|q| q.site == site.name).expect("a queue for the site");
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".repeat(20);
    let now = store.now();
    let mut out = std::fs::File::create(&args.codes).expect("codes file");
    for i in 0..args.messages {
        let id: [u8; 16] = printgate::crypto::random().expect("random");
        let message = NewMessage {
            id: format!("bench-release-{now}-{i}"),
            queue: queue.name.clone(),
            site: site.name.clone(),
            created_at: now,
            expires_at: now + 72 * 3600,
            held: false,
        };
        let job = NewJob {
            id: hex::encode(id),
            seq: 0,
            filename: format!("bench-{i}.pdf"),
            pages: 1,
            color: false,
            color_pages: 0,
            copies: 1,
            duplex: false,
            page_range: String::new(),
            sealed: seal::seal(&pdf, id, &site.name, &key).expect("seal"),
        };
        match store.record(&message, vec![job], None, |_| None).await.expect("record") {
            Recorded::New(code) => writeln!(out, "{}", code.digits()).expect("write"),
            Recorded::AlreadyStored => panic!("message stored twice"),
        }
    }
    eprintln!("seeded {} messages", args.messages);
}
