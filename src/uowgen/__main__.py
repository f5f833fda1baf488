"""`python -m uowgen`."""

from uowgen._cli import main

main()
