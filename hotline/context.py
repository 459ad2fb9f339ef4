"""What every ``hotline`` command gets: settings validated once, and the store and Redis
opened only when a command asks for them.

Bad settings, a database that does not answer or one at an old schema become one line naming
the fix (:class:`~hotline.errors.CliError`), never a traceback. Only ``migrate``, ``run`` and
``dev-setup`` change the schema; every other command checks it is current.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import ValidationError
from redis import Redis
from sqlalchemy.exc import OperationalError

from hotline import datadir
from hotline.errors import CliError
from hotline.settings import Settings, load_settings
from hotline.wiring import open_store
from tickets.migrate import SchemaOutdated, check_current, upgrade
from tickets.redisclient import connect
from tickets.store import Store


def settings_or_error(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"HOTLINE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"] else str(e["msg"])
            for e in exc.errors())
        raise CliError(f"invalid settings: {problems}") from None


def database_error(exc: OperationalError) -> CliError:
    reason = str(exc.orig or exc).strip().splitlines()[0]
    return CliError(f"the database does not answer ({reason}); check HOTLINE_DATABASE_URL "
                    "and that the server is running")


class CliContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    def _open(self) -> Store:
        if self._store is None:
            datadir.create(self.settings.data_dir)
            self._store = open_store(self.settings)
        return self._store

    @property
    def store(self) -> Store:
        """The store, after checking its schema is current."""
        store = self._open()
        try:
            check_current(store.db)
        except SchemaOutdated as exc:
            raise CliError(f"{exc}; run 'hotline migrate' first") from None
        except OperationalError as exc:
            raise database_error(exc) from None
        return store

    def migrate(self) -> Store:
        """Bring the database to the newest schema; the store."""
        store = self._open()
        try:
            upgrade(store.db)
        except OperationalError as exc:
            raise database_error(exc) from None
        return store

    @cached_property
    def redis(self) -> Redis:
        return connect(self.settings.resolved_redis_url)

    def close(self) -> None:
        if self._store is not None:
            self._store.db.dispose()
        if "redis" in self.__dict__:  # opened (cached_property)
            self.redis.close()
