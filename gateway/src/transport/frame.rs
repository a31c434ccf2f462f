//! Reading MQTT 3.1.1 packets off a device's socket with rumqttc's codec, and what to do with
//! a PUBLISH larger than the limit: its topic and packet id are read, its payload skipped
//! without being held in memory, so that it can be dead-lettered and acknowledged like any
//! other reject instead of dropping the connection (which would make the device resend it
//! forever).

use bytes::{Buf, BytesMut};
use rumqttc::mqttbytes::{self, v4::Packet, QoS};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The first bytes of an oversized payload kept for its dead letter.
pub const OVERSIZED_HEAD: usize = 1024;

/// What came off the socket.
#[derive(Debug)]
pub enum Frame {
    /// A whole packet.
    Packet(Packet),
    /// A PUBLISH over the size limit, its payload skipped.
    Oversized {
        /// Its topic.
        topic: String,
        /// Its packet id (0 at QoS 0).
        pkid: u16,
        /// Its QoS.
        qos: QoS,
        /// Its whole size on the wire, bytes.
        bytes: usize,
        /// The first bytes of its payload.
        head: Vec<u8>,
    },
}

/// Why a connection's input ended.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The device closed the connection.
    #[error("connection closed by the device")]
    Closed,
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Not MQTT 3.1.1, or a malformed packet.
    #[error("protocol error: {0}")]
    Protocol(mqttbytes::Error),
}

/// Reads the next frame; packets over `max` bytes (remaining length) are skipped when they
/// are PUBLISH packets and are protocol errors otherwise.
pub async fn next<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Frame, FrameError> {
    loop {
        match Packet::read(buf, max) {
            Ok(p) => return Ok(Frame::Packet(p)),
            Err(mqttbytes::Error::InsufficientBytes(_)) => fill(rd, buf).await?,
            Err(mqttbytes::Error::PayloadSizeLimitExceeded(remaining)) => {
                return oversized(rd, buf, remaining).await
            }
            Err(e) => return Err(FrameError::Protocol(e)),
        }
    }
}

/// The next whole packet already in `buf`, without reading: `None` when more bytes are
/// needed, or when the next packet is over the limit (left for [`next`], which skips it).
pub fn ready(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, FrameError> {
    match Packet::read(buf, max) {
        Ok(p) => Ok(Some(Frame::Packet(p))),
        Err(mqttbytes::Error::InsufficientBytes(_))
        | Err(mqttbytes::Error::PayloadSizeLimitExceeded(_)) => Ok(None),
        Err(e) => Err(FrameError::Protocol(e)),
    }
}

async fn fill<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> Result<(), FrameError> {
    buf.reserve(8192);
    if rd.read_buf(buf).await? == 0 {
        return Err(FrameError::Closed);
    }
    Ok(())
}

/// Length of the fixed header (type byte and remaining-length bytes) at the start of `buf`.
fn header_len(buf: &[u8]) -> Option<usize> {
    buf.iter()
        .skip(1)
        .take(4)
        .position(|b| b & 0x80 == 0)
        .map(|i| i + 2)
}

async fn oversized<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    remaining: usize,
) -> Result<Frame, FrameError> {
    let first = buf[0];
    if first >> 4 != 3 {
        return Err(FrameError::Protocol(
            mqttbytes::Error::PayloadSizeLimitExceeded(remaining),
        ));
    }
    let qos = mqttbytes::qos((first >> 1) & 0b11).map_err(FrameError::Protocol)?;
    let fixed = header_len(buf).ok_or(FrameError::Protocol(
        mqttbytes::Error::MalformedRemainingLength,
    ))?;
    let total = fixed + remaining;
    // The variable header: topic length, topic, packet id (QoS > 0).
    while buf.len() < fixed + 2 {
        fill(rd, buf).await?;
    }
    let topic_len = u16::from_be_bytes([buf[fixed], buf[fixed + 1]]) as usize;
    let id_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
    let var = 2 + topic_len + id_len;
    if var > remaining {
        return Err(FrameError::Protocol(mqttbytes::Error::MalformedPacket));
    }
    while buf.len() < fixed + var {
        fill(rd, buf).await?;
    }
    let topic = String::from_utf8(buf[fixed + 2..fixed + 2 + topic_len].to_vec())
        .map_err(|_| FrameError::Protocol(mqttbytes::Error::TopicNotUtf8))?;
    let pkid = if id_len == 2 {
        u16::from_be_bytes([buf[fixed + 2 + topic_len], buf[fixed + 3 + topic_len]])
    } else {
        0
    };
    buf.advance(fixed + var);
    let mut left = total - fixed - var;
    let mut head = Vec::with_capacity(OVERSIZED_HEAD);
    loop {
        let take = left.min(buf.len());
        let keep = take.min(OVERSIZED_HEAD - head.len());
        head.extend_from_slice(&buf[..keep]);
        buf.advance(take);
        left -= take;
        if left == 0 {
            break;
        }
        buf.clear();
        fill(rd, buf).await?;
    }
    Ok(Frame::Oversized {
        topic,
        pkid,
        qos,
        bytes: total,
        head,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::mqttbytes::v4::{PingReq, Publish};

    fn wire(packets: &[Packet]) -> Vec<u8> {
        let mut b = BytesMut::new();
        for p in packets {
            p.write(&mut b, usize::MAX).unwrap();
        }
        b.to_vec()
    }

    #[tokio::test]
    async fn an_oversized_publish_is_skipped_and_the_next_packet_still_reads() {
        let mut big = Publish::new(
            "district/d/sensors/air/a1",
            QoS::AtLeastOnce,
            vec![b'x'; 100_000],
        );
        big.pkid = 42;
        let small = Publish::new("district/d/sensors/air/a1", QoS::AtMostOnce, b"{}".to_vec());
        let bytes = wire(&[
            Packet::Publish(big),
            Packet::Publish(small.clone()),
            Packet::PingReq,
        ]);
        // Delivered in small pieces, as a slow socket would.
        let mut rd = tokio_test_reader(bytes, 777);
        let mut buf = BytesMut::new();
        match next(&mut rd, &mut buf, 4096).await.unwrap() {
            Frame::Oversized {
                topic,
                pkid,
                qos,
                bytes,
                head,
            } => {
                assert_eq!(topic, "district/d/sensors/air/a1");
                assert_eq!((pkid, qos), (42, QoS::AtLeastOnce));
                assert!(bytes > 100_000);
                assert_eq!(head.len(), OVERSIZED_HEAD);
                assert!(head.iter().all(|&b| b == b'x'));
            }
            other => panic!("{other:?}"),
        }
        match next(&mut rd, &mut buf, 4096).await.unwrap() {
            Frame::Packet(Packet::Publish(p)) => assert_eq!(p.payload, small.payload),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            next(&mut rd, &mut buf, 4096).await.unwrap(),
            Frame::Packet(Packet::PingReq)
        ));
        assert!(matches!(
            next(&mut rd, &mut buf, 4096).await,
            Err(FrameError::Closed)
        ));
        let _ = PingReq;
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error() {
        let mut rd = tokio_test_reader(vec![0xF0, 0x00, 1, 2, 3], 5);
        let mut buf = BytesMut::new();
        assert!(matches!(
            next(&mut rd, &mut buf, 4096).await,
            Err(FrameError::Protocol(_))
        ));
    }

    /// A reader that yields `bytes` at most `chunk` bytes per read.
    fn tokio_test_reader(bytes: Vec<u8>, chunk: usize) -> impl AsyncRead + Unpin {
        struct Chunks(std::collections::VecDeque<Vec<u8>>);
        impl AsyncRead for Chunks {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                out: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if let Some(c) = self.0.pop_front() {
                    out.put_slice(&c);
                }
                std::task::Poll::Ready(Ok(()))
            }
        }
        Chunks(bytes.chunks(chunk).map(<[u8]>::to_vec).collect())
    }
}
