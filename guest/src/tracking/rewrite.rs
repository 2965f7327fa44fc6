//! The HTML rewrite at send: `<a href>` links to tracked redirects and the
//! open pixel before `</body>`, with lol_html's streaming tokenizer (the
//! HTML5 tokenizer Cloudflare's HTMLRewriter runs on), so everything not
//! rewritten keeps its bytes: comments, scripts, malformed markup.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lol_html::html_content::ContentType;
use lol_html::{HtmlRewriter, MemorySettings, Settings, element, end};

/// At most this many links of one message are tracked; later ones keep
/// their URLs.
pub const MAX_LINKS: usize = 1_000;
/// A link longer than this keeps its URL.
pub const MAX_URL: usize = 2_048;
/// The rewriter's memory bound beyond the input and output.
const MAX_MEMORY: usize = 16 << 20;
/// The attribute a caller sets on an `<a>` to keep its link untracked; it is
/// removed from the sent HTML.
pub const NO_TRACK_ATTRIBUTE: &str = "data-mailroom-no-track";

/// What to do to one HTML body.
pub struct Plan<'a> {
    /// Track links (`Some(f)`: `f(index)` is the tracked URL of link `index`).
    pub click: Option<&'a dyn Fn(u16) -> Option<String>>,
    /// The open pixel's URL, if opens are tracked.
    pub pixel: Option<&'a str>,
    /// URLs never rewritten: the message's unsubscribe URL.
    pub keep: &'a [&'a str],
    /// URL prefixes never rewritten: the setup's unsubscribe base.
    pub keep_prefixes: &'a [&'a str],
}

/// The rewritten HTML and the destination of each tracked link, by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub html: String,
    pub links: Vec<String>,
}

/// Decodes the character references a URL in an attribute may hold.
pub fn decode_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|end| {
            let name = rest.get(1..end)?;
            let c = match name {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(n)
                }
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `url` (decoded, trimmed) is an http or https URL we may track.
fn trackable(url: &str, plan: &Plan<'_>) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && url.len() <= MAX_URL
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
        && !url.contains("[[unsubscribe-url]]")
        && !plan.keep.contains(&url)
        && !plan.keep_prefixes.iter().any(|p| url.starts_with(p))
}

/// Rewrites `html` per `plan`. An error (memory bound, a rewriter failure)
/// leaves the caller to send the HTML untracked.
pub fn rewrite(html: &str, plan: &Plan<'_>) -> Result<Rewritten, String> {
    let pixel_tag = plan.pixel.map(|url| {
        format!(
            "<img src=\"{url}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">"
        )
    });
    let links: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let body_closed = Rc::new(Cell::new(false));
    let mut out: Vec<u8> = Vec::with_capacity(html.len() + 256);
    {
        let mut element_handlers = vec![element!("a[href]", |el| {
            if el.has_attribute(NO_TRACK_ATTRIBUTE) {
                el.remove_attribute(NO_TRACK_ATTRIBUTE);
                return Ok(());
            }
            let Some(make) = plan.click else {
                return Ok(());
            };
            let Some(raw) = el.get_attribute("href") else {
                return Ok(());
            };
            let url = decode_entities(raw.trim());
            let mut links = links.borrow_mut();
            if links.len() >= MAX_LINKS || !trackable(&url, plan) {
                return Ok(());
            }
            let Some(tracked) = u16::try_from(links.len()).ok().and_then(make) else {
                return Ok(());
            };
            el.set_attribute("href", &tracked)?;
            links.push(url);
            Ok(())
        })];
        if let Some(tag) = &pixel_tag {
            element_handlers.push(element!("body", |el| {
                let tag = tag.clone();
                let closed = Rc::clone(&body_closed);
                if el.can_have_content() {
                    let handler: lol_html::EndTagHandler<'static> =
                        Box::new(move |end: &mut lol_html::html_content::EndTag<'_>| {
                            if !closed.get() {
                                closed.set(true);
                                end.before(&tag, ContentType::Html);
                            }
                            Ok(())
                        });
                    el.on_end_tag(handler)?;
                }
                Ok(())
            }));
        }
        let document_handlers = vec![end!(|end| {
            if let Some(tag) = &pixel_tag
                && !body_closed.get()
            {
                end.append(tag, ContentType::Html);
            }
            Ok(())
        })];
        let settings = Settings {
            element_content_handlers: element_handlers,
            document_content_handlers: document_handlers,
            memory_settings: MemorySettings {
                max_allowed_memory_usage: MAX_MEMORY,
                ..MemorySettings::default()
            },
            strict: false,
            ..Settings::new()
        };
        let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
        rewriter
            .write(html.as_bytes())
            .map_err(|e| format!("the HTML could not be rewritten: {e}"))?;
        rewriter
            .end()
            .map_err(|e| format!("the HTML could not be rewritten: {e}"))?;
    }
    let html = String::from_utf8(out).map_err(|_| "the rewritten HTML is not UTF-8".to_string())?;
    Ok(Rewritten {
        html,
        links: links.into_inner(),
    })
}
