//! HAProxy's hash functions (`hash-type … sdbm|djb2|wt6|crc32|none` and the
//! `avalanche` modifier) and the key `balance source` derives from an
//! address.

use std::net::IpAddr;

/// Thomas Wang's 32-bit integer mix (HAProxy's `full_hash()`), applied by
/// `avalanche` and by consistent hashing by default.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

pub fn sdbm(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

pub fn djb2(b: &[u8]) -> u32 {
    b.iter().fold(5381u32, |h, &c| {
        (h << 5).wrapping_add(h).wrapping_add(u32::from(c))
    })
}

pub fn wt6(b: &[u8]) -> u32 {
    let (mut h0, mut h1, mut s0, mut s1) = (0xa53c_965au32, 0x5ca6_953au32, 6u32, 18u32);
    for &t in b {
        let t = u32::from(t);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t2 = h1.rotate_left(s0);
        h1 = h0.rotate_left(s1);
        h0 = t2;
        let t3 = ((h0 >> 16) ^ h1) & 0xffff;
        s0 = t3 & 0x1f;
        s1 = t3 >> 11;
    }
    h0 ^ h1
}

pub fn crc32(b: &[u8]) -> u32 {
    let mut h = u32::MAX;
    for &c in b {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 == 1 { 0xedb8_8320 } else { 0 };
        }
    }
    !h
}

/// `balance source`'s key: the address's 32-bit big-endian words XORed.
pub fn source_key(ip: IpAddr) -> u32 {
    let bytes: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    bytes
        .chunks_exact(4)
        .fold(0, |h, w| h ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        assert_eq!(sdbm(b""), 0);
        assert_eq!(djb2(b""), 5381);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(sdbm(b"a"), 97);
        assert_eq!(djb2(b"a"), 5381 * 33 + 97);
        assert_eq!(source_key("127.0.0.1".parse().unwrap()), 0x7f00_0001);
        assert_eq!(
            source_key("::1".parse().unwrap()),
            1,
            "IPv6: XOR of the four words"
        );
        // full_hash is a bijection that moves small keys far apart
        assert_ne!(full_hash(1), full_hash(2));
        assert_eq!(full_hash(0), full_hash(0));
    }
}
