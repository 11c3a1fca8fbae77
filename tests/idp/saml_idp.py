#!/usr/bin/env python3
"""A browser-free eIDAS-profile SAML 2.0 IdP on pysaml2, for signgate's tests.

It is a real third-party SAML implementation (pysaml2, which signs, verifies and encrypts
with the xmlsec1 binary): it verifies our signed AuthnRequest (HTTP-POST: enveloped
signature; HTTP-Redirect: query-string signature) against the SP metadata we publish, and
answers directly, without a login page, with pysaml2's auto-post HTML form carrying
SAMLResponse and RelayState to the ACS from our metadata. The response is signed, the
assertion signed and encrypted for the first encryption certificate in our metadata: an RSA
one with RSA-OAEP (xmlsec1, as pysaml2 does it), an EC one that offers
xmlenc11#ECDH-ES with ECDH-ES key agreement + ConcatKDF + AES key wrap (libxmlsec1 1.3
through python-xmlsec, tests/idp/xmlenc_ecdh.py; the system xmlsec1 1.2 has no key
agreement). `key_transport=rsa` skips EC certificates (the SP's RSA-OAEP fallback).

Usage: saml_idp.py --key K --cert C --sp-metadata FILE --metadata-out FILE [--port 0]
Prints "READY <port>" once its own (signed) metadata is written to --metadata-out.
Behaviour (test person, LoA, encryption, signing, status) comes from the command line and
can be changed at run time with GET /control?key=value&... (answers the state as JSON).
GET /last-request answers the last AuthnRequest XML and form fields as JSON.
"""

import argparse
import base64
import functools
import json
import os
import shutil
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, entity, samlp
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.server import Server
from saml2.sigver import pre_encryption_part, security_context
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import xmlenc_ecdh  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from lxml import etree  # noqa: E402

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
ENC = {
    "aes256-gcm": ("http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"),
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
    "aes128-cbc": ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
}
LOA = {
    "low": "http://eidas.europa.eu/LoA/low",
    "substantial": "http://eidas.europa.eu/LoA/substantial",
    "high": "http://eidas.europa.eu/LoA/high",
}
STATUS = {
    "RequestDenied": samlp.STATUS_REQUEST_DENIED,
    "AuthnFailed": samlp.STATUS_AUTHN_FAILED,
    "NoAuthnContext": samlp.STATUS_NO_AUTHN_CONTEXT,
}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--sp-metadata", required=True, help="file with our SP metadata (read per request)")
    p.add_argument("--metadata-out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--person", default="SE/NO/199001011234")
    p.add_argument("--given", default="Sven")
    p.add_argument("--family", default="Svensson")
    p.add_argument("--dob", default="1990-01-01")
    p.add_argument("--loa", default="substantial", choices=sorted(LOA))
    p.add_argument("--enc", default="aes256-gcm", choices=sorted(ENC) + ["none"])
    p.add_argument("--sign-response", default="1")
    p.add_argument("--sign-assertion", default="1")
    p.add_argument("--status", default="Success")
    p.add_argument("--valid-for", type=int, default=24, help="metadata validUntil in hours (0: none)")
    return p.parse_args()


ARGS = parse_args()
STATE = {
    "person": ARGS.person,
    "given": ARGS.given,
    "family": ARGS.family,
    "dob": ARGS.dob,
    "loa": ARGS.loa,
    "enc": ARGS.enc,
    "sign_response": ARGS.sign_response,
    "sign_assertion": ARGS.sign_assertion,
    "status": ARGS.status,
    "legal_id": "",
    "legal_name": "",
    # ECDH-ES: key wrap, ConcatKDF digest, one change after the wrap (xmlenc_ecdh.TAMPER),
    # and "auto" (the first encryption certificate) or "rsa" (RSA certificates only).
    "kw": "kw-aes256",
    "kdf_digest": "sha256",
    "ecdh_tamper": "",
    "key_transport": "auto",
    # What the last encryption used: "ECDH-ES" or "RSA-OAEP".
    "last_key_transport": "",
}
LAST = {}
LOCK = threading.Lock()


def idp_config(base, with_sp):
    conf = {
        "entityid": base + "/idp/metadata",
        "xmlsec_binary": shutil.which("xmlsec1"),
        "key_file": ARGS.key,
        "cert_file": ARGS.cert,
        "attribute_map_dir": os.path.join(HERE, "attributemaps"),
        "accepted_time_diff": 60,
        "delete_tmpfiles": True,
        "service": {
            "idp": {
                "name": "signgate test eIDAS node (pysaml2)",
                "endpoints": {
                    "single_sign_on_service": [
                        (base + "/sso/post", BINDING_HTTP_POST),
                        (base + "/sso/redirect", BINDING_HTTP_REDIRECT),
                    ],
                },
                "want_authn_requests_signed": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_UNSPECIFIED],
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    }
                },
            }
        },
    }
    if ARGS.valid_for > 0:
        conf["valid_for"] = ARGS.valid_for
    if with_sp:
        conf["metadata"] = {"local": [ARGS.sp_metadata]}
    c = IdPConfig()
    c.load(conf)
    return c


def write_metadata(base):
    conf = idp_config(base, with_sp=False)
    ed = entity_descriptor(conf)
    secc = security_context(conf)
    _, xml = sign_entity_descriptor(ed, None, secc, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    tmp = ARGS.metadata_out + ".tmp"
    with open(tmp, "w") as f:
        f.write(xml)
    os.replace(tmp, ARGS.metadata_out)


def sp_offers_ecdh(cert_pem):
    """Whether the SP metadata's KeyDescriptor with this certificate lists ECDH-ES."""
    der_b64 = "".join(line for line in cert_pem.decode().splitlines() if not line.startswith("-----"))
    md = etree.parse(ARGS.sp_metadata)
    for kd in md.iter("{%s}KeyDescriptor" % MD_NS):
        certs = ["".join(c.text.split()) for c in kd.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate")]
        if der_b64 in certs:
            methods = [m.get("Algorithm") for m in kd.findall("{%s}EncryptionMethod" % MD_NS)]
            return xmlenc_ecdh.ECDH_ES in methods
    return False


def answer(base, binding, form):
    """Parses and verifies the AuthnRequest, returns (html, state) of pysaml2's auto-post form."""
    with LOCK:
        st = dict(STATE)
    srv = Server(config=idp_config(base, with_sp=True))
    if binding == BINDING_HTTP_REDIRECT:
        req = srv.parse_authn_request(
            form["SAMLRequest"], BINDING_HTTP_REDIRECT, form.get("RelayState"), form.get("SigAlg"), form.get("Signature")
        )
    else:
        req = srv.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_POST)
    with LOCK:
        LAST.clear()
        LAST.update({"xml": str(req.xmlstr.decode() if isinstance(req.xmlstr, bytes) else req.xmlstr), "fields": form, "binding": binding})
    args = srv.response_args(req.message, [BINDING_HTTP_POST])
    destination = args["destination"]
    relay_state = form.get("RelayState")
    if st["status"] != "Success":
        resp = srv.create_error_response(
            args["in_response_to"], destination, (STATUS[st["status"]], "test IdP: " + st["status"]), sign=True
        )
    else:
        ava = {
            "PersonIdentifier": [st["person"]],
            "CurrentFamilyName": [st["family"]],
            "CurrentGivenName": [st["given"]],
            "DateOfBirth": [st["dob"]],
        }
        if st["legal_id"]:
            ava["LegalPersonIdentifier"] = [st["legal_id"]]
            ava["LegalName"] = [st["legal_name"]]
        encrypt = st["enc"] != "none"
        if encrypt:
            msg_enc, session_key = ENC[st["enc"]]
            entity.pre_encryption_part = functools.partial(pre_encryption_part, msg_enc=msg_enc)
            orig = srv.sec.encrypt_assertion
            idp_entity = srv.config.entityid
            sp_entity = args["sp_entity_id"]

            def enc(statement, enc_key, template, key_type=None, node_xpath=None, _o=orig, _k=session_key):
                # pysaml2 tries the SP's encryption certificates in metadata order and keeps
                # the first that works; enc_key is that certificate (PEM file).
                with open(enc_key, "rb") as f:
                    cert_pem = f.read()
                is_ec = isinstance(x509.load_pem_x509_certificate(cert_pem).public_key(), ec.EllipticCurvePublicKey)
                if is_ec and st["key_transport"] == "rsa":
                    raise ValueError("key_transport=rsa: EC certificate skipped")
                if not is_ec:
                    out = _o(statement, enc_key, template, key_type=_k, node_xpath=node_xpath)
                    with LOCK:
                        STATE["last_key_transport"] = "RSA-OAEP"
                    return out
                if not sp_offers_ecdh(cert_pem):
                    raise ValueError("the SP's EC encryption certificate does not offer xmlenc11#ECDH-ES")
                if not st["enc"].endswith("-gcm"):
                    raise ValueError("ECDH-ES responses are made with AES-GCM only")
                doc = etree.fromstring(str(statement).encode())
                a = doc.find("{%s}EncryptedAssertion/{%s}Assertion" % (SAML_NS, SAML_NS))
                xmlenc_ecdh.encrypt_element(
                    a,
                    cert_pem,
                    data_alg=st["enc"],
                    kw=st["kw"],
                    digest=st["kdf_digest"],
                    party_u=idp_entity.encode(),
                    party_v=sp_entity.encode(),
                    tamper=st["ecdh_tamper"],
                )
                with LOCK:
                    STATE["last_key_transport"] = "ECDH-ES"
                return etree.tostring(doc).decode()

            srv.sec.encrypt_assertion = enc
        resp = srv.create_authn_response(
            identity=ava,
            in_response_to=args["in_response_to"],
            destination=destination,
            sp_entity_id=args["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=st["person"]),
            authn={"class_ref": LOA[st["loa"]]},
            sign_response=st["sign_response"] == "1",
            sign_assertion=st["sign_assertion"] == "1",
            encrypt_assertion=encrypt,
            encrypt_assertion_self_contained=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
    http_args = srv.apply_binding(BINDING_HTTP_POST, str(resp), destination, relay_state, response=True)
    return http_args["data"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("saml_idp: " + (fmt % a) + "\n")

    def reply(self, code, body, ctype="text/html; charset=utf-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def sso(self, binding, form):
        try:
            html = answer(self.base(), binding, form)
        except Exception as e:  # the test asserts on the status code and this text
            self.reply(400, "saml_idp refused the request: %s: %s" % (type(e).__name__, e), "text/plain")
            return
        self.reply(200, html)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/sso/redirect":
            self.sso(BINDING_HTTP_REDIRECT, q)
        elif url.path == "/control":
            with LOCK:
                for k, v in q.items():
                    if k not in STATE:
                        self.reply(400, "unknown key " + k, "text/plain")
                        return
                    STATE[k] = v
                body = json.dumps(STATE)
            self.reply(200, body, "application/json")
        elif url.path == "/last-request":
            with LOCK:
                body = json.dumps(LAST)
            self.reply(200, body, "application/json")
        elif url.path == "/idp/metadata":
            with open(ARGS.metadata_out, "rb") as f:
                self.reply(200, f.read(), "application/samlmetadata+xml")
        else:
            self.reply(404, "not found", "text/plain")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        if url.path == "/sso/post":
            self.sso(BINDING_HTTP_POST, form)
        else:
            self.reply(404, "not found", "text/plain")


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    write_metadata(base)
    print("READY %d" % httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
