"""`python -m mrkg` runs the CLI."""
from .cli import main

main()
