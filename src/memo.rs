//! Memos shared by the threads that work out one answer (`check`'s and `plan`'s two
//! threads over one model): each behind a lock, worked out outside it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rustc_hash::FxHashMap;

/// The lock of a memo, or of anything whose holders change it only by whole values: a panic
/// elsewhere cannot leave it half-written, so a poisoned one is still good.
pub(crate) fn lock<T>(memo: &Mutex<T>) -> MutexGuard<'_, T> {
    memo.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What `memo` keeps for `key` in the map `map` picks in it, or what `work` works out for it,
/// then kept. `work` runs without the lock, which the other thread may be waiting on: both
/// may then work out the same value, equal whichever is kept, and both get the one kept.
pub(crate) fn kept<M, K: std::hash::Hash + Eq, V: Clone>(
    memo: &Mutex<M>,
    map: impl Fn(&mut M) -> &mut FxHashMap<K, V>,
    key: K,
    work: impl FnOnce(&K) -> V,
) -> V {
    if let Some(value) = map(&mut lock(memo)).get(&key) {
        return value.clone();
    }
    let value = work(&key);
    map(&mut lock(memo)).entry(key).or_insert(value).clone()
}
