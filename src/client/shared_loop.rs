//! The shared loop: many clients on a few threads.
//!
//! Turned on once per process (`skeeter_shared_loop_set`, or the environment
//! variable `SKEETER_LOOP_THREADS`, read once), it makes `loop_start` hand the
//! client to one of a pool of threads instead of starting a thread for it.
//! Each pool thread runs one epoll over its clients' sockets and its own
//! wake-up handle (a client on the pool has none of its own: `Client::wake`
//! queues it on its pool thread's `woken` list), and a timer heap for their keepalive deadlines and their waits
//! between reconnect attempts; for one ready client it runs the same turn
//! `loop_forever` runs (`pool_service`, `pool_plan`), so callbacks, keepalive,
//! TLS, SOCKS5 and WebSockets behave as on a thread of the client's own. A
//! client stays on one pool thread from `loop_start` to `loop_stop`, so its
//! callbacks never run concurrently; a callback that blocks stalls the other
//! clients of its pool thread. The pool threads share their read buffers
//! (`input::SHARED_INPUT` is per thread) and live as long as the process.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::event_loop::{PoolPlan, Waited};
use super::Client;
use crate::error::{Error, Result};
use crate::net::epoll::{Epoll, EpollEvent, Events};
use crate::net::os_thread::OsThread;
use crate::net::poll::Readiness;
use crate::net::wakeup::Wakeup;

/// The most pool threads one may ask for.
pub const MAX_THREADS: usize = 256;
/// The environment variable that turns the shared loop on for a program
/// that does not call `skeeter_shared_loop_set`.
pub const ENV: &str = "SKEETER_LOOP_THREADS";
/// Events taken from epoll per wait.
const EVENTS_PER_WAIT: usize = 512;
/// The key of a pool thread's own wake-up handle (new clients arrived, or
/// clients were woken).
const WAKEUP_KEY: u64 = u64::MAX;

/// The process's choice, and its pool once started.
struct Setting {
    /// `None` until a call or the environment decided (0: off).
    threads: Option<usize>,
    pool: Option<&'static Pool>,
}

static SETTING: Mutex<Setting> = Mutex::new(Setting {
    threads: None,
    pool: None,
});

/// `skeeter_shared_loop_set`: `threads` pool threads (0: off) for the clients
/// whose `loop_start` comes later. `Inval` out of 0..=`MAX_THREADS`;
/// `AlreadyExists` once the pool has started (it is not resized).
pub fn set_threads(threads: i32) -> Result<()> {
    let threads = usize::try_from(threads)
        .ok()
        .filter(|&n| n <= MAX_THREADS)
        .ok_or(Error::Inval)?;
    let mut setting = SETTING.lock();
    if setting.pool.is_some() {
        return Err(Error::AlreadyExists);
    }
    setting.threads = Some(threads);
    Ok(())
}

/// The number of threads `SKEETER_LOOP_THREADS` asks for; 0 when unset or
/// not a number in range.
fn threads_from_env() -> usize {
    std::env::var(ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n <= MAX_THREADS)
        .unwrap_or(0)
}

/// The pool, started at its first use; `None` when the shared loop is off.
fn pool() -> Result<Option<&'static Pool>> {
    let mut setting = SETTING.lock();
    if let Some(pool) = setting.pool {
        return Ok(Some(pool));
    }
    let threads = *setting.threads.get_or_insert_with(threads_from_env);
    if threads == 0 {
        return Ok(None);
    }
    let pool = Pool::start(threads)?;
    setting.pool = Some(pool);
    Ok(Some(pool))
}

/// Hands `client` to the least loaded pool thread; `None` when the shared
/// loop is off (the caller starts a thread of its own).
pub fn attach(client: &Arc<Client>) -> Result<Option<Arc<Ticket>>> {
    let Some(pool) = pool()? else {
        return Ok(None);
    };
    let worker = pool.least_loaded();
    let ticket = Arc::new(Ticket::new(worker.index));
    worker.load.fetch_add(1, Ordering::AcqRel);
    worker
        .arrivals
        .lock()
        .push((Arc::clone(client), Arc::clone(&ticket)));
    worker.wakeup.signal();
    Ok(Some(ticket))
}

thread_local! {
    /// The pool thread this is (its index + 1), 0 on other threads.
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// A client's place on a pool thread, as `loop_start` keeps it: what
/// `loop_stop` waits on.
#[derive(Debug)]
pub struct Ticket {
    worker: usize,
    left: Mutex<bool>,
    gone: Condvar,
}

impl Ticket {
    fn new(worker: usize) -> Self {
        Ticket {
            worker,
            left: Mutex::new(false),
            gone: Condvar::new(),
        }
    }

    /// Whether the calling thread is the pool thread running the client, so
    /// waiting for it would wait for ourselves.
    pub fn is_current(&self) -> bool {
        CURRENT.get() == self.worker + 1
    }

    /// Waits until the client has left its pool thread.
    pub fn join(&self) {
        let mut left = self.left.lock();
        while !*left {
            self.gone.wait(&mut left);
        }
    }

    fn leave(&self) {
        *self.left.lock() = true;
        self.gone.notify_all();
    }
}

struct Pool {
    workers: Vec<&'static Worker>,
}

/// How `Client::wake` reaches a client's pool thread.
#[derive(Debug)]
pub struct Waker {
    worker: &'static Worker,
    slot: usize,
}

impl Waker {
    /// Queues the client for a turn and wakes its pool thread, if that list
    /// was empty (else the thread is woken already and takes it with the rest).
    pub fn wake(&self) {
        let mut woken = self.worker.woken.lock();
        woken.push(self.slot);
        if woken.len() == 1 {
            self.worker.wakeup.signal();
        }
    }
}

impl Pool {
    /// Starts `threads` pool threads; the pool lives as long as the process.
    fn start(threads: usize) -> Result<&'static Pool> {
        let workers = (0..threads).map(Worker::new).collect::<Result<Vec<_>>>()?;
        for &worker in &workers {
            // Dropping the handle detaches the thread: it is never joined.
            OsThread::spawn(c"skeeter-pool", move || run(worker)).map_err(|_| Error::NoMem)?;
        }
        Ok(Box::leak(Box::new(Pool { workers })))
    }

    fn least_loaded(&self) -> &'static Worker {
        self.workers
            .iter()
            .copied()
            .min_by_key(|w| w.load.load(Ordering::Acquire))
            .expect("a pool has at least one thread")
    }
}

/// What other threads share with one pool thread; it lives as long as the
/// process.
#[derive(Debug)]
struct Worker {
    index: usize,
    epoll: Epoll,
    /// Signalled when `arrivals` or `woken` has entries.
    wakeup: Wakeup,
    arrivals: Mutex<Vec<(Arc<Client>, Arc<Ticket>)>>,
    /// The slots of clients woken (output queued, a new socket, a stop).
    woken: Mutex<Vec<usize>>,
    /// Clients on this thread, or on their way.
    load: AtomicUsize,
}

impl Worker {
    fn new(index: usize) -> Result<&'static Worker> {
        let epoll = Epoll::new().map_err(|_| Error::NoMem)?;
        let wakeup = Wakeup::new().map_err(|_| Error::NoMem)?;
        epoll
            .watch(wakeup.fd(), WAKEUP_KEY, false)
            .map_err(|_| Error::NoMem)?;
        Ok(Box::leak(Box::new(Worker {
            index,
            epoll,
            wakeup,
            arrivals: Mutex::new(Vec::new()),
            woken: Mutex::new(Vec::new()),
            load: AtomicUsize::new(0),
        })))
    }
}

/// Where a client is in `loop_forever`'s cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connected or connecting: served when its socket or handle is ready.
    Running,
    /// Between reconnect attempts: the next one is due at `until`.
    Waiting { until: Instant },
}

/// A client on this pool thread.
struct Member {
    client: Arc<Client>,
    ticket: Arc<Ticket>,
    /// The socket as watched: descriptor, connection serial, write interest.
    socket: Option<(RawFd, u32, bool)>,
    phase: Phase,
    /// Reconnect attempts since the last good turn.
    attempt: u32,
    /// The earliest entry this member has in the timer heap.
    timer: Option<Instant>,
}

/// Under the client's lock (see `Client::pool_plan`): `socket`, the member's
/// watch, made what `plan` asks for.
fn watch(
    epoll: &Epoll,
    slot: usize,
    socket: &mut Option<(RawFd, u32, bool)>,
    plan: &PoolPlan,
) -> Result<()> {
    let wanted = (plan.fd, plan.serial, plan.want_write);
    let key = socket_key(slot);
    let watched = match *socket {
        Some(now) if now == wanted => return Ok(()),
        // The same connection: only the write interest changes.
        Some((fd, serial, _)) if fd == plan.fd && serial == plan.serial => {
            epoll.change(fd, key, plan.want_write)
        }
        // A new connection. The old one is out of the client, its socket
        // closed or about to be, which ends its watch; it is never forgotten
        // by number, which may be another socket's by now.
        _ => epoll.watch(plan.fd, key, plan.want_write),
    };
    watched.map_err(|_| Error::NoMem)?;
    *socket = Some(wanted);
    Ok(())
}

/// A member's socket key in epoll.
fn socket_key(slot: usize) -> u64 {
    slot as u64
}

/// Whether `client` should leave the loop now (`loop_stop`, and nothing left
/// to finish first).
fn stop_due(client: &Client) -> bool {
    client.stop_requested() && !client.draining()
}

/// A pool thread's own state.
struct PoolThread {
    worker: &'static Worker,
    members: Vec<Option<Member>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Members to serve next turn without waiting (decrypted bytes wait, or
    /// a connection appeared during a reconnect wait).
    again: Vec<usize>,
}

/// A pool thread's body: never returns.
fn run(worker: &'static Worker) {
    CURRENT.set(worker.index + 1);
    let mut thread = PoolThread {
        worker,
        members: Vec::new(),
        free: Vec::new(),
        timers: BinaryHeap::new(),
        again: Vec::new(),
    };
    let mut events = Events::with_capacity(EVENTS_PER_WAIT);
    let mut again = Vec::new();
    loop {
        thread.turn(&mut events, &mut again);
    }
}

impl PoolThread {
    /// One wait and what it found. The arrival and woken lists are taken
    /// only when the wake-up handle fires: every entry signals it (see
    /// `attach`, `Waker::wake`), so looking at them each turn would only
    /// lock two mutexes for nothing.
    fn turn(&mut self, events: &mut Events, again: &mut Vec<usize>) {
        // Swapped with a kept vector, so the list's memory is reused.
        std::mem::swap(&mut self.again, again);
        for slot in again.drain(..) {
            let ready = Readiness {
                readable: true,
                ..Readiness::default()
            };
            self.serve(slot, ready);
        }
        let timeout = if self.again.is_empty() {
            self.timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
        } else {
            Some(Duration::ZERO)
        };
        if self.worker.epoll.wait(events, timeout).is_err() {
            // Not expected with a valid epoll; never spin on it.
            std::thread::sleep(Duration::from_millis(10));
            return;
        }
        if events.is_empty() && timeout.is_none_or(|t| !t.is_zero()) {
            // A whole wait without traffic: the burst, if any, is over.
            super::unlocked_write::release_spare();
        }
        for event in events.iter() {
            self.on_event(event);
        }
        self.fire_timers();
    }

    fn on_event(&mut self, event: EpollEvent) {
        if event.key == WAKEUP_KEY {
            // Drained before the lists are taken: an entry added later signals again.
            self.worker.wakeup.drain();
            self.take_arrivals();
            self.take_woken();
            return;
        }
        let slot = event.key as usize;
        let Some(member) = self.members.get(slot).and_then(Option::as_ref) else {
            return;
        };
        if member.phase == Phase::Running {
            let ready = Readiness {
                readable: event.readable,
                writable: event.writable,
                broken: event.broken,
                woken: false,
            };
            self.serve(slot, ready);
        }
    }

    /// Clients woken since the last look: each gets a turn (a slot whose
    /// client left meanwhile is skipped, one reused gets a harmless extra turn).
    fn take_woken(&mut self) {
        let woken = std::mem::take(&mut *self.worker.woken.lock());
        for slot in woken {
            if self.members.get(slot).is_some_and(Option::is_some) {
                self.woken(slot);
            }
        }
    }

    /// New clients: told how to wake this thread, then planned as
    /// `loop_forever`'s first turn.
    fn take_arrivals(&mut self) {
        let arrivals = std::mem::take(&mut *self.worker.arrivals.lock());
        for (client, ticket) in arrivals {
            let slot = self.free.pop().unwrap_or_else(|| {
                self.members.push(None);
                self.members.len() - 1
            });
            client.set_pool_waker(Some(Waker {
                worker: self.worker,
                slot,
            }));
            self.members[slot] = Some(Member {
                client,
                ticket,
                socket: None,
                phase: Phase::Running,
                attempt: 0,
                timer: None,
            });
            if stop_due(&self.member(slot).client) {
                self.leave(slot, true);
            } else {
                self.replan(slot);
            }
        }
    }

    fn member(&mut self, slot: usize) -> &mut Member {
        self.members[slot]
            .as_mut()
            .expect("a member served is present")
    }

    /// The client's wake-up handle was signalled: output queued, a new
    /// socket, a stop request.
    fn woken(&mut self, slot: usize) {
        let member = self.member(slot);
        match member.phase {
            Phase::Running => {
                let ready = Readiness {
                    woken: true,
                    ..Readiness::default()
                };
                self.serve(slot, ready);
            }
            Phase::Waiting { .. } => self.check_wait(slot),
        }
    }

    /// One turn for a running member, as `loop_forever` runs one.
    fn serve(&mut self, slot: usize, ready: Readiness) {
        let Some(member) = self.members.get(slot).and_then(Option::as_ref) else {
            return;
        };
        if member.phase != Phase::Running {
            return;
        }
        let client = Arc::clone(&member.client);
        if stop_due(&client) {
            return self.leave(slot, true);
        }
        match client.pool_service(ready) {
            Ok(()) => self.member(slot).attempt = 0,
            Err(error) => return self.failed(slot, error),
        }
        if stop_due(&client) {
            return self.leave(slot, true);
        }
        self.replan(slot);
    }

    /// After a turn: the socket watched as the client now wants it, and its
    /// next deadline set.
    fn replan(&mut self, slot: usize) {
        let epoll = &self.worker.epoll;
        let member = self.members[slot]
            .as_mut()
            .expect("a member served is present");
        let client = Arc::clone(&member.client);
        let socket = &mut member.socket;
        match client.pool_plan(|plan| watch(epoll, slot, socket, plan)) {
            Err(error) => self.failed(slot, error),
            Ok(plan) => {
                self.schedule(slot, plan.deadline);
                if plan.buffered {
                    self.again.push(slot);
                }
            }
        }
    }

    /// Stops watching the member's socket, if that connection is still the
    /// client's (see `Client::while_connection`); never by a number alone.
    fn forget_socket(&mut self, slot: usize) {
        let epoll = &self.worker.epoll;
        let member = self.members[slot]
            .as_mut()
            .expect("a member served is present");
        if let Some((fd, serial, _)) = member.socket.take() {
            member.client.while_connection(serial, || epoll.forget(fd));
        }
    }

    /// The loop failed with `error`: leave, or wait to reconnect, as
    /// `loop_forever` decides.
    fn failed(&mut self, slot: usize, error: Error) {
        self.forget_socket(slot);
        match self.member(slot).client.ends_loop(error) {
            Some(_) => self.leave(slot, false),
            None => self.wait_to_reconnect(slot),
        }
    }

    /// Starts the wait before the next reconnect attempt, as a timer.
    fn wait_to_reconnect(&mut self, slot: usize) {
        let member = self.member(slot);
        let delay = member.client.reconnect_wait(member.attempt);
        member.attempt = member.attempt.saturating_add(1);
        let until = Instant::now() + delay;
        member.phase = Phase::Waiting { until };
        self.schedule(slot, Some(until));
        self.check_wait(slot);
    }

    /// During a reconnect wait: leave when asked to stop; run again when
    /// another call made a connection.
    fn check_wait(&mut self, slot: usize) {
        match self.member(slot).client.wait_cut_short() {
            Some(Waited::Stop) => self.leave(slot, true),
            Some(Waited::Connected) => {
                self.member(slot).phase = Phase::Running;
                // Next turn, so that a connection that fails at once does
                // not recurse here.
                self.again.push(slot);
            }
            Some(Waited::Elapsed) | None => {}
        }
    }

    /// Asks for a turn at `at`, unless one is due earlier already.
    fn schedule(&mut self, slot: usize, at: Option<Instant>) {
        let Some(at) = at else {
            return;
        };
        let member = self.member(slot);
        if member.timer.is_some_and(|t| t <= at) {
            return;
        }
        member.timer = Some(at);
        self.timers.push(Reverse((at, slot)));
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, slot))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let current = self
                .members
                .get_mut(slot)
                .and_then(Option::as_mut)
                .filter(|m| m.timer == Some(at));
            // Stale: the member left, or asked for an earlier turn since.
            let Some(member) = current else {
                continue;
            };
            member.timer = None;
            match member.phase {
                Phase::Running => self.deadline_reached(slot, now),
                Phase::Waiting { until } if until <= now => self.attempt(slot),
                Phase::Waiting { until } => self.schedule(slot, Some(until)),
            }
        }
    }

    /// A running member's timer fired: a turn if its deadline has come, else
    /// the timer set again. Timers are only ever moved earlier (`schedule`),
    /// so one set when a keepalive interval began fires while traffic has
    /// moved the deadline on; a turn for each would make every client of a
    /// burst of connects take a turn at once, an interval later.
    fn deadline_reached(&mut self, slot: usize, now: Instant) {
        match self.member(slot).client.loop_deadline() {
            Some(at) if at > now => self.schedule(slot, Some(at)),
            _ => self.serve(slot, Readiness::default()),
        }
    }

    /// A reconnect wait has passed: the next attempt (non-blocking, as in
    /// `loop_forever`; the loop completes the TCP handshake).
    fn attempt(&mut self, slot: usize) {
        let client = Arc::clone(&self.member(slot).client);
        match client.wait_cut_short() {
            Some(Waited::Stop) => return self.leave(slot, true),
            Some(Waited::Connected) => {}
            Some(Waited::Elapsed) | None => {
                if client.reconnect(false).is_err() {
                    return self.wait_to_reconnect(slot);
                }
            }
        }
        self.member(slot).phase = Phase::Running;
        self.replan(slot);
    }

    /// The client leaves the pool: its loop ended (`finish`: after a stop
    /// request, writing what is queued first, as `loop_forever` does).
    fn leave(&mut self, slot: usize, finish: bool) {
        if finish {
            self.member(slot).client.finish_on_stop();
        }
        self.forget_socket(slot);
        let Some(member) = self.members[slot].take() else {
            return;
        };
        self.free.push(slot);
        member.client.set_pool_waker(None);
        member.client.loop_ended();
        self.worker.load.fetch_sub(1, Ordering::AcqRel);
        member.ticket.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_key_is_never_the_pool_threads_own() {
        assert_eq!(socket_key(5), 5);
        assert_ne!(socket_key(1 << 40), WAKEUP_KEY);
    }

    #[test]
    fn a_thread_count_out_of_range_is_refused() {
        assert_eq!(set_threads(-1), Err(Error::Inval));
        assert_eq!(set_threads(MAX_THREADS as i32 + 1), Err(Error::Inval));
    }

    #[test]
    fn a_wake_queues_the_slot_and_signals_the_pool_thread_once_per_batch() {
        let worker = Worker::new(0).unwrap();
        let (first, second) = (Waker { worker, slot: 3 }, Waker { worker, slot: 8 });
        first.wake();
        second.wake();
        first.wake();
        assert_eq!(*worker.woken.lock(), [3, 8, 3]);
        // One signal for the batch: drained once, then nothing.
        assert!(worker.wakeup.drain());
        assert!(!worker.wakeup.drain());
    }

    #[test]
    fn a_ticket_is_joined_once_its_client_has_left() {
        let ticket = Arc::new(Ticket::new(0));
        assert!(!ticket.is_current());
        let leaver = {
            let ticket = Arc::clone(&ticket);
            std::thread::spawn(move || ticket.leave())
        };
        ticket.join();
        leaver.join().unwrap();
    }
}
