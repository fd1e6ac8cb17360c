"""The database's own guard of published releases: triggers that refuse any insert, update or
delete of a published version's rows, any change to a published version, and any change to a
stored file's record, on PostgreSQL and on SQLite (migration 0006; the models refuse the same
first, with a clearer message: curation.models.releases).

A caution for later migrations: on SQLite, Django rebuilds a table to alter it (copy, drop,
rename), which drops its triggers. A migration that alters one of these tables must call
`install(schema_editor)` again; tests/curation/test_release_immutability.py fails otherwise.
"""

PARTS = ("curation_releaseimage", "curation_sequesteredlabel", "curation_releasefile",
         "curation_releasechange")  # fmt: skip
MESSAGE = "curation: this release version is published and read-only"

_PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION curation_release_part_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
      SELECT 1 FROM curation_releaseversion WHERE id = OLD.version_id AND state = 'published') THEN
    RAISE EXCEPTION 'curation: this release version is published and read-only'
      USING ERRCODE = '23000';
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
      SELECT 1 FROM curation_releaseversion WHERE id = NEW.version_id AND state = 'published') THEN
    RAISE EXCEPTION 'curation: this release version is published and read-only'
      USING ERRCODE = '23000';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION curation_release_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state = 'published' THEN
    RAISE EXCEPTION 'curation: this release version is published and read-only'
      USING ERRCODE = '23000';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION curation_release_blob_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'curation: a stored release file never changes' USING ERRCODE = '23000';
END $$;
"""


def _postgresql() -> list[str]:
    statements = [_PG_FUNCTIONS]
    for table in PARTS:
        statements.append(
            f"DROP TRIGGER IF EXISTS {table}_guard ON {table}; "
            f"CREATE TRIGGER {table}_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION curation_release_part_guard();"
        )
    statements.append(
        "DROP TRIGGER IF EXISTS curation_releaseversion_guard ON curation_releaseversion; "
        "CREATE TRIGGER curation_releaseversion_guard BEFORE UPDATE OR DELETE ON "
        "curation_releaseversion FOR EACH ROW EXECUTE FUNCTION curation_release_version_guard();"
    )
    statements.append(
        "DROP TRIGGER IF EXISTS curation_releaseblob_guard ON curation_releaseblob; "
        "CREATE TRIGGER curation_releaseblob_guard BEFORE UPDATE ON curation_releaseblob "
        "FOR EACH ROW EXECUTE FUNCTION curation_release_blob_guard();"
    )
    return statements


def _sqlite() -> list[str]:
    published = (
        "(SELECT state FROM curation_releaseversion WHERE id = {row}.version_id) = 'published'"
    )
    abort = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    statements = []
    for table in PARTS:
        for event, when in (
            ("INSERT", published.format(row="NEW")),
            ("UPDATE", f"{published.format(row='OLD')} OR {published.format(row='NEW')}"),
            ("DELETE", published.format(row="OLD")),
        ):
            name = f"{table}_guard_{event.lower()}"
            statements.append(f"DROP TRIGGER IF EXISTS {name};")
            statements.append(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} {abort}"
            )
    for event in ("UPDATE", "DELETE"):
        name = f"curation_releaseversion_guard_{event.lower()}"
        statements.append(f"DROP TRIGGER IF EXISTS {name};")
        statements.append(
            f"CREATE TRIGGER {name} BEFORE {event} ON curation_releaseversion "
            f"WHEN OLD.state = 'published' {abort}"
        )
    statements.append("DROP TRIGGER IF EXISTS curation_releaseblob_guard_update;")
    statements.append(
        "CREATE TRIGGER curation_releaseblob_guard_update BEFORE UPDATE ON curation_releaseblob "
        "BEGIN SELECT RAISE(ABORT, 'curation: a stored release file never changes'); END;"
    )
    return statements


def install(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgresql, "sqlite": _sqlite}.get(vendor)
    if statements is None:
        return  # another engine: the models' guards stand alone
    for statement in statements():
        schema_editor.execute(statement)


def uninstall(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in PARTS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_guard ON {table};")
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS curation_releaseversion_guard ON curation_releaseversion;"
            "DROP TRIGGER IF EXISTS curation_releaseblob_guard ON curation_releaseblob;"
            "DROP FUNCTION IF EXISTS curation_release_part_guard();"
            "DROP FUNCTION IF EXISTS curation_release_version_guard();"
            "DROP FUNCTION IF EXISTS curation_release_blob_guard();"
        )
    elif vendor == "sqlite":
        for statement in _sqlite():
            if statement.startswith("DROP TRIGGER"):
                schema_editor.execute(statement)
