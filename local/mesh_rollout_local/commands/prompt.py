"""Approval requests of an offline run: answered by --approve / --reject, else asked on the terminal."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from typing import TYPE_CHECKING, TextIO

from mesh_rollout_local import approvals

if TYPE_CHECKING:
    from mesh_rollout_local.commands.interrupt import CtrlC
    from mesh_rollout_local.runner import Approver

YES, NO = ("y", "yes", "approve"), ("n", "no", "reject")


def local_approver(args: argparse.Namespace, out: TextIO, stdin: TextIO, ctrl_c: CtrlC | None = None) -> Approver:
    """--approve / --reject answer every approval request; otherwise ask on a terminal, or reject. `ctrl_c` lets a
    Ctrl-C end the prompt at once."""

    def answer(pending: approvals.PendingApproval) -> tuple[bool, str] | None:
        if args.approve or args.reject:
            verdict = bool(args.approve)
            print(f"     ? approval for {pending.describe()}: {'approved' if verdict else 'rejected'}", file=out, flush=True)
            return verdict, args.comment
        if stdin.isatty():
            return ask(pending, args.comment, out, stdin, ctrl_c)
        print(f"     ? approval for {pending.describe()}: rejected (no terminal; pass --approve or --reject)", file=out)
        return False, "non-interactive run without --approve or --reject"

    return answer


def ask(
    pending: approvals.PendingApproval, comment: str, out: TextIO, stdin: TextIO, ctrl_c: CtrlC | None = None
) -> tuple[bool, str] | None:
    """The approval prompt on a terminal: what the step changes and the gate's verdict, a clear yes or no (asked
    again otherwise), then a comment. None (unanswered) if the input ends."""
    print(f"     ? approval for {pending.describe()}", file=out)
    for shown in pending.lines():  # the weights now -> next and the verdict; a group's, each leg's
        print(f"       {shown}", file=out)
    while True:
        print("       approve? [y/n] ", end="", file=out, flush=True)
        line = read_line(stdin, ctrl_c)
        if line is None:
            return None
        if not line:
            print("\n       no answer (end of input): left unanswered", file=out)
            return None
        answer = line.strip().lower()
        if answer in YES or answer in NO:
            break
        print(f"       {answer!r} is neither yes nor no", file=out)
    if not comment:
        print("       comment (optional): ", end="", file=out, flush=True)
        comment = (read_line(stdin, ctrl_c) or "").strip()
    return answer in YES, comment or "answered on the terminal"


def read_line(stdin: TextIO, ctrl_c: CtrlC | None = None) -> str | None:
    """A line from the terminal; None if Ctrl-C was pressed while waiting for it (the run is then being stopped)."""
    try:
        with ctrl_c.prompting() if ctrl_c else nullcontext():
            return stdin.readline()
    except KeyboardInterrupt:
        return None
