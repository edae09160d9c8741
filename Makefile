# Every target runs on Node 24 from node_modules (the `node` devDependency), not the system node.
NODE := node_modules/.bin/node
NPM_INSTALL_STAMP := node_modules/.install-stamp

.PHONY: help install up down logs status reset test test-unit lint typecheck format docs migrate bench testbed tools cluster cluster-down images e2e keda e2e-scale metrics-server prometheus-operator

help:
	@echo "make up           start the local platform (Kafka, PostgreSQL, processor, API, simulators)"
	@echo "make down         stop it (data is kept in .local/)"
	@echo "make status       what runs, restarts and last exits;  make logs: follow the logs"
	@echo "make reset        stop and delete local data"
	@echo "make install      npm packages (Node 24 included) and the Kafka jars"
	@echo "make migrate      apply postgres/migrations to DATABASE_URL"
	@echo "make test         lint, typecheck and the whole test suite (real Kafka + PostgreSQL)"
	@echo "make test-unit    the unit tests alone;  make lint, make typecheck, make format"
	@echo "make docs         regenerate the variable tables of docs/configuration.md from the apps"
	@echo "make bench        benchmarks (processor, simulator, API); prints figures as JSON"
	@echo "make tools        build/fetch kube binaries, helm, actionlint, CoreDNS, CRDs into the cache"
	@echo "make testbed      a real Kubernetes API server + controller-manager in the foreground"
	@echo "make cluster      a single-node Kubernetes with a real kubelet and containers (root)"
	@echo "make images       build the app images from the Dockerfile and load them into the node"
	@echo "make e2e          the user journey on a fresh node: helm install, pods, port-forward, chaos"
	@echo "make keda         KEDA (built from its Go module on first use) as pods on the running node"
	@echo "make e2e-scale    KEDA scales the processor on consumer lag, on a fresh node, and back"
	@echo "make metrics-server  metrics-server (the HPA fallback's CPU metrics) as a pod on the node"
	@echo "make prometheus-operator  prometheus-operator and a Prometheus selecting the chart's monitors, on the node"
	@echo "make cluster-down stop the node and remove everything it made"

# npm ci only when the lockfile changed since the last install. npm itself may run on an older
# Node than the engines field asks (it installs Node 24): errors only, not a warning per package.
$(NPM_INSTALL_STAMP): package-lock.json package.json
	@echo "npm ci: installing the npm packages, Node.js 24 among them"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Each of these runs the devstack CLI's command of the same name, once the npm packages are in:
#   testbed  a Kubernetes control plane for trying the operator and the chart; Ctrl-C stops it
#   tools    builds from the Go module proxy, once per version (the first kube build is long)
#   cluster  a real node (kubelet, containerd, kube-proxy, CoreDNS) in a network namespace of its own
#   keda     KEDA's operator and metrics adapter as pods on that node (built on first use, ~8 min)
#   metrics-server  the same for metrics-server (about 2 minutes to build)
install logs status reset testbed tools cluster cluster-down images keda metrics-server: $(NPM_INSTALL_STAMP)
	$(NODE) apps/devstack/src/cli.ts $@

# prometheus-operator and Prometheus (built from their Go modules on first use, about 6 and 10 min
# on 2 busy cores) on the running node: a Prometheus in namespace monitoring that selects the
# chart's ServiceMonitors, PodMonitors and rules. make e2e's prometheus-operator test does it too.
prometheus-operator: $(NPM_INSTALL_STAMP)
	$(NODE) apps/devstack/src/cli.ts $@

up: install
	$(NODE) apps/devstack/src/cli.ts up

down:
	@if [ -x $(NODE) ]; then $(NODE) apps/devstack/src/cli.ts down; else echo "not installed"; fi

# From a clean node: build and load the images, run the journey, stop the node (KEEP_CLUSTER=1
# leaves it running to look around after a failure).
e2e: $(NPM_INSTALL_STAMP)
	$(NODE) apps/devstack/src/cli.ts cluster
	$(NODE) apps/devstack/src/cli.ts images
	status=0; $(NODE) node_modules/.bin/mocha --config .mocharc.e2e.json || status=$$?; \
	  if [ -z "$$KEEP_CLUSTER" ]; then $(NODE) apps/devstack/src/cli.ts cluster-down; fi; exit $$status

# The same from a clean node, with KEDA and metrics-server installed from their own manifests: the
# processor scales out on consumer lag (KEDA) and on CPU (the HPA fallback), and back
# (KEEP_CLUSTER=1 as above).
e2e-scale: $(NPM_INSTALL_STAMP)
	$(NODE) apps/devstack/src/cli.ts cluster
	$(NODE) apps/devstack/src/cli.ts images
	status=0; $(NODE) apps/devstack/src/cli.ts keda && \
	  $(NODE) apps/devstack/src/cli.ts metrics-server && \
	  $(NODE) node_modules/.bin/mocha --config .mocharc.e2e-scale.json || status=$$?; \
	  if [ -z "$$KEEP_CLUSTER" ]; then $(NODE) apps/devstack/src/cli.ts cluster-down; fi; exit $$status

migrate: $(NPM_INSTALL_STAMP)
	$(NODE) apps/shared/src/bin/migrate.ts

lint: $(NPM_INSTALL_STAMP)
	npm run lint

typecheck: $(NPM_INSTALL_STAMP)
	npm run typecheck

format: $(NPM_INSTALL_STAMP)
	npm run format

test-unit: $(NPM_INSTALL_STAMP)
	npm run test:unit

# The environment-variable tables of docs/configuration.md, from the apps' config schemas.
docs: $(NPM_INSTALL_STAMP)
	npm run docs

# tools first: a cold machine builds Kubernetes and helm visibly here, not inside a test hook.
test: install tools lint typecheck
	npm run test:all

bench: install
	npm run bench
