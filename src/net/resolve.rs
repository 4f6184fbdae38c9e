//! Host name resolution through the system's `getaddrinfo`, so failures keep
//! their `EAI_*` code and the resolver honours /etc/hosts, nsswitch and
//! `AI_ADDRCONFIG` exactly as libmosquitto's does.

use std::ffi::{CStr, CString};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::error::NetError;

/// Every stream address `host` resolves to, with `port`, in the resolver's order.
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
    let c_host = CString::new(host).map_err(|_| NetError::Lookup {
        code: libc::EAI_NONAME,
        message: "host name contains a NUL byte".into(),
    })?;
    let addrs = getaddrinfo(&c_host)?;
    if addrs.is_empty() {
        return Err(NetError::Lookup {
            code: libc::EAI_NONAME,
            message: "no usable address".into(),
        });
    }
    Ok(addrs
        .into_iter()
        .map(|mut a| {
            a.set_port(port);
            a
        })
        .collect())
}

/// The IPv4 and IPv6 stream addresses of `host` (ports left at 0).
fn getaddrinfo(host: &CStr) -> Result<Vec<SocketAddr>, NetError> {
    // SAFETY: an all-zero addrinfo is the documented way to start a hints value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();

    // SAFETY: `host` is a valid C string, `hints` lives across the call, and
    // `list` receives a list we free below with freeaddrinfo.
    let code = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), &hints, &mut list) };
    if code != 0 {
        // SAFETY: gai_strerror returns a static, NUL-terminated message.
        let message = unsafe { CStr::from_ptr(libc::gai_strerror(code)) };
        return Err(NetError::Lookup {
            code,
            message: message.to_string_lossy().into_owned(),
        });
    }

    let mut addrs = Vec::new();
    let mut node = list;
    while !node.is_null() {
        // SAFETY: `node` is an element of the list getaddrinfo returned, not yet freed;
        // each ai_addr points to a sockaddr of the family ai_family names.
        unsafe {
            let info = &*node;
            match info.ai_family {
                libc::AF_INET => {
                    let sin = &*(info.ai_addr as *const libc::sockaddr_in);
                    let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                    addrs.push(SocketAddr::V4(SocketAddrV4::new(ip, 0)));
                }
                libc::AF_INET6 => {
                    let sin6 = &*(info.ai_addr as *const libc::sockaddr_in6);
                    let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                    addrs.push(SocketAddr::V6(SocketAddrV6::new(
                        ip,
                        0,
                        sin6.sin6_flowinfo,
                        sin6.sin6_scope_id,
                    )));
                }
                _ => {}
            }
            node = info.ai_next;
        }
    }
    // SAFETY: `list` came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_ipv4_address_resolves_to_itself_with_the_port() {
        let addrs = resolve("127.0.0.1", 1883).unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:1883".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn a_numeric_ipv6_address_resolves_to_itself_with_the_port() {
        let addrs = resolve("::1", 8883).unwrap();
        assert_eq!(addrs, vec!["[::1]:8883".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn localhost_resolves_to_a_loopback_address() {
        let addrs = resolve("localhost", 1).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 1));
    }

    #[test]
    fn an_unknown_host_is_a_lookup_failure_with_its_eai_code() {
        match resolve("no-such-host.invalid", 1883) {
            Err(NetError::Lookup { code, .. }) => assert_ne!(code, 0),
            other => panic!("expected a lookup failure, got {other:?}"),
        }
    }
}
