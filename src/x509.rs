//! The few facts certbridge needs from an X.509 certificate.

use jiff::Timestamp;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

/// Facts about a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    /// DNS subject alternative names, in order.
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Issuer DN as text.
    pub issuer: String,
    /// Subject DN as text.
    pub subject: String,
}

/// Parse the first certificate of a PEM buffer.
pub fn leaf_info(pem: &[u8]) -> Result<LeafInfo, String> {
    let first = Pem::iter_from_buffer(pem)
        .next()
        .ok_or_else(|| "no PEM block found".to_owned())?
        .map_err(|e| format!("bad PEM: {e}"))?;
    let cert = first
        .parse_x509()
        .map_err(|e| format!("bad certificate: {e}"))?;
    let ts = |t: i64| Timestamp::from_second(t).map_err(|e| format!("bad validity time: {e}"));
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            if let GeneralName::DNSName(n) = name {
                sans.push((*n).to_owned());
            }
        }
    }
    Ok(LeafInfo {
        sans,
        not_before: ts(cert.validity().not_before.timestamp())?,
        not_after: ts(cert.validity().not_after.timestamp())?,
        serial: cert.tbs_certificate.raw_serial_as_string().replace(':', ""),
        issuer: cert.issuer().to_string(),
        subject: cert.subject().to_string(),
    })
}

/// Does the leaf certificate (PEM) carry the public key of `key_pem`?
pub fn key_matches(cert_pem: &str, key_pem: &str) -> bool {
    let Ok(key) = rcgen::KeyPair::from_pem(key_pem) else {
        return false;
    };
    let Some(Ok(pem)) = Pem::iter_from_buffer(cert_pem.as_bytes()).next() else {
        return false;
    };
    let Ok(cert) = pem.parse_x509() else {
        return false;
    };
    cert.public_key().raw == rcgen::PublicKeyData::subject_public_key_info(&key).as_slice()
}
