"""The examples of the README (issue 4): libmuster installed with `cmake --install`, the examples
built against it with find_package(muster) and the caller once more with pkg-config, then run
against a real node: two echo services register, the caller finds and balances over both, and
after one stops (cancelling its registration) the caller reaches only the other."""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from muster_node import Node

BUILD = os.environ.get("MUSTER_BUILD_DIR")
SOURCE = os.environ.get("MUSTER_SOURCE_DIR")


def run(*cmd, env=None, timeout=300):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}"
    return r


@unittest.skipUnless(BUILD and SOURCE, "only in the plain build (sanitizer builds' libraries "
                                       "need sanitizer flags at every link)")
class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="muster-examples-")
        prefix = os.path.join(cls.tmp, "prefix")
        run("cmake", "--install", BUILD, "--prefix", prefix)
        cls.bin = os.path.join(cls.tmp, "build")
        run("cmake", "-S", os.path.join(SOURCE, "examples"), "-B", cls.bin,
            f"-DCMAKE_PREFIX_PATH={prefix}")
        run("cmake", "--build", cls.bin, "-j", "2")
        pc_env = {**os.environ, "PKG_CONFIG_PATH": os.path.join(prefix, "lib", "pkgconfig")}
        flags = run("pkg-config", "--cflags", "--libs", "muster", env=pc_env).stdout.split()
        cls.pc_caller = os.path.join(cls.tmp, "caller_pkgconfig")
        run("g++", "-std=c++20", os.path.join(SOURCE, "examples", "caller.cpp"), "-o",
            cls.pc_caller, *flags)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, hostname):
        return {**os.environ, "DISCOVERY_NODES": f"127.0.0.1:{self.node.port}", "ZONE": "sh001",
                "DEPLOY_ENV": "dev", "HOSTNAME": hostname}

    def start_service(self, hostname):
        p = subprocess.Popen([os.path.join(self.bin, "echo_service"), "echo", "0"],
                             stdout=subprocess.PIPE, text=True, env=self.env(hostname))
        self.services.append(p)
        self.assertIn("serving on 127.0.0.1:", p.stdout.readline())
        return p

    def caller(self, binary, calls):
        return subprocess.run([binary, "echo", str(calls)], capture_output=True, text=True,
                              timeout=60, env=self.env("caller-1"))

    def setUp(self):
        self.node = Node()
        self.services = []

    def tearDown(self):
        for p in self.services:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        self.node.stop()

    def test_service_registers_and_caller_balances_over_it(self):
        one = self.start_service("echo-1")
        self.start_service("echo-2")
        r = self.caller(os.path.join(self.bin, "caller"), 20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("found 2 instance(s) of echo", r.stdout)
        self.assertIn("10 x hello from echo-1", r.stdout)
        self.assertIn("10 x hello from echo-2", r.stdout)
        self.assertEqual(sorted(self.node.instances("echo")), ["echo-1", "echo-2"])

        one.send_signal(signal.SIGTERM)
        self.assertEqual(one.wait(10), 0)
        self.assertIn("cancelled: yes", one.stdout.read())
        self.assertEqual(sorted(self.node.instances("echo")), ["echo-2"])
        r = self.caller(self.pc_caller, 5)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("found 1 instance(s) of echo", r.stdout)
        self.assertIn("5 x hello from echo-2", r.stdout)

    def test_caller_says_when_nothing_is_found(self):
        r = subprocess.run([os.path.join(self.bin, "caller"), "nobody", "1"], capture_output=True,
                           text=True, timeout=60,
                           env={**self.env("caller-1"), "DEPLOY_ENV": ""})
        self.assertEqual(r.returncode, 1)
        self.assertIn("no env", r.stderr)


if __name__ == "__main__":
    unittest.main()
