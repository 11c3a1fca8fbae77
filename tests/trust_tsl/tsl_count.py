#!/usr/bin/env python3
"""Independent counter for ETSI TS 119 612 trusted lists (stdlib only).

Counterpart of crate::trust::tsl in tests: for each XML file given on the command
line, prints one JSON object per line with
  file, pointers / xml_pointers (OtherTSLPointer elements, all / with MimeType
  application/vnd.etsi.tsl+xml), providers, services (current TSPService elements), by_type (current
  services per ServiceTypeIdentifier suffix after '/Svctype/'), and pyHanko-style
  registry counts: distinct (subject DN DER, SubjectPublicKeyInfo DER) pairs over
  CA/QC resp. TSA/QTST service definitions whose status is 'granted', current or in
  ServiceHistory (pyHanko's TSPRegistry.known_certificate_authorities /
  known_timestamp_authorities after trust_list_to_registry).
It shares no code with the Rust parser.
"""
import base64
import json
import sys
import xml.etree.ElementTree as ET

NS = '{http://uri.etsi.org/02231/v2#}'
GRANTED = 'http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted'


def tlv(b, i):
    tag, length = b[i], b[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(b[i:i + n], 'big')
        i += n
    return tag, i, i + length


def subject_and_spki(der):
    _, start, _ = tlv(der, 0)          # Certificate
    _, start, end = tlv(der, start)    # TBSCertificate
    fields, i = [], start
    while i < end:
        _, _, field_end = tlv(der, i)
        fields.append(der[i:field_end])
        i = field_end
    if fields[0][0] == 0xA0:           # explicit version
        fields = fields[1:]
    # serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    return fields[4], fields[5]


def certs(info):
    out = []
    for c in info.findall(f'{NS}ServiceDigitalIdentity/{NS}DigitalId/{NS}X509Certificate'):
        der = base64.b64decode(''.join((c.text or '').split()))
        out.append(subject_and_spki(der))
    return out


def suffix(uri):
    return uri.split('/Svctype/')[-1]


def count(path):
    root = ET.parse(path).getroot()
    tsps = root.findall(f'{NS}TrustServiceProviderList/{NS}TrustServiceProvider')
    by_type, services = {}, 0
    registry = {'CA/QC': set(), 'TSA/QTST': set()}
    for tsp in tsps:
        for svc in tsp.findall(f'{NS}TSPServices/{NS}TSPService'):
            info = svc.find(f'{NS}ServiceInformation')
            kind = suffix((info.findtext(f'{NS}ServiceTypeIdentifier') or '').strip())
            services += 1
            by_type[kind] = by_type.get(kind, 0) + 1
            if kind not in registry:
                continue
            if (info.findtext(f'{NS}ServiceStatus') or '').strip() == GRANTED:
                registry[kind].update(certs(info))
            for hist in svc.findall(f'{NS}ServiceHistory/{NS}ServiceHistoryInstance'):
                if (hist.findtext(f'{NS}ServiceStatus') or '').strip() == GRANTED:
                    registry[kind].update(certs(hist))
    pointers = root.findall(f'{NS}SchemeInformation/{NS}PointersToOtherTSL/{NS}OtherTSLPointer')
    xml_pointers = [
        p for p in pointers
        if any((e.text or '').strip() == 'application/vnd.etsi.tsl+xml'
               for e in p.iter() if e.tag.endswith('}MimeType'))
    ]
    return {
        'file': path,
        'pointers': len(pointers),
        'xml_pointers': len(xml_pointers),
        'providers': len(tsps),
        'services': services,
        'by_type': by_type,
        'registry_ca': len(registry['CA/QC']),
        'registry_qtst': len(registry['TSA/QTST']),
    }


if __name__ == '__main__':
    for p in sys.argv[1:]:
        print(json.dumps(count(p), sort_keys=True))
