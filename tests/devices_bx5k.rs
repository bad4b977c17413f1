//! Onbon BX-5K: byte-exact frames, escaping, replies, the stream extractor
//! and the board text.
//!
//! Vectors: the ping of DESIGN.md §5; and the annotated examples of the
//! public repository LuckyKoala/BX5KProtocol (`BX5KProtocol/BX4K.c`):
//! status query, clear screen and a complete real-time text area (A3/06)
//! frame. Those examples are a third party's captures, not Onbon's; each
//! one's CRC-16/ARC checks out, and the encoder reproduces them exactly.

use hallq::devices::board::BoardCall;
use hallq::devices::bx5k::frame::{self, FrameError};
use hallq::devices::bx5k::realtime::{self, AreaConfig};
use hallq::devices::bx5k::{self, Bx5kProfile, Command, FrameExtractor, Header, ReplyMode, Status};
use hallq::devices::encoding::TextEncoding;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

const PREAMBLE: &str = "A5 A5 A5 A5 A5 A5 A5 A5";

#[test]
fn ping_vector_from_design() {
    assert_eq!(
        bx5k::ping(&Header::default()),
        hex(&format!(
            "{PREAMBLE} 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00 68 F8 5A"
        ))
    );
}

#[test]
fn status_query_and_clear_screen_from_the_public_example() {
    assert_eq!(
        bx5k::query_status(&Header::default()),
        hex(&format!(
            "{PREAMBLE} 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A1 02 01 00 00 2D 40 5A"
        ))
    );
    assert_eq!(
        Command::simple(0xA3, 0x10)
            .encode(&Header::default())
            .unwrap(),
        hex(&format!(
            "{PREAMBLE} 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A3 10 01 00 00 51 F8 5A"
        ))
    );
}

/// The annotated A3/06 example, field by field (its own comments in Chinese).
fn annotated_example() -> Vec<u8> {
    hex(&[
        PREAMBLE,                              // 帧头
        "01 00 00 80 00 00 00 00 00 00 FE 02", // 设备信息及协议信息
        "32 00",                               // 数据长度 50
        "A3 06",                               // 命令分组，序号
        "01",                                  // 必须回复
        "2D",                                  // ProcessMode
        "00",                                  // 保留
        "00 01",                               // 不删除区域，更新一个区域
        "29 00",                               // 区域数据长度 41
        "00",                                  // 区域类型
        "00 00 00 00",                         // 区域XY坐标
        "18 00",                               // 区域宽度 24 × 8 = 192
        "20 00",                               // 区域高度 32
        "00",                                  // 动态区域编号
        "00 00",                               // 行间距0，动态区循环显示
        "02 00",                               // 超时时间 2 秒
        "00",                                  // 不使能语音
        "00 00",                               // 拓展位个数0，对齐方式
        "02 02",                               // 多行显示，自动换行
        "03 00 04 05",                         // 向左移动，退出方式，速度4，停留2.5秒
        "0E 00 00 00",                         // 数据长度 14
        "30 31 32 33 34 35",                   // "012345"
        "51 52 53 54 54 56 27 42",             // "QRSTTV'B"
        "A8 7D",                               // CRC16
        "5A",                                  // 帧尾
    ]
    .join(" "))
}

#[test]
fn realtime_text_area_matches_the_annotated_example() {
    let area = AreaConfig {
        width: 0x18,
        height: 0x20,
        display_mode: 3,
        speed: 4,
        stay: 5,
        ..AreaConfig::default()
    };
    let frame = realtime::frame(&Header::default(), &area, 0x2D, b"012345QRSTTV'B").unwrap();
    assert_eq!(frame, annotated_example());

    // And back, as a controller reads it.
    let packet = frame::decode(&frame).unwrap();
    assert_eq!(packet.header, Header::default());
    let cmd = Command::from_data(&packet.data).unwrap();
    assert_eq!((cmd.group, cmd.code), (realtime::GROUP, realtime::COMMAND));
    assert_eq!(cmd.reply, ReplyMode::Required);
    let shown = realtime::parse_payload(&cmd.payload).unwrap();
    assert_eq!(shown.text, b"012345QRSTTV'B");
    assert_eq!((shown.width, shown.height, shown.display_mode), (24, 32, 3));
}

#[test]
fn escaping_inside_a_frame() {
    // 'Z' = 5A, '[' = 5B, ァ = GB2312 A5 A1, and the area X 0x00A6.
    let (text, replaced) = TextEncoding::Gb2312.encode_lossy("Z[ァ", '?');
    assert_eq!(replaced, 0);
    assert_eq!(text, [0x5A, 0x5B, 0xA5, 0xA1]);
    let area = AreaConfig {
        x: 0xA6,
        ..AreaConfig::default()
    };
    let f = realtime::frame(&Header::default(), &area, 0, &text).unwrap();
    // Between the preamble and the end, no raw A5 or 5A.
    let body = &f[8..f.len() - 1];
    assert!(!body.contains(&0xA5) && !body.contains(&0x5A));
    let seq = |s: &[u8]| body.windows(s.len()).any(|w| w == s);
    assert!(seq(&[0x5B, 0x02, 0x5B, 0x01, 0xA6, 0x02, 0xA1]));
    assert!(seq(&[0xA6, 0x01, 0x00]));
    let packet = frame::decode(&f).unwrap();
    let cmd = Command::from_data(&packet.data).unwrap();
    let shown = realtime::parse_payload(&cmd.payload).unwrap();
    assert_eq!(shown.text, text);
    assert_eq!(shown.x, 0xA6);
}

#[test]
fn decoder_refuses_damage() {
    let good = bx5k::ping(&Header::default());
    // A flipped CRC byte.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x01;
    assert!(matches!(
        frame::decode(&bad),
        Err(FrameError::BadCrc { .. })
    ));
    // A data length that does not match.
    let mut bad = good.clone();
    bad[20] = 0x06;
    assert!(matches!(
        frame::decode(&bad),
        Err(FrameError::WrongLength { .. })
    ));
    // Not delimited.
    assert_eq!(
        frame::decode(&good[..good.len() - 1]),
        Err(FrameError::NotDelimited)
    );
    // Too short.
    assert!(matches!(
        frame::decode(&hex("A5 01 02 5A")),
        Err(FrameError::Truncated { .. })
    ));
    // A lone escape byte.
    assert_eq!(
        frame::decode(&hex("A5 01 A6 5A")),
        Err(FrameError::BadEscape(0xA6))
    );
    // One A5 is enough to start a frame (Onbon's receiver rule).
    assert!(frame::decode(&good[7..]).is_ok());
}

#[test]
fn replies_ack_and_other() {
    let ack = bx5k::ack_frame(1);
    let packet = frame::decode(&ack).unwrap();
    assert_eq!(packet.header.dst, 0x8000);
    assert_eq!(packet.header.src, 0x0001);
    assert_eq!(bx5k::status(&packet), Status::Ack);
    let other = frame::decode(&bx5k::ping(&Header::default())).unwrap();
    assert_eq!(
        bx5k::status(&other),
        Status::Other {
            group: 0xA2,
            code: 0x00
        }
    );
}

#[test]
fn extractor_garbage_split_and_interrupted() {
    let ping = bx5k::ping(&Header::default());
    let ack = bx5k::ack_frame(1);
    let mut stream = hex("00 13 5A 77");
    stream.extend_from_slice(&ping[..12]); // a frame cut short by …
    stream.extend_from_slice(&ack); // … the next one
    stream.extend_from_slice(&hex("42 42"));
    stream.extend_from_slice(&ping);
    for chunk in [1, 3, 5, 100] {
        let mut x = FrameExtractor::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            got.extend(x.push(piece));
        }
        assert_eq!(got.len(), 3, "chunks of {chunk}: {got:?}");
        assert_eq!(got[0], Err(FrameError::Interrupted));
        assert_eq!(bx5k::status(got[1].as_ref().unwrap()), Status::Ack);
        assert_eq!(
            got[2].as_ref().unwrap().data,
            [0xA2, 0x00, 0x01, 0x00, 0x00]
        );
        assert!(!x.in_frame());
    }
}

#[test]
fn extractor_bounds_an_endless_frame() {
    let mut x = FrameExtractor::new();
    let mut errors = 0;
    x.push(&[0xA5]);
    for _ in 0..10 {
        errors += x
            .push(&[0x11; 1000])
            .iter()
            .filter(|r| **r == Err(FrameError::Overlong))
            .count();
    }
    assert_eq!(errors, 1);
    assert!(!x.in_frame());
}

#[test]
fn board_frame_from_the_profile() {
    let p = Bx5kProfile::default();
    let f = p
        .frame(&[BoardCall::new("A012", 12), BoardCall::new("A011", 3)])
        .unwrap();
    let packet = frame::decode(&f).unwrap();
    assert_eq!(packet.header.dst, 1);
    let cmd = Command::from_data(&packet.data).unwrap();
    assert_eq!(cmd.extra, [0, 0]);
    let shown = realtime::parse_payload(&cmd.payload).unwrap();
    assert_eq!(
        TextEncoding::Gb2312.decode_lossy(&shown.text),
        format!("A012 → 12号窗口{}A011 → 3号窗口", " ".repeat(8))
    );
    assert_eq!(shown.display_mode, 1);
}

#[test]
fn text_limit() {
    let area = AreaConfig::default();
    assert!(
        realtime::frame(
            &Header::default(),
            &area,
            0,
            &vec![b'x'; realtime::TEXT_BYTES_MAX]
        )
        .is_ok()
    );
    assert!(matches!(
        realtime::frame(
            &Header::default(),
            &area,
            0,
            &vec![b'x'; realtime::TEXT_BYTES_MAX + 1]
        ),
        Err(FrameError::TooLong { .. })
    ));
}
