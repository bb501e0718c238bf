"""Only the numbering path may append to the log, and only well-formed canonical entries are queued.

* ``audit_auditpending`` gets an immediate ``BEFORE INSERT`` check: the
  queued item must be a well-formed entry (exactly the six fields, strings,
  ``detail`` an object, ``ts`` RFC 3339 UTC) in RFC 8785 form, with the
  number's place at the top level.  The writer's INSERT fails at once, so a
  bad item never sits in the queue and can never reach the log.
* ``audit_auditentry`` gets a ``BEFORE INSERT`` admission check: a row is
  admitted only from inside the numbering trigger, with ``seq`` the number
  the head has just been advanced past, and a leaf hash that is
  SHA-256(0x00‖leaf).  A direct INSERT, at the head or anywhere, is refused,
  so no row can block numbering.  On PostgreSQL the numbering path is told
  apart by the trigger depth (the INSERT runs inside a trigger) and the
  current user (the numbering function runs SECURITY DEFINER as the owner of
  the tables; a trigger of anyone else runs as its caller).  On SQLite it is
  the pending row itself: the entry's leaf must be the pending row's bytes
  with this number, and pending rows exist only while the numbering trigger
  runs.

The SQL is frozen here as applied; ``audit/guards.py`` keeps the SQLite
copy that re-installs the triggers after a migration rebuilds a table.
See ``audit/README.md``, "Admission".
"""

from django.db import migrations

POSTGRESQL = [
    # RFC 8785 form of a number, as ECMAScript writes the double it denotes.
    # extra_float_digits = 1 makes float8 text the shortest round-trip digits.
    r"""
    CREATE FUNCTION audit_jcs_number(n numeric) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET extra_float_digits = 1 AS $$
    DECLARE
        f float8 := n::float8;
        sign text := '';
        m text[];
        digits text;
        exp10 int;
        k int;
        p int;
        e int;
        result text;
    BEGIN
        IF f = 0 THEN
            RETURN '0';
        END IF;
        IF f < 0 THEN
            sign := '-';
            f := -f;
        END IF;
        m := regexp_match(f::text, '^([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$');
        digits := m[1] || coalesce(m[2], '');
        exp10 := coalesce(m[3]::int, 0) - length(coalesce(m[2], ''));
        digits := ltrim(digits, '0');
        k := length(digits);
        digits := rtrim(digits, '0');
        exp10 := exp10 + k - length(digits);
        k := length(digits);
        p := k + exp10;
        IF k <= p AND p <= 21 THEN
            result := digits || repeat('0', p - k);
            -- An integer the verifiers would read as one must be exactly representable.
            IF f > 9007199254740991 THEN
                RAISE EXCEPTION 'audit entry refused: the integer % is beyond 2^53 - 1', sign || result
                    USING ERRCODE = 'check_violation';
            END IF;
        ELSIF 0 < p AND p <= 21 THEN
            result := substr(digits, 1, p) || '.' || substr(digits, p + 1);
        ELSIF -6 < p AND p <= 0 THEN
            result := '0.' || repeat('0', -p) || digits;
        ELSE
            e := p - 1;
            result := left(digits, 1) || CASE WHEN k > 1 THEN '.' || substr(digits, 2) ELSE '' END
                      || 'e' || CASE WHEN e >= 0 THEN '+' ELSE '-' END || abs(e);
        END IF;
        RETURN sign || result;
    END;
    $$
    """,
    # RFC 8785 text of a jsonb value.  jsonb's own string escaping is JCS's
    # (\b \t \n \f \r \" \\, other controls as \u00xx, everything else as is);
    # keys are ordered by code point (COLLATE "C" on UTF-8), which is UTF-16
    # order except between U+E000..U+FFFF and supplementary characters.
    # Scalars are written inline and integers without a call: a function call
    # per value is most of the cost.
    r"""
    CREATE FUNCTION audit_jcs(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE
        result text;
        n numeric;
    BEGIN
        CASE jsonb_typeof(j)
        WHEN 'object' THEN
            SELECT '{' || coalesce(string_agg(
                       to_jsonb(key)::text || ':'
                       || CASE WHEN jsonb_typeof(value) IN ('string', 'boolean', 'null') THEN value::text
                               ELSE audit_jcs(value) END,
                       ',' ORDER BY key COLLATE "C"), '') || '}'
            INTO result FROM jsonb_each(j);
        WHEN 'array' THEN
            SELECT '[' || coalesce(string_agg(
                       CASE WHEN jsonb_typeof(value) IN ('string', 'boolean', 'null') THEN value::text
                            ELSE audit_jcs(value) END,
                       ',' ORDER BY ord), '') || ']'
            INTO result FROM jsonb_array_elements(j) WITH ORDINALITY AS element(value, ord);
        WHEN 'number' THEN
            n := j::numeric;
            IF n = trunc(n) AND abs(n) <= 9007199254740991 THEN
                result := trunc(n)::text;
            ELSE
                result := audit_jcs_number(n);
            END IF;
        ELSE
            result := j::text;
        END CASE;
        RETURN result;
    END;
    $$
    """,
    # The byte-for-byte comparison with the re-serialised value is the check;
    # the key set is looked at only to name what is wrong.
    r"""
    CREATE FUNCTION audit_check_pending() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        entry jsonb;
    BEGIN
        -- Text that is not JSON fails here ("invalid input syntax for type json");
        -- no EXCEPTION block, which would cost a subtransaction per append.
        entry := (NEW.prefix || ',"seq":0' || NEW.suffix)::jsonb;
        IF jsonb_typeof(entry) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'audit entry refused: not a JSON object' USING ERRCODE = 'check_violation';
        END IF;
        IF jsonb_typeof(entry -> 'action') IS DISTINCT FROM 'string' OR jsonb_typeof(entry -> 'actor') IS DISTINCT FROM 'string'
           OR jsonb_typeof(entry -> 'target') IS DISTINCT FROM 'string' OR jsonb_typeof(entry -> 'ts') IS DISTINCT FROM 'string'
           OR jsonb_typeof(entry -> 'detail') IS DISTINCT FROM 'object' THEN
            IF ARRAY(SELECT jsonb_object_keys(entry) ORDER BY 1)
               IS DISTINCT FROM ARRAY['action', 'actor', 'detail', 'seq', 'target', 'ts'] THEN
                RAISE EXCEPTION 'audit entry refused: fields must be exactly action, actor, detail, seq, target, ts'
                    USING ERRCODE = 'check_violation';
            END IF;
            RAISE EXCEPTION 'audit entry refused: action, actor, target and ts must be strings and detail an object'
                USING ERRCODE = 'check_violation';
        END IF;
        IF entry ->> 'action' = '' OR entry ->> 'target' = '' THEN
            RAISE EXCEPTION 'audit entry refused: action and target must not be empty' USING ERRCODE = 'check_violation';
        END IF;
        IF entry ->> 'ts' !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$' THEN
            RAISE EXCEPTION 'audit entry refused: ts is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)'
                USING ERRCODE = 'check_violation';
        END IF;
        -- The number goes at the top level between detail and target, and
        -- every byte around it is what RFC 8785 writes for the parsed value
        -- (which also rules out other, missing and duplicate fields).
        IF NEW.prefix IS DISTINCT FROM '{"action":' || (entry -> 'action')::text || ',"actor":'
                                       || (entry -> 'actor')::text || ',"detail":' || audit_jcs(entry -> 'detail')
           OR NEW.suffix IS DISTINCT FROM ',"target":' || (entry -> 'target')::text || ',"ts":'
                                          || (entry -> 'ts')::text || '}' THEN
            IF ARRAY(SELECT jsonb_object_keys(entry) ORDER BY 1)
               IS DISTINCT FROM ARRAY['action', 'actor', 'detail', 'seq', 'target', 'ts'] THEN
                RAISE EXCEPTION 'audit entry refused: fields must be exactly action, actor, detail, seq, target, ts'
                    USING ERRCODE = 'check_violation';
            END IF;
            RAISE EXCEPTION 'audit entry refused: not in RFC 8785 canonical form' USING ERRCODE = 'check_violation';
        END IF;
        PERFORM (entry ->> 'ts')::timestamptz;  -- a time that does not exist fails here, naming the value
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_auditpending_check BEFORE INSERT ON audit_auditpending
    FOR EACH ROW EXECUTE FUNCTION audit_check_pending()
    """,
    # Not SECURITY DEFINER: current_user is the owner only when the INSERT
    # comes from audit_number_pending() (SECURITY DEFINER) or from the owner.
    r"""
    CREATE FUNCTION audit_admit_entry() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        head_size bigint;
        table_owner name;
    BEGIN
        -- One query for both (this runs while the head row is locked).
        SELECT h.size, pg_get_userbyid(c.relowner) INTO head_size, table_owner
        FROM audit_audithead h, pg_class c WHERE h.id = 1 AND c.oid = TG_RELID;
        IF pg_trigger_depth() < 2 OR current_user IS DISTINCT FROM table_owner THEN
            RAISE EXCEPTION 'audit entries enter the log only through audit_auditpending (the numbering trigger)'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF head_size IS DISTINCT FROM NEW.seq + 1 THEN
            RAISE EXCEPTION 'audit entry seq % is not the number the head was advanced past (size %)', NEW.seq, head_size
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.leaf_hash IS DISTINCT FROM sha256('\x00'::bytea || convert_to(NEW.leaf, 'UTF8')) THEN
            RAISE EXCEPTION 'audit entry seq %: leaf hash is not SHA-256(0x00 || leaf)', NEW.seq
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_auditentry_admit BEFORE INSERT ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_admit_entry()
    """,
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER audit_auditentry_admit ON audit_auditentry",
    "DROP FUNCTION audit_admit_entry()",
    "DROP TRIGGER audit_auditpending_check ON audit_auditpending",
    "DROP FUNCTION audit_check_pending()",
    "DROP FUNCTION audit_jcs(jsonb)",
    "DROP FUNCTION audit_jcs_number(numeric)",
]

# audit_pending_problem() and audit_leaf_hash() are registered on every
# SQLite connection by audit.apps.
SQLITE = [
    """
    CREATE TRIGGER audit_auditpending_check BEFORE INSERT ON audit_auditpending
    BEGIN
        SELECT RAISE(ABORT, 'audit entry refused: not a well-formed entry in RFC 8785 canonical form')
        WHERE audit_pending_problem(NEW.prefix, NEW.suffix) IS NOT NULL;
    END
    """,
    """
    CREATE TRIGGER audit_auditentry_admit BEFORE INSERT ON audit_auditentry
    BEGIN
        SELECT RAISE(ABORT, 'audit entries enter the log only through audit_auditpending (the numbering trigger)')
        WHERE NOT EXISTS (SELECT 1 FROM audit_auditpending WHERE prefix || ',"seq":' || NEW.seq || suffix = NEW.leaf);
        SELECT RAISE(ABORT, 'audit entry refused: seq is not the next number')
        WHERE NEW.seq IS NOT (SELECT size FROM audit_audithead WHERE id = 1);
        SELECT RAISE(ABORT, 'audit entry refused: leaf hash is not SHA-256(0x00 || leaf)')
        WHERE NEW.leaf_hash IS NOT audit_leaf_hash(NEW.leaf);
    END
    """,
]

SQLITE_REVERSE = ["DROP TRIGGER audit_auditentry_admit", "DROP TRIGGER audit_auditpending_check"]


def forwards(apps, schema_editor):
    for statement in {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    for statement in {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(
        schema_editor.connection.vendor, []
    ):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(forwards, backwards)]
