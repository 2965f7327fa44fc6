//! `setups.verify` with arbitrary DNS answers, on a verified setup: no
//! panic; it stays verified only when every required record was seen as
//! published or its lookup failed transiently (timeout, server failure),
//! which leaves the status as it was; a mismatched required record fails it.

#![no_main]

#[path = "common.rs"]
mod common;

use arbitrary::Arbitrary;
use guest::setups::{self, DnsAnswer, DnsResult, MxAnswer, RecordState, RecordType, SetupStatus};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Result_ {
    Txt(Vec<Vec<String>>),
    Mx(Vec<(u16, String)>),
    NoSuchName,
    NoRecords,
    Timeout,
    ServerFailure(String),
}

#[derive(Debug, Arbitrary)]
struct Answer {
    /// Which of the setup's names, or `other`.
    name: u8,
    other: String,
    mx: bool,
    result: Result_,
}

fuzz_target!(|answers: Vec<Answer>| {
    let clinic = common::clinic();
    let mut store = clinic.store.clone();
    let names: Vec<String> = clinic
        .setup
        .records
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let answers: Vec<DnsAnswer> = answers
        .into_iter()
        .take(16)
        .map(|a| DnsAnswer {
            name: names.get(usize::from(a.name)).cloned().unwrap_or(a.other),
            kind: if a.mx {
                RecordType::Mx
            } else {
                RecordType::Txt
            },
            result: match a.result {
                Result_::Txt(t) => DnsResult::Txt(t),
                Result_::Mx(m) => DnsResult::Mx(
                    m.into_iter()
                        .map(|(preference, exchange)| MxAnswer {
                            preference,
                            exchange,
                        })
                        .collect(),
                ),
                Result_::NoSuchName => DnsResult::NoSuchName,
                Result_::NoRecords => DnsResult::NoRecords,
                Result_::Timeout => DnsResult::Timeout,
                Result_::ServerFailure(m) => DnsResult::ServerFailure(m),
            },
        })
        .collect();
    let mut env = guest::env::FixedEnv::new(1_772_442_000, 1);
    let Ok(v) = setups::verify(&mut store, &mut env, &clinic.setup.id, &answers) else {
        return;
    };
    let transient = |c: &setups::RecordCheck| matches!(&c.state, RecordState::Missing(m) if m.starts_with("dns "));
    let required = v.checks.iter().filter(|c| c.record.required);
    if v.setup.status == SetupStatus::Verified {
        for c in required.clone() {
            assert!(
                c.state == RecordState::Verified || transient(c),
                "verified with {:?} {:?}",
                c.record.purpose,
                c.state
            );
        }
    }
    if required
        .clone()
        .any(|c| matches!(c.state, RecordState::Mismatched(_)))
    {
        assert_eq!(
            v.setup.status,
            SetupStatus::Failed,
            "a mismatched record did not fail it"
        );
    }
});
