//! Table tests of the in-process colour reading on small hand-made PDFs.

use lopdf::{Document, Object, Stream, dictionary};

use super::{Verdict, page_verdicts};

/// A one-page PDF drawing `content`, with `resources` on the page.
fn page(content: &str, resources: lopdf::Dictionary) -> Document {
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc
}

fn verdict(content: &str) -> Verdict {
    page_verdicts(&page(content, dictionary! {}), 10)[0]
}

#[test]
fn colour_operators_are_judged_by_their_values() {
    let cases = [
        ("0 g 0 G 0 0 10 10 re f", Verdict::Grey),
        ("BT /F9 12 Tf (a font the page does not have) Tj ET", Verdict::Unknown),
        ("0.5 0.5 0.5 rg 1 1 1 RG 0 0 100 100 re f", Verdict::Grey),
        ("0.5 0.51 0.5 rg", Verdict::Grey),
        ("1 0 0 rg 0 0 10 10 re f", Verdict::Unknown),
        ("0 0 1 RG", Verdict::Unknown),
        ("0 0 0 1 k 0 0 0 0.5 K", Verdict::Grey),
        ("0.2 0.2 0.2 0 k", Verdict::Unknown),
        ("0 1 0 0 k", Verdict::Unknown),
        ("/DeviceRGB cs 0.3 0.3 0.3 sc", Verdict::Grey),
        ("/DeviceRGB cs 0.3 0.9 0.3 scn", Verdict::Unknown),
        ("/Pattern cs /P1 scn", Verdict::Unknown),
        ("/CS9 cs", Verdict::Unknown),
        ("/Sh1 sh", Verdict::Unknown),
        ("", Verdict::Grey),
    ];
    for (content, expected) in cases {
        assert_eq!(verdict(content), expected, "{content}");
    }
}

#[test]
fn images_count_only_when_greyscale_or_stencils() {
    let cases = [
        ("DeviceGray", false, Verdict::Grey),
        ("DeviceRGB", false, Verdict::Unknown),
        ("DeviceCMYK", false, Verdict::Unknown),
        ("DeviceRGB", true, Verdict::Grey),
    ];
    for (space, mask, expected) in cases {
        let mut doc = page("q 100 0 0 100 0 0 cm /Im1 Do Q", dictionary! {});
        let mut dict = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1, "BitsPerComponent" => 8 };
        if mask {
            dict.set("ImageMask", true);
        } else {
            dict.set("ColorSpace", Object::Name(space.as_bytes().to_vec()));
        }
        let image = doc.add_object(Stream::new(dict, vec![0; 4]));
        set_page_resources(&mut doc, dictionary! { "XObject" => dictionary! { "Im1" => image } });
        assert_eq!(page_verdicts(&doc, 10)[0], expected, "{space} mask={mask}");
    }
}

#[test]
fn forms_are_read_and_a_coloured_form_taints_the_page() {
    for (form_content, expected) in [("0 g 0 0 5 5 re f", Verdict::Grey), ("0 1 0 rg 0 0 5 5 re f", Verdict::Unknown)] {
        let mut doc = page("/Fm1 Do /Fm1 Do", dictionary! {});
        let form = doc.add_object(Stream::new(dictionary! { "Type" => "XObject", "Subtype" => "Form" }, form_content.as_bytes().to_vec()));
        set_page_resources(&mut doc, dictionary! { "XObject" => dictionary! { "Fm1" => form } });
        assert_eq!(page_verdicts(&doc, 10)[0], expected, "{form_content}");
    }
}

#[test]
fn a_form_drawing_itself_is_not_read_forever() {
    let mut doc = page("/Fm1 Do", dictionary! {});
    let form = doc.new_object_id();
    let stream = Stream::new(
        dictionary! { "Subtype" => "Form", "Resources" => dictionary! { "XObject" => dictionary! { "Fm1" => form } } },
        b"/Fm1 Do".to_vec(),
    );
    doc.objects.insert(form, Object::Stream(stream));
    set_page_resources(&mut doc, dictionary! { "XObject" => dictionary! { "Fm1" => form } });
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Unknown);
}

#[test]
fn named_spaces_transfer_functions_and_type3_fonts() {
    let icc_rgb = |doc: &mut Document| doc.add_object(Stream::new(dictionary! { "N" => 3 }, vec![]));
    let mut doc = page("/CS0 cs 0.2 0.2 0.2 sc", dictionary! {});
    let icc = icc_rgb(&mut doc);
    set_page_resources(&mut doc, dictionary! { "ColorSpace" => dictionary! { "CS0" => vec!["ICCBased".into(), icc.into()] } });
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Grey, "ICC RGB with a neutral colour");

    let mut doc = page("/CS0 cs 0 sc", dictionary! {});
    let table = Object::String(vec![0, 0, 0, 255, 0, 0], lopdf::StringFormat::Hexadecimal);
    set_page_resources(
        &mut doc,
        dictionary! { "ColorSpace" => dictionary! { "CS0" => vec!["Indexed".into(), "DeviceRGB".into(), 1.into(), table] } },
    );
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Unknown, "an indexed table with red in it");

    let mut doc = page("/GS0 gs", dictionary! {});
    set_page_resources(&mut doc, dictionary! { "ExtGState" => dictionary! { "GS0" => dictionary! { "TR" => "Identity", "CA" => 0.5 } } });
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Grey);
    let mut doc = page("/GS0 gs", dictionary! {});
    let function = doc.add_object(dictionary! { "FunctionType" => 2 });
    set_page_resources(&mut doc, dictionary! { "ExtGState" => dictionary! { "GS0" => dictionary! { "TR" => function } } });
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Unknown, "a transfer function");

    let mut doc = page("BT /T3 12 Tf (a) Tj ET", dictionary! {});
    set_page_resources(&mut doc, dictionary! { "Font" => dictionary! { "T3" => dictionary! { "Type" => "Font", "Subtype" => "Type3" } } });
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Unknown, "Type 3 glyphs may carry their own colour");
}

#[test]
fn a_document_past_the_page_limit_is_not_read() {
    assert_eq!(page_verdicts(&page("0 g", dictionary! {}), 0), vec![Verdict::Unknown]);
}

#[test]
fn a_page_past_the_content_bound_is_not_read() {
    assert_eq!(verdict(&"n\n".repeat(super::MAX_STREAM / 2 - 8)), Verdict::Grey, "just inside the bound");
    assert_eq!(verdict(&"n\n".repeat(super::MAX_STREAM / 2 + 8)), Verdict::Unknown);
}

#[test]
fn a_content_stream_that_does_not_decode_is_damage() {
    let mut doc = page("", dictionary! {});
    let broken = doc.add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, b"not deflate data".to_vec()));
    let page_id = *doc.get_pages().values().next().unwrap();
    doc.get_dictionary_mut(page_id).unwrap().set("Contents", broken);
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Damaged);
}

#[test]
fn annotations_without_an_appearance_are_rendered_to_know() {
    let mut doc = page("0 g", dictionary! {});
    let page_id = *doc.get_pages().values().next().unwrap();
    let link = dictionary! { "Subtype" => "Link", "C" => vec![0.into(), 0.into(), 0.into()] };
    doc.get_dictionary_mut(page_id).unwrap().set("Annots", vec![Object::Dictionary(link)]);
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Grey, "a link with a black border");
    let note = dictionary! { "Subtype" => "Highlight", "C" => vec![1.into(), 1.into(), 0.into()] };
    doc.get_dictionary_mut(page_id).unwrap().set("Annots", vec![Object::Dictionary(note)]);
    assert_eq!(page_verdicts(&doc, 10)[0], Verdict::Unknown, "a highlight drawn from its /C colour");
}

fn set_page_resources(doc: &mut Document, resources: lopdf::Dictionary) {
    let page_id = *doc.get_pages().values().next().unwrap();
    doc.get_dictionary_mut(page_id).unwrap().set("Resources", resources);
}
