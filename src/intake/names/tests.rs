use super::*;

#[test]
fn whitespace_between_adjacent_encoded_words_is_dropped() {
    for (raw, expected) in [
        ("=?UTF-8?Q?Zo=C3=AB.p?= =?UTF-8?Q?df?=", "Zoë.pdf"),
        ("=?UTF-8?B?Wm/Dqy5w?= =?UTF-8?B?ZGY=?=", "Zoë.pdf"),
        ("=?UTF-8?Q?Zo=C3=AB?=\t  =?ISO-8859-1?Q?_=FCber.pdf?=", "Zoë über.pdf"),
        ("=?UTF-8?Q?Zo=C3=AB?= notes.pdf", "Zoë notes.pdf"),
        ("Report =?UTF-8?Q?f=C3=BCr?= Zoe.pdf", "Report für Zoe.pdf"),
        ("=?UTF-8?Q?a?= b =?UTF-8?Q?c?=.pdf", "a b c.pdf"),
        ("E=mc2 =? notes.pdf", "E=mc2 =? notes.pdf"),
        ("=?bogus", "=?bogus"),
    ] {
        assert_eq!(decode_encoded_words(raw), expected, "{raw:?}");
    }
}

#[test]
fn raw_parameters_are_found_quoted_folded_or_extended() {
    let header = " attachment; size=12;\r\n\tfilename=\"=?UTF-8?Q?Zo=C3=AB.p?=\r\n =?UTF-8?Q?df?=\"; x=\"a;b\"\r\n";
    assert_eq!(raw_param(header, "filename"), RawParam::Plain("=?UTF-8?Q?Zo=C3=AB.p?= =?UTF-8?Q?df?=".into()));
    assert_eq!(raw_param(" attachment; FILENAME=a.pdf", "filename"), RawParam::Plain("a.pdf".into()));
    assert_eq!(raw_param(" attachment; filename*=utf-8''a.pdf", "filename"), RawParam::Extended);
    assert_eq!(raw_param(" attachment; filename*0*=utf-8''a; filename*1=.pdf", "filename"), RawParam::Extended);
    assert_eq!(raw_param(" application/pdf; name=\"q\\\"uote.pdf\"", "name"), RawParam::Plain("q\"uote.pdf".into()));
    assert_eq!(raw_param(" application/pdf; x=\"name=y\"", "name"), RawParam::Absent);
}

/// A parameter name is the sender's text: one with a multibyte character where `filename`
/// or `name` ends must not split a `str` (it panicked the session before the 250).
#[test]
fn non_ascii_parameter_names_are_compared_safely() {
    assert_eq!(raw_param(" attachment; filename=\"a.pdf\"; filenamé=x", "filename"), RawParam::Plain("a.pdf".into()));
    assert_eq!(raw_param(" application/pdf; namé=x; name=\"b.pdf\"", "name"), RawParam::Plain("b.pdf".into()));
    assert_eq!(raw_param(" application/pdf; nam\u{FFFD}=x", "name"), RawParam::Absent);
    assert_eq!(raw_param(" application/pdf; é=x", "name"), RawParam::Absent);
    assert_eq!(raw_param(" attachment; FILENAME*=utf-8''a.pdf", "filename"), RawParam::Extended);
}
