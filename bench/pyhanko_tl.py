"""pyHanko side of the trusted-list benchmark: validate and parse the 2023-10 snapshot (LOTL
seq 332 + the national lists on disk) with pyHanko's EUTL loader at a frozen validation time.
pyHanko is given the LOTL signer certificates directly (the certificates of pivot 300's EU
pointer) instead of walking the pivots, so it does less work than signgate does.
Prints one JSON line with the in-process time and peak RSS."""
import glob, json, os, resource, sys, time
from datetime import datetime, timezone

t_start = time.perf_counter()
from pyhanko.sign.validation.qualified import eutl_parse  # noqa: E402

t_import = time.perf_counter()
snap, pivots = sys.argv[1], sys.argv[2]
at = datetime(2023, 10, 20, tzinfo=timezone.utc)

pivot300 = eutl_parse.parse_lotl_unsafe(open(f"{pivots}/eu-lotl-pivot-300.xml", encoding="utf-8").read())
eu = [r for r in pivot300.references if r.territory.upper() == "EU"]
lotl_signers = [c for r in eu for c in r.tlso_certs]

lotl = eutl_parse.validate_and_parse_lotl(
    open(f"{snap}/EU-lotl.seq332.xml", encoding="utf-8").read(), lotl_signers, validation_time=at)
registry = None
loaded, failed = 0, 0
for ref in lotl.references:
    files = glob.glob(f"{snap}/{ref.territory.upper()}*.xml")
    if not files or ref.territory.upper() == "EU":
        continue
    xml = open(files[0], encoding="utf-8").read()
    try:
        signed = eutl_parse._validate_and_extract_tl_data_multiple_certs(xml, list(ref.tlso_certs), at)
        registry, _errors = eutl_parse.trust_list_to_registry_unsafe(signed, registry)
        loaded += 1
    except Exception as e:  # noqa: BLE001 — report, keep going like the library does
        failed += 1
        print(f"{ref.territory}: {type(e).__name__}: {e}", file=sys.stderr)
t_end = time.perf_counter()
print(json.dumps({
    "impl": "pyHanko", "what": "validate+parse snapshot-2023-10 (LOTL 332 + TLs)",
    "lists_loaded": loaded, "lists_failed": failed,
    "import_s": round(t_import - t_start, 3), "load_s": round(t_end - t_import, 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
