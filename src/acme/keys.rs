//! Certificate keys and CSRs (rcgen). Every issuance gets a fresh key of the
//! configured type; the account key is instant-acme's (P-256).

use rcgen::{CertificateParams, DistinguishedName, KeyPair, RsaKeySize};

use crate::config::KeyType;

/// A fresh private key of `kind`.
pub fn generate(kind: KeyType) -> Result<KeyPair, rcgen::Error> {
    match kind {
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
        KeyType::Rsa4096 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
    }
}

/// A DER CSR for `names` signed by `key`. The subject is empty: the names
/// are in the SAN extension, which is what CAs use.
pub fn csr(names: &[String], key: &KeyPair) -> Result<Vec<u8>, rcgen::Error> {
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = DistinguishedName::new();
    Ok(params.serialize_request(key)?.der().to_vec())
}

/// Split a PEM chain as the CA sends it into (leaf, rest of the chain).
pub fn split_chain(pem: &str) -> Option<(String, String)> {
    const END: &str = "-----END CERTIFICATE-----";
    let end = pem.find(END)? + END.len();
    let leaf = format!("{}\n", pem[..end].trim());
    let rest = pem[end..].trim();
    let chain = if rest.is_empty() {
        String::new()
    } else {
        format!("{rest}\n")
    };
    Some((leaf, chain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_type_makes_a_csr() {
        for kind in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
            let key = generate(kind).expect("key");
            let der = csr(&["a.example.org".into(), "*.a.example.org".into()], &key).expect("csr");
            assert!(der.len() > 100, "{kind:?}");
            assert!(key.serialize_pem().contains("PRIVATE KEY"));
        }
    }

    #[test]
    fn chain_splits_into_leaf_and_rest() {
        let a = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----";
        let b = "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----";
        let (leaf, chain) = split_chain(&format!("{a}\n{b}\n")).expect("split");
        assert_eq!(leaf, format!("{a}\n"));
        assert_eq!(chain, format!("{b}\n"));
        assert!(split_chain("garbage").is_none());
    }
}
