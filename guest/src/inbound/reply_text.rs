//! The new text of a reply: the plain-text body without the quoted history
//! and the signature, like Postmark's `StrippedTextReply` or Mailgun's
//! `stripped-text`.
//!
//! The text is cut, in this order:
//!
//! 1. At the first history marker outside a `>` quote: an Outlook
//!    `-----Original Message-----` line (and its translations), a forward
//!    marker (`---------- Forwarded message ---------`, `Begin forwarded
//!    message:`), or a header block: a `From:` line (`Von:`, `De :`, bold
//!    `*From:*`, …) followed within a few lines by a date line (`Sent:`,
//!    `Date:`, `Gesendet:`, `Envoyé :`, …) and a `To:` or `Subject:` line. A
//!    lone `From:` line in the body does not cut.
//! 2. At an attribution line (`On … wrote:`, `Am … schrieb …:`, `Le … a
//!    écrit :`, `El … escribió:`, `Op … schreef …:`, `Il giorno … ha
//!    scritto:`, Apple Mail's `On 3 Mar 2026, at 10:00, X wrote:`), also when
//!    wrapped over up to three lines. An attribution needs a locale prefix,
//!    the verb, a final colon, a digit and an address or a time; when `>`
//!    lines follow it, it is part of that quote block, otherwise (history
//!    that is not `>`-quoted) the text is cut there. A bare `X wrote:` line,
//!    or a line ending in a colon with a date and an address but no known
//!    verb (Japanese Gmail), counts only when `>` lines follow it. A colon in the middle of a line
//!    (`Note: I will be late`) never cuts.
//! 3. At the signature: a `-- ` line (dash dash space); a bare `--` line only
//!    when what follows it, up to the quoted history, is a short block (at
//!    most four non-blank lines of at most 72 characters) — clients that
//!    strip trailing white space turn `-- ` into `--`, but `--` is also used
//!    as a separator inside text. A mobile trailer (`Sent from my iPhone`,
//!    `Get Outlook for iOS`, `Von meinem iPhone gesendet`, …) cuts too, when
//!    only quoted history or blank lines follow it.
//! 4. Quote blocks (runs of `>` lines and their attribution):
//!    - text only before them (top-posting): the text before the first block;
//!    - a single block first and text only after it (bottom-posting): the
//!      text after it;
//!    - otherwise (interleaved answers): everything up to the last unquoted
//!      line. The inline quotes are kept since the answers only make sense
//!      with the questions; only the trailing block is dropped.
//!
//! Line ends are normalized to LF, trailing white space is trimmed from each
//! line, and leading blank lines and trailing blank or separator-only lines
//! (`____`, `----`) are dropped. When nothing would remain (the whole text is
//! quoted history, a forward without a comment, a signature alone), the
//! normalized input is returned instead: dropping a message silently is
//! worse than showing its history.

/// The new text of the reply `text`: without quoted history, signature and
/// mobile trailers. See the module documentation for the rules.
pub fn new_text(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();
    let stripped = finish(&strip(&lines));
    if !stripped.is_empty() {
        return stripped;
    }
    let whole = finish(&lines);
    if whole.is_empty() {
        normalized.trim().to_string()
    } else {
        whole
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Blank,
    Text,
    Quote,
    Attribution,
}

impl Mark {
    fn quoted(self) -> bool {
        matches!(self, Mark::Quote | Mark::Attribution)
    }
}

fn strip<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let cut = (0..lines.len())
        .find(|&i| history_marker(lines, i))
        .unwrap_or(lines.len());
    let mut lines: Vec<&str> = lines.iter().take(cut).copied().collect();

    let mut marks = mark(&mut lines);

    if let Some(signature) = signature_start(&lines, &marks) {
        lines.truncate(signature);
        marks.truncate(signature);
    }

    quote_structure(&lines, &marks)
}

/// Marks every line; cuts `lines` at an attribution that introduces history
/// that is not `>`-quoted.
fn mark(lines: &mut Vec<&str>) -> Vec<Mark> {
    let mut marks: Vec<Mark> = lines.iter().map(|line| basic_mark(line)).collect();
    let mut i = 0;
    while i < lines.len() {
        if marks.get(i) != Some(&Mark::Text) {
            i += 1;
            continue;
        }
        let Some((span, strong)) = attribution(lines, i) else {
            i += 1;
            continue;
        };
        let after = i + span;
        let quote_follows = marks
            .iter()
            .skip(after)
            .find(|mark| **mark != Mark::Blank)
            .is_some_and(|mark| *mark == Mark::Quote);
        if quote_follows {
            for mark in marks.iter_mut().skip(i).take(span) {
                *mark = Mark::Attribution;
            }
            i = after;
        } else if strong {
            lines.truncate(i);
            marks.truncate(i);
            break;
        } else {
            i += 1;
        }
    }
    marks
}

fn basic_mark(line: &str) -> Mark {
    let trimmed = line.trim_start();
    if trimmed.trim_end().is_empty() {
        Mark::Blank
    } else if trimmed.starts_with('>') {
        Mark::Quote
    } else {
        Mark::Text
    }
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Whether an unquoted line starts history that is cut with all that
/// follows: Outlook's original-message line, a forward marker, a header
/// block.
fn history_marker(lines: &[&str], i: usize) -> bool {
    let Some(line) = lines.get(i) else {
        return false;
    };
    if is_quoted(line) {
        return false;
    }
    let trimmed = line.trim();
    let lower = trimmed.to_lowercase();
    if trimmed.starts_with("---") || trimmed.starts_with("___") {
        let inner = lower.trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
        if ORIGINAL_MARKERS
            .iter()
            .chain(FORWARD_MARKERS)
            .any(|marker| inner.contains(marker))
        {
            return true;
        }
    }
    if FORWARD_LINES.iter().any(|marker| lower.starts_with(marker)) {
        return true;
    }
    header_block(lines, i)
}

const ORIGINAL_MARKERS: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "originalnachricht",
    "message d'origine",
    "message d’origine",
    "mensaje original",
    "messaggio originale",
    "oorspronkelijk bericht",
    "originalt meddelande",
    "ursprungligt meddelande",
    "original meddelelse",
    "opprinnelig melding",
    "mensagem original",
    "alkuperäinen viesti",
    "wiadomość oryginalna",
    "původní zpráva",
    "исходное сообщение",
];

const FORWARD_MARKERS: &[&str] = &[
    "forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
    "mensaje reenviado",
    "messaggio inoltrato",
    "doorgestuurd bericht",
    "mensagem encaminhada",
];

const FORWARD_LINES: &[&str] = &[
    "begin forwarded message:",
    "anfang der weitergeleiteten nachricht:",
    "début du message réexpédié :",
    "début du message réexpédié:",
    "inicio del mensaje reenviado:",
    "inizio messaggio inoltrato:",
    "begin doorgestuurd bericht:",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    From,
    Date,
    To,
    Cc,
    Subject,
}

const LABELS: &[(&str, Label)] = &[
    ("from", Label::From),
    ("von", Label::From),
    ("de", Label::From),
    ("van", Label::From),
    ("da", Label::From),
    ("från", Label::From),
    ("fra", Label::From),
    ("od", Label::From),
    ("от", Label::From),
    ("lähettäjä", Label::From),
    ("kimden", Label::From),
    ("发件人", Label::From),
    ("寄件者", Label::From),
    ("差出人", Label::From),
    ("sent", Label::Date),
    ("date", Label::Date),
    ("gesendet", Label::Date),
    ("datum", Label::Date),
    ("envoyé", Label::Date),
    ("enviado", Label::Date),
    ("fecha", Label::Date),
    ("inviato", Label::Date),
    ("data", Label::Date),
    ("verzonden", Label::Date),
    ("skickat", Label::Date),
    ("sendt", Label::Date),
    ("wysłano", Label::Date),
    ("отправлено", Label::Date),
    ("lähetetty", Label::Date),
    ("tarih", Label::Date),
    ("发送时间", Label::Date),
    ("日付", Label::Date),
    ("送信日時", Label::Date),
    ("to", Label::To),
    ("an", Label::To),
    ("à", Label::To),
    ("a", Label::To),
    ("para", Label::To),
    ("aan", Label::To),
    ("till", Label::To),
    ("til", Label::To),
    ("do", Label::To),
    ("кому", Label::To),
    ("vastaanottaja", Label::To),
    ("kime", Label::To),
    ("收件人", Label::To),
    ("宛先", Label::To),
    ("cc", Label::Cc),
    ("kopie", Label::Cc),
    ("subject", Label::Subject),
    ("betreff", Label::Subject),
    ("objet", Label::Subject),
    ("asunto", Label::Subject),
    ("oggetto", Label::Subject),
    ("onderwerp", Label::Subject),
    ("ämne", Label::Subject),
    ("emne", Label::Subject),
    ("temat", Label::Subject),
    ("тема", Label::Subject),
    ("aihe", Label::Subject),
    ("konu", Label::Subject),
    ("主题", Label::Subject),
    ("件名", Label::Subject),
];

/// The header label a line starts with: `From:`, `*From:*`, `De :`, ….
fn label(line: &str) -> Option<Label> {
    let head: String = line
        .trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_')
        .chars()
        .take(32)
        .collect();
    let lower = head.to_lowercase();
    LABELS.iter().find_map(|(name, label)| {
        let rest = lower.strip_prefix(name)?;
        let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '*');
        rest.starts_with([':', '：']).then_some(*label)
    })
}

/// A `From:` line followed, within ten lines, by a date line and a `To:` or
/// `Subject:` line. Unlabelled lines may only continue an address list.
fn header_block(lines: &[&str], i: usize) -> bool {
    if lines.get(i).and_then(|line| label(line)) != Some(Label::From) {
        return false;
    }
    let (mut date, mut to, mut previous) = (false, false, Label::From);
    for line in lines.iter().skip(i + 1).take(10) {
        if line.trim().is_empty() {
            continue;
        }
        match label(line) {
            Some(Label::From) => return false,
            Some(found) => {
                date |= found == Label::Date;
                to |= matches!(found, Label::To | Label::Subject);
                previous = found;
            }
            None if matches!(previous, Label::To | Label::Cc) => {}
            None => return false,
        }
        if date && to {
            return true;
        }
    }
    false
}

const ATTRIBUTION_PREFIXES: &[&str] = &[
    "on ", "am ", "le ", "el ", "op ", "il ", "em ", "den ", "w dniu ", "dne ", "в ",
];

const ATTRIBUTION_VERBS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "escribio",
    "schreef",
    "ha scritto",
    "scrisse",
    "skrev",
    "kirjoitti",
    "napisał",
    "napsal",
    "написал",
    "escreveu",
    "yazdı",
    "írta",
    "写道",
];

/// An attribution starting at line `i`: how many lines it spans (wrapped
/// attributions span up to three) and whether it is strong (a locale prefix,
/// the verb, a digit, an address or a time) or weak (a final colon after the
/// verb, or after a date and an address), which counts only before a quote.
fn attribution(lines: &[&str], i: usize) -> Option<(usize, bool)> {
    let first = lines.get(i)?;
    let first_lower = first.trim().to_lowercase();
    let prefixed = ATTRIBUTION_PREFIXES
        .iter()
        .any(|prefix| first_lower.starts_with(prefix));
    let mut joined = String::new();
    for span in 1..=3 {
        let line = lines.get(i + span - 1)?;
        if basic_mark(line) != Mark::Text {
            return None;
        }
        if span > 1 {
            // Only a prefixed line wraps, and not after a full sentence.
            if !prefixed || joined.ends_with(['.', '!', '?', ':', '：']) {
                return None;
            }
            joined.push(' ');
        }
        joined.push_str(&line.trim().to_lowercase());
        if joined.chars().count() > 400 {
            return None;
        }
        if !joined.ends_with([':', '：']) {
            continue;
        }
        let verb = ATTRIBUTION_VERBS.iter().any(|verb| joined.contains(verb));
        let digit = joined.chars().any(|c| c.is_ascii_digit());
        let address = joined.contains('@');
        if verb && prefixed && digit && (address || has_time(&joined)) {
            return Some((span, true));
        }
        // Without a known verb (Japanese Gmail: `2026年3月3日(火) 10:00 X <x@y>:`)
        // a date and an address will do, when a quote follows.
        if verb || (digit && address) {
            return Some((span, false));
        }
    }
    None
}

/// Whether the text has a `d:d` time.
fn has_time(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(3)
        .any(|w| matches!(w, [a, ':', b] if a.is_ascii_digit() && b.is_ascii_digit()))
}

const TRAILERS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent from the all new aol app",
    "sent from samsung",
    "sent with proton mail",
    "get outlook for ",
    "gesendet von meinem ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
    "inviato dal mio ",
    "verzonden vanaf mijn ",
    "verstuurd vanaf mijn ",
    "skickat från min ",
    "sendt fra min ",
];

/// Where the signature or mobile trailer starts, if any.
fn signature_start(lines: &[&str], marks: &[Mark]) -> Option<usize> {
    let text_after = |i: usize| {
        let lines = lines.get(i + 1..).unwrap_or_default();
        let marks = marks.get(i + 1..).unwrap_or_default();
        lines
            .iter()
            .zip(marks)
            .any(|(line, mark)| *mark == Mark::Text && !separator(line))
    };
    lines.iter().enumerate().position(|(i, line)| {
        if marks.get(i) != Some(&Mark::Text) {
            return false;
        }
        let end_trimmed = line.trim_end();
        if end_trimmed == "--" {
            return line.len() > 2 || short_block(lines, marks, i + 1);
        }
        let lower = line.trim().to_lowercase();
        let trailer = TRAILERS.iter().any(|prefix| lower.starts_with(prefix))
            || (lower.starts_with("von meinem ") && lower.ends_with("gesendet"));
        trailer && lower.chars().count() <= 80 && !text_after(i)
    })
}

/// At most four non-blank lines of at most 72 characters up to the quoted
/// history or the end.
fn short_block(lines: &[&str], marks: &[Mark], from: usize) -> bool {
    let mut count = 0;
    let lines = lines.get(from..).unwrap_or_default();
    let marks = marks.get(from..).unwrap_or_default();
    for (line, mark) in lines.iter().zip(marks) {
        match mark {
            Mark::Quote | Mark::Attribution => break,
            Mark::Blank => {}
            Mark::Text => {
                count += 1;
                if count > 4 || line.trim().chars().count() > 72 {
                    return false;
                }
            }
        }
    }
    true
}

/// Keeps the new text around the `>` quote blocks; see the module
/// documentation.
fn quote_structure<'a>(lines: &[&'a str], marks: &[Mark]) -> Vec<&'a str> {
    // Blocks of quoted lines, blank lines inside them included.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    for (i, mark) in marks.iter().enumerate() {
        if !mark.quoted() {
            continue;
        }
        match blocks.last_mut() {
            Some((_, end))
                if marks
                    .iter()
                    .skip(*end + 1)
                    .take(i.saturating_sub(*end + 1))
                    .all(|m| *m == Mark::Blank) =>
            {
                *end = i;
            }
            _ => blocks.push((i, i)),
        }
    }
    let texts: Vec<usize> = marks
        .iter()
        .enumerate()
        .filter(|(_, mark)| **mark == Mark::Text)
        .map(|(i, _)| i)
        .collect();
    let Some(&(first_start, first_end)) = blocks.first() else {
        return lines.to_vec();
    };
    let text_before = texts.iter().any(|&t| t < first_start);
    let text_after = texts.iter().any(|&t| t > first_end);
    let range = if !text_after {
        0..first_start
    } else if !text_before && blocks.len() == 1 {
        first_end + 1..lines.len()
    } else {
        0..texts.last().map_or(lines.len(), |&last| last + 1)
    };
    lines.get(range).unwrap_or_default().to_vec()
}

/// Whether a line is blank or only a separator (`____`, `----`, `====`).
fn separator(line: &str) -> bool {
    line.trim()
        .chars()
        .all(|c| matches!(c, '-' | '_' | '=' | '*' | '~'))
}

/// Trims line ends, leading blank lines and trailing blank or separator
/// lines, and joins with LF.
fn finish(lines: &[&str]) -> String {
    let trimmed: Vec<&str> = lines.iter().map(|line| line.trim_end()).collect();
    let start = trimmed
        .iter()
        .position(|line| !line.is_empty())
        .unwrap_or(trimmed.len());
    let end = trimmed
        .iter()
        .rposition(|line| !separator(line))
        .map_or(0, |last| last + 1);
    trimmed
        .get(start..end.max(start))
        .unwrap_or_default()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::new_text;

    #[test]
    fn cases() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "plain text",
                "Thanks, see you Tuesday.",
                "Thanks, see you Tuesday.",
            ),
            (
                "crlf and trailing blank lines",
                "Thanks!\r\nAnn  \r\n\r\n \r\n",
                "Thanks!\nAnn",
            ),
            (
                "gmail attribution",
                "Yes, 10:00 works.\n\nOn Tue, 3 Mar 2026 at 10:00, Clinic <x@y.org> wrote:\n\n> Can you come at 10?\n> Clinic\n",
                "Yes, 10:00 works.",
            ),
            (
                "gmail attribution wrapped over two lines",
                "Yes.\n\nOn Tue, 3 Mar 2026 at 10:00, Clinic Reception <\nreception@clinic.example> wrote:\n\n> Can you come?\n",
                "Yes.",
            ),
            (
                "gmail attribution wrapped before wrote",
                "Yes.\n\nOn Tue, Mar 3, 2026 at 10:00 AM Clinic Reception <reception@clinic.example>\nwrote:\n> Can you come?\n",
                "Yes.",
            ),
            (
                "german attribution",
                "Ja, passt.\n\nAm Di., 3. März 2026 um 10:00 Uhr schrieb Praxis <x@y.de>:\n> Passt 10 Uhr?\n",
                "Ja, passt.",
            ),
            (
                "french attribution",
                "Oui.\n\nLe mar. 3 mars 2026 à 10:00, Cabinet <x@y.fr> a écrit :\n> D'accord ?\n",
                "Oui.",
            ),
            (
                "spanish attribution",
                "Sí.\n\nEl mar, 3 mar 2026 a las 10:00, Clínica (<x@y.es>) escribió:\n> ¿Le va bien?\n",
                "Sí.",
            ),
            (
                "dutch attribution",
                "Ja.\n\nOp di 3 mrt 2026 om 10:00 schreef Praktijk <x@y.nl>:\n> Past dat?\n",
                "Ja.",
            ),
            (
                "italian attribution",
                "Sì.\n\nIl giorno mar 3 mar 2026 alle ore 10:00 Studio <x@y.it> ha scritto:\n> Va bene?\n",
                "Sì.",
            ),
            (
                "apple mail attribution",
                "Perfect.\n\nSent from my iPhone\n\n> On 3 Mar 2026, at 10:00, Clinic <x@y.org> wrote:\n>\n> Can you come?\n",
                "Perfect.",
            ),
            (
                "apple mail attribution unquoted",
                "Perfect.\n\nOn 3 Mar 2026, at 10:00, Clinic wrote:\n\n> Can you come?\n",
                "Perfect.",
            ),
            (
                "attribution with unquoted history",
                "Fine.\n\nOn Tue, 3 Mar 2026 at 10:00, Clinic <x@y.org> wrote:\n\nCan you come at 10?\nClinic\n",
                "Fine.",
            ),
            (
                "outlook original message",
                "See you then.\n\n-----Original Message-----\nFrom: Clinic\nSent: Tuesday\n\nCan you come?\n",
                "See you then.",
            ),
            (
                "outlook header block",
                "See you then.\n\n________________________________\nFrom: Clinic <x@y.org>\nSent: Tuesday, March 3, 2026 10:00 AM\nTo: Ann <ann@example.com>\nSubject: Appointment\n\nCan you come?\n",
                "See you then.",
            ),
            (
                "outlook bold german header block",
                "Bis dann.\n\n*Von:* Praxis <x@y.de>\n*Gesendet:* Dienstag, 3. März 2026 10:00\n*An:* Ann <ann@example.com>\n*Betreff:* Termin\n\nPasst das?\n",
                "Bis dann.",
            ),
            (
                "outlook french header block",
                "Merci.\n\nDe : Cabinet <x@y.fr>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : Ann <ann@example.com>\nObjet : Rendez-vous\n",
                "Merci.",
            ),
            (
                "header block with wrapped recipients",
                "Ok.\n\nFrom: Clinic <x@y.org>\nTo: Ann <ann@example.com>; Bob\n <bob@example.com>\nSent: Tuesday\nSubject: Appointment\n",
                "Ok.",
            ),
            (
                "colon in the middle of the reply",
                "Note: I will be late.\nReason: traffic\nSee you.",
                "Note: I will be late.\nReason: traffic\nSee you.",
            ),
            (
                "from line without header block",
                "From: the front desk, I got your letter.\nI will call tomorrow.",
                "From: the front desk, I got your letter.\nI will call tomorrow.",
            ),
            (
                "on line that is not an attribution",
                "On Monday I wrote:\nplease bring the form.\nThanks",
                "On Monday I wrote:\nplease bring the form.\nThanks",
            ),
            (
                "quote block at the end",
                "I agree.\n\n> Shall we move it?\n> Clinic\n",
                "I agree.",
            ),
            (
                "bare wrote line followed by quote",
                "Agreed.\n\nClinic Reception wrote:\n> Shall we?\n",
                "Agreed.",
            ),
            (
                "attribution without a known verb",
                "Reply\n\n2026年3月3日(火) 10:00 Clinic <x@y.jp>:\n\n> こんにちは\n",
                "Reply",
            ),
            (
                "bottom posting",
                "On Tue, 3 Mar 2026 at 10:00, Clinic <x@y.org> wrote:\n> Can you come?\n\nYes I can.\n",
                "Yes I can.",
            ),
            (
                "interleaved answers keep the inline quotes",
                "Hi,\n\n> Can you come at 10?\nYes.\n\n> Bring your card?\nSure.\n\n> Clinic\n> Main street\n",
                "Hi,\n\n> Can you come at 10?\nYes.\n\n> Bring your card?\nSure.",
            ),
            (
                "signature delimiter",
                "Thanks!\n-- \nAnn Smith\nAcme Inc.\n+1 555 0100\nwww.example.com\nMain street 1\n",
                "Thanks!",
            ),
            (
                "signature above quoted history",
                "Thanks!\n\n-- \nAnn\n\nOn Tue, 3 Mar 2026 at 10:00, Clinic <x@y.org> wrote:\n> Can you come?\n",
                "Thanks!",
            ),
            (
                "bare double dash before a short block",
                "Thanks!\n--\nAnn Smith\n555 0100\n",
                "Thanks!",
            ),
            (
                "bare double dash inside text",
                "Part one\n--\nLine 1\nLine 2\nLine 3\nLine 4\nLine 5\n",
                "Part one\n--\nLine 1\nLine 2\nLine 3\nLine 4\nLine 5",
            ),
            ("sent from my iphone", "Ok!\n\nSent from my iPhone\n", "Ok!"),
            (
                "get outlook for ios",
                "Ok!\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Clinic <x@y.org>\nSent: Tuesday\nTo: Ann\nSubject: Hi\n\nHello\n",
                "Ok!",
            ),
            (
                "german mobile trailer",
                "Ok!\n\nVon meinem iPhone gesendet\n\n> Am 03.03.2026 um 10:00 schrieb Praxis <x@y.de>:\n> Hallo\n",
                "Ok!",
            ),
            (
                "trailer phrase inside text is kept",
                "Sent from my iPhone, so short answer:\nyes, Tuesday is fine.",
                "Sent from my iPhone, so short answer:\nyes, Tuesday is fine.",
            ),
            (
                "gmail forward",
                "Please see below.\n\n---------- Forwarded message ---------\nFrom: Lab <lab@example.com>\nDate: Tue, 3 Mar 2026\nSubject: Results\n\nAll fine.\n",
                "Please see below.",
            ),
            (
                "everything quoted returns the original",
                "> Can you come?\n> Clinic\n",
                "> Can you come?\n> Clinic",
            ),
            (
                "forward without a comment returns the original",
                "---------- Forwarded message ---------\nFrom: Lab\nDate: Tue\nTo: Ann\n\nAll fine.",
                "---------- Forwarded message ---------\nFrom: Lab\nDate: Tue\nTo: Ann\n\nAll fine.",
            ),
            ("empty", "", ""),
            ("whitespace only", " \r\n\t\n", ""),
        ];
        assert!(cases.len() >= 20);
        for (name, input, expected) in cases {
            assert_eq!(new_text(input), *expected, "case {name:?}");
        }
    }
}
