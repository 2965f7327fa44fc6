//! Attachment file names: made safe to write to a file system, or made up
//! from a part's type and position.

/// Longest file name returned, in bytes of UTF-8.
pub const MAX_FILENAME_BYTES: usize = 255;

/// Makes a decoded name safe as a file name: `/`, `\`, NUL and control
/// characters become `_`, surrounding white space is trimmed, and the name is
/// cut to [`MAX_FILENAME_BYTES`] keeping its extension. Returns `None` when
/// nothing usable is left (empty, `.` or `..`).
pub fn sanitize(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        return None;
    }
    Some(truncate_keeping_extension(trimmed, MAX_FILENAME_BYTES))
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        // An extension is kept when it is short and leaves room for a stem.
        Some(dot) if dot > 0 && name.len() - dot <= 16 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", stem[..cut].trim_end(), ext)
}

/// The name of a part that has none: `attachment-N.EXT`.
pub fn unnamed(position: usize, content_type: &str) -> String {
    format!("attachment-{position}.{}", extension_for(content_type))
}

/// The usual file extension for a media type; `bin` when unknown.
pub fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "application/json" => "json",
        "application/xml" | "text/xml" => "xml",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => "p7s",
        "application/pgp-signature" => "asc",
        "application/ics" | "text/calendar" => "ics",
        "message/rfc822" | "message/global" => "eml",
        "message/delivery-status" | "message/global-delivery-status" => "txt",
        "message/disposition-notification" | "message/feedback-report" => "txt",
        "text/rfc822-headers" | "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/vcard" | "text/x-vcard" => "vcf",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "image/heif" => "heif",
        "image/tiff" => "tiff",
        "image/bmp" => "bmp",
        "image/svg+xml" => "svg",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/x-m4a" => "m4a",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        _ => "bin",
    }
}

/// The name of an enclosed message: its own name (with `.eml` added when it
/// lacks it), else its Subject, else `forwarded-message.eml`.
pub fn for_message(own: Option<&str>, subject: Option<&str>) -> String {
    if let Some(name) = own.and_then(sanitize) {
        return with_eml(name);
    }
    let subject = subject.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
    if let Some(name) = subject
        .as_deref()
        .and_then(|s| sanitize(&truncate_chars(s, 100)))
    {
        return with_eml(name);
    }
    "forwarded-message.eml".to_string()
}

/// The name of a message embedded in a `winmail.dat`: its own name (its
/// title or display name, usually the subject) with `.tnef`, else
/// `embedded-message.tnef`. The content is the message's own TNEF stream.
pub fn for_tnef_message(own: Option<&str>) -> String {
    let own = own.map(|s| truncate_chars(&s.split_whitespace().collect::<Vec<_>>().join(" "), 100));
    match own.as_deref().and_then(sanitize) {
        Some(name) => truncate_keeping_extension(&format!("{name}.tnef"), MAX_FILENAME_BYTES),
        None => "embedded-message.tnef".to_string(),
    }
}

/// The media type a file name's extension usually means (for attachments
/// that carry no type, as in TNEF without a MIME tag);
/// `application/octet-stream` when unknown.
pub fn media_type_of(name: &str) -> String {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "json" => "application/json",
        "xml" => "application/xml",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ics" => "text/calendar",
        "eml" => "message/rfc822",
        "txt" => "text/plain",
        "htm" | "html" => "text/html",
        "csv" => "text/csv",
        "vcf" => "text/vcard",
        "rtf" => "application/rtf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
    .to_string()
}

fn with_eml(name: String) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".eml") {
        name
    } else {
        truncate_keeping_extension(&format!("{name}.eml"), MAX_FILENAME_BYTES)
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_hostile_names() {
        for (input, expected) in [
            ("report.pdf", Some("report.pdf")),
            ("../../etc/passwd", Some(".._.._etc_passwd")),
            ("C:\\evil.exe", Some("C:_evil.exe")),
            ("a\u{0}b\r\nc.txt", Some("a_b__c.txt")),
            ("  spaced.txt  ", Some("spaced.txt")),
            ("..", None),
            (".", None),
            ("", None),
            ("   ", None),
        ] {
            assert_eq!(sanitize(input).as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = format!("{}.pdf", "é".repeat(300));
        let safe = sanitize(&name).unwrap();
        assert!(safe.len() <= MAX_FILENAME_BYTES);
        assert!(safe.ends_with("é.pdf"));
    }

    #[test]
    fn messages_are_named_eml() {
        assert_eq!(for_message(Some("fwd"), Some("x")), "fwd.eml");
        assert_eq!(for_message(Some("a.EML"), None), "a.EML");
        assert_eq!(
            for_message(None, Some("Lab  results / March")),
            "Lab results _ March.eml"
        );
        assert_eq!(for_message(None, Some("  ")), "forwarded-message.eml");
        assert_eq!(for_message(None, None), "forwarded-message.eml");
        assert_eq!(unnamed(3, "application/pdf"), "attachment-3.pdf");
        assert_eq!(unnamed(1, "x/y"), "attachment-1.bin");
    }

    #[test]
    fn tnef_names() {
        assert_eq!(for_tnef_message(Some("Lab  results")), "Lab results.tnef");
        assert_eq!(for_tnef_message(Some(" ")), "embedded-message.tnef");
        assert_eq!(for_tnef_message(None), "embedded-message.tnef");
        assert_eq!(media_type_of("Scan.PDF"), "application/pdf");
        assert_eq!(media_type_of("noext"), "application/octet-stream");
    }
}
