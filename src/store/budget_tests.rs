use super::*;

fn budget() -> Budget {
    Budget { queue: "bw".into(), sender: "p@example.org".into(), day: "2026-12-05".into(), ..Budget::default() }
}

const fn ask(pages: i64, color_pages: i64) -> Ask {
    Ask { pages, color_pages }
}

#[test]
fn documents_are_admitted_in_order_while_every_cap_has_room() {
    use Charge::{Admitted, Over};
    let over = |cap, limit, left| Over { cap, limit, left };
    let none = Usage::default();
    let used = |sender_pages, sender_color_pages, queue_pages| Usage { sender_pages, sender_color_pages, queue_pages };
    // (caps, used so far, asks, charges, counts after)
    for (caps, before, asks, expected, after) in [
        (Budget::default(), none, vec![ask(500, 500)], vec![Admitted], used(500, 500, 500)),
        // 10 a day: two documents of 6, the second refused with 4 left; a later 4 still fits.
        (
            Budget { sender_pages: Some(10), ..Budget::default() },
            none,
            vec![ask(6, 0), ask(6, 0), ask(4, 0)],
            vec![Admitted, over(Cap::SenderPages, 10, 4), Admitted],
            used(10, 0, 10),
        ),
        // What was printed earlier today counts.
        (
            Budget { sender_pages: Some(10), ..Budget::default() },
            used(9, 0, 50),
            vec![ask(2, 0)],
            vec![over(Cap::SenderPages, 10, 1)],
            used(9, 0, 50),
        ),
        (Budget { sender_pages: Some(10), ..Budget::default() }, used(9, 0, 50), vec![ask(1, 0)], vec![Admitted], used(10, 0, 51)),
        // A guest's cap is lower and is the one named.
        (
            Budget { sender_pages: Some(100), guest_pages: Some(3), ..Budget::default() },
            none,
            vec![ask(2, 0), ask(2, 0)],
            vec![Admitted, over(Cap::GuestPages, 3, 1)],
            used(2, 0, 2),
        ),
        // Colour pages have their own cap; black and white pages do not use it.
        (
            Budget { color_pages: Some(5), ..Budget::default() },
            none,
            vec![ask(4, 4), ask(8, 0), ask(2, 2)],
            vec![Admitted, Admitted, over(Cap::ColorPages, 5, 1)],
            used(12, 4, 12),
        ),
        // The queue's cap counts every sender.
        (
            Budget { queue_pages: Some(100), ..Budget::default() },
            used(0, 0, 99),
            vec![ask(2, 0)],
            vec![over(Cap::QueuePages, 100, 1)],
            used(0, 0, 99),
        ),
        // Over already (a cap lowered today): nothing left, never negative.
        (
            Budget { sender_pages: Some(5), ..Budget::default() },
            used(8, 0, 8),
            vec![ask(1, 0)],
            vec![over(Cap::SenderPages, 5, 0)],
            used(8, 0, 8),
        ),
        // A document of no pages asks for nothing.
        (Budget { sender_pages: Some(5), ..Budget::default() }, used(5, 0, 5), vec![ask(0, 0)], vec![Admitted], used(5, 0, 5)),
    ] {
        let (charges, counts) = admit(&caps, before, &asks);
        assert_eq!(charges, expected, "{caps:?} {before:?} {asks:?}");
        assert_eq!(counts, after, "{caps:?} {before:?} {asks:?}");
    }
}

#[test]
fn scopes_name_the_queue_and_the_lower_case_sender() {
    assert_eq!(sender_scope("bw", "P@Example.ORG"), "sender:bw:p@example.org");
    assert_eq!(queue_scope("bw"), "queue:bw");
    assert!(!budget().any());
}
