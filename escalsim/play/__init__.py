"""A wargaming session at the table (`escalsim play`): turns, per-team views, moves, look-ahead, branches and the
session file that records every step."""
