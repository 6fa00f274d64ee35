//! The MAPI property list of a TNEF `attAttachment` attribute ([MS-OXTNEF] 2.1.3.4): a count,
//! then properties laid end to end, each a type, an id, a name for named properties (id ≥
//! 0x8000), and its value(s). Only `PR_ATTACH_LONG_FILENAME` is read; every other property is
//! skipped by its encoded size. An unknown type or a short read stops the walk (nothing found
//! past it is trusted).

/// `PR_ATTACH_LONG_FILENAME` (PidTagAttachLongFilename): the file name as the user saw it.
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
/// 8-bit string in the sender's ANSI code page (Windows-1252 for western Outlooks).
const PT_STRING8: u16 = 0x001E;
/// UTF-16LE string.
const PT_UNICODE: u16 = 0x001F;
/// Multi-valued flag of a property type.
const MV_FLAG: u16 = 0x1000;
/// More properties or values than any attachment has: a hostile count.
const MAX_ITEMS: u32 = 10_000;

/// The long file name in an `attAttachment` property list, if present.
pub fn long_filename(props: &[u8]) -> Option<String> {
    let mut r = Reader { bytes: props, pos: 0 };
    let count = r.u32()?;
    for _ in 0..count.min(MAX_ITEMS) {
        let kind = r.u16()?;
        let id = r.u16()?;
        if id >= 0x8000 {
            r.skip_name()?;
        }
        let values = r.values(kind)?;
        if id == PR_ATTACH_LONG_FILENAME && kind & MV_FLAG == 0 {
            let name = match kind {
                PT_STRING8 => super::decode_ansi(values.first()?),
                PT_UNICODE => decode_utf16(values.first()?),
                _ => continue,
            };
            if !name.trim().is_empty() {
                return Some(name);
            }
        }
    }
    None
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `len` bytes of data followed by padding to a multiple of 4.
    fn padded(&mut self, len: usize) -> Option<&'a [u8]> {
        let data = self.take(len)?;
        self.take((4 - len % 4) % 4)?;
        Some(data)
    }

    /// A named property's name: GUID, kind, then an id (kind 0) or a counted UTF-16 string.
    fn skip_name(&mut self) -> Option<()> {
        self.take(16)?;
        match self.u32()? {
            0 => self.take(4).map(|_| ()),
            _ => {
                let len = self.u32()? as usize;
                self.padded(len).map(|_| ())
            }
        }
    }

    /// The value(s) of a property of type `kind`; fixed-size values come back empty.
    fn values(&mut self, kind: u16) -> Option<Vec<&'a [u8]>> {
        let base = kind & !MV_FLAG;
        let fixed = fixed_size(base);
        let variable = matches!(base, 0x000D | PT_STRING8 | PT_UNICODE | 0x0102);
        if fixed.is_none() && !variable {
            return None; // unknown type: its size cannot be known
        }
        if !variable && kind & MV_FLAG == 0 {
            self.take(fixed?)?;
            return Some(Vec::new());
        }
        let count = self.u32()?;
        if count > MAX_ITEMS {
            return None;
        }
        let mut out = Vec::new();
        for _ in 0..count {
            match fixed {
                Some(size) => {
                    self.take(size)?;
                }
                None => {
                    let len = self.u32()? as usize;
                    out.push(self.padded(len)?);
                }
            }
        }
        Some(out)
    }
}

/// Encoded size of a fixed-length value: 16-bit values are padded to 4 bytes.
fn fixed_size(base: u16) -> Option<usize> {
    match base {
        0x0001..=0x0004 | 0x000A | 0x000B => Some(4), // null, i16, i32, float, error, boolean
        0x0005..=0x0007 | 0x0014 | 0x0040 => Some(8), // double, currency, apptime, i64, systime
        0x0048 => Some(16),                           // GUID
        _ => None,
    }
}

/// UTF-16LE up to the first NUL.
fn decode_utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|u| *u != 0).collect();
    String::from_utf16_lossy(&units)
}
