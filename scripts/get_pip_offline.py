"""Stand-in for pip's get-pip.py bootstrap script, for ansible-test on machines that cannot fetch it.

ansible-test runs the bootstrap script with pip-install arguments in a fresh venv; this installs pip from the
interpreter's own ensurepip and then runs the same pip install through the package index configured for pip.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
