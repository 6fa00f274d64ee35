//! In-process colour verdicts for PDF pages, without rendering.
//!
//! Owns one question: does a page *certainly* print without colour by [`super::colour`]'s
//! rule? It reads the page's content streams, the forms and images they draw, and the
//! appearances of the page's annotations, and says [`Verdict::Grey`] only when every colour the
//! page sets is neutral (r = g = b within [`NEUTRAL`], or CMYK with no cyan, magenta or yellow),
//! every image it draws is greyscale or a stencil, and it draws nothing whose colour this reader
//! does not judge (shadings, patterns, spot colours, Lab, CMYK or calibrated RGB through a
//! profile, transfer functions, Type 3 glyphs, PostScript). Every other page is
//! [`Verdict::Unknown`] and is rendered by [`super::colour`] to decide. The rule errs one way
//! only: a page called grey here is grey to pdftoppm too (tests/colour_agree.rs holds that over
//! the conversion fixtures, the PDFs of the intake and hostile corpora, and drawn test pages).
//!
//! Pure reading, bounded per document: operators are parsed one at a time, never more than
//! [`MAX_STREAM`] of decoded content per stream, [`MAX_CONTENT`] and [`MAX_OPERATORS`] per
//! document; past a bound the remaining pages are `Unknown` (pdftoppm, a separate process with
//! a time limit, decides them). Forms drawn on many pages are judged once per document.

use std::collections::HashMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::grey_space::{Resources, Space, lookup, space_of};

/// Decoded bytes of one page's content, or of one form; a larger one is `Unknown`.
pub const MAX_STREAM: usize = 4 << 20;
/// Decoded content read per document, forms included.
pub const MAX_CONTENT: usize = 32 << 20;
/// Operators read per document, forms included.
pub const MAX_OPERATORS: usize = 4_000_000;
/// Forms inside forms; deeper is `Unknown`.
const MAX_DEPTH: usize = 12;
/// Largest difference between colour components (0..1) still called neutral: about 5 of 255,
/// far below [`super::colour::CHROMA_THRESHOLD`] (40 of 255).
pub const NEUTRAL: f32 = 0.02;

/// What reading a page found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Certainly no colour: nothing to render.
    Grey,
    /// Colour, or something this reader does not judge: render it.
    Unknown,
    /// Certainly colour: an image page judged from its pixels (never said by this reader).
    Colour,
    /// A content stream cannot be decoded: the PDF needs repair.
    Damaged,
}

/// Why reading stopped early.
enum Stop {
    Unknown,
    Damaged,
}

type Read = Result<(), Stop>;

/// Reads every page of `doc` (in page order) and gives each a verdict. A document of more than
/// `page_limit` pages is not read (every page `Unknown`): it will be refused for its length.
pub fn page_verdicts(doc: &Document, page_limit: usize) -> Vec<Verdict> {
    let pages = doc.get_pages();
    if pages.len() > page_limit {
        return vec![Verdict::Unknown; pages.len()];
    }
    let mut reader = Reader { doc, forms: HashMap::new(), operators: 0, content: 0 };
    pages.values().map(|&page| reader.page(page)).collect()
}

struct Reader<'a> {
    doc: &'a Document,
    /// Forms already judged: `true` when neutral.
    forms: HashMap<ObjectId, bool>,
    /// Operators and decoded bytes read so far in this document.
    operators: usize,
    content: usize,
}

impl<'a> Reader<'a> {
    fn page(&mut self, page: ObjectId) -> Verdict {
        let read = self.page_content(page).and_then(|()| self.annotations(page));
        match read {
            Ok(()) => Verdict::Grey,
            Err(Stop::Unknown) => Verdict::Unknown,
            Err(Stop::Damaged) => Verdict::Damaged,
        }
    }

    fn page_content(&mut self, page: ObjectId) -> Read {
        let (direct, ids) = self.doc.get_page_resources(page).map_err(|_| Stop::Unknown)?;
        let mut resources: Resources = direct.into_iter().collect();
        resources.extend(ids.into_iter().filter_map(|id| self.doc.get_dictionary(id).ok()));
        let mut content = Vec::new();
        for id in self.doc.get_page_contents(page) {
            let stream = self.doc.get_object(id).and_then(Object::as_stream).map_err(|_| Stop::Damaged)?;
            content.extend(self.decode(stream, MAX_STREAM.saturating_sub(content.len()))?);
            content.push(b'\n');
        }
        self.operations(&content, &resources, 0)
    }

    /// A stream's decoded bytes. Plain Flate (nearly every content stream) is decoded here,
    /// strictly: lopdf keeps what it could inflate of a corrupt stream, and a page read from
    /// half a stream must not be called grey.
    fn decode(&mut self, stream: &lopdf::Stream, limit: usize) -> Result<Vec<u8>, Stop> {
        let budget = MAX_CONTENT.saturating_sub(self.content).min(limit);
        let plain_flate = stream.filters().is_ok_and(|f| f == [b"FlateDecode"]) && stream.dict.get(b"DecodeParms").is_err();
        let data = if plain_flate {
            inflate(&stream.content, budget)?
        } else {
            stream.get_plain_content_with_limit(budget).map_err(|e| match e {
                lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => Stop::Unknown,
                _ => Stop::Damaged,
            })?
        };
        self.content += data.len();
        Ok(data)
    }

    /// Parses one operator at a time: a stream of millions of tiny operators costs time within
    /// the bounds, not memory.
    fn operations(&mut self, content: &[u8], resources: &Resources<'a>, depth: usize) -> Read {
        for op in Content::decode_iter(content) {
            let op = op.map_err(|_| Stop::Unknown)?;
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err(Stop::Unknown);
            }
            self.operation(&op.operator, &op.operands, resources, depth)?;
        }
        Ok(())
    }

    fn operation(&mut self, operator: &str, operands: &[Object], resources: &Resources<'a>, depth: usize) -> Read {
        match operator {
            "rg" | "RG" => neutral(operands),
            "k" | "K" => neutral(operands),
            "sc" | "SC" | "scn" | "SCN" => neutral(operands),
            "cs" | "CS" => match operands.first().map(|o| self.space(o, resources)) {
                Some(Space::Gray | Space::Rgb | Space::Cmyk | Space::IndexedGrey) => Ok(()),
                _ => Err(Stop::Unknown),
            },
            "gs" => self.ext_gstate(operands.first(), resources),
            "Tf" => self.font(operands.first(), resources),
            "Do" => self.xobject(operands.first(), resources, depth),
            "BI" => self.inline_image(operands.first(), resources),
            "sh" | "d0" | "PS" => Err(Stop::Unknown),
            _ => Ok(()),
        }
    }

    /// `gs`: a transfer function can map a grey to a colour.
    fn ext_gstate(&self, name: Option<&Object>, resources: &Resources<'a>) -> Read {
        let state = self.resource(b"ExtGState", name, resources).and_then(|o| o.as_dict().ok()).ok_or(Stop::Unknown)?;
        for key in [&b"TR"[..], b"TR2"] {
            if let Ok(value) = state.get(key)
                && !matches!(value.as_name(), Ok(b"Identity" | b"Default"))
            {
                return Err(Stop::Unknown);
            }
        }
        Ok(())
    }

    /// `Tf`: a Type 3 glyph may set its own colour.
    fn font(&self, name: Option<&Object>, resources: &Resources<'a>) -> Read {
        let font = self.resource(b"Font", name, resources).and_then(|o| o.as_dict().ok()).ok_or(Stop::Unknown)?;
        if font.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Type3") {
            return Err(Stop::Unknown);
        }
        Ok(())
    }

    fn xobject(&mut self, name: Option<&Object>, resources: &Resources<'a>, depth: usize) -> Read {
        let id = match name.and_then(|n| n.as_name().ok()).and_then(|n| lookup(self.doc, b"XObject", n, resources)) {
            Some(Object::Reference(id)) => *id,
            _ => return Err(Stop::Unknown),
        };
        let stream = self.doc.get_object(id).and_then(Object::as_stream).map_err(|_| Stop::Unknown)?;
        match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Image") => self.image(&stream.dict, resources),
            Ok(b"Form") => self.form(id, stream, resources, depth),
            _ => Err(Stop::Unknown),
        }
    }

    /// A form is read once per document; a form that draws itself is not neutral.
    fn form(&mut self, id: ObjectId, stream: &'a lopdf::Stream, outer: &Resources<'a>, depth: usize) -> Read {
        if let Some(&neutral) = self.forms.get(&id) {
            return if neutral { Ok(()) } else { Err(Stop::Unknown) };
        }
        if depth >= MAX_DEPTH {
            return Err(Stop::Unknown);
        }
        self.forms.insert(id, false);
        let own = stream.dict.get(b"Resources").ok().and_then(|r| self.doc.dereference(r).ok()).and_then(|(_, r)| r.as_dict().ok());
        let resources: Resources = match own {
            Some(dict) => vec![dict],
            None => outer.clone(),
        };
        let content = self.decode(stream, MAX_STREAM)?;
        self.operations(&content, &resources, depth + 1)?;
        self.forms.insert(id, true);
        Ok(())
    }

    /// Image XObjects: a stencil mask paints the (neutral) fill colour; otherwise the image
    /// must be greyscale, since its pixels are not read here.
    fn image(&self, dict: &Dictionary, resources: &Resources<'a>) -> Read {
        if dict.get(b"ImageMask").and_then(Object::as_bool).unwrap_or(false) {
            return Ok(());
        }
        match dict.get(b"ColorSpace").ok().map(|cs| self.space(cs, resources)) {
            Some(Space::Gray | Space::IndexedGrey) => Ok(()),
            _ => Err(Stop::Unknown),
        }
    }

    fn inline_image(&self, image: Option<&Object>, resources: &Resources<'a>) -> Read {
        let dict = match image {
            Some(Object::Stream(s)) => &s.dict,
            _ => return Err(Stop::Unknown),
        };
        let mask = dict.get(b"IM").or_else(|_| dict.get(b"ImageMask")).and_then(Object::as_bool).unwrap_or(false);
        if mask {
            return Ok(());
        }
        match dict.get(b"CS").or_else(|_| dict.get(b"ColorSpace")).ok().map(|cs| self.space(cs, resources)) {
            Some(Space::Gray | Space::IndexedGrey) => Ok(()),
            _ => Err(Stop::Unknown),
        }
    }

    /// The page's annotations as pdftoppm draws them: hidden ones are skipped, links draw at
    /// most a border in their `/C` colour, others draw their normal appearance.
    fn annotations(&mut self, page: ObjectId) -> Read {
        let Ok(page_dict) = self.doc.get_dictionary(page) else { return Ok(()) };
        let Ok(annots) = page_dict.get(b"Annots") else { return Ok(()) };
        let annots = self.doc.dereference(annots).ok().and_then(|(_, a)| a.as_array().ok()).ok_or(Stop::Unknown)?;
        for annot in annots {
            let dict = self.doc.dereference(annot).ok().and_then(|(_, a)| a.as_dict().ok()).ok_or(Stop::Unknown)?;
            self.annotation(dict)?;
        }
        Ok(())
    }

    fn annotation(&mut self, dict: &'a Dictionary) -> Read {
        const HIDDEN: i64 = 1 << 1;
        if dict.get(b"F").and_then(Object::as_i64).is_ok_and(|f| f & HIDDEN != 0) {
            return Ok(());
        }
        match dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Link") => return dict.get(b"C").map_or(Ok(()), |c| c.as_array().map_or(Err(Stop::Unknown), |c| neutral(c))),
            Ok(b"Popup") => return Ok(()),
            Ok(b"Widget") => return Err(Stop::Unknown),
            _ => {}
        }
        let normal = dict.get(b"AP").and_then(|ap| self.doc.dereference(ap)).and_then(|(_, ap)| ap.as_dict()).and_then(|ap| ap.get(b"N"));
        let Ok(normal) = normal else { return Err(Stop::Unknown) };
        let mut forms = Vec::new();
        match normal {
            Object::Reference(id) => forms.push(*id),
            Object::Dictionary(states) => forms.extend(states.iter().filter_map(|(_, s)| s.as_reference().ok())),
            _ => return Err(Stop::Unknown),
        }
        for id in forms {
            let stream = self.doc.get_object(id).and_then(Object::as_stream).map_err(|_| Stop::Unknown)?;
            self.form(id, stream, &Vec::new(), 0)?;
        }
        Ok(())
    }

    fn resource(&self, category: &[u8], name: Option<&Object>, resources: &Resources<'a>) -> Option<&'a Object> {
        let name = name?.as_name().ok()?;
        let found = lookup(self.doc, category, name, resources)?;
        self.doc.dereference(found).ok().map(|(_, o)| o)
    }

    fn space(&self, space: &Object, resources: &Resources<'a>) -> Space {
        space_of(self.doc, space, resources, 0)
    }
}

/// Inflates a zlib stream of at most `budget` bytes; a corrupt one is damage, a larger one
/// is not judged.
fn inflate(compressed: &[u8], budget: usize) -> Result<Vec<u8>, Stop> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(budget));
    let limit = u64::try_from(budget).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(compressed).take(limit).read_to_end(&mut out).map_err(|_| Stop::Damaged)?;
    if out.len() > budget {
        return Err(Stop::Unknown);
    }
    Ok(out)
}

/// Colour operands: one component (grey or an index into a neutral table) is neutral; three
/// are when equal; four (CMYK) when only black is set: poppler turns DeviceCMYK into RGB
/// through a model of the inks, in which equal cyan, magenta and yellow are not grey. A name
/// operand (a pattern) is not judged.
fn neutral(operands: &[Object]) -> Read {
    let mut values = Vec::with_capacity(4);
    for operand in operands {
        values.push(operand.as_float().map_err(|_| Stop::Unknown)?);
    }
    let spread = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min);
    match values.len() {
        0 | 1 => Ok(()),
        3 if spread(&values) <= NEUTRAL => Ok(()),
        4 if values[..3].iter().all(|c| *c <= NEUTRAL) => Ok(()),
        _ => Err(Stop::Unknown),
    }
}

#[cfg(test)]
#[path = "grey_tests.rs"]
mod tests;
