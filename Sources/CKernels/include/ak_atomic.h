#ifndef AK_ATOMIC_H
#define AK_ATOMIC_H

// The few atomic operations the Swift worker pool needs (Parallel.swift), as C11-style builtins
// on a plain `long`, so Swift needs neither the Synchronization module nor a newer macOS.

/// *p, with acquire ordering.
static inline long ak_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/// *p = v, with release ordering.
static inline void ak_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/// *p += v; returns the old value (acquire-release).
static inline long ak_atomic_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }

/// Stores v in *p and returns the old value (acquire-release).
static inline long ak_atomic_exchange(long *p, long v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }

/// A hint to the CPU that this thread is spinning (PAUSE on x86-64, YIELD on arm64).
static inline void ak_spin_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// Gives the rest of this thread's time slice to another runnable thread (sched_yield): what a
/// waiting thread does once spinning has gone on long enough that the thread it waits for has
/// probably been preempted (an oversubscribed machine), so that thread can run here.
void ak_thread_yield(void);

/// Marks the calling thread as running one share of a data-parallel job (`Threading.serially`
/// in Swift): while the depth is above zero, the kernels this thread calls run on it alone
/// instead of splitting across the worker pool. Nestable; every enter needs its leave.
void ak_serial_enter(void);
void ak_serial_leave(void);
/// Nonzero while the calling thread is between `ak_serial_enter` and its `ak_serial_leave`.
int ak_serial_active(void);

#endif
