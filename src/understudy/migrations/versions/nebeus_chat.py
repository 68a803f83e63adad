"""nebeus: instant messaging (im_chat) sessions, members and messages.

Revision ID: nebeus0003
Revises: nebeus0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import understudy.core.db

revision: str = "nebeus0003"
down_revision: str | Sequence[str] | None = "nebeus0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the chat tables."""
    op.create_table(
        "nebeus_chat_bus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_bus")),
    )
    with op.batch_alter_table("nebeus_chat_bus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nebeus_chat_bus_channel"), ["channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_bus_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "nebeus_chat_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_nebeus_chat_groups_name")),
    )
    op.create_table(
        "nebeus_chat_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["nebeus_chat_groups.id"],
            name=op.f("fk_nebeus_chat_sessions_group_id_nebeus_chat_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_sessions")),
        sa.UniqueConstraint("link", name=op.f("uq_nebeus_chat_sessions_link")),
        sa.UniqueConstraint("uuid", name=op.f("uq_nebeus_chat_sessions_uuid")),
    )
    with op.batch_alter_table("nebeus_chat_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_sessions_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "nebeus_chat_session_docs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("doc_model", sa.String(length=64), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["nebeus_chat_sessions.id"],
            name=op.f("fk_nebeus_chat_session_docs_session_id_nebeus_chat_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_session_docs")),
    )
    with op.batch_alter_table("nebeus_chat_session_docs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_session_docs_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "nebeus_chat_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_contacts_owner_id_nebeus_users"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_contacts_user_id_nebeus_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_contacts")),
        sa.UniqueConstraint(
            "owner_id", "user_id", name=op.f("uq_nebeus_chat_contacts_owner_id_user_id")
        ),
    )
    with op.batch_alter_table("nebeus_chat_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_contacts_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_contacts_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "nebeus_chat_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["nebeus_chat_groups.id"],
            name=op.f("fk_nebeus_chat_group_members_group_id_nebeus_chat_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_group_members_user_id_nebeus_users"),
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_nebeus_chat_group_members")),
    )
    op.create_table(
        "nebeus_chat_members",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("is_read", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["nebeus_chat_sessions.id"],
            name=op.f("fk_nebeus_chat_members_session_id_nebeus_chat_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_members_user_id_nebeus_users"),
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_nebeus_chat_members")),
    )
    with op.batch_alter_table("nebeus_chat_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "nebeus_chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_messages_from_id_nebeus_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["nebeus_chat_sessions.id"],
            name=op.f("fk_nebeus_chat_messages_session_id_nebeus_chat_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nebeus_chat_messages")),
    )
    with op.batch_alter_table("nebeus_chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nebeus_chat_messages_from_id"), ["from_id"], unique=False
        )
        batch_op.create_index(
            "ix_nebeus_chat_messages_session_id_id", ["session_id", "id"], unique=False
        )

    op.create_table(
        "nebeus_chat_presence",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_poll", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_presence", understudy.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["nebeus_users.id"],
            name=op.f("fk_nebeus_chat_presence_user_id_nebeus_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_nebeus_chat_presence")),
    )


def downgrade() -> None:
    """Drop the chat tables."""
    op.drop_table("nebeus_chat_presence")
    with op.batch_alter_table("nebeus_chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_nebeus_chat_messages_session_id_id")
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_messages_from_id"))

    op.drop_table("nebeus_chat_messages")
    with op.batch_alter_table("nebeus_chat_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_members_user_id"))

    op.drop_table("nebeus_chat_members")
    op.drop_table("nebeus_chat_group_members")
    with op.batch_alter_table("nebeus_chat_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_contacts_user_id"))
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_contacts_owner_id"))

    op.drop_table("nebeus_chat_contacts")
    with op.batch_alter_table("nebeus_chat_session_docs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_session_docs_session_id"))

    op.drop_table("nebeus_chat_session_docs")
    with op.batch_alter_table("nebeus_chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_sessions_group_id"))

    op.drop_table("nebeus_chat_sessions")
    op.drop_table("nebeus_chat_groups")
    with op.batch_alter_table("nebeus_chat_bus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_bus_created_at"))
        batch_op.drop_index(batch_op.f("ix_nebeus_chat_bus_channel"))

    op.drop_table("nebeus_chat_bus")
