"""``python -m jetson_edge_ota ota <verb>``: the ota verbs without the jetson-edge front end."""

import sys

from .cli import main

sys.exit(main())
