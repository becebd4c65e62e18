"""A real redis-server for tests: a free loopback port, its files in a temp folder, TLS if asked."""

import shutil
import signal
import socket
import subprocess
import time
from urllib.parse import quote

import pytest
import redis
import trustme


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server on a free loopback port, its append-only file in ``folder``.

    With ``tls=True`` it serves TLS only (``--port 0 --tls-port``), with a certificate for
    127.0.0.1 from a test CA (trustme) made now; ``ca_path`` is that CA's PEM and ``url`` a
    ``rediss://`` URL that trusts it (redis-py's from_url takes ``ssl_ca_certs`` from the query).
    """

    def __init__(self, folder, password=None, tls=False):
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            pytest.fail("redis-server is missing: apt-get install -y redis-server (scripts/setup.sh installs it)")
        self.folder = folder
        self.port = free_port()
        self.password = password
        self.tls = tls
        auth = f":{password}@" if password else ""
        if tls:
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1")
            self.ca_path = str(folder / "ca.pem")
            ca.cert_pem.write_to_path(self.ca_path)
            cert.private_key_pem.write_to_path(str(folder / "key.pem"))
            for i, pem in enumerate(cert.cert_chain_pems):
                pem.write_to_path(str(folder / "cert.pem"), append=i > 0)
            self.url = f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={quote(self.ca_path)}"
        else:
            self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        args = [self.exe, "--bind", "127.0.0.1", "--dir", str(self.folder)]
        if self.tls:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file", "ca.pem"]
        else:
            args += ["--port", str(self.port)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, cwd=self.folder)
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    pytest.fail(f"redis-server exited with {self.proc.returncode}: {' '.join(args)}")
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def client(self):
        """A redis-py client of this server (TLS, trusting the test CA, when the server is TLS)."""
        tls = {"ssl": True, "ssl_ca_certs": self.ca_path} if self.tls else {}
        # 127.0.0.1, not redis-py's default "localhost": the certificate is for the address.
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True, **tls)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
