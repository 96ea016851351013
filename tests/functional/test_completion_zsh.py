"""zsh completion: the script of `pdtrain complete --shell zsh` in zsh.

An interactive zsh runs in a pseudo-terminal (zsh's own zpty module);
the test types partial command lines, presses Tab and records what the
line became. zsh is needed: without it the tests are skipped, except
under CI (CI set), where .ci/run installs it and a missing zsh fails.
"""

import os
import shutil
import subprocess

import pytest

# Types each argument line with a Tab, then Ctrl-X Ctrl-D, bound to a
# widget that appends the edit buffer to the output file and clears it.
# zsh reads the keys in order, so the buffer is read after completion.
DRIVER = r"""
zmodload zsh/zpty
mode=$1 script=$2 out=$3; shift 3
wait_for() {
  local chunk deadline=$(( SECONDS + 30 ))
  while (( SECONDS < deadline )); do
    zpty -r -t z chunk && [[ $chunk == *$1* ]] && return 0
    sleep 0.05
  done
  return 1
}
zpty z zsh -f -i
if [[ $mode == fpath ]]; then
  zpty -w z "fpath=(${(q)script:h} \$fpath); autoload -Uz compinit"
  zpty -w z "compinit -u -D"
else
  zpty -w z "autoload -Uz compinit; compinit -u -D; source ${(q)script}"
fi
zpty -w z 'dump() { print -r -- "$BUFFER" >> '"${(q)out}"'; BUFFER=;'\
' zle -M DUMPED; }'
zpty -w z 'zle -N dump; bindkey "^X^D" dump; PS1="ready> "'
wait_for 'ready> ' || exit 3
for line in "$@"; do
  zpty -w -n z "$line"$'\t\x18\x04'
  wait_for DUMPED || exit 4
done
zpty -d z
"""


@pytest.fixture
def zsh():
    """Return the path of zsh, or skip (fail under CI) without it."""
    path = shutil.which("zsh")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("zsh is not installed; .ci/run installs it")
    pytest.skip("zsh is not installed; zsh completion tests skipped")


def complete_in_zsh(zsh, cli, tmp_path, mode, lines):
    """Return the lines as zsh left them after one Tab each."""
    script = tmp_path / "zfunc" / "_pdtrain"
    script.parent.mkdir()
    printed = cli("complete", "--shell", "zsh")
    assert printed.returncode == 0, printed.stderr
    script.write_text(printed.stdout)
    driver = tmp_path / "drive.zsh"
    driver.write_text(DRIVER)
    out = tmp_path / "buffers.txt"

    result = subprocess.run(
        [zsh, "-f", str(driver), mode, str(script), str(out), *lines],
        env=cli.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text().splitlines()


@pytest.mark.parametrize("mode", ["fpath", "source"])
def test_zsh_completes_commands_and_options(zsh, cli, tmp_path, mode):
    lines = ["pdtrain ru", "pdtrain run li", "pdtrain run create --bun"]

    buffers = complete_in_zsh(zsh, cli, tmp_path, mode, lines)

    assert buffers == [
        "pdtrain run ",
        "pdtrain run list ",
        "pdtrain run create --bundle ",
    ]


def test_zsh_completes_run_ids_from_server(zsh, cli, tmp_path, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "zsh-bundle")
    run_id = cli.json("run", "create", "--bundle", "zsh-bundle")["id"]
    lines = [
        f"pdtrain run show {run_id[:6]}",
        "pdtrain run create --bundle zs",
    ]

    buffers = complete_in_zsh(zsh, cli, tmp_path, "fpath", lines)

    assert buffers[0] == f"pdtrain run show {run_id} "
    assert buffers[1] == "pdtrain run create --bundle zsh-bundle"
