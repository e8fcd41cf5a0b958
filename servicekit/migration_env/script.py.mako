"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}, written ${create_date}.
"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}

# No downgrade: a service's database only moves forward (going back is restoring a backup).
