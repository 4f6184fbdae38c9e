;;; test.scm: skeeter's Chicken Scheme test, run by tests/ecosystem.rs.
;;;
;;;   skeeter-chicken-test load
;;;   skeeter-chicken-test version
;;;   skeeter-chicken-test finalizer
;;;   skeeter-chicken-test errors CLOSED-PORT
;;;   skeeter-chicken-test round-trip BROKER-PORT           (with mosquitto_loop)
;;;   skeeter-chicken-test round-trip-forever BROKER-PORT   (with mosquitto_loop_forever)
;;;
;;; Every mode first prints "loaded: <file>", the library the loader chose, for the
;;; caller to compare with the one it staged; then one "ok ..." or "FAIL ..." line per
;;; check. Exits 0 when every check passed.

(import scheme (chicken base) (chicken blob) (chicken gc) (chicken process-context)
        (chicken process-context posix)
        (chicken string) srfi-4)

(include "mosquitto.scm")
(import skeeter-mosquitto)

(define failures 0)

(define (check what ok)
  (print (if ok "ok " "FAIL ") what)
  (unless ok (set! failures (+ failures 1))))

(define (finish)
  (exit (if (zero? failures) 0 1)))

(define (select keep? items)
  (cond ((null? items) '())
        ((keep? (car items)) (cons (car items) (select keep? (cdr items))))
        (else (select keep? (cdr items)))))

(define (check-rc what rc expected)
  (check (conc what ": " rc " (" (mosquitto-strerror rc) "), expected " expected) (= rc expected)))

;;; version: mosquitto_lib_version agrees with itself and with the header.
(define (version)
  (receive (number major minor revision) (mosquitto-lib-version)
    (print "library " major "." minor "." revision " (" number "), header " header-version)
    (check "version number is major*1000000 + minor*1000 + revision"
           (= number (+ (* major 1000000) (* minor 1000) revision)))
    (check "library major version is 2" (= major 2))
    (check "library version matches LIBMOSQUITTO_VERSION_NUMBER in mosquitto.h"
           (and (= number header-version)
                (= major header-major) (= minor header-minor) (= revision header-revision)))))

;;; finalizer: clients dropped without client-destroy! are destroyed by the GC.
(define (finalizer)
  (check-rc "mosquitto_lib_init" (mosquitto-lib-init) mosq-err-success)
  (let loop ((i 0))
    (when (< i 10)
      (make-client #f #t)
      (loop (+ i 1))))
  (gc #t)
  (gc #t)
  (check (conc "finalizers destroyed the 10 dropped clients (" (client-destroyed-count) ")")
         (= (client-destroyed-count) 10))
  (let ((c (make-client "skeeter-chicken-explicit" #t)))
    (client-destroy! c)
    (client-destroy! c)
    (check "an explicit destroy happens once" (= (client-destroyed-count) 11)))
  (gc #t)
  (gc #t)
  (check "the finalizer does not destroy an explicitly destroyed client again"
         (= (client-destroyed-count) 11))
  (check-rc "mosquitto_lib_cleanup" (mosquitto-lib-cleanup) mosq-err-success))

;;; errors: connect's failures map to libmosquitto's codes.
(define (errors closed-port)
  (check-rc "mosquitto_lib_init" (mosquitto-lib-init) mosq-err-success)
  (let ((c (make-client "skeeter-chicken-errors" #t)))
    (check-rc "unresolvable host"
              (client-connect c "skeeter-no-such-host.invalid" 1883 60) mosq-err-eai)
    (check-rc "port 65536" (client-connect c "127.0.0.1" 65536 60) mosq-err-inval)
    (check-rc "port -1" (client-connect c "127.0.0.1" -1 60) mosq-err-inval)
    (receive (rc error) (client-connect/errno c "127.0.0.1" closed-port 60)
      (check-rc (conc "refused connection to port " closed-port) rc mosq-err-errno)
      (check (conc "errno is ECONNREFUSED (" error ")") (= error errno-econnrefused)))
    (check-rc "loop without a connection" (client-loop c 10) mosq-err-no-conn)
    (client-destroy! c))
  (mosquitto-lib-cleanup))

;;; round-trip: connect, subscribe, publish at QoS 0, 1 and 2 and a retained message,
;;; receive them, publish from inside the message callback, disconnect. Every callback
;;; must run on this thread, the one calling mosquitto_loop (or, when `forever`,
;;; mosquitto_loop_forever).
(define (round-trip port forever)
  (check-rc "mosquitto_lib_init" (mosquitto-lib-init) mosq-err-success)
  (let* ((loop-thread (native-thread-id))
         (id (conc "skeeter-chicken-" (current-process-id)))
         (prefix (conc "skeeter/chicken/" (current-process-id) "/"))
         (c (make-client id #t))
         (wrong-thread 0)
         (callbacks 0)
         (received '())
         (published 0)
         (reply-received #f)
         (disconnect-requested #f)
         (disconnected #f))
    (define (on-loop-thread!)
      (set! callbacks (+ callbacks 1))
      (unless (= (native-thread-id) loop-thread)
        (set! wrong-thread (+ wrong-thread 1))))
    (define (topic name) (string-append prefix name))
    (define (payload qos)
      ;; Binary, with a NUL in the middle, so a C string conversion would show.
      (u8vector->blob (u8vector 0 1 2 qos 0 255 254 10 13)))
    (define (expect name payload qos retain)
      (let ((matching (select (lambda (m) (string=? (message-topic m) (topic name))) received)))
        (check (conc name ": received once (" (length matching) ")") (= (length matching) 1))
        (unless (null? matching)
          (let ((m (car matching)))
            (check (conc name ": payload") (equal? (message-payload m) payload))
            (check (conc name ": qos " (message-qos m)) (= (message-qos m) qos))
            (check (conc name ": retain " (message-retain m)) (eq? (message-retain m) retain))))))
    (define (maybe-disconnect!)
      ;; After the reply came back and every publish (5) was acknowledged.
      (when (and reply-received (= published 5) (not disconnect-requested))
        (set! disconnect-requested #t)
        (check-rc "disconnect" (client-disconnect c) mosq-err-success)))

    (check-rc "protocol version option"
              (client-protocol-version-set! c mqtt-protocol-v311) mosq-err-success)
    (client-on-connect-set! c
      (lambda (rc)
        (on-loop-thread!)
        (check-rc "CONNACK" rc 0)
        (check-rc "retained publish"
                  (client-publish c (topic "retained") "kept" 1 #t) mosq-err-success)
        (check-rc "subscribe" (client-subscribe c (string-append prefix "#") 2) mosq-err-success)))
    (client-on-subscribe-set! c
      (lambda (mid granted)
        (on-loop-thread!)
        (check (conc "granted QoS " granted) (equal? granted '(2)))
        (for-each
         (lambda (qos)
           (check-rc (conc "publish at QoS " qos)
                     (client-publish c (topic (conc "qos" qos)) (payload qos) qos #f)
                     mosq-err-success))
         '(0 1 2))))
    (client-on-publish-set! c
      (lambda (mid)
        (on-loop-thread!)
        (set! published (+ published 1))
        (maybe-disconnect!)))
    (client-on-message-set! c
      (lambda (m)
        (on-loop-thread!)
        (set! received (cons m received))
        (cond ((string=? (message-topic m) (topic "qos2"))
               (check-rc "publish from inside the message callback"
                         (client-publish c (topic "reply") "pong" 1 #f) mosq-err-success))
              ((string=? (message-topic m) (topic "reply"))
               (set! reply-received #t)
               (maybe-disconnect!)))))
    (client-on-disconnect-set! c
      (lambda (rc)
        (on-loop-thread!)
        (check-rc "on_disconnect after our disconnect" rc 0)
        (set! disconnected #t)))

    (check-rc "connect" (client-connect c "127.0.0.1" port 60) mosq-err-success)
    (if forever
        (check-rc "mosquitto_loop_forever returns after the disconnect"
                  (client-loop-forever c 100) mosq-err-success)
        (let loop ((i 0))
          (when (and (not disconnected) (< i 200))
            (client-loop c 100)
            (loop (+ i 1)))))
    (check "disconnected" disconnected)

    (expect "retained" (string->blob "kept") 1 #t)
    (expect "qos0" (payload 0) 0 #f)
    (expect "qos1" (payload 1) 1 #f)
    (expect "qos2" (payload 2) 2 #f)
    (expect "reply" (string->blob "pong") 1 #f)
    (check (conc "5 messages in all (" (length received) ")") (= (length received) 5))
    (check (conc "5 publishes acknowledged (" published ")") (= published 5))
    (check (conc "every callback (" callbacks ") ran on the loop thread")
           (and (> callbacks 0) (zero? wrong-thread)))
    (client-destroy! c))
  (check-rc "mosquitto_lib_cleanup" (mosquitto-lib-cleanup) mosq-err-success))

(define (port-argument args)
  (if (and (pair? args) (string->number (car args)))
      (string->number (car args))
      (begin (print "usage: skeeter-chicken-test MODE PORT") (exit 2))))

(print "loaded: " (or (loaded-library-path) "(no libmosquitto found)"))
(let ((args (command-line-arguments)))
  (cond ((null? args) (print "usage: skeeter-chicken-test MODE [PORT]") (exit 2))
        ((string=? (car args) "load") #t)
        ((string=? (car args) "version") (version))
        ((string=? (car args) "finalizer") (finalizer))
        ((string=? (car args) "errors") (errors (port-argument (cdr args))))
        ((string=? (car args) "round-trip") (round-trip (port-argument (cdr args)) #f))
        ((string=? (car args) "round-trip-forever") (round-trip (port-argument (cdr args)) #t))
        (else (print "unknown mode " (car args)) (exit 2))))
(finish)
