//! RFC 822-style field blocks: the header of a message, the bodies of
//! `message/delivery-status` and `message/feedback-report` parts. Field
//! names are case-insensitive; continuation lines are unfolded; blocks are
//! separated by blank lines.

/// Most bytes kept of one field value.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Most fields kept of one block.
const MAX_FIELDS: usize = 2000;

/// One field: lower-case name, unfolded and trimmed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// The first value of `name` (lower-case) among `fields`.
pub fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
        .filter(|v| !v.is_empty())
}

/// The fields of the first block of `text` (a header: up to its first
/// blank line).
pub fn parse_block(text: &str) -> Vec<Field> {
    groups(text, 1).into_iter().next().unwrap_or_default()
}

/// The blocks of `text`, at most `max_groups` of them; a block ends at a
/// blank line. Lines that are neither fields nor continuations are skipped.
pub fn groups(text: &str, max_groups: usize) -> Vec<Vec<Field>> {
    let mut out: Vec<Vec<Field>> = Vec::new();
    let mut current: Vec<Field> = Vec::new();
    let mut total = 0usize;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                if out.len() >= max_groups {
                    return out;
                }
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = current.last_mut() {
                push_capped(&mut last.value, " ");
                push_capped(&mut last.value, line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim_end();
        let token = !name.is_empty()
            && name.len() <= 76
            && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !token || total >= MAX_FIELDS {
            continue;
        }
        total += 1;
        let mut field = Field {
            name: name.to_ascii_lowercase(),
            value: String::new(),
        };
        push_capped(&mut field.value, value.trim());
        current.push(field);
    }
    if !current.is_empty() {
        out.push(current);
    }
    for group in &mut out {
        for field in group.iter_mut() {
            let trimmed = field.value.trim();
            if trimmed.len() != field.value.len() {
                field.value = trimmed.to_string();
            }
        }
    }
    out
}

fn push_capped(value: &mut String, more: &str) {
    let room = MAX_VALUE_BYTES.saturating_sub(value.len());
    if room == 0 {
        return;
    }
    let end = more.floor_char_boundary(room);
    value.push_str(more.get(..end).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_lowercases() {
        let g = groups("A-B: one\n two\nC: x\n\nD: y\n", 10);
        assert_eq!(g.len(), 2);
        assert_eq!(get(&g[0], "a-b"), Some("one two"));
        assert_eq!(get(&g[1], "d"), Some("y"));
    }

    #[test]
    fn caps_groups_and_values() {
        let text = "X: 1\n\n".repeat(100_000);
        assert_eq!(groups(&text, 1000).len(), 1000);
        let long = format!("X: {}\n", "é".repeat(100_000));
        let g = parse_block(&long);
        assert!(g[0].value.len() <= MAX_VALUE_BYTES);
    }

    #[test]
    fn skips_garbage() {
        assert!(parse_block("").is_empty());
        assert!(parse_block("no colon here\n: empty name\n").is_empty());
    }
}
