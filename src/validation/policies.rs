//! RFC 5280 certificate policy processing (§6.1.2 (a), (d)–(f), §6.1.3 (d)–(f),
//! §6.1.4 (a)–(b), (h)–(j), §6.1.5 (a)–(b), (g)) with user-initial-policy-set
//! `anyPolicy` and every initial flag false, as EN 319 102-1's X.509 validation runs it.
//!
//! Owns: reading certificatePolicies, policyMappings, policyConstraints and
//! inhibitAnyPolicy of a path and deciding whether the valid policy tree survives where
//! a CA required an explicit policy. The tree is kept level by level as
//! (valid_policy, expected_policy_set) nodes: without qualifiers to report, that is all
//! the algorithm's outcome depends on.
//! Must not touch: path building, validity, revocation, name constraints (`chain`
//! calls [`check_path`] with the path it built), or which policies a *signature* needs
//! (qualification reads the QC policies itself).

use der::Decode;
use der::oid::ObjectIdentifier as Oid;
use x509_cert::Certificate;
use x509_cert::ext::pkix::constraints::PolicyConstraints;
use x509_cert::ext::pkix::{CertificatePolicies, InhibitAnyPolicy, PolicyMappings};

const ANY_POLICY: Oid = Oid::new_unwrap("2.5.29.32.0");
const OID_POLICIES: &str = "2.5.29.32";
const OID_MAPPINGS: &str = "2.5.29.33";
const OID_CONSTRAINTS: &str = "2.5.29.36";
const OID_INHIBIT_ANY: &str = "2.5.29.54";
/// Most nodes kept on one level of the tree (a hostile path could multiply them).
const MAX_NODES: usize = 1024;

/// Why a path fails policy processing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// An extension could not be decoded.
    #[error("{0} is malformed")]
    Malformed(&'static str),
    /// policyMappings maps to or from anyPolicy (§6.1.4 (a)).
    #[error("policyMappings maps anyPolicy")]
    MapsAnyPolicy,
    /// A CA required an explicit policy and no policy is valid for the whole path.
    #[error(
        "an explicit certificate policy is required (requireExplicitPolicy) but no policy is valid for the whole path"
    )]
    NoValidPolicy,
    /// Too many policy nodes.
    #[error("the certificate policies of the path are too many to process")]
    TooMany,
}

/// The policy-related extensions of one certificate.
#[derive(Debug, Default)]
struct Facts {
    policies: Option<Vec<Oid>>,
    mappings: Vec<(Oid, Oid)>,
    require_explicit: Option<u32>,
    inhibit_mapping: Option<u32>,
    inhibit_any: Option<u32>,
}

fn facts(der: &[u8]) -> Result<Facts, PolicyError> {
    let cert = Certificate::from_der(der).map_err(|_| PolicyError::Malformed("certificate"))?;
    let mut f = Facts::default();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let v = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            OID_POLICIES => {
                let p = CertificatePolicies::from_der(v)
                    .map_err(|_| PolicyError::Malformed("certificatePolicies"))?;
                let mut ids: Vec<Oid> = Vec::new();
                for pi in p.0.iter().take(MAX_NODES) {
                    if !ids.contains(&pi.policy_identifier) {
                        ids.push(pi.policy_identifier);
                    }
                }
                f.policies = Some(ids);
            }
            OID_MAPPINGS => {
                let m = PolicyMappings::from_der(v)
                    .map_err(|_| PolicyError::Malformed("policyMappings"))?;
                f.mappings =
                    m.0.iter()
                        .take(MAX_NODES)
                        .map(|m| (m.issuer_domain_policy, m.subject_domain_policy))
                        .collect();
            }
            OID_CONSTRAINTS => {
                let c = PolicyConstraints::from_der(v)
                    .map_err(|_| PolicyError::Malformed("policyConstraints"))?;
                f.require_explicit = c.require_explicit_policy;
                f.inhibit_mapping = c.inhibit_policy_mapping;
            }
            OID_INHIBIT_ANY => {
                let c = InhibitAnyPolicy::from_der(v)
                    .map_err(|_| PolicyError::Malformed("inhibitAnyPolicy"))?;
                f.inhibit_any = Some(c.0);
            }
            _ => {}
        }
    }
    Ok(f)
}

/// One node of a tree level: the valid policy and its expected policy set.
#[derive(Debug, Clone)]
struct Node {
    valid: Oid,
    expected: Vec<Oid>,
}

/// One certificate of the path, as [`check_path`] needs it.
pub struct PathCert<'a> {
    /// DER.
    pub der: &'a [u8],
    /// Issuer and subject are the same name.
    pub self_issued: bool,
}

/// Runs policy processing on `path`, given from the certificate after the trust anchor
/// down to the target (RFC 5280's certificates 1..n; the anchor is not part of it).
pub fn check_path(path: &[PathCert<'_>]) -> Result<(), PolicyError> {
    let n = path.len() as u64;
    let mut explicit_policy = n + 1;
    let mut inhibit_any = n + 1;
    let mut policy_mapping = n + 1;
    // `None` is the NULL tree.
    let mut level: Option<Vec<Node>> = Some(vec![Node {
        valid: ANY_POLICY,
        expected: vec![ANY_POLICY],
    }]);
    for (idx, c) in path.iter().enumerate() {
        let i = idx as u64 + 1;
        let last = i == n;
        let f = facts(c.der)?;
        // §6.1.3 (d)–(e).
        level = match (level, &f.policies) {
            (Some(parents), Some(policies)) => {
                let mut next: Vec<Node> = Vec::new();
                for p in policies.iter().filter(|p| **p != ANY_POLICY) {
                    let matched = parents.iter().any(|q| q.expected.contains(p));
                    let from_any = !matched && parents.iter().any(|q| q.valid == ANY_POLICY);
                    if (matched || from_any) && !next.iter().any(|x| x.valid == *p) {
                        next.push(Node {
                            valid: *p,
                            expected: vec![*p],
                        });
                    }
                }
                let any_ok = inhibit_any > 0 || (!last && c.self_issued);
                if policies.contains(&ANY_POLICY) && any_ok {
                    for q in &parents {
                        for e in &q.expected {
                            if !next.iter().any(|x| x.valid == *e) {
                                next.push(Node {
                                    valid: *e,
                                    expected: vec![*e],
                                });
                            }
                        }
                    }
                }
                if next.len() > MAX_NODES {
                    return Err(PolicyError::TooMany);
                }
                (!next.is_empty()).then_some(next)
            }
            _ => None,
        };
        // §6.1.3 (f).
        if explicit_policy == 0 && level.is_none() {
            return Err(PolicyError::NoValidPolicy);
        }
        if last {
            // §6.1.5 (a)–(b).
            explicit_policy = explicit_policy.saturating_sub(1);
            if f.require_explicit == Some(0) {
                explicit_policy = 0;
            }
            break;
        }
        // §6.1.4 (a)–(b).
        if f.mappings
            .iter()
            .any(|(a, b)| *a == ANY_POLICY || *b == ANY_POLICY)
        {
            return Err(PolicyError::MapsAnyPolicy);
        }
        if let Some(nodes) = level.as_mut() {
            let mut issuer_policies: Vec<Oid> = f.mappings.iter().map(|(a, _)| *a).collect();
            issuer_policies.dedup();
            for idp in issuer_policies {
                let mapped: Vec<Oid> = f
                    .mappings
                    .iter()
                    .filter(|(a, _)| *a == idp)
                    .map(|(_, b)| *b)
                    .collect();
                if policy_mapping > 0 {
                    let mut found = false;
                    for node in nodes.iter_mut().filter(|x| x.valid == idp) {
                        node.expected = mapped.clone();
                        found = true;
                    }
                    if !found && nodes.iter().any(|x| x.valid == ANY_POLICY) {
                        nodes.push(Node {
                            valid: idp,
                            expected: mapped,
                        });
                    }
                } else {
                    nodes.retain(|x| x.valid != idp);
                }
            }
            if nodes.is_empty() {
                level = None;
            }
        }
        // §6.1.4 (h)–(j).
        if !c.self_issued {
            explicit_policy = explicit_policy.saturating_sub(1);
            policy_mapping = policy_mapping.saturating_sub(1);
            inhibit_any = inhibit_any.saturating_sub(1);
        }
        if let Some(r) = f.require_explicit {
            explicit_policy = explicit_policy.min(u64::from(r));
        }
        if let Some(m) = f.inhibit_mapping {
            policy_mapping = policy_mapping.min(u64::from(m));
        }
        if let Some(s) = f.inhibit_any {
            inhibit_any = inhibit_any.min(u64::from(s));
        }
    }
    // §6.1.5 (g) with user-initial-policy-set {anyPolicy}: the tree is kept as it is.
    if explicit_policy == 0 && level.is_none() {
        return Err(PolicyError::NoValidPolicy);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(
            check_path(&[PathCert {
                der: b"junk",
                self_issued: false
            }]),
            Err(PolicyError::Malformed("certificate"))
        );
        assert_eq!(check_path(&[]), Ok(()));
    }
}
