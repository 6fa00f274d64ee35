//! The in-process colour reading agrees with pdftoppm, and a clean PDF starts no process.
//!
//! Colour used to be decided for every page by rendering it with pdftoppm at 20 dpi
//! (src/convert/colour.rs). Now pages the in-process reader (src/convert/grey.rs) calls grey
//! are not rendered. These tests convert every conversion fixture as the pipeline does and
//! render every page of the printed PDF with pdftoppm under the old rule: the colour pages
//! must be the same, and no page the reader calls grey may have colour to pdftoppm.

mod common;

use std::path::Path;
use std::process::Command;

use common::convert_docs::{document, fixtures, settings};
use printgate::config::Paper;
use printgate::convert::grey::{Verdict, page_verdicts};
use printgate::convert::pdf::{Inspected, inspect};
use printgate::convert::{ConvertError, Converter, Setup, colour, sample};
use printgate::intake::{DocumentType, Submission};

/// Every page of `pdf` rendered by pdftoppm and judged by the rule of src/convert/colour.rs.
fn pdftoppm_colours(pdf: &[u8], dir: &Path) -> Vec<bool> {
    let pages = dir.join("pages");
    let _ = std::fs::remove_dir_all(&pages);
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(dir.join("check.pdf"), pdf).unwrap();
    let out =
        Command::new("pdftoppm").args(["-r", &colour::DPI.to_string()]).arg(dir.join("check.pdf")).arg(pages.join("p")).output().unwrap();
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<_> = std::fs::read_dir(&pages).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| colour::ppm_has_colour(&std::fs::read(f).unwrap()).expect("a P6 page")).collect()
}

fn verdicts(pdf: &[u8]) -> Vec<Verdict> {
    page_verdicts(&lopdf::Document::load_mem(pdf).expect("the printed PDF loads"), 1000)
}

/// Fixtures intake lets through that conversion refuses (tests/fixtures/convert/expected.toml).
const REFUSED_BY_CONVERSION: &[&str] = &["broken.pdf", "password.pdf"];

/// Every page of `pdf`: (the reader's verdict, pdftoppm's colour); a page read as grey that has
/// colour to pdftoppm is a failure.
fn check_grey_is_grey(label: &str, pdf: &[u8], dir: &Path, failures: &mut Vec<String>) -> usize {
    let truth = pdftoppm_colours(pdf, dir);
    let read = verdicts(pdf);
    assert_eq!(read.len(), truth.len(), "{label}: page count");
    for (page, (verdict, colour)) in read.iter().zip(&truth).enumerate() {
        if *verdict == Verdict::Grey && *colour {
            failures.push(format!("{label}: page {} read as grey but pdftoppm sees colour", page + 1));
        }
    }
    read.iter().filter(|v| **v == Verdict::Grey).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_pages_agree_with_pdftoppm_on_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let converter = Converter::new(&settings(dir.path(), 2)).unwrap();
    converter.start().await;
    let setup = Setup { paper: Paper::A4, max_pages: 100 };
    let (mut compared, mut read_in_process, mut disagreements) = (0, 0, Vec::new());
    let mut names: Vec<String> =
        std::fs::read_dir(fixtures()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names.iter().filter(|n| !n.ends_with(".toml") && !n.ends_with(".md")) {
        let (doc, refusal) = document(name, std::fs::read(fixtures().join(name)).unwrap());
        if refusal.is_some() {
            continue;
        }
        let rendered = match converter.convert(&doc, setup).await {
            Ok(rendered) => rendered,
            Err(e) if REFUSED_BY_CONVERSION.contains(&name.as_str()) => {
                assert!(!e.is_retryable(), "{name}: {e}");
                continue;
            }
            Err(e) => panic!("{name} was not converted: {e}"),
        };
        let truth = pdftoppm_colours(&rendered.pdf, dir.path());
        let read = verdicts(&rendered.pdf);
        compared += 1;
        read_in_process += read.iter().filter(|v| **v == Verdict::Grey).count();
        if rendered.page_colors != truth {
            disagreements.push(format!("{name}: printgate {:?}, pdftoppm {truth:?}", rendered.page_colors));
        }
        for (page, (verdict, colour)) in read.iter().zip(&truth).enumerate() {
            if *verdict == Verdict::Grey && *colour {
                disagreements.push(format!("{name}: page {} read as grey but pdftoppm sees colour", page + 1));
            }
        }
    }
    assert!(compared >= 25, "only {compared} fixtures were printed");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The reader must decide real documents, or the test proves nothing about it.
    assert!(read_in_process >= 15, "only {read_in_process} pages were read as grey in process");
}

/// Generated PDFs that exercise what the fixtures do not: colour set by each operator and colour
/// space, images in every colour space, forms and annotations.
#[test]
fn colour_pages_agree_with_pdftoppm_on_drawn_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut grey = 0;
    for (label, pdf) in drawn_cases() {
        grey += check_grey_is_grey(label, &pdf, dir.path(), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(grey >= 8, "only {grey} drawn pages were read as grey");
}

/// Every PDF attached to a mail of the intake, hostile and malformed corpora, as printgate reads
/// it: printed as sent (its page count must be pdftoppm's too) or as qpdf's rewrite.
#[test]
fn no_corpus_pdf_page_read_as_grey_has_colour() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (mut failures, mut sound, mut rewritten) = (Vec::new(), 0, 0);
    for corpus in ["intake", "hostile", "malformed"] {
        let mut mails: Vec<_> = std::fs::read_dir(root.join(corpus)).unwrap().map(|e| e.unwrap().path()).collect();
        mails.sort();
        for mail in mails.iter().filter(|m| m.extension().is_some_and(|x| x == "eml")) {
            let Ok(submission) = Submission::parse(&std::fs::read(mail).unwrap()) else { continue };
            for doc in submission.documents.iter().filter(|d| d.detected == DocumentType::Pdf) {
                let label = format!("{}: {}", mail.file_name().unwrap().to_string_lossy(), doc.name);
                match inspect(&doc.bytes, 1000) {
                    Inspected::Sound { .. } => {
                        sound += 1;
                        check_grey_is_grey(&label, &doc.bytes, dir.path(), &mut failures);
                    }
                    Inspected::NeedsRewrite(_) => {
                        let Some(rewrite) = qpdf_rewrite(&doc.bytes, dir.path()) else { continue };
                        rewritten += 1;
                        check_grey_is_grey(&label, &rewrite, dir.path(), &mut failures);
                    }
                }
            }
        }
    }
    assert!(sound >= 10 && rewritten >= 3, "only {sound} sound and {rewritten} rewritten corpus PDFs were compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// qpdf's rewrite as printgate runs it, or `None` when qpdf refuses the file.
fn qpdf_rewrite(pdf: &[u8], dir: &Path) -> Option<Vec<u8>> {
    std::fs::write(dir.join("in.pdf"), pdf).unwrap();
    let out = Command::new("qpdf")
        .args(["--decrypt", "--object-streams=preserve"])
        .arg(dir.join("in.pdf"))
        .arg(dir.join("out.pdf"))
        .output()
        .unwrap();
    matches!(out.status.code(), Some(0 | 3)).then(|| std::fs::read(dir.join("out.pdf")).unwrap())
}

fn drawn_cases() -> Vec<(&'static str, Vec<u8>)> {
    let square = |op: &str| format!("{op} 50 50 300 300 re f");
    let mut cases = vec![
        ("grey rg", one_page(&square("0.4 0.4 0.4 rg"), "")),
        ("red rg", one_page(&square("1 0 0 rg"), "")),
        ("cmyk black", one_page(&square("0 0 0 1 k"), "")),
        ("cmyk half black", one_page(&square("0 0 0 0.5 k"), "")),
        ("cmyk equal cmy", one_page(&square("0.5 0.5 0.5 0 k"), "")),
        ("cmyk magenta", one_page(&square("0 1 0 0 k"), "")),
        ("rgb scn", one_page(&square("/DeviceRGB cs 0 0.6 0 scn"), "")),
        ("rgb sc grey", one_page(&square("/DeviceRGB cs 0.7 0.7 0.7 sc"), "")),
        ("grey stroke", one_page("0.2 G 8 w 50 50 m 400 400 l S", "")),
        ("blue stroke", one_page("0 0 1 RG 8 w 50 50 m 400 400 l S", "")),
        ("grey text", sample::sample_pdf("a grey page", 3)),
        ("stencil mask in black", one_page("q 300 0 0 300 50 50 cm BI /W 8 /H 1 /IM true ID U EI Q", "")),
        ("stencil mask in red", one_page("1 0 0 rg q 300 0 0 300 50 50 cm BI /W 8 /H 1 /IM true ID U EI Q", "")),
        ("grey inline image", one_page("q 300 0 0 300 50 50 cm BI /W 2 /H 1 /CS /G /BPC 8 ID A~ EI Q", "")),
        (
            "white link with a black border",
            one_page("0 g", "/Annots [<< /Type /Annot /Subtype /Link /Rect [50 50 300 300] /Border [0 0 4] /C [0 0 0] >>]"),
        ),
        (
            "link with a red border",
            one_page("0 g", "/Annots [<< /Type /Annot /Subtype /Link /Rect [50 50 300 300] /Border [0 0 4] /C [1 0 0] >>]"),
        ),
    ];
    cases.push(("grey form", with_form("0.3 g 0 0 300 300 re f")));
    cases.push(("green form", with_form("0 0.8 0 rg 0 0 300 300 re f")));
    cases.push(("grey image", with_image("/DeviceGray", &[0x10, 0x80, 0xc0, 0xff])));
    cases.push(("rgb image of greys", with_image("/DeviceRGB", &[0x40, 0x40, 0x40, 0x90, 0x90, 0x90, 0, 0, 0, 0xff, 0xff, 0xff])));
    cases.push(("rgb image in colour", with_image("/DeviceRGB", &[0xff, 0, 0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0])));
    cases
}

/// A page drawing one form XObject whose content is `form` across most of the page.
fn with_form(form: &str) -> Vec<u8> {
    let form_object = format!("<< /Type /XObject /Subtype /Form /BBox [0 0 300 300] /Length {} >>\nstream\n{form}\nendstream", form.len());
    pdf_of(&["q 1 0 0 1 50 50 cm /Fm0 Do Q", "/Resources << /XObject << /Fm0 5 0 R >> >>"], &[form_object])
}

/// A page drawing a 2 x 2 image (8-bit `pixels` in `space`) across most of the page.
fn with_image(space: &str, pixels: &[u8]) -> Vec<u8> {
    let hex: String = pixels.iter().map(|b| format!("{b:02x}")).collect();
    let image = format!(
        "<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace {space} /BitsPerComponent 8 /Filter /ASCIIHexDecode /Length {} >>\nstream\n{hex}>\nendstream",
        hex.len() + 1
    );
    pdf_of(&["q 300 0 0 300 50 50 cm /Im0 Do Q", "/Resources << /XObject << /Im0 5 0 R >> >>"], &[image])
}

/// A one-page PDF with `content` and the extra page dictionary entries `extra`.
fn one_page(content: &str, extra: &str) -> Vec<u8> {
    pdf_of(&[content, extra], &[])
}

/// A one-page PDF: `page` is (content, extra page entries); `more` are objects 5, 6, …
fn pdf_of(page: &[&str; 2], more: &[String]) -> Vec<u8> {
    let [content, extra] = page;
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R {extra} >>"),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    objects.extend(more.iter().cloned());
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// The one-shot converter processes started so far, from the metrics registry.
fn processes_started() -> f64 {
    printgate::metrics::render(&[])
        .lines()
        .filter(|l| l.starts_with("printgate_converter_processes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A clean one-page PDF is read, counted and judged in process: no qpdf, no pdftoppm; so are
/// images. A colour PDF page still is rendered, which shows the counter counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_converter_process_starts_for_a_clean_one_page_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let converter = Converter::new(&settings(dir.path(), 0)).unwrap();
    let setup = Setup { paper: Paper::A4, max_pages: 100 };
    let before = processes_started();
    let (doc, _) = document("one.pdf", sample::sample_pdf("one clean page", 1));
    let rendered = converter.convert(&doc, setup).await.unwrap();
    assert_eq!((rendered.pages, rendered.page_colors.clone()), (1, vec![false]));
    assert_eq!(rendered.pdf, doc.bytes, "a clean PDF prints as sent");
    assert_eq!(processes_started(), before, "a process was started for a clean one-page PDF");

    // Photos, too, are judged from their pixels without a process: colour and grey JPEG, PNG.
    for (name, colour) in [("photo.jpg", true), ("grey.jpg", false), ("diagram.png", true), ("scan-bw.png", false)] {
        let (doc, _) = document(name, std::fs::read(fixtures().join(name)).unwrap());
        let rendered = converter.convert(&doc, setup).await.unwrap();
        assert_eq!(rendered.color(), colour, "{name}");
    }
    assert_eq!(processes_started(), before, "a process was started for an image");

    let (doc, _) = document("red.pdf", one_page("1 0 0 rg 50 50 300 300 re f", ""));
    let rendered = converter.convert(&doc, setup).await.unwrap();
    assert_eq!(rendered.page_colors, vec![true]);
    assert_eq!(processes_started(), before + 1.0, "the colour page is rendered by one pdftoppm");
}

/// A page tree that names one page a thousand times: lopdf's walk stops early, qpdf and printers
/// count a thousand pages. It must not pass as a short document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_tree_repeating_a_page_goes_through_qpdf_and_is_counted_in_full() {
    let kids = vec!["3 0 R"; 1000].join(" ");
    let mut pdf = pdf_of(&["0 g 0 0 10 10 re f", ""], &[]);
    let text = String::from_utf8_lossy(&pdf).replace("/Kids [3 0 R] /Count 1", &format!("/Kids [{kids}] /Count 1000"));
    pdf = rebuild_xref(&text);
    assert!(matches!(inspect(&pdf, 100), Inspected::NeedsRewrite(_)), "the repeated page passed the in-process check");
    let dir = tempfile::tempdir().unwrap();
    let converter = Converter::new(&settings(dir.path(), 0)).unwrap();
    let (doc, _) = document("repeat.pdf", pdf);
    let refused = converter.convert(&doc, Setup { paper: Paper::A4, max_pages: 100 }).await.unwrap_err();
    assert_eq!(refused, ConvertError::TooManyPages { pages: 1000, limit: 100 });
}

/// `text` (a PDF whose objects moved) with a fresh cross-reference table.
fn rebuild_xref(text: &str) -> Vec<u8> {
    let body = &text[..text.find("xref\n").unwrap()];
    let mut out = body.as_bytes().to_vec();
    let offsets: Vec<usize> = (1..).map_while(|n| body.find(&format!("\n{n} 0 obj")).map(|at| at + 1)).collect();
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
    for off in &offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1).as_bytes());
    out
}
