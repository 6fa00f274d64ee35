use super::*;

fn record(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
    let mut r = vec![level];
    r.extend_from_slice(&id.to_le_bytes());
    r.extend_from_slice(&(data.len() as u32).to_le_bytes());
    r.extend_from_slice(data);
    let sum: u32 = data.iter().map(|b| u32::from(*b)).sum();
    r.extend_from_slice(&((sum % 65536) as u16).to_le_bytes());
    r
}

#[test]
fn extracts_titles_and_data_and_survives_truncation() {
    let mut t = SIGNATURE.to_vec();
    t.extend_from_slice(&[0x01, 0x00]);
    t.extend(record(1, 0x0008_8009, b"IPM.Microsoft Mail.Note\0"));
    t.extend(record(2, ATT_ATTACH_REND_DATA, &[0; 14]));
    t.extend(record(2, ATT_ATTACH_TITLE, b"report.pdf\0"));
    t.extend(record(2, ATT_ATTACH_DATA, b"%PDF-1.4 one"));
    t.extend(record(2, ATT_ATTACH_REND_DATA, &[0; 14]));
    t.extend(record(2, ATT_ATTACH_TITLE, b"R\xe9sum\xe9.pdf\0"));
    t.extend(record(2, ATT_ATTACH_DATA, b"%PDF-1.4 two"));
    let found = attachments(&t);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0], TnefAttachment { name: "report.pdf".into(), data: b"%PDF-1.4 one".to_vec() });
    assert_eq!(found[1].name, "Résumé.pdf");
    for cut in 0..t.len() {
        let _ = attachments(&t[..cut]);
    }
    assert!(attachments(b"not tnef").is_empty());
}

/// MAPI property encodings of [MS-OXTNEF] 2.1.3.4, for hand-built `attAttachment` lists.
mod mapi_props {
    pub const PT_LONG: u16 = 0x0003;
    pub const PT_BOOLEAN: u16 = 0x000B;
    pub const PT_STRING8: u16 = 0x001E;
    pub const PT_UNICODE: u16 = 0x001F;
    pub const PT_SYSTIME: u16 = 0x0040;
    pub const PT_BINARY: u16 = 0x0102;
    pub const MV_LONG: u16 = 0x1003;

    fn pad(mut v: Vec<u8>) -> Vec<u8> {
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    /// A fixed-size value (padded to 4 bytes).
    pub fn fixed(kind: u16, id: u16, value: &[u8]) -> Vec<u8> {
        let mut p = [kind.to_le_bytes(), id.to_le_bytes()].concat();
        p.extend(pad(value.to_vec()));
        p
    }

    /// A variable-size value: a value count, then each value's size, bytes and padding.
    pub fn variable(kind: u16, id: u16, values: &[&[u8]]) -> Vec<u8> {
        let mut p = [kind.to_le_bytes(), id.to_le_bytes()].concat();
        p.extend((values.len() as u32).to_le_bytes());
        for v in values {
            p.extend((v.len() as u32).to_le_bytes());
            p.extend(pad(v.to_vec()));
        }
        p
    }

    /// A named property (id ≥ 0x8000) with a string name, holding one PT_LONG.
    pub fn named_long(id: u16, name: &str, value: u32) -> Vec<u8> {
        let mut p = [PT_LONG.to_le_bytes(), id.to_le_bytes()].concat();
        p.extend([0x11; 16]); // property set GUID
        p.extend(1u32.to_le_bytes()); // kind: string name
        let utf16: Vec<u8> = name.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
        p.extend((utf16.len() as u32).to_le_bytes());
        p.extend(pad(utf16));
        p.extend(value.to_le_bytes());
        p
    }

    /// A named property with a numeric id, holding one boolean.
    pub fn named_id_bool(id: u16) -> Vec<u8> {
        let mut p = [PT_BOOLEAN.to_le_bytes(), id.to_le_bytes()].concat();
        p.extend([0x22; 16]);
        p.extend(0u32.to_le_bytes()); // kind: numeric id
        p.extend(0x8514u32.to_le_bytes());
        p.extend(pad(vec![1, 0]));
        p
    }

    pub fn list(props: &[Vec<u8>]) -> Vec<u8> {
        let mut l = (props.len() as u32).to_le_bytes().to_vec();
        l.extend(props.concat());
        l
    }

    pub fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }
}

/// What Outlook writes around the long name: method, size, short name, times, a rendering
/// blob and named properties, so the walk must skip every encoding to reach it.
fn outlook_props(long_name: Vec<u8>) -> Vec<u8> {
    use mapi_props::*;
    mapi_props::list(&[
        fixed(PT_LONG, 0x3705, &1u32.to_le_bytes()),                   // PR_ATTACH_METHOD
        fixed(PT_SYSTIME, 0x3007, &[7; 8]),                            // PR_CREATION_TIME
        variable(PT_BINARY, 0x3709, &[&[0xAB; 37]]),                   // PR_ATTACH_RENDERING
        variable(PT_STRING8, 0x3704, &[b"Protok~1.pdf\0"]),            // PR_ATTACH_FILENAME (8.3)
        named_long(0x8005, "AttachmentOrder", 3),                      // named, string kind
        named_id_bool(0x8006),                                         // named, id kind
        fixed(MV_LONG, 0x3710, &[2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]), // multi-valued long
        variable(PT_UNICODE, 0x3712, &[&utf16z("part1@cid")]),         // PR_ATTACH_CONTENT_ID
        long_name,
        fixed(PT_LONG, 0x0E20, &4096u32.to_le_bytes()), // PR_ATTACH_SIZE
    ])
}

fn stream(records: &[Vec<u8>]) -> Vec<u8> {
    let mut t = SIGNATURE.to_vec();
    t.extend_from_slice(&[0x01, 0x00]);
    t.extend(record(1, 0x0008_8009, b"IPM.Microsoft Mail.Note\0"));
    t.extend(records.concat());
    t
}

#[test]
fn the_long_file_name_wins_over_the_short_title_in_cp1252_and_utf16() {
    use mapi_props::*;
    // cp1252: ü is 0xFC, the en dash 0x96 (a C1 control in Latin-1, so not Latin-1 decoding).
    let cp1252 = variable(PT_STRING8, 0x3707, &[b"Protokoll \x96 Pr\xfcfung 2024.pdf\0"]);
    let utf16 = variable(PT_UNICODE, 0x3707, &[&utf16z("Zoë – 報告 Protokoll.pdf")]);
    let t = stream(&[
        record(2, ATT_ATTACH_REND_DATA, &[0; 14]),
        record(2, ATT_ATTACH_TITLE, b"Protok~1.pdf\0"),
        record(2, ATT_ATTACH_DATA, b"%PDF-1.4 one"),
        record(2, ATT_ATTACHMENT, &outlook_props(cp1252)),
        // The long name before the title, as some writers order it.
        record(2, ATT_ATTACH_REND_DATA, &[0; 14]),
        record(2, ATT_ATTACHMENT, &outlook_props(utf16)),
        record(2, ATT_ATTACH_TITLE, b"ZOE~1.PDF\0"),
        record(2, ATT_ATTACH_DATA, b"%PDF-1.4 two"),
        // No long name: the title stays.
        record(2, ATT_ATTACH_REND_DATA, &[0; 14]),
        record(2, ATT_ATTACH_TITLE, b"plain.pdf\0"),
        record(2, ATT_ATTACH_DATA, b"%PDF-1.4 three"),
        record(2, ATT_ATTACHMENT, &mapi_props::list(&[fixed(PT_LONG, 0x3705, &[1, 0, 0, 0])])),
    ]);
    let names: Vec<String> = attachments(&t).into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["Protokoll – Prüfung 2024.pdf", "Zoë – 報告 Protokoll.pdf", "plain.pdf"]);
    for cut in 0..t.len() {
        let _ = attachments(&t[..cut]);
    }
}

#[test]
fn a_hostile_property_list_falls_back_to_the_title() {
    use mapi_props::*;
    let long = variable(PT_STRING8, 0x3707, &[b"Long name.pdf\0"]);
    let unknown_type = mapi_props::list(&[fixed(0x0099, 0x3705, &[0; 4]), long.clone()]);
    let huge_count = [u32::MAX.to_le_bytes().to_vec(), long.clone()].concat();
    let mut lying_length = mapi_props::list(&[variable(PT_BINARY, 0x3709, &[&[1; 8]])]);
    lying_length[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    lying_length.extend(&long);
    for props in [unknown_type, lying_length, vec![], vec![1, 0], mapi_props::list(&[variable(PT_STRING8, 0x3707, &[b"\0"])])] {
        let t = stream(&[
            record(2, ATT_ATTACH_REND_DATA, &[0; 14]),
            record(2, ATT_ATTACH_TITLE, b"Protok~1.pdf\0"),
            record(2, ATT_ATTACH_DATA, b"%PDF-1.4 one"),
            record(2, ATT_ATTACHMENT, &props),
        ]);
        assert_eq!(attachments(&t)[0].name, "Protok~1.pdf", "{props:?}");
    }
    // A count beyond the list does not stop a name that is there.
    let t = stream(&[
        record(2, ATT_ATTACH_REND_DATA, &[0; 14]),
        record(2, ATT_ATTACH_DATA, b"%PDF-1.4 one"),
        record(2, ATT_ATTACHMENT, &huge_count),
    ]);
    assert_eq!(attachments(&t)[0].name, "Long name.pdf");
}
