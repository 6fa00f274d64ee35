//! Colour spaces as the grey reading ([`super::grey`]) judges them, and resource lookup.
//!
//! Owns the answer to "which colour space is this, and can equal components in it be trusted to
//! print grey?"; pure functions over a loaded document.

use lopdf::{Dictionary, Document, Object};

/// The resource dictionaries in force, nearest first.
pub(super) type Resources<'a> = Vec<&'a Dictionary>;

/// `category`/`name` in the nearest resource dictionary that has it.
pub(super) fn lookup<'a>(doc: &'a Document, category: &[u8], name: &[u8], resources: &Resources<'a>) -> Option<&'a Object> {
    resources.iter().find_map(|res| {
        let (_, entries) = doc.dereference(res.get(category).ok()?).ok()?;
        entries.as_dict().ok()?.get(name).ok()
    })
}

/// Colour spaces by what this reader can judge of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Space {
    Gray,
    Rgb,
    Cmyk,
    /// An indexed space whose every entry is neutral.
    IndexedGrey,
    Other,
}

pub(super) fn space_of(doc: &Document, space: &Object, resources: &Resources, depth: usize) -> Space {
    let Ok((_, space)) = doc.dereference(space) else { return Space::Other };
    if depth > 3 {
        return Space::Other;
    }
    if let Ok(name) = space.as_name() {
        return match name {
            b"DeviceGray" | b"G" | b"CalGray" => Space::Gray,
            b"DeviceRGB" | b"RGB" => Space::Rgb,
            b"DeviceCMYK" | b"CMYK" => Space::Cmyk,
            b"Pattern" => Space::Other,
            named => match lookup(doc, b"ColorSpace", named, resources) {
                Some(found) => space_of(doc, found, resources, depth + 1),
                None => Space::Other,
            },
        };
    }
    let Ok(array) = space.as_array() else { return Space::Other };
    match array.first().and_then(|f| f.as_name().ok()) {
        Some(b"CalGray") => Space::Gray,
        // An ICC profile (N = 4) or a calibration matrix (CalRGB) can turn equal components into
        // a colour; equal RGB through an N = 3 profile (sRGB and kin) stays neutral.
        Some(b"ICCBased") => {
            let components = array
                .get(1)
                .and_then(|s| doc.dereference(s).ok())
                .and_then(|(_, s)| s.as_stream().ok())
                .and_then(|s| s.dict.get(b"N").ok())
                .and_then(|n| n.as_i64().ok());
            match components {
                Some(1) => Space::Gray,
                Some(3) => Space::Rgb,
                _ => Space::Other,
            }
        }
        Some(b"Indexed" | b"I") => indexed(doc, array, resources, depth),
        _ => Space::Other,
    }
}

/// `[/Indexed base hival lookup]`: neutral when every entry of the table is.
fn indexed(doc: &Document, array: &[Object], resources: &Resources, depth: usize) -> Space {
    let (Some(base), Some(hival), Some(table)) = (array.get(1), array.get(2).and_then(|h| h.as_i64().ok()), array.get(3)) else {
        return Space::Other;
    };
    let width = match space_of(doc, base, resources, depth + 1) {
        Space::Gray => return Space::IndexedGrey,
        Space::Rgb => 3,
        Space::Cmyk => 4,
        _ => return Space::Other,
    };
    let bytes = match doc.dereference(table).map(|(_, t)| t) {
        Ok(Object::String(bytes, _)) => bytes.clone(),
        Ok(Object::Stream(s)) => match s.get_plain_content_with_limit(256 * 4) {
            Ok(b) => b,
            Err(_) => return Space::Other,
        },
        _ => return Space::Other,
    };
    let entries = usize::try_from(hival.clamp(0, 255) + 1).unwrap_or(256);
    let neutral_entry = |e: &[u8]| match width {
        3 => e.iter().max().unwrap_or(&0) - e.iter().min().unwrap_or(&0) <= 5,
        _ => e[..3].iter().all(|c| *c <= 5),
    };
    match bytes.get(..entries * width) {
        Some(table) if table.chunks_exact(width).all(neutral_entry) => Space::IndexedGrey,
        _ => Space::Other,
    }
}
