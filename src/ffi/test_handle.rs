//! For the unit tests of the option calls: a fresh handle, destroyed when dropped.

use super::client::{mosquitto_destroy, mosquitto_new};
use super::types::mosquitto;

pub struct Handle(pub *mut mosquitto);

impl Handle {
    pub fn new() -> Handle {
        Handle(unsafe { mosquitto_new(c"test".as_ptr(), true, std::ptr::null_mut()) })
    }

    /// A copy of the options the calls have set.
    pub fn options(&self) -> crate::client::Options {
        unsafe { &(*self.0).client }.lock().options.clone()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { mosquitto_destroy(self.0) };
    }
}
