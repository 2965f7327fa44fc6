//! Email setups: a workspace's sending domain, its DKIM keys, the DNS
//! records to publish, and their verification from the host's answers.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::store::{Expect, Store, StoreError, get_json, put_json};
use crate::{dkim, ids, thread_index};

/// A DNS record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordType {
    Txt,
    Mx,
}

/// What a record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordPurpose {
    Dkim,
    InboundMx,
    Spf,
    Dmarc,
}

/// A record the customer publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DnsRecord {
    pub purpose: RecordPurpose,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RecordType,
    pub value: String,
    pub required: bool,
}

/// Where a setup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupStatus {
    Pending,
    Verified,
    Failed,
}

/// Host settings the records depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SetupOptions {
    pub inbound_host: String,
    pub spf_include: Option<String>,
    #[serde(default)]
    pub unsubscribe_base: Option<String>,
}

/// A registered sending domain, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Setup {
    pub id: String,
    pub workspace: String,
    pub domain: String,
    pub status: SetupStatus,
    pub selector: String,
    pub next_selector: Option<String>,
    pub records: Vec<DnsRecord>,
}

/// What is stored: the setup and what only the component sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Stored {
    setup: Setup,
    options: SetupOptions,
    selectors_made: u32,
    /// The HMAC key of unsubscribe tokens, hex.
    #[serde(default)]
    unsubscribe_secret: String,
}

/// A name and type to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Lookup {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RecordType,
}

/// One MX answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MxAnswer {
    pub preference: u16,
    pub exchange: String,
}

/// What the resolver answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsResult {
    Txt(Vec<Vec<String>>),
    Mx(Vec<MxAnswer>),
    NoSuchName,
    NoRecords,
    Timeout,
    ServerFailure(String),
}

/// An answer to one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DnsAnswer {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RecordType,
    pub result: DnsResult,
}

/// How one record fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordState {
    Verified,
    Missing(String),
    Mismatched(Vec<String>),
}

/// One record and how it fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RecordCheck {
    pub record: DnsRecord,
    pub state: RecordState,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Verification {
    pub setup: Setup,
    pub checks: Vec<RecordCheck>,
}

/// Why a setup call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupError {
    InvalidDomain(String),
    InvalidWorkspace(String),
    InvalidOptions(String),
    DomainTaken(String),
    NotFound(String),
    KeyGeneration(String),
    Store(String),
}

impl From<StoreError> for SetupError {
    fn from(e: StoreError) -> Self {
        SetupError::Store(e.to_string())
    }
}

pub(crate) fn key(id: &str) -> String {
    format!("setup/{id}")
}

pub(crate) fn domain_key(domain: &str) -> String {
    format!("domain/{domain}")
}

/// Registers `domain` for `workspace` with a new DKIM key.
pub fn create(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    domain: &str,
    options: &SetupOptions,
) -> Result<Setup, SetupError> {
    if workspace.trim().is_empty()
        || workspace.len() > 200
        || workspace.chars().any(char::is_control)
    {
        return Err(SetupError::InvalidWorkspace(
            "the workspace must be 1 to 200 bytes without control characters".into(),
        ));
    }
    let domain = normalize_domain(domain).map_err(SetupError::InvalidDomain)?;
    let options = SetupOptions {
        inbound_host: normalize_domain(&options.inbound_host)
            .map_err(|e| SetupError::InvalidOptions(format!("inbound-host: {e}")))?,
        spf_include: match &options.spf_include {
            Some(s) => Some(
                normalize_domain(s)
                    .map_err(|e| SetupError::InvalidOptions(format!("spf-include: {e}")))?,
            ),
            None => None,
        },
        unsubscribe_base: match &options.unsubscribe_base {
            Some(base) => Some(
                check_https_base(base)
                    .map_err(|e| SetupError::InvalidOptions(format!("unsubscribe-base: {e}")))?,
            ),
            None => None,
        },
    };
    let id = format!("set_{}", env.random_hex(8));
    match put_json(store, &domain_key(&domain), &id, Expect::Absent) {
        Err(StoreError::Conflict(_)) => {
            return Err(SetupError::DomainTaken(format!(
                "{domain} is already registered by another setup"
            )));
        }
        other => other?,
    };
    let selector = "mailroom1".to_string();
    let dkim_value = new_key(store, env, &id, &selector)?;
    let mut records = vec![dkim_record(&domain, &selector, dkim_value, true)];
    records.push(DnsRecord {
        purpose: RecordPurpose::InboundMx,
        name: domain.clone(),
        kind: RecordType::Mx,
        value: format!("10 {}", options.inbound_host),
        required: true,
    });
    let spf = match &options.spf_include {
        Some(include) => format!("v=spf1 include:{include} ~all"),
        None => "v=spf1 mx ~all".to_string(),
    };
    records.push(txt(RecordPurpose::Spf, &domain, spf, true));
    records.push(txt(
        RecordPurpose::Dmarc,
        &format!("_dmarc.{domain}"),
        "v=DMARC1; p=none".to_string(),
        false,
    ));
    let setup = Setup {
        id: id.clone(),
        workspace: workspace.to_string(),
        domain,
        status: SetupStatus::Pending,
        selector,
        next_selector: None,
        records,
    };
    let stored = Stored {
        setup: setup.clone(),
        options,
        selectors_made: 1,
        unsubscribe_secret: env.random_hex(32),
    };
    put_json(store, &key(&id), &stored, Expect::Absent)?;
    Ok(setup)
}

fn txt(purpose: RecordPurpose, name: &str, value: String, required: bool) -> DnsRecord {
    DnsRecord {
        purpose,
        name: name.to_string(),
        kind: RecordType::Txt,
        value,
        required,
    }
}

fn dkim_record(domain: &str, selector: &str, value: String, required: bool) -> DnsRecord {
    txt(
        RecordPurpose::Dkim,
        &format!("{selector}._domainkey.{domain}"),
        value,
        required,
    )
}

/// Makes and stores a key for `selector`; returns its TXT value.
fn new_key(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    selector: &str,
) -> Result<String, SetupError> {
    let (private, value) = dkim::generate(env).map_err(SetupError::KeyGeneration)?;
    put_json(
        store,
        &dkim::key_name(setup, selector),
        &thread_index::base64(&private),
        Expect::Absent,
    )?;
    Ok(value)
}

fn load(store: &mut dyn Store, id: &str) -> Result<(Stored, u64), SetupError> {
    get_json(store, &key(id))?.ok_or_else(|| SetupError::NotFound(format!("no setup has id {id}")))
}

/// Reads a setup.
pub fn get(store: &mut dyn Store, id: &str) -> Result<Setup, SetupError> {
    load(store, id).map(|(s, _)| s.setup)
}

/// The private key outbound mail of the setup is signed with.
pub fn signing_key(store: &mut dyn Store, setup: &Setup) -> Result<Vec<u8>, StoreError> {
    let stored: Option<(String, u64)> =
        get_json(store, &dkim::key_name(&setup.id, &setup.selector))?;
    stored
        .and_then(|(k, _)| dkim::decode_key(&k))
        .ok_or_else(|| StoreError::Other(format!("no DKIM key for selector {}", setup.selector)))
}

/// What one-click unsubscribe needs of a setup.
pub struct UnsubscribeKeys {
    pub setup: Setup,
    /// The HMAC key.
    pub secret: Vec<u8>,
    /// The https URL tokens are appended to, without a trailing `/`.
    pub base: String,
}

/// The setup's unsubscribe secret and base URL; `None` if no setup has `id`.
pub fn unsubscribe_keys(
    store: &mut dyn Store,
    id: &str,
) -> Result<Option<UnsubscribeKeys>, StoreError> {
    let Some((stored, _)) = get_json::<Stored>(store, &key(id))? else {
        return Ok(None);
    };
    let base = stored
        .options
        .unsubscribe_base
        .clone()
        .unwrap_or_else(|| format!("https://{}/unsubscribe", stored.options.inbound_host));
    Ok(Some(UnsubscribeKeys {
        secret: stored.unsubscribe_secret.into_bytes(),
        setup: stored.setup,
        base,
    }))
}

/// The setup's inbound host (tracking's default base); `None` if no setup
/// has `id`.
pub fn inbound_host(store: &mut dyn Store, id: &str) -> Result<Option<String>, StoreError> {
    Ok(get_json::<Stored>(store, &key(id))?.map(|(s, _)| s.options.inbound_host))
}

/// Checks an `https://host[/path]` URL with nothing a header could be split
/// on; returns it without a trailing `/`.
fn check_https_base(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .ok_or("must start with https:// (RFC 8058)")?;
    let host = rest.split('/').next().unwrap_or_default();
    let host_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    normalize_domain(host_name)?;
    if url.len() > 200 {
        return Err("is longer than 200 bytes".into());
    }
    if url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>\"?#,\\".contains(c))
    {
        return Err("holds a character a URL path here may not: space, <, >, \", ?, # or ,".into());
    }
    Ok(url.to_string())
}

/// The setup that owns `domain`, if any.
pub fn by_domain(store: &mut dyn Store, domain: &str) -> Result<Option<Setup>, StoreError> {
    let Some((id, _)) = get_json::<String>(store, &domain_key(&domain.to_ascii_lowercase()))?
    else {
        return Ok(None);
    };
    Ok(get_json::<Stored>(store, &key(&id))?.map(|(s, _)| s.setup))
}

/// The names and types to resolve for `verify`, without repeats.
pub fn lookups(store: &mut dyn Store, id: &str) -> Result<Vec<Lookup>, SetupError> {
    let setup = get(store, id)?;
    let mut out: Vec<Lookup> = Vec::new();
    for r in &setup.records {
        let lookup = Lookup {
            name: r.name.clone(),
            kind: r.kind,
        };
        if !out.contains(&lookup) {
            out.push(lookup);
        }
    }
    Ok(out)
}

/// Starts a key rotation: a new selector published beside the current one.
pub fn rotate_dkim(
    store: &mut dyn Store,
    env: &mut dyn Env,
    id: &str,
) -> Result<Setup, SetupError> {
    let (mut stored, version) = load(store, id)?;
    if stored.setup.next_selector.is_some() {
        // A rotation is already under way; it completes on verification.
        return Ok(stored.setup);
    }
    let selector = format!("mailroom{}", stored.selectors_made + 1);
    let value = new_key(store, env, id, &selector)?;
    stored.selectors_made += 1;
    let domain = stored.setup.domain.clone();
    stored
        .setup
        .records
        .insert(1, dkim_record(&domain, &selector, value, false));
    stored.setup.next_selector = Some(selector);
    put_json(store, &key(id), &stored, Expect::Version(version))?;
    Ok(stored.setup)
}

/// Checks the host's answers and stores the new status.
pub fn verify(
    store: &mut dyn Store,
    id: &str,
    answers: &[DnsAnswer],
) -> Result<Verification, SetupError> {
    let (mut stored, version) = load(store, id)?;
    let checks: Vec<RecordCheck> = stored
        .setup
        .records
        .iter()
        .map(|record| RecordCheck {
            state: check(record, &stored.options, answers),
            record: record.clone(),
        })
        .collect();

    // A published next selector completes the rotation.
    if let Some(next) = stored.setup.next_selector.clone() {
        let published = checks.iter().any(|c| {
            c.record.purpose == RecordPurpose::Dkim
                && c.record.name.starts_with(&format!("{next}."))
                && c.state == RecordState::Verified
        });
        if published {
            let old = format!("{}.", stored.setup.selector);
            stored
                .setup
                .records
                .retain(|r| !(r.purpose == RecordPurpose::Dkim && r.name.starts_with(&old)));
            for r in &mut stored.setup.records {
                if r.purpose == RecordPurpose::Dkim {
                    r.required = true;
                }
            }
            stored.setup.selector = next;
            stored.setup.next_selector = None;
        }
    }

    let required: Vec<&RecordCheck> = checks.iter().filter(|c| c.record.required).collect();
    let transient =
        |c: &&&RecordCheck| matches!(&c.state, RecordState::Missing(m) if m.starts_with("dns "));
    let previous = stored.setup.status;
    stored.setup.status = if required.iter().all(|c| c.state == RecordState::Verified) {
        SetupStatus::Verified
    } else if required
        .iter()
        .any(|c| matches!(c.state, RecordState::Mismatched(_)))
    {
        SetupStatus::Failed
    } else if required
        .iter()
        .filter(|c| c.state != RecordState::Verified)
        .all(|c| transient(&c))
    {
        previous
    } else if previous == SetupStatus::Pending {
        SetupStatus::Pending
    } else {
        SetupStatus::Failed
    };
    put_json(store, &key(id), &stored, Expect::Version(version))?;
    Ok(Verification {
        setup: stored.setup,
        checks,
    })
}

fn bare_host(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn check(record: &DnsRecord, options: &SetupOptions, answers: &[DnsAnswer]) -> RecordState {
    let Some(answer) = answers
        .iter()
        .find(|a| a.kind == record.kind && bare_host(&a.name) == record.name)
    else {
        return RecordState::Missing("not looked up".into());
    };
    let found: Vec<String> = match &answer.result {
        DnsResult::NoSuchName => return RecordState::Missing("no such name".into()),
        DnsResult::NoRecords => return RecordState::Missing("no records".into()),
        DnsResult::Timeout => return RecordState::Missing("dns timeout".into()),
        DnsResult::ServerFailure(m) => {
            return RecordState::Missing(format!("dns server failure: {m}"));
        }
        DnsResult::Txt(records) => records.iter().map(|strings| strings.concat()).collect(),
        DnsResult::Mx(records) => records
            .iter()
            .map(|m| format!("{} {}", m.preference, bare_host(&m.exchange)))
            .collect(),
    };
    let lower = |s: &String| s.trim().to_ascii_lowercase();
    let (relevant, ok): (Vec<&String>, bool) = match record.purpose {
        RecordPurpose::Dkim => {
            let ours = dkim::public_key_tag(&record.value);
            let relevant: Vec<&String> = found.iter().collect();
            let ok = found.iter().any(|f| dkim::public_key_tag(f) == ours);
            (relevant, ok)
        }
        RecordPurpose::InboundMx => {
            let ok = found
                .iter()
                .any(|f| f.split_whitespace().nth(1) == Some(options.inbound_host.as_str()));
            (found.iter().collect(), ok)
        }
        RecordPurpose::Spf => {
            let spf: Vec<&String> = found
                .iter()
                .filter(|f| lower(f).starts_with("v=spf1"))
                .collect();
            let mechanism = match &options.spf_include {
                Some(include) => format!("include:{include}"),
                None => "mx".to_string(),
            };
            let ok = spf.iter().any(|f| {
                lower(f)
                    .split_whitespace()
                    .any(|term| term.trim_start_matches(['+', '~', '?']) == mechanism)
            });
            (spf, ok)
        }
        RecordPurpose::Dmarc => {
            let dmarc: Vec<&String> = found
                .iter()
                .filter(|f| lower(f).starts_with("v=dmarc1"))
                .collect();
            let ok = !dmarc.is_empty();
            (dmarc, ok)
        }
    };
    match (ok, relevant.is_empty()) {
        (true, _) => RecordState::Verified,
        (false, true) => RecordState::Missing("no matching record".into()),
        (false, false) => RecordState::Mismatched(relevant.into_iter().cloned().collect()),
    }
}

/// Public suffixes that are not registrable on their own (a short list of
/// the common multi-label ones; single labels are refused anyway).
const PUBLIC_SUFFIXES: [&str; 24] = [
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "com.au",
    "net.au",
    "org.au",
    "co.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "com.br",
    "com.cn",
    "com.mx",
    "co.za",
    "co.in",
    "com.tr",
    "github.io",
    "herokuapp.com",
    "pages.dev",
    "workers.dev",
    "vercel.app",
    "netlify.app",
];

/// A host name as lower-case A-labels, checked: IDNA (UTS 46) applied, LDH
/// labels, at least two labels, no wildcard, not a bare public suffix.
pub fn normalize_domain(domain: &str) -> Result<String, String> {
    let trimmed = domain.trim().trim_end_matches('.');
    if trimmed.contains('*') {
        return Err(format!(
            "{} is a wildcard, not a domain",
            ids::shown(trimmed)
        ));
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| format!("{} is not a valid domain name", ids::shown(trimmed)))?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if ascii.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(format!(
            "{} is not a valid domain name",
            ids::shown(trimmed)
        ));
    }
    if PUBLIC_SUFFIXES.contains(&ascii.as_str()) {
        return Err(format!(
            "{ascii} is a public suffix, not a registrable domain"
        ));
    }
    Ok(ascii)
}

impl SetupStatus {
    /// The WIT name of the status.
    pub fn name(self) -> &'static str {
        match self {
            SetupStatus::Pending => "pending",
            SetupStatus::Verified => "verified",
            SetupStatus::Failed => "failed",
        }
    }
}

/// DNS answers that publish `records` exactly, as a resolver would give
/// them (long TXT values as 255-byte strings): for tests and demos that
/// stand in for a real zone.
pub fn answers_publishing(records: &[DnsRecord]) -> Vec<DnsAnswer> {
    let mut answers: Vec<DnsAnswer> = Vec::new();
    for r in records {
        let found = answers
            .iter_mut()
            .find(|a| a.name == r.name && a.kind == r.kind);
        let answer = match found {
            Some(a) => a,
            None => {
                answers.push(DnsAnswer {
                    name: r.name.clone(),
                    kind: r.kind,
                    result: match r.kind {
                        RecordType::Txt => DnsResult::Txt(Vec::new()),
                        RecordType::Mx => DnsResult::Mx(Vec::new()),
                    },
                });
                answers.last_mut().expect("just pushed")
            }
        };
        match &mut answer.result {
            DnsResult::Txt(list) => list.push(
                // Long values come as 255-byte character-strings.
                r.value
                    .as_bytes()
                    .chunks(255)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect(),
            ),
            DnsResult::Mx(list) => {
                let (preference, exchange) = r.value.split_once(' ').unwrap_or(("10", &r.value));
                list.push(MxAnswer {
                    preference: preference.parse().unwrap_or(10),
                    exchange: format!("{exchange}."),
                });
            }
            _ => {}
        }
    }
    answers
}

/// Whether outbound mail may go through `setup`.
pub fn is_verified(setup: &Setup) -> bool {
    setup.status == SetupStatus::Verified
}
