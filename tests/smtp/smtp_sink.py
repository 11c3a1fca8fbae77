"""An SMTP sink for signgate's notification tests: aiosmtpd (a real RFC 5321 server) on
127.0.0.1, optionally with STARTTLS required and AUTH PLAIN/LOGIN required (over TLS only, as
aiosmtpd insists), storing every accepted message in MAILDIR:

  MAILDIR/new/NNNN.eml   the message as received (bytes)
  MAILDIR/new/NNNN.json  the envelope and the message as Python's email package reads it:
                         {"mail_from", "rcpt_tos", "subject", "from", "to", "message_id",
                          "content_type", "body"} (headers and body decoded: RFC 2047,
                          quoted-printable or base64, charset)

Files appear atomically (written under MAILDIR/tmp, then renamed). Prints
"smtp sink listening on 127.0.0.1:PORT" once it accepts connections; stops on SIGTERM.
Test plumbing only.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, maildir):
        self.maildir = maildir
        self.n = 0
        for sub in ("tmp", "new"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.n = len([f for f in os.listdir(os.path.join(maildir, "new")) if f.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = "%04d" % self.n
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"] or ""),
            "from": str(msg["from"] or ""),
            "to": str(msg["to"] or ""),
            "message_id": str(msg["message-id"] or ""),
            "content_type": msg.get_content_type(),
            "body": body.get_content() if body is not None else "",
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None,
        }
        tmp = os.path.join(self.maildir, "tmp")
        new = os.path.join(self.maildir, "new")
        for ext, data in ((".eml", raw), (".json", json.dumps(record).encode())):
            with open(os.path.join(tmp, name + ext), "wb") as f:
                f.write(data)
        # the .json last: a reader that sees it sees the .eml too
        os.rename(os.path.join(tmp, name + ".eml"), os.path.join(new, name + ".eml"))
        os.rename(os.path.join(tmp, name + ".json"), os.path.join(new, name + ".json"))
        return "250 2.0.0 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()
    # aiosmtpd warns on its own legacy bookkeeping at every AUTH; keep the test output clean.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    tls = None
    if a.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.tls_cert, a.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and a.user is not None
            and auth_data.login == a.user.encode()
            and auth_data.password == (a.password or "").encode()
        )
        return AuthResult(success=ok)

    handler = Store(a.maildir)

    def factory():
        return SMTP(
            handler,
            hostname="sink.test",
            tls_context=tls,
            require_starttls=tls is not None,
            authenticator=authenticator if a.user else None,
            auth_required=a.user is not None,
            auth_require_tls=True,
        )

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, host="127.0.0.1", port=a.port, reuse_address=True)
        port = server.sockets[0].getsockname()[1]
        print("smtp sink listening on 127.0.0.1:%d" % port, flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
