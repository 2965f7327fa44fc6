//! Reference chains: what a reply's References carries (RFC 5322 3.6.4),
//! bounded so every receiver accepts it.

/// Most ids in a References field. Cloudflare Email Workers' `reply()`
/// rejects more than 100; the first id (the thread's root) and the newest
/// ones are kept.
pub const MAX_REFERENCES: usize = 100;

/// Cuts a chain to [`MAX_REFERENCES`], keeping the first id and the newest.
pub fn bound(chain: Vec<String>) -> Vec<String> {
    if chain.len() <= MAX_REFERENCES {
        return chain;
    }
    let mut out = Vec::with_capacity(MAX_REFERENCES);
    out.extend(chain.first().cloned());
    out.extend(chain[chain.len() - (MAX_REFERENCES - 1)..].iter().cloned());
    out
}

/// `chain` followed by `ids`, without repeats, bounded.
pub fn extend(chain: &[String], ids: &[String]) -> Vec<String> {
    let mut out = chain.to_vec();
    // A set, not `contains` on the list: a hostile References of 50,000 ids
    // would otherwise take quadratic time.
    let mut seen: std::collections::HashSet<&str> = chain.iter().map(String::as_str).collect();
    for id in ids {
        if seen.insert(id.as_str()) {
            out.push(id.clone());
        }
    }
    bound(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_and_newest() {
        let chain: Vec<String> = (0..150).map(|i| format!("{i}@x")).collect();
        let bounded = bound(chain);
        assert_eq!(bounded.len(), MAX_REFERENCES);
        assert_eq!(bounded[0], "0@x");
        assert_eq!(bounded[1], "51@x");
        assert_eq!(bounded[99], "149@x");
    }
}
