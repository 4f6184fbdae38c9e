;;; skeeter.scm: a Chicken Scheme 5 binding to two of skeeter's own functions
;;; (skeeter.h), on top of mosquitto.scm: a handler per subscription.
;;;
;;; The C library holds a handler as a C function and a `void *`; Scheme
;;; procedures cannot be handed to C as pointers (the collector moves them), so
;;; the `void *` is a small integer naming the procedure in a table here, and one
;;; `define-external` function calls whichever procedure the integer names.
;;;
;;; Build with the skeeter headers on the include path (-C -I<include dir>).

(module skeeter-extensions
  (skeeter-subscribe-handler skeeter-unsubscribe-handler)

  (import scheme (chicken base) (chicken foreign) (chicken memory) skeeter-mosquitto)

  (foreign-declare "#include <skeeter.h>")

  (define-foreign-type mosquitto (c-pointer (struct "mosquitto")))
  (define-foreign-type mosquitto-message (c-pointer (const (struct "mosquitto_message"))))

  ;; number -> procedure taking a message record.
  (define procedures '())
  (define next-number 1)

  (define-external (skeeter_scheme_handler (mosquitto m) (c-pointer number)
                                           (mosquitto-message message))
    void
    (let ((entry (assv (pointer->address number) procedures)))
      (when entry ((cdr entry) (read-message message)))))

  (define %subscribe-handler
    (foreign-safe-lambda* int ((mosquitto m) (c-string filter) (int qos) (c-pointer number))
      "C_return(skeeter_subscribe_handler(m, NULL, filter, qos, skeeter_scheme_handler, number));"))

  ;; => the MOSQ_ERR_* code; `proc` gets a message record for each match.
  (define (skeeter-subscribe-handler client filter qos proc)
    (let ((number next-number))
      (set! next-number (+ next-number 1))
      (set! procedures (cons (cons number proc) procedures))
      (%subscribe-handler (client-handle client) filter qos (address->pointer number))))

  (define %unsubscribe-handler
    (foreign-safe-lambda int "skeeter_unsubscribe_handler" mosquitto (c-pointer int) c-string))

  ;; Removes every handler of `filter` in the library (their table entries here
  ;; stay: the numbers are never reused).
  (define (skeeter-unsubscribe-handler client filter)
    (%unsubscribe-handler (client-handle client) #f filter))
)
