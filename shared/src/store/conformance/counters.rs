//! The `Counters` suite: fixed-window counts up to a limit, `retry_after` to the window's end,
//! independent names and windows, and no overshoot under concurrent hits. Its windows are
//! computed here, not with `store::window`, so that the suite checks that arithmetic too.

use super::fixtures::{NOW, join_all_ok};
use crate::crypto::random_id;
use crate::store::{CounterHit, Counters};

/// Runs every check of this suite against `store`.
pub async fn run_counters<S: Counters>(store: &S) {
    hit_counter(store).await;
    hit_counter_concurrent(store).await;
    read_counter(store).await;
}

/// A fresh counter name.
fn counter_name() -> String {
    format!("check-{}", random_id(16))
}

/// The fixed window of `window` seconds containing `now`: (start, end).
fn window_of(now: u64, window: u64) -> (u64, u64) {
    let start = now - now % window;
    (start, start + window)
}

/// `hit_counter`: Counted(1), Counted(2) … up to `limit`, then `Limited` with `retry_after`
/// the seconds left in the window (at least 1); a refused hit is not counted; the next window
/// starts again at Counted(1); names are independent; a limit of 0 refuses every hit.
pub async fn hit_counter<S: Counters>(store: &S) {
    let (name, window, limit) = (counter_name(), 600, 3);
    let (start, end) = window_of(NOW + 123, window);
    let now = start + 123;
    let hit = |name: String, limit: u32, now: u64| async move {
        store.hit_counter(&name, limit, window, now).await.unwrap()
    };

    for n in 1..=limit {
        assert_eq!(hit(name.clone(), limit, now).await, CounterHit::Counted(n));
    }
    assert_eq!(
        hit(name.clone(), limit, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "the window is full: it ends in end - now seconds"
    );
    assert_eq!(
        hit(name.clone(), limit, end - 1).await,
        CounterHit::Limited { retry_after: 1 },
        "in the window's last second, retry after 1"
    );
    assert_eq!(
        hit(name.clone(), limit + 2, start).await,
        CounterHit::Counted(limit + 1),
        "refused hits were not counted (a larger limit counts on from the limit)"
    );

    // The next window starts again, at its first second and at its last.
    assert_eq!(hit(name.clone(), limit, end).await, CounterHit::Counted(1));
    assert_eq!(
        hit(name.clone(), limit, end + window - 1).await,
        CounterHit::Counted(2)
    );

    // Another name is another counter.
    let other = counter_name();
    assert_eq!(hit(other.clone(), limit, now).await, CounterHit::Counted(1));
    assert_eq!(
        hit(name.clone(), limit, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "the other name's hit did not touch this one"
    );

    // A limit of 0: the window already holds 0 hits, so every hit is refused.
    let zero = counter_name();
    assert_eq!(
        hit(zero.clone(), 0, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "limit 0 refuses the first hit"
    );
    assert_eq!(
        store.read_counter(&zero, window, now).await.unwrap(),
        0,
        "and counts nothing"
    );
}

/// Eight simultaneous hits with limit 3: exactly 3 Counted (1, 2, 3) and 5 Limited.
pub async fn hit_counter_concurrent<S: Counters>(store: &S) {
    let (name, window) = (counter_name(), 3600);
    let (_, end) = window_of(NOW, window);
    let hits: Vec<CounterHit> = join_all_ok(
        (0..8)
            .map(|_| store.hit_counter(&name, 3, window, NOW))
            .collect(),
    )
    .await;
    let mut counted: Vec<u32> = hits
        .iter()
        .filter_map(|h| match h {
            CounterHit::Counted(n) => Some(*n),
            CounterHit::Limited { .. } => None,
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(counted, vec![1, 2, 3], "exactly 3 counted: {hits:?}");
    let limited = hits
        .iter()
        .filter(|h| {
            **h == CounterHit::Limited {
                retry_after: end - NOW,
            }
        })
        .count();
    assert_eq!(limited, 5, "the other 5 are limited: {hits:?}");
    assert_eq!(store.read_counter(&name, window, NOW).await.unwrap(), 3);
}

/// `read_counter`: 0 for an unknown name; the hits counted in the window containing `now`
/// (read anywhere in that window, refused hits not included); 0 in the next window.
pub async fn read_counter<S: Counters>(store: &S) {
    let (name, window) = (counter_name(), 60);
    let (start, end) = window_of(NOW + 30, window);
    let read = |now: u64| {
        let name = name.clone();
        async move { store.read_counter(&name, window, now).await.unwrap() }
    };
    assert_eq!(read(NOW).await, 0, "an unknown name reads 0");

    for expected in 1..=2 {
        store
            .hit_counter(&name, 5, window, start + 30)
            .await
            .unwrap();
        assert_eq!(read(start + 30).await, expected);
    }
    assert_eq!(read(start).await, 2, "the window's first second");
    assert_eq!(read(end - 1).await, 2, "the window's last second");
    assert_eq!(read(end).await, 0, "the next window");
    assert_eq!(read(start - 1).await, 0, "the window before");

    for _ in 0..4 {
        store
            .hit_counter(&name, 3, window, start + 31)
            .await
            .unwrap();
    }
    assert_eq!(read(start + 31).await, 3, "refused hits are not counted");

    store.hit_counter(&name, 3, window, end).await.unwrap();
    assert_eq!(read(end).await, 1, "the next window counts on its own");
    assert_eq!(read(start).await, 3, "and leaves this one alone");
    assert_eq!(
        store
            .read_counter(&counter_name(), window, start)
            .await
            .unwrap(),
        0
    );
}
