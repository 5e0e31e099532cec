"""Every model module, so that Alembic sees the whole schema. A new domain adds its module here."""

import storage.plan  # noqa: F401
import storage.voting  # noqa: F401
from storage import (
    channels,  # noqa: F401
    dashboard,  # noqa: F401
    delivery,  # noqa: F401
    events,  # noqa: F401
    helpdesk,  # noqa: F401
    models,  # noqa: F401
)
from storage.models import Base

metadata = Base.metadata
