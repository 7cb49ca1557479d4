"""The `mesh-rollout` verbs, one module per job: local.py runs offline (with prompt.py's approval prompt and
interrupt.py's Ctrl-C handling), aws.py holds the verbs that call AWS; cli.py builds the parser and dispatches."""
