"""``manage.py run_demo`` (what ``make run`` starts): the Procfile's processes, then the address."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.demo import DEMO_PASSWORD, PERSONAS
from config.management.commands.run_demo import banner


def test_the_banner_names_the_address_every_persona_and_how_to_stop():
    text = banner("http://127.0.0.1:8000/")

    assert "The service is up: http://127.0.0.1:8000/" in text
    assert "http://127.0.0.1:8000/api/docs/" in text
    assert DEMO_PASSWORD in text
    for username, roles, *_ in PERSONAS:
        assert username in text and roles[0] in text
    assert text.rstrip().splitlines()[-2].strip() == "Stop everything with Ctrl-C."


@override_settings(DEBUG=True)
def test_processes_that_finish_end_the_run_without_error(tmp_path, capsys):
    procfile = tmp_path / "Procfile"
    procfile.write_text("one: echo first\ntwo: echo second\n")

    call_command("run_demo", procfile=str(procfile), url="http://127.0.0.1:9/", wait=1)

    out = capsys.readouterr().out
    assert "first" in out and "second" in out


@override_settings(DEBUG=True)
def test_a_process_that_fails_stops_the_others_and_fails_the_run(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("broken: sh -c 'exit 3'\nslow: sleep 30\n")

    with pytest.raises(CommandError, match="exit code 3"):
        call_command("run_demo", procfile=str(procfile), url="http://127.0.0.1:9/", wait=1)


@override_settings(DEBUG=False)
def test_it_refuses_to_run_with_debug_off(tmp_path):
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("run_demo", procfile=str(tmp_path / "Procfile"))


@override_settings(DEBUG=True)
def test_a_missing_procfile_is_named(tmp_path):
    with pytest.raises(CommandError, match="No Procfile at"):
        call_command("run_demo", procfile=str(tmp_path / "Procfile"))
