# Every target bootstraps what it needs: a new machine needs python3 (3.11+), node/npm and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
NODE_STAMP := node_modules/.installed
CHECKOV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV)/.installed
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint unit bench stress build clean

# pip installs the pinned uv, and uv the rest: the same pinned versions, in seconds rather than minutes (uv fetches
# and installs in parallel, and compiles the bytecode in parallel where pip compiles one file after another).
$(STAMP): requirements-dev.txt constraints.txt pyproject.toml requirements-uv.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-uv.txt
	$(UV) pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements-dev.txt -c constraints.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# checkov pins packaging 23.2, which pytest 9 cannot use: it gets a virtual environment of its own.
$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV)
	$(UV) pip install --quiet --python $(CHECKOV)/bin/python -r requirements-checkov.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

## demo: run the AWS guide's App Mesh + ECS scenario end to end, offline: build the mesh and put the
## services on it, then shift serviceB 75 / serviceBv2 25 -> 50/50 -> 100 to serviceBv2 (approved) and retire serviceB;
## then the same on what replaced App Mesh: the guide's mesh moved onto VPC Lattice (LatticeRolloutStateMachine) and
## the shift on its listener rule; last, one ECS-native deployment of checkout behind an ALB rule (LINEAR 20 %, judged
## at each step, approved before 100 %: EcsDeploymentStateMachine)
demo: $(STAMP)
	$(BIN)/mesh-rollout local MeshRolloutStateMachine \
		--input events/mesh-rollout-apps.json --given events/local/apps-given.json --dump demo-dump.json
	$(BIN)/mesh-rollout local WeightShiftStateMachine --approve --comment "make demo" \
		--input events/weight-shift-apps.json --given events/local/weight-shift-given.json --dump demo-weight-shift-dump.json
	$(BIN)/mesh-rollout local LatticeRolloutStateMachine \
		--input events/lattice-rollout-apps.json --given events/local/lattice-rollout-given.json --dump demo-lattice-rollout-dump.json
	$(BIN)/mesh-rollout local WeightShiftStateMachine --approve --comment "make demo" \
		--input events/weight-shift-lattice-migrated.json --given events/local/lattice-migrated-given.json --dump demo-lattice-dump.json
	$(BIN)/mesh-rollout local EcsDeploymentStateMachine --approve --comment "make demo" \
		--input events/ecs-deployment-alb.json --given events/local/ecs-deployment-alb-given.json --dump demo-ecs-deployment-dump.json

## lint: ruff, mypy, cfn-lint, sam validate --lint, checkov, bandit and an independent ASL validator
lint: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml pipeline/template.yaml
	$(BIN)/python tools/transform_template.py template.yaml .aws-sam/transformed.json
	$(BIN)/cfn-lint .aws-sam/transformed.json
	$(BIN)/sam validate --lint
	$(CHECKOV)/bin/checkov --file template.yaml --file pipeline/template.yaml --framework cloudformation --skip-download --compact --quiet
	$(BIN)/bandit --quiet --recursive functions
	npx --no-install asl-validator --no-arn-check $(foreach f,$(wildcard statemachine/*.asl.json),--json-path $(f))

## test: every check: `make lint` and the tests on every core (pytest-xdist), side by side: the lint is mostly one
## process at a time, and the tests leave part of the two cores idle; its output follows the tests'. A module marked
## xdist_group stays on one worker, so its module-scoped world is built once. pytest's "no tests collected" (exit 5)
## fails too, as does either half.
test: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)
	@mkdir -p .aws-sam; $(MAKE) --no-print-directory lint > .aws-sam/lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadgroup; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; fi; \
	wait $$lint; linted=$$?; echo "--- make lint, run beside the tests:"; cat .aws-sam/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed"; fi; \
	[ $$status -eq 0 ] && [ $$linted -eq 0 ]

## unit: the tests of plain functions only (tests/unit: no emulated account, no moto), in seconds
unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

## bench: AWS calls, states, Lambda invocations and wall time of the reference scenario and of a canary, with its cost
bench: $(STAMP)
	$(BIN)/python bench/bench_reference.py
	$(BIN)/python bench/bench_canary.py
	$(BIN)/python bench/bench_lattice_rollout.py
	$(BIN)/python bench/bench_judge.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_local_cli.py
	$(BIN)/python bench/bench_cold_start.py
	$(BIN)/python bench/bench_ecs_deployment.py
	$(BIN)/python bench/bench_group.py

## stress: the offline runner under load: 100 services, every Map at its MaxConcurrency, 20 runs, none may fail
stress: $(STAMP)
	$(BIN)/python bench/stress_runner.py

## build: package the application as `sam deploy` ships it
build: $(STAMP)
	$(BIN)/sam build

clean:
	rm -rf $(VENV) $(CHECKOV) node_modules .aws-sam demo-dump.json demo-weight-shift-dump.json demo-lattice-rollout-dump.json demo-lattice-dump.json demo-ecs-deployment-dump.json
