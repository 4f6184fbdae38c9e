//! The C boundary: the only `extern "C"` code in the crate.
