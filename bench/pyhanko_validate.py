"""pyHanko side of the validation benchmark (issue 4): validates the corpus's `pdf/b-b.pdf`
and `pdf/b-lta.pdf` (tests/validation/make_corpus.py) with `pki/root.pem` as the only trust
anchor, no online fetching, validation time = now, in-process, one thread, for the same time
budget as benches/validate.rs. Each call parses the PDF afresh (as signgate's does).

- b-b.pdf: pyHanko's classic `validate_pdf_signature` with
  `ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode='soft-fail')`.
- b-lta.pdf: pyHanko 0.38 has no `validate_pdf_ltv_signature` any more (removed with the
  legacy LTV API); its long-term process is `ades_lta_validation` (EN 319 102-1 5.6.3), run
  here with revocation info required, the embedded DSS/OCSP data, and
  `RevinfoOnlineFetchingRule.LOCAL_ONLY` (no fetching).

Usage: pyhanko_validate.py CORPUS [SECONDS]. Prints one JSON line per file."""
import asyncio, io, json, sys, time

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec, RevinfoOnlineFetchingRule, RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy, FreshnessReqType
from pyhanko_certvalidator.registry import SimpleTrustManager

corpus, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
raw = open(f"{corpus}/pki/root.pem", "rb").read()
root = x509.Certificate.load(pem.unarmor(raw)[2] if pem.detect(raw) else raw)


def first_sig(data: bytes):
    sigs = PdfFileReader(io.BytesIO(data)).embedded_regular_signatures
    assert sigs, "no signature"
    return sigs[0]


def validate_bb(data: bytes) -> str:
    st = validate_pdf_signature(
        first_sig(data),
        signer_validation_context=ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"),
    )
    return st.summary()


lta_spec = PdfSignatureValidationSpec(
    SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[CertTrustAnchor(root)]),
            revinfo_policy=CertRevTrustPolicy(
                REQUIRE_REVINFO, freshness=None,
                freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION),
        ),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
    ),
    diff_policy=DEFAULT_DIFF_POLICY,
)


def validate_lta(data: bytes) -> str:
    res = asyncio.run(ades_lta_validation(
        first_sig(data), lta_spec, timing_info=ValidationTimingInfo.now()))
    sub = res.ades_subindic
    ind = {"PASSED": "TOTAL_PASSED", "FAILED": "TOTAL_FAILED"}.get(sub.status.name, sub.status.name)
    return ind if sub.status.name == "PASSED" else f"{ind}/{sub.standard_name}"


cases = [
    ("b-b.pdf", "validate 100KB PAdES-B-B, offline (validate_pdf_signature, soft-fail)", validate_bb),
    ("b-lta.pdf", "validate PAdES-B-LTA, offline (ades_lta_validation, LOCAL_ONLY)", validate_lta),
]
for file, what, fn in cases:
    data = open(f"{corpus}/pdf/{file}", "rb").read()
    result = fn(data)
    for _ in range(3):
        fn(data)
    lat = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter(); fn(data); lat.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    lat.sort()
    p = lambda q: lat[min(int(len(lat) * q), len(lat) - 1)] * 1e3
    print(json.dumps({"impl": "pyHanko", "what": what, "file": file, "bytes": len(data),
                      "result": result, "validations": len(lat), "seconds": round(total, 3),
                      "validations_per_s": round(len(lat) / total, 1),
                      "p50_ms": round(p(0.5), 3), "p99_ms": round(p(0.99), 3)}), flush=True)
