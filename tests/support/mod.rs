//! Helpers shared by the integration tests. Each test binary includes this with
//! `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod broker;
pub mod fake_broker;
pub mod fake_ws_server;
pub mod fault_proxy;
pub mod own_loop;
pub mod publisher;
pub mod rabbitmq;
pub mod rabbitmq_cluster;
pub mod seen;
pub mod stage;
pub mod tls;
