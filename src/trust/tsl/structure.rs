//! Version-specific structure checks for trusted lists (`crate::trust::tsl`).
//!
//! Owns: the TS 119 612 v5/v6 conformance checks that EU DSS' `TLStructureVerifier`
//! performs beyond plain field presence: exactly one enveloped `ds:Signature`, the XAdES
//! `SigningCertificate` (v5) vs `SigningCertificateV2` (v6) element (and the V2 forms of
//! `SignatureProductionPlace`/`SignerRole`), the `ServiceSupplyPoint/@type` attribute
//! (v6 only), and the `TSLTag`.
//! Must not: verify the signature cryptographically or resolve references — those belong
//! to `crate::trust::xmldsig`; only element names and counts are looked at here.

use roxmltree::Node;

use super::IssueKind;
use super::model::TrustedList;
use super::parser::{Ctx, NS_DS, NS_XADES, is_el, kids};

/// `TSLTag` value for TS 119 612 lists.
const TSL_TAG: &str = "http://uri.etsi.org/19612/TSLTag";

pub(super) fn check(ctx: &mut Ctx, root: Node<'_, '_>, tl: &TrustedList) {
    match root.attribute("TSLTag").map(str::trim) {
        Some(TSL_TAG) => {}
        other => ctx.warn(
            IssueKind::InvalidValue,
            "TrustServiceStatusList/@TSLTag",
            format!("TSLTag is {other:?}, expected {TSL_TAG:?}"),
        ),
    }

    let sigs: Vec<Node<'_, '_>> = kids(root, NS_DS, "Signature").collect();
    let sig = match sigs.len() {
        0 => {
            ctx.error(
                IssueKind::SignatureStructure,
                "ds:Signature",
                "No ds:Signature element is present!",
            );
            None
        }
        1 => Some(sigs[0]),
        n => {
            ctx.error(
                IssueKind::SignatureStructure,
                "ds:Signature",
                format!("Number of signatures must be equal to 1 (currently : {n})"),
            );
            None
        }
    };

    match tl.version {
        5 => {
            if let Some(sig) = sig {
                signature_properties(ctx, sig, false);
            }
            supply_points(ctx, tl, false);
        }
        6 => {
            if let Some(sig) = sig {
                signature_properties(ctx, sig, true);
            }
            supply_points(ctx, tl, true);
        }
        _ => {}
    }
}

/// XAdES qualifying-property names that differ between v5 (V1 forms) and v6 (V2 forms).
const VERSIONED_PROPERTIES: [(&str, &str, bool); 3] = [
    ("SigningCertificate", "SigningCertificateV2", true),
    (
        "SignatureProductionPlace",
        "SignatureProductionPlaceV2",
        false,
    ),
    ("SignerRole", "SignerRoleV2", false),
];

fn signature_properties(ctx: &mut Ctx, sig: Node<'_, '_>, v6: bool) {
    let path = "ds:Signature";
    let objects: Vec<Node<'_, '_>> = kids(sig, NS_DS, "Object").collect();
    if objects.is_empty() {
        ctx.error(
            IssueKind::SignatureStructure,
            path,
            "No ds:Object elements are present!",
        );
        return;
    }
    let Some(qp) = objects.iter().find_map(|o| {
        o.children()
            .find(|c| is_el(*c, NS_XADES, "QualifyingProperties"))
    }) else {
        ctx.error(
            IssueKind::SignatureStructure,
            path,
            "No xades:QualifyingProperties element has been found!",
        );
        return;
    };
    let Some(sp) = qp
        .children()
        .find(|c| is_el(*c, NS_XADES, "SignedProperties"))
    else {
        ctx.error(
            IssueKind::SignatureStructure,
            path,
            "No xades:SignedProperties element has been found!",
        );
        return;
    };
    let Some(ssp) = sp
        .children()
        .find(|c| is_el(*c, NS_XADES, "SignedSignatureProperties"))
    else {
        ctx.error(
            IssueKind::SignatureStructure,
            path,
            "No xades:SignedSignatureProperties element has been found!",
        );
        return;
    };

    for (v1, v2, required) in VERSIONED_PROPERTIES {
        let n1 = kids(ssp, NS_XADES, v1).count();
        let n2 = kids(ssp, NS_XADES, v2).count();
        let (wrong, wrong_n, right_n, right) = if v6 {
            (v1, n1, n2, v2)
        } else {
            (v2, n2, n1, v1)
        };
        if wrong_n > 0 {
            ctx.error(
                IssueKind::SignatureStructure,
                path,
                format!("{wrong} element shall not be present!"),
            );
        }
        if required && right_n == 0 {
            ctx.error(
                IssueKind::SignatureStructure,
                path,
                format!("No xades:{right} element has been found!"),
            );
        }
    }
}

fn supply_points(ctx: &mut Ctx, tl: &TrustedList, v6: bool) {
    for (pi, p) in tl.providers.iter().enumerate() {
        for (si, s) in p.services.iter().enumerate() {
            let path = format!(
                "TrustServiceProviderList/TrustServiceProvider[{}]/TSPServices/TSPService[{}]/ServiceInformation/ServiceSupplyPoints",
                pi + 1,
                si + 1
            );
            for sp in &s.supply_points {
                match (&sp.type_uri, v6) {
                    (Some(t), false) => ctx.error(
                        IssueKind::VersionMismatch,
                        &path,
                        format!("ServiceSupplyPoint type attribute ({t}) is a v6 construct, not allowed in a v5 list"),
                    ),
                    (None, true) => ctx.warn(
                        IssueKind::VersionMismatch,
                        &path,
                        format!("ServiceSupplyPoint {} has no type attribute (expected in v6)", sp.uri),
                    ),
                    _ => {}
                }
            }
        }
    }
}
