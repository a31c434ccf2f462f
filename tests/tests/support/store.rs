//! What the gateway's store holds, by reading identity (device, event time, seq).

use super::*;

/// A reading's identity in the store: (device, event time ms, seq).
pub type Identity = (String, i64, Option<u64>);

/// Every reading the store in `data_dir` holds, by identity, with how many rows hold it.
pub fn stored_identities(data_dir: &Path) -> BTreeMap<Identity, u32> {
    let reader = gateway::store::Reader::open(data_dir).unwrap();
    let mut out = BTreeMap::new();
    reader
        .replay(i64::MIN, |r| {
            *out.entry((r.device, r.reading.ts_ms, r.reading.seq))
                .or_default() += 1;
        })
        .unwrap();
    out
}

/// Waits (blocking) until the store in `data_dir` holds at least `n` readings.
pub fn wait_stored(data_dir: &Path, n: usize) {
    wait_for(
        Duration::from_secs(180),
        &format!("{n} readings in the store"),
        || {
            let got = gateway::store::Reader::open(data_dir)
                .ok()?
                .reading_count()
                .ok()?;
            (got >= n as i64).then_some(())
        },
    )
}

/// Per identity, how often it is in `ids`.
pub fn multiset(ids: impl IntoIterator<Item = Identity>) -> BTreeMap<Identity, u32> {
    let mut out = BTreeMap::new();
    for id in ids {
        *out.entry(id).or_default() += 1;
    }
    out
}

/// Asserts that the store holds exactly `want`, each once, naming what differs.
pub fn assert_stored_exactly(data_dir: &Path, want: &BTreeMap<Identity, u32>, what: &str) {
    let got = stored_identities(data_dir);
    let twice: Vec<_> = got.iter().filter(|(_, &n)| n > 1).take(5).collect();
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        twice.is_empty() && missing.is_empty() && extra.is_empty() && got.len() == want.len(),
        "{what}: the store holds {} readings, {} expected; stored twice (first 5): {twice:?}; \
         missing: {missing:?}; not published: {extra:?}",
        got.values().sum::<u32>(),
        want.values().sum::<u32>(),
    );
}
