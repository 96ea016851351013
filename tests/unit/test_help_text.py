"""Every command's --help: a summary, described options, examples."""

import io

import pytest

from pdtrain_core.app import PdtrainApp


def _app(tmp_path, monkeypatch):
    monkeypatch.setenv("PDTRAIN_HOME", str(tmp_path))
    app = PdtrainApp(io.StringIO(), io.StringIO(), io.StringIO())
    app.options = app.parser.parse_known_args([])[0]
    return app


def _builtin_commands():
    app = PdtrainApp(io.StringIO(), io.StringIO(), io.StringIO())
    return sorted(
        name
        for name, entry_point in app.command_manager.commands.items()
        if getattr(entry_point, "builtin", False)
    )


@pytest.mark.parametrize("name", _builtin_commands())
def test_help_text_complete(name, tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    command = app.command_manager.commands[name].load()(app, None)
    parser = command.get_parser(f"pdtrain {name}")

    summary = command.get_description().strip().splitlines()
    undescribed = [
        action.dest for action in parser._actions if not action.help
    ]
    help_text = parser.format_help()

    assert summary and summary[0].endswith("."), name
    assert undescribed == [], name
    assert "examples:\n  pdtrain " in help_text, name


def test_help_lists_groups_without_importing(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)

    code = app.run(["help"])

    out = app.stdout.getvalue()
    assert code == 0
    assert "command groups" in out
    for group in ("bundle", "dataset", "run", "profile", "shell"):
        assert f"\n  {group} " in out
