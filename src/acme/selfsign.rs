//! `letsencrypt_self_sign_only`: a local throwaway CA instead of ACME, as
//! OpenDev's gate does, but with every SAN on the certificate (OpenDev's
//! self-signed certificates had none, so CI could not catch SAN mistakes).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::config::KeyType;

/// Lifetime of self-signed certificates.
const LIFETIME_DAYS: i64 = 90;

/// A self-signed leaf: (key PEM, leaf PEM, CA PEM).
pub fn issue(names: &[String], kind: KeyType) -> Result<(String, String, String), rcgen::Error> {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "certbridge throwaway CA");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(LIFETIME_DAYS + 1);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = super::keys::generate(kind)?;
    let mut leaf = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    if let Some(first) = names.first() {
        dn.push(DnType::CommonName, first.as_str());
    }
    leaf.distinguished_name = dn;
    leaf.not_before = now - time::Duration::hours(1);
    leaf.not_after = now + time::Duration::days(LIFETIME_DAYS);
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok((key.serialize_pem(), cert.pem(), ca_cert.pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_has_every_san() {
        let names = vec!["a.example.org".to_owned(), "b.example.org".to_owned()];
        let (key, leaf, ca) = issue(&names, KeyType::EcdsaP256).expect("issue");
        assert!(key.contains("PRIVATE KEY"));
        let info = crate::x509::leaf_info(leaf.as_bytes()).expect("parse");
        assert_eq!(info.sans, names);
        assert!(info.issuer.contains("throwaway"), "{}", info.issuer);
        assert!(crate::x509::leaf_info(ca.as_bytes()).is_ok());
    }
}
