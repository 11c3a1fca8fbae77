//! Integration tests of LOTL bootstrap, list loading, registry and store on the shared
//! real test data (see tests/data/MANIFEST.md). Validation times are injected.

mod bootstrap;
mod common;
mod load;
mod registry;
mod store;
mod synthetic;
