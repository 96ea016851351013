import io

from pdtrain_core.app import PdtrainApp


class Terminal(io.StringIO):
    def isatty(self):
        return False


def _run(argv, tmp_path, monkeypatch):
    monkeypatch.setenv("PDTRAIN_HOME", str(tmp_path))
    for name in ("PDTRAIN_API_URL", "PDTRAIN_API_KEY", "PDTRAIN_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = PdtrainApp(Terminal(), stdout, stderr).run(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def test_app_unknown_command_exits_2_on_stderr(tmp_path, monkeypatch):
    code, out, err = _run(["bundel", "list"], tmp_path, monkeypatch)

    assert code == 2
    assert out == ""
    assert err.startswith("Error: Unknown command 'bundel list'")


def test_app_group_alone_lists_its_commands(tmp_path, monkeypatch):
    code, out, err = _run(["run"], tmp_path, monkeypatch)

    assert code == 2
    assert out == ""
    assert err.startswith("Error: 'run' needs a subcommand: run create,")
    assert err.count("\n") == 1


def test_app_malformed_hyperparameter_is_one_line(tmp_path, monkeypatch):
    argv = ["run", "create", "--bundle", "b", "--hyperparameter", "lr"]

    code, out, err = _run(argv, tmp_path, monkeypatch)

    assert code == 2
    assert out == ""
    assert err == (
        "Error: Invalid --hyperparameter value 'lr': expected KEY=VALUE\n"
    )


def test_app_unreachable_server_names_url(tmp_path, monkeypatch):
    argv = ["--api-url", "http://127.0.0.1:9", "--api-key", "k", "quota", "-q"]

    code, out, err = _run(argv, tmp_path, monkeypatch)

    assert code == 1
    assert "Cannot reach the orchestrator at http://127.0.0.1:9" in err
    assert "Traceback" not in err


def test_app_delete_without_terminal_needs_yes(tmp_path, monkeypatch):
    argv = ["--api-url", "http://127.0.0.1:9", "dataset", "delete", "iris"]

    code, _, err = _run(argv, tmp_path, monkeypatch)

    assert code == 2
    assert "pass --yes" in err


def test_app_info_works_without_server(tmp_path, monkeypatch):
    code, out, _ = _run(
        ["info", "-f", "value", "-c", "api_key_source"], tmp_path, monkeypatch
    )

    assert code == 0
    assert out == "default\n"
