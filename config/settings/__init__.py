"""Settings, one module per concern. Import order matters: later modules read
values (``PRODUCTION``, ``BASE_DIR``) that earlier ones define."""

from .base import *  # noqa: F401,F403
from .database import *  # noqa: F401,F403
from .redis import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
from .api import *  # noqa: F401,F403
from .logs import *  # noqa: F401,F403
from .yibao import *  # noqa: F401,F403
from .filing import *  # noqa: F401,F403
from .staff import *  # noqa: F401,F403
from .pin import *  # noqa: F401,F403
