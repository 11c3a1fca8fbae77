#!/usr/bin/env bash
# Seed corpora for the fuzz targets from the real samples in tests/data: XML (trusted lists,
# XAdES, SAML) for the XML targets, PDFs for the PDF targets, CMS/DER files for cms_parse.
# Files over 400 KB (XML) / 300 KB (others) are left out to keep executions fast.
# Usage: fuzz/seed.sh [DIR]   (default fuzz/corpus, which git ignores); then e.g.
#   cargo +nightly fuzz run pdf_signatures fuzz/corpus/pdf_signatures -- -max_total_time=600
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-fuzz/corpus}"
data=tests/data
seed() { # target, find arguments…
    local t="$1"; shift
    mkdir -p "$out/$t"
    find "$data" -type f "$@" -print0 | while IFS= read -r -d '' f; do
        cp "$f" "$out/$t/$(echo "${f#"$data"/}" | tr '/' '_')"
    done
    echo "$t: $(find "$out/$t" -type f | wc -l) seeds"
}
for t in tsl_parse xmldsig_verify xades_read saml_response; do
    seed "$t" -name '*.xml' -size -400k
done
for t in pdf_inspect pdf_signatures; do
    seed "$t" -name '*.pdf' -size -300k
done
seed cms_parse \( -name '*.p7m' -o -name '*.p7s' -o -name '*.der' -o -name '*.cer' -o -name '*.crt' -o -name '*.tsr' \) -size -300k
