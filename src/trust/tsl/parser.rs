//! Document walker building the [`TrustedList`] model (`crate::trust::tsl`).
//!
//! Owns: mapping TS 119 612 elements (by namespace and local name) onto the model,
//! recording malformed or missing content as [`StructureIssue`]s instead of failing.
//! Must not: verify signatures, fetch, or decide trust. Never panics on any input.

use base64::Engine as _;
use roxmltree::{Document, Node};
use time::OffsetDateTime;

use super::datetime::parse_xsd_datetime;
use super::model::{
    Assert, CriteriaList, DigitalIdentities, KeyUsageBit, Qualification, ServiceExtensions,
    ServiceHistoryEntry, ServiceSupplyPoint, TakenOverBy, TlPointer, TrustService,
    TrustServiceProvider, TrustedList,
};
use super::{IssueKind, MAX_CRITERIA_DEPTH, NS_TSL, Severity, StructureIssue, TslError, structure};

/// Additional types namespace (`MimeType`, `TakenOverBy`, `ExtendedKeyUsage`, …).
pub(super) const NS_TSLX: &str = "http://uri.etsi.org/02231/v2/additionaltypes#";
/// Service information extension namespace (`Qualifications`, `CriteriaList`, …).
pub(super) const NS_SIE: &str =
    "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#";
/// XAdES 1.3.2 namespace (`Identifier` in `PolicyIdentifier`, qualifying properties).
pub(super) const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// XML-DSig namespace.
pub(super) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Collects structure issues while walking.
pub(super) struct Ctx {
    pub(super) issues: Vec<StructureIssue>,
}

impl Ctx {
    pub(super) fn push(
        &mut self,
        severity: Severity,
        kind: IssueKind,
        path: &str,
        message: impl Into<String>,
    ) {
        self.issues.push(StructureIssue {
            severity,
            kind,
            path: path.to_owned(),
            message: message.into(),
        });
    }
    pub(super) fn error(&mut self, kind: IssueKind, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, kind, path, message);
    }
    pub(super) fn warn(&mut self, kind: IssueKind, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, kind, path, message);
    }
}

// ---------------------------------------------------------------- XML helpers

pub(super) fn is_el(n: Node<'_, '_>, ns: &str, local: &str) -> bool {
    n.is_element() && n.tag_name().name() == local && n.tag_name().namespace() == Some(ns)
}

pub(super) fn kids<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'a str,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| is_el(*c, ns, local))
}

fn first<'a, 'i>(n: Node<'a, 'i>, ns: &str, local: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| is_el(*c, ns, local))
}

/// First matching child; records a [`IssueKind::DuplicateElement`] error if there are more.
fn single<'a, 'i>(
    ctx: &mut Ctx,
    n: Node<'a, 'i>,
    ns: &str,
    local: &str,
    path: &str,
) -> Option<Node<'a, 'i>> {
    let mut it = n.children().filter(|c| is_el(*c, ns, local));
    let found = it.next();
    if found.is_some() && it.next().is_some() {
        ctx.error(
            IssueKind::DuplicateElement,
            &format!("{path}/{local}"),
            format!("{local} occurs more than once; the first occurrence is used"),
        );
    }
    found
}

/// Concatenated direct text content, trimmed.
pub(super) fn text(n: Node<'_, '_>) -> String {
    let mut s = String::new();
    for c in n.children().filter(Node::is_text) {
        if let Some(t) = c.text() {
            s.push_str(t);
        }
    }
    s.trim().to_owned()
}

fn qname(n: Node<'_, '_>) -> String {
    match n.tag_name().namespace() {
        Some(ns) => format!("{{{ns}}}{}", n.tag_name().name()),
        None => n.tag_name().name().to_owned(),
    }
}

fn lang(n: Node<'_, '_>) -> String {
    n.attribute((NS_XML, "lang"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// `(lang, value)` of every `Name` child of a multilingual name element.
fn names(n: Node<'_, '_>) -> Vec<(String, String)> {
    kids(n, NS_TSL, "Name")
        .map(|c| (lang(c), text(c)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// English value if any (`en`, `en-*`), else the first one, else `""`.
fn prefer_english(values: &[(String, String)]) -> String {
    values
        .iter()
        .find(|(l, _)| {
            l.eq_ignore_ascii_case("en")
                || l.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("en-"))
        })
        .or_else(|| values.first())
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn uris(n: Node<'_, '_>) -> Vec<String> {
    kids(n, NS_TSL, "URI")
        .map(text)
        .filter(|u| !u.is_empty())
        .collect()
}

fn b64(raw: &str) -> Option<Vec<u8>> {
    let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

fn parse_date(ctx: &mut Ctx, n: Node<'_, '_>, path: &str) -> Option<OffsetDateTime> {
    let t = text(n);
    let d = parse_xsd_datetime(&t);
    if d.is_none() {
        ctx.error(
            IssueKind::InvalidDate,
            path,
            format!("not a valid xsd:dateTime: {t:?}"),
        );
    }
    d
}

/// Normalises an OID given as dotted text, `urn:oid:…` or `urn:oid:` URI forms.
fn normalise_oid(ctx: &mut Ctx, raw: &str, path: &str) -> String {
    let s = raw.trim();
    let s = s
        .strip_prefix("urn:oid:")
        .or_else(|| s.strip_prefix("URN:OID:"))
        .unwrap_or(s);
    if const_oid::ObjectIdentifier::new(s).is_err() {
        ctx.warn(
            IssueKind::InvalidValue,
            path,
            format!("not a valid OID: {raw:?}"),
        );
    }
    s.to_owned()
}

// ---------------------------------------------------------------- document

pub(super) fn parse_document(doc: &Document<'_>) -> Result<TrustedList, TslError> {
    let root = doc.root_element();
    if !is_el(root, NS_TSL, "TrustServiceStatusList") {
        return Err(TslError::NotATrustedList(qname(root)));
    }
    let mut ctx = Ctx { issues: Vec::new() };
    let mut tl = TrustedList {
        version: 0,
        sequence: 0,
        tsl_type: String::new(),
        operator_name: String::new(),
        territory: String::new(),
        issued: OffsetDateTime::UNIX_EPOCH,
        next_update: None,
        status_determination_approach: String::new(),
        scheme_information_uris: Vec::new(),
        community_rules: Vec::new(),
        historical_information_period: None,
        pointers: Vec::new(),
        providers: Vec::new(),
        distribution_points: Vec::new(),
        structure: Vec::new(),
    };

    let si_path = "SchemeInformation";
    match single(&mut ctx, root, NS_TSL, "SchemeInformation", "") {
        Some(si) => scheme_information(&mut ctx, si, &mut tl),
        None => {
            ctx.error(
                IssueKind::MissingVersion,
                si_path,
                "No TLVersion has been found!",
            );
            ctx.error(
                IssueKind::MissingElement,
                si_path,
                "SchemeInformation is missing",
            );
        }
    }

    if let Some(list) = single(&mut ctx, root, NS_TSL, "TrustServiceProviderList", "") {
        for (i, tsp) in kids(list, NS_TSL, "TrustServiceProvider").enumerate() {
            let path = format!("TrustServiceProviderList/TrustServiceProvider[{}]", i + 1);
            tl.providers.push(provider(&mut ctx, tsp, &path));
        }
    }

    structure::check(&mut ctx, root, &tl);
    tl.structure = ctx.issues;
    Ok(tl)
}

fn scheme_information(ctx: &mut Ctx, si: Node<'_, '_>, tl: &mut TrustedList) {
    let p = "SchemeInformation";

    // Version.
    match single(ctx, si, NS_TSL, "TSLVersionIdentifier", p).map(text) {
        None => ctx.error(IssueKind::MissingVersion, p, "No TLVersion has been found!"),
        Some(v) => match v.parse::<u8>() {
            Ok(n) => {
                tl.version = n;
                if n != 5 && n != 6 {
                    ctx.error(
                        IssueKind::UnsupportedVersion,
                        &format!("{p}/TSLVersionIdentifier"),
                        format!("The TL Version '{n}' is not acceptable!"),
                    );
                }
            }
            Err(_) => ctx.error(
                IssueKind::MissingVersion,
                &format!("{p}/TSLVersionIdentifier"),
                format!("No TLVersion has been found! (unparseable value {v:?})"),
            ),
        },
    }

    // Sequence number.
    match single(ctx, si, NS_TSL, "TSLSequenceNumber", p).map(text) {
        None => ctx.error(IssueKind::MissingElement, p, "TSLSequenceNumber is missing"),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n >= 1 => tl.sequence = n,
            _ => ctx.error(
                IssueKind::InvalidValue,
                &format!("{p}/TSLSequenceNumber"),
                format!("TSLSequenceNumber is not a positive integer: {v:?}"),
            ),
        },
    }

    tl.tsl_type = required_text(ctx, si, "TSLType", p);

    if let Some(n) = single(ctx, si, NS_TSL, "SchemeOperatorName", p) {
        tl.operator_name = prefer_english(&names(n));
    }
    if tl.operator_name.is_empty() {
        ctx.error(
            IssueKind::MissingElement,
            p,
            "SchemeOperatorName is missing or empty",
        );
    }

    if let Some(n) = single(ctx, si, NS_TSL, "SchemeInformationURI", p) {
        tl.scheme_information_uris = kids(n, NS_TSL, "URI")
            .map(|u| (lang(u), text(u)))
            .filter(|(_, u)| !u.is_empty())
            .collect();
    }

    tl.status_determination_approach = required_text(ctx, si, "StatusDeterminationApproach", p);

    if let Some(n) = single(ctx, si, NS_TSL, "SchemeTypeCommunityRules", p) {
        tl.community_rules = uris(n);
    }

    tl.territory = required_text(ctx, si, "SchemeTerritory", p);

    if let Some(n) = single(ctx, si, NS_TSL, "HistoricalInformationPeriod", p) {
        let v = text(n);
        match v.parse::<u64>() {
            Ok(d) => tl.historical_information_period = Some(d),
            Err(_) => ctx.warn(
                IssueKind::InvalidValue,
                &format!("{p}/HistoricalInformationPeriod"),
                format!("not a non-negative integer: {v:?}"),
            ),
        }
    }

    if let Some(ptrs) = single(ctx, si, NS_TSL, "PointersToOtherTSL", p) {
        for (i, ptr) in kids(ptrs, NS_TSL, "OtherTSLPointer").enumerate() {
            let path = format!("{p}/PointersToOtherTSL/OtherTSLPointer[{}]", i + 1);
            if let Some(x) = pointer(ctx, ptr, &path) {
                tl.pointers.push(x);
            }
        }
    }

    match single(ctx, si, NS_TSL, "ListIssueDateTime", p) {
        None => ctx.error(IssueKind::MissingElement, p, "ListIssueDateTime is missing"),
        Some(n) => {
            if let Some(d) = parse_date(ctx, n, &format!("{p}/ListIssueDateTime")) {
                tl.issued = d;
            }
        }
    }

    match single(ctx, si, NS_TSL, "NextUpdate", p) {
        None => ctx.error(IssueKind::MissingElement, p, "NextUpdate is missing"),
        Some(n) => {
            let path = format!("{p}/NextUpdate");
            // Schema form: <NextUpdate><dateTime>…</dateTime></NextUpdate>; an empty
            // element marks a closed list. Bare text is tolerated with a warning.
            if let Some(dt) = single(ctx, n, NS_TSL, "dateTime", &path) {
                tl.next_update = parse_date(ctx, dt, &format!("{path}/dateTime"));
            } else if !text(n).is_empty() {
                ctx.warn(
                    IssueKind::InvalidValue,
                    &path,
                    "NextUpdate carries bare text instead of a dateTime child",
                );
                tl.next_update = parse_date(ctx, n, &path);
            }
            if tl.next_update.is_none()
                && text(n).is_empty()
                && first(n, NS_TSL, "dateTime").is_none()
            {
                ctx.warn(
                    IssueKind::NoNextUpdate,
                    &path,
                    "NextUpdate is empty: the list is closed (no further updates)",
                );
            }
        }
    }

    if let Some(n) = single(ctx, si, NS_TSL, "DistributionPoints", p) {
        tl.distribution_points = uris(n);
    }
}

fn required_text(ctx: &mut Ctx, parent: Node<'_, '_>, local: &str, path: &str) -> String {
    let v = single(ctx, parent, NS_TSL, local, path)
        .map(text)
        .unwrap_or_default();
    if v.is_empty() {
        ctx.error(
            IssueKind::MissingElement,
            path,
            format!("{local} is missing or empty"),
        );
    }
    v
}

// ---------------------------------------------------------------- pointers

fn pointer(ctx: &mut Ctx, ptr: Node<'_, '_>, path: &str) -> Option<TlPointer> {
    let location = single(ctx, ptr, NS_TSL, "TSLLocation", path)
        .map(text)
        .unwrap_or_default();
    if location.is_empty() {
        ctx.error(
            IssueKind::MissingElement,
            path,
            "TSLLocation is missing or empty; pointer ignored",
        );
        return None;
    }
    let mut out = TlPointer {
        location,
        territory: None,
        tsl_type: None,
        mime_type: None,
        operator_name: None,
        community_rules: Vec::new(),
        certificates: Vec::new(),
        is_mra: false,
    };

    if let Some(sdis) = first(ptr, NS_TSL, "ServiceDigitalIdentities") {
        for (i, sdi) in kids(sdis, NS_TSL, "ServiceDigitalIdentity").enumerate() {
            let ids = digital_identity(
                ctx,
                sdi,
                &format!(
                    "{path}/ServiceDigitalIdentities/ServiceDigitalIdentity[{}]",
                    i + 1
                ),
            );
            out.certificates.extend(ids.certificates);
        }
    }
    if out.certificates.is_empty() {
        ctx.warn(
            IssueKind::MissingElement,
            path,
            "pointer lists no X509Certificate",
        );
    }

    let mut has_mra_info = false;
    if let Some(ai) = first(ptr, NS_TSL, "AdditionalInformation") {
        for oi in kids(ai, NS_TSL, "OtherInformation") {
            for c in oi.children().filter(Node::is_element) {
                let local = c.tag_name().name();
                let ns = c.tag_name().namespace().unwrap_or("");
                match (ns, local) {
                    (NS_TSL, "TSLType") => out.tsl_type = Some(text(c)),
                    (NS_TSL, "SchemeTerritory") => out.territory = Some(text(c)),
                    (NS_TSLX | NS_TSL, "MimeType") => out.mime_type = Some(text(c)),
                    (NS_TSL, "SchemeOperatorName") => {
                        let v = prefer_english(&names(c));
                        out.operator_name = (!v.is_empty()).then_some(v);
                    }
                    (NS_TSL, "SchemeTypeCommunityRules") => out.community_rules.extend(uris(c)),
                    (_, "MutualRecognitionAgreementInformation") => has_mra_info = true,
                    _ => {}
                }
            }
        }
    }
    out.is_mra = has_mra_info || out.tsl_type.as_deref().is_some_and(is_third_country_type);
    Some(out)
}

/// `…/TSLType/<CC>list` or `<CC>listofthelists` with `<CC>` other than `EU`.
fn is_third_country_type(t: &str) -> bool {
    let Some(last) = t.trim().rsplit('/').next() else {
        return false;
    };
    let cc = last
        .strip_suffix("listofthelists")
        .or_else(|| last.strip_suffix("list"))
        .unwrap_or("");
    cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) && !cc.eq_ignore_ascii_case("EU")
}

// ---------------------------------------------------------------- providers / services

fn provider(ctx: &mut Ctx, tsp: Node<'_, '_>, path: &str) -> TrustServiceProvider {
    let mut out = TrustServiceProvider {
        name: String::new(),
        trade_names: Vec::new(),
        information_uris: Vec::new(),
        services: Vec::new(),
    };
    match single(ctx, tsp, NS_TSL, "TSPInformation", path) {
        Some(info) => {
            let ipath = format!("{path}/TSPInformation");
            if let Some(n) = single(ctx, info, NS_TSL, "TSPName", &ipath) {
                out.name = prefer_english(&names(n));
            }
            if out.name.is_empty() {
                ctx.error(
                    IssueKind::MissingElement,
                    &ipath,
                    "TSPName is missing or empty",
                );
            }
            if let Some(n) = first(info, NS_TSL, "TSPTradeName") {
                out.trade_names = names(n).into_iter().map(|(_, v)| v).collect();
            }
            if let Some(n) = first(info, NS_TSL, "TSPInformationURI") {
                out.information_uris = uris(n);
            }
        }
        None => ctx.error(IssueKind::MissingElement, path, "TSPInformation is missing"),
    }
    match single(ctx, tsp, NS_TSL, "TSPServices", path) {
        Some(svcs) => {
            for (i, s) in kids(svcs, NS_TSL, "TSPService").enumerate() {
                let spath = format!("{path}/TSPServices/TSPService[{}]", i + 1);
                if let Some(svc) = service(ctx, s, &spath) {
                    out.services.push(svc);
                }
            }
        }
        None => ctx.error(IssueKind::MissingElement, path, "TSPServices is missing"),
    }
    out
}

/// Fields shared by `ServiceInformation` and `ServiceHistoryInstance`.
struct Common {
    type_uri: String,
    name: String,
    status_uri: String,
    status_start: OffsetDateTime,
    identities: DigitalIdentities,
    extensions: ServiceExtensions,
}

fn common(ctx: &mut Ctx, n: Node<'_, '_>, path: &str) -> Option<Common> {
    let type_uri = single(ctx, n, NS_TSL, "ServiceTypeIdentifier", path)
        .map(text)
        .unwrap_or_default();
    let status_uri = single(ctx, n, NS_TSL, "ServiceStatus", path)
        .map(text)
        .unwrap_or_default();
    let name = single(ctx, n, NS_TSL, "ServiceName", path)
        .map(|x| prefer_english(&names(x)))
        .unwrap_or_default();
    let start = match single(ctx, n, NS_TSL, "StatusStartingTime", path) {
        Some(x) => parse_date(ctx, x, &format!("{path}/StatusStartingTime")),
        None => None,
    };
    let identities = match single(ctx, n, NS_TSL, "ServiceDigitalIdentity", path) {
        Some(x) => digital_identity(ctx, x, &format!("{path}/ServiceDigitalIdentity")),
        None => DigitalIdentities::default(),
    };
    let extensions = match single(ctx, n, NS_TSL, "ServiceInformationExtensions", path) {
        Some(x) => extensions(ctx, x, &format!("{path}/ServiceInformationExtensions")),
        None => ServiceExtensions::default(),
    };

    let mut missing = Vec::new();
    if type_uri.is_empty() {
        missing.push("ServiceTypeIdentifier");
    }
    if status_uri.is_empty() {
        missing.push("ServiceStatus");
    }
    if start.is_none() {
        missing.push("StatusStartingTime");
    }
    if name.is_empty() {
        ctx.warn(
            IssueKind::MissingElement,
            path,
            "ServiceName is missing or empty",
        );
    }
    if identities == DigitalIdentities::default() {
        ctx.warn(
            IssueKind::MissingElement,
            path,
            "ServiceDigitalIdentity has no usable DigitalId",
        );
    }
    match start {
        Some(status_start) if missing.is_empty() => Some(Common {
            type_uri,
            name,
            status_uri,
            status_start,
            identities,
            extensions,
        }),
        _ => {
            ctx.error(
                IssueKind::MissingElement,
                path,
                format!("missing or invalid {}; entry ignored", missing.join(", ")),
            );
            None
        }
    }
}

fn service(ctx: &mut Ctx, s: Node<'_, '_>, path: &str) -> Option<TrustService> {
    let Some(si) = single(ctx, s, NS_TSL, "ServiceInformation", path) else {
        ctx.error(
            IssueKind::MissingElement,
            path,
            "ServiceInformation is missing; service ignored",
        );
        return None;
    };
    let si_path = format!("{path}/ServiceInformation");
    let c = common(ctx, si, &si_path)?;

    let mut supply_points = Vec::new();
    if let Some(ssps) = first(si, NS_TSL, "ServiceSupplyPoints") {
        for sp in kids(ssps, NS_TSL, "ServiceSupplyPoint") {
            let uri = text(sp);
            if !uri.is_empty() {
                supply_points.push(ServiceSupplyPoint {
                    uri,
                    type_uri: sp.attribute("type").map(|t| t.trim().to_owned()),
                });
            }
        }
    }

    let mut history = Vec::new();
    if let Some(h) = single(ctx, s, NS_TSL, "ServiceHistory", path) {
        for (i, inst) in kids(h, NS_TSL, "ServiceHistoryInstance").enumerate() {
            let hpath = format!("{path}/ServiceHistory/ServiceHistoryInstance[{}]", i + 1);
            if let Some(hc) = common(ctx, inst, &hpath) {
                history.push(ServiceHistoryEntry {
                    type_uri: hc.type_uri,
                    name: hc.name,
                    status_uri: hc.status_uri,
                    status_start: hc.status_start,
                    identities: hc.identities,
                    extensions: hc.extensions,
                });
            }
        }
    }

    Some(TrustService {
        type_uri: c.type_uri,
        name: c.name,
        status_uri: c.status_uri,
        status_start: c.status_start,
        identities: c.identities,
        supply_points,
        extensions: c.extensions,
        history,
    })
}

fn digital_identity(ctx: &mut Ctx, sdi: Node<'_, '_>, path: &str) -> DigitalIdentities {
    let mut out = DigitalIdentities::default();
    for (i, did) in kids(sdi, NS_TSL, "DigitalId").enumerate() {
        let dpath = format!("{path}/DigitalId[{}]", i + 1);
        for c in did.children().filter(Node::is_element) {
            if c.tag_name().namespace() != Some(NS_TSL) {
                out.other_ids += 1;
                continue;
            }
            match c.tag_name().name() {
                "X509Certificate" => match b64(&text(c)) {
                    Some(der) if !der.is_empty() => {
                        if <x509_cert::Certificate as der::Decode>::from_der(&der).is_err() {
                            ctx.warn(
                                IssueKind::InvalidCertificate,
                                &dpath,
                                "X509Certificate does not parse as an X.509 certificate",
                            );
                        }
                        out.certificates.push(der);
                    }
                    _ => ctx.error(
                        IssueKind::InvalidBase64,
                        &dpath,
                        "X509Certificate is not valid base64",
                    ),
                },
                "X509SubjectName" => {
                    let v = text(c);
                    if !v.is_empty() {
                        out.subject_names.push(v);
                    }
                }
                "X509SKI" => match b64(&text(c)) {
                    Some(ski) if !ski.is_empty() => out.skis.push(ski),
                    _ => ctx.error(
                        IssueKind::InvalidBase64,
                        &dpath,
                        "X509SKI is not valid base64",
                    ),
                },
                _ => out.other_ids += 1,
            }
        }
    }
    out
}

// ---------------------------------------------------------------- extensions

fn extensions(ctx: &mut Ctx, exts: Node<'_, '_>, path: &str) -> ServiceExtensions {
    let mut out = ServiceExtensions::default();
    for (i, ext) in kids(exts, NS_TSL, "Extension").enumerate() {
        let epath = format!("{path}/Extension[{}]", i + 1);
        let critical = match ext.attribute("Critical").map(str::trim) {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            other => {
                ctx.error(
                    IssueKind::InvalidValue,
                    &epath,
                    format!("Critical attribute missing or not a boolean: {other:?}; treated as critical"),
                );
                true
            }
        };
        for c in ext.children().filter(Node::is_element) {
            let ns = c.tag_name().namespace().unwrap_or("");
            match (ns, c.tag_name().name()) {
                (NS_TSL, "AdditionalServiceInformation") => {
                    match first(c, NS_TSL, "URI").map(text).filter(|u| !u.is_empty()) {
                        Some(u) => out.additional_info.push(u),
                        None => ctx.error(
                            IssueKind::MissingElement,
                            &epath,
                            "AdditionalServiceInformation without URI",
                        ),
                    }
                }
                (NS_SIE, "Qualifications") => {
                    for (j, qe) in kids(c, NS_SIE, "QualificationElement").enumerate() {
                        let qpath =
                            format!("{epath}/Qualifications/QualificationElement[{}]", j + 1);
                        if let Some(q) = qualification(ctx, qe, &qpath) {
                            out.qualifications.push(q);
                        }
                    }
                }
                (NS_TSL, "ExpiredCertsRevocationInfo") => {
                    out.expired_certs_revocation_info =
                        parse_date(ctx, c, &format!("{epath}/ExpiredCertsRevocationInfo"));
                }
                (NS_TSLX, "TakenOverBy") => {
                    let uri = first(c, NS_TSLX, "URI").map(text).unwrap_or_default();
                    let tsp_name = first(c, NS_TSLX, "TSPName")
                        .map(|n| prefer_english(&names(n)))
                        .unwrap_or_default();
                    let scheme_operator_name = first(c, NS_TSL, "SchemeOperatorName")
                        .map(|n| prefer_english(&names(n)))
                        .unwrap_or_default();
                    let territory = first(c, NS_TSL, "SchemeTerritory")
                        .map(text)
                        .unwrap_or_default();
                    if uri.is_empty() || tsp_name.is_empty() {
                        ctx.warn(
                            IssueKind::MissingElement,
                            &epath,
                            "TakenOverBy lacks URI or TSPName",
                        );
                    }
                    out.taken_over_by = Some(TakenOverBy {
                        uri,
                        tsp_name,
                        scheme_operator_name,
                        territory,
                    });
                }
                _ if critical => {
                    let q = qname(c);
                    ctx.warn(
                        IssueKind::UnknownCriticalExtension,
                        &epath,
                        format!("critical extension {q} is not understood"),
                    );
                    out.unknown_critical.push(q);
                }
                _ => {}
            }
        }
    }
    out
}

fn qualification(ctx: &mut Ctx, qe: Node<'_, '_>, path: &str) -> Option<Qualification> {
    let qualifiers: Vec<String> = first(qe, NS_SIE, "Qualifiers")
        .map(|qs| {
            kids(qs, NS_SIE, "Qualifier")
                .filter_map(|q| q.attribute("uri"))
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if qualifiers.is_empty() {
        ctx.error(
            IssueKind::MissingElement,
            path,
            "QualificationElement without Qualifier; ignored",
        );
        return None;
    }
    let Some(cl) = first(qe, NS_SIE, "CriteriaList") else {
        ctx.error(
            IssueKind::MissingElement,
            path,
            "QualificationElement without CriteriaList; ignored",
        );
        return None;
    };
    let criteria = criteria_list(ctx, cl, &format!("{path}/CriteriaList"), 1)?;
    Some(Qualification {
        qualifiers,
        criteria,
    })
}

fn criteria_list(
    ctx: &mut Ctx,
    cl: Node<'_, '_>,
    path: &str,
    depth: usize,
) -> Option<CriteriaList> {
    if depth > MAX_CRITERIA_DEPTH {
        ctx.error(
            IssueKind::LimitExceeded,
            path,
            format!("CriteriaList nested deeper than {MAX_CRITERIA_DEPTH}; ignored"),
        );
        return None;
    }
    let assert = match cl.attribute("assert").map(str::trim) {
        Some("all") => Assert::All,
        Some("atLeastOne") => Assert::AtLeastOne,
        Some("none") => Assert::None,
        None => {
            ctx.warn(
                IssueKind::MissingElement,
                path,
                "CriteriaList without assert attribute; taken as \"all\"",
            );
            Assert::All
        }
        Some(other) => {
            ctx.error(
                IssueKind::InvalidValue,
                path,
                format!("unknown CriteriaList assert value {other:?}; list ignored"),
            );
            return None;
        }
    };
    let mut out = CriteriaList {
        assert,
        key_usage: Vec::new(),
        policy_sets: Vec::new(),
        nested: Vec::new(),
        extended_key_usage: Vec::new(),
        cert_subject_dn_attributes: Vec::new(),
        other_criteria: Vec::new(),
        description: None,
    };
    let mut nested_ix = 0usize;
    for c in cl.children().filter(Node::is_element) {
        let ns = c.tag_name().namespace().unwrap_or("");
        match (ns, c.tag_name().name()) {
            (NS_SIE, "KeyUsage") => {
                let mut bits = Vec::new();
                for b in kids(c, NS_SIE, "KeyUsageBit") {
                    let name = b.attribute("name").unwrap_or("").trim().to_owned();
                    let value = match text(b).as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            ctx.error(
                                IssueKind::InvalidValue,
                                &format!("{path}/KeyUsage"),
                                format!("KeyUsageBit {name:?} value is not a boolean: {other:?}"),
                            );
                            continue;
                        }
                    };
                    bits.push(KeyUsageBit { name, value });
                }
                out.key_usage.push(bits);
            }
            (NS_SIE, "PolicySet") => {
                let mut oids = Vec::new();
                for pi in kids(c, NS_SIE, "PolicyIdentifier") {
                    match first(pi, NS_XADES, "Identifier") {
                        Some(id) => {
                            oids.push(normalise_oid(ctx, &text(id), &format!("{path}/PolicySet")))
                        }
                        None => ctx.error(
                            IssueKind::MissingElement,
                            &format!("{path}/PolicySet"),
                            "PolicyIdentifier without xades:Identifier",
                        ),
                    }
                }
                out.policy_sets.push(oids);
            }
            (NS_SIE, "CriteriaList") => {
                nested_ix += 1;
                let npath = format!("{path}/CriteriaList[{nested_ix}]");
                if let Some(n) = criteria_list(ctx, c, &npath, depth + 1) {
                    out.nested.push(n);
                }
            }
            (NS_SIE, "Description") => out.description = Some(text(c)),
            (NS_SIE, "otherCriteriaList") => {
                for oc in c.children().filter(Node::is_element) {
                    let target = match oc.tag_name().name() {
                        "ExtendedKeyUsage" => &mut out.extended_key_usage,
                        "CertSubjectDNAttribute" => &mut out.cert_subject_dn_attributes,
                        _ => {
                            out.other_criteria.push(qname(oc));
                            continue;
                        }
                    };
                    for id in oc
                        .descendants()
                        .filter(|d| d.is_element() && d.tag_name().name() == "Identifier")
                    {
                        target.push(normalise_oid(
                            ctx,
                            &text(id),
                            &format!("{path}/otherCriteriaList"),
                        ));
                    }
                }
            }
            _ => out.other_criteria.push(qname(c)),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_country_types() {
        assert!(is_third_country_type(
            "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/ZZlist"
        ));
        assert!(is_third_country_type(
            "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/UAlistofthelists"
        ));
        assert!(!is_third_country_type(super::super::TSLTYPE_EU_GENERIC));
        assert!(!is_third_country_type(super::super::TSLTYPE_EU_LOTL));
        assert!(!is_third_country_type(""));
    }

    #[test]
    fn english_preferred() {
        let v = vec![("de".into(), "X".into()), ("EN-gb".into(), "Y".into())];
        assert_eq!(prefer_english(&v), "Y");
        assert_eq!(prefer_english(&v[..1]), "X");
        assert_eq!(prefer_english(&[]), "");
    }
}
