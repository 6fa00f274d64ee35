//! TNEF (`winmail.dat`, `application/ms-tnef`): Outlook's wrapper around attachments. Only
//! what printing needs is read: each attachment's name and data. The name is the long file
//! name (`PR_ATTACH_LONG_FILENAME` in the attachment's MAPI properties, `attAttachment`) when
//! there is one, else the title (`attAttachTitle`, often an 8.3 short name like `Protok~1.pdf`).
//! Bounded and defensive: a malformed stream yields the attachments read so far, never a panic.

mod mapi;

/// TNEF signature (little endian 0x223E9F78).
pub const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
/// The attachment's MAPI properties (`attAttachment`), where the long file name lives.
const ATT_ATTACHMENT: u32 = 0x0006_9005;
/// More attachments than any Outlook mail carries: stop there.
const MAX_ATTACHMENTS: usize = 256;

/// One attachment found inside a TNEF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefAttachment {
    pub name: String,
    pub data: Vec<u8>,
}

/// An attachment being read: its title and its long name are kept apart, since
/// `attAttachment` (the long name) may come before or after `attAttachTitle`.
#[derive(Default)]
struct Pending {
    title: String,
    long_name: Option<String>,
    data: Vec<u8>,
}

impl Pending {
    /// The finished attachment; one without data is no attachment.
    fn finish(self) -> Option<TnefAttachment> {
        (!self.data.is_empty()).then(|| TnefAttachment { name: self.long_name.unwrap_or(self.title), data: self.data })
    }
}

/// Extracts the attachments of a TNEF stream.
pub fn attachments(bytes: &[u8]) -> Vec<TnefAttachment> {
    let mut out: Vec<TnefAttachment> = Vec::new();
    if !bytes.starts_with(&SIGNATURE) || bytes.len() < 6 {
        return out;
    }
    let mut pos = 6; // signature + legacy key
    let mut current: Option<Pending> = None;
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
                out.extend(current.replace(Pending::default()).and_then(Pending::finish));
            }
            ATT_ATTACH_TITLE => current.get_or_insert_default().title = decode_ansi(data),
            ATT_ATTACH_DATA => current.get_or_insert_default().data = data.to_vec(),
            ATT_ATTACHMENT => {
                if let Some(name) = mapi::long_filename(data) {
                    current.get_or_insert_default().long_name = Some(name);
                }
            }
            _ => {}
        }
    }
    out.extend(current.and_then(Pending::finish));
    out
}

/// 8-bit strings are in the sender's ANSI code page: UTF-8 if valid, else Windows-1252 (up to
/// the first NUL).
fn decode_ansi(bytes: &[u8]) -> String {
    let bytes = bytes.split(|b| *b == 0).next().unwrap_or_default();
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => match mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252") {
            Some(decode) => decode(bytes),
            None => bytes.iter().map(|b| char::from(*b)).collect(),
        },
    }
}

#[cfg(test)]
mod tests;
