//! The IPP messages of the printer client, built and read with the `ipp` crate: the four
//! requests (Get-Printer-Attributes, Print-Job, Get-Job-Attributes, Cancel-Job), the job
//! template attributes of a Print-Job, decoding an answer and reading its attributes, the HTTP
//! URL behind an `ipp://`/`ipps://` URI, and what a refused request means.
//!
//! Pure: no I/O (the transport is in `mod.rs`) and no policy about what a printer or job state
//! means for a patron (`status.rs`, `job.rs`).

use bytes::Bytes;
use ipp::attribute::{IppAttribute, IppAttributeGroup};
use ipp::model::{DelimiterTag, StatusCode};
use ipp::operation::{CancelJob, GetJobAttributes, GetPrinterAttributes, IppOperation, PrintJob};
use ipp::payload::IppPayload;
use ipp::prelude::Uri;
use ipp::request::IppRequestResponse;
use ipp::value::IppValue;

use super::status::Capabilities;
use super::{IppError, PrintOptions};

/// `requesting-user-name` of every request.
pub const USER: &str = "printgate";

/// The longest `job-name` (IPP `name(MAX)` is 255 octets).
const MAX_NAME: usize = 255;

/// What a status asks for every time.
pub const STATUS_ATTRIBUTES: &[&str] = &["printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs"];
/// What a status asks for once (then cached): what the printer can do.
pub const CAPABILITY_ATTRIBUTES: &[&str] = &["print-color-mode-supported", "sides-supported", "color-supported"];
/// What a job's progress is read from.
pub const JOB_ATTRIBUTES: &[&str] = &["job-state", "job-state-reasons", "job-state-message", "job-impressions-completed"];

/// The printer URI as sent in `printer-uri` and the `http://`/`https://` URL the requests are
/// POSTed to: `ipp://` is HTTP, `ipps://` HTTPS, both on port 631 unless the URI names one
/// (RFC 8010 §4, RFC 7472 §4.2).
///
/// # Errors
/// [`IppError::BadUri`] for anything but `ipp://HOST[:PORT][/PATH]` or `ipps://…`.
pub fn endpoint(uri: &str) -> Result<(Uri, String), IppError> {
    let bad = || IppError::BadUri(uri.to_owned());
    // printer-uri is a uri(1023) attribute.
    if uri.len() > 1023 {
        return Err(bad());
    }
    let parsed: Uri = uri.parse().map_err(|_| bad())?;
    let scheme = match parsed.scheme_str() {
        Some("ipp") => "http",
        Some("ipps") => "https",
        _ => return Err(bad()),
    };
    let authority = parsed.authority().filter(|a| !a.host().is_empty() && !a.as_str().contains('@')).ok_or_else(bad)?;
    let port = authority.port_u16().unwrap_or(631);
    let path = parsed.path_and_query().map_or("/", |p| p.as_str());
    Ok((parsed.clone(), format!("{scheme}://{}:{port}{path}", authority.host())))
}

fn encode_error(e: impl std::fmt::Display) -> IppError {
    IppError::Encode(e.to_string())
}

fn keyword(name: &str, value: &str) -> Result<IppAttribute, IppError> {
    IppAttribute::with_name(name, IppValue::new_keyword(value).map_err(encode_error)?).map_err(encode_error)
}

fn requested(names: &[&str]) -> Result<IppAttribute, IppError> {
    let values = names.iter().map(|n| IppValue::new_keyword(*n)).collect::<Result<Vec<_>, _>>().map_err(encode_error)?;
    IppAttribute::with_name("requested-attributes", IppValue::Array(values)).map_err(encode_error)
}

fn user() -> Result<IppAttribute, IppError> {
    IppAttribute::with_name("requesting-user-name", IppValue::new_name_without_language(USER).map_err(encode_error)?).map_err(encode_error)
}

/// Get-Printer-Attributes for `names`.
pub fn get_printer_attributes(printer: &Uri, names: &[&str]) -> Result<IppRequestResponse, IppError> {
    let mut request = GetPrinterAttributes::with_attributes(printer.clone(), names).map_err(encode_error)?.into_ipp_request();
    request.attributes_mut().add(DelimiterTag::OperationAttributes, user()?);
    Ok(request)
}

/// Get-Job-Attributes of one job, asking for [`JOB_ATTRIBUTES`].
pub fn get_job_attributes(printer: &Uri, job_id: i32) -> Result<IppRequestResponse, IppError> {
    let mut request = GetJobAttributes::new(printer.clone(), job_id, Some(USER)).map_err(encode_error)?.into_ipp_request();
    request.attributes_mut().add(DelimiterTag::OperationAttributes, requested(JOB_ATTRIBUTES)?);
    Ok(request)
}

/// Cancel-Job.
pub fn cancel_job(printer: &Uri, job_id: i32) -> Result<IppRequestResponse, IppError> {
    Ok(CancelJob::new(printer.clone(), job_id, Some(USER)).map_err(encode_error)?.into_ipp_request())
}

/// Print-Job of a PDF without the document itself (the transport appends it after the
/// attributes): `job-name`, `document-format application/pdf`, `requesting-user-name` and the
/// job template attributes of [`job_attributes`].
pub fn print_job(printer: &Uri, options: &PrintOptions, capabilities: &Capabilities) -> Result<IppRequestResponse, IppError> {
    let mut job =
        PrintJob::new(printer.clone(), IppPayload::empty(), Some(USER), Some(job_name(&options.job_name)), Some("application/pdf"))
            .map_err(encode_error)?;
    for attribute in job_attributes(options, capabilities)? {
        job.add_attribute(attribute);
    }
    Ok(job.into_ipp_request())
}

/// A job name cut to IPP's 255 octets on a character boundary.
fn job_name(name: &str) -> &str {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The job template attributes of a Print-Job: `copies` (at least 1), `page-ranges` when the
/// patron chose pages, and `print-color-mode` and `sides` only with a value the printer listed
/// as supported (otherwise the printer's default applies: a printer that cannot print colour
/// prints monochrome, one that cannot print both sides prints one).
///
/// # Errors
/// [`IppError::Encode`] (cannot happen for these short keywords).
pub fn job_attributes(options: &PrintOptions, capabilities: &Capabilities) -> Result<Vec<IppAttribute>, IppError> {
    let mut attributes = vec![IppAttribute::with_name("copies", IppValue::Integer(options.copies.max(1))).map_err(encode_error)?];
    let colour = if options.color { "color" } else { "monochrome" };
    if capabilities.color_modes.iter().any(|m| m == colour) {
        attributes.push(keyword("print-color-mode", colour)?);
    }
    let sides = if options.duplex { "two-sided-long-edge" } else { "one-sided" };
    if capabilities.sides.iter().any(|s| s == sides) {
        attributes.push(keyword("sides", sides)?);
    }
    if let Some((first, last)) = options.page_range {
        attributes.push(IppAttribute::with_name("page-ranges", IppValue::new_range_of_integer(first, last)).map_err(encode_error)?);
    }
    Ok(attributes)
}

/// A decoded IPP answer: its status code and attribute groups.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    groups: Vec<IppAttributeGroup>,
}

impl Answer {
    /// Decodes an answer (the HTTP body).
    ///
    /// # Errors
    /// [`IppError::Malformed`] naming what the parser found wrong.
    pub fn decode(body: Bytes) -> Result<Self, IppError> {
        let reader = ipp::reader::IppReader::new(std::io::Cursor::new(body));
        let mut parsed = ipp::parser::IppParser::new(reader).parse().map_err(|e| IppError::Malformed(e.to_string()))?;
        let status = parsed.header().operation_or_status as u16;
        let groups = std::mem::take(parsed.attributes_mut()).into_groups();
        Ok(Self { status, groups })
    }

    pub fn is_success(&self) -> bool {
        self.status < 0x0100
    }

    fn value(&self, name: &str) -> Option<&IppValue> {
        self.groups.iter().find_map(|g| g.get(name)).map(IppAttribute::value)
    }

    /// The first value of an integer or enum attribute.
    pub fn int(&self, name: &str) -> Option<i32> {
        match first(self.value(name)?) {
            IppValue::Integer(i) | IppValue::Enum(i) => Some(*i),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        first(self.value(name)?).as_boolean().copied()
    }

    /// Every keyword, name or text value of an attribute, in order.
    pub fn words(&self, name: &str) -> Vec<String> {
        let Some(value) = self.value(name) else { return Vec::new() };
        let values = if let IppValue::Array(values) = value { values.as_slice() } else { std::slice::from_ref(value) };
        values.iter().filter_map(word).collect()
    }

    /// The status code's meaning and the printer's `status-message`, for errors.
    pub fn describe(&self) -> String {
        let code = status_words(self.status);
        let message = self.words("status-message").join(" ");
        if message.is_empty() { format!("{code} (0x{:04x})", self.status) } else { format!("{code} (0x{:04x}): {message}", self.status) }
    }

    /// The error for an unsuccessful answer: [`IppError::NotAccepting`] when the printer, not
    /// the request, is the problem (not accepting jobs, busy, unavailable, a device or temporary
    /// error: other jobs would fail the same way), else [`IppError::Refused`].
    pub fn refusal(&self) -> IppError {
        match self.status {
            0x0502 | 0x0504..=0x0507 => IppError::NotAccepting(self.describe()),
            _ => IppError::Refused(self.describe()),
        }
    }
}

/// The crate's words for a status code, or its class for a code the crate does not know.
fn status_words(status: u16) -> String {
    match ipp::IppHeader::new(ipp::model::IppVersion::v1_1(), status as i16, 0).status_code() {
        StatusCode::UnknownStatusCode if status < 0x0100 => "Successful".to_owned(),
        StatusCode::UnknownStatusCode if status < 0x0500 => "Client error".to_owned(),
        StatusCode::UnknownStatusCode => "Server error".to_owned(),
        code => code.to_string(),
    }
}

fn first(value: &IppValue) -> &IppValue {
    match value {
        IppValue::Array(values) => values.first().unwrap_or(value),
        _ => value,
    }
}

fn word(value: &IppValue) -> Option<String> {
    match value {
        IppValue::Keyword(s) | IppValue::NameWithoutLanguage(s) | IppValue::NameWithLanguage { name: s, .. } => Some(s.to_string()),
        IppValue::TextWithoutLanguage(t) | IppValue::TextWithLanguage { text: t, .. } => Some(AsRef::<str>::as_ref(t).to_owned()),
        IppValue::MimeMediaType(s) => Some(s.to_string()),
        IppValue::Uri(s) => Some(s.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(request: IppRequestResponse) -> Bytes {
        request.to_bytes()
    }

    /// The request as the printer's parser (the crate's own) reads it back.
    fn reparse(bytes: Bytes) -> IppRequestResponse {
        ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(bytes))).parse().unwrap()
    }

    fn job_group(request: &IppRequestResponse) -> Vec<(String, String)> {
        request
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .flat_map(|g| g.attributes().iter().map(|a| (a.name().to_string(), a.value().to_string())))
            .collect()
    }

    fn options(color: bool, duplex: bool) -> PrintOptions {
        PrintOptions { job_name: "a.pdf".into(), copies: 2, duplex, color, page_range: None }
    }

    #[test]
    fn printer_uris_map_to_http_with_the_ipp_port() {
        let url = |u: &str| endpoint(u).map(|(_, url)| url);
        assert_eq!(url("ipp://printer.lan/ipp/print").unwrap(), "http://printer.lan:631/ipp/print");
        assert_eq!(url("ipps://printer.lan/ipp/print").unwrap(), "https://printer.lan:631/ipp/print");
        assert_eq!(url("ipps://10.0.0.5:8631/ipp").unwrap(), "https://10.0.0.5:8631/ipp");
        assert_eq!(url("ipp://[::1]:8000/ipp/print").unwrap(), "http://[::1]:8000/ipp/print");
        assert_eq!(url("ipp://[fe80::1]/p").unwrap(), "http://[fe80::1]:631/p");
        assert_eq!(url("ipp://printer").unwrap(), "http://printer:631/");
        for bad in ["http://x/", "ipp:///p", "ipp://", "printer.lan", "ipp://user:pw@printer/p", &format!("ipp://h/{}", "a".repeat(1100))] {
            assert!(matches!(endpoint(bad), Err(IppError::BadUri(_))), "{bad} was taken");
        }
        // printer-uri is sent as configured.
        assert_eq!(endpoint("ipps://printer.lan/ipp/print").unwrap().0.to_string(), "ipps://printer.lan/ipp/print");
    }

    #[test]
    fn only_values_the_printer_supports_are_sent() {
        let full = Capabilities {
            color_modes: vec!["auto".into(), "color".into(), "monochrome".into()],
            sides: vec!["one-sided".into(), "two-sided-long-edge".into()],
            color: true,
        };
        let mono_simplex = Capabilities { color_modes: vec!["monochrome".into()], sides: vec!["one-sided".into()], color: false };
        let names = |opts: &PrintOptions, caps: &Capabilities| -> Vec<(String, String)> {
            job_attributes(opts, caps).unwrap().iter().map(|a| (a.name().to_string(), a.value().to_string())).collect()
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        /// What is asked, what the printer can do, and the job attributes sent (name, value).
        type Row<'a> = (PrintOptions, &'a Capabilities, Vec<(String, String)>);
        let table: &[Row] = &[
            (
                options(false, true),
                &full,
                vec![pair("copies", "2"), pair("print-color-mode", "monochrome"), pair("sides", "two-sided-long-edge")],
            ),
            (options(true, false), &full, vec![pair("copies", "2"), pair("print-color-mode", "color"), pair("sides", "one-sided")]),
            // Colour or duplex a printer cannot do: left to its default.
            (options(true, true), &mono_simplex, vec![pair("copies", "2")]),
            (
                options(false, false),
                &mono_simplex,
                vec![pair("copies", "2"), pair("print-color-mode", "monochrome"), pair("sides", "one-sided")],
            ),
            // A printer that listed nothing gets neither.
            (options(true, true), &Capabilities::default(), vec![pair("copies", "2")]),
            (
                PrintOptions { copies: 0, page_range: Some((2, 5)), ..options(true, true) },
                &Capabilities::default(),
                vec![pair("copies", "1"), pair("page-ranges", "2..5")],
            ),
        ];
        for (opts, caps, want) in table {
            assert_eq!(&names(opts, caps), want, "{opts:?} on {caps:?}");
        }
    }

    #[test]
    fn a_print_job_reads_back_with_its_operation_and_job_attributes() {
        let (uri, _) = endpoint("ipp://127.0.0.1:8631/ipp/print").unwrap();
        let long = "é".repeat(200);
        let opts = PrintOptions { job_name: long.clone(), page_range: Some((1, 3)), ..options(true, true) };
        let caps = Capabilities { color_modes: vec!["color".into()], sides: vec!["two-sided-long-edge".into()], color: true };
        let mut request = print_job(&uri, &opts, &caps).unwrap();
        request.header_mut().request_id = 42;
        let back = reparse(encode(request));
        assert_eq!(back.header().operation_or_status, 0x0002);
        assert_eq!(back.header().request_id, 42);
        let op = back.attributes().groups_of(DelimiterTag::OperationAttributes).next().unwrap();
        let names: Vec<&str> = op.attributes().iter().map(|a| a.name().as_str()).collect();
        // RFC 8011 §4.1.4: charset, language and the target first.
        assert_eq!(&names[..3], &["attributes-charset", "attributes-natural-language", "printer-uri"]);
        assert_eq!(op.get("printer-uri").unwrap().value().to_string(), "ipp://127.0.0.1:8631/ipp/print");
        assert_eq!(op.get("requesting-user-name").unwrap().value().to_string(), "printgate");
        assert_eq!(op.get("document-format").unwrap().value().to_string(), "application/pdf");
        let name = op.get("job-name").unwrap().value().to_string();
        assert!(name.len() <= 255 && long.starts_with(&name) && name.len() >= 254, "{name}");
        assert_eq!(
            job_group(&back),
            vec![
                ("copies".to_owned(), "2".to_owned()),
                ("print-color-mode".to_owned(), "color".to_owned()),
                ("sides".to_owned(), "two-sided-long-edge".to_owned()),
                ("page-ranges".to_owned(), "1..3".to_owned()),
            ]
        );
    }

    #[test]
    fn get_job_attributes_names_the_job_and_what_is_wanted() {
        let (uri, _) = endpoint("ipp://h/p").unwrap();
        let back = reparse(encode(get_job_attributes(&uri, 7).unwrap()));
        assert_eq!(back.header().operation_or_status, 0x0009);
        let op = back.attributes().groups_of(DelimiterTag::OperationAttributes).next().unwrap();
        assert_eq!(op.get("job-id").unwrap().value(), &IppValue::Integer(7));
        assert_eq!(
            op.get("requested-attributes").unwrap().value().to_string(),
            "[job-state, job-state-reasons, job-state-message, job-impressions-completed]"
        );
    }

    fn response(status: u16, attributes: &[(DelimiterTag, &str, IppValue)]) -> Bytes {
        let code = ipp::IppHeader::new(ipp::model::IppVersion::v1_1(), status as i16, 1).status_code();
        let mut r = IppRequestResponse::new_response(ipp::model::IppVersion::v1_1(), code, 1).unwrap();
        r.header_mut().operation_or_status = status as i16;
        for (group, name, value) in attributes {
            r.attributes_mut().add(*group, IppAttribute::with_name(*name, value.clone()).unwrap());
        }
        r.to_bytes()
    }

    #[test]
    fn an_answer_decodes_and_truncation_is_an_error() {
        let kw = |s: &str| IppValue::new_keyword(s).unwrap();
        let body = response(
            0,
            &[
                (DelimiterTag::JobAttributes, "job-id", IppValue::Integer(42)),
                (DelimiterTag::JobAttributes, "job-state", IppValue::Enum(5)),
                (DelimiterTag::JobAttributes, "job-state-reasons", IppValue::Array(vec![kw("job-printing"), kw("job-incoming")])),
                (DelimiterTag::JobAttributes, "job-state-message", IppValue::new_text_with_language("de", "Druckt").unwrap()),
            ],
        );
        let a = Answer::decode(body.clone()).unwrap();
        assert!(a.is_success());
        assert_eq!(a.int("job-id"), Some(42));
        assert_eq!(a.int("job-state"), Some(5));
        assert_eq!(a.words("job-state-reasons"), vec!["job-printing", "job-incoming"]);
        assert_eq!(a.words("job-state-message"), vec!["Druckt"]);
        assert_eq!(a.int("absent"), None);
        for cut in 0..body.len() {
            assert!(Answer::decode(body.slice(..cut)).is_err(), "cut at {cut} decoded");
        }
    }

    #[test]
    fn refusals_name_the_code_and_blame_the_printer_only_for_printer_side_codes() {
        let message = IppValue::new_text_without_language("queue paused by staff").unwrap();
        let table: &[(u16, bool, &str)] = &[
            (0x0506, true, "Not accepting jobs (0x0506): queue paused by staff"),
            (0x0507, true, "Busy (0x0507)"),
            (0x0502, true, "Service unavailable (0x0502)"),
            (0x0504, true, "Device error (0x0504)"),
            (0x0505, true, "Temporary error (0x0505)"),
            (0x040a, false, "Document format not supported (0x040a)"),
            (0x0400, false, "Bad request (0x0400)"),
            (0x0500, false, "Internal error (0x0500)"),
            (0x04ff, false, "Client error (0x04ff)"),
            (0x05ff, false, "Server error (0x05ff)"),
        ];
        for (status, printer_side, text) in table {
            let attrs =
                if *status == 0x0506 { vec![(DelimiterTag::OperationAttributes, "status-message", message.clone())] } else { vec![] };
            let a = Answer::decode(response(*status, &attrs)).unwrap();
            assert!(!a.is_success());
            let e = a.refusal();
            assert_eq!(matches!(e, IppError::NotAccepting(_)), *printer_side, "{status:#x}: {e}");
            assert!(e.to_string().ends_with(text), "{status:#x}: {e}");
        }
    }
}
