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
use printgate::convert::{Converter, Setup, colour, sample};

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
    page_verdicts(&lopdf::Document::load_mem(pdf).expect("the printed PDF loads"))
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
        let Ok(rendered) = converter.convert(&doc, setup).await else { continue };
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
    for (label, pdf) in drawn_cases() {
        let truth = pdftoppm_colours(&pdf, dir.path());
        for (page, (verdict, colour)) in verdicts(&pdf).iter().zip(&truth).enumerate() {
            if *verdict == Verdict::Grey && *colour {
                failures.push(format!("{label}: page {} read as grey but pdftoppm sees colour", page + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn drawn_cases() -> Vec<(&'static str, Vec<u8>)> {
    let square = |op: &str| format!("{op} 50 50 300 300 re f");
    vec![
        ("grey rg", one_page(&square("0.4 0.4 0.4 rg"), "")),
        ("red rg", one_page(&square("1 0 0 rg"), "")),
        ("cmyk black", one_page(&square("0 0 0 1 k"), "")),
        ("cmyk magenta", one_page(&square("0 1 0 0 k"), "")),
        ("rgb scn", one_page(&square("/DeviceRGB cs 0 0.6 0 scn"), "")),
        ("grey stroke", one_page("0.2 G 8 w 50 50 m 400 400 l S", "")),
        ("blue stroke", one_page("0 0 1 RG 8 w 50 50 m 400 400 l S", "")),
        ("grey text", sample::sample_pdf("a grey page", 3)),
    ]
}

/// A one-page PDF with `content` and the extra page dictionary entries `extra`.
fn one_page(content: &str, extra: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R {extra} >>"),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
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
