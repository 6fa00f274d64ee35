//! Which patron `Message-ID` a reply may thread on (`In-Reply-To`, `References`).
//!
//! The field comes from the internet as the patron's mail program (or an attacker) wrote it.
//! It is copied into a header of printgate's own mail only when it is one valid RFC 5322
//! `msg-id`: `<id-left@id-right>`, both sides `dot-atom-text` (the right side may also be a
//! `no-fold-literal` `[…]`), US-ASCII only, no whitespace, control characters or comments
//! inside, and short enough that `In-Reply-To: <id>` fits one 998-octet line. Anything else
//! (no angle brackets, a blank or CR inside, the obsolete forms, several ids) is dropped and
//! the reply is simply not threaded. Pure: a string in, the id or nothing out.

/// The longest id kept: `In-Reply-To: <` + id + `>` is at most RFC 5322's 998 octets a line.
pub const MAX_ID_LEN: usize = 998 - "In-Reply-To: <>".len();

/// The id inside a `Message-ID` field body (`field` as sent: folding white space around the
/// `<…>` and the line's own CRLF are allowed), or `None` when it is not one valid msg-id.
pub fn msg_id(field: &str) -> Option<&str> {
    let field = field.strip_suffix('\n').map_or(field, |f| f.strip_suffix('\r').unwrap_or(f));
    let open = field.find('<')?;
    let close = field.rfind('>')?;
    if close < open || !is_fws(&field[..open]) || !is_fws(&field[close + 1..]) {
        return None;
    }
    let id = &field[open + 1..close];
    let (left, right) = id.rsplit_once('@')?;
    let valid = id.len() <= MAX_ID_LEN && is_dot_atom_text(left) && (is_dot_atom_text(right) || is_no_fold_literal(right));
    valid.then_some(id)
}

/// Only blanks, and line breaks that continue on a blank (RFC 5322 folding white space).
fn is_fws(s: &str) -> bool {
    let mut bytes = s.bytes().peekable();
    while let Some(b) = bytes.next() {
        let folded = b == b'\r' && bytes.next() == Some(b'\n') && matches!(bytes.peek(), Some(b' ' | b'\t'));
        if !(b == b' ' || b == b'\t' || folded) {
            return false;
        }
    }
    true
}

/// `1*atext *("." 1*atext)`.
fn is_dot_atom_text(s: &str) -> bool {
    s.split('.').all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// RFC 5322 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// `"[" *dtext "]"`, `dtext` being printable US-ASCII except `[`, `]` and `\`.
fn is_no_fold_literal(s: &str) -> bool {
    s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).is_some_and(|inner| inner.bytes().all(|b| matches!(b, 33..=90 | 94..=126)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_msg_ids_are_kept() {
        for (field, id) in [
            ("<m1@example.com>", "m1@example.com"),
            (" <m1@example.com>\r\n", "m1@example.com"),
            ("\r\n\t<CAF=x+y_z.1@mail.gmail.com> \r\n", "CAF=x+y_z.1@mail.gmail.com"),
            ("<a.b.c@[127.0.0.1]>", "a.b.c@[127.0.0.1]"),
            ("<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~@x"),
            ("<20260101.1@x>\n", "20260101.1@x"),
        ] {
            assert_eq!(msg_id(field), Some(id), "{field:?}");
        }
        let longest = format!("<{}@x>", "a".repeat(MAX_ID_LEN - 2));
        assert!(msg_id(&longest).is_some());
        assert_eq!(format!("In-Reply-To: {longest}").len(), 998);
    }

    #[test]
    fn malformed_msg_ids_are_dropped() {
        let too_long = format!("<{}@x>", "a".repeat(MAX_ID_LEN - 1));
        for field in [
            "no-angle@x",
            "<a b@c>",
            "<a\tb@c>",
            "<a\rb@c>",
            "<a\nb@c>",
            "<a@b\r\n c>",
            "<a@b>\r\r\n",
            "<a@b>\rX",
            "<a\0b@c>",
            "<a\x7fb@c>",
            "<zoë@example.org>",
            "<>",
            "<@x>",
            "<a@>",
            "<a>",
            "<a@b@c>",
            "<.a@b>",
            "<a.@b>",
            "<a..b@c>",
            "<\"quoted\"@x>",
            "<a@[x[y]>",
            "<a@[x\\y]>",
            "<a@b> <c@d>",
            "<a@b> (comment)",
            "junk <a@b>",
            "<a@b",
            "a@b>",
            ">a@b<",
            "<a@b>\r\nX-Injected: yes",
            "",
            &too_long,
        ] {
            assert_eq!(msg_id(field), None, "{field:?}");
        }
    }
}
