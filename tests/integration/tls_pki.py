"""Certificates for the TLS tests, made with the `openssl` command in a temporary directory:
CAs, and certificates they issue for 127.0.0.1/localhost (servers and peers) or for clients,
valid or expired. EC P-256 keys, so that making them takes milliseconds."""
import os
import shutil
import ssl
import subprocess
import tempfile


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class Pki:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="muster-tls-")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        """A self-signed CA: returns the path of its certificate (name.pem; key name.key)."""
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "30",
                 "-subj", "/CN=" + name, cwd=self.dir)
        return self.path(name + ".pem")

    def issue(self, ca, name, server=True, days=30):
        """A certificate issued by CA `ca` (its name): (cert path, key path). A server
        certificate is for 127.0.0.1 and localhost and may also serve as a client one (a
        node's, towards its peers); `days` -1 makes one that has already expired."""
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name,
                 cwd=self.dir)
        ext = name + ".ext"
        with open(self.path(ext), "w") as f:
            if server:
                f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                        "extendedKeyUsage=serverAuth,clientAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-out", name + ".pem", "-days", str(days), "-extfile", ext,
                 cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    def client_context(self, ca_file, cert=None):
        """A Python TLS client context trusting `ca_file`, presenting `cert` (cert, key)."""
        ctx = ssl.create_default_context(cafile=ca_file)
        if cert:
            ctx.load_cert_chain(*cert)
        return ctx
