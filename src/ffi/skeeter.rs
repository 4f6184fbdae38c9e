//! skeeter's own extensions to libmosquitto's API, declared in include/skeeter.h
//! and exported under the symbol version `SKEETER_1.0` (see `symbols`).
//!
//! Each takes the `struct mosquitto *` it extends, returns a `MOSQ_ERR_*` code,
//! returns `MOSQ_ERR_INVAL` for a NULL handle, and may be called from any thread
//! and from callbacks.
