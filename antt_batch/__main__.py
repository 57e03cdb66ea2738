"""`python -m antt_batch` runs the command line."""

from antt_batch.cli import main

main()
