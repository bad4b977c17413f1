//! CRC-16 with the reflected polynomial 0xA001 (x¹⁶ + x¹⁵ + x² + 1), the
//! one both Modbus RTU and Onbon's BX-5K use; they differ only in the
//! initial value:
//!
//! | user | init | catalogue name | check vector |
//! |---|---|---|---|
//! | Modbus RTU | 0xFFFF | CRC-16/MODBUS | `01 03 00 00 00 0A` → 0xCDC5 (sent `C5 CD`) |
//! | Onbon BX-5K | 0x0000 | CRC-16/ARC | the BX-5K ping → 0xF868 (sent `68 F8`) |
//!
//! Both are sent low byte first. The table is built at compile time.

const POLY_REFLECTED: u16 = 0xA001;

const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// CRC-16 over `bytes`, reflected polynomial 0xA001, starting from `init`,
/// no final XOR.
pub fn crc16_a001(init: u16, bytes: &[u8]) -> u16 {
    bytes.iter().fold(init, |crc, &b| {
        (crc >> 8) ^ TABLE[usize::from((crc ^ u16::from(b)) & 0xFF)]
    })
}

/// CRC-16/MODBUS (init 0xFFFF).
pub fn crc16_modbus(bytes: &[u8]) -> u16 {
    crc16_a001(0xFFFF, bytes)
}

/// CRC-16/ARC (init 0x0000), as the BX-5K uses it.
pub fn crc16_arc(bytes: &[u8]) -> u16 {
    crc16_a001(0x0000, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference, to check the table.
    fn slow(init: u16, bytes: &[u8]) -> u16 {
        let mut crc = init;
        for &b in bytes {
            crc ^= u16::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn modbus_vector_from_design() {
        assert_eq!(crc16_modbus(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A]), 0xCDC5);
    }

    #[test]
    fn catalogue_check_values() {
        // The catalogue's check input "123456789".
        assert_eq!(crc16_modbus(b"123456789"), 0x4B37);
        assert_eq!(crc16_arc(b"123456789"), 0xBB3D);
    }

    #[test]
    fn table_matches_bitwise() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in [0, 1, 2, 7, 100, data.len()] {
            assert_eq!(crc16_modbus(&data[..len]), slow(0xFFFF, &data[..len]));
            assert_eq!(crc16_arc(&data[..len]), slow(0, &data[..len]));
        }
    }
}
