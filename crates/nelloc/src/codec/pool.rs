//! Worker pools for explicit thread counts, cached so that callers coding many small
//! images do not start threads on every call.
//!
//! A pool is lent to one call at a time: a call takes an idle pool of its size out of the
//! cache (or builds one) and puts it back when done, so concurrent calls from different
//! threads (several Python or Dask threads with `threads=1`) each run on their own pool,
//! in parallel, instead of queueing for one shared pool's workers.

use std::cell::Cell;
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Idle pools kept for reuse, at most (the oldest idle one is dropped beyond it; its
/// threads end). The pools in use are as many as the concurrent calls.
const MAX_IDLE_POOLS: usize = 16;

/// Idle pools, most recently returned last.
static IDLE: Mutex<Vec<(usize, rayon::ThreadPool)>> = Mutex::new(Vec::new());

thread_local! {
    /// The size of the nelloc pool this thread is a worker of (0: none).
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

fn build(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("nelloc-{threads}-{i}"))
        .start_handler(move |_| WORKER_OF.with(|w| w.set(threads)))
        .build()
        .map_err(|e| Error::ThreadPool {
            threads,
            detail: e.to_string(),
        })
}

/// An idle pool of `threads` workers from the cache, or a new one.
fn take(threads: usize) -> Result<rayon::ThreadPool> {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = idle.iter().rposition(|(n, _)| *n == threads) {
        return Ok(idle.remove(i).1);
    }
    drop(idle);
    build(threads)
}

/// Puts a pool back for the next call (dropping the oldest idle one beyond the bound).
fn give_back(threads: usize, pool: rayon::ThreadPool) {
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    idle.push((threads, pool));
    if idle.len() > MAX_IDLE_POOLS {
        let oldest = idle.remove(0);
        drop(idle);
        drop(oldest);
    }
}

/// Runs `f` on a pool of `threads` workers (0: the current pool, rayon's global one
/// outside any pool). Inside a nelloc pool of that size (a nested call) `f` runs where it
/// is; otherwise the pool is this call's alone until it returns.
pub(crate) fn run_in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    if threads == 0 || WORKER_OF.with(Cell::get) == threads {
        return Ok(f());
    }
    let pool = take(threads)?;
    // A panic in `f` propagates out of `install` and drops the pool: nothing half-used
    // goes back to the cache.
    let out = pool.install(f);
    give_back(threads, pool);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A barrier with a deadline: true when `n` callers arrived within it.
    fn meet(arrived: &AtomicUsize, n: usize) -> bool {
        arrived.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(20);
        while arrived.load(Ordering::SeqCst) < n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn concurrent_callers_with_the_same_thread_count_run_in_parallel() {
        // Both closures must be running at once to meet: with one shared 1-thread pool
        // the second waited for the first, which gave up at the deadline.
        let arrived = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let arrived = arrived.clone();
                std::thread::spawn(move || {
                    run_in_pool(1, || (rayon::current_num_threads(), meet(&arrived, 2))).unwrap()
                })
            })
            .collect();
        for c in callers {
            assert_eq!(c.join().unwrap(), (1, true));
        }
    }

    #[test]
    fn nested_calls_stay_in_their_pool_and_pools_are_reused() {
        let (outer, inner) = run_in_pool(3, || {
            let outer = rayon::current_thread_index();
            // A nested call of the same size runs here, on this pool's worker.
            let inner = run_in_pool(3, || {
                (rayon::current_num_threads(), rayon::current_thread_index())
            })
            .unwrap();
            (outer, inner)
        })
        .unwrap();
        assert!(outer.is_some());
        assert_eq!(inner, (3, outer));
        // Sequential calls reuse the idle pool rather than starting threads each time.
        let name = |t: usize| {
            run_in_pool(t, || std::thread::current().name().map(str::to_string))
                .unwrap()
                .unwrap()
        };
        assert!(name(5).starts_with("nelloc-5-"));
        let idle = |t: usize| IDLE.lock().unwrap().iter().filter(|(n, _)| *n == t).count();
        let before = idle(5);
        name(5);
        assert_eq!(idle(5), before);
    }
}
