"""Compare pdtrain's transfers and packing with curl and tar.

Starts an orchestrator on 127.0.0.1 in a scratch folder, then:

1. uploads one file (default 2 GiB: a ZIP archive holding one stored
   member of random bytes, which the server's dataset check lists but
   does not read) as a dataset with `pdtrain dataset upload` and with
   curl doing the same steps (presign, `curl -F` of the presigned POST,
   finalize), and downloads it with `pdtrain dataset download` and with
   curl doing the same steps (look up the name, list the files,
   `curl -o`); it prints MB/s of each, the ratio pdtrain/curl and
   pdtrain's peak RSS;
2. repeats the pdtrain round trip at other sizes (default 1 and 4 GiB)
   to show whether peak RSS stays flat;
3. packs a folder (default 500 MB: half CSV text, half random binary)
   with pdtrain's packer and with `tar -czf`, and prints the time ratio.

pdtrain checks the sha256 of every transfer and curl does not, so a
second anchor adds `sha256sum` to curl: of the file before the upload
(its digest goes to finalize, as pdtrain's does) and of the downloaded
file after the download.

Each comparison runs --repeat rounds; the tools take turns at going
first. The ratio printed is the median of the per-round ratios, so
rounds slowed by other work on the machine count for both tools.
`--round-trip 5GiB` only runs the pdtrain round trip at that size and
checks the sha256 at both ends.

Usage: .venv/bin/python benchmarks/transfer.py [--work DIR]
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from statistics import median

import requests

BIN = Path(sys.executable).parent
GNU_TIME = "/usr/bin/time"
PDTRAIN = str(BIN / "pdtrain")
MB = 1000**2
MIB = 1024**2
GIB = 1024**3
UNITS = {"": 1, "kib": 1024, "mib": MIB, "gib": GIB, "mb": MB, "gb": 1000**3}


def say(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def parse_size(text):
    text = text.strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    return int(float(number) * UNITS[text[len(number) :]])


def timed(command, env=None):
    """Run command; return (seconds, peak RSS in MiB of the process).

    GNU time measures the peak RSS. os.wait4 cannot: the child's figure
    includes the pages it shared with this process between fork and
    exec, which made pdtrain look about 100 MiB larger than it is.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        wrapped = [GNU_TIME, "-f", "%M", "-o", report.name, *command]
        started = time.monotonic()
        result = subprocess.run(
            wrapped, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace")
            raise RuntimeError(f"{command[:4]} failed: {error}")
        peak_kib = int(report.read().split()[-1])
    return seconds, peak_kib / 1024


class Orchestrator:
    """An orchestrator subprocess in a scratch home."""

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.log = open(home / "server.log", "ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "pdtrain_orchestrator", "serve",
                "--home", str(home), "--host", "127.0.0.1", "--port", "0",
                "--bootstrap-key-file", "api_key", "--log-level", "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        state = home / "server.json"
        deadline = time.monotonic() + 60
        while not state.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the orchestrator did not start")
            time.sleep(0.1)
        self.url = json.loads(state.read_text())["url"]
        self.key = (home / "api_key").read_text().strip()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {self.key}"

    def call(self, method, path, **kwargs):
        response = self.api.request(method, self.url + path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class Bench:
    """The runs of one benchmark session."""

    def __init__(self, server: Orchestrator, work: Path):
        self.server = server
        self.work = work
        self.count = 0
        self.env = dict(os.environ)
        self.env.update(
            PDTRAIN_HOME=str(work / "cli-home"),
            PDTRAIN_API_URL=server.url,
            PDTRAIN_API_KEY=server.key,
        )

    def fresh_name(self):
        self.count += 1
        return f"bench-{self.count}"

    def pdtrain_upload(self, path):
        name = self.fresh_name()
        command = [PDTRAIN, "-q", "dataset", "upload", str(path)]
        seconds, rss = timed(command + ["--name", name], self.env)
        return name, seconds, rss

    def pdtrain_download(self, name, output):
        command = [PDTRAIN, "-q", "dataset", "download", name]
        return timed(command + ["--output", str(output)], self.env)

    def curl_upload(self, path, checked=False):
        """Upload path as pdtrain does, with curl sending the bytes.

        checked: hash the file with sha256sum first and send the digest
        to finalize, which then checks it, as pdtrain's finalize does.
        """
        name = self.fresh_name()
        started = time.monotonic()
        entry = {"path": path.name, "size_bytes": path.stat().st_size}
        if checked:
            entry["sha256"] = sha256sum(path)
        presign = self.server.call(
            "POST",
            "/v1/datasets/presign",
            json={"dataset_name": name, "files": [{"path": path.name}]},
        )
        post = presign["presigned"][0]
        form = [f"-F{key}={value}" for key, value in post["fields"].items()]
        subprocess.run(
            ["curl", "-sf", "-o", "/dev/null", *form, f"-Ffile=@{path}"]
            + [post["url"]],
            check=True,
        )
        self.server.call(
            "POST",
            "/v1/datasets/finalize",
            json={
                "dataset_id": presign["dataset_id"],
                "version": presign["version"],
                "size_bytes": entry["size_bytes"],
                "num_files": 1,
                "files": [entry],
            },
        )
        return name, time.monotonic() - started

    def curl_download(self, name, output, checked=False):
        """Download dataset name as pdtrain does, with curl -o.

        checked: run sha256sum on the file afterwards and compare.
        """
        started = time.monotonic()
        dataset = self.server.call("GET", f"/v1/datasets?name={name}")
        dataset_id = dataset["items"][0]["id"]
        listing = self.server.call(
            "GET", f"/v1/datasets/{dataset_id}/versions/1/download"
        )
        item = listing["files"][0]
        output.mkdir(parents=True, exist_ok=True)
        target = output / item["file_name"]
        subprocess.run(
            ["curl", "-sf", "-o", str(target), item["download_url"]],
            check=True,
        )
        if checked and item.get("sha256") not in (None, sha256sum(target)):
            raise RuntimeError(f"curl's copy of {name} has another sha256")
        return time.monotonic() - started

    def delete(self, name):
        subprocess.run(
            [PDTRAIN, "dataset", "delete", name, "--all-versions", "--yes"],
            env=self.env,
            check=True,
            capture_output=True,
        )


def sha256sum(path: Path) -> str:
    """Return the sha256 of path as computed by coreutils' sha256sum."""
    result = subprocess.run(
        ["sha256sum", str(path)], check=True, capture_output=True, text=True
    )
    return result.stdout.split()[0]


def make_random_file(path: Path, size: int) -> str:
    """Write a ZIP of about size bytes to path (reused if present).

    The archive contains one stored (uncompressed) member of random bytes;
    returns the archive's sha256.
    """
    if path.exists():
        return file_sha256(path)
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as bundle:
        with bundle.open("weights.bin", "w", force_zip64=True) as member:
            remaining = size
            while remaining:
                block = os.urandom(min(64 * MIB, remaining))
                member.write(block)
                remaining -= len(block)
    partial.rename(path)
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(16 * MIB):
            digest.update(block)
    return digest.hexdigest()


def random_file_path(work: Path, size: int) -> Path:
    return work / f"random-{size}.zip"


TOOLS = ("pdtrain", "curl", "curl+sha256sum")


def run_tool(bench: Bench, tool: str, path: Path, times: dict) -> float:
    """Time one upload and download with tool; return pdtrain's peak RSS."""
    checked = tool == "curl+sha256sum"
    out = bench.work / "out-bench"
    os.sync()
    if tool == "pdtrain":
        name, up, peak_up = bench.pdtrain_upload(path)
    else:
        name, up = bench.curl_upload(path, checked)
    os.sync()
    if tool == "pdtrain":
        down, peak_down = bench.pdtrain_download(name, out)
    else:
        down, peak_down = bench.curl_download(name, out, checked), 0.0
    times[tool, "up"].append(up)
    times[tool, "down"].append(down)
    shutil.rmtree(out)
    bench.delete(name)
    return max(peak_up if tool == "pdtrain" else 0.0, peak_down)


def ratios(ours: list, theirs: list) -> list:
    """Return each round's rate ratio, pdtrain / anchor."""
    return [anchor / own for own, anchor in zip(ours, theirs, strict=True)]


def compare_transfers(bench: Bench, path: Path, repeat: int):
    """Time the tools in rounds, each round in another order (the disk's
    writeback of one run can slow the next); print median ratios."""
    size = path.stat().st_size
    times = {(tool, kind): [] for tool in TOOLS for kind in ("up", "down")}
    rss = 0.0
    for attempt in range(repeat):
        shift = attempt % len(TOOLS)
        for tool in TOOLS[shift:] + TOOLS[:shift]:
            rss = max(rss, run_tool(bench, tool, path, times))
        load = os.getloadavg()[0]
        say(f"  round {attempt + 1} of {repeat} done (load {load:.1f})")
    say(f"Transfer of {size / GIB:.2f} GiB, {repeat} rounds, medians:")
    for kind in ("up", "down"):
        ours = times["pdtrain", kind]
        line = f"  {kind:>4}load  pdtrain {size / MB / median(ours):6.1f} MB/s"
        for anchor in TOOLS[1:]:
            theirs = times[anchor, kind]
            line += (
                f"  {anchor} {size / MB / median(theirs):6.1f} MB/s "
                f"ratio {median(ratios(ours, theirs)):.2f}x"
            )
        say(line)
        per_round = ratios(ours, times["curl", kind])
        listed = " ".join(f"{ratio:.2f}" for ratio in per_round)
        say(f"        per-round ratios to curl: {listed}")
    say(f"  pdtrain peak RSS {rss:.1f} MiB")


def round_trip(bench: Bench, path: Path, digest: str):
    """Upload and download path with pdtrain; return (ok, peak MiB)."""
    os.sync()
    name, up, peak_up = bench.pdtrain_upload(path)
    out = bench.work / "out-round-trip"
    os.sync()
    down, peak_down = bench.pdtrain_download(name, out)
    matched = file_sha256(out / path.name) == digest
    shutil.rmtree(out)
    bench.delete(name)
    size = path.stat().st_size
    say(
        f"  {size / GIB:.2f} GiB: upload {size / MB / up:7.1f} MB/s (peak "
        f"RSS {peak_up:.1f} MiB), download {size / MB / down:7.1f} MB/s "
        f"(peak RSS {peak_down:.1f} MiB), sha256 "
        f"{'matches' if matched else 'DIFFERS'}"
    )
    return matched, max(peak_up, peak_down)


def make_pack_folder(folder: Path, size: int):
    """Fill folder with half CSV text and half random binary files."""
    if folder.exists():
        return
    folder.mkdir(parents=True)
    rng = random.Random(1)
    per_file = 25 * MB
    for index in range(max(1, size // (2 * per_file))):
        rows = []
        written = 0
        while written < per_file:
            line = (
                f"{rng.randint(0, 10**6)},{rng.random():.6f},"
                f"{rng.choice(('cat', 'dog', 'bird'))},{rng.gauss(0, 1):.4f}\n"
            )
            rows.append(line)
            written += len(line)
        (folder / f"table_{index}.csv").write_text("".join(rows))
        (folder / f"weights_{index}.bin").write_bytes(os.urandom(per_file))


def compare_packing(folder: Path, work: Path, repeat: int):
    from pdtrain_core import archive

    files = archive.list_files(folder)
    total = sum(path.stat().st_size for _, path in files)
    ours = theirs = 1e9
    for _ in range(repeat):
        target = work / "pdtrain.tar.gz"
        started = time.monotonic()
        archive.pack(files, target)
        ours = min(ours, time.monotonic() - started)
        ours_size = target.stat().st_size
        target.unlink()
        target = work / "tar.tar.gz"
        started = time.monotonic()
        subprocess.run(["tar", "-czf", str(target), "-C", str(folder), "."])
        theirs = min(theirs, time.monotonic() - started)
        theirs_size = target.stat().st_size
        target.unlink()
    say(
        f"Packing {total / MB:.0f} MB in {len(files)} files, best of {repeat}:"
    )
    say(
        f"  pdtrain {ours:6.2f} s ({ours_size / MB:.0f} MB)  tar -czf "
        f"{theirs:6.2f} s ({theirs_size / MB:.0f} MB)  time ratio "
        f"{ours / theirs:.2f}x"
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2GiB", help="transfer file size")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--rss-sizes", default="1GiB,4GiB", help="extra round-trip sizes"
    )
    parser.add_argument("--pack-size", default="500MB")
    parser.add_argument("--skip-transfer", action="store_true")
    parser.add_argument("--skip-pack", action="store_true")
    parser.add_argument(
        "--round-trip", metavar="SIZE", help="only a round trip of SIZE"
    )
    parser.add_argument("--work", help="scratch folder (default: a temp one)")
    return parser.parse_args()


def main():
    args = parse_args()
    if not os.access(GNU_TIME, os.X_OK):
        say(f"{GNU_TIME} (GNU time) is needed to measure peak RSS")
        return 2
    work = Path(args.work or tempfile.mkdtemp(prefix="pdtrain-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"Machine: {os.cpu_count()} CPUs; scratch folder {work}")
    server = Orchestrator(work / f"server-{os.getpid()}")
    bench = Bench(server, work)
    try:
        if args.round_trip:
            size = parse_size(args.round_trip)
            path = random_file_path(work, size)
            ok, _ = round_trip(bench, path, make_random_file(path, size))
            return 0 if ok else 1
        if not args.skip_transfer:
            size = parse_size(args.size)
            path = random_file_path(work, size)
            make_random_file(path, size)
            compare_transfers(bench, path, args.repeat)
            say("pdtrain round trips (peak RSS should stay flat):")
            for text in filter(None, args.rss_sizes.split(",")):
                extra = parse_size(text)
                extra_path = random_file_path(work, extra)
                digest = make_random_file(extra_path, extra)
                round_trip(bench, extra_path, digest)
        if not args.skip_pack:
            folder = work / "pack-source"
            make_pack_folder(folder, parse_size(args.pack_size))
            compare_packing(folder, work, args.repeat)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
