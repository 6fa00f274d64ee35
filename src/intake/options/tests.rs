use super::*;

fn from_subject(subject: &str) -> PrintOptions {
    PrintOptions::from_mail(Some(subject), &[])
}

fn defaults() -> PrintOptions {
    PrintOptions { copies: 1, ..PrintOptions::default() }
}

#[test]
fn ordinary_subject_words_ask_for_nothing() {
    for subject in [
        "Re: body of the thesis",
        "Body shop receipt",
        "duplex apartment contract, 2 copies",
        "colour photos for the bw class",
        "Thesis: COPIES=3 duplex pages=2-5, please",
        "mono vs. color: the simplex method",
        "[EXTERNAL] body of the thesis",
        "[bw-users] duplex printing question",
        "[PATCH body] fix",
        "my essay (final)",
        "unclosed [duplex",
        "",
    ] {
        assert_eq!(from_subject(subject), defaults(), "{subject:?}");
    }
    assert_eq!(PrintOptions::from_mail(None, &[]), defaults());
}

#[test]
fn bracketed_option_lists_apply() {
    let cases: &[(&str, PrintOptions)] = &[
        ("thesis [body duplex]", PrintOptions { body: true, duplex: true, ..defaults() }),
        ("[2 copies, duplex] chapter 3", PrintOptions { copies: 2, duplex: true, ..defaults() }),
        (
            "Re: [EXTERNAL] essay [copies=3; pages=2-5] [color]",
            PrintOptions { copies: 3, pages: Some((2, 5)), color: Some(true), ..defaults() },
        ),
        ("[BW, Simplex, 1 copy]", PrintOptions { color: Some(false), ..defaults() }),
        ("[mono] [double-sided] [single-sided]", PrintOptions { color: Some(false), duplex: false, ..defaults() }),
        ("[grey 50 copies]", PrintOptions { color: Some(false), copies: MAX_COPIES, ..defaults() }),
        ("[gray pages=4]", PrintOptions { color: Some(false), pages: Some((4, 4)), ..defaults() }),
        ("[colour pages=5-2]", PrintOptions { color: Some(true), ..defaults() }),
        ("Fwd: [re: [duplex]]", PrintOptions { duplex: true, ..defaults() }),
    ];
    for (subject, expected) in cases {
        assert_eq!(&from_subject(subject), expected, "{subject:?}");
    }
    let o = from_subject("Thesis [COPIES=3 duplex pages=2-5] please");
    assert_eq!(o.describe(), "double-sided, 3 copies, pages 2-5");
}

#[test]
fn plus_address_options_still_apply_and_override_the_subject() {
    let plus = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    let o = PrintOptions::from_mail(Some("Re: body of the thesis"), &plus(&["duplex", "body"]));
    assert_eq!(o, PrintOptions { duplex: true, body: true, ..defaults() });
    let o = PrintOptions::from_mail(Some("essay [color 2 copies]"), &plus(&["bw", "copies=4", "unknown"]));
    assert_eq!(o, PrintOptions { color: Some(false), copies: 4, ..defaults() });
    assert_eq!(o.describe(), "black and white, 4 copies");
    assert_eq!(PrintOptions::parse(["copies=500"]).copies, MAX_COPIES);
    assert_eq!(PrintOptions::parse(["pages=5-2"]).pages, None);
    assert_eq!(PrintOptions::parse(["pages=4"]).pages, Some((4, 4)));
}
