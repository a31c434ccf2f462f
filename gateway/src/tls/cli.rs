//! `gateway certs init | client`: a local CA and certificates for trying TLS out.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::certs;

/// `gateway certs`.
#[derive(Debug, Args)]
#[command(
    about = "Make a local CA, a server certificate and client certificates for trying TLS out",
    long_about = "Make a local certificate authority, a server certificate and client certificates \
for trying TLS out and for tests. Keys are ECDSA P-256, written with mode 0600 and never printed; \
no file is ever overwritten. Production uses the operator's own PKI.\n\n\
  gateway certs init --dir certs --host 127.0.0.1 --host localhost\n\
  gateway certs client ps-001 --dir certs\n\n\
Then in gateway.toml:\n\
  [devices]\n\
  listen = \"0.0.0.0:8883\"\n\
  tls = { cert = \"certs/server.pem\", key = \"certs/server.key\", client_ca = \"certs/ca.pem\" }"
)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCommand,
}

/// What to make.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Make a CA (ca.pem, ca.key) and a server certificate (server.pem, server.key) for the
    /// given hosts in DIR.
    Init {
        /// Folder for the files (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// A DNS name or IP address clients connect to (repeatable; the first is also the
        /// certificate's CN). Default: localhost and 127.0.0.1.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Make a client certificate with CN = ID (ID.pem, ID.key), signed by the CA in DIR. On
    /// the device port, with `client_ca`, it connects as identity ID without a password.
    Client {
        /// The identity: a device id, or any identity of the credentials file.
        id: String,
        /// Folder holding the CA made by `gateway certs init`.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Runs `gateway certs`, saying on `out` which files were written (never their contents).
pub fn run(args: CertsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        CertsCommand::Init { dir, hosts } => {
            let made = certs::init(&dir, &hosts)?;
            writeln!(out, "CA certificate:     {}", made.ca_cert.display())?;
            writeln!(
                out,
                "CA key:             {} (mode 0600)",
                made.ca_key.display()
            )?;
            writeln!(out, "server certificate: {}", made.server_cert.display())?;
            writeln!(
                out,
                "server key:         {} (mode 0600)",
                made.server_key.display()
            )?;
        }
        CertsCommand::Client { id, dir } => {
            let made = certs::client(&dir, &id)?;
            writeln!(out, "client certificate (CN={id}): {}", made.cert.display())?;
            writeln!(out, "client key: {} (mode 0600)", made.key.display())?;
        }
    }
    Ok(())
}
