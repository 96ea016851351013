"""Run the orchestrator: `python -m pdtrain_orchestrator serve ...`."""

import sys

from pdtrain_orchestrator.cli import main

sys.exit(main())
