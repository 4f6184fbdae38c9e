;;; skeeter-test.scm: skeeter's own functions from Chicken Scheme, run by
;;; tests/ecosystem.rs on skeeter only (Debian's libmosquitto has no skeeter.h).
;;;
;;;   skeeter-chicken-handlers BROKER-PORT
;;;
;;; Handlers per subscription: each Scheme procedure gets exactly the messages of
;;; its filter, on the thread that runs mosquitto_loop, while on_message still
;;; gets every message; after skeeter_unsubscribe_handler (called from the
;;; handler itself), its procedure is not called again. Prints "loaded: <file>", one "ok ..." or "FAIL ..." line per
;;; check, and exits 0 when every check passed.

(import scheme (chicken base) (chicken process-context) (chicken process-context posix)
        (chicken string))

(include "mosquitto.scm")
(include "skeeter.scm")
(import skeeter-mosquitto skeeter-extensions)

(define failures 0)

(define (check what ok)
  (print (if ok "ok " "FAIL ") what)
  (unless ok (set! failures (+ failures 1))))

(define (check-rc what rc expected)
  (check (conc what ": " rc " (" (mosquitto-strerror rc) "), expected " expected) (= rc expected)))

(define (handlers port)
  (check-rc "mosquitto_lib_init" (mosquitto-lib-init) mosq-err-success)
  (let* ((loop-thread (native-thread-id))
         (prefix (conc "skeeter/chicken-handlers/" (current-process-id) "/"))
         (c (make-client #f #t))
         (wrong-thread 0)
         (heard-a '())
         (heard-b '())
         (heard-all '())
         (disconnected #f))
    (define (topic name) (string-append prefix name))
    (define (note! who m)
      (unless (= (native-thread-id) loop-thread)
        (set! wrong-thread (+ wrong-thread 1)))
      (message-topic m))
    (define (publish name)
      (check-rc (conc "publish " name) (client-publish c (topic name) name 1 #f) mosq-err-success))
    (client-on-connect-set! c
      (lambda (rc)
        (check-rc "CONNACK" rc 0)
        (check-rc "skeeter_subscribe_handler a/#"
                  (skeeter-subscribe-handler c (topic "a/#") 1
                    (lambda (m) (set! heard-a (cons (note! 'a m) heard-a))))
                  mosq-err-success)
        (check-rc "skeeter_subscribe_handler b"
                  (skeeter-subscribe-handler c (topic "b") 1
                    (lambda (m)
                      (set! heard-b (cons (note! 'b m) heard-b))
                      ;; A handler may remove itself.
                      (check-rc "skeeter_unsubscribe_handler b from its own handler"
                                (skeeter-unsubscribe-handler c (topic "b")) mosq-err-success)))
                  mosq-err-success)))
    (let ((subacks 0))
      (client-on-subscribe-set! c
        (lambda (mid granted)
          (set! subacks (+ subacks 1))
          (when (= subacks 2) (publish "a/x") (publish "b")))))
    (client-on-message-set! c
      (lambda (m)
        (set! heard-all (cons (note! 'all m) heard-all))
        (when (string=? (message-topic m) (topic "a/last"))
          (check-rc "disconnect" (client-disconnect c) mosq-err-success))))
    (client-on-disconnect-set! c (lambda (rc) (set! disconnected #t)))
    ;; After the unsubscribe is acknowledged, "b" is published again (and must
    ;; reach no one), then "a/last".
    (let ((unsubscribed #f))
      (check-rc "connect" (client-connect c "127.0.0.1" port 60) mosq-err-success)
      (let loop ((i 0))
        (when (and (not disconnected) (< i 300))
          (client-loop c 100)
          (when (and (not unsubscribed) (member (topic "b") heard-all))
            (set! unsubscribed #t)
            ;; Give the UNSUBSCRIBE a turn of the loop to reach the broker first.
            (client-loop c 100)
            (publish "b")
            (publish "a/last"))
          (loop (+ i 1)))))
    (check "disconnected" disconnected)
    (check (conc "the a/# handler got a/x and a/last (" heard-a ")")
           (equal? heard-a (list (topic "a/last") (topic "a/x"))))
    (check (conc "the b handler got b once (" heard-b ")")
           (equal? heard-b (list (topic "b"))))
    (check (conc "on_message got all three (" heard-all ")")
           (equal? heard-all (list (topic "a/last") (topic "b") (topic "a/x"))))
    (check (conc "every handler ran on the loop thread (" wrong-thread " did not)")
           (zero? wrong-thread))
    (client-destroy! c))
  (mosquitto-lib-cleanup))

(print "loaded: " (or (loaded-library-path) "(no libmosquitto found)"))
(let ((args (command-line-arguments)))
  (if (and (pair? args) (string->number (car args)))
      (handlers (string->number (car args)))
      (begin (print "usage: skeeter-chicken-handlers PORT") (exit 2))))
(exit (if (zero? failures) 0 1))
