//! A small work queue over scoped threads, with a progress bar, for decoding and rendering images.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::Result;

/// Resolves a requested thread count: 0 means one per available core.
pub fn resolve_threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Creates a progress bar for `len` items. It draws on stderr and stays hidden when stderr is not
/// a terminal.
pub fn progress_bar(len: usize, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
        .expect("the progress bar template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar
}

/// Runs `work` on every item on `threads` scoped threads, advancing `bar` once per item.
///
/// Items are handed out one at a time, so slow items do not hold up a whole chunk. The first error
/// stops the other threads after their current item and is returned.
pub fn for_each_parallel<I, F>(items: I, threads: usize, bar: &ProgressBar, work: F) -> Result<()>
where
    I: Iterator + Send,
    I::Item: Send,
    F: Fn(I::Item) -> Result<()> + Sync,
{
    let queue = Mutex::new(items);
    let stop = AtomicBool::new(false);
    let first_error = Mutex::new(None);

    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    // A worker only panics inside `work`, and that panic is re-raised by the scope,
                    // so a poisoned lock is never read afterwards.
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some(item) = next else { break };
                    if let Err(error) = work(item) {
                        stop.store(true, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(error);
                        break;
                    }
                    bar.inc(1);
                }
            });
        }
    });

    match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn visits_every_item_once() {
        let mut slots = vec![0u32; 100];
        let bar = ProgressBar::hidden();
        for_each_parallel(slots.iter_mut().enumerate(), 3, &bar, |(index, slot)| {
            *slot += index as u32 + 1;
            Ok(())
        })
        .unwrap();
        let expected: Vec<u32> = (1..=100).collect();
        assert_eq!(slots, expected);
        assert_eq!(bar.position(), 100);
    }

    #[test]
    fn returns_first_error_and_stops() {
        let visited = AtomicUsize::new(0);
        let bar = ProgressBar::hidden();
        let result = for_each_parallel(0..1000, 2, &bar, |i| {
            visited.fetch_add(1, Ordering::Relaxed);
            if i == 5 {
                return Err(Error::Data(format!("item {i} failed")));
            }
            Ok(())
        });
        assert_eq!(result.unwrap_err().to_string(), "item 5 failed");
        assert!(
            visited.load(Ordering::Relaxed) < 1000,
            "workers must stop after an error"
        );
    }
}
