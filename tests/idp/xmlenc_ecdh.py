#!/usr/bin/env python3
"""XML Encryption 1.1 ECDH-ES encryption of an element with libxmlsec1 (python-xmlsec).

The key agreement (ECDH of a fresh ephemeral key with the recipient's certificate key), the
ConcatKDF, the AES key wrap of the content key and the AES-GCM encryption of the element are
all done by libxmlsec1 1.3 (the library python-xmlsec bundles; the system xmlsec1 1.2 has no
key agreement). Two things are composed here because python-xmlsec cannot reach them:
- it only encrypts into an EncryptedData template, and libxmlsec1 limits KeyInfo nesting to
  one EncryptedKey level, so the wrapped key is made with an EncryptedData template whose
  EncryptionMethod is the key wrap and whose KeyInfo holds the AgreementMethod, and the
  result is renamed EncryptedKey (the two share one schema type);
- libxmlsec1 1.3.3+ leaves OriginatorKeyInfo/KeyValue empty (KeyValue nodes are disabled by
  default and python-xmlsec has no switch), so the ephemeral public key is written as
  dsig11:ECKeyValue (NamedCurve urn:oid + uncompressed point), the form libxmlsec1 writes
  when enabled (its xmlenc11-interop-2012 vectors).

Used by tests/idp/saml_idp.py; run as a script it writes the known-answer vectors of
src/identity/saml/xmlenc.rs (tests/data/saml/ecdh/), each checked first by an independent
decryption with `cryptography`.
"""

import base64
import os
import sys

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from lxml import etree

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DS = "http://www.w3.org/2000/09/xmldsig#"
DSIG11 = "http://www.w3.org/2009/xmldsig11#"
ECDH_ES = XENC11 + "ECDH-ES"
CURVES = {"secp256r1": "1.2.840.10045.3.1.7", "secp384r1": "1.3.132.0.34", "secp521r1": "1.3.132.0.35"}
DIGESTS = {
    "sha256": (XENC + "sha256", hashes.SHA256),
    "sha384": ("http://www.w3.org/2001/04/xmldsig-more#sha384", hashes.SHA384),
    "sha512": (XENC + "sha512", hashes.SHA512),
    "sha1": ("http://www.w3.org/2000/09/xmldsig#sha1", hashes.SHA1),
}
KW = {"kw-aes128": 16, "kw-aes192": 24, "kw-aes256": 32}
GCM = {"aes128-gcm": 16, "aes192-gcm": 24, "aes256-gcm": 32}
TAMPER = ("", "ephemeral", "other-key", "curve", "kdf", "kdf-digest")


def bits(value):
    """A ConcatKDF bit string attribute: padding-bit count 0, then the octets, as hex."""
    return "00" + value.hex().upper()


def ec_key_value(public_key):
    oid = CURVES[public_key.curve.name]
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    kv = etree.Element("{%s}ECKeyValue" % DSIG11, nsmap={"dsig11": DSIG11})
    etree.SubElement(kv, "{%s}NamedCurve" % DSIG11, URI="urn:oid:" + oid)
    etree.SubElement(kv, "{%s}PublicKey" % DSIG11).text = base64.b64encode(point).decode()
    return kv


def encrypt_element(node, recipient_cert_pem, data_alg="aes256-gcm", kw="kw-aes256", digest="sha256",
                    algorithm_id=None, party_u=b"", party_v=b"", tamper=""):
    """Replaces `node` (in its tree) by an EncryptedData for the EC key of the certificate and
    returns the EncryptedData. `tamper` changes one thing after the wrap, for refusal tests."""
    if tamper not in TAMPER:
        raise ValueError("unknown tamper " + tamper)
    cert = x509.load_pem_x509_certificate(recipient_cert_pem)
    recipient = cert.public_key()
    if not isinstance(recipient, ec.EllipticCurvePublicKey) or recipient.curve.name not in CURVES:
        raise ValueError("the recipient certificate has no P-256/384/521 key")
    if algorithm_id is None:
        algorithm_id = (XENC + kw).encode()
    ephemeral = ec.generate_private_key(recipient.curve)
    eph_pem = ephemeral.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    session = os.urandom(GCM[data_alg])

    # 1. libxmlsec1: ECDH-ES + ConcatKDF + AES key wrap of the session key.
    mgr = xmlsec.KeysManager()
    k = xmlsec.Key.from_memory(eph_pem, xmlsec.KeyFormat.PEM)
    k.name = "originator"
    mgr.add_key(k)
    r = xmlsec.Key.from_memory(recipient_cert_pem, xmlsec.KeyFormat.CERT_PEM)
    r.name = "recipient"
    mgr.add_key(r)
    nsmap = {"xenc": XENC, "xenc11": XENC11, "ds": DS}
    ek = etree.Element("{%s}EncryptedData" % XENC, nsmap=nsmap)
    etree.SubElement(ek, "{%s}EncryptionMethod" % XENC, Algorithm=XENC + kw)
    ki = etree.SubElement(ek, "{%s}KeyInfo" % DS)
    am = etree.SubElement(ki, "{%s}AgreementMethod" % XENC, Algorithm=ECDH_ES)
    kdm = etree.SubElement(am, "{%s}KeyDerivationMethod" % XENC11, Algorithm=XENC11 + "ConcatKDF")
    params = etree.SubElement(
        kdm,
        "{%s}ConcatKDFParams" % XENC11,
        AlgorithmID=bits(algorithm_id),
        PartyUInfo=bits(party_u),
        PartyVInfo=bits(party_v),
    )
    etree.SubElement(params, "{%s}DigestMethod" % DS, Algorithm=DIGESTS[digest][0])
    oki = etree.SubElement(am, "{%s}OriginatorKeyInfo" % XENC)
    etree.SubElement(oki, "{%s}KeyName" % DS).text = "originator"
    etree.SubElement(oki, "{%s}KeyValue" % DS)
    rki = etree.SubElement(am, "{%s}RecipientKeyInfo" % XENC)
    etree.SubElement(rki, "{%s}KeyName" % DS).text = "recipient"
    cd = etree.SubElement(ek, "{%s}CipherData" % XENC)
    etree.SubElement(cd, "{%s}CipherValue" % XENC)
    ek = xmlsec.EncryptionContext(mgr).encrypt_binary(ek, session)
    ek.tag = "{%s}EncryptedKey" % XENC
    key_value = ek.find(".//{%s}OriginatorKeyInfo/{%s}KeyValue" % (XENC, DS))
    if len(key_value):
        raise RuntimeError("libxmlsec1 wrote the KeyValue itself; drop the composition here")
    key_value.append(ec_key_value(ephemeral.public_key()))

    # 2. libxmlsec1: AES-GCM of the element with the session key.
    ed = etree.Element("{%s}EncryptedData" % XENC, nsmap={"xenc": XENC}, Type=XENC + "Element")
    etree.SubElement(ed, "{%s}EncryptionMethod" % XENC, Algorithm=XENC11 + data_alg)
    cd = etree.SubElement(ed, "{%s}CipherData" % XENC)
    etree.SubElement(cd, "{%s}CipherValue" % XENC)
    ctx = xmlsec.EncryptionContext()
    ctx.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataAes, session)
    ed = ctx.encrypt_xml(ed, node)
    ki = etree.Element("{%s}KeyInfo" % DS, nsmap={"ds": DS})
    ki.append(ek)
    ed.insert(1, ki)

    # 3. Refusal tests: one change after the wrap.
    pk = ek.find(".//{%s}PublicKey" % DSIG11)
    if tamper == "ephemeral":  # one bit of Y: no longer a point on the curve
        point = bytearray(base64.b64decode(pk.text))
        point[-1] ^= 1
        pk.text = base64.b64encode(bytes(point)).decode()
    elif tamper == "other-key":  # a valid point, but not the one the key was agreed with
        other = ec.generate_private_key(recipient.curve).public_key()
        pk.text = ec_key_value(other)[1].text
    elif tamper == "curve":
        named = ek.find(".//{%s}NamedCurve" % DSIG11)
        other = "secp384r1" if recipient.curve.name == "secp256r1" else "secp256r1"
        named.set("URI", "urn:oid:" + CURVES[other])
    elif tamper == "kdf":  # PartyUInfo is not what the key was derived with
        p = ek.find(".//{%s}ConcatKDFParams" % XENC11)
        p.set("PartyUInfo", bits(party_u + b"!"))
    elif tamper == "kdf-digest":
        ek.find(".//{%s}ConcatKDFParams/{%s}DigestMethod" % (XENC11, DS)).set("Algorithm", DIGESTS["sha1"][0])
    return ed


def independent_decrypt(ed, recipient_key):
    """Decrypts an EncryptedData from encrypt_element with `cryptography` only (no xmlsec)."""
    ek = ed.find("{%s}KeyInfo/{%s}EncryptedKey" % (DS, XENC))
    kw = ek.find("{%s}EncryptionMethod" % XENC).get("Algorithm").rsplit("#", 1)[1]
    params = ek.find(".//{%s}ConcatKDFParams" % XENC11)
    digest_uri = params.find("{%s}DigestMethod" % DS).get("Algorithm")
    digest = next(h for (u, h) in DIGESTS.values() if u == digest_uri)
    other = b"".join(
        bytes.fromhex(params.get(n, ""))[1:] for n in ("AlgorithmID", "PartyUInfo", "PartyVInfo")
    )
    point = base64.b64decode(ek.find(".//{%s}PublicKey" % DSIG11).text)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(recipient_key.curve, point)
    z = recipient_key.exchange(ec.ECDH(), peer)
    kek = ConcatKDFHash(digest(), KW[kw], other).derive(z)
    session = aes_key_unwrap(kek, base64.b64decode(ek.find(".//{%s}CipherValue" % XENC).text))
    data = base64.b64decode(ed.find("{%s}CipherData/{%s}CipherValue" % (XENC, XENC)).text)
    return AESGCM(session).decrypt(data[:12], data[12:], None)


def write_vectors(out):
    """tests/data/saml/ecdh: one key per curve, one EncryptedAssertion per combination."""
    os.makedirs(out, exist_ok=True)
    combos = [
        ("P-256", ec.SECP256R1(), "kw-aes128", "aes128-gcm", "sha256"),
        ("P-256", ec.SECP256R1(), "kw-aes256", "aes256-gcm", "sha256"),
        ("P-384", ec.SECP384R1(), "kw-aes192", "aes192-gcm", "sha384"),
        ("P-521", ec.SECP521R1(), "kw-aes256", "aes256-gcm", "sha512"),
    ]
    keys = {}
    for name, curve, kw, gcm, digest in combos:
        if name not in keys:
            key = ec.generate_private_key(curve)
            subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "vector " + name)])
            import datetime

            now = datetime.datetime.now(datetime.timezone.utc)
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            keys[name] = (key, cert.public_bytes(serialization.Encoding.PEM))
            with open(os.path.join(out, name + ".key"), "wb") as f:
                f.write(
                    key.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
        key, cert_pem = keys[name]
        doc = etree.fromstring(
            '<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
            '<saml:Assertion ID="_v" Version="2.0"><saml:Issuer>https://node.test</saml:Issuer>'
            "<saml:Subject><saml:NameID>SE/NO/199001011234</saml:NameID></saml:Subject></saml:Assertion>"
            "</saml:EncryptedAssertion>"
        )
        ed = encrypt_element(
            doc[0], cert_pem, data_alg=gcm, kw=kw, digest=digest, party_u=b"https://node.test", party_v=b"https://sp.test"
        )
        plain = independent_decrypt(ed, key)
        stem = "%s-%s-%s-%s" % (name, kw, gcm, digest)
        with open(os.path.join(out, stem + ".xml"), "wb") as f:
            f.write(etree.tostring(doc))
        with open(os.path.join(out, stem + ".plain"), "wb") as f:
            f.write(plain)
        print(stem, len(plain))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "vectors":
        sys.exit("usage: xmlenc_ecdh.py vectors OUTDIR")
    write_vectors(sys.argv[2])
