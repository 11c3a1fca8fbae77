//! Long-term validation material for what the gateway seals: the certificates, OCSP responses
//! and CRLs a verifier needs, years later and offline, to validate a seal and its timestamps
//! (the PAdES DSS dictionary, XAdES `CertificateValues`/`RevocationValues`).
//!
//! Owns: [`LtvData`], the bundle the PAdES and XAdES builders embed. Must not: decide job state
//! or log certificate contents beyond subjects and URLs.

/// Validation material to embed: DER certificates, DER `OCSPResponse`s and DER CRLs.
/// Duplicates are removed by [`LtvData::merge`]; order is kept (first seen first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LtvData {
    /// Certificates (signer and TSA chains, OCSP responder certificates, CRL issuers).
    pub certs: Vec<Vec<u8>>,
    /// Complete DER `OCSPResponse`s (not just the `BasicOCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
    /// DER `CertificateList`s.
    pub crls: Vec<Vec<u8>>,
}

impl LtvData {
    /// Adds everything in `other` that is not already here.
    pub fn merge(&mut self, other: LtvData) {
        fn add(into: &mut Vec<Vec<u8>>, from: Vec<Vec<u8>>) {
            for item in from {
                if !into.contains(&item) {
                    into.push(item);
                }
            }
        }
        add(&mut self.certs, other.certs);
        add(&mut self.ocsps, other.ocsps);
        add(&mut self.crls, other.crls);
    }

    /// Whether there is nothing to embed.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.ocsps.is_empty() && self.crls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let mut a = LtvData {
            certs: vec![vec![1], vec![2]],
            ocsps: vec![vec![9]],
            crls: vec![],
        };
        a.merge(LtvData {
            certs: vec![vec![2], vec![3]],
            ocsps: vec![vec![9]],
            crls: vec![vec![7]],
        });
        assert_eq!(a.certs, vec![vec![1], vec![2], vec![3]]);
        assert_eq!(a.ocsps, vec![vec![9]]);
        assert_eq!(a.crls, vec![vec![7]]);
        assert!(!a.is_empty());
        assert!(LtvData::default().is_empty());
    }
}
