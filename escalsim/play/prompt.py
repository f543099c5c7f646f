"""The interactive prompt (the standard library's `cmd`, with readline's history and Tab completion of commands,
teams and options), and the same commands read from a script."""

from __future__ import annotations

import cmd
from collections.abc import Callable, Sequence

from escalsim.play.control import ALIASES, COMMANDS, CommandError, Table
from escalsim.play.views import opening


class Prompt(cmd.Cmd):
    """`escalsim play`'s prompt: every line goes to `Table.execute`; a refused command prints why and the game
    goes on; Ctrl-C stops what runs (a look-ahead) and returns to the prompt; Ctrl-D or `quit` leaves."""

    intro = "escalsim play — 'help' lists the commands, 'look' shows the situation, 'quit' saves and leaves."

    def __init__(self, table: Table, write: Callable[[str], None], stdin=None, stdout=None):
        super().__init__(stdin=stdin, stdout=stdout)
        self.table, self.write = table, write
        if stdin is not None:
            self.use_rawinput = False

    @property
    def prompt(self) -> str:  # type: ignore[override]
        game = self.table.game()
        return f"[{self.table.session.current} {game.date()}] > "

    def onecmd(self, line: str) -> bool:
        """Run one line through the table; True once the session is over (quit)."""
        if line == "EOF":
            line = "quit"
            self.write("")
        try:
            for out in self.table.execute(line):
                self.write(out)
        except CommandError as exc:
            self.write(f"error: {exc}")
        return self.table.done

    def emptyline(self) -> bool:
        return False

    def cmdloop(self, intro=None) -> None:
        """Read commands until quit; a Ctrl-C interrupts the command running, not the session."""
        self.write(self.intro)
        for line in opening(self.table.game(), self.table.session.current):
            self.write(line)
        while not self.table.done:
            try:
                super().cmdloop(intro="")
            except KeyboardInterrupt:
                self.table.close()  # the look-ahead's workers may be mid-task: restarted on the next one
                self.write("\n(interrupted; the session is saved after every command: 'quit' leaves)")

    def completenames(self, text: str, *ignored) -> list[str]:
        return [c + " " for c in [*COMMANDS, *ALIASES] if c.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        game = self.table.game()
        words = line[:begidx].split()
        if words and words[0] in ("switch", "compare", "branch"):
            pool: Sequence[str] = [b.name for b in self.table.session.branches]
        elif words and words[0] == "help":
            pool = list(COMMANDS)
        else:
            pool = [*game.teams, "umpire", *game.model.outcomes, "take", "decline", "until"]
        return [w + " " for w in pool if w.startswith(text)]


def run_script(table: Table, lines: Sequence[tuple[int, str]], where: str,
               write: Callable[[str], None], error: Callable[[str], None]) -> int | None:
    """Run a script's commands in order, echoing each after the prompt as if typed (`write`); returns the line
    number of the first refused command (its error goes to `error`, located in the script), or None if all
    ran."""
    for number, line in lines:
        write(f"[{table.session.current} {table.game().date()}] > {line}")
        try:
            for out in table.execute(line):
                write(out)
        except CommandError as exc:
            error(f"{where}:{number}: error: {exc}")
            return number
        if table.done:
            break
    return None
