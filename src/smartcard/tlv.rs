//! BER-TLV as PIV uses it: tags of one to three bytes, definite lengths up to 65535.

/// Encodes a length (`81 xx` / `82 xx xx` past 127).
pub fn len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xFF {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        let n = n.min(0xFFFF);
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
}

/// One TLV: `tag` (its bytes) then the length and `value`.
pub fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 4 + value.len());
    out.extend_from_slice(tag);
    len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

/// Reads one TLV at the start of `data`: (tag bytes, value, the rest).
pub fn parse(data: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let first = *data.first()?;
    let mut i = 1;
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes while bit 8 is set.
        loop {
            let b = *data.get(i)?;
            i += 1;
            if b & 0x80 == 0 || i > 3 {
                break;
            }
        }
    }
    let tag = &data[..i];
    let l0 = *data.get(i)?;
    i += 1;
    let n = match l0 {
        0..=0x7F => usize::from(l0),
        0x81 => {
            let n = usize::from(*data.get(i)?);
            i += 1;
            n
        }
        0x82 => {
            let n = usize::from(*data.get(i)?) << 8 | usize::from(*data.get(i + 1)?);
            i += 2;
            n
        }
        _ => return None,
    };
    let end = i.checked_add(n)?;
    let value = data.get(i..end)?;
    Some((tag, value, &data[end..]))
}

/// Every TLV of `data` in order (stops at the first malformed one).
pub fn items(mut data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while let Some((t, v, rest)) = parse(data) {
        out.push((t, v));
        data = rest;
    }
    out
}

/// The value of the first TLV of `data` with `tag`.
pub fn find<'a>(data: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    items(data)
        .into_iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 127, 128, 255, 256, 1000, 65535] {
            let v = vec![7u8; n];
            let t = tlv(&[0x5F, 0xC1, 0x05], &v);
            let (tag, value, rest) = parse(&t).unwrap();
            assert_eq!(tag, &[0x5F, 0xC1, 0x05]);
            assert_eq!(value.len(), n);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn truncated_input_is_refused() {
        assert!(parse(&[0x53, 0x05, 1, 2]).is_none());
        assert!(parse(&[0x53, 0x82, 0x01]).is_none());
        assert!(parse(&[]).is_none());
        let both = [tlv(&[0x70], b"abc"), tlv(&[0x71], &[0])].concat();
        assert_eq!(find(&both, &[0x71]), Some(&[0u8][..]));
        assert_eq!(items(&both).len(), 2);
    }
}
