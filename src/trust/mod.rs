//! The EU trust infrastructure as signgate sees it.
//!
//! Owns: the ETSI TS 119 612 model and parser (`tsl`), XML canonicalization and XML-DSig
//! verification (`c14n`, `xmldsig`; the one XML-DSig engine of the crate, re-exported for
//! XAdES and SAML later), and — as they land — LOTL bootstrap from the Official Journal
//! anchors, fetching, the on-disk store and the queryable registry.
//! Must not: validate documents (that is `validation`, which asks this module).

pub mod c14n;
pub mod tsl;
pub mod xmldsig;
