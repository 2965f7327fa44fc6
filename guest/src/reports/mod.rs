//! Bounce and complaint reports: RFC 3464 delivery status notifications,
//! RFC 5965 ARF complaints and the common non-standard bounces, turned into
//! per-recipient findings. (Being written; see the helper's task.)
