//! The network loop: `loop`, its parts (`loop_read`, `loop_write`, `loop_misc`)
//! for programs that wait on the socket themselves, and `loop_forever`, which
//! reconnects after a lost connection.
//!
//! One turn of the loop: under the lock, queued packets are encoded and the
//! socket, the write interest and the keepalive deadline noted; without the lock,
//! `poll` waits on the socket and the wake-up handle (so another thread's
//! publish or stop request ends the wait), after looking at them without
//! sleeping for a moment when the broker has been answering in quick batches,
//! or after letting acknowledgements gather for a moment when many messages
//! are in flight (`pace`); under the lock again, everything
//! readable is read and handled, keepalive checked and everything queued written;
//! then, with no lock, the callbacks run. A turn that may not wait (timeout 0)
//! skips `poll` and reads at once.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::backoff;
use super::connect_timeout;
use super::contain::{contain, contain_result};
use super::dispatch::{take_queued_by_callback, Work};
use super::pace::{GATHER, SPIN};
use super::Client;
use crate::error::{Error, Result};
use crate::net::poll::{self, Interest, Readiness};
use crate::net::wakeup::Wakeup;
use crate::net::NetError;

/// `mosquitto_loop`'s wait when given a negative timeout, as in libmosquitto.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Why a service pass runs, which says what it may do besides keepalive and
/// writing.
#[derive(Debug, Clone, Copy)]
enum Pass {
    /// `loop_read`: read what the socket has.
    Read,
    /// `loop_write`: a connect in progress may have ended.
    Write,
    /// `loop_misc`, or writing what callbacks queued: keepalive and writing only.
    Misc,
    /// After a wait: what was ready, and whether the wait looked at the socket
    /// before sleeping and found something by then (see `pace`).
    Waited {
        ready: Readiness,
        spun: Option<bool>,
    },
    /// No wait at all (timeout 0): read whatever is there, and look whether a
    /// connect in progress has ended.
    Unwaited,
}

impl Pass {
    fn reads(self) -> bool {
        match self {
            Pass::Read | Pass::Unwaited => true,
            Pass::Waited { ready, .. } => ready.readable || ready.broken,
            Pass::Write | Pass::Misc => false,
        }
    }

    /// Whether a connect in progress may have ended (the socket became
    /// writable, or failed).
    fn connect_ready(self) -> bool {
        match self {
            Pass::Write => true,
            Pass::Waited { ready, .. } => ready.writable || ready.broken,
            Pass::Read | Pass::Misc | Pass::Unwaited => false,
        }
    }
}

/// How a loop turn waits, decided under the lock (see `pace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitKind {
    /// Decrypted bytes already wait: look at the socket without sleeping.
    Look,
    /// Let acknowledgements gather first (only the wake-up handle ends that
    /// part), then poll.
    Gather,
    /// Look without sleeping for a moment, then poll.
    Spin,
    /// Poll the socket and the wake-up handle.
    Poll,
}

/// One loop turn's plan: what to wait on, how, and until when.
#[derive(Debug, Clone, Copy)]
struct Plan {
    fd: i32,
    want_write: bool,
    /// When keepalive wants the loop.
    deadline: Option<Instant>,
    kind: WaitKind,
}

/// What the shared loop waits on for one client (see `shared_loop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PoolPlan {
    pub fd: i32,
    /// The connection's serial: a new connection may reuse the old number.
    pub serial: u32,
    pub want_write: bool,
    /// When keepalive (or the connect timeout) wants the loop.
    pub deadline: Option<Instant>,
    /// Decrypted bytes wait already: serve again without waiting.
    pub buffered: bool,
}

/// The plan for `conn` on the shared loop.
fn pool_plan_of(conn: &mut super::Connection, deadline: Option<Instant>) -> PoolPlan {
    PoolPlan {
        fd: conn.fd(),
        serial: conn.serial(),
        want_write: conn.wants_write(),
        deadline,
        buffered: conn.has_buffered_input(),
    }
}

/// How a wait between reconnect attempts ended.
pub(super) enum Waited {
    /// Stop: `loop_stop` or `mosquitto_disconnect` was called.
    Stop,
    /// Another call made a connection meanwhile.
    Connected,
    /// The delay passed.
    Elapsed,
}

/// Errors after which `loop_forever` gives up instead of reconnecting, as
/// libmosquitto does.
fn is_fatal(error: Error) -> bool {
    matches!(
        error,
        Error::NoMem
            | Error::Protocol
            | Error::Inval
            | Error::NotFound
            | Error::Tls
            | Error::PayloadSize
            | Error::NotSupported
            | Error::Auth
            | Error::AclDenied
            | Error::Unknown
            | Error::Eai
            | Error::Proxy
    )
}

/// Errors after which `loop_forever` gives up even with a server list: they
/// are about the client or its settings, not about one server.
fn is_fatal_everywhere(error: Error) -> bool {
    matches!(
        error,
        Error::NoMem | Error::Inval | Error::PayloadSize | Error::Unknown
    )
}

impl Client {
    /// `mosquitto_loop`: waits up to `timeout` ms (negative: 1000) for traffic,
    /// then reads, keeps time and writes. `max_packets` must be at least 1 and
    /// is otherwise unused (everything available is handled).
    pub fn run_loop(&self, timeout: i32, max_packets: i32) -> Result<()> {
        if max_packets < 1 {
            return Err(Error::Inval);
        }
        self.arm_wait();
        self.run_loop_armed(timeout)
    }

    /// `run_loop` after `arm_wait`: wakers that came before it are answered
    /// by what the plan sees.
    fn run_loop_armed(&self, timeout: i32) -> Result<()> {
        self.usable()?;
        let timeout = u64::try_from(timeout).map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        if timeout.is_zero() {
            // Not waiting: a read that finds nothing tells as much as `poll`
            // would, for less (a `mosquitto_loop(mosq, 0, 1)` after each publish
            // is common).
            return self.service(Pass::Unwaited);
        }
        // Made before the wait begins (see `Client::wake`).
        self.wakeup()?;
        let plan = self.plan_turn()?;
        // How long until keepalive wants the loop (`None`: never).
        let until_deadline = plan
            .deadline
            .map(|at| at.saturating_duration_since(Instant::now()));
        let wait = until_deadline.map_or(timeout, |d| timeout.min(d));
        let wait = if plan.kind == WaitKind::Look {
            Duration::ZERO
        } else {
            wait
        };
        let (ready, spun) = self.wait_turn(plan, wait)?;
        // Nothing happened and keepalive is not due: there is nothing to service
        // (a `mosquitto_loop(mosq, 0, 1)` after each publish is common).
        let idle = ready == Readiness::default()
            && spun.is_none()
            && until_deadline.is_none_or(|d| d > wait);
        if idle {
            if !wait.is_zero() {
                // A whole wait without traffic: the burst, if any, is over.
                super::unlocked_write::release_spare();
            }
            return Ok(());
        }
        self.service(Pass::Waited { ready, spun })
    }

    /// Under the lock: queued packets encoded, and how this turn waits.
    fn plan_turn(&self) -> Result<Plan> {
        let mut work = Work::new(self.logging());
        let plan = contain(|| {
            let mut state = self.lock_after_sync(&mut work);
            state.pump(&mut work);
            let deadline = connect_timeout::earliest(
                state.session.as_ref().and_then(|s| s.next_deadline()),
                state.resilience.connect_deadline,
            );
            let in_flight = state.session.as_ref().map_or(0, |s| s.in_flight_count());
            let connack_due = state
                .session
                .as_ref()
                .is_some_and(|s| s.link() == crate::session::Link::AwaitingConnAck);
            let state = &mut *state;
            let pace = &mut state.pace;
            state.conn.as_mut().map(|conn| {
                let want_write = conn.wants_write();
                let kind = if conn.has_buffered_input() {
                    WaitKind::Look
                } else if want_write {
                    WaitKind::Poll
                } else if pace.should_gather(in_flight) {
                    WaitKind::Gather
                } else if pace.should_spin(in_flight > 0, connack_due && !conn.is_handshaking()) {
                    WaitKind::Spin
                } else {
                    WaitKind::Poll
                };
                Plan {
                    fd: conn.fd(),
                    want_write,
                    deadline,
                    kind,
                }
            })
        })?;
        self.dispatch_from_loop(work);
        plan.ok_or(Error::NoConn)
    }

    /// `plan_turn` for the shared loop (see `shared_loop`): queued packets
    /// encoded, and what to wait for on this client's socket, handed to
    /// `watch` under the lock, so that the socket cannot be closed and its
    /// number reused by another while the pool thread registers it.
    pub(super) fn pool_plan(
        &self,
        watch: impl FnOnce(&PoolPlan) -> Result<()>,
    ) -> Result<PoolPlan> {
        self.usable()?;
        let mut work = Work::new(self.logging());
        let plan = contain(|| {
            let mut state = self.lock();
            state.pump(&mut work);
            let deadline = connect_timeout::earliest(
                state.session.as_ref().and_then(|s| s.next_deadline()),
                state.resilience.connect_deadline,
            );
            let plan = state.conn.as_mut().map(|conn| {
                // A client of the shared loop is one of many, each sending at
                // its own pace: its write buffer goes back once written, so
                // memory follows traffic, not the number of clients.
                if !conn.wants_write() {
                    conn.release_write_buffers();
                }
                pool_plan_of(conn, deadline)
            });
            match plan {
                Some(plan) => watch(&plan).map(|()| plan),
                None => Err(Error::NoConn),
            }
        })?;
        self.dispatch_from_loop(work);
        plan
    }

    /// Runs `forget` if the connection numbered `serial` is still this
    /// client's, under the lock: a socket gone from the client is closed, or
    /// about to be (which ends its epoll watch), and its number may already
    /// be another socket's.
    pub(super) fn while_connection(&self, serial: u32, forget: impl FnOnce()) {
        let state = self.lock();
        if state.conn.as_ref().is_some_and(|c| c.serial() == serial) {
            forget();
        }
    }

    /// When keepalive (or the connect timeout) next wants the loop, without
    /// encoding anything: for the shared loop's timers, which are set lazily
    /// and may fire early.
    pub(super) fn loop_deadline(&self) -> Option<Instant> {
        let state = self.lock();
        connect_timeout::earliest(
            state.session.as_ref().and_then(|s| s.next_deadline()),
            state.resilience.connect_deadline,
        )
    }

    /// One turn of the shared loop for this client, after its wait reported
    /// `ready` (nothing, for a timer): reads, keeps time, writes, and runs the
    /// callbacks, as a turn of `loop_forever` does.
    pub(super) fn pool_service(&self, ready: Readiness) -> Result<()> {
        self.usable()?;
        self.service(Pass::Waited { ready, spun: None })
    }

    /// Waits as `plan` says, up to `wait`: what was ready, and, after a spin,
    /// whether it found something.
    fn wait_turn(&self, plan: Plan, wait: Duration) -> Result<(Readiness, Option<bool>)> {
        let wakeup = self.wakeup()?;
        let interest = Interest {
            socket: Some(plan.fd),
            wakeup: Some(wakeup.fd()),
            want_write: plan.want_write,
        };
        // A waker since the plan: look at the socket, do not sleep.
        let early = self.wait_gate.begin_wait();
        let result =
            self.wait_as_planned(plan, interest, if early { Duration::ZERO } else { wait });
        let late = self.wait_gate.end_wait();
        let (mut ready, spun) = result?;
        if ready.woken {
            wakeup.drain();
        }
        // A waker's signal may still be on its way: its request is served now
        // (and the signal, when it lands, costs one spare turn).
        ready.woken |= early || late;
        Ok((ready, spun))
    }

    /// The waits of `wait_turn`, between `begin_wait` and `end_wait`.
    fn wait_as_planned(
        &self,
        plan: Plan,
        interest: Interest,
        wait: Duration,
    ) -> Result<(Readiness, Option<bool>)> {
        let wait = if plan.kind == WaitKind::Gather && wait > GATHER {
            // Only the wake-up handle ends this wait: the socket fills meanwhile.
            let wakeup_only = Interest {
                socket: None,
                ..interest
            };
            let started = Instant::now();
            poll::wait(wakeup_only, Some(GATHER)).map_err(|e| e.into_error())?;
            wait.saturating_sub(started.elapsed())
        } else {
            wait
        };
        let mut spun = None;
        let mut ready = if plan.kind == WaitKind::Spin && !wait.is_zero() {
            let started = Instant::now();
            let ready = look(interest, wait.min(SPIN)).map_err(|e| e.into_error())?;
            let hit = ready != Readiness::default();
            spun = Some(hit);
            if hit {
                ready
            } else {
                let left = wait.saturating_sub(started.elapsed());
                poll::wait(interest, Some(left)).map_err(|e| e.into_error())?
            }
        } else {
            poll::wait(interest, Some(wait)).map_err(|e| e.into_error())?
        };
        ready.readable |= plan.kind == WaitKind::Look;
        Ok((ready, spun))
    }

    /// `mosquitto_loop_read`: reads and handles what the socket has.
    pub fn loop_read(&self) -> Result<()> {
        self.service(Pass::Read)
    }

    /// `mosquitto_loop_write`: writes what is queued.
    pub fn loop_write(&self) -> Result<()> {
        self.service(Pass::Write)
    }

    /// `mosquitto_loop_misc`: keepalive (PINGREQ, or closing a silent connection).
    pub fn loop_misc(&self) -> Result<()> {
        self.service(Pass::Misc)
    }

    /// The socket's descriptor, or -1 without one.
    pub fn socket(&self) -> i32 {
        self.lock().conn.as_ref().map_or(-1, |c| c.fd())
    }

    /// Whether output waits for the socket.
    pub fn want_write(&self) -> bool {
        let state = self.lock();
        state.conn.as_ref().is_some_and(|c| c.wants_write())
            || state.session.as_ref().is_some_and(|s| s.has_outgoing())
    }

    /// One service pass, then what its callbacks queued (a reply published from
    /// `on_message`, a DISCONNECT from `on_publish`): libmosquitto writes its
    /// whole queue before a loop call returns, callbacks' packets included, so a
    /// program that leaves its loop after such a callback still sends them.
    fn service(&self, pass: Pass) -> Result<()> {
        self.usable()?;
        take_queued_by_callback();
        let mut result = self.service_once(pass);
        while result.is_ok() && take_queued_by_callback() {
            match self.service_once(Pass::Misc) {
                // The round before ended the connection: nothing is left to write.
                Err(Error::NoConn) => break,
                other => result = other,
            }
        }
        result
    }

    /// One pass and its callbacks.
    fn service_once(&self, pass: Pass) -> Result<()> {
        let mut work = Work::new(self.logging());
        let result = contain_result(|| self.service_io(pass, &mut work));
        let refused = work.refused.take();
        let result = self.report(work, result);
        match refused {
            Some(error) => self.end_refused(error),
            None => result,
        }
    }

    /// After `on_connect` has heard of a refusal: as in libmosquitto, the
    /// connection ends only now, so a DISCONNECT the program asked for there
    /// goes out and the close counts as the one it wanted (`on_disconnect(0)`).
    fn end_refused(&self, error: Error) -> Result<()> {
        let mut work = Work::new(self.logging());
        let result = contain_result(|| self.lock().end_refused(error, &mut work));
        self.report(work, result)
    }

    /// The reading, keeping time and writing of a service pass.
    fn service_io(&self, pass: Pass, work: &mut Work) -> Result<()> {
        let mut batch = None;
        let result = {
            let mut state = self.lock();
            state.wrote_since_loop = false;
            let now = Instant::now();
            if let Pass::Waited {
                spun: Some(hit), ..
            } = pass
            {
                state.pace.spun(hit);
            }
            match state.conn.as_mut() {
                None => Err(Error::NoConn),
                Some(conn) => {
                    let mut result = Ok(());
                    let connect_ready = if matches!(pass, Pass::Unwaited) && conn.is_connecting() {
                        poll::connect_ended(conn.fd()).unwrap_or(false)
                    } else {
                        pass.connect_ready()
                    };
                    if conn.is_connecting() && connect_ready {
                        if let Err(e) = conn.finish_connect() {
                            let error = super::io::net_failure(e, work);
                            result = state.fail(error, work);
                        }
                    }
                    let still_connecting = state.conn.as_ref().is_some_and(|c| c.is_connecting());
                    if result.is_ok() && pass.reads() && !still_connecting {
                        result = state.read_in(now, work);
                    }
                    if result.is_ok() && state.conn.is_some() {
                        result = state.tick(now, work);
                    }
                    if result.is_ok() && state.conn.is_some() {
                        state.pump(work);
                        // A large batch is written below, without the lock, when
                        // other threads may be queueing meanwhile.
                        // Not on the shared loop, where requests write under
                        // the lock themselves (see `actions::write_at_once`).
                        let shared = (state.options.threaded
                            || self.thread_running.load(Ordering::Acquire))
                            && !self.on_pool.load(Ordering::Relaxed);
                        if shared {
                            batch = state.take_output();
                            if batch.is_some() {
                                // The queue is empty now: a publisher waiting for
                                // room may fill it while the batch is written.
                                self.notify_room();
                            }
                        }
                        if batch.is_none() {
                            result = state.write_or_fail(now, work);
                        }
                    }
                    state.collect_events(work);
                    result
                }
            }
        };
        match batch {
            Some(mut batch) => {
                let sent = batch.send();
                let mut state = self.lock();
                let finished = state.finish_output(batch, sent, Instant::now(), work);
                state.collect_events(work);
                result.and(finished)
            }
            None => result,
        }
    }

    /// Ends a pass: wakes publishers waiting for room and runs the callbacks.
    fn report(&self, work: Work, result: Result<()>) -> Result<()> {
        self.notify_room();
        self.dispatch_from_loop(work);
        result
    }

    /// `mosquitto_loop_forever`: loops until the program disconnects (then
    /// `Ok`), `loop_stop` is called, or an error that reconnecting cannot cure.
    /// A lost connection is made again after the `reconnect_delay_set` delay.
    pub fn loop_forever(&self, timeout: i32, max_packets: i32) -> Result<()> {
        if max_packets < 1 {
            return Err(Error::Inval);
        }
        self.wakeup()?;
        let mut attempt = 0u32;
        loop {
            let error = loop {
                // Before the look at the stop flag, which `loop_stop` sets
                // before it wakes this loop (see `WaitGate`).
                self.arm_wait();
                if self.stop_requested() && !self.draining() {
                    self.finish_on_stop();
                    return Ok(());
                }
                match self.run_loop_armed(timeout) {
                    Ok(()) => attempt = 0,
                    Err(e) => break e,
                }
            };
            if let Some(end) = self.ends_loop(error) {
                return end;
            }
            // Reconnect, waiting the delay before each attempt.
            loop {
                let delay = self.reconnect_wait(attempt);
                attempt = attempt.saturating_add(1);
                match self.wait_between_attempts(delay) {
                    Waited::Stop => {
                        self.finish_on_stop();
                        return Ok(());
                    }
                    Waited::Connected => break,
                    Waited::Elapsed => {}
                }
                // Non-blocking, so that a stop request never waits for a slow
                // TCP handshake; the loop completes it. Called from no panic
                // catch: it runs on_pre_connect.
                if self.reconnect(false).is_ok() {
                    break;
                }
            }
        }
    }

    /// After the loop failed with `error`: what `loop_forever` returns now
    /// (`None`: reconnect instead). Shared with the shared loop's pool.
    pub(super) fn ends_loop(&self, error: Error) -> Option<Result<()>> {
        if self.lock().disconnect_requested {
            return Some(Ok(()));
        }
        // A TLS failure after the handshake is MOSQ_ERR_ERRNO with EPROTO,
        // which libmosquitto's loop_forever does not retry either.
        let fatal = is_fatal(error) || error == Error::Errno(libc::EPROTO);
        // With a server list, a failure of one server (TLS, name lookup,
        // refusal) is a reason to try the next, not to stop.
        if fatal && (is_fatal_everywhere(error) || !self.has_servers()) {
            return Some(Err(error));
        }
        None
    }

    /// The wait before reconnect attempt `attempt` (0 first): the delay times
    /// (attempt + 1), or times its square when exponential, up to the maximum,
    /// as libmosquitto computes it.
    pub fn reconnect_delay(&self, attempt: u32) -> Duration {
        let r = self.lock().options.reconnect;
        Duration::from_secs(backoff::delay_secs(&r, false, attempt))
    }

    /// The wait before `loop_forever`'s reconnect attempt `attempt`, in the
    /// style skeeter's settings ask for (doubling, jitter); with a server list,
    /// counted from the failures on its current server (see `failover`).
    pub(crate) fn reconnect_wait(&self, attempt: u32) -> Duration {
        let (r, style, attempt) = {
            let mut state = self.lock();
            let attempt = state.reconnect_attempt(attempt);
            (
                state.options.reconnect,
                state.resilience.delay_style,
                attempt,
            )
        };
        backoff::wait(&r, style, attempt, backoff::random_unit())
    }

    /// After `loop_stop(mosq, false)`: whether the thread should go on because
    /// the connection is up (or awaiting its CONNACK) and messages are still
    /// queued or unacknowledged. Programs such as `mosquitto_pub -l` publish,
    /// call `loop_stop(false)` and disconnect from `on_publish` once the last
    /// message is acknowledged, as libmosquitto's join lets them.
    pub(super) fn draining(&self) -> bool {
        if !self.drain_on_stop.load(Ordering::Acquire) {
            return false;
        }
        let state = self.lock();
        let (Some(conn), Some(session)) = (state.conn.as_ref(), state.session.as_ref()) else {
            return false;
        };
        session.link() != crate::session::Link::Down
            && (conn.wants_write()
                || session.has_outgoing()
                || session.in_flight_count() > 0
                || session.waiting_count() > 0)
    }

    pub(super) fn stop_requested(&self) -> bool {
        // SeqCst: against `wake`'s look at `on_pool` (see `Client::wake`).
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `delay`, ending early when asked to stop or when a connection
    /// appears (another thread called connect).
    fn wait_between_attempts(&self, delay: Duration) -> Waited {
        let until = Instant::now() + delay;
        loop {
            self.arm_wait();
            if let Some(waited) = self.wait_cut_short() {
                return waited;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Waited::Elapsed;
            }
            // Without a wake-up handle (no descriptor left), only the delay
            // ends the wait.
            let wakeup = self.wakeup().ok();
            let interest = Interest {
                socket: None,
                wakeup: wakeup.map(Wakeup::fd),
                want_write: false,
            };
            let early = self.wait_gate.begin_wait();
            let waited = poll::wait(interest, Some(if early { Duration::ZERO } else { left }));
            self.wait_gate.end_wait();
            if let Ok(ready) = waited {
                if let Some(wakeup) = wakeup.filter(|_| ready.woken) {
                    wakeup.drain();
                }
            }
        }
    }

    /// Whether a wait between reconnect attempts ends before its time: asked
    /// to stop, or a connection appeared.
    pub(super) fn wait_cut_short(&self) -> Option<Waited> {
        if self.stop_requested() {
            return Some(Waited::Stop);
        }
        let state = self.lock();
        if state.disconnect_requested {
            return Some(Waited::Stop);
        }
        state.conn.is_some().then_some(Waited::Connected)
    }

    /// Before the loop thread ends: writes what is queued if the socket takes it
    /// now, so a DISCONNECT queued just before `loop_stop` goes out (and
    /// `on_disconnect(0)` is called).
    pub(super) fn finish_on_stop(&self) {
        let mut work = Work::new(self.logging());
        let _ = contain(|| {
            let mut state = self.lock();
            if state.conn.is_some() {
                state.pump(&mut work);
                let _ = state.write_or_fail(Instant::now(), &mut work);
                state.collect_events(&mut work);
            }
        });
        self.dispatch(work);
    }
}

/// Polls without sleeping until something in `interest` is ready or `limit`
/// has passed (see `pace`).
fn look(interest: Interest, limit: Duration) -> std::result::Result<Readiness, NetError> {
    let until = Instant::now() + limit;
    loop {
        let ready = poll::wait(interest, Some(Duration::ZERO))?;
        if ready != Readiness::default() || Instant::now() >= until {
            return Ok(ready);
        }
    }
}
