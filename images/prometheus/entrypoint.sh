#!/bin/sh
# pls-prometheus's entry point: the studio's metrics token from the environment into the file the
# scrape jobs read it from (deploy/prometheus/prometheus.yml), then Prometheus with the given
# arguments and without the token in its environment.
set -eu
: "${STUDIO_METRICS_TOKEN:?set STUDIO_METRICS_TOKEN: the token Prometheus reads the studio's metrics with}"
umask 077
printf '%s' "$STUDIO_METRICS_TOKEN" > /run/prometheus/metrics-token
unset STUDIO_METRICS_TOKEN
exec prometheus "$@"
