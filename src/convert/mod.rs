//! Conversion: a screened document becomes print-ready PDF with its true page count and the
//! colour of every page.
//!
//! Owns document-to-PDF work; never touches the network or the store. The parts:
//! - [`pdf`]: qpdf validates, repairs and decrypts (owner-password restrictions) every PDF;
//! - [`image`]: JPEG, PNG, GIF, TIFF (every frame), BMP, WebP in-process; HEIC/AVIF through
//!   libheif's `heif-convert`; one page per image, fitted to the queue's paper;
//! - [`office`]: a pool of long-running LibreOffice workers for Office/ODF/RTF, plain text and
//!   sanitised HTML ([`html`]);
//! - [`colour`]: per-page colour from a low-resolution rendering;
//! - [`scratch`]: the private, memory-backed scratch space that holds plaintext only while one
//!   conversion runs.
//!
//! Errors are [`ConvertError`]: most are about the document and go into the patron's reply;
//! [`ConvertError::is_retryable`] marks infrastructure trouble (a converter that cannot start,
//! a full scratch space) for which the message stays spooled and is tried again.

pub mod batch;
pub mod colour;
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
        let out = work.path().join("out.pdf");
        let original = self.to_pdf(doc, setup, &work, &out).await?;
        let converted = tokio::fs::read(&out).await.map_err(scratch_error)?;
        let pages = pdf::count_pages(&converted)?;
        if pages > setup.max_pages {
            return Err(ConvertError::TooManyPages { pages, limit: setup.max_pages });
        }
        let render_dir = work.path().join("pages");
        std::fs::create_dir(&render_dir).map_err(scratch_error)?;
        let page_colors = colour::page_colours(&self.tools, &out, &render_dir).await?;
        if page_colors.len() != pages as usize {
            return Err(ConvertError::Internal(format!("rendered {} pages of {pages}", page_colors.len())));
        }
        Ok(Rendered { pdf: original.unwrap_or(converted), pages, page_colors })
    }

    /// Writes the printable PDF to `out`; returns the bytes to print instead when they differ
    /// from `out` (an untouched original PDF).
    async fn to_pdf(&self, doc: &Document, setup: Setup, work: &ScratchDir, out: &Path) -> Result<Option<Vec<u8>>, ConvertError> {
        use DocumentType as T;
        match doc.detected {
            T::Pdf => {
                let input = work.write("in.pdf", &doc.bytes).map_err(scratch_error)?;
                let checked = pdf::normalise(&self.tools, &input, out).await?;
                let _ = std::fs::remove_file(input);
                let rewrite = out.to_owned();
                let stripped = tokio::task::spawn_blocking(move || pdf::strip_active_content(&rewrite))
                    .await
                    .map_err(|e| ConvertError::Internal(e.to_string()))??;
                // A sound, unencrypted, passive PDF prints as the patron sent it, byte for byte
                // (pages and colours are still read from qpdf's rewrite); a repaired, decrypted
                // or stripped one, or one with another file appended, prints as rewritten.
                let as_sent =
                    checked == pdf::Checked::Clean && !stripped && !pdf::is_encrypted(&doc.bytes) && !pdf::has_trailing_data(&doc.bytes);
                Ok(as_sent.then(|| doc.bytes.clone()))
            }
            T::Jpeg | T::Png | T::Gif | T::Bmp | T::Webp | T::Tiff => {
                self.image(doc.bytes.clone(), doc.detected, image::Exif::Honour, setup, out).await.map(|()| None)
            }
            T::Heic | T::Avif => {
                let input = work.write(if doc.detected == T::Heic { "in.heic" } else { "in.avif" }, &doc.bytes).map_err(scratch_error)?;
                let jpeg = self.heif_to_jpeg(&input, work.path()).await?;
                self.image(jpeg, T::Jpeg, image::Exif::Ignore, setup, out).await.map(|()| None)
            }
            T::Text => {
                let text = String::from_utf8_lossy(&doc.bytes).replace("\r\n", "\n");
                let input = work.write("in.txt", text.as_bytes()).map_err(scratch_error)?;
                self.office.convert(&input, out, Some(("Text (encoded)", "UTF8,LF,,,"))).await.map(|()| None)
            }
            T::Html => {
                let clean = html::sanitise(&String::from_utf8_lossy(&doc.bytes));
                let input = work.write("in.html", clean.as_bytes()).map_err(scratch_error)?;
                self.office.convert(&input, out, Some(("HTML (StarWriter)", ""))).await.map(|()| None)
            }
            T::Rtf | T::Docx | T::Xlsx | T::Pptx | T::Doc | T::Xls | T::Ppt | T::Odt | T::Ods | T::Odp => {
                let input = work.write(&format!("in.{}", office_extension(doc.detected)), &doc.bytes).map_err(scratch_error)?;
                self.office.convert(&input, out, None).await.map(|()| None)
            }
            other => Err(ConvertError::Unsupported(other.label())),
        }
    }

    /// Decodes in-process on a blocking thread, bounded by the tool time limit.
    async fn image(&self, bytes: Vec<u8>, kind: DocumentType, exif: image::Exif, setup: Setup, out: &Path) -> Result<(), ConvertError> {
        let max_pixels = self.max_pixels;
        let task = tokio::task::spawn_blocking(move || image::to_pdf(&bytes, kind, exif, setup.paper, max_pixels, setup.max_pages));
        let pdf = match tokio::time::timeout(self.tools.timeout, task).await {
            Ok(joined) => joined.map_err(|e| ConvertError::Internal(format!("image decoder: {e}")))??,
            // The blocking thread finishes on its own; its result is dropped.
            Err(_) => return Err(ConvertError::Timeout(self.tools.timeout)),
        };
        tokio::fs::write(out, pdf).await.map_err(scratch_error)
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
