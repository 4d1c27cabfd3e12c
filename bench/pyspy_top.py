"""Summarise a py-spy collapsed-stack file (``bench.run --profile DIR`` writes them).

    python -m bench.pyspy_top DIR/label.txt [--match om_graph] [--top 25]

Prints the share of samples in which each function is on the stack (inclusive) and at the top
(self), optionally only for frames whose text contains ``--match``.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    file = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.pyspy_top")
    parser.add_argument("file", type=Path)
    parser.add_argument("--match", default="", help="only frames containing this text")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--exclude-idle", action="store_true", help="drop stacks ending in a wait/poll/select")
    args = parser.parse_args(argv)
    stacks = load(args.file)
    if args.exclude_idle:
        stacks = [(s, c) for s, c in stacks if not re.search(r"\b(wait|select|poll|_worker|get|epoll)\b", s[-1].split(" (")[0])]
    total = sum(c for _, c in stacks) or 1
    inclusive, own = Counter(), Counter()
    for frames, count in stacks:
        names = [short(f) for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        for name in set(names):
            if args.match in name:
                inclusive[name] += count
        if names and args.match in names[-1]:
            own[names[-1]] += count
    print(f"{total} samples")
    print("inclusive:")
    for name, count in inclusive.most_common(args.top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("self:")
    for name, count in own.most_common(args.top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
