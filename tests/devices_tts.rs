//! TTS chips: DESIGN.md's datasheet vectors byte for byte, replies, long
//! texts split into frames, and the chip's side of the line.

use hallq::devices::encoding::TextEncoding;
use hallq::devices::profile::{DeviceProfile, builtin_profiles};
use hallq::devices::tts::frame::FrameError;
use hallq::devices::tts::{self, Reply, syn6288, xfs5152};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn syn6288_datasheet_vectors() {
    let frames = syn6288::speak_frames("宇音天下", TextEncoding::Gb2312, 0).unwrap();
    assert_eq!(frames, [hex("FD 00 0B 01 00 D3 EE D2 F4 CC EC CF C2 C1")]);
    assert_eq!(syn6288::stop(), hex("FD 00 02 02 FD"));
    assert_eq!(syn6288::status_query(), hex("FD 00 02 21 DE"));
}

#[test]
fn xfs5152_datasheet_vector() {
    let frames = xfs5152::speak_frames("科大讯飞", TextEncoding::Utf16le).unwrap();
    assert_eq!(frames, [hex("FD 00 0A 01 03 D1 79 27 59 AF 8B DE 98")]);
}

#[test]
fn syn6288_param_byte() {
    // GBK (1) with background music 3: 3 << 3 | 1 = 0x19.
    let f = syn6288::speak_frames("宇音天下", TextEncoding::Gbk, 3).unwrap();
    assert_eq!(f[0][4], 0x19);
    // UTF-16BE (3): 宇 = U+5B87.
    let f = syn6288::speak_frames("宇", TextEncoding::Utf16be, 0).unwrap();
    assert_eq!(f[0], {
        let mut v = hex("FD 00 05 01 03 5B 87");
        let x = v.iter().fold(0, |a, b| a ^ b);
        v.push(x);
        v
    });
}

#[test]
fn reply_bytes() {
    let replies: Vec<Reply> = tts::decode_replies(&hex("41 4E 4F 45 4A 99")).collect();
    assert_eq!(
        replies,
        [
            Reply::Accepted,
            Reply::Busy,
            Reply::Idle,
            Reply::Rejected,
            Reply::Initialized,
            Reply::Unknown(0x99)
        ]
    );
}

#[test]
fn a_call_as_the_chips_receive_it() {
    let profiles = builtin_profiles().unwrap();
    let DeviceProfile::Syn6288(syn) = &profiles["syn6288.toml"].device else {
        panic!("syn6288.toml is not a SYN6288 profile");
    };
    let text = syn.announcement_text("A012", 12);
    assert_eq!(text, "[v10][t5]请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理");
    let frames = syn.announcement_frames("A012", 12).unwrap();
    assert_eq!(frames.len(), 1);
    let cmd = syn6288::decode_frame(&frames[0]).unwrap();
    assert_eq!(cmd.text().unwrap(), text);

    let DeviceProfile::Xfs5152(xfs) = &profiles["xfs5152ce.toml"].device else {
        panic!("xfs5152ce.toml is not an XFS5152 profile");
    };
    let frames = xfs.announcement_frames("B101", 110).unwrap();
    let cmd = xfs5152::decode_frame(&frames[0]).unwrap();
    assert_eq!(
        cmd.text().unwrap(),
        "[v8][s5]请B[n1][y1]101[n0]号到[n2]110[n0]号窗口办理"
    );
}

#[test]
fn long_texts_fit_the_chips() {
    let notice = "各位办事群众请注意：本中心午间十二点至一点暂停取号，下午一点恢复办理。请带好身份证件，保管好随身物品！".repeat(6);
    for enc in [
        TextEncoding::Gb2312,
        TextEncoding::Gbk,
        TextEncoding::Big5,
        TextEncoding::Utf16be,
    ] {
        let frames = syn6288::speak_frames(&notice, enc, 0).unwrap();
        assert!(frames.len() > 1);
        let mut spoken = String::new();
        for f in &frames {
            assert!(f.len() - 6 <= syn6288::TEXT_BYTES_MAX, "{}", f.len());
            spoken.push_str(&syn6288::decode_frame(f).unwrap().text().unwrap());
        }
        if enc != TextEncoding::Big5 {
            assert_eq!(spoken, notice, "{enc:?}");
        }
        // Frames end at sentence ends while the text allows it.
        let first = syn6288::decode_frame(&frames[0]).unwrap().text().unwrap();
        assert!(
            first.ends_with('。') || first.ends_with('！'),
            "{enc:?}: {first}"
        );
    }
}

#[test]
fn chip_side_extraction() {
    let mut stream = hex("00 FD FD 00");
    stream.extend(syn6288::speak_frames("请A012号", TextEncoding::Gbk, 0).unwrap()[0].clone());
    stream.extend(hex("13"));
    stream.extend(syn6288::status_query());
    let mut corrupt = syn6288::stop();
    corrupt[3] = 0x03; // now "pause" with the stop's XOR
    stream.extend(corrupt);
    let mut x = syn6288::frame_extractor();
    let mut got = Vec::new();
    for piece in stream.chunks(3) {
        got.extend(x.push(piece));
    }
    assert_eq!(got.len(), 3, "{got:?}");
    let first = syn6288::Command::from_data(got[0].as_ref().unwrap()).unwrap();
    assert_eq!(first.text().unwrap(), "请A012号");
    assert_eq!(
        syn6288::Command::from_data(got[1].as_ref().unwrap()),
        Some(syn6288::Command::Status)
    );
    assert!(matches!(got[2], Err(FrameError::BadChecksum { .. })));

    // Without a checksum, only a known command tells a frame from noise
    // that happens to hold 0xFD and a plausible length.
    let mut x = xfs5152::frame_extractor();
    let mut stream = hex("FD 00 03 77");
    stream.extend(xfs5152::stop());
    let got = x.push(&stream);
    assert_eq!(got, [Ok(vec![xfs5152::CMD_STOP])]);

    let mut x = xfs5152::frame_extractor();
    let f = xfs5152::speak_frames("科大讯飞", TextEncoding::Utf16le).unwrap();
    let mut got = x.push(&f[0][..5]);
    got.extend(x.push(&f[0][5..]));
    assert_eq!(got.len(), 1);
    assert_eq!(
        xfs5152::Command::from_data(got[0].as_ref().unwrap())
            .unwrap()
            .text()
            .unwrap(),
        "科大讯飞"
    );
}

#[test]
fn decoders_refuse_damage() {
    assert_eq!(syn6288::decode_frame(&[]), Err(FrameError::NoHead));
    assert!(matches!(
        syn6288::decode_frame(&hex("FD 00")),
        Err(FrameError::Truncated { .. })
    ));
    assert!(matches!(
        syn6288::decode_frame(&hex("FD 00 03 02 FD")),
        Err(FrameError::WrongLength { .. })
    ));
    assert!(matches!(
        syn6288::decode_frame(&hex("FD 00 02 02 FC")),
        Err(FrameError::BadChecksum { .. })
    ));
    assert!(matches!(
        xfs5152::decode_frame(&hex("FD FF FF 01")),
        Err(FrameError::LengthOutOfRange(0xFFFF))
    ));
    assert_eq!(
        xfs5152::decode_frame(&hex("FD 00 01 02")),
        Ok(xfs5152::Command::Stop)
    );
}
