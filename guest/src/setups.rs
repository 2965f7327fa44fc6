//! Email setups: a workspace's sending domain, its DKIM keys, the DNS
//! records to publish, and their verification from the host's answers.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::records;
use crate::store::{Expect, Store, StoreError};
use crate::{address, bounce_path, dkim, ids, thread_index};

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
    BounceMx,
    BounceSpf,
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
    Expired,
}

/// How long a setup may stay pending when its options do not say: 72 hours,
/// as SES fails a verification.
pub const DEFAULT_PENDING_TTL: u64 = 72 * 3600;
/// The shortest and longest `pending-ttl` accepted.
pub const PENDING_TTL_RANGE: (u64, u64) = (1, 30 * 24 * 3600);

/// Host settings the records depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SetupOptions {
    pub inbound_host: String,
    pub spf_include: Option<String>,
    #[serde(default)]
    pub unsubscribe_base: Option<String>,
    #[serde(default)]
    pub pending_ttl: Option<u64>,
    /// The bounce domain (see [`crate::bounce_path`]); at `create`, `None`
    /// is [`bounce_path::default_domain`]. Setups stored before it existed
    /// have none and no bounce records.
    #[serde(default)]
    pub bounce_domain: Option<String>,
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
    #[serde(default)]
    pub created_at: u64,
    #[serde(default)]
    pub expires_at: Option<u64>,
}

/// What is stored: the setup and what only the component sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Stored {
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
    Expired(String),
    KeyGeneration(String),
    Store(String),
}

display_cases!(SetupError {
    InvalidDomain => "invalid-domain",
    InvalidWorkspace => "invalid-workspace",
    InvalidOptions => "invalid-options",
    DomainTaken => "domain-taken",
    NotFound => "not-found",
    Expired => "expired",
    KeyGeneration => "key-generation",
    Store => "store",
});

impl From<StoreError> for SetupError {
    fn from(e: StoreError) -> Self {
        SetupError::Store(e.to_string())
    }
}

pub(crate) use crate::keys::{
    domain as domain_key, setup as key, workspace_setup as workspace_key,
};

/// The not-found text for `id`, the same whether the setup is missing or
/// another workspace's.
pub fn not_found(id: &str) -> String {
    format!("no setup has id {id}")
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
                spf_domain_spec(s)
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
        pending_ttl: match options.pending_ttl {
            Some(ttl) if !(PENDING_TTL_RANGE.0..=PENDING_TTL_RANGE.1).contains(&ttl) => {
                return Err(SetupError::InvalidOptions(format!(
                    "pending-ttl: {ttl} s is outside {} to {} s",
                    PENDING_TTL_RANGE.0, PENDING_TTL_RANGE.1
                )));
            }
            ttl => ttl,
        },
        bounce_domain: Some(
            bounce_path::check_domain(&domain, options.bounce_domain.as_deref())
                .map_err(|e| SetupError::InvalidOptions(format!("bounce-domain: {e}")))?,
        ),
    };
    // Only a verified setup holds its domain; pending ones race to verify.
    if records::read::<String>(store, &domain_key(&domain))?.is_some() {
        return Err(SetupError::DomainTaken(format!(
            "{domain} is verified by another setup"
        )));
    }
    let id = format!("set_{}", env.random_hex(8));
    let created_at = u64::try_from(env.now()).unwrap_or(0);
    let expires_at = created_at.saturating_add(options.pending_ttl.unwrap_or(DEFAULT_PENDING_TTL));
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
    records.push(txt(RecordPurpose::Spf, &domain, spf.clone(), true));
    records.push(txt(
        RecordPurpose::Dmarc,
        &format!("_dmarc.{domain}"),
        "v=DMARC1; p=none".to_string(),
        false,
    ));
    if let Some(bounce) = &options.bounce_domain {
        // The envelope sender's domain: bounces come back to the inbound
        // host, and SPF passes for it (relaxed-aligned with the From).
        records.push(DnsRecord {
            purpose: RecordPurpose::BounceMx,
            name: bounce.clone(),
            kind: RecordType::Mx,
            value: format!("10 {}", options.inbound_host),
            required: true,
        });
        records.push(txt(RecordPurpose::BounceSpf, bounce, spf, true));
    }
    let setup = Setup {
        id: id.clone(),
        workspace: workspace.to_string(),
        domain,
        status: SetupStatus::Pending,
        selector,
        next_selector: None,
        records,
        created_at,
        expires_at: Some(expires_at),
    };
    let stored = Stored {
        setup: setup.clone(),
        options,
        selectors_made: 1,
        unsubscribe_secret: env.random_hex(32),
    };
    records::write(store, &key(&id), &stored, Expect::Absent)?;
    records::write(
        store,
        &workspace_key(workspace, created_at, &id),
        &id,
        Expect::Absent,
    )?;
    Ok(setup)
}

/// The setup as a caller sees it now: one that never verified (pending, or
/// failed before ever verifying) is `expired` past its expiry. Reads the
/// clock only for such setups.
pub fn shown(mut setup: Setup, env: &mut dyn Env) -> Setup {
    if matches!(setup.status, SetupStatus::Pending | SetupStatus::Failed)
        && let Some(expires_at) = setup.expires_at
        && u64::try_from(env.now()).unwrap_or(0) >= expires_at
    {
        setup.status = SetupStatus::Expired;
    }
    setup
}

/// The setups of `workspace`, oldest first.
pub fn list(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
) -> Result<Vec<Setup>, SetupError> {
    let prefix = crate::keys::workspace_setup_prefix(workspace);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list(&prefix, cursor.as_deref(), 100)?;
        for k in &page.keys {
            if let Some((id, _)) = records::read::<String>(store, k)?
                && let Some((stored, _)) = records::read::<Stored>(store, &key(&id))?
                && stored.setup.workspace == workspace
            {
                out.push(shown(stored.setup, env));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
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
    records::write(
        store,
        &dkim::key_name(setup, selector),
        &thread_index::base64(&private),
        Expect::Absent,
    )?;
    Ok(value)
}

fn load(store: &mut dyn Store, id: &str) -> Result<(Stored, u64), SetupError> {
    records::read(store, &key(id))?.ok_or_else(|| SetupError::NotFound(not_found(id)))
}

/// Reads a setup.
pub fn get(store: &mut dyn Store, id: &str) -> Result<Setup, SetupError> {
    load(store, id).map(|(s, _)| s.setup)
}

/// The private key outbound mail of the setup is signed with.
pub fn signing_key(store: &mut dyn Store, setup: &Setup) -> Result<Vec<u8>, StoreError> {
    let stored: Option<(String, u64)> =
        records::read(store, &dkim::key_name(&setup.id, &setup.selector))?;
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
    let Some((stored, _)) = records::read::<Stored>(store, &key(id))? else {
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
    Ok(records::read::<Stored>(store, &key(id))?.map(|(s, _)| s.options.inbound_host))
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

/// Makes `setup` the owner of its domain unless another setup verified it
/// first (then `domain-taken`, and nothing is written).
fn claim_domain(store: &mut dyn Store, setup: &Setup) -> Result<(), SetupError> {
    let key = domain_key(&setup.domain);
    let taken =
        || SetupError::DomainTaken(format!("{} is verified by another setup", setup.domain));
    match records::read::<String>(store, &key)? {
        Some((owner, _)) if owner == setup.id => Ok(()),
        Some(_) => Err(taken()),
        None => match records::write(store, &key, &setup.id, Expect::Absent) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => match records::read::<String>(store, &key)? {
                Some((owner, _)) if owner == setup.id => Ok(()),
                _ => Err(taken()),
            },
            Err(e) => Err(e.into()),
        },
    }
}

/// The setup that owns `domain`, if any.
pub fn by_domain(store: &mut dyn Store, domain: &str) -> Result<Option<Setup>, StoreError> {
    let Some((id, _)) = records::read::<String>(store, &domain_key(&domain.to_ascii_lowercase()))?
    else {
        return Ok(None);
    };
    Ok(records::read::<Stored>(store, &key(&id))?.map(|(s, _)| s.setup))
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
    records::write(store, &key(id), &stored, Expect::Version(version))?;
    Ok(stored.setup)
}

/// Checks the host's answers and stores the new status.
pub fn verify(
    store: &mut dyn Store,
    env: &mut dyn Env,
    id: &str,
    answers: &[DnsAnswer],
) -> Result<Verification, SetupError> {
    let (mut stored, version) = load(store, id)?;
    if shown(stored.setup.clone(), env).status == SetupStatus::Expired {
        return Err(SetupError::Expired(format!(
            "setup {id} was not verified within its pending-ttl; create a new setup for {}",
            stored.setup.domain
        )));
    }
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
    if stored.setup.status == SetupStatus::Verified {
        claim_domain(store, &stored.setup)?;
        stored.setup.expires_at = None;
    }
    records::write(store, &key(id), &stored, Expect::Version(version))?;
    Ok(Verification {
        setup: stored.setup,
        checks,
    })
}

/// A `mismatched` state: the reason first, then the records as found.
fn mismatched(reason: &str, records: &[&String]) -> RecordState {
    let mut list = vec![reason.to_string()];
    list.extend(records.iter().map(|r| (*r).clone()));
    RecordState::Mismatched(list)
}

/// An SPF record: `v=spf1` then a space or the end (RFC 7208 4.5), any case.
fn is_spf(record: &str) -> bool {
    let lower = record.trim().to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

/// A DMARC record: `v=DMARC1` first, then `;`, a space or the end.
fn is_dmarc(record: &str) -> bool {
    let lower = record.trim().to_ascii_lowercase();
    lower
        .strip_prefix("v=dmarc1")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([';', ' ', '\t']))
}

/// Whether the one SPF record authorises `mechanism` (`include:X` or
/// `mx`): only with the `+` qualifier or none (RFC 7208 4.6.2); `~`
/// (softfail), `?` (neutral) and `-` (fail) authorise nothing.
fn spf_authorises(record: &String, mechanism: &str) -> RecordState {
    for term in record.split_ascii_whitespace() {
        let term = term.to_ascii_lowercase();
        let (qualifier, rest) = match term.chars().next() {
            Some(q @ ('+' | '-' | '~' | '?')) => (q, &term[1..]),
            _ => ('+', term.as_str()),
        };
        if rest != mechanism {
            continue;
        }
        if qualifier == '+' {
            return RecordState::Verified;
        }
        let meaning = match qualifier {
            '~' => "softfail",
            '?' => "neutral",
            _ => "fail",
        };
        return mismatched(
            &format!(
                "{mechanism} has the qualifier {qualifier} ({meaning}), which authorises nothing; write {mechanism} or +{mechanism}"
            ),
            &[record],
        );
    }
    mismatched(&format!("the SPF record has no {mechanism}"), &[record])
}

/// An RFC 7208 domain-spec for `include:` (section 7.1): labels of letters,
/// digits, `-` and `_` (`_spf.google.com`), or macros (`%{i}`, `%{d2}`,
/// `%%`, `%_`, `%-`), ending in a top label of letters, digits and
/// hyphens that is not all digits, or in a macro; at most 253 octets.
/// Without macros it goes through IDNA and comes back lower-case.
pub fn spf_domain_spec(spec: &str) -> Result<String, String> {
    let spec = spec.trim().trim_end_matches('.');
    let shown = ids::shown(spec);
    let bad = |why: &str| {
        Err(format!(
            "{shown} is not an SPF domain-spec (RFC 7208 7.1): {why}"
        ))
    };
    if spec.is_empty() {
        return bad("it is empty");
    }
    let ascii = if spec.contains('%') {
        if !spec.bytes().all(|b| b.is_ascii_graphic()) {
            return bad("a macro domain-spec is printable ASCII");
        }
        check_macros(spec)
            .map_err(|why| format!("{shown} is not an SPF domain-spec (RFC 7208 7.1): {why}"))?;
        spec.to_string()
    } else {
        // IDNA with the `_` labels kept: map each label that needs it.
        let mut labels = Vec::new();
        for label in spec.split('.') {
            if label.is_ascii() {
                labels.push(label.to_ascii_lowercase());
            } else {
                match idna::domain_to_ascii(label) {
                    Ok(a) if !a.contains('.') => labels.push(a),
                    _ => return bad("a label is not valid IDNA"),
                }
            }
        }
        labels.join(".")
    };
    if ascii.len() > 253 {
        return bad("it is over 253 octets");
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return bad("it has fewer than two labels");
    }
    let last = labels.len() - 1;
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() || label.len() > 63 {
            return bad("a label is empty or over 63 octets");
        }
        if label.contains('%') {
            continue;
        }
        let ldh = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        let ok = if i == last {
            label.bytes().all(ldh)
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().any(|b| b.is_ascii_alphabetic())
        } else {
            label.bytes().all(|b| ldh(b) || b == b'_')
        };
        if !ok {
            return bad(if i == last {
                "the top label is letters, digits and inner hyphens, not all digits"
            } else {
                "a label holds a character other than a letter, digit, - or _"
            });
        }
    }
    Ok(ascii)
}

/// Checks the `%` sequences of a macro-string (RFC 7208 7.1).
fn check_macros(spec: &str) -> Result<(), String> {
    let mut rest = spec;
    while let Some(at) = rest.find('%') {
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix(['%', '_', '-']) {
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            return Err("a % is not %%, %_, %- or %{…}".into());
        };
        let Some(end) = body.find('}') else {
            return Err("a %{ is never closed".into());
        };
        let inner = &body[..end];
        let mut chars = inner.chars();
        let letter_ok = chars
            .next()
            .is_some_and(|c| "slodiphcrtvSLODIPHCRTV".contains(c));
        let tail: String = chars.collect();
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        let (_, after_digits) = tail.split_at(digits);
        let after_r = after_digits
            .strip_prefix(['r', 'R'])
            .unwrap_or(after_digits);
        if !letter_ok || !after_r.chars().all(|c| ".-+,/_=".contains(c)) {
            return Err(format!("%{{{inner}}} is not a macro"));
        }
        rest = &body[end + 1..];
    }
    Ok(())
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
    let (relevant, ok): (Vec<&String>, bool) = match record.purpose {
        RecordPurpose::Dkim => {
            let ours = dkim::public_key_tag(&record.value);
            let relevant: Vec<&String> = found.iter().collect();
            let ok = found.iter().any(|f| dkim::public_key_tag(f) == ours);
            (relevant, ok)
        }
        RecordPurpose::InboundMx | RecordPurpose::BounceMx => {
            let ok = found
                .iter()
                .any(|f| f.split_whitespace().nth(1) == Some(options.inbound_host.as_str()));
            (found.iter().collect(), ok)
        }
        RecordPurpose::Spf | RecordPurpose::BounceSpf => {
            let spf: Vec<&String> = found.iter().filter(|f| is_spf(f)).collect();
            let mechanism = match &options.spf_include {
                Some(include) => format!("include:{}", include.to_ascii_lowercase()),
                None => "mx".to_string(),
            };
            return match spf.as_slice() {
                [] => RecordState::Missing("no matching record".into()),
                [one] => spf_authorises(one, &mechanism),
                many => mismatched("multiple SPF records, a permerror (RFC 7208 4.5)", many),
            };
        }
        RecordPurpose::Dmarc => {
            let dmarc: Vec<&String> = found.iter().filter(|f| is_dmarc(f)).collect();
            return match dmarc.as_slice() {
                [] => RecordState::Missing("no matching record".into()),
                [_] => RecordState::Verified,
                many => mismatched(
                    "multiple DMARC records, which receivers ignore (RFC 7489 6.6.3)",
                    many,
                ),
            };
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

/// A host name as lower-case A-labels, checked: surrounding white space and
/// trailing dots removed, then [`address::check_domain`] (IDNA, LDH labels,
/// at least two labels), no wildcard, not a bare public suffix.
pub fn normalize_domain(domain: &str) -> Result<String, String> {
    let trimmed = domain.trim().trim_end_matches('.');
    if trimmed.contains('*') {
        return Err(format!(
            "{} is a wildcard, not a domain",
            ids::shown(trimmed)
        ));
    }
    let ascii = address::check_domain(trimmed)?;
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
            SetupStatus::Expired => "expired",
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

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Stored {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;
    use crate::store::MemoryStore;

    fn options(include: Option<&str>) -> SetupOptions {
        SetupOptions {
            inbound_host: "in.mailroom.example".into(),
            spf_include: include.map(str::to_string),
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        }
    }

    #[test]
    fn spf_include_takes_rfc_7208_domain_specs() {
        for (spec, out) in [
            ("_spf.google.com", "_spf.google.com"),
            ("_spf.mx.cloudflare.net", "_spf.mx.cloudflare.net"),
            ("AmazonSES.com.", "amazonses.com"),
            ("spf.bücher.example", "spf.xn--bcher-kva.example"),
            ("%{i}._spf.example.net", "%{i}._spf.example.net"),
            ("%{ir}.%{v}._spf.%{d2}", "%{ir}.%{v}._spf.%{d2}"),
        ] {
            assert_eq!(spf_domain_spec(spec).as_deref(), Ok(out), "{spec}");
        }
        for spec in [
            "",
            "com",
            "a b.example",
            "x.example;rm",
            "x.123",
            "x.-a",
            "%{z}.example.net",
            "%{i.example.net",
            "50%.example.net",
            "x..example",
        ] {
            assert!(spf_domain_spec(spec).is_err(), "{spec}");
        }
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 1);
        let setup = create(
            &mut store,
            &mut env,
            "ws",
            "clinic.example",
            &options(Some("_spf.google.com")),
        )
        .expect("created");
        assert!(
            setup
                .records
                .iter()
                .any(|r| r.value == "v=spf1 include:_spf.google.com ~all")
        );
    }

    fn state(purpose: RecordPurpose, include: Option<&str>, found: &[&str]) -> RecordState {
        let (name, value) = match purpose {
            RecordPurpose::Dmarc => ("_dmarc.clinic.example", "v=DMARC1; p=none"),
            _ => ("clinic.example", ""),
        };
        let record = txt(purpose, name, value.to_string(), true);
        let answers = vec![DnsAnswer {
            name: format!("{name}."),
            kind: RecordType::Txt,
            result: DnsResult::Txt(found.iter().map(|f| vec![f.to_string()]).collect()),
        }];
        check(&record, &options(include), &answers)
    }

    fn reason(s: RecordState) -> String {
        match s {
            RecordState::Mismatched(list) => list[0].clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spf_verification_as_rfc_7208_reads() {
        let g = Some("_spf.google.com");
        let ok = |found: &[&str]| state(RecordPurpose::Spf, g, found);
        assert_eq!(
            ok(&["v=spf1 include:_spf.google.com ~all"]),
            RecordState::Verified
        );
        assert_eq!(
            ok(&[
                "V=SPF1 +include:_SPF.google.com -all",
                "google-site-verification=x"
            ]),
            RecordState::Verified
        );
        assert_eq!(
            reason(ok(&[
                "v=spf1 include:_spf.google.com ~all",
                "v=spf1 mx -all"
            ])),
            "multiple SPF records, a permerror (RFC 7208 4.5)"
        );
        assert!(reason(ok(&["v=spf1 ~include:_spf.google.com -all"])).contains("softfail"));
        assert!(reason(ok(&["v=spf1 ?include:_spf.google.com -all"])).contains("neutral"));
        assert!(
            reason(ok(&["v=spf1 include:spf.other.example -all"]))
                .contains("has no include:_spf.google.com")
        );
        assert_eq!(
            ok(&["v=spf10 include:_spf.google.com"]),
            RecordState::Missing("no matching record".into())
        );
        let mx = |found: &[&str]| state(RecordPurpose::Spf, None, found);
        assert_eq!(mx(&["v=spf1 mx ~all"]), RecordState::Verified);
        assert!(reason(mx(&["v=spf1 ~mx ~all"])).contains("softfail"));
        match ok(&["v=spf1 a -all", "v=spf1 mx -all"]) {
            RecordState::Mismatched(list) => assert_eq!(list.len(), 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dmarc_verification_wants_exactly_one_record() {
        let d = |found: &[&str]| state(RecordPurpose::Dmarc, None, found);
        assert_eq!(d(&["v=DMARC1; p=reject"]), RecordState::Verified);
        assert_eq!(d(&["v=DMARC1"]), RecordState::Verified);
        assert!(
            reason(d(&["v=DMARC1; p=none", "v=DMARC1; p=reject"]))
                .contains("multiple DMARC records")
        );
        assert_eq!(
            d(&["v=DMARC10; p=none"]),
            RecordState::Missing("no matching record".into())
        );
    }
}
