//! TNEF (`winmail.dat`, `application/ms-tnef`): Outlook's wrapper around attachments. Only
//! what printing needs is read: each attachment's title and data. Bounded and defensive: a
//! malformed stream yields the attachments read so far, never a panic.

/// TNEF signature (little endian 0x223E9F78).
pub const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
/// More attachments than any Outlook mail carries: stop there.
const MAX_ATTACHMENTS: usize = 256;

/// One attachment found inside a TNEF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefAttachment {
    pub name: String,
    pub data: Vec<u8>,
}

/// Extracts the attachments of a TNEF stream.
pub fn attachments(bytes: &[u8]) -> Vec<TnefAttachment> {
    let mut out: Vec<TnefAttachment> = Vec::new();
    if !bytes.starts_with(&SIGNATURE) || bytes.len() < 6 {
        return out;
    }
    let mut pos = 6; // signature + legacy key
    let mut current: Option<TnefAttachment> = None;
    while pos + 9 <= bytes.len() && out.len() < MAX_ATTACHMENTS {
        let level = bytes[pos];
        let id = u32::from_le_bytes([bytes[pos + 1], bytes[pos + 2], bytes[pos + 3], bytes[pos + 4]]);
        let len = u32::from_le_bytes([bytes[pos + 5], bytes[pos + 6], bytes[pos + 7], bytes[pos + 8]]) as usize;
        let start = pos + 9;
        let Some(data) = start.checked_add(len).and_then(|end| bytes.get(start..end)) else { break };
        pos = start + len + 2; // data + checksum
        if level != 2 {
            continue;
        }
        match id {
            ATT_ATTACH_REND_DATA => {
                if let Some(done) = current.take().filter(|a| !a.data.is_empty()) {
                    out.push(done);
                }
                current = Some(TnefAttachment { name: String::new(), data: Vec::new() });
            }
            ATT_ATTACH_TITLE => {
                let title = data.split(|b| *b == 0).next().unwrap_or_default();
                current.get_or_insert_with(empty).name = decode_title(title);
            }
            ATT_ATTACH_DATA => current.get_or_insert_with(empty).data = data.to_vec(),
            _ => {}
        }
    }
    if let Some(done) = current.filter(|a| !a.data.is_empty()) {
        out.push(done);
    }
    out
}

fn empty() -> TnefAttachment {
    TnefAttachment { name: String::new(), data: Vec::new() }
}

/// Titles are in the sender's ANSI code page; UTF-8 if valid, else Windows-1252 ≈ Latin-1.
fn decode_title(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

#[cfg(test)]
mod tests {
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
}
