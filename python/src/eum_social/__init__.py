"""eum_social: the AWS End User Messaging Social (WhatsApp) emulator for Python tests.

``EumSocial`` starts the bundled ``eum-social`` binary on a free loopback port and stops it;
its control-API helpers (``inbound``, ``clock``, ``events``, ``messages``, ``templates``,
``faults``, ``sns``, ``reset``, state export/import) return the parsed JSON answers, and
``client()`` is a boto3 client pointed at it. ``Control`` is the same helpers for an emulator
that is already running. The pytest plugin (``eum_social.pytest_plugin``, loaded by pytest
through its entry point) provides the ``eum_social`` and ``eum_social_client`` fixtures.
"""

from .control import Clock, Control, Faults, Inbound, Sns, Templates
from .errors import ControlError, EumSocialError, StartupError
from .server import BINARY_ENV, EumSocial, binary_path

__all__ = [
    "BINARY_ENV",
    "Clock",
    "Control",
    "ControlError",
    "EumSocial",
    "EumSocialError",
    "Faults",
    "Inbound",
    "Sns",
    "StartupError",
    "Templates",
    "binary_path",
]
