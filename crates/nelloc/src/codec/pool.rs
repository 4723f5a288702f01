//! Worker pools for explicit thread counts, cached so that callers coding many small
//! images do not start threads on every call.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

/// Pools kept for explicit thread counts (most recently created last). Building a pool
/// starts its threads: callers coding many small images with `threads > 0` reuse one.
const MAX_POOLS: usize = 4;

/// The worker pool for `threads` (> 0): cached per thread count, at most [`MAX_POOLS`]
/// of them (the oldest is dropped, its threads end once its last user is done).
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, p)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(p.clone());
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("nelloc-{threads}-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::ThreadPool {
            threads,
            detail: e.to_string(),
        })?;
    if pools.len() >= MAX_POOLS {
        pools.remove(0);
    }
    pools.push((threads, p.clone()));
    Ok(p)
}

pub(crate) fn run_in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    if threads == 0 {
        return Ok(f());
    }
    Ok(pool(threads)?.install(f))
}
