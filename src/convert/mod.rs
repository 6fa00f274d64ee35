//! Conversion: a screened document becomes print-ready PDF with its true page count and the
//! colour of every page.
//!
//! Owns document-to-PDF work; never touches the network or the store. The parts:
//! - [`pdf`]: reads each PDF in process; qpdf repairs, decrypts (owner-password restrictions)
//!   or rewrites only the PDFs that need it;
//! - [`image`]: JPEG, PNG, GIF, TIFF (every frame), BMP, WebP in-process; HEIC/AVIF through
//!   libheif's `heif-convert`; one page per image, fitted to the queue's paper;
//! - [`office`]: a pool of long-running LibreOffice workers for Office/ODF/RTF, plain text and
//!   sanitised HTML ([`html`]);
//! - [`grey`]: pages that certainly have no colour, read from the PDF without rendering;
//! - [`colour`]: per-page colour from a low-resolution rendering, for the other pages;
//! - [`scratch`]: the private, memory-backed scratch space that holds plaintext only while one
//!   conversion runs.
//!
//! Errors are [`ConvertError`]: most are about the document and go into the patron's reply;
//! [`ConvertError::is_retryable`] marks infrastructure trouble (a converter that cannot start,
//! a full scratch space) for which the message stays spooled and is tried again.

pub mod batch;
pub mod colour;
pub mod grey;
mod grey_space;
pub mod html;
pub mod image;
pub mod office;
pub mod pdf;
pub mod sample;
pub mod scratch;
pub mod tools;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConvertConfig, Paper};
use crate::intake::{Document, DocumentType};
use grey::Verdict;
use office::OfficePool;
use scratch::{ScratchDir, ScratchRoot};

/// A document ready to be sealed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: u32,
    /// One flag per page: `true` when the page has colour.
    pub page_colors: Vec<bool>,
}

impl Rendered {
    /// Whether any page has colour.
    pub fn color(&self) -> bool {
        self.page_colors.iter().any(|c| *c)
    }

    /// How many pages have colour.
    pub fn color_page_count(&self) -> u32 {
        self.page_colors.iter().filter(|c| **c).count() as u32
    }

    /// The 1-based numbers of the colour pages, as "2, 5, 7" (at most ten, then "…").
    pub fn color_pages(&self) -> String {
        let pages: Vec<String> = self.page_colors.iter().enumerate().filter(|(_, c)| **c).map(|(i, _)| (i + 1).to_string()).collect();
        if pages.len() > 10 { format!("{}, …", pages[..10].join(", ")) } else { pages.join(", ") }
    }
}

/// A document as PDF, before its colour is settled.
struct Printable {
    /// The bytes to print.
    pdf: Vec<u8>,
    /// One in-process verdict per page.
    verdicts: Vec<Verdict>,
}

/// The queue's printer: what a document is fitted and limited to.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub paper: Paper,
    pub max_pages: u32,
}

/// Why a document could not be made printable. The message is for the patron's reply.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("the PDF is damaged and cannot be repaired ({0})")]
    BrokenPdf(String),
    #[error("the PDF is protected by a password: remove the password and send it again")]
    PasswordProtected,
    #[error("the document has no pages")]
    NoPages,
    #[error("{pages} pages is more than this printer's limit of {limit}")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("the image cannot be read ({0})")]
    BadImage(String),
    #[error("the image is {width} x {height} pixels, more than the {max_megapixels} megapixels this service accepts")]
    ImageTooLarge { width: u32, height: u32, max_megapixels: u64 },
    #[error("the image needs more memory to decode than this service allows")]
    ImageTooBig,
    #[error("converting it took longer than {0:?}, so it was stopped")]
    Timeout(Duration),
    #[error("LibreOffice could not convert it ({0})")]
    OfficeFailed(String),
    #[error("the converter crashed on this document")]
    OfficeCrashed,
    #[error("it has colour (page {0}) and this printer prints black and white only: send it to the colour printer's address")]
    ColourOnMonoQueue(String),
    #[error("{0} files cannot be printed")]
    Unsupported(&'static str),
    /// Infrastructure: the converter cannot run now (retried; never shown to a patron).
    #[error("conversion is unavailable: {0}")]
    Unavailable(String),
    /// Infrastructure: scratch space, an unexpected tool result (retried).
    #[error("conversion failed: {0}")]
    Internal(String),
}

impl ConvertError {
    /// Infrastructure trouble: keep the message and try again later, do not refuse the document.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Internal(_))
    }
}

impl From<tools::ToolError> for ConvertError {
    fn from(e: tools::ToolError) -> Self {
        match e {
            tools::ToolError::Missing(..) => Self::Unavailable(e.to_string()),
            tools::ToolError::Timeout(_, limit) => Self::Timeout(limit),
            tools::ToolError::Failed { .. } => Self::Internal(e.to_string()),
        }
    }
}

fn scratch_error(e: std::io::Error) -> ConvertError {
    ConvertError::Internal(format!("scratch space: {e}"))
}

/// The helper programs and their time limit.
#[derive(Debug, Clone)]
pub struct Tools {
    pub qpdf: String,
    pub pdftoppm: String,
    pub heif_convert: String,
    pub timeout: Duration,
}

/// Converts documents; shared by the pipeline workers.
pub struct Converter {
    tools: Tools,
    scratch: ScratchRoot,
    office: Arc<OfficePool>,
    max_pixels: u64,
}

impl Converter {
    /// Prepares scratch space and the LibreOffice pool (workers start with [`Self::start`]).
    ///
    /// # Errors
    /// When the scratch or profile directory cannot be created.
    pub fn new(config: &ConvertConfig) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            tools: Tools {
                qpdf: "qpdf".into(),
                pdftoppm: "pdftoppm".into(),
                heif_convert: "heif-convert".into(),
                timeout: config.tool_timeout,
            },
            scratch: ScratchRoot::create(config.scratch_dir.as_deref())?,
            office: OfficePool::new(config)?,
            max_pixels: u64::from(config.max_image_megapixels) * 1_000_000,
        }))
    }

    /// Starts the LibreOffice workers and waits until they are ready (or failed to start).
    pub async fn start(&self) {
        self.office.prestart().await;
    }

    pub fn office(&self) -> &Arc<OfficePool> {
        &self.office
    }

    pub fn scratch_root(&self) -> &Path {
        self.scratch.path()
    }

    /// Converts one document to PDF, counts its pages and finds its colour pages.
    ///
    /// # Errors
    /// [`ConvertError`]: a reason for the patron, or infrastructure trouble (retryable).
    pub async fn convert(&self, doc: &Document, setup: Setup) -> Result<Rendered, ConvertError> {
        let work = self.scratch.job().map_err(scratch_error)?;
        let printable = self.to_pdf(doc, setup, &work).await?;
        let pages = u32::try_from(printable.verdicts.len()).unwrap_or(u32::MAX);
        if pages > setup.max_pages {
            return Err(ConvertError::TooManyPages { pages, limit: setup.max_pages });
        }
        let page_colors = self.page_colours(&printable, &work).await?;
        Ok(Rendered { pdf: printable.pdf, pages, page_colors })
    }

    /// Pages decided in process keep their verdict; the others are rendered (one pdftoppm run
    /// over the span from the first to the last of them).
    async fn page_colours(&self, printable: &Printable, work: &ScratchDir) -> Result<Vec<bool>, ConvertError> {
        let unknown = |v: &Verdict| !matches!(v, Verdict::Grey | Verdict::Colour);
        let (Some(first), Some(last)) = (printable.verdicts.iter().position(unknown), printable.verdicts.iter().rposition(unknown)) else {
            return Ok(printable.verdicts.iter().map(|v| *v == Verdict::Colour).collect());
        };
        let input = work.write("render.pdf", &printable.pdf).map_err(scratch_error)?;
        let render_dir = work.path().join("pages");
        std::fs::create_dir(&render_dir).map_err(scratch_error)?;
        let rendered = colour::page_colours(&self.tools, &input, &render_dir, first + 1, last + 1).await?;
        if rendered.len() != last - first + 1 {
            return Err(ConvertError::Internal(format!("rendered {} of pages {}-{}", rendered.len(), first + 1, last + 1)));
        }
        Ok(printable.verdicts.iter().enumerate().map(|(i, v)| *v == Verdict::Colour || (unknown(v) && rendered[i - first])).collect())
    }

    /// The printable PDF of a document and what the in-process reader knows of its pages.
    async fn to_pdf(&self, doc: &Document, setup: Setup, work: &ScratchDir) -> Result<Printable, ConvertError> {
        use DocumentType as T;
        let out = work.path().join("out.pdf");
        match doc.detected {
            T::Pdf => return self.pdf(doc, setup, work).await,
            T::Jpeg | T::Png | T::Gif | T::Bmp | T::Webp | T::Tiff => {
                return self.image(doc.bytes.clone(), doc.detected, image::Exif::Honour, setup).await;
            }
            T::Heic | T::Avif => {
                let input = work.write(if doc.detected == T::Heic { "in.heic" } else { "in.avif" }, &doc.bytes).map_err(scratch_error)?;
                let jpeg = self.heif_to_jpeg(&input, work.path()).await?;
                return self.image(jpeg, T::Jpeg, image::Exif::Ignore, setup).await;
            }
            T::Text => {
                let text = String::from_utf8_lossy(&doc.bytes).replace("\r\n", "\n");
                let input = work.write("in.txt", text.as_bytes()).map_err(scratch_error)?;
                self.office.convert(&input, &out, Some(("Text (encoded)", "UTF8,LF,,,"))).await?;
            }
            T::Html => {
                let clean = html::sanitise(&String::from_utf8_lossy(&doc.bytes));
                let input = work.write("in.html", clean.as_bytes()).map_err(scratch_error)?;
                self.office.convert(&input, &out, Some(("HTML (StarWriter)", ""))).await?;
            }
            T::Rtf | T::Docx | T::Xlsx | T::Pptx | T::Doc | T::Xls | T::Ppt | T::Odt | T::Ods | T::Odp => {
                let input = work.write(&format!("in.{}", office_extension(doc.detected)), &doc.bytes).map_err(scratch_error)?;
                self.office.convert(&input, &out, None).await?;
            }
            other => return Err(ConvertError::Unsupported(other.label())),
        }
        let converted = tokio::fs::read(&out).await.map_err(scratch_error)?;
        self.read_written(converted, setup).await
    }

    /// A sound, unencrypted, passive PDF with nothing appended prints as the patron sent it,
    /// byte for byte, and no process starts for it; any other goes through qpdf and prints as
    /// rewritten (repaired, decrypted, stripped, cut at its own end).
    async fn pdf(&self, doc: &Document, setup: Setup, work: &ScratchDir) -> Result<Printable, ConvertError> {
        let (bytes, limit) = (doc.bytes.clone(), setup.max_pages as usize);
        let (inspected, bytes) = self.bounded(move || (pdf::inspect(&bytes, limit), bytes)).await?;
        match inspected {
            pdf::Inspected::Sound { verdicts, .. } => {
                crate::metrics::inc("printgate_pdf_checks_total", &[("path", "in_process")]);
                return Ok(Printable { pdf: bytes, verdicts });
            }
            pdf::Inspected::NeedsRewrite(why) => {
                crate::metrics::inc("printgate_pdf_checks_total", &[("path", "qpdf")]);
                tracing::debug!(why, "the PDF is rewritten by qpdf");
            }
        }
        let input = work.write("in.pdf", &bytes).map_err(scratch_error)?;
        drop(bytes);
        let out = work.path().join("out.pdf");
        pdf::normalise(&self.tools, &input, &out).await?;
        let _ = std::fs::remove_file(input);
        let rewrite = out.clone();
        self.bounded(move || pdf::strip_active_content(&rewrite)).await??;
        let rewritten = tokio::fs::read(&out).await.map_err(scratch_error)?;
        self.read_written(rewritten, setup).await
    }

    /// Pages and verdicts of a PDF qpdf, LibreOffice or the image layout wrote.
    async fn read_written(&self, pdf: Vec<u8>, setup: Setup) -> Result<Printable, ConvertError> {
        let limit = setup.max_pages as usize;
        let (verdicts, pdf) = self.bounded(move || (pdf::read_pages(&pdf, limit), pdf)).await?;
        Ok(Printable { pdf, verdicts: verdicts? })
    }

    /// Runs CPU-bound reading on a blocking thread, bounded by the tool time limit.
    async fn bounded<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ConvertError> {
        match tokio::time::timeout(self.tools.timeout, tokio::task::spawn_blocking(work)).await {
            Ok(joined) => joined.map_err(|e| ConvertError::Internal(format!("PDF reader: {e}"))),
            // The blocking thread finishes on its own; its result is dropped.
            Err(_) => Err(ConvertError::Timeout(self.tools.timeout)),
        }
    }

    /// Decodes in process on a blocking thread, bounded by the tool time limit.
    async fn image(&self, bytes: Vec<u8>, kind: DocumentType, exif: image::Exif, setup: Setup) -> Result<Printable, ConvertError> {
        let max_pixels = self.max_pixels;
        let (pdf, colours) = self.bounded(move || image::to_pdf(&bytes, kind, exif, setup.paper, max_pixels, setup.max_pages)).await??;
        let verdicts = colours.into_iter().map(|c| if c { Verdict::Colour } else { Verdict::Grey }).collect();
        Ok(Printable { pdf, verdicts })
    }

    /// libheif applies the HEIF transformations (`irot`, `imir`, `clap`) while decoding.
    async fn heif_to_jpeg(&self, input: &Path, work: &Path) -> Result<Vec<u8>, ConvertError> {
        let output = work.join("heif.jpg");
        let args = ["-q".as_ref(), "92".as_ref(), input.as_os_str(), output.as_os_str()];
        tools::run(&self.tools.heif_convert, &args, self.tools.timeout, &[]).await.map_err(|e| match e {
            tools::ToolError::Failed { message, .. } => ConvertError::BadImage(message.rsplit(": ").next().unwrap_or("").to_owned()),
            other => other.into(),
        })?;
        // A file with several top-level images is written as heif-1.jpg, heif-2.jpg, …: print the first.
        let first = if output.exists() { output } else { work.join("heif-1.jpg") };
        tokio::fs::read(&first).await.map_err(|_| ConvertError::BadImage("libheif found no image in it".into()))
    }
}

/// The file name extension LibreOffice's type detection expects.
fn office_extension(kind: DocumentType) -> &'static str {
    use DocumentType as T;
    match kind {
        T::Rtf => "rtf",
        T::Docx => "docx",
        T::Xlsx => "xlsx",
        T::Pptx => "pptx",
        T::Doc => "doc",
        T::Xls => "xls",
        T::Ppt => "ppt",
        T::Odt => "odt",
        T::Ods => "ods",
        T::Odp => "odp",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests;
