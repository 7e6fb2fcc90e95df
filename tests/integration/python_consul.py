"""Debian's python3-consul (0.7.1) for the Consul API tests, or None when it is not installed.
Under a Python that is not Debian's own (pyenv), it is found in Debian's dist-packages."""
import sys

try:
    import consul
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import consul
    except ImportError:
        consul = None
