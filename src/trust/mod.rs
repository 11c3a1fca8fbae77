//! The EU trust infrastructure as signgate sees it.
//!
//! Owns: the ETSI TS 119 612 model and parser (`tsl`), XML canonicalization, XML-DSig
//! verification and signing (`c14n`, `xmldsig`, `xmlsign`; the one XML-DSig engine of the
//! crate, used by XAdES and SAML), LOTL bootstrap from the Official Journal anchors (`anchors`,
//! `bootstrap`), loading a directory of lists with per-list statuses (`load`, `status`),
//! the on-disk store (`store`), downloading (`fetch`) and the online refresh (`refresh`) and the queryable registry (`registry`).
//! Must not: validate documents (that is `validation`, which asks this module).

pub mod anchors;
pub mod bootstrap;
pub mod c14n;
pub mod cert;
pub mod fetch;
pub mod load;
pub mod refresh;
pub mod registry;
pub mod status;
pub mod store;
pub mod tsl;
pub mod xmldsig;
pub mod xmlsign;
