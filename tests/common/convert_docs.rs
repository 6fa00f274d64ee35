//! The conversion fixtures (tests/fixtures/convert) as the pipeline would hand them to the
//! converter: classified by intake, with intake's refusal where it would refuse.

use std::path::{Path, PathBuf};

use printgate::config::ConvertConfig;
use printgate::intake::detect::{classify, refusal_reason};
use printgate::intake::{Document, DocumentType, Origin, Role};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert")
}

pub fn settings(dir: &Path, workers: usize) -> ConvertConfig {
    ConvertConfig {
        office_workers: workers,
        profile_dir: dir.join("profiles"),
        scratch_dir: Some(dir.join("scratch")),
        ..ConvertConfig::default()
    }
}

pub fn document(name: &str, bytes: Vec<u8>) -> (Document, Option<String>) {
    let declared = match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("txt") => "text/plain",
        Some("html") => "text/html",
        _ => "application/octet-stream",
    };
    let detection = classify(&bytes, declared, name);
    let all: Vec<DocumentType> = DocumentType::from_config_name("images")
        .into_iter()
        .chain(DocumentType::from_config_name("office"))
        .chain(DocumentType::from_config_name("text"))
        .chain(DocumentType::from_config_name("pdf"))
        .flatten()
        .collect();
    let refusal = refusal_reason(detection, &all);
    let doc = Document {
        name: name.into(),
        bytes,
        declared_type: declared.into(),
        detected: detection.kind,
        hazard: detection.hazard,
        role: Role::Attachment,
        origin: Origin::Decoded,
    };
    (doc, refusal)
}
