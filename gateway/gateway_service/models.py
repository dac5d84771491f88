"""ORM base of the gateway, bound to its own schema `gateway`."""

from sqlalchemy.orm import DeclarativeBase

from svckit.models import service_metadata
from svckit.platform_tables import platform_tables

SCHEMA = "gateway"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)
