//! `printgate convert`: files through the same converter the pipeline uses.
//!
//! Owns the command's output: one JSON object per file on standard output (`file`, `ok`,
//! `pages`, `color_pages`, `ms`, or `error` with the patron's reason), then a summary object
//! whose `docs_per_s` is timed after the LibreOffice workers are ready (what benchmarks read).

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;

use super::{Converter, Setup};
use crate::config::{ConvertConfig, Paper};
use crate::intake::{Document, DocumentType, Origin, Role};

pub struct Batch {
    pub paper: Paper,
    pub max_pages: u32,
    pub parallel: Option<usize>,
    pub out: Option<PathBuf>,
}

/// Converts `files`; returns how many failed.
///
/// # Errors
/// When the converter cannot be set up or a file cannot be read.
pub async fn run(settings: &ConvertConfig, batch: &Batch, files: &[PathBuf]) -> anyhow::Result<usize> {
    let converter = Converter::new(settings)?;
    let started = Instant::now();
    converter.start().await;
    let startup_ms = started.elapsed().as_millis();
    let setup = Setup { paper: batch.paper, max_pages: batch.max_pages };
    let mut docs = Vec::with_capacity(files.len());
    for path in files {
        docs.push((path.clone(), document(path)?));
    }
    let parallel = batch.parallel.unwrap_or(settings.office_workers).max(1);
    let began = Instant::now();
    let results: Vec<bool> = futures::stream::iter(docs)
        .map(|(path, doc)| {
            let converter = &converter;
            async move {
                let t = Instant::now();
                let result = converter.convert(&doc, setup).await;
                let ms = t.elapsed().as_millis();
                let line = match &result {
                    Ok(r) => serde_json::json!({
                        "file": path, "ok": true, "kind": doc.detected.label(), "pages": r.pages,
                        "color_pages": r.page_colors.iter().enumerate().filter(|(_, c)| **c).map(|(i, _)| i + 1).collect::<Vec<_>>(),
                        "ms": ms,
                    }),
                    Err(e) => {
                        serde_json::json!({ "file": path, "ok": false, "kind": doc.detected.label(), "error": e.to_string(), "ms": ms })
                    }
                };
                println!("{line}");
                if let (Ok(r), Some(dir)) = (&result, &batch.out) {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if let Err(e) = std::fs::write(dir.join(format!("{name}.pdf")), &r.pdf) {
                        eprintln!("cannot write {name}.pdf: {e}");
                    }
                }
                result.is_ok()
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let seconds = began.elapsed().as_secs_f64();
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{}",
        serde_json::json!({ "summary": { "docs": results.len(), "failed": failed, "seconds": seconds,
            "docs_per_s": results.len() as f64 / seconds.max(1e-9), "workers": settings.office_workers,
            "parallel": parallel, "startup_ms": startup_ms, "restarts": converter.office().restarts() } })
    );
    Ok(failed)
}

/// A file as intake would have classified it (declared type from the extension).
fn document(path: &Path) -> anyhow::Result<Document> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let declared = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("txt" | "text") => "text/plain",
        Some("html" | "htm") => "text/html",
        _ => "application/octet-stream",
    };
    let detected = DocumentType::detect(&bytes, declared);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Document { name, bytes, declared_type: declared.into(), detected, hazard: None, role: Role::Attachment, origin: Origin::Decoded })
}
