#!/bin/sh
# One-shot (temporalio/admin-tools): once the server answers, create the namespace and register
# the search attributes temporal-router's entities upsert (RouterState, RouterDefinition, both
# Keyword; see temporal_router/adapter/_search.py). Idempotent: existing ones are left alone.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}" "${TEMPORAL_NAMESPACE:=default}"
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
until temporal operator cluster health >/dev/null 2>&1; do sleep 2; done

if ! temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention 72h
fi

# A new namespace takes a few seconds to reach every server cache.
tries=0
until registered=$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" 2>&1); do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "$registered" >&2; exit 1; fi
  sleep 1
done
for name in RouterState RouterDefinition; do
  if echo "$registered" | grep -qw "$name"; then
    echo "search attribute $name is registered"
  else
    temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
      --name "$name" --type Keyword
  fi
done
echo "namespace $TEMPORAL_NAMESPACE is ready for temporal-router"
