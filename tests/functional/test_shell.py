"""The interactive shell, driven through a pseudo-terminal and a pipe."""

import re
import time

import pexpect
import pytest

from tests.functional.conftest import PDTRAIN

PROMPT = re.compile(r"pdtrain default@127\.0\.0\.1:\d+>")
SLEEPY_SCRIPT = """\
import time

for step in range(600):
    print("tick", step, flush=True)
    time.sleep(0.2)
"""


def spawn_shell(cli, extra_env=None):
    """Start `pdtrain` on a pseudo-terminal and wait for the prompt."""
    env = dict(cli.env, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    env.update(extra_env or {})
    shell = pexpect.spawn(
        PDTRAIN, env=env, encoding="utf-8", timeout=30, dimensions=(40, 200)
    )
    shell.expect(PROMPT)
    return shell


def leave(shell):
    """Send exit, wait for the process to end, return its status."""
    shell.sendline("exit")
    shell.expect(pexpect.EOF)
    shell.close()
    return shell.exitstatus


@pytest.fixture
def created_run(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "shellbundle")
    return cli.json("run", "create", "--bundle", "shellbundle")["id"]


def test_shell_completes_live_run_id(cli, created_run):
    shell = spawn_shell(cli)

    shell.send("run sh\t")
    shell.expect("ow")  # the rest of "show", drawn after "sh"
    shell.send(created_run[:4] + "\t")
    shell.expect(re.escape(created_run[4:]))
    shell.send("\r")

    shell.expect("created")
    shell.expect(PROMPT)
    assert leave(shell) == 0


def test_shell_error_then_next_command_works(cli):
    shell = spawn_shell(cli)

    shell.sendline("run show no-such-run")
    shell.expect("Error:.*not found")
    shell.expect(PROMPT)
    shell.sendline("run list --bogus")
    shell.expect("unrecognized arguments: --bogus")
    shell.expect(PROMPT)
    shell.sendline("profile list -f value")
    shell.expect(PROMPT)
    shell.sendline("quota -f value -c kind")

    shell.expect("datasets")
    shell.expect(PROMPT)
    assert "Traceback" not in shell.before
    assert leave(shell) == 0


def test_shell_ctrl_c_cancels_logs_follow(cli, tmp_path):
    bundle = tmp_path / "sleepy"
    bundle.mkdir()
    (bundle / "train.py").write_text(SLEEPY_SCRIPT)
    cli.json("bundle", "upload", bundle, "--name", "sleepy")
    run_id = cli.json("run", "create", "--bundle", "sleepy")["id"]
    cli.json("run", "submit", run_id)
    shell = spawn_shell(cli)
    try:
        shell.sendline(f"logs --follow --interval 0.2 {run_id}")
        shell.expect("tick")
        time.sleep(0.5)
        shell.sendintr()

        shell.expect("Interrupted")
        shell.expect(PROMPT)
        shell.sendline("quota -f value -c kind")
        shell.expect("bundles")
        shell.expect(PROMPT)
        assert leave(shell) == 0
    finally:
        cli("run", "stop", "--yes", run_id)


def test_shell_history_saved_across_sessions(cli):
    first = spawn_shell(cli)
    first.sendline("profile list -f csv")
    first.expect('"name","current"')
    first.expect(PROMPT)
    assert leave(first) == 0

    second = spawn_shell(cli)
    second.sendline("history --all")
    second.expect("profile list -f csv")
    second.expect(PROMPT)
    assert leave(second) == 0
    assert (cli.home / "history").stat().st_mode & 0o077 == 0


def test_shell_ctrl_d_leaves_with_zero(cli):
    shell = spawn_shell(cli)

    shell.sendeof()

    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0


def test_shell_error_colour_only_without_no_color(cli):
    coloured = spawn_shell(cli)
    coloured.sendline("run show missing-run")
    coloured.expect("not found")
    assert "\x1b[31mError:\x1b[0m Run 'missing-run'" in coloured.before
    leave(coloured)

    plain = spawn_shell(cli, {"NO_COLOR": "1"})
    plain.sendline("run show missing-run")
    plain.expect("not found")
    assert "Error: Run 'missing-run'" in plain.before
    assert "\x1b[31m" not in plain.before
    leave(plain)


def test_piped_shell_exits_with_last_failure(cli):
    script = "quota -f value -c kind\nrun show nope\nprofile list\n"

    result = cli(input=script)

    assert result.returncode == 1
    assert result.stdout.count("datasets") == 1
    assert result.stderr.startswith("Error: Run 'nope' not found: ")
    assert result.stderr.count("\n") == 1


def test_piped_shell_usage_error_is_one_line(cli):
    result = cli(input="run list --bogus\nquota -f value -c kind\n")

    assert result.returncode == 2
    assert "bundles" in result.stdout
    assert result.stderr.count("\n") == 1
    assert "unrecognized arguments: --bogus" in result.stderr


def test_piped_shell_all_succeed_exits_zero(cli):
    result = cli("shell", input="quota -f value -c kind\n\n")

    assert result.returncode == 0
    assert result.stderr == ""


def test_piped_shell_keeps_quoted_words_together(cli, tmp_path):
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n")
    script = (
        f'dataset upload "{data}" --name quoted --description "two words"'
        " -f value -c description\n"
    )

    result = cli(input=script)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "two words\n"


def test_piped_shell_adds_no_blank_line(cli):
    result = cli(input="quota -f value -c kind\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "datasets\nbundles\nartifacts\ntotal\n"


def test_piped_shell_unclosed_quote_is_usage_error(cli):
    result = cli(input="run list --name 'open\nquota -f value -c kind\n")

    assert result.returncode == 2
    assert "bundles" in result.stdout
    assert result.stderr.count("\n") == 1
    assert "Invalid command line" in result.stderr
    assert "close the quote" in result.stderr


def test_piped_shell_rejects_pipes_and_redirection(cli, tmp_path):
    target = tmp_path / "out.txt"
    script = (
        "quota -f value -c kind | wc -l\n"
        f"quota -f value -c kind > {target}\n"
        "bundle list --name 'a|b' -f value -c name\n"
    )

    result = cli(input=script)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 2
    assert "'|' does not work inside the pdtrain shell" in result.stderr
    assert "'>' does not work inside the pdtrain shell" in result.stderr
    assert not target.exists()
