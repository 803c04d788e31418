# The README's two set-up commands are `make quickstart` and `make test`.
.PHONY: quickstart test bench build

quickstart:
	./hack/quickstart.sh

test:
	./hack/test.sh

bench:
	./bench/run.sh

build:
	go build -o bin/ingress-controller ./cmd/ingress-controller

# Container image without a Docker engine; see docs/deploy.md.
.PHONY: image
image:
	./hack/build-image.sh
