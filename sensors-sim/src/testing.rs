//! Test fixtures.

use district::District;

/// The small test district (`fixtures/small.toml`): four zones (two line-counted, two
/// area-counted, one of them without doors), a building with meters, detectors and an indoor
/// monitor, a bay-sensor lot and an entrance-counted lot.
pub(crate) fn small() -> District {
    district::load(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small.toml"))
        .expect("fixtures/small.toml loads")
}
