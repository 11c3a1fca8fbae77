"""pyHanko side of the sealing benchmark: signs the same 100 KB PDF with the same RSA-2048 key
and chain, PAdES (ETSI.CAdES.detached), in-process, for the same time budget. Prints JSON.

    pyhanko_seal.py BENCH_DIR [SECONDS] [b-b|b-lta]

b-lta does what signgate's `--lta` mode does: a signature timestamp and a document timestamp
from an in-process time-stamping unit (DummyTimeStamper, the same RSA-2048 TSA key and
certificate), validation data (the root's CRL, given up front: no fetching) embedded in a DSS.
"""
import io, json, logging, sys, time
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder, load_private_key_from_pemder
from pyhanko.sign import signers, fields
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko_certvalidator import ValidationContext

# pyHanko warns on every call that fetching is off (it is meant to be).
logging.getLogger("pyhanko").setLevel(logging.ERROR)
bench_dir = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
mode = sys.argv[3] if len(sys.argv) > 3 else "b-b"
assert mode in ("b-b", "b-lta"), mode
keys = f"{bench_dir}/keys"
# seal-chain.pem is leaf first, root last; pyHanko wants the leaf on its own.
chain = open(f"{keys}/seal-chain.pem").read()
end = "-----END CERTIFICATE-----"
leaf = chain[: chain.index(end) + len(end)] + "\n"
open(f"{keys}/seal-leaf.pem", "w").write(leaf)
signer = signers.SimpleSigner.load(
    f"{keys}/seal.key", f"{keys}/seal-leaf.pem", ca_chain_files=(f"{keys}/dev-root-ca.pem",))
assert signer is not None, "pyHanko could not load the key"
data = open(f"{bench_dir}/input-100k.pdf", "rb").read()

if mode == "b-b":
    meta = PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES)
    timestamper = None
else:
    root = load_cert_from_pemder(f"{keys}/dev-root-ca.pem")
    tsa_cert = list(load_certs_from_pemder([f"{keys}/tsa-chain.pem"]))[0]
    tsa_key = load_private_key_from_pemder(f"{keys}/tsa.key", passphrase=None)
    timestamper = DummyTimeStamper(tsa_cert=tsa_cert, tsa_key=tsa_key, certs_to_embed=[root])
    crl = open(f"{keys}/dev-root-ca.crl", "rb").read()
    vc = ValidationContext(trust_roots=[root], crls=[crl], allow_fetching=False)
    meta = PdfSignatureMetadata(
        field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True, use_pades_lta=True, validation_context=vc)

def one():
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer,
                     timestamper=timestamper, output=out)
    return out

first = one().getvalue()
if mode == "b-lta":
    # The output must really be B-LTA: a DSS and a document timestamp after the signature.
    assert b"/DSS" in first and b"/DocTimeStamp" in first, "pyHanko did not produce B-LTA"
for _ in range(4):
    one()
lat = []
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    t = time.perf_counter(); one(); lat.append(time.perf_counter() - t)
total = time.perf_counter() - start
lat.sort()
p = lambda q: lat[min(int(len(lat) * q), len(lat) - 1)] * 1e3
what = ("sign 100KB PDF, RSA-2048, PAdES-B-B" if mode == "b-b" else
        "sign 100KB PDF, RSA-2048, PAdES-B-LTA (DummyTimeStamper, CRL given)")
print(json.dumps({"impl": "pyHanko", "what": what,
                  "seals": len(lat), "seconds": round(total, 3),
                  "seals_per_s": round(len(lat) / total, 1),
                  "p50_ms": round(p(0.5), 3), "p99_ms": round(p(0.99), 3)}))
