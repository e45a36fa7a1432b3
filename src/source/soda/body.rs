//! Response bodies read into buffers that are reused: a backfill reads ~230 page bodies of a few MB each, and a
//! fresh buffer per page is fresh memory the kernel must map and zero page by page (page faults under the body's
//! gathering were ~4% of a cached-server backfill's CPU in a profile). A buffer goes back to the pool when its body is dropped, so the pool
//! never holds more buffers than bodies were alive at once (the months in flight bound that), and keeps at
//! most [`MAX_POOLED`] of them.

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

/// More buffers than months in flight (16 at most, see `source.months_in_flight`) are never alive at once; the
/// cap only keeps a burst of small bodies from pinning buffers for the rest of the run.
const MAX_POOLED: usize = 16;

/// A buffer that grew beyond this (one unusually large body) is dropped rather than kept.
const MAX_POOLED_CAPACITY: usize = 64 << 20;

/// Buffers of bodies that were dropped, ready for the next response.
#[derive(Default)]
pub(super) struct BodyPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BodyPool {
    /// An empty body whose buffer can hold at least `size_hint` bytes (the response's `Content-Length`, when
    /// it has one) without growing.
    pub(super) fn body(self: &Arc<Self>, size_hint: usize) -> Body {
        let reused = self.free.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut buf = reused.unwrap_or_default();
        buf.reserve(size_hint);
        Body { buf, pool: Arc::clone(self) }
    }

    fn put(&self, mut buf: Vec<u8>) {
        if buf.capacity() > MAX_POOLED_CAPACITY {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < MAX_POOLED {
            free.push(buf);
        }
    }
}

/// One response body; its buffer returns to the pool when it is dropped.
pub(super) struct Body {
    buf: Vec<u8>,
    pool: Arc<BodyPool>,
}

impl Body {
    pub(super) fn extend(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_body_lends_its_buffer_to_the_next_one_empty() {
        let pool = Arc::new(BodyPool::default());
        let mut first = pool.body(1000);
        first.extend(b"[{\"a\":\"1\"}]");
        let (ptr, capacity) = (first.as_ptr(), first.buf.capacity());
        assert_eq!(&*first, b"[{\"a\":\"1\"}]");
        drop(first);
        let second = pool.body(10);
        assert_eq!((second.as_ptr(), second.buf.capacity()), (ptr, capacity), "the same buffer, not a new one");
        assert!(second.is_empty(), "and none of the previous body's bytes");
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_cap_nor_oversized_buffers() {
        let pool = Arc::new(BodyPool::default());
        let bodies: Vec<Body> = (0..MAX_POOLED + 3).map(|_| pool.body(16)).collect();
        drop(bodies);
        assert_eq!(pool.free.lock().map(|f| f.len()).unwrap_or(0), MAX_POOLED);
        let pool = Arc::new(BodyPool::default());
        drop(pool.body(MAX_POOLED_CAPACITY + 1));
        assert_eq!(pool.free.lock().map(|f| f.len()).unwrap_or(1), 0);
    }
}
