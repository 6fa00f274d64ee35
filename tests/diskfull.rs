//! A full disk under the spool or the blob store (a real ENOSPC: each sits on its own tiny
//! tmpfs mounted for the test): senders get a 4xx, nothing acknowledged is lost or half-written,
//! and everything recovers by itself once space returns.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Relay, Scanners, Server, sql};

/// A tmpfs of `size` mounted at `path` for the test's lifetime.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"]).arg(path).output().unwrap();
        assert!(out.status.success(), "mount tmpfs (the tests run as root): {}", String::from_utf8_lossy(&out.stderr));
        Self(path.to_owned())
    }

    /// Fills the disk to the last byte with a filler file.
    fn fill(&self) {
        let _ = Command::new("dd").args(["if=/dev/zero", "bs=4k"]).arg(format!("of={}", self.0.join("filler").display())).output().unwrap();
        let out = Command::new("df").args(["--output=avail", "-B1"]).arg(&self.0).output().unwrap();
        let avail: u64 = String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap();
        assert!(avail < 8192, "{} still has {avail} bytes", self.0.display());
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn pdf(dir: &Path) -> PathBuf {
    let path = dir.join("page.pdf");
    std::fs::write(&path, printgate::convert::sample::sample_pdf("disk full", 1)).unwrap();
    path
}

#[test]
fn a_full_spool_or_blob_disk_answers_4xx_loses_nothing_and_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let spool_disk = SmallDisk::mount(&tmp.path().join("spool-disk"), "4m");
    let blob_disk = SmallDisk::mount(&tmp.path().join("blob-disk"), "4m");
    let (spool_dir, blob_dir) = (spool_disk.0.join("spool"), blob_disk.0.join("blobs"));
    let server = Server::start_custom(&Scanners::real(), relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, dir| {
        let d = dir.display();
        config
            .replace(&format!("dir = \"{d}/data/spool\""), &format!("dir = \"{}\"", spool_dir.display()))
            .replace(&format!("blob_url = \"file://{d}/data/blobs\""), &format!("blob_url = \"file://{}\"", blob_dir.display()))
    });
    let file = pdf(tmp.path());

    // The spool's disk is full: the mail is not acknowledged, and the sender is told to retry.
    spool_disk.fill();
    let t = server.swaks("patron@example.com", "print", &[&file]);
    assert!(t.contains("<** 451 4.3.0"), "a full spool must answer 4xx:\n{t}\n{}", server.log());
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM messages"), vec!["0".to_owned()]);
    assert!(server.log().contains("spool write failed"), "{}", server.log());
    spool_disk.free();
    let t = server.swaks("patron@example.com", "print", &[&file]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "space is back, the retry is accepted:\n{t}");
    relay.wait_for(1, Duration::from_secs(60));

    // The blob store's disk is full: the mail is acknowledged from the spool; the job cannot be
    // stored, so the pipeline keeps it spooled and retries — no reply, no half-stored job.
    blob_disk.fill();
    let t = server.swaks("second@example.com", "print", &[&file]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(relay.wait_for(1, Duration::from_secs(1)).len(), 1, "a reply went out for a job that was not stored");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM jobs"), vec!["1".to_owned()], "only the first mail's job");
    assert!(std::fs::read_dir(&spool_dir).unwrap().count() > 0, "the acknowledged mail must still be spooled");
    blob_disk.free();
    // The pipeline retries by itself (every 10 s): the job is stored and the reply goes out once.
    let replies = relay.wait_for(2, Duration::from_secs(60));
    assert_eq!(replies.len(), 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sql(&server, "SELECT COUNT(*) FROM jobs") != vec!["2".to_owned()] {
        assert!(Instant::now() < deadline, "the second job was never stored");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Every stored job opens: nothing was left half-written by the failed attempts.
    let token = server.station_token();
    for reply in &replies {
        let code = common::release_code(reply);
        let out = tmp.path().join(format!("released-{code}"));
        let released = common::station_release(&server, &token, &code, &[&server.key_path()], &out);
        assert!(released.status.success(), "{}", String::from_utf8_lossy(&released.stderr));
    }
}
