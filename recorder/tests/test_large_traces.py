"""Traces of any size, and hostile ones (issue 10), through the command line.

Each command runs in a fresh child whose peak RSS is measured (`getrusage` of
its children): reading a trace must not hold its events, so memory must not
grow with them; a hostile file gets exit status 2 and a clear message, with
bounded memory. Hostile files are written here byte by byte (with a small
LZ4 block writer, so that a small file can expand to millions of events).
"""

import json
import random
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib

import pytest

from conftest import clean_env

MIB = 1 << 20
# Memory a command may take on a hostile file, whatever it declares.
HOSTILE_RSS_MIB = 100


def measured(*args):
    """Runs ``python -m tracesieve ARGS`` in a child; (result, peak RSS in MiB)."""
    probe = textwrap.dedent(
        """
        import json, resource, subprocess, sys
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr, "peak": peak}))
        """
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "tracesieve", *map(str, args)]
    out = subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=300, check=True)
    data = json.loads(out.stdout)
    result = subprocess.CompletedProcess(args, data["code"], data["out"], data["err"])
    return result, data["peak"] / 1024


# --- building files ---------------------------------------------------------


def uv(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def lz4_repeat(pattern, total):
    """An LZ4 block that decompresses to ``pattern`` repeated to ``total``
    bytes: the pattern as literals, then one long match of it, then the last
    bytes as literals (the block format wants five literals at the end)."""

    def length(n):  # the 255-run extension of a length over 15
        out = bytearray()
        n -= 15
        while n >= 255:
            out.append(255)
            n -= 255
        out.append(n)
        return bytes(out)

    data = (pattern * (total // len(pattern) + 1))[:total]
    tail = data[-16:]
    match_len = total - len(pattern) - len(tail)
    assert match_len >= 4 and len(pattern) < 15
    first = bytes([(len(pattern) << 4) | 15]) + pattern + struct.pack("<H", len(pattern)) + length(match_len - 4)
    last = bytes([15 << 4]) + length(len(tail)) + tail
    return first + last, data


def chunk(records_block, records_len):
    return struct.pack("<III", len(records_block), records_len, zlib.crc32(records_block)) + records_block


def raw_chunk(records):
    """A chunk holding ``records`` as literals only (valid, uncompressed LZ4)."""
    n = len(records)
    if n < 15:
        block = bytes([n << 4]) + records
    else:
        ext = bytearray()
        rest = n - 15
        while rest >= 255:
            ext.append(255)
            rest -= 255
        ext.append(rest)
        block = bytes([15 << 4]) + bytes(ext) + records
    return chunk(block, n)


@pytest.fixture(scope="module")
def preamble(tmp_path_factory):
    """The magic, version and header chunk of a real recording."""
    folder = tmp_path_factory.mktemp("header")
    program = folder / "p.py"
    program.write_text("x = 1\n")
    out = folder / "t.tsieve"
    subprocess.run([sys.executable, "-m", "tracesieve", "record", "-q", "-o", out, program], check=True, env=clean_env(), cwd=folder)
    data = out.read_bytes()
    (clen,) = struct.unpack_from("<I", data, 12)
    return data[: 12 + 12 + clen]


LINE = bytes([0x80 | 4, 0, 1])  # a line event: same thread, dt 0, line 1


def test_a_thread_number_over_the_limit_is_refused(preamble, tmp_path):
    records = b"\x02\x04evil" + bytes([0x80 | 0x10]) + uv(0xFFFFFFFF) + b"\x00\x00"
    path = tmp_path / "thread.tsieve"
    path.write_bytes(preamble + raw_chunk(records))
    for command in (["info"], ["refilter", "-o", tmp_path / "x.tsieve"], ["export", "--format", "chrome", "-o", tmp_path / "x.json"]):
        result, peak = measured(command[0], path, *command[1:])
        assert result.returncode == 2, result.stderr
        assert "chunk #2 at byte" in result.stderr and "thread 4294967295, over the limit" in result.stderr
        assert "Traceback" not in result.stderr
        assert peak < HOSTILE_RSS_MIB
    assert not (tmp_path / "x.tsieve").exists(), "a failed refilter leaves no file"


def test_a_chunk_decoding_over_its_budget_is_refused(preamble, tmp_path):
    block, data = lz4_repeat(LINE, 16 * MIB - 1)
    path = tmp_path / "tiny-events.tsieve"
    path.write_bytes(preamble + chunk(block, len(data)))
    assert path.stat().st_size < 200_000
    result, peak = measured("info", path)
    assert result.returncode == 2
    assert "decodes to more than 16 MiB of events and values" in result.stderr
    assert peak < HOSTILE_RSS_MIB


def test_a_small_file_standing_for_millions_of_events_is_refused(preamble, tmp_path):
    """About 16.7 M events in a file of some 200 KB (each chunk within the
    decode budget): no recording compresses that well, so the first chunk
    is refused, at once."""
    block, data = lz4_repeat(LINE, MIB // 4 - 1)
    path = tmp_path / "expanding.tsieve"
    path.write_bytes(preamble + chunk(block, len(data)) * 192)
    assert path.stat().st_size < 300_000
    for command in (["info"], ["export", "--format", "json", "-o", tmp_path / "x.json"]):
        result, peak = measured(command[0], path, *command[1:])
        assert result.returncode == 2, result.stderr
        assert "chunk #2 at byte" in result.stderr and "more than 64 per byte" in result.stderr
        assert peak < HOSTILE_RSS_MIB


def test_many_chunks_stream_in_bounded_memory(preamble, tmp_path):
    """A long file of chunks each near the decode budget (hundreds of
    thousands of events that compress as a recording does) is read a chunk
    at a time."""
    rng = random.Random(7)
    records = bytes(b for _ in range(87_000) for b in (0x80 | 4, rng.randrange(128), 1 + rng.randrange(100)))
    path = tmp_path / "long.tsieve"
    path.write_bytes(preamble + raw_chunk(records) * 40)
    result, peak = measured("info", "--json", path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["total_events"] == 40 * 87_000
    assert "without a trailer" in info["truncation"]["reason"]
    assert peak < HOSTILE_RSS_MIB


def test_a_huge_file_that_is_not_a_trace_is_named_from_its_first_bytes(tmp_path):
    path = tmp_path / "disk.img"
    with open(path, "wb") as f:
        f.write(b"just some text\n")
        f.truncate(6 << 30)  # sparse: 6 GiB on paper, nothing on disk
    result, peak = measured("info", path)
    assert result.returncode == 2
    assert "not a tracesieve trace: its first bytes are 6a 75 73 74" in result.stderr
    assert peak < HOSTILE_RSS_MIB


LOOP = """\
import sys
total = 0
for i in range(int(sys.argv[1])):
    total += i
    if total % 7 == 0:
        total -= 1
print(total)
"""


@pytest.fixture(scope="module")
def loop_traces(tmp_path_factory):
    """Recordings of the same loop with about 0.3 M and 3 M events."""
    folder = tmp_path_factory.mktemp("loops")
    program = folder / "loop.py"
    program.write_text(LOOP)
    traces = {}
    for n in (100_000, 1_000_000):
        out = folder / f"loop-{n}.tsieve"
        subprocess.run([sys.executable, "-m", "tracesieve", "record", "-q", "--values", "none", "-o", out, program, str(n)],
                       check=True, env=clean_env(), cwd=folder, stdout=subprocess.DEVNULL)
        traces[n] = out
    return traces


@pytest.mark.parametrize(
    "command",
    [
        ["info"],
        ["refilter"],
        ["export", "--format", "json"],
        ["export", "--format", "chrome"],
        ["export", "--format", "speedscope"],
        ["export", "--format", "codetracer"],
    ],
    ids=["info", "refilter", "json", "chrome", "speedscope", "codetracer"],
)
def test_memory_does_not_grow_with_events(loop_traces, tmp_path, command):
    peaks = {}
    for n, trace in loop_traces.items():
        out = ["-o", tmp_path / f"out-{n}"] if command[0] != "info" else []
        result, peak = measured(command[0], trace, *command[1:], *out)
        assert result.returncode == 0, result.stderr
        peaks[n] = peak
        if out:  # some exports are hundreds of MB
            shutil.rmtree(out[1]) if out[1].is_dir() else out[1].unlink()
    # Ten times the events (some 2.7 M more): a reader holding them would
    # take hundreds of MiB more.
    assert peaks[1_000_000] - peaks[100_000] < 20, peaks
    assert peaks[1_000_000] < 150, peaks


def test_refilter_in_place_reads_all_before_replacing(loop_traces, tmp_path):
    trace = tmp_path / "same.tsieve"
    trace.write_bytes(loop_traces[100_000].read_bytes())
    before = json.loads(measured("info", "--json", trace)[0].stdout)
    result, _ = measured("refilter", trace, "-o", trace)
    assert result.returncode == 0, result.stderr
    after = json.loads(measured("info", "--json", trace)[0].stdout)
    assert after["total_events"] == before["total_events"] and after["truncation"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["same.tsieve"]
