//! An upload as the message a patron would have mailed (RFC 5322, built by `lettre`): From the
//! given address, To the queue's address, the choices in the subject's option list, each file
//! an attachment. This is what lets the upload take the mail path unchanged: intake reads the
//! parts, screening checks the files, the pipeline converts them and replies to From.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The name the browser sent (intake sanitises it like an attachment's).
    pub name: String,
    /// The type the browser declared (intake detects the real one by content).
    pub declared_type: String,
    pub bytes: Vec<u8>,
}

/// What the message needs besides the files.
#[derive(Debug, Clone)]
pub struct Addressing<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// The message's own id (`<web.SPOOLID@HOST>`).
    pub message_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not a usable address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// The text part: says where the message came from (a human reading the trace sees it).
const BODY: &str = "Uploaded through the printgate web form.\r\n";

/// Builds the message's bytes.
///
/// # Errors
/// An address lettre does not accept, or a message it cannot build.
pub fn build(addressing: &Addressing<'_>, files: Vec<UploadedFile>) -> Result<Vec<u8>, MessageError> {
    let from: Mailbox = addressing.from.parse().map_err(|_| MessageError::Address(addressing.from.to_owned()))?;
    let to: Mailbox = addressing.to.parse().map_err(|_| MessageError::Address(addressing.to.to_owned()))?;
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(BODY.to_owned()));
    for file in files {
        let content_type = ContentType::parse(&file.declared_type)
            .or_else(|_| ContentType::parse("application/octet-stream"))
            .map_err(|e| MessageError::Build(e.to_string()))?;
        let name = if file.name.trim().is_empty() { "upload".to_owned() } else { file.name };
        parts = parts.singlepart(Attachment::new(name).body(file.bytes, content_type));
    }
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(addressing.subject)
        .message_id(Some(addressing.message_id.clone()))
        .multipart(parts)
        .map_err(|e| MessageError::Build(e.to_string()))?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{Role, Submission};

    #[test]
    fn intake_reads_the_upload_like_a_mail() {
        let files = vec![
            UploadedFile { name: "thesis.pdf".into(), declared_type: "application/pdf".into(), bytes: b"%PDF-1.4\n%%EOF\n".to_vec() },
            UploadedFile { name: "Übung 1.txt".into(), declared_type: "nonsense/ /".into(), bytes: b"hello".to_vec() },
        ];
        let addressing = Addressing {
            from: "patron@example.org",
            to: "bw@print.example.org",
            subject: "Web upload [copies=2, duplex]",
            message_id: "<web.abc@print.test>".into(),
        };
        let raw = build(&addressing, files).unwrap();
        let submission = Submission::parse(&raw).unwrap();
        assert_eq!(submission.from_address.as_deref(), Some("patron@example.org"));
        assert_eq!(submission.subject.as_deref(), Some("Web upload [copies=2, duplex]"));
        let names: Vec<&str> = submission.documents.iter().filter(|d| d.role != Role::Body).map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["thesis.pdf", "Übung 1.txt"]);
        let pdf = submission.documents.iter().find(|d| d.name == "thesis.pdf").unwrap();
        assert_eq!(pdf.bytes, b"%PDF-1.4\n%%EOF\n");
    }

    #[test]
    fn a_header_in_the_address_is_refused() {
        let addressing = Addressing { from: "patron@example.org\r\nBcc: x@y.z", to: "bw@p.test", subject: "s", message_id: "<a@b>".into() };
        assert!(matches!(build(&addressing, Vec::new()), Err(MessageError::Address(_))));
    }
}
