"""The I/O of a run's bookkeeping: recovering from a killed run, and committing a resolved run in order.

Order of a commit (see `newslake.lake`): journal -> data partitions -> ledger -> journal removed.
"""

from collections.abc import Callable
from datetime import date

import polars as pl

from newslake.lake import Journal, WriteStats, clear_journal, reconcile_partition, write_journal, write_state
from newslake.ledger import Resolution, partition_claims
from newslake.storage import Store
from schemas.tables import STATE_TABLES, TABLES

# (table, rows, purge keys, purge days) -> stats
TableWrite = Callable[[str, pl.DataFrame, list[str], list[date]], WriteStats]


def recover(root: Store, journal: Journal, ledger: pl.DataFrame) -> int:
    """Make every partition a killed run touched hold exactly what the ledger claims; return how many changed.

    The seeds that run was processing are processed again by this one (`Plan` gets them as forced), so
    what the killed run had written is rewritten or, where the ledger does not claim it, removed here.
    """
    changed = 0
    for table, days in journal.days.items():
        if table not in TABLES:
            continue
        for day in days:
            changed += reconcile_partition(root, table, day, partition_claims(ledger, table, day))
    return changed


def validate_state(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The ledger and runs are validated like the data tables before they are written."""
    return STATE_TABLES[table].validate(frame, lazy=True)


def commit(
    root: Store, resolution: Resolution, run_id: str, previous: Journal | None, write: TableWrite
) -> list[WriteStats]:
    """Write a resolved run: journal, data tables (through `write`, e.g. a retried task), ledger, journal off."""
    stats: list[WriteStats] = []
    if resolution.writes_data:
        write_journal(root, resolution.journal(run_id, previous))
        stats = [
            write(table, resolution.tables[table], resolution.purge_keys[table], resolution.purge_days[table])
            for table in TABLES
        ]
    if resolution.ledger_changed:
        write_state(root, "ledger", validate_state("ledger", resolution.ledger))
    if resolution.writes_data or previous is not None:
        clear_journal(root)
    return stats
