"""Large-file check of the validation benchmark (issue 4): a ~100 MB PDF (one page showing one
100 MB uncompressed RGB image XObject of random bytes, as scans are), signed PAdES-B-B by
pyHanko with the corpus's Alice key (tests/validation/make_corpus.py), then
`signgate validate --offline --no-trusted-lists --trust-anchor pki/root.pem big.pdf` timed
as a whole process: wall time and peak RSS (GNU time), RUNS times.
Targets of the issue: < 1 s and peak RSS < 2x the file size.

Usage: validate_big.py CORPUS SIGNGATE_BIN WORKDIR [RUNS]. Prints one JSON line per run."""
import io, json, os, re, subprocess, sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata

corpus, sg, work = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
os.makedirs(work, exist_ok=True)
big = os.path.join(work, "big.pdf")

W = H = 5800  # 5800 * 5800 * 3 = 100.92 MB of samples
if not os.path.exists(big):
    img = os.urandom(W * H * 3)
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (W, H, len(img)) + img + b"\nendstream",
    ]
    del img
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for n, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (n + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    signer = signers.SimpleSigner.load(
        f"{corpus}/pki/alice.key", f"{corpus}/pki/alice.pem",
        ca_chain_files=(f"{corpus}/pki/interm.pem",))
    assert signer is not None, "pyHanko could not load alice's key"
    meta = PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES,
                                md_algorithm="sha256")
    with open(big, "wb") as f:
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(bytes(out))), meta, signer=signer, output=f)
    del out

size = os.path.getsize(big)
cmd = [sg, "validate", "--offline", "--no-trusted-lists", "--trust-anchor",
       f"{corpus}/pki/root.pem", "--format", "json", big]
for i in range(runs):
    # drop nothing from the page cache: the first run reads the file from disk (it was just
    # written, so it is warm anyway); GNU time reports %M = peak RSS in KiB.
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M"] + cmd,
                       capture_output=True, text=True)
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)
    assert m, p.stderr
    wall, user, sys_, rss_kb = float(m[1]), float(m[2]), float(m[3]), int(m[4])
    try:
        sig = json.loads(p.stdout)["signatures"][0]
        result = f'{sig["format"]} {sig["indication"]}' + (
            f'/{sig["sub_indication"]}' if sig.get("sub_indication") else "")
    except Exception as e:  # report what came out rather than hide it
        result = f"unparsed output ({e}): {p.stdout[:200]!r} {p.stderr[:200]!r}"
    print(json.dumps({
        "impl": "signgate", "what": "signgate validate --offline --no-trusted-lists, ~100 MB B-B PDF",
        "run": i + 1, "bytes": size, "exit": p.returncode, "result": result,
        "wall_s": wall, "cpu_s": round(user + sys_, 2), "peak_rss_kb": rss_kb,
        "rss_over_size": round(rss_kb * 1024 / size, 3),
        "target_wall_lt_1s": wall < 1.0, "target_rss_lt_2x": rss_kb * 1024 < 2 * size,
    }), flush=True)
