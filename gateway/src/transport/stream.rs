//! A device's connection, plain TCP or TLS, split into its read and write halves.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A connection the device port serves.
pub(crate) trait DeviceStream: Send + 'static {
    /// The read half.
    type Read: AsyncRead + Unpin + Send + 'static;
    /// The write half.
    type Write: AsyncWrite + Unpin + Send + 'static;
    /// Splits the connection (TCP without a lock between the halves).
    fn split(self) -> (Self::Read, Self::Write);
}

impl DeviceStream for TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl DeviceStream for tokio_rustls::server::TlsStream<TcpStream> {
    type Read = tokio::io::ReadHalf<Self>;
    type Write = tokio::io::WriteHalf<Self>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}
