from srbench.cli import entry

entry()
