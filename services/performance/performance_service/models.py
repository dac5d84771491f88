"""ORM base of the performance service, bound to its own schema `performance`."""

from sqlalchemy.orm import DeclarativeBase

from svckit.models import service_metadata
from svckit.platform_tables import platform_tables

SCHEMA = "performance"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


PLATFORM_TABLES = platform_tables(Base.metadata)
