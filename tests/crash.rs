//! Crash test (DESIGN.md principle 1): mail keeps arriving while the server is killed with
//! SIGKILL and restarted. Every message that got `250` must end in its job and one reply;
//! every explicit 4xx must leave nothing behind; nothing may be stored twice.
//!
//! Size: `PRINTGATE_CRASH_MESSAGES` (default 120) and `PRINTGATE_CRASH_KILLS` (default 3);
//! `scripts/bench/crash` runs it at 500 messages.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::smtp_client::Outcome;
use common::{Relay, Scanners, Server};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn send(port: u16, message: &str) -> Outcome {
    common::smtp_client::send(port, "patron@example.com", "bw@print.example.org", message)
}

#[test]
fn sigkill_during_load_loses_nothing_acknowledged_and_duplicates_nothing() {
    let total = env_usize("PRINTGATE_CRASH_MESSAGES", 120);
    let kills = env_usize("PRINTGATE_CRASH_KILLS", 3);
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Arc::new(Mutex::new(Server::start(&Scanners::real(), relay.port)));
    let port = server.lock().unwrap().smtp_port;
    let pdf = printgate::convert::sample::sample_pdf("crash test", 1);

    let next = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<HashMap<String, Outcome>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (next, outcomes, pdf) = (next.clone(), outcomes.clone(), pdf.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total {
                        return;
                    }
                    let id = format!("crash-{i}@crash.test");
                    let message = common::mime_with_pdf("patron@example.com", &id, &pdf);
                    let outcome = send(port, &message);
                    if outcome == Outcome::NoAnswer {
                        std::thread::sleep(Duration::from_millis(100)); // server restarting
                    }
                    outcomes.lock().unwrap().insert(id, outcome);
                }
            })
        })
        .collect();

    // The killer: SIGKILL at spread-out moments while mail flows, restart after a pause.
    let killer = {
        let (server, next, done) = (server.clone(), next.clone(), done.clone());
        std::thread::spawn(move || {
            for k in 0..kills {
                let target = total * (k + 1) / (kills + 1);
                while next.load(Ordering::SeqCst) < target && !done.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                // A pseudo-random extra delay so kills land in different stages.
                std::thread::sleep(Duration::from_millis((k as u64 * 37 + 11) % 90));
                let mut s = server.lock().unwrap();
                s.kill();
                std::thread::sleep(Duration::from_millis(300));
                s.spawn();
            }
        })
    };
    for s in senders {
        s.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    killer.join().unwrap();

    let outcomes = outcomes.lock().unwrap().clone();
    let accepted: HashMap<&String, &String> =
        outcomes.iter().filter_map(|(mid, o)| if let Outcome::Accepted(q) = o { Some((mid, q)) } else { None }).collect();
    let refused: HashSet<&String> = outcomes.iter().filter(|(_, o)| matches!(o, Outcome::Refused(_))).map(|(m, _)| m).collect();
    let no_answer = outcomes.values().filter(|o| **o == Outcome::NoAnswer).count();
    assert!(accepted.len() > total / 2, "too few accepted ({}) for a meaningful test: {outcomes:?}", accepted.len());

    // Drain: wait until the spool is empty and every stored message has its reply at the relay.
    // Count distinct answered mails, not files: a reply re-sent after a kill (at-least-once, same
    // Message-ID) is a second file, and counting files let the drain end with a reply still held
    // by a killed node's outbox lease (90 s).
    let server = server.lock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    let reply_ids = loop {
        let stored = common::sql(&server, "select count(*) from messages")[0].parse::<usize>().unwrap();
        let spool_empty = std::fs::read_dir(server.data_dir().join("spool")).unwrap().next().is_none();
        let replies = common::replies_by_mail(&relay.dir);
        if spool_empty && replies.len() >= stored {
            std::thread::sleep(Duration::from_secs(1)); // let smtp-sink finish its last file
            break common::replies_by_mail(&relay.dir);
        }
        assert!(
            Instant::now() < deadline,
            "not drained: stored {stored}, replied to {}, spool empty {spool_empty}, outbox {:?}\n{}",
            replies.len(),
            common::sql(&server, "select message_id, attempts, next_attempt_at, last_error from outbox where sent_at is null"),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let raw_deliveries: usize = reply_ids.values().map(|r| r.deliveries).sum();

    let stored: HashSet<String> = common::sql(&server, "select id from messages").into_iter().collect();
    let jobs: HashMap<String, usize> = common::sql(&server, "select message_id, count(*) from jobs group by message_id")
        .into_iter()
        .map(|r| {
            let (id, n) = r.split_once('|').unwrap();
            (id.to_owned(), n.parse().unwrap())
        })
        .collect();

    for (mid, queue_id) in &accepted {
        assert!(stored.contains(*queue_id), "{mid} got 250 ({queue_id}) but was not stored");
        assert_eq!(jobs.get(*queue_id), Some(&1), "{mid}: expected exactly one job");
        let ids = &reply_ids.get(*mid).unwrap_or_else(|| panic!("{mid} got 250 but no reply")).ids;
        assert_eq!(ids.len(), 1, "{mid} got {} different replies", ids.len());
    }
    for mid in &refused {
        assert!(!reply_ids.contains_key(*mid), "{mid} was refused with 4xx/5xx but was processed");
    }
    for (mid, r) in &reply_ids {
        assert_eq!(r.ids.len(), 1, "{mid} was stored more than once");
    }
    assert_eq!(stored.len(), reply_ids.len(), "every stored message has exactly one reply");
    println!(
        "crash test: sent {total}, 250 {}, refused {}, no answer {no_answer}, stored {}, replies {} (raw deliveries {raw_deliveries}), kills {kills}",
        accepted.len(),
        refused.len(),
        stored.len(),
        reply_ids.len()
    );
}
