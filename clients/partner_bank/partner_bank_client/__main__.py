"""`python -m partner_bank_client`, the same as the `partner-bank` command."""

import sys

from partner_bank_client.cli import main

sys.exit(main())
