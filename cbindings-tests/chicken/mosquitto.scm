;;; mosquitto.scm: a small Chicken Scheme 5 binding to libmosquitto's C API,
;;; written for skeeter's tests in the way Chicken FFI bindings usually are:
;;;
;;;  - calls into the library are `foreign-safe-lambda`s, because the loop calls
;;;    re-enter Scheme through the callbacks;
;;;  - callbacks are `define-external` C functions registered once per client with
;;;    the `mosquitto_*_callback_set` functions; they find the Scheme handlers by
;;;    the client's address;
;;;  - `struct mosquitto_message` is read field by field through `foreign-lambda*`;
;;;  - a client is a record with a finalizer (set-finalizer!) that destroys the
;;;    C object if the program did not.
;;;
;;; Chicken runs Scheme on one native thread, so the binding relies on libmosquitto
;;; calling every callback from the thread that runs mosquitto_loop or
;;; mosquitto_loop_forever. `native-thread-id` lets a program check that.
;;;
;;; Build with: csc -C -D_GNU_SOURCE -C -I<include dir> ... -L -lmosquitto

(module skeeter-mosquitto
  (mosquitto-lib-init mosquitto-lib-cleanup mosquitto-lib-version
   mosquitto-strerror header-version header-major header-minor header-revision
   loaded-library-path native-thread-id
   mosq-err-success mosq-err-inval mosq-err-no-conn mosq-err-errno mosq-err-eai
   mqtt-protocol-v311 mqtt-protocol-v5 errno-econnrefused
   make-client client? client-destroy! client-destroyed-count
   client-on-connect-set! client-on-disconnect-set! client-on-publish-set!
   client-on-subscribe-set! client-on-message-set!
   client-protocol-version-set! client-connect client-connect/errno
   client-disconnect client-subscribe client-publish client-loop client-loop-forever
   message? message-mid message-topic message-payload message-qos message-retain
   ;; For bindings of other functions on the same handle (skeeter.scm):
   client-handle read-message)

  (import scheme (chicken base) (chicken foreign) (chicken blob) (chicken gc)
          (chicken memory))

  (foreign-declare #<<EOF
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
EOF
)

  (define-foreign-type mosquitto (c-pointer (struct "mosquitto")))
  (define-foreign-type mosquitto-message (c-pointer (const (struct "mosquitto_message"))))

  ;; Constants, read from the headers at compile time.
  (define mosq-err-success (foreign-value "MOSQ_ERR_SUCCESS" int))
  (define mosq-err-inval (foreign-value "MOSQ_ERR_INVAL" int))
  (define mosq-err-no-conn (foreign-value "MOSQ_ERR_NO_CONN" int))
  (define mosq-err-errno (foreign-value "MOSQ_ERR_ERRNO" int))
  (define mosq-err-eai (foreign-value "MOSQ_ERR_EAI" int))
  (define mqtt-protocol-v311 (foreign-value "MQTT_PROTOCOL_V311" int))
  (define mqtt-protocol-v5 (foreign-value "MQTT_PROTOCOL_V5" int))
  (define errno-econnrefused (foreign-value "ECONNREFUSED" int))
  (define header-version (foreign-value "LIBMOSQUITTO_VERSION_NUMBER" int))
  (define header-major (foreign-value "LIBMOSQUITTO_MAJOR" int))
  (define header-minor (foreign-value "LIBMOSQUITTO_MINOR" int))
  (define header-revision (foreign-value "LIBMOSQUITTO_REVISION" int))

  ;; The file the loader took libmosquitto from (resolved), or #f.
  ;; dlsym(RTLD_DEFAULT) rather than the function's address, which in a non-PIE
  ;; program would be the program's own PLT stub.
  (define loaded-library-path
    (foreign-lambda* c-string ()
      "static char path[PATH_MAX];
       Dl_info info;
       void *symbol = dlsym(RTLD_DEFAULT, \"mosquitto_lib_version\");
       if(!symbol || !dladdr(symbol, &info) || !info.dli_fname) C_return(NULL);
       if(!realpath(info.dli_fname, path)) C_return(info.dli_fname);
       C_return(path);"))

  (define native-thread-id
    (foreign-lambda* long () "C_return((long)syscall(SYS_gettid));"))

  ;; Library.
  (define mosquitto-lib-init (foreign-safe-lambda int "mosquitto_lib_init"))
  (define mosquitto-lib-cleanup (foreign-safe-lambda int "mosquitto_lib_cleanup"))
  (define mosquitto-strerror (foreign-safe-lambda c-string "mosquitto_strerror" int))

  ;; => (values version-number major minor revision)
  (define (mosquitto-lib-version)
    (let-location ((major int 0) (minor int 0) (revision int 0))
      (let ((number ((foreign-safe-lambda int "mosquitto_lib_version"
                                          (c-pointer int) (c-pointer int) (c-pointer int))
                     (location major) (location minor) (location revision))))
        (values number major minor revision))))

  ;; Clients.
  (define-record-type client
    (%make-client pointer)
    client?
    (pointer client-pointer client-pointer-set!))

  (define destroyed-count 0)
  (define (client-destroyed-count) destroyed-count)

  ;; address -> vector of handlers: connect disconnect publish subscribe message.
  ;; It holds no reference to the client record, so a dropped client is collected.
  (define handler-table '())

  (define (handlers-of pointer)
    (let ((entry (assv (pointer->address pointer) handler-table)))
      (and entry (cdr entry))))

  (define (forget-handlers! pointer)
    (let ((address (pointer->address pointer)))
      (set! handler-table
        (let loop ((entries handler-table))
          (cond ((null? entries) '())
                ((= (caar entries) address) (cdr entries))
                (else (cons (car entries) (loop (cdr entries)))))))))

  (define (handler pointer index)
    (let ((handlers (handlers-of pointer)))
      (and handlers (vector-ref handlers index))))

  (define (live-pointer c)
    (or (client-pointer c) (error 'skeeter-mosquitto "client already destroyed" c)))

  (define (client-handle c) (live-pointer c))

  (define (set-handler! c index proc)
    (vector-set! (handlers-of (live-pointer c)) index proc))

  (define (client-on-connect-set! c proc) (set-handler! c 0 proc))
  (define (client-on-disconnect-set! c proc) (set-handler! c 1 proc))
  (define (client-on-publish-set! c proc) (set-handler! c 2 proc))
  (define (client-on-subscribe-set! c proc) (set-handler! c 3 proc))
  (define (client-on-message-set! c proc) (set-handler! c 4 proc))

  (define %new (foreign-safe-lambda mosquitto "mosquitto_new" c-string bool c-pointer))
  (define %destroy (foreign-safe-lambda void "mosquitto_destroy" mosquitto))

  (define %register-callbacks!
    (foreign-lambda* void ((mosquitto m))
      "mosquitto_connect_callback_set(m, skeeter_on_connect);
       mosquitto_disconnect_callback_set(m, skeeter_on_disconnect);
       mosquitto_publish_callback_set(m, skeeter_on_publish);
       mosquitto_subscribe_callback_set(m, skeeter_on_subscribe);
       mosquitto_message_callback_set(m, skeeter_on_message);"))

  ;; id: a string, or #f for a random one.
  (define (make-client id clean-session)
    (let ((pointer (%new id clean-session #f)))
      (unless pointer (error 'make-client "mosquitto_new returned NULL" id))
      (set! handler-table
        (cons (cons (pointer->address pointer) (make-vector 5 #f)) handler-table))
      (%register-callbacks! pointer)
      (set-finalizer! (%make-client pointer) client-destroy!)))

  ;; Idempotent: the finalizer calls it too.
  (define (client-destroy! c)
    (let ((pointer (client-pointer c)))
      (when pointer
        (client-pointer-set! c #f)
        (forget-handlers! pointer)
        (%destroy pointer)
        (set! destroyed-count (+ destroyed-count 1)))))

  (define %int-option (foreign-safe-lambda int "mosquitto_int_option" mosquitto int int))
  (define (client-protocol-version-set! c version)
    (%int-option (live-pointer c) (foreign-value "MOSQ_OPT_PROTOCOL_VERSION" int) version))

  (define %connect (foreign-safe-lambda int "mosquitto_connect" mosquitto c-string int int))
  (define (client-connect c host port keepalive)
    (%connect (live-pointer c) host port keepalive))

  ;; errno is read in C right after the call, before Scheme can disturb it.
  (define %connect/errno
    (foreign-safe-lambda* int ((mosquitto m) (c-string host) (int port) (int keepalive)
                               ((c-pointer int) error))
      "int rc;
       errno = 0;
       rc = mosquitto_connect(m, host, port, keepalive);
       *error = errno;
       C_return(rc);"))
  ;; => (values rc errno)
  (define (client-connect/errno c host port keepalive)
    (let-location ((error int 0))
      (let ((rc (%connect/errno (live-pointer c) host port keepalive (location error))))
        (values rc error))))

  (define %disconnect (foreign-safe-lambda int "mosquitto_disconnect" mosquitto))
  (define (client-disconnect c) (%disconnect (live-pointer c)))

  (define %subscribe
    (foreign-safe-lambda int "mosquitto_subscribe" mosquitto (c-pointer int) c-string int))
  (define (client-subscribe c pattern qos)
    (%subscribe (live-pointer c) #f pattern qos))

  (define %publish
    (foreign-safe-lambda int "mosquitto_publish"
                         mosquitto (c-pointer int) c-string int blob int bool))
  ;; payload: a blob (or a string, sent as its bytes).
  (define (client-publish c topic payload qos retain)
    (let ((bytes (if (string? payload) (string->blob payload) payload)))
      (%publish (live-pointer c) #f topic (blob-size bytes) bytes qos retain)))

  (define %loop (foreign-safe-lambda int "mosquitto_loop" mosquitto int int))
  (define (client-loop c timeout-ms) (%loop (live-pointer c) timeout-ms 1))

  (define %loop-forever (foreign-safe-lambda int "mosquitto_loop_forever" mosquitto int int))
  (define (client-loop-forever c timeout-ms) (%loop-forever (live-pointer c) timeout-ms 1))

  ;; Messages: copied out of the C struct while the callback runs.
  (define-record-type message
    (make-message mid topic payload qos retain)
    message?
    (mid message-mid)
    (topic message-topic)
    (payload message-payload)
    (qos message-qos)
    (retain message-retain))

  (define %message-mid
    (foreign-lambda* int ((mosquitto-message m)) "C_return(m->mid);"))
  (define %message-topic
    (foreign-lambda* c-string ((mosquitto-message m)) "C_return(m->topic);"))
  (define %message-payloadlen
    (foreign-lambda* int ((mosquitto-message m)) "C_return(m->payloadlen);"))
  (define %message-payload-copy!
    (foreign-lambda* void ((mosquitto-message m) (blob destination))
      "if(m->payloadlen > 0) memcpy(destination, m->payload, (size_t)m->payloadlen);"))
  (define %message-qos
    (foreign-lambda* int ((mosquitto-message m)) "C_return(m->qos);"))
  (define %message-retain
    (foreign-lambda* bool ((mosquitto-message m)) "C_return(m->retain);"))

  (define (read-message m)
    (let ((payload (make-blob (%message-payloadlen m))))
      (%message-payload-copy! m payload)
      (make-message (%message-mid m) (%message-topic m) payload
                    (%message-qos m) (%message-retain m))))

  (define %granted-qos
    (foreign-lambda* int (((c-pointer (const int)) granted) (int i)) "C_return(granted[i]);"))

  ;; The C callbacks. Each calls the Scheme handler set for its client, if any.
  (define-external (skeeter_on_connect (mosquitto m) (c-pointer obj) (int rc)) void
    (let ((proc (handler m 0))) (when proc (proc rc))))

  (define-external (skeeter_on_disconnect (mosquitto m) (c-pointer obj) (int rc)) void
    (let ((proc (handler m 1))) (when proc (proc rc))))

  (define-external (skeeter_on_publish (mosquitto m) (c-pointer obj) (int mid)) void
    (let ((proc (handler m 2))) (when proc (proc mid))))

  (define-external (skeeter_on_subscribe (mosquitto m) (c-pointer obj) (int mid)
                                         (int qos-count) ((c-pointer (const int)) granted))
    void
    (let ((proc (handler m 3)))
      (when proc
        (proc mid (let loop ((i (- qos-count 1)) (qos '()))
                    (if (< i 0) qos (loop (- i 1) (cons (%granted-qos granted i) qos))))))))

  (define-external (skeeter_on_message (mosquitto m) (c-pointer obj)
                                       (mosquitto-message message))
    void
    (let ((proc (handler m 4))) (when proc (proc (read-message message)))))
)
