"""pyHanko side of the sealing benchmark: signs the same 100 KB PDF with the same RSA-2048 key
and chain, PAdES (ETSI.CAdES.detached), in-process, for the same time budget. Prints JSON."""
import io, json, sys, time
from pyhanko.sign import signers, fields
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

bench_dir, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
# seal-chain.pem is leaf first, root last; pyHanko wants the leaf on its own.
chain = open(f"{bench_dir}/keys/seal-chain.pem").read()
end = "-----END CERTIFICATE-----"
leaf = chain[: chain.index(end) + len(end)] + "\n"
open(f"{bench_dir}/keys/seal-leaf.pem", "w").write(leaf)
signer = signers.SimpleSigner.load(
    f"{bench_dir}/keys/seal.key", f"{bench_dir}/keys/seal-leaf.pem",
    ca_chain_files=(f"{bench_dir}/keys/dev-root-ca.pem",))
assert signer is not None, "pyHanko could not load the key"
data = open(f"{bench_dir}/input-100k.pdf", "rb").read()
meta = PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES)

def one():
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer, output=out)
    return out

for _ in range(5):
    one()
lat = []
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    t = time.perf_counter(); one(); lat.append(time.perf_counter() - t)
total = time.perf_counter() - start
lat.sort()
p = lambda q: lat[min(int(len(lat) * q), len(lat) - 1)] * 1e3
print(json.dumps({"impl": "pyHanko", "what": "sign 100KB PDF, RSA-2048, PAdES-B-B",
                  "seals": len(lat), "seconds": round(total, 3),
                  "seals_per_s": round(len(lat) / total, 1),
                  "p50_ms": round(p(0.5), 3), "p99_ms": round(p(0.99), 3)}))
