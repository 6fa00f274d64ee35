//! Regenerates the intake fixture corpus in `tests/fixtures/intake/` (the output is committed):
//! `cargo run --example make_intake_fixtures`.
//!
//! Every file is built here from first principles, so the corpus can be reviewed and rebuilt:
//! RFC 5322 mails with CRLF line endings (MIME trees, base64, quoted-printable, uuencode,
//! RFC 2047 / RFC 2231 names), and the documents inside them: PDFs (`sample_pdf`, encrypted ones
//! through `qpdf`), PNG / JPEG / GIF images, TNEF `winmail.dat`, PE / ELF / Mach-O programs,
//! OLE compound files (MSI, Word, Excel, encrypted OOXML; through the `cfb` crate, with real
//! VBA project storages), OOXML and ODF packages and archives (through the `zip` crate),
//! RAR / 7z / gzip / ISO 9660 headers, Windows shortcuts and scripts. All content is benign:
//! the "programs" exit at once and the "macros" show a message box.
//!
//! `expected.toml` records, per mail, the SMTP outcome and each document's outcome; its header
//! explains the format. `tests/intake_corpus.rs` runs the corpus against the real server.
//! Output is deterministic except for the two `qpdf`-encrypted PDFs (random AES keys).

use std::fmt::Write as _;
use std::io::{Cursor, Write};
use std::path::Path;

use base64::Engine as _;
use printgate::convert::sample::sample_pdf;

const OUT: &str = "tests/fixtures/intake";
const CRLF: &str = "\r\n";
const DOMAIN: &str = "corpus.printgate.test";

fn main() -> anyhow::Result<()> {
    let out = Path::new(OUT);
    std::fs::create_dir_all(out)?;
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "eml") {
            std::fs::remove_file(path)?;
        }
    }
    let mut corpus = Corpus::default();
    build(&mut corpus)?;
    let mut total = 0;
    for case in &corpus.cases {
        std::fs::write(out.join(&case.file), &case.raw)?;
        total += case.raw.len();
    }
    std::fs::write(out.join("expected.toml"), corpus.expected_toml())?;
    println!("wrote {} mails ({} bytes) and expected.toml to {OUT}", corpus.cases.len(), total);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

const PRINT: &str = "print";
const SKIP: &str = "skip";
const PROGRAM: &str = "refuse:programs cannot be printed";
const INSTALLER: &str = "refuse:installers cannot be printed";
const SCRIPT: &str = "refuse:scripts cannot be printed";
const ARCHIVE: &str = "refuse:archives cannot be printed";
const DISK_IMAGE: &str = "refuse:disk images cannot be printed";
const MACROS: &str = "refuse:macros";
const PASSWORD: &str = "refuse:password protected";
const BOMB: &str = "refuse:unpacks to too much data";
/// A plain zip bomb is also just an archive: either reason is a correct refusal.
const BOMB_OR_ARCHIVE: &str = "refuse:unpacks to too much data|archives cannot be printed";

const NOTHING_PRINTABLE: Smtp = Smtp::Reject("5.6.0");

fn build(c: &mut Corpus) -> anyhow::Result<()> {
    let flyer = sample_pdf("Library book sale flyer", 1);
    let thesis = sample_pdf("Thesis chapter 3: Methods", 12);

    // --- plain PDFs ----------------------------------------------------------------------
    c.add("plain-pdf", "a plain valid PDF attachment", Smtp::Accept, &[("flyer.pdf", PRINT)], |m| {
        m.mailer(THUNDERBIRD).subject("Flyer").root(mixed(vec![
            text("Hi,\nplease print the attached flyer.\n\nThanks,\nPat\n"),
            attach("application/pdf", "flyer.pdf", &flyer),
        ]))
    });
    c.add("multipage-pdf", "a multi-page PDF (12 pages)", Smtp::Accept, &[("thesis-chapter-3.pdf", PRINT)], |m| {
        m.subject("chapter 3")
            .root(mixed(vec![text("Chapter 3 for the reading group.\n"), attach("application/pdf", "thesis-chapter-3.pdf", &thesis)]))
    });

    // --- nested multiparts -------------------------------------------------------------
    let agenda = sample_pdf("Board meeting agenda", 2);
    c.add(
        "nested-multipart",
        "a PDF four multipart levels deep, next to an HTML alternative",
        Smtp::Accept,
        &[("agenda.pdf", PRINT)],
        |m| {
            m.mailer(THUNDERBIRD).subject("agenda").root(mixed(vec![
                alternative(vec![text("Agenda attached.\n"), html("<p>Agenda attached.</p>")]),
                mixed(vec![text("(digest)\n"), mixed(vec![mixed(vec![attach("application/pdf", "agenda.pdf", &agenda)])])]),
            ]))
        },
    );

    // --- forwarded messages (message/rfc822) ---------------------------------------------
    let invoice = sample_pdf("Invoice 2024-117", 1);
    c.add(
        "forwarded-rfc822",
        "a forwarded message/rfc822 whose attachment counts",
        Smtp::Accept,
        &[("invoice-2024-117.pdf", PRINT)],
        |m| {
            let inner = inner_mail(
                "billing@shop.example",
                "Your invoice 2024-117",
                "orig-invoice",
                mixed(vec![
                    text("Dear customer,\nyour invoice is attached.\n"),
                    attach("application/pdf", "invoice-2024-117.pdf", &invoice),
                ]),
            );
            m.mailer(OUTLOOK)
                .subject("Fw: Your invoice 2024-117")
                .root(mixed(vec![text("Please print the forwarded invoice.\n"), forwarded(&inner, None)]))
        },
    );
    let cover = sample_pdf("Cover letter", 1);
    let transcript = sample_pdf("Transcript of records", 3);
    c.add(
        "forwarded-twice",
        "a forward of a forward: the innermost attachment and the outer one count",
        Smtp::Accept,
        &[("cover-letter.pdf", PRINT), ("transcript.pdf", PRINT)],
        |m| {
            let innermost = inner_mail(
                "registrar@university.example",
                "Transcript",
                "orig-transcript",
                mixed(vec![text("Your transcript.\n"), attach("application/pdf", "transcript.pdf", &transcript)]),
            );
            let middle = inner_mail(
                "friend@example.net",
                "Fwd: Transcript",
                "orig-fwd-transcript",
                mixed(vec![text("Forwarding as asked.\n"), forwarded(&innermost, Some("Transcript.eml"))]),
            );
            m.mailer(APPLE).subject("Fwd: Fwd: Transcript").root(mixed(vec![
                text("Both please.\n"),
                attach("application/pdf", "cover-letter.pdf", &cover),
                forwarded(&middle, Some("Fwd Transcript.eml")),
            ]))
        },
    );
    let notes = sample_pdf("Meeting notes", 1);
    let pe_viewer = pe_executable(1);
    c.add(
        "forwarded-with-exe",
        "a forwarded message holding a PDF and a program",
        Smtp::Accept,
        &[("meeting-notes.pdf", PRINT), ("viewer.exe", PROGRAM)],
        |m| {
            let inner = inner_mail(
                "colleague@example.org",
                "notes + viewer",
                "orig-notes",
                mixed(vec![
                    text("Notes and the viewer you need.\n"),
                    attach("application/pdf", "meeting-notes.pdf", &notes),
                    attach("application/x-msdownload", "viewer.exe", &pe_viewer),
                ]),
            );
            m.subject("Fwd: notes + viewer").root(mixed(vec![text("print the notes\n"), forwarded(&inner, None)]))
        },
    );

    // --- TNEF (Outlook winmail.dat) ------------------------------------------------------
    let quarterly = sample_pdf("Quarterly report Q1", 2);
    let notes_txt = b"Room 2.14, bring the printed report.\r\nCoffee at 10.\r\n".to_vec();
    let winmail = tnef(&[("Quarterly Report.pdf", &quarterly), ("notes.txt", &notes_txt)]);
    c.add(
        "tnef-winmail",
        "Outlook TNEF winmail.dat with a PDF and a text file inside",
        Smtp::Accept,
        &[("Quarterly Report.pdf", PRINT), ("notes.txt", PRINT)],
        |m| {
            m.mailer(OUTLOOK).subject("Quarterly report").root(mixed(vec![
                text("Please print the attached report.\n"),
                part(
                    &[
                        "Content-Type: application/ms-tnef; name=\"winmail.dat\"",
                        "Content-Transfer-Encoding: base64",
                        "Content-Disposition: attachment; filename=\"winmail.dat\"",
                    ],
                    b64(&winmail),
                ),
            ]))
        },
    );
    let tnef_invoice = sample_pdf("Invoice from Outlook", 1);
    let winmail_exe = tnef(&[("invoice.pdf", &tnef_invoice), ("update.exe", &pe_executable(2))]);
    c.add(
        "tnef-with-exe",
        "TNEF holding a PDF and a program: the PDF prints, the program is refused",
        Smtp::Accept,
        &[("invoice.pdf", PRINT), ("update.exe", PROGRAM)],
        |m| {
            m.mailer(OUTLOOK).subject("invoice").root(mixed(vec![
                text("Invoice attached.\n"),
                part(
                    &[
                        "Content-Type: application/ms-tnef; name=\"winmail.dat\"",
                        "Content-Transfer-Encoding: base64",
                        "Content-Disposition: attachment; filename=\"winmail.dat\"",
                    ],
                    b64(&winmail_exe),
                ),
            ]))
        },
    );
    let poster = sample_pdf("Poster A3", 1);
    let winmail_only = tnef(&[("Poster A3.pdf", &poster)]);
    c.add(
        "tnef-whole-body",
        "a message whose entire body is application/ms-tnef (Outlook rich text)",
        Smtp::Accept,
        &[("Poster A3.pdf", PRINT)],
        |m| {
            m.mailer(OUTLOOK).subject("poster").root(part(
                &["Content-Type: application/ms-tnef; name=\"winmail.dat\"", "Content-Transfer-Encoding: base64"],
                b64(&winmail_only),
            ))
        },
    );

    // --- inline images by cid:, signature and tracking images ----------------------------
    let logo = png_rgb(240, 80, |x, y| if y > 30 && y < 50 && x > 20 && x < 220 { [250, 200, 40] } else { [20, 40, 110] });
    let form = sample_pdf("Library card application form", 1);
    c.add("html-cid-logo", "an HTML mail whose logo is an inline image referenced by cid:, plus a PDF", Smtp::Accept,
        &[("logo.png", SKIP), ("form.pdf", PRINT)], |m| {
        m.mailer(GMAIL).subject("form").root(mixed(vec![
            related(vec![
                alternative(vec![
                    text("Please print the form.\n-- \nCity Library\n"),
                    html("<p>Please print the form.</p><p>--<br><img src=\"cid:logo@citylibrary.example\" alt=\"City Library\" width=\"240\" height=\"80\"></p>"),
                ]),
                inline_image("image/png", "logo.png", "logo@citylibrary.example", &logo),
            ]),
            attach("application/pdf", "form.pdf", &form),
        ]))
    });
    let banner = png_rgb(600, 120, |x, _| [(x * 255 / 600) as u8, 90, 160]);
    let header_jpg = jpeg_gray(320, 64, |bx, _| 40 + (bx as i32 * 5));
    c.add(
        "html-cid-only",
        "an HTML newsletter whose only images are referenced by cid: (nothing printable)",
        NOTHING_PRINTABLE,
        &[("banner.png", SKIP), ("header.jpg", SKIP)],
        |m| {
            m.subject("Newsletter").root(related(vec![
            alternative(vec![
                text("Our newsletter. View it in HTML.\n"),
                html("<img src=\"cid:header.jpg@news\"><h1>News</h1><p>Opening hours change in May.</p><img src=\"cid:banner.png@news\">"),
            ]),
            inline_image("image/png", "banner.png", "banner.png@news", &banner),
            inline_image("image/jpeg", "header.jpg", "header.jpg@news", &header_jpg),
        ]))
        },
    );
    let image001 = png_rgb(48, 16, |x, _| if x < 16 { [0, 119, 181] } else { [255, 255, 255] });
    let timetable = sample_pdf("Timetable spring term", 1);
    c.add("outlook-signature-and-pixel", "an Outlook signature image (cid:) and a 1x1 tracking GIF next to a PDF",
        Smtp::Accept, &[("image001.png", SKIP), ("pixel.gif", SKIP), ("timetable.pdf", PRINT)], |m| {
        m.mailer(OUTLOOK).subject("timetable").root(mixed(vec![
            related(vec![
                alternative(vec![
                    text("Timetable attached.\n\nKind regards\nA. Smith\n"),
                    html("<p>Timetable attached.</p><p>Kind regards<br>A. Smith<br><img width=\"48\" height=\"16\" src=\"cid:image001.png@01DA74B2.5E6F7080\"></p>"),
                ]),
                inline_image("image/png", "image001.png", "image001.png@01DA74B2.5E6F7080", &image001),
            ]),
            attach("application/pdf", "timetable.pdf", &timetable),
            part(&["Content-Type: image/gif; name=\"pixel.gif\"", "Content-Transfer-Encoding: base64",
                "Content-Disposition: inline; filename=\"pixel.gif\""], b64(GIF_1X1)),
        ]))
    });
    let linkedin = png_rgb(20, 20, |x, y| if (4..16).contains(&x) && (4..16).contains(&y) { [255, 255, 255] } else { [10, 102, 194] });
    let letter = sample_pdf("Letter to the council", 1);
    c.add(
        "tiny-inline-images",
        "tiny inline images without any HTML referencing them (signature icons)",
        Smtp::Accept,
        &[("linkedin.png", SKIP), ("t.gif", SKIP), ("letter.pdf", PRINT)],
        |m| {
            m.subject("letter").root(mixed(vec![
                text("Letter attached.\n--\nJo\n"),
                part(
                    &[
                        "Content-Type: image/png; name=\"linkedin.png\"",
                        "Content-Transfer-Encoding: base64",
                        "Content-ID: <sig-linkedin@mailer>",
                        "Content-Disposition: inline; filename=\"linkedin.png\"",
                    ],
                    b64(&linkedin),
                ),
                attach("application/pdf", "letter.pdf", &letter),
                part(
                    &[
                        "Content-Type: image/gif; name=\"t.gif\"",
                        "Content-Transfer-Encoding: base64",
                        "Content-Disposition: inline; filename=\"t.gif\"",
                    ],
                    b64(GIF_1X1),
                ),
            ]))
        },
    );
    let photo = jpeg_gray(640, 480, |bx, by| if by < 25 { 90 + bx as i32 } else { 20 + ((bx as i32 * 7 + by as i32 * 3) % 80) });
    c.add(
        "iphone-photo",
        "an iPhone photo sent inline (not referenced by any HTML): it prints",
        Smtp::Accept,
        &[("IMG_0042.jpeg", PRINT)],
        |m| {
            m.mailer(IPHONE).subject("photo").root(mixed(vec![
                text("\n"),
                part(
                    &[
                        "Content-Type: image/jpeg; name=\"IMG_0042.jpeg\"",
                        "Content-Disposition: inline; filename=\"IMG_0042.jpeg\"",
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&photo),
                ),
                text("\n\nSent from my iPhone\n"),
            ]))
        },
    );
    let floor_plan = png_gray(400, 300, |x, y| if x % 40 == 0 || y % 40 == 0 || x == 399 || y == 299 { 0 } else { 255 });
    c.add("png-attachment", "a PNG image attachment", Smtp::Accept, &[("floor-plan.png", PRINT)], |m| {
        m.subject("floor plan").root(mixed(vec![text("floor plan\n"), attach("image/png", "floor-plan.png", &floor_plan)]))
    });
    let reading = "Reading list, spring term\n\n1. Austen – Persuasion\n2. Tolstoy – Anna Karenina\n3. Žižek – The Sublime Object\n"
        .replace('\n', "\r\n");
    c.add("text-attachment", "a UTF-8 plain-text attachment", Smtp::Accept, &[("reading-list.txt", PRINT)], |m| {
        m.subject("list").root(mixed(vec![
            text("Reading list attached.\n"),
            part(
                &[
                    "Content-Type: text/plain; charset=utf-8; name=\"reading-list.txt\"",
                    "Content-Transfer-Encoding: base64",
                    "Content-Disposition: attachment; filename=\"reading-list.txt\"",
                ],
                b64(reading.as_bytes()),
            ),
        ]))
    });
    let boarding = sample_pdf("Boarding pass", 1);
    c.add(
        "apple-inline-pdf",
        "Apple Mail's inline-disposition PDF between two text parts: it prints",
        Smtp::Accept,
        &[("Boarding Pass.pdf", PRINT)],
        |m| {
            m.mailer(APPLE).subject("boarding pass").root(mixed(vec![
                text("Here:\n"),
                part(
                    &[
                        "Content-Disposition: inline; filename=\"Boarding Pass.pdf\"",
                        "Content-Type: application/pdf; x-unix-mode=0644; name=\"Boarding Pass.pdf\"",
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&boarding),
                ),
                text("\nThanks!\n"),
            ]))
        },
    );

    // --- RFC 2231 / RFC 2047 file names ---------------------------------------------------
    let uebersicht = sample_pdf("Uebersicht Koeln", 1);
    c.add("rfc2231-utf8", "an RFC 2231 UTF-8 file name", Smtp::Accept, &[("Übersicht Köln.pdf", PRINT)], |m| {
        let enc = format!("UTF-8''{}", pct("Übersicht Köln.pdf".as_bytes()));
        m.mailer(THUNDERBIRD).subject("Übersicht").root(mixed(vec![
            text("Anbei.\n"),
            part(
                &[
                    &format!("Content-Type: application/pdf;{CRLF} name*={enc}"),
                    "Content-Transfer-Encoding: base64",
                    &format!("Content-Disposition: attachment;{CRLF} filename*={enc}"),
                ],
                b64(&uebersicht),
            ),
        ]))
    });
    let resume = sample_pdf("Resume Francois", 2);
    c.add(
        "rfc2231-latin1",
        "an RFC 2231 ISO-8859-1 file name with a language tag",
        Smtp::Accept,
        &[("Résumé François.pdf", PRINT)],
        |m| {
            let enc = format!("iso-8859-1'fr'{}", pct(&latin1("Résumé François.pdf")));
            m.subject("CV").root(mixed(vec![
                text("Mon CV.\n"),
                part(
                    &[
                        &format!("Content-Type: application/pdf; name*={enc}"),
                        "Content-Transfer-Encoding: base64",
                        &format!("Content-Disposition: attachment; filename*={enc}"),
                    ],
                    b64(&resume),
                ),
            ]))
        },
    );
    let bericht = sample_pdf("Jahresbericht 2024", 4);
    c.add("rfc2231-continuations", "an RFC 2231 file name split into numbered continuations", Smtp::Accept,
        &[("Jahresbericht 2024 – Entwurf final.pdf", PRINT)], |m| {
        let p0 = format!("UTF-8''{}", pct("Jahresbericht 2024 ".as_bytes()));
        let p1 = pct("– Entwurf ".as_bytes());
        m.mailer(THUNDERBIRD).subject("Bericht").root(mixed(vec![
            text("Bitte drucken.\n"),
            part(&["Content-Type: application/pdf", "Content-Transfer-Encoding: base64",
                &format!("Content-Disposition: attachment;{CRLF} filename*0*={p0};{CRLF} filename*1*={p1};{CRLF} filename*2=\"final.pdf\"")],
                b64(&bericht)),
        ]))
    });
    let uebung = sample_pdf("Uebung 3 Loesungen", 2);
    c.add(
        "rfc2047-utf8-b",
        "an RFC 2047 B-encoded UTF-8 file name inside quotes (Outlook, Gmail)",
        Smtp::Accept,
        &[("Übung 3 – Lösungen.pdf", PRINT)],
        |m| {
            let name = ew_b("UTF-8", "Übung 3 – Lösungen.pdf".as_bytes());
            m.mailer(GMAIL).subject("Übung").root(mixed(vec![
                text("Lösungen.\n"),
                part(
                    &[
                        &format!("Content-Type: application/pdf; name=\"{name}\""),
                        &format!("Content-Disposition: attachment; filename=\"{name}\""),
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&uebung),
                ),
            ]))
        },
    );
    let bewerbung = sample_pdf("Bewerbung Mueller", 2);
    c.add(
        "rfc2047-latin1-q",
        "an RFC 2047 Q-encoded ISO-8859-1 file name",
        Smtp::Accept,
        &[("Bewerbung Müller Jürgen.pdf", PRINT)],
        |m| {
            let name = ew_q("ISO-8859-1", &latin1("Bewerbung Müller Jürgen.pdf"));
            m.mailer(OUTLOOK).subject("Bewerbung").root(mixed(vec![
                text("Meine Bewerbung.\n"),
                part(
                    &[
                        &format!("Content-Type: application/pdf; name=\"{name}\""),
                        &format!("Content-Disposition: attachment; filename=\"{name}\""),
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&bewerbung),
                ),
            ]))
        },
    );
    let ordnung = sample_pdf("Pruefungsordnung", 6);
    c.add(
        "rfc2047-folded-words",
        "a long RFC 2047 name in two encoded words folded across lines",
        Smtp::Accept,
        &[("Prüfungsordnung Fakultät für Maschinenbau.pdf", PRINT)],
        |m| {
            let a = ew_q("UTF-8", "Prüfungsordnung Fakultät".as_bytes());
            let b = ew_q("UTF-8", " für Maschinenbau.pdf".as_bytes());
            m.mailer(THUNDERBIRD).subject("PO").root(mixed(vec![
                text("PO anbei.\n"),
                part(
                    &[
                        &format!("Content-Type: application/pdf;{CRLF} name=\"{a}{CRLF} {b}\""),
                        &format!("Content-Disposition: attachment;{CRLF} filename=\"{a}{CRLF} {b}\""),
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&ordnung),
                ),
            ]))
        },
    );

    // --- missing or lying Content-Type --------------------------------------------------
    let scan = sample_pdf("Scanned page 1", 1);
    c.add("missing-content-type", "an attachment part with no Content-Type at all", Smtp::Accept, &[("scan-0001.pdf", PRINT)], |m| {
        m.subject("scan").root(mixed(vec![
            text("scan\n"),
            part(&["Content-Disposition: attachment; filename=\"scan-0001.pdf\"", "Content-Transfer-Encoding: base64"], b64(&scan)),
        ]))
    });
    let ticket = sample_pdf("Train ticket", 1);
    let gray_jpeg = jpeg_gray(64, 48, |bx, by| 50 + bx as i32 * 10 + by as i32 * 4);
    c.add(
        "octet-stream",
        "a PDF and a JPEG declared application/octet-stream",
        Smtp::Accept,
        &[("ticket.pdf", PRINT), ("IMG_1234.JPG", PRINT)],
        |m| {
            m.subject("ticket").root(mixed(vec![
                text("ticket + photo\n"),
                attach("application/octet-stream", "ticket.pdf", &ticket),
                attach("application/octet-stream", "IMG_1234.JPG", &gray_jpeg),
            ]))
        },
    );
    let statement = sample_pdf("Account statement", 2);
    c.add("pdf-declared-text-plain", "a PDF declared text/plain, named without an extension", Smtp::Accept, &[("statement", PRINT)], |m| {
        m.subject("statement").root(mixed(vec![
            text("statement\n"),
            part(
                &[
                    "Content-Type: text/plain; name=\"statement\"",
                    "Content-Transfer-Encoding: base64",
                    "Content-Disposition: attachment; filename=\"statement\"",
                ],
                b64(&statement),
            ),
        ]))
    });

    // --- transfer encodings -------------------------------------------------------------
    let poem = "Über allen Gipfeln\nIst Ruh,\nIn allen Wipfeln\nSpürest du\nKaum einen Hauch; = (Goethe)   \n";
    let handout_qp = sample_pdf("Handout sent quoted-printable", 1);
    c.add(
        "quoted-printable",
        "a UTF-8 text file and a PDF, both quoted-printable",
        Smtp::Accept,
        &[("poem.txt", PRINT), ("handout-qp.pdf", PRINT)],
        |m| {
            m.subject("poem").root(mixed(vec![
                text("poem and handout\n"),
                part(
                    &[
                        "Content-Type: text/plain; charset=utf-8; name=\"poem.txt\"",
                        "Content-Transfer-Encoding: quoted-printable",
                        "Content-Disposition: attachment; filename=\"poem.txt\"",
                    ],
                    qp(poem.as_bytes(), true),
                ),
                part(
                    &[
                        "Content-Type: application/pdf; name=\"handout-qp.pdf\"",
                        "Content-Transfer-Encoding: quoted-printable",
                        "Content-Disposition: attachment; filename=\"handout-qp.pdf\"",
                    ],
                    qp(&handout_qp, false),
                ),
            ]))
        },
    );
    let minutes_uu = sample_pdf("Minutes sent uuencoded", 1);
    c.add("uuencode-in-body", "a PDF uuencoded (begin 644 ...) inside a plain-text body", Smtp::Accept, &[("minutes.pdf", PRINT)], |m| {
        let body = format!("Here are the minutes.{CRLF}{CRLF}{}{CRLF}-- {CRLF}Old mailer{CRLF}", uuencode("minutes.pdf", &minutes_uu));
        m.mailer("X-Mailer: Pegasus Mail for Windows (4.52)")
            .subject("minutes")
            .root(part(&["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"], body))
    });
    let handout = sample_pdf("Handout week 5", 2);
    c.add("duplicate-attachment", "the same file attached twice prints once", Smtp::Accept, &[("handout.pdf", PRINT)], |m| {
        m.subject("handout").root(mixed(vec![
            text("handout (sorry, attached twice)\n"),
            attach("application/pdf", "handout.pdf", &handout),
            attach("application/pdf", "handout.pdf", &handout),
        ]))
    });

    // --- programs and installers ----------------------------------------------------------
    c.add("exe", "a Windows PE program", NOTHING_PRINTABLE, &[("setup.exe", PROGRAM)], |m| {
        m.subject("setup").root(mixed(vec![text("install this\n"), attach("application/x-msdownload", "setup.exe", &pe_executable(3))]))
    });
    c.add(
        "exe-renamed-pdf",
        "a PE program renamed report.pdf and declared application/pdf",
        NOTHING_PRINTABLE,
        &[("report.pdf", PROGRAM)],
        |m| m.subject("report").root(mixed(vec![text("report\n"), attach("application/pdf", "report.pdf", &pe_executable(4))])),
    );
    c.add("elf-renamed-pdf", "an ELF program renamed report.pdf", NOTHING_PRINTABLE, &[("report.pdf", PROGRAM)], |m| {
        m.subject("report").root(mixed(vec![text("report\n"), attach("application/pdf", "report.pdf", &elf_executable())]))
    });
    c.add("macho-renamed-pdf", "a Mach-O program renamed report.pdf", NOTHING_PRINTABLE, &[("report.pdf", PROGRAM)], |m| {
        m.subject("report").root(mixed(vec![text("report\n"), attach("application/pdf", "report.pdf", &macho_executable())]))
    });
    c.add(
        "msi-renamed-doc",
        "an MSI installer (OLE, installer CLSID) renamed letter.doc",
        NOTHING_PRINTABLE,
        &[("letter.doc", INSTALLER)],
        |m| m.subject("letter").root(mixed(vec![text("letter\n"), attach("application/msword", "letter.doc", &msi())])),
    );
    c.add("msi", "an MSI installer under its own name", NOTHING_PRINTABLE, &[("printer-setup.msi", INSTALLER)], |m| {
        m.subject("driver").root(mixed(vec![text("driver\n"), attach("application/x-msi", "printer-setup.msi", &msi())]))
    });

    // --- scripts ----------------------------------------------------------------------------
    let ok_pdf = sample_pdf("Directions to the venue", 1);
    c.add("scripts-with-pdf", ".js (declared text/plain), .vbs and .ps1 next to a PDF", Smtp::Accept,
        &[("invoice.js", SCRIPT), ("invoice.vbs", SCRIPT), ("update.ps1", SCRIPT), ("directions.pdf", PRINT)], |m| {
        m.subject("invoice").root(mixed(vec![
            text("see attachments\n"),
            attach("text/plain", "invoice.js", b"// invoice viewer\r\nvar shell = new ActiveXObject(\"WScript.Shell\");\r\nshell.Popup(\"printgate test script\");\r\n"),
            attach("text/vbscript", "invoice.vbs", b"Set shell = CreateObject(\"WScript.Shell\")\r\nshell.Popup \"printgate test script\"\r\n"),
            attach("application/octet-stream", "update.ps1", b"Write-Host \"printgate test script\"\r\n"),
            attach("application/pdf", "directions.pdf", &ok_pdf),
        ]))
    });
    c.add("scripts-only", ".bat, .hta and .lnk only: nothing printable", NOTHING_PRINTABLE,
        &[("start.bat", SCRIPT), ("help.hta", SCRIPT), ("Document.lnk", SCRIPT)], |m| {
        m.subject("files").root(mixed(vec![
            text("files\n"),
            attach("application/x-msdownload", "start.bat", b"@echo off\r\necho printgate test script\r\npause\r\n"),
            attach("application/hta", "help.hta", b"<html><head><title>Help</title><HTA:APPLICATION ID=\"help\" APPLICATIONNAME=\"Help\"/>\r\n<script language=\"VBScript\">MsgBox \"printgate test script\"</script></head><body>Help</body></html>\r\n"),
            attach("application/x-ms-shortcut", "Document.lnk", &lnk()),
        ]))
    });

    // --- archives and disk images ---------------------------------------------------------
    let photos_zip = zip_of(&[
        Entry::deflated("IMG_0001.jpg", jpeg_gray(64, 48, |bx, _| 60 + bx as i32 * 12)),
        Entry::deflated("IMG_0002.jpg", jpeg_gray(64, 48, |_, by| 60 + by as i32 * 20)),
    ]);
    c.add("zip-archive", "a zip archive of photos", NOTHING_PRINTABLE, &[("photos.zip", ARCHIVE)], |m| {
        m.subject("photos").root(mixed(vec![text("photos\n"), attach("application/zip", "photos.zip", &photos_zip)]))
    });
    let cover_pdf = sample_pdf("Cover sheet", 1);
    let inner_pdf = sample_pdf("Report inside a gzip", 1);
    c.add(
        "rar-7z-gz-with-pdf",
        "rar, 7z and gzip archives next to a PDF",
        Smtp::Accept,
        &[("docs.rar", ARCHIVE), ("files.7z", ARCHIVE), ("report.pdf.gz", ARCHIVE), ("cover.pdf", PRINT)],
        |m| {
            m.subject("archives").root(mixed(vec![
                text("archives\n"),
                attach("application/x-rar-compressed", "docs.rar", &rar4("readme.txt", b"printgate test archive\r\n")),
                attach("application/x-7z-compressed", "files.7z", &seven_zip("readme.txt", b"printgate test archive\r\n")),
                attach("application/gzip", "report.pdf.gz", &gzip("report.pdf", &inner_pdf)),
                attach("application/pdf", "cover.pdf", &cover_pdf),
            ]))
        },
    );
    c.add("iso-image", "an ISO 9660 disk image", NOTHING_PRINTABLE, &[("install.iso", DISK_IMAGE)], |m| {
        m.subject("iso").root(mixed(vec![text("image\n"), attach("application/x-iso9660-image", "install.iso", &iso9660())]))
    });

    // --- OOXML ------------------------------------------------------------------------------
    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let docm = docx("Contract with a macro", true);
    c.add("docx-clean", "a clean .docx", Smtp::Accept, &[("essay.docx", PRINT)], |m| {
        m.subject("essay").root(mixed(vec![text("essay\n"), attach(DOCX, "essay.docx", &docx("My essay", false))]))
    });
    c.add("docm", "a .docm (word/vbaProject.bin)", NOTHING_PRINTABLE, &[("letter-macro.docm", MACROS)], |m| {
        m.subject("letter")
            .root(mixed(vec![text("letter\n"), attach("application/vnd.ms-word.document.macroEnabled.12", "letter-macro.docm", &docm)]))
    });
    c.add("docm-renamed-docx", "a .docm renamed .docx", NOTHING_PRINTABLE, &[("contract.docx", MACROS)], |m| {
        m.subject("contract").root(mixed(vec![text("contract\n"), attach(DOCX, "contract.docx", &docm)]))
    });
    c.add("xlsm", "an .xlsm (xl/vbaProject.bin)", NOTHING_PRINTABLE, &[("budget.xlsm", MACROS)], |m| {
        m.subject("budget")
            .root(mixed(vec![text("budget\n"), attach("application/vnd.ms-excel.sheet.macroEnabled.12", "budget.xlsm", &xlsx(true))]))
    });
    c.add("xlsx-clean", "a clean .xlsx", Smtp::Accept, &[("budget.xlsx", PRINT)], |m| {
        m.subject("budget").root(mixed(vec![text("budget\n"), attach(XLSX, "budget.xlsx", &xlsx(false))]))
    });
    c.add(
        "ooxml-encrypted",
        "a password-protected .xlsx (OLE with EncryptionInfo + EncryptedPackage)",
        NOTHING_PRINTABLE,
        &[("salaries.xlsx", PASSWORD)],
        |m| {
            m.subject("salaries")
                .root(mixed(vec![text("password is in the other mail\n"), attach(XLSX, "salaries.xlsx", &encrypted_ooxml())]))
        },
    );

    // --- OLE Office ---------------------------------------------------------------------------
    c.add("xls-vba", "an .xls with a _VBA_PROJECT_CUR storage", NOTHING_PRINTABLE, &[("figures.xls", MACROS)], |m| {
        m.subject("figures").root(mixed(vec![text("figures\n"), attach("application/vnd.ms-excel", "figures.xls", &xls(XlsKind::Vba))]))
    });
    c.add("xls-clean", "a clean .xls (Workbook stream, no VBA)", Smtp::Accept, &[("figures.xls", PRINT)], |m| {
        m.subject("figures").root(mixed(vec![text("figures\n"), attach("application/vnd.ms-excel", "figures.xls", &xls(XlsKind::Clean))]))
    });
    c.add("xls-xlm-macrosheet", "an .xls with an Excel 4.0 (XLM) macro sheet", NOTHING_PRINTABLE, &[("Invoice_0042.xls", MACROS)], |m| {
        m.subject("Invoice 0042")
            .root(mixed(vec![text("invoice\n"), attach("application/vnd.ms-excel", "Invoice_0042.xls", &xls(XlsKind::Xlm))]))
    });
    c.add("doc-macros", "a Word .doc with a Macros storage", NOTHING_PRINTABLE, &[("letter.doc", MACROS)], |m| {
        m.subject("letter").root(mixed(vec![text("letter\n"), attach("application/msword", "letter.doc", &word_doc(true))]))
    });
    c.add("doc-clean", "a clean Word .doc", Smtp::Accept, &[("letter.doc", PRINT)], |m| {
        m.subject("letter").root(mixed(vec![text("letter\n"), attach("application/msword", "letter.doc", &word_doc(false))]))
    });

    // --- ODF ------------------------------------------------------------------------------
    const ODT: &str = "application/vnd.oasis.opendocument.text";
    c.add("odt-clean", "a clean .odt", Smtp::Accept, &[("minutes.odt", PRINT)], |m| {
        m.mailer(THUNDERBIRD).subject("minutes").root(mixed(vec![text("minutes\n"), attach(ODT, "minutes.odt", &odt(false))]))
    });
    c.add("odt-macro", "an .odt with a Basic macro (Basic/Standard/Module1.xml)", NOTHING_PRINTABLE, &[("minutes.odt", MACROS)], |m| {
        m.mailer(THUNDERBIRD).subject("minutes").root(mixed(vec![text("minutes\n"), attach(ODT, "minutes.odt", &odt(true))]))
    });

    // --- encrypted PDFs ---------------------------------------------------------------------
    let bank = qpdf_encrypt(&sample_pdf("Bank statement", 2), &["--encrypt", "user", "owner", "256", "--"])?;
    c.add("pdf-user-password", "a PDF that needs a password to open", NOTHING_PRINTABLE, &[("bank-statement.pdf", PASSWORD)], |m| {
        m.subject("statement").root(mixed(vec![text("statement\n"), attach("application/pdf", "bank-statement.pdf", &bank)]))
    });
    let syllabus =
        qpdf_encrypt(&sample_pdf("Syllabus", 3), &["--encrypt", "", "owner", "256", "--print=full", "--modify=none", "--extract=n", "--"])?;
    c.add(
        "pdf-owner-password",
        "a PDF with only a permissions (owner) password: printing allowed, changes and copying not",
        Smtp::Accept,
        &[("syllabus.pdf", PRINT)],
        |m| m.subject("syllabus").root(mixed(vec![text("syllabus\n"), attach("application/pdf", "syllabus.pdf", &syllabus)])),
    );

    // --- bombs ----------------------------------------------------------------------------------
    const BOMB_BYTES: u64 = 256 << 20;
    let bomb = zip_of(&[Entry::fill("invoices.pdf", b"", 0, BOMB_BYTES, b"")]);
    c.add(
        "zip-bomb",
        "a zip whose one entry inflates to 256 MiB of zeros (ratio ~1000:1)",
        NOTHING_PRINTABLE,
        &[("invoices.zip", BOMB_OR_ARCHIVE)],
        |m| m.subject("invoices").root(mixed(vec![text("invoices\n"), attach("application/zip", "invoices.zip", &bomb)])),
    );
    let docx_bomb = zip_of(&[
        Entry::deflated("[Content_Types].xml", content_types(DOCX_MAIN, false).into_bytes()),
        Entry::deflated("_rels/.rels", ROOT_RELS_WORD.as_bytes().to_vec()),
        Entry::fill(
            "word/document.xml",
            format!("{XML_DECL}<w:document xmlns:w=\"{W_NS}\"><w:body><w:p><w:r><w:t>").as_bytes(),
            b'A',
            BOMB_BYTES,
            b"</w:t></w:r></w:p></w:body></w:document>",
        ),
    ]);
    c.add("docx-bomb", "a .docx whose document.xml inflates to 256 MiB", NOTHING_PRINTABLE, &[("annual-report.docx", BOMB)], |m| {
        m.subject("annual report").root(mixed(vec![text("report\n"), attach(DOCX, "annual-report.docx", &docx_bomb)]))
    });

    // --- mixed and empty mails -----------------------------------------------------------------
    let timetable2 = sample_pdf("Bus timetable", 1);
    c.add(
        "mixed-pdf-and-exe",
        "one good PDF and one program: accepted, the program refused with its reason",
        Smtp::Accept,
        &[("bus-timetable.pdf", PRINT), ("timetable-viewer.exe", PROGRAM)],
        |m| {
            m.subject("timetable").root(mixed(vec![
                text("timetable and viewer\n"),
                attach("application/pdf", "bus-timetable.pdf", &timetable2),
                attach("application/octet-stream", "timetable-viewer.exe", &pe_executable(5)),
            ]))
        },
    );
    let only_bad = [("setup.exe", PROGRAM), ("backup.zip", ARCHIVE), ("macro.docm", MACROS)];
    let mut only_bad_case_reply: Vec<String> = only_bad.iter().map(|(n, _)| (*n).to_owned()).collect();
    only_bad_case_reply.sort();
    c.add("only-bad-parts", "a program, an archive and a macro document only: 5xx naming each", NOTHING_PRINTABLE, &only_bad, |m| {
        m.subject("files").root(mixed(vec![
            text("three files\n"),
            attach("application/x-msdownload", "setup.exe", &pe_executable(6)),
            attach("application/zip", "backup.zip", &zip_of(&[Entry::deflated("notes.txt", b"printgate test archive\r\n".to_vec())])),
            attach("application/vnd.ms-word.document.macroEnabled.12", "macro.docm", &docx("Another macro document", true)),
        ]))
    });
    c.last_mut().reply_contains = only_bad_case_reply;
    c.add("body-only-text", "a plain-text mail with no attachment", NOTHING_PRINTABLE, &[], |m| {
        m.subject("hello").root(part(
            &["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"],
            "Hello, can you print my thesis? I forgot to attach it.\r\n".to_owned(),
        ))
    });
    c.add("body-only-html", "an HTML + text alternative mail with no attachment", NOTHING_PRINTABLE, &[], |m| {
        m.mailer(GMAIL).subject("hello").root(alternative(vec![
            text("Hello, I will send the file tomorrow.\n"),
            html("<div dir=\"ltr\">Hello, I will send the file tomorrow.</div>"),
        ]))
    });

    // --- names as mail programs really write them, and a DTD in an Office file -------------------
    let protocol = sample_pdf("Protokoll der Prüfung", 2);
    let overview = sample_pdf("Zoë: Übersicht 2024", 1);
    let winmail_long = tnef_with_long_names(&[
        ("Protok~1.pdf", Some(LongName::Ansi(b"Protokoll Pr\xfcfung.pdf")), &protocol),
        ("ZOBERS~1.PDF", Some(LongName::Unicode("Zoë Übersicht 2024.pdf")), &overview),
    ]);
    c.add(
        "tnef-long-names",
        "a winmail.dat whose attachments have 8.3 titles and long names (PR_ATTACH_LONG_FILENAME, Windows-1252 and UTF-16)",
        Smtp::Accept,
        &[("Protokoll Prüfung.pdf", PRINT), ("Zoë Übersicht 2024.pdf", PRINT)],
        |m| {
            m.mailer(OUTLOOK).subject("Protokoll").root(mixed(vec![
                text("Protokoll anbei.\n"),
                part(
                    &[
                        "Content-Type: application/ms-tnef; name=\"winmail.dat\"",
                        "Content-Transfer-Encoding: base64",
                        "Content-Disposition: attachment; filename=\"winmail.dat\"",
                    ],
                    b64(&winmail_long),
                ),
            ]))
        },
    );
    let minutes = sample_pdf("Zoë Müller: minutes", 1);
    let split_q = format!("{} {}", ew_q("UTF-8", "Zoë Müller ".as_bytes()), ew_q("UTF-8", b"Protokoll.pdf"));
    let split_b = format!("{}{CRLF} {}", ew_b("UTF-8", "Zoë Müller Pro".as_bytes()), ew_b("UTF-8", b"tokoll.pdf"));
    c.add(
        "encoded-words-split-name",
        "a file name split into adjacent RFC 2047 encoded-words inside quotes (Q on one line in filename, B folded in name)",
        Smtp::Accept,
        &[("Zoë Müller Protokoll.pdf", PRINT)],
        |m| {
            m.mailer(THUNDERBIRD).subject("minutes").root(mixed(vec![
                text("minutes\n"),
                part(
                    &[
                        &format!("Content-Type: application/pdf; name=\"{split_b}\""),
                        &format!("Content-Disposition: attachment; filename=\"{split_q}\""),
                        "Content-Transfer-Encoding: base64",
                    ],
                    b64(&minutes),
                ),
            ]))
        },
    );
    let mut laughs = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for level in 1..10 {
        let below = if level == 1 { "lol".to_owned() } else { format!("lol{}", level - 1) };
        let _ = write!(laughs, "<!ENTITY lol{level} \"{}\">", format!("&{below};").repeat(10));
    }
    laughs.push_str("]>\r\n");
    let docx_dtd = zip_of(&[
        Entry::deflated("[Content_Types].xml", content_types(DOCX_MAIN, false).into_bytes()),
        Entry::deflated("_rels/.rels", ROOT_RELS_WORD.as_bytes().to_vec()),
        Entry::deflated(
            "word/document.xml",
            format!(
                "{XML_DECL}{laughs}<w:document xmlns:w=\"{W_NS}\"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
            )
            .into_bytes(),
        ),
    ]);
    const DTD: &str = "refuse:malformed Office document: it contains a DTD";
    c.add(
        "docx-dtd",
        "a .docx whose document.xml carries a billion-laughs DTD: refused before the 250",
        NOTHING_PRINTABLE,
        &[("thesis.docx", DTD)],
        |m| {
            m.subject("thesis").root(mixed(vec![
                text("thesis\n"),
                attach("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "thesis.docx", &docx_dtd),
            ]))
        },
    );
    c.last_mut().reply_contains = vec!["thesis.docx: malformed Office document: it contains a DTD".to_owned()];
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Corpus bookkeeping and expected.toml
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Smtp {
    Accept,
    Reject(&'static str),
}

struct Case {
    file: String,
    message_id: String,
    covers: String,
    smtp: Smtp,
    documents: Vec<(String, String)>,
    reply_contains: Vec<String>,
    raw: Vec<u8>,
}

#[derive(Default)]
struct Corpus {
    cases: Vec<Case>,
}

impl Corpus {
    fn add(&mut self, slug: &str, covers: &str, smtp: Smtp, documents: &[(&str, &str)], f: impl FnOnce(MailBuilder) -> MailBuilder) {
        let n = self.cases.len() + 1;
        let message_id = format!("intake-{n:02}-{slug}@{DOMAIN}");
        let mail = f(MailBuilder::new(n, &message_id));
        let raw = mail.render().into_bytes();
        self.cases.push(Case {
            file: format!("{n:02}-{slug}.eml"),
            message_id,
            covers: covers.to_owned(),
            smtp,
            documents: documents.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
            reply_contains: Vec::new(),
            raw,
        });
    }

    fn last_mut(&mut self) -> &mut Case {
        self.cases.last_mut().unwrap()
    }

    fn expected_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let mut out = String::from(EXPECTED_HEADER);
        for case in &self.cases {
            out.push_str("\n[[mail]]\n");
            let _ = writeln!(out, "file = {}", q(&case.file));
            let _ = writeln!(out, "message_id = {}", q(&case.message_id));
            let _ = writeln!(out, "covers = {}", q(&case.covers));
            match case.smtp {
                Smtp::Accept => out.push_str("smtp = \"accept\"\n"),
                Smtp::Reject(code) => {
                    let _ = writeln!(out, "smtp = \"reject\"\ncode = {}", q(code));
                }
            }
            if !case.reply_contains.is_empty() {
                let items: Vec<String> = case.reply_contains.iter().map(|s| q(s)).collect();
                let _ = writeln!(out, "reply_contains = [{}]", items.join(", "));
            }
            if case.documents.is_empty() {
                out.push_str("documents = []\n");
            } else {
                out.push_str("documents = [\n");
                for (name, expect) in &case.documents {
                    let _ = writeln!(out, "  {{ name = {}, expect = {} }},", q(name), q(expect));
                }
                out.push_str("]\n");
            }
        }
        out
    }
}

const EXPECTED_HEADER: &str = r#"# Expected outcome of every mail in this directory. Generated by
# `cargo run --example make_intake_fixtures` (examples/make_intake_fixtures.rs): edit the generator,
# not this file. Checked by tests/intake_corpus.rs against the real server, whose `bw` queue allows
# allowed_types = ["pdf", "images", "office", "text"].
#
# Per mail:
#   file, message_id   the .eml and its Message-ID (without angle brackets)
#   covers             what the case is about
#   smtp               "accept" (250 after DATA) or "reject" with `code`, the enhanced status code
#                      (5.6.0: nothing printable)
#   reply_contains     strings the SMTP reply to DATA must contain (optional)
#   documents          every document the patron sent, by the name the patron gave it (after
#                      RFC 2047 / RFC 2231 decoding; inside TNEF, forwarded mails and uuencoded
#                      bodies too; a file attached twice is one document). The mail body itself is
#                      not a document. No other document may show up in the message trace.
#     expect = "print"           the file policy accepts it (it prints, or converting it is the
#                                next stage's job: "... cannot be printed yet")
#     expect = "skip"            an inline (cid:) or signature/tracking image: not printed and not
#                                listed as refused
#     expect = "refuse:<reason>" refused, and the reason contains <reason>; "a|b" accepts either
"#;

/// One mail under construction.
struct MailBuilder {
    n: usize,
    message_id: String,
    subject: String,
    mailer: &'static str,
    root: Option<Node>,
}

const THUNDERBIRD: &str = "User-Agent: Mozilla Thunderbird";
const OUTLOOK: &str = "X-Mailer: Microsoft Outlook 16.0";
const APPLE: &str = "X-Mailer: Apple Mail (2.3774.300.61.1.2)";
const IPHONE: &str = "X-Mailer: iPhone Mail (21D61)";
const GMAIL: &str = "X-Gm-Message-State: AOJu0YzPrintgateCorpus";

impl MailBuilder {
    fn new(n: usize, message_id: &str) -> Self {
        Self { n, message_id: message_id.to_owned(), subject: "print".into(), mailer: THUNDERBIRD, root: None }
    }
    fn mailer(mut self, header: &'static str) -> Self {
        self.mailer = header;
        self
    }
    fn subject(mut self, s: &str) -> Self {
        self.subject = s.to_owned();
        self
    }
    fn root(mut self, node: Node) -> Self {
        self.root = Some(node);
        self
    }
    fn render(self) -> String {
        let subject = if self.subject.is_ascii() { self.subject.clone() } else { ew_b("UTF-8", self.subject.as_bytes()) };
        let top = vec![
            "From: Pat Patron <patron@example.com>".to_owned(),
            "To: bw@print.example.org".to_owned(),
            format!("Subject: {subject}"),
            format!("Date: Tue, 12 Mar 2024 {:02}:{:02}:00 +0100", 9 + self.n / 60, self.n % 60),
            format!("Message-ID: <{}>", self.message_id),
            "MIME-Version: 1.0".to_owned(),
            self.mailer.to_owned(),
        ];
        render_message(top, self.root.expect("every case sets a root part"), self.n)
    }
}

/// A forwarded original, rendered as a complete message.
fn inner_mail(from: &str, subject: &str, id: &str, root: Node) -> String {
    let top = vec![
        format!("From: {from}"),
        "To: Pat Patron <patron@example.com>".to_owned(),
        format!("Subject: {subject}"),
        "Date: Mon, 11 Mar 2024 17:02:11 +0100".to_owned(),
        format!("Message-ID: <{id}@{DOMAIN}>"),
        "MIME-Version: 1.0".to_owned(),
    ];
    render_message(top, root, 900 + id.len())
}

// ---------------------------------------------------------------------------------------------
// MIME
// ---------------------------------------------------------------------------------------------

enum Node {
    Leaf { headers: Vec<String>, body: String },
    Multi { subtype: &'static str, parts: Vec<Node> },
}

fn render_message(top: Vec<String>, root: Node, seed: usize) -> String {
    let mut counter = 0;
    let (headers, body) = render_node(&root, seed, &mut counter);
    let mut out = String::new();
    for h in top.iter().chain(&headers) {
        out.push_str(h);
        out.push_str(CRLF);
    }
    out.push_str(CRLF);
    out.push_str(&body);
    if !out.ends_with(CRLF) {
        out.push_str(CRLF);
    }
    assert!(!out.replace(CRLF, "").contains('\n'), "bare LF in a mail");
    out
}

fn render_node(node: &Node, seed: usize, counter: &mut usize) -> (Vec<String>, String) {
    match node {
        Node::Leaf { headers, body } => (headers.clone(), body.clone()),
        Node::Multi { subtype, parts } => {
            *counter += 1;
            let boundary = format!("----=_Part_{seed}_{counter}.1710231300");
            let mut body = String::from("This is a multi-part message in MIME format.");
            for p in parts {
                let (h, b) = render_node(p, seed, counter);
                let _ = write!(body, "{CRLF}--{boundary}{CRLF}");
                for line in h {
                    body.push_str(&line);
                    body.push_str(CRLF);
                }
                body.push_str(CRLF);
                body.push_str(&b);
            }
            let _ = write!(body, "{CRLF}--{boundary}--{CRLF}");
            (vec![format!("Content-Type: multipart/{subtype};{CRLF}\tboundary=\"{boundary}\"")], body)
        }
    }
}

fn mixed(parts: Vec<Node>) -> Node {
    Node::Multi { subtype: "mixed", parts }
}
fn alternative(parts: Vec<Node>) -> Node {
    Node::Multi { subtype: "alternative", parts }
}
fn related(parts: Vec<Node>) -> Node {
    Node::Multi { subtype: "related", parts }
}

fn part(headers: &[&str], body: String) -> Node {
    Node::Leaf { headers: headers.iter().map(|h| (*h).to_owned()).collect(), body }
}

/// A text/plain body part (`\n` line ends in, CRLF out).
fn text(s: &str) -> Node {
    if s.is_ascii() {
        part(&["Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 7bit"], s.replace('\n', CRLF))
    } else {
        part(&["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"], qp(s.as_bytes(), true))
    }
}

fn html(s: &str) -> Node {
    let doc =
        format!("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>{s}</body></html>\n");
    part(&["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"], qp(doc.as_bytes(), true))
}

/// An ordinary base64 attachment with a plain ASCII name.
fn attach(content_type: &str, name: &str, bytes: &[u8]) -> Node {
    part(
        &[
            &format!("Content-Type: {content_type}; name=\"{name}\""),
            &format!("Content-Disposition: attachment; filename=\"{name}\""),
            "Content-Transfer-Encoding: base64",
        ],
        b64(bytes),
    )
}

fn inline_image(content_type: &str, name: &str, cid: &str, bytes: &[u8]) -> Node {
    part(
        &[
            &format!("Content-Type: {content_type}; name=\"{name}\""),
            &format!("Content-Description: {name}"),
            &format!("Content-Disposition: inline; filename=\"{name}\"; size={}", bytes.len()),
            &format!("Content-ID: <{cid}>"),
            "Content-Transfer-Encoding: base64",
        ],
        b64(bytes),
    )
}

fn forwarded(message: &str, name: Option<&str>) -> Node {
    let disposition = match name {
        Some(n) => format!("Content-Disposition: attachment; filename=\"{n}\""),
        None => "Content-Disposition: inline".to_owned(),
    };
    part(&["Content-Type: message/rfc822", &disposition], message.trim_end_matches(CRLF).to_owned())
}

fn b64(bytes: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(CRLF)
}

/// Quoted-printable (RFC 2045 6.7). In text mode `\n` is a hard line break; in binary mode every
/// byte, CR and LF included, is encoded as it is.
fn qp(bytes: &[u8], text: bool) -> String {
    let mut out = String::new();
    let mut col = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if text && b == b'\n' {
            out.push_str(CRLF);
            col = 0;
            continue;
        }
        let before_break = i + 1 == bytes.len() || (text && bytes[i + 1] == b'\n');
        let literal = ((33..=126).contains(&b) && b != b'=') || ((b == b' ' || b == b'\t') && !before_break);
        let token = if literal { (b as char).to_string() } else { format!("={b:02X}") };
        if col + token.len() > 75 {
            out.push('=');
            out.push_str(CRLF);
            col = 0;
        }
        out.push_str(&token);
        col += token.len();
    }
    out
}

fn uuencode(name: &str, bytes: &[u8]) -> String {
    let enc = |v: u8| if v == 0 { '`' } else { (v + 32) as char };
    let mut out = format!("begin 644 {name}{CRLF}");
    for line in bytes.chunks(45) {
        out.push(enc(line.len() as u8));
        for tri in line.chunks(3) {
            let b = [tri[0], tri.get(1).copied().unwrap_or(0), tri.get(2).copied().unwrap_or(0)];
            out.push(enc(b[0] >> 2));
            out.push(enc(((b[0] & 3) << 4) | (b[1] >> 4)));
            out.push(enc(((b[1] & 15) << 2) | (b[2] >> 6)));
            out.push(enc(b[2] & 63));
        }
        out.push_str(CRLF);
    }
    out.push('`');
    out.push_str(CRLF);
    out.push_str("end");
    out
}

/// RFC 2047 B encoded word.
fn ew_b(charset: &str, bytes: &[u8]) -> String {
    format!("=?{charset}?B?{}?=", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// RFC 2047 Q encoded word.
fn ew_q(charset: &str, bytes: &[u8]) -> String {
    let mut s = format!("=?{charset}?Q?");
    for &b in bytes {
        match b {
            b' ' => s.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'!' | b'*' | b'+' | b'/' => s.push(b as char),
            _ => {
                let _ = write!(s, "={b:02X}");
            }
        }
    }
    s.push_str("?=");
    s
}

/// RFC 2231 percent-encoding of a parameter value.
fn pct(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).expect("ISO-8859-1 character")).collect()
}

// ---------------------------------------------------------------------------------------------
// Checksums, deflate
// ---------------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A raw DEFLATE stream, taken from a one-entry zip written by the `zip` crate.
fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let zip = zip_of(&[Entry::deflated("d", data.to_vec())]);
    let le16 = |i: usize| usize::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
    let size = u32::from_le_bytes(zip[18..22].try_into().unwrap()) as usize;
    let start = 30 + le16(26) + le16(28);
    zip[start..start + size].to_vec()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x9C];
    out.extend(raw_deflate(data));
    out.extend(adler32(data).to_be_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

const GIF_1X1: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn png(width: u32, height: u32, color_type: u8, rows: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend(crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib(rows));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn png_rgb(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut rows = Vec::new();
    for y in 0..height {
        rows.push(0);
        for x in 0..width {
            rows.extend(pixel(x, y));
        }
    }
    png(width, height, 2, &rows)
}

fn png_gray(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let mut rows = Vec::new();
    for y in 0..height {
        rows.push(0);
        for x in 0..width {
            rows.push(pixel(x, y));
        }
    }
    png(width, height, 0, &rows)
}

/// A baseline grayscale JPEG (JFIF) in which each 8x8 block is flat: `level(bx, by)` gives the
/// block's gray level (0..=255). Only DC coefficients are coded; every block ends with EOB.
fn jpeg_gray(width: u16, height: u16, level: impl Fn(u16, u16) -> i32) -> Vec<u8> {
    const DC_COUNTS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const AC_COUNTS: [u8; 16] = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const AC_VALUES: [u8; 2] = [0x00, 0x01];
    fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
        out.extend([0xFF, marker]);
        out.extend(((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    // Canonical Huffman codes of the DC table, by category.
    let mut dc_codes = [(0u16, 0u8); 12];
    let (mut code, mut k) = (0u16, 0usize);
    for (len, &count) in DC_COUNTS.iter().enumerate() {
        for _ in 0..count {
            dc_codes[usize::from(DC_VALUES[k])] = (code, len as u8 + 1);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x48\x00\x48\x00\x00");
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend(height.to_be_bytes());
    sof.extend(width.to_be_bytes());
    sof.extend([1, 1, 0x11, 0]);
    segment(&mut out, 0xC0, &sof);
    let mut dht = vec![0x00];
    dht.extend(DC_COUNTS);
    dht.extend(DC_VALUES);
    dht.push(0x10);
    dht.extend(AC_COUNTS);
    dht.extend(AC_VALUES);
    segment(&mut out, 0xC4, &dht);
    segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    let mut bits = BitWriter::default();
    let mut previous = 0i32;
    for by in 0..height.div_ceil(8) {
        for bx in 0..width.div_ceil(8) {
            let dc = 8 * (level(bx, by).clamp(0, 255) - 128);
            let diff = dc - previous;
            previous = dc;
            let category = 32 - diff.unsigned_abs().leading_zeros();
            let (code, len) = dc_codes[category as usize];
            bits.put(u32::from(code), u32::from(len));
            if category > 0 {
                let value = if diff > 0 { diff } else { diff + (1 << category) - 1 };
                bits.put(value as u32, category);
            }
            bits.put(0, 1); // AC: end of block
        }
    }
    out.extend(bits.finish());
    out.extend([0xFF, 0xD9]);
    out
}

#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.byte();
            }
        }
    }
    fn byte(&mut self) {
        let b = self.acc as u8;
        self.out.push(b);
        if b == 0xFF {
            self.out.push(0); // byte stuffing
        }
        self.acc = 0;
        self.n = 0;
    }
    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1); // pad with ones
        }
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
// TNEF (MS-OXTNEF)
// ---------------------------------------------------------------------------------------------

const LVL_MESSAGE: u8 = 1;
const LVL_ATTACHMENT: u8 = 2;
const ATT_TNEF_VERSION: u32 = 0x0008_9006;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_MESSAGE_CLASS: u32 = 0x0007_8008;
const ATT_BODY: u32 = 0x0002_800C;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

/// `PR_ATTACH_LONG_FILENAME` as Outlook writes it in `attAttachment`: 8-bit (Windows-1252) or UTF-16LE.
enum LongName<'a> {
    Ansi(&'a [u8]),
    Unicode(&'a str),
}

fn tnef(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let plain: Vec<(&str, Option<LongName>, &[u8])> = attachments.iter().map(|(n, d)| (*n, None, *d)).collect();
    tnef_with_long_names(&plain)
}

/// The attachment's MAPI properties ([MS-OXTNEF] 2.1.3.4): PR_ATTACH_METHOD (by value) and the
/// long file name, each value counted and padded to 4 bytes.
fn attachment_props(long: &LongName) -> Vec<u8> {
    let (kind, mut value): (u16, Vec<u8>) = match long {
        LongName::Ansi(bytes) => (0x001E, bytes.to_vec()),
        LongName::Unicode(text) => (0x001F, text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
    };
    value.extend(if kind == 0x001F { &[0u8, 0][..] } else { &[0u8][..] });
    let mut p = 2u32.to_le_bytes().to_vec();
    p.extend(0x0003u16.to_le_bytes());
    p.extend(0x3705u16.to_le_bytes());
    p.extend(1u32.to_le_bytes());
    p.extend(kind.to_le_bytes());
    p.extend(0x3707u16.to_le_bytes());
    p.extend(1u32.to_le_bytes());
    p.extend((value.len() as u32).to_le_bytes());
    p.extend(&value);
    p.resize(p.len().next_multiple_of(4), 0);
    p
}

fn tnef_with_long_names(attachments: &[(&str, Option<LongName>, &[u8])]) -> Vec<u8> {
    fn attribute(out: &mut Vec<u8>, level: u8, id: u32, data: &[u8]) {
        out.push(level);
        out.extend(id.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let sum: u32 = data.iter().map(|&b| u32::from(b)).sum();
        out.extend(((sum % 65536) as u16).to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend(0x223E_9F78u32.to_le_bytes());
    out.extend(0x1B2Cu16.to_le_bytes()); // legacy key
    attribute(&mut out, LVL_MESSAGE, ATT_TNEF_VERSION, &0x0001_0000u32.to_le_bytes());
    attribute(&mut out, LVL_MESSAGE, ATT_OEM_CODEPAGE, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0]); // 1252
    attribute(&mut out, LVL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0");
    attribute(&mut out, LVL_MESSAGE, ATT_BODY, b"Please print the attached files.\r\n\0");
    for (name, long, data) in attachments {
        // atyp = file, position unknown, rendering size unknown, no flags
        let mut rend = Vec::new();
        rend.extend(1u16.to_le_bytes());
        rend.extend(0xFFFF_FFFFu32.to_le_bytes());
        rend.extend(0xFFFFu16.to_le_bytes());
        rend.extend(0xFFFFu16.to_le_bytes());
        rend.extend(0u32.to_le_bytes());
        attribute(&mut out, LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, &rend);
        let mut title = name.as_bytes().to_vec();
        title.push(0);
        attribute(&mut out, LVL_ATTACHMENT, ATT_ATTACH_TITLE, &title);
        attribute(&mut out, LVL_ATTACHMENT, ATT_ATTACH_DATA, data);
        if let Some(long) = long {
            attribute(&mut out, LVL_ATTACHMENT, ATT_ATTACHMENT, &attachment_props(long));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Programs and scripts
// ---------------------------------------------------------------------------------------------

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A PE32+ console program whose entry point returns 0. `variant` changes the timestamp so each
/// mail carries distinct bytes.
fn pe_executable(variant: u32) -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    b[0..2].copy_from_slice(b"MZ");
    put16(&mut b, 0x02, 0x90);
    put16(&mut b, 0x04, 3);
    put16(&mut b, 0x08, 4);
    put16(&mut b, 0x0C, 0xFFFF);
    put16(&mut b, 0x10, 0xB8);
    put16(&mut b, 0x18, 0x40);
    put32(&mut b, 0x3C, 0x80); // e_lfanew
    let stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$";
    b[0x40..0x40 + stub.len()].copy_from_slice(stub);
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    let coff = 0x84;
    put16(&mut b, coff, 0x8664); // x86-64
    put16(&mut b, coff + 2, 1); // sections
    put32(&mut b, coff + 4, 0x65F0_0000 + variant); // timestamp
    put16(&mut b, coff + 16, 0xF0); // optional header size
    put16(&mut b, coff + 18, 0x0022); // executable, large address aware
    let opt = coff + 20;
    put16(&mut b, opt, 0x20B); // PE32+
    b[opt + 2] = 14;
    put32(&mut b, opt + 4, 0x200); // size of code
    put32(&mut b, opt + 16, 0x1000); // entry point
    put32(&mut b, opt + 20, 0x1000); // base of code
    put64(&mut b, opt + 24, 0x1_4000_0000); // image base
    put32(&mut b, opt + 32, 0x1000); // section alignment
    put32(&mut b, opt + 36, 0x200); // file alignment
    put16(&mut b, opt + 40, 6); // OS version
    put16(&mut b, opt + 48, 6); // subsystem version
    put32(&mut b, opt + 56, 0x2000); // size of image
    put32(&mut b, opt + 60, 0x200); // size of headers
    put16(&mut b, opt + 68, 3); // console
    put16(&mut b, opt + 70, 0x8160);
    put64(&mut b, opt + 72, 0x10_0000);
    put64(&mut b, opt + 80, 0x1000);
    put64(&mut b, opt + 88, 0x10_0000);
    put64(&mut b, opt + 96, 0x1000);
    put32(&mut b, opt + 108, 16); // data directories
    let section = opt + 0xF0;
    b[section..section + 5].copy_from_slice(b".text");
    put32(&mut b, section + 8, 3); // virtual size
    put32(&mut b, section + 12, 0x1000);
    put32(&mut b, section + 16, 0x200); // raw size
    put32(&mut b, section + 20, 0x200); // raw pointer
    put32(&mut b, section + 36, 0x6000_0020); // code, execute, read
    b[0x200..0x203].copy_from_slice(&[0x31, 0xC0, 0xC3]); // xor eax, eax; ret
    b
}

/// An x86-64 Linux ELF program that calls exit(0).
fn elf_executable() -> Vec<u8> {
    let code = [0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05]; // mov eax, 60; xor edi, edi; syscall
    let mut b = vec![0u8; 0x78 + code.len()];
    b[0..16].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    put16(&mut b, 16, 2); // executable
    put16(&mut b, 18, 0x3E); // x86-64
    put32(&mut b, 20, 1);
    put64(&mut b, 24, 0x40_0078); // entry
    put64(&mut b, 32, 64); // program headers
    put16(&mut b, 52, 64);
    put16(&mut b, 54, 56);
    put16(&mut b, 56, 1);
    put16(&mut b, 58, 64);
    let ph = 64;
    put32(&mut b, ph, 1); // PT_LOAD
    put32(&mut b, ph + 4, 5); // R+X
    put64(&mut b, ph + 16, 0x40_0000);
    put64(&mut b, ph + 24, 0x40_0000);
    let len = b.len() as u64;
    put64(&mut b, ph + 32, len);
    put64(&mut b, ph + 40, len);
    put64(&mut b, ph + 48, 0x1000);
    b[0x78..].copy_from_slice(&code);
    b
}

/// A 64-bit Mach-O executable header with one load command (__PAGEZERO).
fn macho_executable() -> Vec<u8> {
    let mut b = vec![0u8; 32 + 72 + 24];
    put32(&mut b, 0, 0xFEED_FACF);
    put32(&mut b, 4, 0x0100_0007); // x86-64
    put32(&mut b, 8, 3);
    put32(&mut b, 12, 2); // MH_EXECUTE
    put32(&mut b, 16, 1); // ncmds
    put32(&mut b, 20, 72); // sizeofcmds
    put32(&mut b, 24, 0x0020_0085);
    put32(&mut b, 32, 0x19); // LC_SEGMENT_64
    put32(&mut b, 36, 72);
    b[40..50].copy_from_slice(b"__PAGEZERO");
    put64(&mut b, 64, 0x1_0000_0000); // vmsize
    b
}

/// A Windows shell link (MS-SHLLINK) to notepad.exe with a name, a relative path and arguments.
fn lnk() -> Vec<u8> {
    let mut b = vec![0u8; 76];
    put32(&mut b, 0, 0x4C);
    b[4..20].copy_from_slice(&[0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]);
    put32(&mut b, 20, 0x04 | 0x08 | 0x20 | 0x80); // HasName, HasRelativePath, HasArguments, IsUnicode
    put32(&mut b, 24, 0x20); // archive
    put32(&mut b, 60, 1); // SW_SHOWNORMAL
    for s in ["Document", "..\\..\\Windows\\notepad.exe", "readme.txt"] {
        let units: Vec<u16> = s.encode_utf16().collect();
        b.extend((units.len() as u16).to_le_bytes());
        for u in units {
            b.extend(u.to_le_bytes());
        }
    }
    b.extend(0u32.to_le_bytes()); // terminal block
    b
}

// ---------------------------------------------------------------------------------------------
// Archives and disk images
// ---------------------------------------------------------------------------------------------

/// A zip entry: deflated bytes, or `prefix` + `size` copies of `fill` + `suffix` streamed in.
struct Entry {
    name: String,
    stored: bool,
    data: Vec<u8>,
    fill: Option<(u8, u64, Vec<u8>)>,
}

impl Entry {
    fn deflated(name: &str, data: Vec<u8>) -> Self {
        Self { name: name.to_owned(), stored: false, data, fill: None }
    }
    fn stored(name: &str, data: Vec<u8>) -> Self {
        Self { name: name.to_owned(), stored: true, data, fill: None }
    }
    fn fill(name: &str, prefix: &[u8], byte: u8, size: u64, suffix: &[u8]) -> Self {
        Self { name: name.to_owned(), stored: false, data: prefix.to_vec(), fill: Some((byte, size, suffix.to_vec())) }
    }
}

fn zip_of(entries: &[Entry]) -> Vec<u8> {
    let time = zip::DateTime::from_date_and_time(2024, 3, 12, 9, 0, 0).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for e in entries {
        let method = if e.stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(if e.stored { None } else { Some(9) })
            .last_modified_time(time);
        w.start_file(e.name.as_str(), options).unwrap();
        w.write_all(&e.data).unwrap();
        if let Some((byte, size, suffix)) = &e.fill {
            let block = vec![*byte; 1 << 20];
            let mut left = *size;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                w.write_all(&block[..n]).unwrap();
                left -= n as u64;
            }
            w.write_all(suffix).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// A RAR 4 archive holding one stored file.
fn rar4(name: &str, data: &[u8]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, after_crc: &[u8]) {
        out.extend(((crc32(after_crc) & 0xFFFF) as u16).to_le_bytes());
        out.extend_from_slice(after_crc);
    }
    let mut out = b"Rar!\x1a\x07\x00".to_vec();
    block(&mut out, &[0x73, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0]); // main header
    let mut file = vec![0x74];
    file.extend(0x8000u16.to_le_bytes()); // LONG_BLOCK
    file.extend(((32 + name.len()) as u16).to_le_bytes());
    file.extend((data.len() as u32).to_le_bytes()); // packed
    file.extend((data.len() as u32).to_le_bytes()); // unpacked
    file.push(2); // Windows
    file.extend(crc32(data).to_le_bytes());
    file.extend(0x586C_4800u32.to_le_bytes()); // DOS time 2024-03-12 09:00
    file.push(29); // version to extract
    file.push(0x30); // store
    file.extend((name.len() as u16).to_le_bytes());
    file.extend(0x20u32.to_le_bytes());
    file.extend_from_slice(name.as_bytes());
    block(&mut out, &file);
    out.extend_from_slice(data);
    block(&mut out, &[0x7B, 0x00, 0x40, 0x07, 0x00]); // end of archive
    out
}

/// A 7z archive holding one file with the Copy method.
fn seven_zip(name: &str, data: &[u8]) -> Vec<u8> {
    fn number(out: &mut Vec<u8>, v: usize) {
        if v < 0x80 {
            out.push(v as u8);
        } else {
            assert!(v < 0x4000);
            out.push(0x80 | (v >> 8) as u8);
            out.push(v as u8);
        }
    }
    let mut h = vec![0x01, 0x04]; // Header, MainStreamsInfo
    h.extend([0x06, 0x00, 0x01, 0x09]); // PackInfo: pos 0, 1 stream, sizes
    number(&mut h, data.len());
    h.push(0x00);
    h.extend([0x07, 0x0B, 0x01, 0x00]); // UnpackInfo: Folder, 1 folder, not external
    h.extend([0x01, 0x01, 0x00]); // 1 coder: id size 1, id 0x00 = Copy
    h.push(0x0C); // CodersUnpackSize
    number(&mut h, data.len());
    h.push(0x00);
    h.extend([0x08, 0x0A, 0x01]); // SubStreamsInfo: CRC, all defined
    h.extend(crc32(data).to_le_bytes());
    h.extend([0x00, 0x00]); // end SubStreamsInfo, end MainStreamsInfo
    h.extend([0x05, 0x01, 0x11]); // FilesInfo: 1 file, names
    let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
    number(&mut h, 1 + 2 * units.len());
    h.push(0x00);
    for u in units {
        h.extend(u.to_le_bytes());
    }
    h.extend([0x00, 0x00]); // end FilesInfo, end Header
    let mut start = Vec::new();
    start.extend((data.len() as u64).to_le_bytes());
    start.extend((h.len() as u64).to_le_bytes());
    start.extend(crc32(&h).to_le_bytes());
    let mut out = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    out.extend(crc32(&start).to_le_bytes());
    out.extend(start);
    out.extend_from_slice(data);
    out.extend(h);
    out
}

fn gzip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 0x08, 0x08, 0, 0, 0, 0, 0x02, 0x03];
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend(raw_deflate(data));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// An ISO 9660 image: empty system area, a primary volume descriptor ("CD001" at 0x8001), a
/// terminator, and a root directory with "." and "..".
fn iso9660() -> Vec<u8> {
    const SECTOR: usize = 2048;
    let blocks = 19;
    let mut b = vec![0u8; blocks * SECTOR];
    let both32 = |b: &mut [u8], at: usize, v: u32| {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        b[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
    };
    let both16 = |b: &mut [u8], at: usize, v: u16| {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
        b[at + 2..at + 4].copy_from_slice(&v.to_be_bytes());
    };
    let dir_record = |b: &mut [u8], at: usize, name: u8| {
        b[at] = 34;
        both32(b, at + 2, 18);
        both32(b, at + 10, SECTOR as u32);
        b[at + 18..at + 25].copy_from_slice(&[124, 3, 12, 9, 0, 0, 4]);
        b[at + 25] = 0x02; // directory
        both16(b, at + 28, 1);
        b[at + 32] = 1;
        b[at + 33] = name;
    };
    let pvd = 16 * SECTOR;
    b[pvd] = 1;
    b[pvd + 1..pvd + 6].copy_from_slice(b"CD001");
    b[pvd + 6] = 1;
    b[pvd + 8..pvd + 72].fill(b' ');
    b[pvd + 8..pvd + 13].copy_from_slice(b"LINUX");
    b[pvd + 40..pvd + 51].copy_from_slice(b"BACKUP_2024");
    both32(&mut b, pvd + 80, blocks as u32);
    both16(&mut b, pvd + 120, 1);
    both16(&mut b, pvd + 124, 1);
    both16(&mut b, pvd + 128, SECTOR as u16);
    dir_record(&mut b, pvd + 156, 0);
    b[pvd + 190..pvd + 813].fill(b' ');
    for at in [813, 830, 847, 864] {
        b[pvd + at..pvd + at + 16].copy_from_slice(b"2024031209000000");
    }
    b[pvd + 881] = 1;
    let term = 17 * SECTOR;
    b[term] = 255;
    b[term + 1..term + 6].copy_from_slice(b"CD001");
    b[term + 6] = 1;
    let root = 18 * SECTOR;
    dir_record(&mut b, root, 0);
    dir_record(&mut b, root + 34, 1);
    b
}

// ---------------------------------------------------------------------------------------------
// OLE compound files (MS-CFB), VBA projects (MS-OVBA), BIFF8
// ---------------------------------------------------------------------------------------------

type Ole = cfb::CompoundFile<Cursor<Vec<u8>>>;

fn ole(root_clsid: &str, build: impl FnOnce(&mut Ole)) -> Vec<u8> {
    let mut comp = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).unwrap();
    comp.set_storage_clsid("/", uuid::Uuid::parse_str(root_clsid).unwrap()).unwrap();
    build(&mut comp);
    // Fixed timestamps, so regenerating gives the same bytes.
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_710_230_400);
    let storages: Vec<_> = comp.walk().filter(|e| !e.is_stream()).map(|e| e.path().to_owned()).collect();
    for path in storages {
        comp.set_modified_time(&path, when).unwrap();
        comp.set_created_time(&path, when).unwrap();
    }
    comp.flush().unwrap();
    comp.into_inner().into_inner()
}

fn stream(comp: &mut Ole, path: &str, data: &[u8]) {
    comp.create_stream(path).unwrap().write_all(data).unwrap();
}

/// A property set stream (MS-OLEPS) with a title: `\x05SummaryInformation`.
fn summary_information(title: &str) -> Vec<u8> {
    let fmtid = uuid::Uuid::parse_str("F29F85E0-4FF9-1068-AB91-08002B27B3D9").unwrap().to_bytes_le();
    let mut value = title.as_bytes().to_vec();
    value.push(0);
    let count = value.len() as u32;
    while !value.len().is_multiple_of(4) {
        value.push(0);
    }
    let section_size = 8 + 8 + 8 + value.len();
    let mut out = Vec::new();
    out.extend(0xFFFEu16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0x0002_0006u32.to_le_bytes());
    out.extend([0u8; 16]);
    out.extend(1u32.to_le_bytes());
    out.extend(fmtid);
    out.extend(48u32.to_le_bytes());
    out.extend((section_size as u32).to_le_bytes());
    out.extend(1u32.to_le_bytes()); // one property
    out.extend(2u32.to_le_bytes()); // PIDSI_TITLE
    out.extend(16u32.to_le_bytes());
    out.extend(0x1Eu32.to_le_bytes()); // VT_LPSTR
    out.extend(count.to_le_bytes());
    out.extend(value);
    out
}

const MSI_CLSID: &str = "000C1084-0000-0000-C000-000000000046";
const WORD_CLSID: &str = "00020906-0000-0000-C000-000000000046";
const EXCEL_CLSID: &str = "00020820-0000-0000-C000-000000000046";
const NO_CLSID: &str = "00000000-0000-0000-0000-000000000000";

/// A Windows Installer database: the installer CLSID on the root storage, a summary stream and
/// table streams with MSI's encoded names.
fn msi() -> Vec<u8> {
    ole(MSI_CLSID, |c| {
        stream(c, "/\u{5}SummaryInformation", &summary_information("Installation Database"));
        stream(c, "/\u{4840}\u{3F3F}\u{4577}\u{446C}\u{3B6A}\u{45E4}\u{4824}", &[0u8; 64]); // !_Tables
        stream(c, "/\u{4840}\u{3F3F}\u{4577}\u{446C}\u{3E6A}\u{44B2}\u{4831}", &[0u8; 64]);
        stream(c, "/\u{4840}\u{3B3F}\u{43F2}\u{4438}\u{45B1}", &[0u8; 32]);
    })
}

/// MS-OVBA compression using literal tokens only (valid for up to 3640 bytes).
fn ovba_compress(data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= 3640, "one literal-only chunk");
    let mut body = Vec::new();
    for group in data.chunks(8) {
        body.push(0x00);
        body.extend_from_slice(group);
    }
    let mut out = vec![0x01];
    out.extend((0xB000u16 | (body.len() + 2 - 3) as u16).to_le_bytes());
    out.extend(body);
    out
}

/// A VBA project storage (`VBA/dir`, `VBA/_VBA_PROJECT`, one stream per module, `PROJECT`,
/// `PROJECTwm`) under `base` ("" for the root of its own compound file).
fn vba_project(c: &mut Ole, base: &str, modules: &[(&str, bool, &str)]) {
    fn record(out: &mut Vec<u8>, id: u16, data: &[u8]) {
        out.extend(id.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    if !base.is_empty() {
        c.create_storage(base).unwrap();
    }
    c.create_storage(format!("{base}/VBA")).unwrap();
    let mut dir = Vec::new();
    record(&mut dir, 0x0001, &1u32.to_le_bytes()); // SYSKIND win32
    record(&mut dir, 0x0002, &0x409u32.to_le_bytes()); // LCID
    record(&mut dir, 0x0014, &0x409u32.to_le_bytes()); // LCIDINVOKE
    record(&mut dir, 0x0003, &1252u16.to_le_bytes()); // CODEPAGE
    record(&mut dir, 0x0004, b"VBAProject"); // NAME
    record(&mut dir, 0x0005, b""); // DOCSTRING
    record(&mut dir, 0x0040, b"");
    record(&mut dir, 0x0006, b""); // HELPFILEPATH
    record(&mut dir, 0x003D, b"");
    record(&mut dir, 0x0007, &0u32.to_le_bytes()); // HELPCONTEXT
    record(&mut dir, 0x0008, &0u32.to_le_bytes()); // LIBFLAGS
    dir.extend(0x0009u16.to_le_bytes()); // VERSION: reserved 4, major, minor
    dir.extend(4u32.to_le_bytes());
    dir.extend(0x5D9C_3A1Bu32.to_le_bytes());
    dir.extend(1u16.to_le_bytes());
    record(&mut dir, 0x000C, b""); // CONSTANTS
    record(&mut dir, 0x003C, b"");
    record(&mut dir, 0x000F, &(modules.len() as u16).to_le_bytes()); // MODULES
    record(&mut dir, 0x0013, &0xFFFFu16.to_le_bytes()); // COOKIE
    for (name, document, source) in modules {
        record(&mut dir, 0x0019, name.as_bytes());
        record(&mut dir, 0x0047, &utf16(name));
        record(&mut dir, 0x001A, name.as_bytes());
        record(&mut dir, 0x0032, &utf16(name));
        record(&mut dir, 0x001C, b"");
        record(&mut dir, 0x0048, b"");
        record(&mut dir, 0x0031, &0u32.to_le_bytes()); // source at offset 0
        record(&mut dir, 0x001E, &0u32.to_le_bytes());
        record(&mut dir, 0x002C, &0xFFFFu16.to_le_bytes());
        record(&mut dir, if *document { 0x0022 } else { 0x0021 }, b"");
        record(&mut dir, 0x002B, b"");
        stream(c, &format!("{base}/VBA/{name}"), &ovba_compress(source.replace('\n', "\r\n").as_bytes()));
    }
    record(&mut dir, 0x0010, b"");
    stream(c, &format!("{base}/VBA/dir"), &ovba_compress(&dir));
    stream(c, &format!("{base}/VBA/_VBA_PROJECT"), &[0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00]);
    let mut project = "ID=\"{5D3A1C2B-0E9F-4B7A-9C1D-2E3F4A5B6C7D}\"\r\n".to_owned();
    for (name, document, _) in modules {
        if *document {
            let _ = write!(project, "Document={name}/&H00000000\r\n");
        } else {
            let _ = write!(project, "Module={name}\r\n");
        }
    }
    project.push_str("Name=\"VBAProject\"\r\nHelpContextID=\"0\"\r\nVersionCompatible32=\"393222000\"\r\n\r\n[Host Extender Info]\r\n&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n");
    stream(c, &format!("{base}/PROJECT"), project.as_bytes());
    let mut wm = Vec::new();
    for (name, _, _) in modules {
        wm.extend_from_slice(name.as_bytes());
        wm.push(0);
        wm.extend(utf16(name));
        wm.extend([0, 0]);
    }
    wm.extend([0, 0]);
    stream(c, &format!("{base}/PROJECTwm"), &wm);
}

const MACRO_SOURCE: &str = "Attribute VB_Name = \"Module1\"\nSub AutoOpen()\n    MsgBox \"printgate test macro\"\nEnd Sub\n";

fn word_doc(macros: bool) -> Vec<u8> {
    ole(WORD_CLSID, |c| {
        // FibBase: wIdent, nFib, unused, lid, pnNext, flags (fWhichTblStm), nFibBack, ...
        let mut word = vec![0u8; 4096];
        put16(&mut word, 0, 0xA5EC);
        put16(&mut word, 2, 0x00C1);
        put16(&mut word, 6, 0x0409);
        put16(&mut word, 10, 0x0200);
        put16(&mut word, 12, 0x00BF);
        let text = b"Dear council, please find my letter below.";
        word[2048..2048 + text.len()].copy_from_slice(text);
        stream(c, "/WordDocument", &word);
        stream(c, "/1Table", &[0u8; 1024]);
        stream(c, "/\u{5}SummaryInformation", &summary_information("Letter"));
        if macros {
            vba_project(
                c,
                "/Macros",
                &[("ThisDocument", true, "Attribute VB_Name = \"ThisDocument\"\n"), ("Module1", false, MACRO_SOURCE)],
            );
        }
    })
}

enum XlsKind {
    Clean,
    Vba,
    Xlm,
}

/// A BIFF8 workbook: globals with one BOUNDSHEET, then that sheet's substream.
fn workbook_stream(macro_sheet: bool) -> Vec<u8> {
    fn rec(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend(kind.to_le_bytes());
        out.extend((data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }
    fn bof(dt: u16) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend(0x0600u16.to_le_bytes());
        d.extend(dt.to_le_bytes());
        d.extend(0x2775u16.to_le_bytes());
        d.extend(0x07CDu16.to_le_bytes());
        d.extend(0x0000_80C9u32.to_le_bytes());
        d.extend(0x0000_0206u32.to_le_bytes());
        d
    }
    let name: &[u8] = if macro_sheet { b"Macro1" } else { b"Sheet1" };
    let mut globals = Vec::new();
    rec(&mut globals, 0x0809, &bof(0x0005));
    rec(&mut globals, 0x0042, &1200u16.to_le_bytes()); // CODEPAGE
    let boundsheet_at = globals.len();
    let mut bs = vec![0u8; 4];
    bs.push(0); // visible
    bs.push(if macro_sheet { 0x01 } else { 0x00 }); // Excel 4.0 macro sheet / worksheet
    bs.push(name.len() as u8);
    bs.push(0);
    bs.extend_from_slice(name);
    rec(&mut globals, 0x0085, &bs);
    rec(&mut globals, 0x000A, &[]);
    let sheet_at = globals.len() as u32;
    globals[boundsheet_at + 4..boundsheet_at + 8].copy_from_slice(&sheet_at.to_le_bytes());
    rec(&mut globals, 0x0809, &bof(if macro_sheet { 0x0040 } else { 0x0010 }));
    // NUMBER cell A1 = 42
    let mut number = Vec::new();
    number.extend([0, 0, 0, 0, 0x0F, 0]);
    number.extend(42f64.to_le_bytes());
    rec(&mut globals, 0x0203, &number);
    rec(&mut globals, 0x000A, &[]);
    globals.resize(globals.len().max(4096), 0); // full-size stream, out of the mini stream
    globals
}

fn xls(kind: XlsKind) -> Vec<u8> {
    ole(EXCEL_CLSID, |c| {
        stream(c, "/Workbook", &workbook_stream(matches!(kind, XlsKind::Xlm)));
        stream(c, "/\u{5}SummaryInformation", &summary_information("Figures"));
        if matches!(kind, XlsKind::Vba) {
            vba_project(
                c,
                "/_VBA_PROJECT_CUR",
                &[
                    ("ThisWorkbook", true, "Attribute VB_Name = \"ThisWorkbook\"\n"),
                    ("Module1", false, &MACRO_SOURCE.replace("AutoOpen", "Auto_Open")),
                ],
            );
        }
    })
}

/// A password-protected OOXML file (MS-OFFCRYPTO agile encryption): `EncryptionInfo`,
/// `EncryptedPackage` and the `\x06DataSpaces` storage.
fn encrypted_ooxml() -> Vec<u8> {
    ole(NO_CLSID, |c| {
        let mut info = Vec::new();
        info.extend(4u16.to_le_bytes());
        info.extend(4u16.to_le_bytes());
        info.extend(0x40u32.to_le_bytes());
        info.extend_from_slice(
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
                "<encryption xmlns=\"http://schemas.microsoft.com/office/2006/encryption\" ",
                "xmlns:p=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\">",
                "<keyData saltSize=\"16\" blockSize=\"16\" keyBits=\"256\" hashSize=\"64\" cipherAlgorithm=\"AES\" ",
                "cipherChaining=\"ChainingModeCBC\" hashAlgorithm=\"SHA512\" saltValue=\"cHJpbnRnYXRlIHRlc3Qgc2E=\"/>",
                "<keyEncryptors><keyEncryptor uri=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\">",
                "<p:encryptedKey spinCount=\"100000\" saltSize=\"16\" blockSize=\"16\" keyBits=\"256\" hashSize=\"64\" ",
                "cipherAlgorithm=\"AES\" cipherChaining=\"ChainingModeCBC\" hashAlgorithm=\"SHA512\" ",
                "saltValue=\"cHJpbnRnYXRlIHRlc3Qgc2E=\"/></keyEncryptor></keyEncryptors></encryption>"
            )
            .as_bytes(),
        );
        stream(c, "/EncryptionInfo", &info);
        let mut package = Vec::new();
        package.extend(6000u64.to_le_bytes());
        let mut x = 0x2545_F491_4F6C_DD1Du64; // xorshift: ciphertext-looking bytes
        while package.len() < 8 + 6016 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            package.push((x >> 24) as u8);
        }
        stream(c, "/EncryptedPackage", &package);
        c.create_storage("/\u{6}DataSpaces").unwrap();
        let mut version = Vec::new();
        let feature = utf16_prefixed("Microsoft.Container.DataSpaces");
        version.extend(feature);
        version.extend([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        stream(c, "/\u{6}DataSpaces/Version", &version);
        c.create_storage("/\u{6}DataSpaces/DataSpaceInfo").unwrap();
        stream(c, "/\u{6}DataSpaces/DataSpaceInfo/StrongEncryptionDataSpace", &[8, 0, 0, 0, 1, 0, 0, 0]);
        stream(c, "/\u{6}DataSpaces/DataSpaceMap", &[8, 0, 0, 0, 1, 0, 0, 0]);
    })
}

fn utf16_prefixed(s: &str) -> Vec<u8> {
    let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut out = (units.len() as u32).to_le_bytes().to_vec();
    out.extend(units);
    out
}

// ---------------------------------------------------------------------------------------------
// OOXML and ODF packages
// ---------------------------------------------------------------------------------------------

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n";
const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const DOCX_MAIN: &str =
    "/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const DOCM_MAIN: &str = "/word/document.xml\" ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml";
const ROOT_RELS_WORD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
const VBA_REL: &str =
    "<Relationship Id=\"rIdVba\" Type=\"http://schemas.microsoft.com/office/2006/relationships/vbaProject\" Target=\"vbaProject.bin\"/>";

/// `[Content_Types].xml` with the given main part override (`PartName" ContentType="...`) and,
/// for macro documents, the vbaProject default.
fn content_types(overrides: &str, vba: bool) -> String {
    let mut s = format!("{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">");
    if vba {
        s.push_str("<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>");
    }
    s.push_str("<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>");
    s.push_str("<Default Extension=\"xml\" ContentType=\"application/xml\"/>");
    for o in overrides.split('\n') {
        let _ = write!(s, "<Override PartName=\"{o}\"/>");
    }
    s.push_str("</Types>");
    s
}

fn vba_project_bin(modules: &[(&str, bool, &str)]) -> Vec<u8> {
    ole(NO_CLSID, |c| vba_project(c, "", modules))
}

fn docx(text: &str, macros: bool) -> Vec<u8> {
    let document = format!(
        "{XML_DECL}<w:document xmlns:w=\"{W_NS}\"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p><w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/></w:sectPr></w:body></w:document>"
    );
    let mut entries = vec![
        Entry::deflated("[Content_Types].xml", content_types(if macros { DOCM_MAIN } else { DOCX_MAIN }, macros).into_bytes()),
        Entry::deflated("_rels/.rels", ROOT_RELS_WORD.as_bytes().to_vec()),
        Entry::deflated("word/document.xml", document.into_bytes()),
    ];
    if macros {
        entries.push(Entry::deflated(
            "word/_rels/document.xml.rels",
            format!(
                "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{VBA_REL}</Relationships>"
            )
            .into_bytes(),
        ));
        entries.push(Entry::deflated(
            "word/vbaProject.bin",
            vba_project_bin(&[("ThisDocument", true, "Attribute VB_Name = \"ThisDocument\"\n"), ("Module1", false, MACRO_SOURCE)]),
        ));
    }
    zip_of(&entries)
}

fn xlsx(macros: bool) -> Vec<u8> {
    let main = if macros {
        "/xl/workbook.xml\" ContentType=\"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    } else {
        "/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    };
    let overrides = format!(
        "{main}\n/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    );
    let rels_ns = "http://schemas.openxmlformats.org/package/2006/relationships";
    let mut workbook_rels = format!(
        "{XML_DECL}<Relationships xmlns=\"{rels_ns}\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    );
    if macros {
        workbook_rels.push_str(VBA_REL);
    }
    workbook_rels.push_str("</Relationships>");
    let mut entries = vec![
        Entry::deflated("[Content_Types].xml", content_types(&overrides, macros).into_bytes()),
        Entry::deflated("_rels/.rels", format!("{XML_DECL}<Relationships xmlns=\"{rels_ns}\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>").into_bytes()),
        Entry::deflated("xl/workbook.xml", format!("{XML_DECL}<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"Budget\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>").into_bytes()),
        Entry::deflated("xl/_rels/workbook.xml.rels", workbook_rels.into_bytes()),
        Entry::deflated("xl/worksheets/sheet1.xml", format!("{XML_DECL}<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Books</t></is></c><c r=\"B1\"><v>420</v></c></row></sheetData></worksheet>").into_bytes()),
    ];
    if macros {
        entries.push(Entry::deflated(
            "xl/vbaProject.bin",
            vba_project_bin(&[
                ("ThisWorkbook", true, "Attribute VB_Name = \"ThisWorkbook\"\n"),
                ("Module1", false, &MACRO_SOURCE.replace("AutoOpen", "Auto_Open")),
            ]),
        ));
    }
    zip_of(&entries)
}

fn odt(macros: bool) -> Vec<u8> {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    let mut manifest = format!(
        "{xml}<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\">\n <manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.2\" manifest:media-type=\"application/vnd.oasis.opendocument.text\"/>\n <manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\n"
    );
    let events = if macros {
        "<office:scripts><office:event-listeners><script:event-listener script:language=\"ooo:script\" script:event-name=\"office:load\" xlink:href=\"vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document\" xlink:type=\"simple\"/></office:event-listeners></office:scripts>"
    } else {
        ""
    };
    let content = format!(
        "{xml}<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" xmlns:script=\"urn:oasis:names:tc:opendocument:xmlns:script:1.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" office:version=\"1.2\">{events}<office:body><office:text><text:h text:outline-level=\"1\">Minutes</text:h><text:p>The meeting opened at 18:00.</text:p></office:text></office:body></office:document-content>\n"
    );
    let mut entries = vec![
        Entry::stored("mimetype", b"application/vnd.oasis.opendocument.text".to_vec()),
        Entry::deflated("content.xml", content.into_bytes()),
    ];
    if macros {
        for path in ["Basic/", "Basic/script-lc.xml", "Basic/Standard/", "Basic/Standard/script-lb.xml", "Basic/Standard/Module1.xml"] {
            let media = if path.ends_with('/') { "" } else { "text/xml" };
            let _ = writeln!(manifest, " <manifest:file-entry manifest:full-path=\"{path}\" manifest:media-type=\"{media}\"/>");
        }
        entries.push(Entry::deflated("Basic/script-lc.xml", format!("{xml}<library:libraries xmlns:library=\"http://openoffice.org/2000/library\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n <library:library library:name=\"Standard\" xlink:href=\"$(CURR_LOCATION)/Standard.xlb/\" xlink:type=\"simple\" library:link=\"false\"/>\n</library:libraries>\n").into_bytes()));
        entries.push(Entry::deflated("Basic/Standard/script-lb.xml", format!("{xml}<library:library xmlns:library=\"http://openoffice.org/2000/library\" library:name=\"Standard\" library:readonly=\"false\" library:passwordprotected=\"false\">\n <library:element library:name=\"Module1\"/>\n</library:library>\n").into_bytes()));
        entries.push(Entry::deflated("Basic/Standard/Module1.xml", format!("{xml}<script:module xmlns:script=\"http://openoffice.org/2000/script\" script:name=\"Module1\" script:language=\"StarBasic\" script:moduleType=\"normal\">Sub Main\n  MsgBox &quot;printgate test macro&quot;\nEnd Sub\n</script:module>\n").into_bytes()));
    }
    manifest.push_str("</manifest:manifest>\n");
    entries.push(Entry::deflated("META-INF/manifest.xml", manifest.into_bytes()));
    zip_of(&entries)
}

// ---------------------------------------------------------------------------------------------
// Encrypted PDFs through qpdf
// ---------------------------------------------------------------------------------------------

fn qpdf_encrypt(pdf: &[u8], args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let (input, output) = (dir.path().join("in.pdf"), dir.path().join("out.pdf"));
    std::fs::write(&input, pdf)?;
    let status = std::process::Command::new("qpdf")
        .args(args)
        .arg(&input)
        .arg(&output)
        .status()
        .map_err(|e| anyhow::anyhow!("qpdf must be installed (apt-get install qpdf): {e}"))?;
    anyhow::ensure!(status.success(), "qpdf {args:?} failed: {status}");
    let out = std::fs::read(&output)?;
    anyhow::ensure!(out.windows(8).any(|w| w == b"/Encrypt"), "qpdf output has no /Encrypt");
    Ok(out)
}
