//! The hand-off between the event loop and the threads calling `recv()`.
//!
//! # Invariants
//! - Items leave in the order they entered; an `unblock()` is an item too, so it wakes exactly
//!   one receiver (the one that takes it), after the requests queued before it.
//! - The event loop never blocks here: pushing only takes the lock and signals one waiter.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::Request;

#[derive(Debug)]
enum Item {
    Request(Request),
    Unblock,
}

/// What a receiver got.
#[derive(Debug)]
pub(crate) enum Received {
    Request(Request),
    /// `unblock()` was called, or the server is gone.
    Unblocked,
    /// The deadline passed (or, for `try_pop`, nothing was there).
    Empty,
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    items: Mutex<VecDeque<Item>>,
    ready: Condvar,
    closed: std::sync::atomic::AtomicBool,
    /// Receivers blocked in `pop` (changed only under the `items` lock), so that pushing
    /// skips the wake-up system call when every receiver is busy.
    sleepers: std::sync::atomic::AtomicUsize,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Item>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues requests parsed in one pass of the event loop, waking one receiver for each.
    /// Once the queue is closed (the `Server` is gone), requests stay in `requests` for the
    /// caller to discard.
    pub(crate) fn push_all(&self, requests: &mut Vec<Request>) {
        if requests.is_empty() {
            return;
        }
        let n = requests.len();
        let mut items = self.lock();
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        items.extend(requests.drain(..).map(Item::Request));
        let wake = n.min(self.sleepers.load(Relaxed));
        drop(items);
        for _ in 0..wake {
            self.ready.notify_one();
        }
    }

    /// Lets exactly one receiver (current or future) return without a request.
    pub(crate) fn unblock(&self) {
        self.lock().push_back(Item::Unblock);
        self.ready.notify_one();
    }

    /// Takes the next item, waiting until `deadline` (forever with `None`).
    pub(crate) fn pop(&self, deadline: Option<Instant>) -> Received {
        let mut items = self.lock();
        loop {
            match items.pop_front() {
                Some(Item::Request(r)) => return Received::Request(r),
                Some(Item::Unblock) => return Received::Unblocked,
                None => {}
            }
            let left = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Received::Empty;
                    }
                    Some(left)
                }
            };
            self.sleepers.fetch_add(1, Relaxed);
            items = match left {
                None => self.ready.wait(items).unwrap_or_else(|p| p.into_inner()),
                Some(left) => {
                    self.ready
                        .wait_timeout(items, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            self.sleepers.fetch_sub(1, Relaxed);
        }
    }

    /// Takes the next item without waiting.
    pub(crate) fn try_pop(&self) -> Received {
        match self.lock().pop_front() {
            Some(Item::Request(r)) => Received::Request(r),
            Some(Item::Unblock) => Received::Unblocked,
            None => Received::Empty,
        }
    }

    /// Closes the queue and removes every queued request (server shutdown); the caller drops
    /// them outside the lock.
    pub(crate) fn close(&self) -> Vec<Request> {
        let mut items = self.lock();
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let mut out = Vec::new();
        let drained: Vec<Item> = items.drain(..).collect();
        for item in drained {
            match item {
                Item::Request(r) => out.push(r),
                Item::Unblock => items.push_back(Item::Unblock),
            }
        }
        out
    }
}
