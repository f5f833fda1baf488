"""`python -m uowgen`."""

from uowgen._cli.commands import main

main()
